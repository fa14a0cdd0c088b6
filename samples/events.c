/*
 * events.c: print the SDK's events (online, offline, auth updates, fatal
 * errors) for a while, as a device.
 *
 *   events [seconds]
 *
 * Default: 30 seconds.
 */
#include <stdio.h>
#include <stdlib.h>

#include <exp.h>

static const char *env(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

static void on_event(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  (void)sdk;
  (void)ud;
  switch (ev) {
  case EXP_EVENT_ONLINE:
    printf("online\n");
    break;
  case EXP_EVENT_OFFLINE:
    printf("offline\n");
    break;
  case EXP_EVENT_UPDATE:
    /* The payload carries the token: print only when it expires. */
    printf("new token, expires at %.0f ms since the epoch\n",
           cJSON_GetNumberValue(cJSON_GetObjectItem(data, "expiration")));
    break;
  case EXP_EVENT_ERROR:
    printf("fatal: %s\n",
           cJSON_GetStringValue(cJSON_GetObjectItem(data, "message")));
    break;
  case EXP_EVENT_PAIRED:
    break;
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  long seconds = argc > 1 ? strtol(argv[1], NULL, 10) : 30;
  exp_sdk *sdk = exp_new(NULL);
  int rc;

  if (sdk == NULL)
    return 1;
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(sdk, EXP_OPT_UUID, env("EXP_UUID", "test-uuid"));
  exp_set_str(sdk, EXP_OPT_SECRET, env("EXP_SECRET", "test-secret"));
  exp_on(sdk, EXP_EVENT_ONLINE, on_event, NULL);
  exp_on(sdk, EXP_EVENT_OFFLINE, on_event, NULL);
  exp_on(sdk, EXP_EVENT_UPDATE, on_event, NULL);
  exp_on(sdk, EXP_EVENT_ERROR, on_event, NULL);
  rc = exp_start_wait(sdk, 10000);
  if (rc == 0)
    rc = exp_sleep(sdk, seconds > 0 ? (uint64_t)seconds * 1000 : 30000);
  if (rc != 0)
    fprintf(stderr, "%s: %s\n", exp_strerror(rc), exp_last_error(sdk)->message);
  exp_stop(sdk);
  return rc == 0 ? 0 : 1;
}
