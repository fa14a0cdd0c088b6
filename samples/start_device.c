/*
 * start_device.c: log in as a device and print its identity.
 */
#include <stdio.h>
#include <stdlib.h>

#include <exp.h>

static const char *env(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

int main(void) {
  exp_sdk *sdk = exp_new(NULL);
  const char *host = env("EXP_HOST", "http://127.0.0.1:9000");
  const char *uuid = env("EXP_UUID", "test-uuid");
  const char *secret = env("EXP_SECRET", "test-secret");
  int rc;

  if (sdk == NULL)
    return 1;
  exp_set_options(sdk, "host", host, "uuid", uuid, "secret", secret, NULL);
  rc = exp_start_wait(sdk, 10000);
  if (rc != 0) {
    fprintf(stderr, "start: %s: %s\n", exp_strerror(rc),
            exp_last_error(sdk)->message);
    exp_stop(sdk);
    return 1;
  }
  printf("logged in as device %s in organization %s\n",
         cJSON_GetStringValue(exp_json_get(exp_auth(sdk), "identity.uuid")),
         cJSON_GetStringValue(
             exp_json_get(exp_auth(sdk), "identity.organization")));
  exp_stop(sdk);
  return 0;
}
