/*
 * respond.c: answer every "hello" on a channel, as a device.
 *
 *   respond [channel] [count]
 *
 * Defaults: channel "my-channel"; it stops after count answers (0, the
 * default: never).  Try it with samples/broadcast.
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
  long count = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
  exp_sdk *sdk = exp_new(NULL);
  exp_channel *ch = NULL;
  exp_listener *listener = NULL;
  long answered = 0;
  int rc;

  if (sdk == NULL)
    return 1;
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(sdk, EXP_OPT_UUID, env("EXP_UUID", "test-uuid"));
  exp_set_str(sdk, EXP_OPT_SECRET, env("EXP_SECRET", "test-secret"));
  rc = exp_start_wait(sdk, 10000);
  if (rc == 0 && (ch = exp_get_channel(sdk, name, 0)) == NULL)
    rc = exp_last_error(sdk)->code;
  if (rc == 0)
    rc = exp_listen_wait(ch, "hello", NULL, NULL, NULL, &listener);
  if (rc != 0) {
    fprintf(stderr, "listen: %s\n", exp_last_error(sdk)->message);
    exp_channel_free(ch);
    exp_stop(sdk);
    return 1;
  }
  printf("answering \"hello\" on channel \"%s\"\n", name);
  fflush(stdout);
  while (count == 0 || answered < count) {
    exp_message *msg = NULL;
    cJSON *answer;

    rc = exp_listener_wait(listener, 60000, &msg);
    if (rc == EXP_ETIMEOUT)
      continue;
    if (rc != 0) {
      fprintf(stderr, "wait: %s\n", exp_strerror(rc));
      break;
    }
    answer = cJSON_CreateObject();
    cJSON_AddStringToObject(answer, "text", "hello back");
    cJSON_AddStringToObject(answer, "from", env("EXP_UUID", "test-uuid"));
    rc = exp_message_respond_wait(msg, answer, NULL);
    printf("answered broadcast %s: %s\n", exp_message_id(msg),
           rc == 0 ? "ok" : exp_last_error(sdk)->message);
    fflush(stdout);
    cJSON_Delete(answer);
    exp_message_free(msg);
    answered++;
  }
  exp_listener_cancel(listener);
  exp_channel_free(ch);
  exp_stop(sdk);
  return rc == 0 ? 0 : 1;
}
