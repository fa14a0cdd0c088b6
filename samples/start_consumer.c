/*
 * start_consumer.c: log in as a consumer app and print its identity.
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
  const cJSON *id;
  int rc;

  if (sdk == NULL)
    return 1;
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(sdk, EXP_OPT_UUID, env("EXP_UUID", "test-uuid"));
  exp_set_str(sdk, EXP_OPT_API_KEY, env("EXP_API_KEY", "test-api-key"));
  rc = exp_start_wait(sdk, 10000);
  if (rc != 0) {
    fprintf(stderr, "start: %s: %s\n", exp_strerror(rc),
            exp_last_error(sdk)->message);
    exp_stop(sdk);
    return 1;
  }
  id = cJSON_GetObjectItem(exp_auth(sdk), "identity");
  printf("logged in as consumer app %s in organization %s\n",
         cJSON_GetStringValue(cJSON_GetObjectItem(id, "uuid")),
         cJSON_GetStringValue(cJSON_GetObjectItem(id, "organization")));
  exp_stop(sdk);
  return 0;
}
