/*
 * broadcast.c: broadcast an event on a channel and print the responses
 * that arrive within two seconds.  Logs in as a user.
 *
 *   broadcast [channel] [event] [payload JSON]
 *
 * Defaults: channel "my-channel", event "hello", payload {"text":"hi"}.
 * Run samples/respond in another terminal to get an answer.
 */
#include <stdio.h>
#include <stdlib.h>

#include <exp.h>

static const char *env(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "my-channel";
  const char *event = argc > 2 ? argv[2] : "hello";
  cJSON *payload = cJSON_Parse(argc > 3 ? argv[3] : "{\"text\":\"hi\"}");
  cJSON *responses = NULL, *r;
  exp_sdk *sdk = exp_new(NULL);
  exp_channel *ch;
  int rc;

  if (sdk == NULL)
    return 1;
  if (payload == NULL) {
    fprintf(stderr, "the payload is not valid JSON\n");
    exp_stop(sdk);
    return 2;
  }
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(sdk, EXP_OPT_USERNAME, env("EXP_USERNAME", "test@goexp.io"));
  exp_set_str(sdk, EXP_OPT_PASSWORD, env("EXP_PASSWORD", "test-Password1"));
  exp_set_str(sdk, EXP_OPT_ORGANIZATION, env("EXP_ORGANIZATION", "scala"));
  /* Broadcasting is a REST call: no socket needed. */
  exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, 0);
  rc = exp_start_wait(sdk, 10000);
  ch = rc == 0 ? exp_get_channel(sdk, name, 0) : NULL;
  if (ch != NULL)
    rc = exp_broadcast_wait(ch, event, payload, 2000, &responses);
  if (rc != 0 || ch == NULL) {
    fprintf(stderr, "broadcast: %s\n", exp_last_error(sdk)->message);
    cJSON_Delete(payload);
    exp_channel_free(ch);
    exp_stop(sdk);
    return 1;
  }
  printf("\"%s\" on channel \"%s\": %d response(s)\n", event, name,
         cJSON_GetArraySize(responses));
  cJSON_ArrayForEach(r, responses) {
    char *s = exp_json_string(r);
    printf("  %s\n", s != NULL ? s : "?");
    exp_free(s);
  }
  cJSON_Delete(responses);
  cJSON_Delete(payload);
  exp_channel_free(ch);
  exp_stop(sdk);
  return 0;
}
