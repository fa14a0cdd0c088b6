/*
 * listen.c: listen for an event on a channel and print each broadcast as
 * it comes, waiting in a loop.  Logs in as a device.
 *
 *   listen [channel] [event] [count]
 *
 * Defaults: channel "my-channel", event "hello"; it stops after count
 * broadcasts (0, the default: never).  Send some with samples/broadcast.
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
  long count = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
  exp_sdk *sdk = exp_new(NULL);
  exp_channel *ch = NULL;
  exp_listener *listener = NULL;
  long got = 0;
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
    rc = exp_listen_wait(ch, event, NULL, NULL, NULL, &listener);
  if (rc != 0) {
    fprintf(stderr, "listen: %s\n", exp_last_error(sdk)->message);
    exp_channel_free(ch);
    exp_stop(sdk);
    return 1;
  }
  printf("listening for \"%s\" on channel \"%s\"\n", event, name);
  fflush(stdout);
  while (count == 0 || got < count) {
    exp_message *msg = NULL;
    char *payload;

    /* Broadcasts that come while we print are queued for the next wait. */
    rc = exp_listener_wait(listener, 60000, &msg);
    if (rc == EXP_ETIMEOUT) {
      printf("nothing in the last minute\n");
      continue;
    }
    if (rc != 0) {
      fprintf(stderr, "wait: %s\n", exp_strerror(rc));
      break;
    }
    payload = exp_json_string(exp_message_payload(msg));
    printf("%s: %s\n", exp_message_name(msg), payload != NULL ? payload : "?");
    fflush(stdout);
    exp_free(payload);
    exp_message_free(msg);
    got++;
  }
  if (exp_listener_dropped(listener) > 0)
    printf("%llu broadcast(s) were dropped (queue full or too old)\n",
           (unsigned long long)exp_listener_dropped(listener));
  exp_listener_cancel(listener);
  exp_channel_free(ch);
  exp_stop(sdk);
  return rc == 0 ? 0 : 1;
}
