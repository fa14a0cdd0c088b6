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
  const char *text = cJSON_GetStringValue(exp_message_get(msg, "text"));
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

int main(void) {
  exp_sdk *sdk = exp_new(NULL);
  const char *host = env("EXP_HOST", "http://127.0.0.1:9000");
  const char *user = env("EXP_USERNAME", "test@goexp.io");
  const char *password = env("EXP_PASSWORD", "test-Password1");
  const char *org = env("EXP_ORGANIZATION", "scala");
  exp_channel *ch;
  exp_listener *l = NULL;
  cJSON *devices = NULL, *query, *hello, *responses = NULL;
  const char *first;
  char *text;
  int rc;

  if (sdk == NULL)
    return 1;
  exp_set_options(sdk, "host", host, "username", user, "password", password,
                  "organization", org, NULL);

  if ((rc = exp_start_wait(sdk, 10000)) != 0)
    return fail(sdk, "Logging in", rc);
  printf("1. Logged in to %s as %s; the real-time socket is online.\n", host,
         user);

  query = cJSON_CreateObject();
  cJSON_AddStringToObject(query, "sort", "name");
  rc = exp_get_wait(sdk, "/api/devices", query, &devices);
  cJSON_Delete(query);
  if (rc != 0)
    return fail(sdk, "The REST call", rc);
  first = cJSON_GetStringValue(exp_json_get(devices, "results.0.name"));
  printf("2. REST call GET /api/devices: the organization has %d devices, "
         "the first is \"%s\".\n",
         (int)cJSON_GetNumberValue(exp_json_get(devices, "total")),
         first != NULL ? first : "(none)");
  cJSON_Delete(devices);

  /* A callback-style listener answers while the broadcast below waits. */
  ch = exp_get_channel(sdk, "showcase", 0);
  if (ch == NULL)
    return fail(sdk, "Getting the channel", exp_last_error(sdk)->code);
  rc = exp_listen_wait(ch, "hello", NULL, on_hello, NULL, &l);
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
    exp_listener_cancel(l);
    exp_channel_free(ch);
    return fail(sdk, "Broadcasting", rc);
  }
  text = exp_json_string(responses);
  printf("5. The broadcast collected %d response(s) in 1 second: %s\n",
         cJSON_GetArraySize(responses), text != NULL ? text : "?");
  exp_free(text);
  cJSON_Delete(responses);

  exp_listener_cancel(l);
  exp_channel_free(ch);
  exp_stop(sdk);
  printf("6. Stopped the SDK.\n");
  return 0;
}
