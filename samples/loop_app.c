/*
 * loop_app.c: the SDK on the application's own libuv loop, next to the
 * application's own timer.  Nothing blocks: the start and each call end in
 * a callback, and uv_run returns once the SDK is stopped and the timer
 * closed.  Logs in as a device.
 */
#include <stdio.h>
#include <stdlib.h>

#include <exp.h>

typedef struct app {
  uv_timer_t ticker;
  int ticks;
  int failed;
} app;

static const char *env(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : fallback;
}

static void on_tick(uv_timer_t *t) {
  app *a = t->data;
  printf("tick %d\n", ++a->ticks);
}

/* Stops everything: the SDK (also from inside its callbacks) and our
 * timer, so uv_run returns. */
static void finish(exp_sdk *sdk, app *a, int rc) {
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", exp_strerror(rc), exp_last_error(sdk)->message);
    a->failed = 1;
  }
  exp_stop(sdk);
  uv_close((uv_handle_t *)&a->ticker, NULL);
}

static void on_device(exp_sdk *sdk, int status, cJSON *device, void *ud) {
  if (status == 0)
    printf("device %s is called \"%s\"\n",
           cJSON_GetStringValue(cJSON_GetObjectItem(device, "uuid")),
           cJSON_GetStringValue(cJSON_GetObjectItem(device, "name")));
  cJSON_Delete(device);
  finish(sdk, ud, status);
}

static void on_started(exp_sdk *sdk, int status, void *ud) {
  char path[128];
  int rc;

  if (status != 0) {
    finish(sdk, ud, status);
    return;
  }
  printf("started\n");
  snprintf(path, sizeof(path), "/api/devices/%s",
           cJSON_GetStringValue(cJSON_GetObjectItem(
               cJSON_GetObjectItem(exp_auth(sdk), "identity"), "uuid")));
  rc = exp_get(sdk, path, NULL, on_device, ud);
  if (rc != 0)
    finish(sdk, ud, rc);
}

int main(void) {
  uv_loop_t loop;
  app a = {.ticks = 0, .failed = 0};
  exp_sdk *sdk;
  int rc;

  uv_loop_init(&loop);
  uv_timer_init(&loop, &a.ticker);
  a.ticker.data = &a;
  uv_timer_start(&a.ticker, on_tick, 0, 20);

  sdk = exp_new(&loop);
  if (sdk == NULL)
    return 1;
  exp_set_str(sdk, EXP_OPT_HOST, env("EXP_HOST", "http://127.0.0.1:9000"));
  exp_set_str(sdk, EXP_OPT_UUID, env("EXP_UUID", "test-uuid"));
  exp_set_str(sdk, EXP_OPT_SECRET, env("EXP_SECRET", "test-secret"));
  exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, 0);
  rc = exp_start(sdk, on_started, &a);
  if (rc != 0) {
    finish(sdk, &a, rc);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0)
    fprintf(stderr, "the loop still has handles\n");
  return a.failed;
}
