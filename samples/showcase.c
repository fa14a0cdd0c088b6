/*
 * showcase.c: the SDK in one short program.  It logs in as a user, makes
 * one REST call, listens on a channel, broadcasts on that same channel,
 * and its own listener answers the broadcast.  Each step says what it did.
 */
#include <stdio.h>
#include <stdlib.h>

#include <exp.h>

static const char *env(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

static int fail(exp_sdk *sdk, const char *what, int rc) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, exp_strerror(rc),
          exp_last_error(sdk)->message);
  exp_stop(sdk);
  return 1;
}

/* The listener: called for every "hello" on the channel. */
static void on_hello(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                     void *ud) {
  cJSON *answer = cJSON_CreateObject();
  const char *text = cJSON_GetStringValue(
      cJSON_GetObjectItem(exp_message_payload(msg), "text"));
  (void)sdk;
  (void)l;
  (void)ud;
  printf("4. The listener heard \"hello\" saying \"%s\" and answers it.\n",
         text != NULL ? text : "?");
  cJSON_AddStringToObject(answer, "reply", "Hello back from the listener!");
  exp_message_respond(msg, answer, NULL, NULL);
  cJSON_Delete(answer);
  exp_message_free(msg);
}

typedef struct listening {
  int done;
  int status;
  exp_listener *l;
} listening;

static void on_listening(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  listening *w = ud;
  (void)sdk;
  w->done = 1;
  w->status = status;
  w->l = l;
}

int main(void) {
  exp_sdk *sdk = exp_new(NULL);
  exp_channel *ch;
  listening w = {0, 0, NULL};
  cJSON *devices = NULL, *query, *hello, *responses = NULL;
  const cJSON *total, *first;
  char *text;
  int rc;

  if (sdk == NULL)
    return 1;
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(sdk, EXP_OPT_USERNAME, env("EXP_USERNAME", "test@goexp.io"));
  exp_set_str(sdk, EXP_OPT_PASSWORD, env("EXP_PASSWORD", "test-Password1"));
  exp_set_str(sdk, EXP_OPT_ORGANIZATION, env("EXP_ORGANIZATION", "scala"));

  if ((rc = exp_start_wait(sdk, 10000)) != 0)
    return fail(sdk, "Logging in", rc);
  printf("1. Logged in to %s as %s; the real-time socket is online.\n",
         env("EXP_HOST", "http://127.0.0.1:9000"),
         env("EXP_USERNAME", "test@goexp.io"));

  query = cJSON_CreateObject();
  cJSON_AddStringToObject(query, "sort", "name");
  rc = exp_get_wait(sdk, "/api/devices", query, &devices);
  cJSON_Delete(query);
  if (rc != 0)
    return fail(sdk, "The REST call", rc);
  total = cJSON_GetObjectItem(devices, "total");
  first = cJSON_GetArrayItem(cJSON_GetObjectItem(devices, "results"), 0);
  printf("2. REST call GET /api/devices: the organization has %d devices, "
         "the first is \"%s\".\n",
         cJSON_IsNumber(total) ? total->valueint : 0,
         first != NULL
             ? cJSON_GetStringValue(cJSON_GetObjectItem(first, "name"))
             : "(none)");
  cJSON_Delete(devices);

  /* A callback-style listener answers while the broadcast below waits. */
  ch = exp_get_channel(sdk, "showcase", 0);
  if (ch == NULL)
    return fail(sdk, "Getting the channel", exp_last_error(sdk)->code);
  rc = exp_listen(ch, "hello", NULL, on_hello, NULL, on_listening, &w);
  while (rc == 0 && !w.done) /* the server acknowledges the subscription */
    rc = exp_sleep(sdk, 10);
  if (rc == 0)
    rc = w.status;
  if (rc != 0) {
    exp_channel_free(ch);
    return fail(sdk, "Listening", rc);
  }
  printf("3. Listening for \"hello\" on channel \"showcase\".\n");

  hello = cJSON_CreateObject();
  cJSON_AddStringToObject(hello, "text", "Hi, is anybody there?");
  rc = exp_broadcast_wait(ch, "hello", hello, 1000, &responses);
  cJSON_Delete(hello);
  if (rc != 0) {
    exp_listener_cancel(w.l);
    exp_channel_free(ch);
    return fail(sdk, "Broadcasting", rc);
  }
  text = cJSON_PrintUnformatted(responses);
  printf("5. The broadcast collected %d response(s) in 1 second: %s\n",
         cJSON_GetArraySize(responses), text != NULL ? text : "?");
  free(text);
  cJSON_Delete(responses);

  exp_listener_cancel(w.l);
  exp_channel_free(ch);
  exp_stop(sdk);
  printf("6. Stopped the SDK.\n");
  return 0;
}
