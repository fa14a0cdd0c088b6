/* consumer.c: logs in to the server EXP_HOST names and prints the identity's
 * username. */
#include <stdio.h>
#include <stdlib.h>

#include <exp.h>

int main(void) {
  exp_sdk *sdk = exp_new(NULL);
  int rc;

  if (sdk == NULL || getenv("EXP_HOST") == NULL)
    return 2;
  exp_set_str(sdk, EXP_OPT_HOST, getenv("EXP_HOST"));
  exp_set_str(sdk, EXP_OPT_USERNAME, "test@goexp.io");
  exp_set_str(sdk, EXP_OPT_PASSWORD, "test-Password1");
  exp_set_str(sdk, EXP_OPT_ORGANIZATION, "scala");
  rc = exp_start_wait(sdk, 10000);
  if (rc != 0) {
    fprintf(stderr, "start: %s: %s\n", exp_strerror(rc),
            exp_last_error(sdk)->message);
    exp_stop(sdk);
    return 1;
  }
  printf("consumer logged in as %s\n",
         cJSON_GetStringValue(cJSON_GetObjectItem(
             cJSON_GetObjectItem(exp_auth(sdk), "identity"), "username")));
  exp_stop(sdk);
  return 0;
}
