/*
 * pairing.c: start a device that has no credentials yet, show its pairing
 * code, and wait (two minutes) for a user to pair it; then print the
 * credentials it should store and start with next time.
 *
 *   pairing            the device
 *   pairing CODE       a user pairing the device that shows CODE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exp.h>

static const char *env(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

static void on_paired(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  (void)sdk;
  (void)ev;
  /* A real device would store these; printing them is for the sample. */
  printf("paired: uuid %s, secret %s\n",
         cJSON_GetStringValue(cJSON_GetObjectItem(data, "uuid")),
         cJSON_GetStringValue(cJSON_GetObjectItem(data, "secret")));
  *(int *)ud = 1;
}

/* The user's side: pairs the device showing code, as a new device. */
static int pair(exp_sdk *sdk, const char *code) {
  cJSON *device = NULL;
  int rc;

  exp_set_str(sdk, EXP_OPT_USERNAME, env("EXP_USERNAME", "test@goexp.io"));
  exp_set_str(sdk, EXP_OPT_PASSWORD, env("EXP_PASSWORD", "test-Password1"));
  exp_set_str(sdk, EXP_OPT_ORGANIZATION, env("EXP_ORGANIZATION", "scala"));
  exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, 0);
  rc = exp_start_wait(sdk, 10000);
  if (rc == 0)
    rc = exp_pair_device_wait(sdk, code, NULL, &device);
  if (rc == 0)
    printf("paired %s as device %s\n", code,
           cJSON_GetStringValue(exp_json_get(device, "uuid")));
  else
    fprintf(stderr, "pairing %s: %s\n", code, exp_last_error(sdk)->message);
  cJSON_Delete(device);
  exp_stop(sdk);
  return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  exp_sdk *sdk = exp_new(NULL);
  const char *code;
  int paired = 0, rc;

  if (sdk == NULL)
    return 1;
  if (argc > 1) {
    exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
    return pair(sdk, argv[1]);
  }
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_int(sdk, EXP_OPT_ALLOW_PAIRING, 1);
  exp_on(sdk, EXP_EVENT_PAIRED, on_paired, &paired);
  rc = exp_start_wait(sdk, 10000);
  if (rc != 0) {
    fprintf(stderr, "start: %s: %s\n", exp_strerror(rc),
            exp_last_error(sdk)->message);
    exp_stop(sdk);
    return 1;
  }
  /* The start completed once the device listens for its credentials: the
   * code works from now on. */
  code = exp_pairing_code(sdk);
  if (code == NULL || strlen(code) != 6) {
    fprintf(stderr, "the server gave no pairing code\n");
    exp_stop(sdk);
    return 1;
  }
  printf("pairing code: %.3s-%s\n", code, code + 3);
  fflush(stdout); /* show it now, not when the program ends */
  for (int s = 0; s < 120 && !paired; s++) {
    rc = exp_sleep(sdk, 1000);
    if (rc != 0) {
      fprintf(stderr, "sleep: %s: %s\n", exp_strerror(rc),
              exp_last_error(sdk)->message);
      break;
    }
  }
  if (!paired)
    printf("nobody paired this device\n");
  exp_stop(sdk);
  return paired ? 0 : 1;
}
