/*
 * listen_loop.c: an application on its own libuv loop that listens with a
 * callback while its own timer runs.  Every 500 ms the timer broadcasts a
 * "tick" on the channel; the callback prints each tick it hears and
 * answers it.  Once the fifth tick got its answers, everything stops and
 * uv_run returns.
 * Nothing blocks.  Logs in as a device.
 */
#include <stdio.h>
#include <stdlib.h>

#include <exp.h>

typedef struct app {
  exp_sdk *sdk;
  exp_channel *ch;
  exp_listener *listener;
  uv_timer_t timer;
  int sent;
  int failed;
} app;

static const char *env(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

/* Stops the SDK (also from inside its callbacks) and closes our timer, so
 * uv_run returns. */
static void finish(app *a, int rc) {
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", exp_strerror(rc),
            exp_last_error(a->sdk)->message);
    a->failed = 1;
  }
  exp_listener_cancel(a->listener);
  a->listener = NULL;
  exp_channel_free(a->ch);
  a->ch = NULL;
  exp_stop(a->sdk);
  if (!uv_is_closing((uv_handle_t *)&a->timer))
    uv_close((uv_handle_t *)&a->timer, NULL);
}

static void on_answers(exp_sdk *sdk, int status, cJSON *responses, void *ud) {
  app *a = ud;
  (void)sdk;
  if (status == 0)
    printf("  the tick got %d answer(s)\n", cJSON_GetArraySize(responses));
  cJSON_Delete(responses);
  if (status != 0 && status != EXP_ECANCELLED)
    finish(a, status);
  else if (status == 0 && a->sent == 5)
    finish(a, 0);
}

static void on_timer(uv_timer_t *t) {
  app *a = t->data;
  cJSON *payload = cJSON_CreateObject();
  int rc;

  if (a->sent == 5) {
    uv_timer_stop(t); /* the last answers are on their way */
    return;
  }
  cJSON_AddNumberToObject(payload, "tick", ++a->sent);
  printf("timer: sending tick %d\n", a->sent);
  rc = exp_broadcast(a->ch, "tick", payload, 300, on_answers, a);
  cJSON_Delete(payload);
  if (rc != 0)
    finish(a, rc);
}

static void on_tick(exp_sdk *sdk, exp_listener *l, exp_message *msg, void *ud) {
  cJSON *n = cJSON_GetObjectItem(exp_message_payload(msg), "tick");
  (void)sdk;
  (void)l;
  (void)ud;
  printf("listener: heard tick %d\n", cJSON_IsNumber(n) ? n->valueint : -1);
  exp_message_respond(msg, NULL, NULL, NULL);
  exp_message_free(msg);
}

static void on_listening(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  app *a = ud;
  (void)sdk;
  if (status != 0) {
    finish(a, status);
    return;
  }
  a->listener = l;
  printf("listening for \"tick\" on channel \"loop-sample\"\n");
  uv_timer_start(&a->timer, on_timer, 0, 500);
}

static void on_started(exp_sdk *sdk, int status, void *ud) {
  app *a = ud;
  int rc = status;

  if (rc == 0 && (a->ch = exp_get_channel(sdk, "loop-sample", 0)) == NULL)
    rc = exp_last_error(sdk)->code;
  if (rc == 0)
    rc = exp_listen(a->ch, "tick", NULL, on_tick, NULL, on_listening, a);
  if (rc != 0)
    finish(a, rc);
}

int main(void) {
  uv_loop_t loop;
  app a = {0};
  int rc;

  uv_loop_init(&loop);
  uv_timer_init(&loop, &a.timer);
  a.timer.data = &a;
  a.sdk = exp_new(&loop);
  if (a.sdk == NULL)
    return 1;
  exp_set_str(a.sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(a.sdk, EXP_OPT_UUID, env("EXP_UUID", "test-uuid"));
  exp_set_str(a.sdk, EXP_OPT_SECRET, env("EXP_SECRET", "test-secret"));
  rc = exp_start(a.sdk, on_started, &a);
  if (rc != 0)
    finish(&a, rc);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0)
    fprintf(stderr, "the loop still has handles\n");
  return a.failed;
}
