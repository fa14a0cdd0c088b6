/* test_resources_common.c: see test_resources_common.h. */
#include "test_resources_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "http_client.h"
#include "testlib.h"

static exp_sdk *configure(uv_loop_t *loop, const char *origin) {
  exp_sdk *sdk = exp_new(loop);
  if (sdk == NULL)
    abort();
  exp_set_str(sdk, EXP_OPT_HOST, origin);
  exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, 0);
  return sdk;
}

static exp_sdk *start(exp_sdk *sdk, const char *who) {
  if (exp_start_wait(sdk, 15000) != 0) {
    fprintf(stderr, "login as %s: %s\n", who, exp_last_error(sdk)->message);
    exp_stop(sdk);
    return NULL;
  }
  return sdk;
}

exp_sdk *rt_user_on(uv_loop_t *loop, const char *origin) {
  exp_sdk *sdk = configure(loop, origin);
  exp_set_str(sdk, EXP_OPT_USERNAME, "test@goexp.io");
  exp_set_str(sdk, EXP_OPT_PASSWORD, "test-Password1");
  exp_set_str(sdk, EXP_OPT_ORGANIZATION, "scala");
  return sdk;
}

exp_sdk *rt_user(const char *origin) {
  return start(rt_user_on(NULL, origin), "a user");
}

exp_sdk *rt_device(const char *origin, const char *uuid, const char *secret) {
  exp_sdk *sdk = configure(NULL, origin);
  exp_set_str(sdk, EXP_OPT_UUID, uuid);
  exp_set_str(sdk, EXP_OPT_SECRET, secret);
  return start(sdk, uuid);
}

exp_sdk *rt_consumer(const char *origin, const char *uuid,
                     const char *api_key) {
  exp_sdk *sdk = configure(NULL, origin);
  exp_set_str(sdk, EXP_OPT_UUID, uuid);
  exp_set_str(sdk, EXP_OPT_API_KEY, api_key);
  return start(sdk, "a consumer app");
}

typedef struct fetch {
  int done, err, status;
  char *body, *content_type;
  size_t len;
} fetch;

static void on_fetched(int err, const exp_http_response *res, const char *msg,
                       void *ud) {
  fetch *f = ud;
  f->done = 1;
  f->err = err;
  if (err != 0) {
    fprintf(stderr, "fetch: %s\n", msg);
    return;
  }
  f->status = res->status;
  f->len = res->body_len;
  f->body = exp_strndup(res->body, res->body_len);
  f->content_type = exp_strdup(res->content_type);
}

int rt_fetch(const char *url, int *status, char **body, size_t *len,
             char **content_type) {
  exp_http_config cfg = {NULL, 1, 1 << 20, 10000, 1};
  exp_http_request req = {.method = "GET", .url = url};
  fetch f = {0};
  uv_loop_t loop;
  exp_http *h;
  char msg[128];
  int rc;

  uv_loop_init(&loop);
  h = exp_http_new(&loop, &cfg, msg, sizeof(msg));
  if (h == NULL)
    abort();
  rc = exp_http_send(h, &req, on_fetched, &f, NULL);
  while (rc == 0 && !f.done)
    uv_run(&loop, UV_RUN_ONCE);
  exp_http_close(h);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);
  *status = f.status;
  *body = f.body;
  *len = f.len;
  if (content_type != NULL)
    *content_type = f.content_type;
  else
    free(f.content_type);
  return rc != 0 ? rc : f.err;
}

const char *rt_restricted_token(exp_sdk *sdk) {
  return cJSON_GetStringValue(
      cJSON_GetObjectItem(exp_auth(sdk), "restrictedToken"));
}

cJSON *rt_json(const char *s) {
  cJSON *j = cJSON_Parse(s);
  if (j == NULL)
    abort();
  return j;
}
