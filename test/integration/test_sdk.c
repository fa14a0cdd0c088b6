/* The SDK core against the reference server: credentials, options, start
 * and stop, token refresh, 401 recovery, deadlines, blocking calls, the
 * application's own loop, TLS.
 * Usage: test_sdk NODE test/server/main.js */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "refserver.h"
#include "session.h"
#include "testlib.h"
#include "tls_certs.h"

static const char *node_bin, *main_js;
static refserver srv; /* shared by the tests that revoke nothing */

/* ------------------------------------------------------------- helpers */

/* Every log line: secrets and tokens never appear. */
static void on_log(exp_log_level level, const char *msg, void *ud) {
  EXP_UNUSED(level);
  EXP_UNUSED(ud);
  CHECK(strstr(msg, "test-Password1") == NULL);
  CHECK(strstr(msg, "test-secret") == NULL);
  CHECK(strstr(msg, "test-api-key") == NULL);
  CHECK(strstr(msg, "eyJ") == NULL); /* any JWT */
}

static uint64_t now_ms(void) {
  return uv_hrtime() / 1000000;
}

static exp_sdk *make(uv_loop_t *loop, const char *origin, cred c) {
  exp_sdk *sdk = exp_new(loop);
  CHECK(sdk != NULL);
  exp_set_log(sdk, EXP_LOG_DEBUG, on_log, NULL);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, origin), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, 0), 0);
  refserver_credentials(sdk, c);
  return sdk;
}

/* Stops the SDK, lets the loop release it, and checks the loop closes. */
static void finish(exp_sdk *sdk, uv_loop_t *loop) {
  exp_stop(sdk);
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(loop), 0);
}

static const char *identity_str(const exp_sdk *sdk, const char *key) {
  const cJSON *id = cJSON_GetObjectItem(exp_auth(sdk), "identity");
  const cJSON *v = cJSON_GetObjectItem(id, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

typedef struct counter {
  int n;
  int status;
  int http_status;
  cJSON *result;
} counter;

static void on_json(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  counter *c = ud;
  c->n++;
  c->status = status;
  c->http_status = status != 0 ? exp_last_error(sdk)->http_status : 0;
  cJSON_Delete(c->result);
  c->result = result;
}

/* Sleeps on sdk until each of the n calls has completed, 10 s at most. */
static void wait_counters(exp_sdk *sdk, const counter *c, size_t n) {
  uint64_t t0 = now_ms();
  size_t done;
  do {
    CHECK_INT(exp_sleep(sdk, 20), 0);
    done = 0;
    for (size_t i = 0; i < n; i++)
      done += (size_t)c[i].n;
  } while (done < n && now_ms() - t0 < 10000);
}

static void on_done(exp_sdk *sdk, int status, void *ud) {
  counter *c = ud;
  EXP_UNUSED(sdk);
  c->n++;
  c->status = status;
}

static void on_event(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  counter *c = ud;
  EXP_UNUSED(sdk);
  EXP_UNUSED(ev);
  c->n++;
  cJSON_Delete(c->result);
  c->result = data != NULL ? cJSON_Duplicate(data, 1) : NULL;
}

/* A broadcast the server holds open for hold_ms. */
static int held_broadcast(exp_sdk *sdk, int hold_ms, uint64_t timeout_ms,
                          exp_json_cb cb, void *ud, cJSON **result) {
  cJSON *q = cJSON_CreateObject(), *b = cJSON_CreateObject();
  cJSON *ch = cJSON_AddObjectToObject(b, "channel");
  exp_call call = {"POST", "/api/networks/current/broadcasts", q, b,
                   timeout_ms};
  int r;
  cJSON_AddNumberToObject(q, "timeout", hold_ms);
  cJSON_AddStringToObject(b, "name", "hold");
  cJSON_AddStringToObject(ch, "name", "test-core");
  r = cb != NULL ? exp_request(sdk, &call, cb, ud)
                 : exp_request_wait(sdk, &call, result);
  cJSON_Delete(q);
  cJSON_Delete(b);
  return r;
}

/* --------------------------------------------------------------- tests */

static void test_credentials(void) {
  static const struct {
    cred c;
    const char *type;
  } kinds[] = {{USER, "user"}, {DEVICE, "device"}, {CONSUMER, "consumerApp"}};

  for (size_t i = 0; i < EXP_ARRAY_SIZE(kinds); i++) {
    uv_loop_t loop;
    exp_sdk *sdk;
    cJSON *res = NULL;

    uv_loop_init(&loop);
    sdk = make(&loop, srv.origin, kinds[i].c);
    CHECK(exp_auth(sdk) == NULL);
    CHECK_INT(exp_start_wait(sdk, 10000), 0);
    CHECK_STR(identity_str(sdk, "type"), kinds[i].type);
    CHECK_STR(identity_str(sdk, "organization"), "scala");
    CHECK_INT(exp_get_wait(sdk, "/api/experiences/test-experience", NULL, &res),
              0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(res, "uuid")),
              "test-experience");
    cJSON_Delete(res);
    finish(sdk, &loop);
  }

  /* The same on a private loop, with the other verbs. */
  {
    exp_sdk *sdk = make(NULL, srv.origin, USER);
    cJSON *doc = cJSON_Parse("{\"name\":\"core test thing\"}"), *res = NULL;
    char path[128];

    CHECK_INT(exp_start_wait(sdk, 10000), 0);
    CHECK_INT(exp_post_wait(sdk, "/api/things", NULL, doc, &res), 0);
    snprintf(path, sizeof(path), "/api/things/%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(res, "uuid")));
    cJSON_Delete(res);
    cJSON_SetValuestring(cJSON_GetObjectItem(doc, "name"), "renamed");
    CHECK_INT(exp_patch_wait(sdk, path, NULL, doc, &res), 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(res, "name")),
              "renamed");
    cJSON_Delete(res);
    CHECK_INT(exp_put_wait(sdk, path, NULL, doc, NULL), 0);
    CHECK_INT(exp_delete_wait(sdk, path, NULL, NULL), 0);
    CHECK_INT(exp_get_wait(sdk, path, NULL, &res), EXP_ENOTFOUND);
    CHECK(res == NULL);
    cJSON_Delete(doc);
    exp_stop(sdk);
  }
}

static void test_bad_credentials(void) {
  static const struct {
    cred c;
    exp_option opt;
    const char *value;
  } bad[] = {{USER, EXP_OPT_PASSWORD, "wrong"},
             {USER, EXP_OPT_ORGANIZATION, "nope"},
             {DEVICE, EXP_OPT_SECRET, "wrong"},
             {DEVICE, EXP_OPT_UUID, "nobody"},
             {CONSUMER, EXP_OPT_API_KEY, "wrong"}};

  for (size_t i = 0; i < EXP_ARRAY_SIZE(bad); i++) {
    uv_loop_t loop;
    counter errors = {0}, updates = {0};
    exp_sdk *sdk;

    uv_loop_init(&loop);
    sdk = make(&loop, srv.origin, bad[i].c);
    exp_set_log(sdk, EXP_LOG_NONE, NULL, NULL);
    exp_set_str(sdk, bad[i].opt, bad[i].value);
    exp_on(sdk, EXP_EVENT_ERROR, on_event, &errors);
    exp_on(sdk, EXP_EVENT_UPDATE, on_event, &updates);
    CHECK_INT(exp_start_wait(sdk, 10000), EXP_EAUTH);
    CHECK_INT(exp_last_error(sdk)->http_status, 401);
    CHECK_STR(exp_last_error(sdk)->api_code, "auth.invalid");
    CHECK_INT(errors.n, 1);
    CHECK_INT(updates.n, 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(errors.result, "code")),
              "EXP_EAUTH");
    CHECK_INT(exp_get_wait(sdk, "/api/devices", NULL, NULL), EXP_EAUTH);
    CHECK_INT(exp_start(sdk, on_done, NULL), EXP_ERUNTIME);
    cJSON_Delete(errors.result);
    finish(sdk, &loop);
  }
}

static void test_options_errors(void) {
  /* Each case: a device's credentials or none, then one option. */
  static const struct {
    int device;
    exp_option opt;
    const char *str; /* NULL: an integer */
    int64_t num;
    const char *prefix;
  } cases[] = {
      {0, EXP_OPT_HOST, "http://127.0.0.1:1", 0, "no credentials"},
      {0, EXP_OPT_USERNAME, "u", 0, "password:"},
      {0, EXP_OPT_ORGANIZATION, "scala", 0, "username:"},
      {0, EXP_OPT_SECRET, "s", 0, "uuid:"},
      {0, EXP_OPT_API_KEY, "k", 0, "uuid:"},
      {0, EXP_OPT_UUID, "u", 0, "secret:"},
      {1, EXP_OPT_HOST, "ftp://x", 0, "host:"},
      {1, EXP_OPT_HOST, "api.goexp.io", 0, "host:"},
      {1, EXP_OPT_HOST, "/", 0, "host:"},
      {1, EXP_OPT_HOST, "http://x?y", 0, "host:"},
      {1, EXP_OPT_CA_FILE, "/nonexistent/ca.pem", 0, "ca_file:"},
      {1, EXP_OPT_ALLOW_PAIRING, NULL, 2, "allow_pairing:"},
      {1, EXP_OPT_ENABLE_NETWORK, NULL, -1, "enable_network:"},
      {1, EXP_OPT_TLS_VERIFY, NULL, 5, "tls_verify:"},
      {1, EXP_OPT_REQUEST_TIMEOUT_MS, NULL, 0, "request_timeout_ms:"},
      {1, EXP_OPT_MAX_BODY_BYTES, NULL, -1, "max_body_bytes:"},
  };

  for (size_t i = 0; i < EXP_ARRAY_SIZE(cases); i++) {
    exp_sdk *sdk = exp_new(NULL);
    const char *m;
    if (cases[i].device) {
      exp_set_str(sdk, EXP_OPT_UUID, "test-uuid");
      exp_set_str(sdk, EXP_OPT_SECRET, "test-secret");
    }
    if (cases[i].str != NULL)
      CHECK_INT(exp_set_str(sdk, cases[i].opt, cases[i].str), 0);
    else
      CHECK_INT(exp_set_int(sdk, cases[i].opt, cases[i].num), 0);
    CHECK_INT(exp_start(sdk, on_done, NULL), EXP_EOPTIONS);
    CHECK_INT(exp_last_error(sdk)->code, EXP_EOPTIONS);
    m = exp_last_error(sdk)->message;
    if (strncmp(m, cases[i].prefix, strlen(cases[i].prefix)) != 0)
      fprintf(stderr, "case %zu: \"%s\"\n", i, m);
    CHECK(strncmp(m, cases[i].prefix, strlen(cases[i].prefix)) == 0);
    /* Still not started: calls are refused, options can be fixed. */
    CHECK_INT(exp_get(sdk, "/api/devices", NULL, on_json, NULL), EXP_ERUNTIME);
    CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, NULL), 0);
    exp_stop(sdk);
  }

  /* Wrong types, unknown options, setting after start. */
  {
    uv_loop_t loop;
    exp_sdk *sdk;
    uv_loop_init(&loop);
    sdk = make(&loop, srv.origin, DEVICE);
    CHECK_INT(exp_set_int(sdk, EXP_OPT_HOST, 1), EXP_EOPTIONS);
    CHECK(strstr(exp_last_error(sdk)->message, "host") != NULL);
    CHECK_INT(exp_set_str(sdk, EXP_OPT_TLS_VERIFY, "1"), EXP_EOPTIONS);
    CHECK_INT(exp_set_str(sdk, (exp_option)99, "x"), EXP_EOPTIONS);
    CHECK_INT(exp_start_wait(sdk, 10000), 0);
    CHECK_INT(exp_set_str(sdk, EXP_OPT_SECRET, "x"), EXP_ERUNTIME);
    CHECK_INT(exp_set_int(sdk, EXP_OPT_TLS_VERIFY, 0), EXP_ERUNTIME);
    finish(sdk, &loop);
  }

  /* Nobody listening: the start fails with the network error. */
  {
    uv_loop_t loop;
    exp_sdk *sdk;
    uv_loop_init(&loop);
    sdk = make(&loop, "http://127.0.0.1:1", USER);
    exp_set_log(sdk, EXP_LOG_NONE, NULL, NULL);
    CHECK_INT(exp_start_wait(sdk, 10000), EXP_ENETWORK);
    CHECK(strncmp(exp_last_error(sdk)->message, "login: ", 7) == 0);
    CHECK_INT(exp_get_wait(sdk, "/api/devices", NULL, NULL), EXP_ENETWORK);
    finish(sdk, &loop);
  }
}

static void test_double_start(void) {
  uv_loop_t loop;
  counter c = {0};
  exp_sdk *sdk;

  uv_loop_init(&loop);
  sdk = make(&loop, srv.origin, DEVICE);
  CHECK_INT(exp_start(sdk, on_done, &c), 0);
  CHECK_INT(exp_start(sdk, on_done, &c), EXP_ERUNTIME);
  CHECK_INT(exp_start_wait(sdk, 1000), EXP_ERUNTIME);
  CHECK_INT(c.n, 0); /* never before exp_start returned */
  while (c.n == 0)
    uv_run(&loop, UV_RUN_ONCE);
  CHECK_INT(c.status, 0);
  CHECK_INT(exp_start(sdk, on_done, &c), EXP_ERUNTIME);
  CHECK_INT(c.n, 1);
  finish(sdk, &loop);
}

/* ------------------------------------------------- stop with calls out */

static counter held[4];

static void stop_in_callback(exp_sdk *sdk, int status, cJSON *result,
                             void *ud) {
  on_json(sdk, status, result, ud);
  exp_stop(sdk);
  exp_stop(sdk); /* twice is harmless */
  /* Still inside the callback: new work is refused. */
  CHECK_INT(exp_get(sdk, "/api/devices", NULL, on_json, NULL), EXP_ERUNTIME);
}

static void start_then_calls(exp_sdk *sdk, int status, void *ud) {
  counter *quick = ud;
  CHECK_INT(status, 0);
  for (size_t i = 0; i < EXP_ARRAY_SIZE(held); i++)
    CHECK_INT(held_broadcast(sdk, 3000, 0, on_json, &held[i], NULL), 0);
  CHECK_INT(
      exp_get(sdk, "/api/devices/test-uuid", NULL, stop_in_callback, quick), 0);
}

static void test_stop_in_flight(void) {
  uv_loop_t loop;
  exp_sdk *sdk;
  counter quick = {0}, start = {0};
  uint64_t t0 = now_ms();

  /* Stopped from a callback while four calls are held by the server. */
  memset(held, 0, sizeof(held));
  uv_loop_init(&loop);
  sdk = make(&loop, srv.origin, USER);
  CHECK_INT(exp_start(sdk, start_then_calls, &quick), 0);
  uv_run(&loop, UV_RUN_DEFAULT); /* returns once the SDK has closed */
  CHECK_INT(uv_loop_close(&loop), 0);
  CHECK_INT(quick.n, 1);
  CHECK_INT(quick.status, 0);
  cJSON_Delete(quick.result);
  for (size_t i = 0; i < EXP_ARRAY_SIZE(held); i++) {
    CHECK_INT(held[i].n, 1);
    CHECK_INT(held[i].status, EXP_ECANCELLED);
  }
  CHECK(now_ms() - t0 < 2500);

  /* Stopped from outside: the callbacks run inside exp_stop. */
  memset(held, 0, sizeof(held));
  uv_loop_init(&loop);
  sdk = make(&loop, srv.origin, DEVICE);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  for (size_t i = 0; i < EXP_ARRAY_SIZE(held); i++)
    CHECK_INT(held_broadcast(sdk, 3000, 0, on_json, &held[i], NULL), 0);
  CHECK_INT(exp_sleep(sdk, 100), 0);
  exp_stop(sdk);
  for (size_t i = 0; i < EXP_ARRAY_SIZE(held); i++) {
    CHECK_INT(held[i].n, 1);
    CHECK_INT(held[i].status, EXP_ECANCELLED);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);

  /* A start still logging in; calls parked behind it. */
  uv_loop_init(&loop);
  sdk = make(&loop, srv.origin, USER);
  memset(held, 0, sizeof(held));
  CHECK_INT(exp_start(sdk, on_done, &start), 0);
  CHECK_INT(exp_get(sdk, "/api/devices", NULL, on_json, &held[0]), 0);
  exp_stop(sdk);
  CHECK_INT(start.n, 1);
  CHECK_INT(start.status, EXP_ECANCELLED);
  CHECK_INT(held[0].n, 1);
  CHECK_INT(held[0].status, EXP_ECANCELLED);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);

  /* Private loop: stop frees everything at once. */
  sdk = make(NULL, srv.origin, DEVICE);
  memset(held, 0, sizeof(held));
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  CHECK_INT(held_broadcast(sdk, 3000, 0, on_json, &held[0], NULL), 0);
  exp_stop(sdk);
  CHECK_INT(held[0].n, 1);
  CHECK_INT(held[0].status, EXP_ECANCELLED);
}

static void stop_on_update(exp_sdk *sdk, exp_event ev, const cJSON *data,
                           void *ud) {
  EXP_UNUSED(ev);
  EXP_UNUSED(data);
  (*(int *)ud)++;
  exp_stop(sdk);
}

/* exp_stop from a handler while exp_start_wait runs the private loop: the
 * wait returns EXP_ECANCELLED and the handle is gone. */
static void test_stop_during_wait(void) {
  int calls = 0;
  exp_sdk *sdk = make(NULL, srv.origin, DEVICE);
  exp_on(sdk, EXP_EVENT_UPDATE, stop_on_update, &calls);
  exp_on(sdk, EXP_EVENT_UPDATE, stop_on_update, &calls); /* not reached */
  CHECK_INT(exp_start_wait(sdk, 10000), EXP_ECANCELLED);
  CHECK_INT(calls, 1);
}

/* ------------------------------------------------------- token refresh */

typedef struct once {
  int n;
  exp_handler *h;
} once_t;

/* Removes itself on its first call. */
static void off_self(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  once_t *o = ud;
  EXP_UNUSED(sdk);
  EXP_UNUSED(ev);
  EXP_UNUSED(data);
  o->n++;
  exp_off(o->h);
}

static void test_token_ttl(void) {
  static const char *const args[] = {"--token-ttl", "2", NULL};
  refserver s;
  exp_sdk *sdk;
  counter updates = {0};
  once_t once = {0, NULL};
  uint64_t t0;
  int calls = 0, failed = 0;

  if (refserver_start(&s, node_bin, main_js, args) != 0) {
    CHECK(!"server");
    return;
  }
  sdk = make(NULL, s.origin, USER);
  exp_on(sdk, EXP_EVENT_UPDATE, on_event, &updates);
  once.h = exp_on(sdk, EXP_EVENT_UPDATE, off_self, &once);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  t0 = now_ms();
  while (now_ms() - t0 < 10000) {
    int r = exp_get_wait(sdk, "/api/devices/test-uuid", NULL, NULL);
    calls++;
    if (r != 0) {
      failed++;
      fprintf(stderr, "call %d: %s: %s\n", calls, exp_err_name(r),
              exp_last_error(sdk)->message);
    }
    CHECK_INT(exp_sleep(sdk, 50), 0);
  }
  CHECK_INT(failed, 0);
  CHECK(calls > 50);
  /* A 2 s token is renewed about every second. */
  CHECK(updates.n >= 6);
  CHECK_INT(once.n, 1);
  cJSON_Delete(updates.result);
  exp_stop(sdk);
  refserver_stop(&s);
}

/* Tokens revoked mid-run: every call gets a 401, one refresh (401 too)
 * and one login answer them all, each call is retried once. */
static void test_revoke(void) {
  refserver s;
  exp_sdk *sdk;
  counter updates = {0}, c[5];

  if (refserver_start(&s, node_bin, main_js, NULL) != 0) {
    CHECK(!"server");
    return;
  }
  memset(c, 0, sizeof(c));
  sdk = make(NULL, s.origin, USER);
  exp_on(sdk, EXP_EVENT_UPDATE, on_event, &updates);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  CHECK_INT(updates.n, 1);
  CHECK_INT(exp_get_wait(sdk, "/api/devices", NULL, NULL), 0);
  CHECK_INT(refserver_post(&s, "/_test/revoke"), 200);
  for (size_t i = 0; i < EXP_ARRAY_SIZE(c); i++)
    CHECK_INT(exp_get(sdk, "/api/devices/test-uuid", NULL, on_json, &c[i]), 0);
  wait_counters(sdk, c, EXP_ARRAY_SIZE(c));
  for (size_t i = 0; i < EXP_ARRAY_SIZE(c); i++) {
    CHECK_INT(c[i].n, 1);
    CHECK_INT(c[i].status, 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c[i].result, "uuid")),
              "test-uuid");
    cJSON_Delete(c[i].result);
  }
  CHECK_INT(updates.n, 2);
  /* Another round: one more login, not more. */
  CHECK_INT(refserver_post(&s, "/_test/revoke"), 200);
  CHECK_INT(exp_get_wait(sdk, "/api/devices/test-uuid", NULL, NULL), 0);
  CHECK_INT(updates.n, 3);
  cJSON_Delete(updates.result);
  exp_stop(sdk);
  refserver_stop(&s);
}

/* Calls on the wire keep the request bytes they were sent with while
 * calls to other paths replace the handle's cached ones, and a stop
 * cancels them with their bytes still held. */
static void test_heads_in_flight(void) {
  static const char *const paths[] = {"/api/devices/test-uuid", "/api/devices",
                                      "/api/devices?x=1"};
  exp_sdk *sdk = make(NULL, srv.origin, USER);
  counter c[6];

  memset(c, 0, sizeof(c));
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  for (size_t i = 0; i < EXP_ARRAY_SIZE(c); i++)
    CHECK_INT(exp_get(sdk, paths[i % 3], NULL, on_json, &c[i]), 0);
  wait_counters(sdk, c, EXP_ARRAY_SIZE(c));
  for (size_t i = 0; i < EXP_ARRAY_SIZE(c); i++) {
    CHECK_INT(c[i].n, 1);
    CHECK_INT(c[i].status, 0);
    CHECK(c[i].result != NULL);
    cJSON_Delete(c[i].result);
    c[i].result = NULL;
    c[i].n = 0;
  }
  for (size_t i = 0; i < 3; i++)
    CHECK_INT(exp_get(sdk, paths[i], NULL, on_json, &c[i]), 0);
  exp_stop(sdk);
  for (size_t i = 0; i < 3; i++) {
    CHECK_INT(c[i].n, 1);
    CHECK_INT(c[i].status, EXP_ECANCELLED);
  }
}

/* --------------------------------------------- deadlines, errors, wait */

static void test_deadline(void) {
  exp_sdk *sdk = make(NULL, srv.origin, USER);
  cJSON *res = NULL;
  uint64_t t0;

  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  t0 = now_ms();
  CHECK_INT(held_broadcast(sdk, 3000, 500, NULL, NULL, &res), EXP_ETIMEOUT);
  CHECK(res == NULL);
  CHECK(now_ms() - t0 >= 450);
  CHECK(now_ms() - t0 < 2000);
  CHECK_INT(exp_last_error(sdk)->code, EXP_ETIMEOUT);
  /* The SDK goes on. */
  CHECK_INT(held_broadcast(sdk, 10, 0, NULL, NULL, &res), 0);
  CHECK(cJSON_IsArray(res));
  cJSON_Delete(res);
  exp_stop(sdk);
}

static void test_api_errors(void) {
  exp_sdk *sdk = make(NULL, srv.origin, USER);
  cJSON *res = NULL, *q;
  exp_call bad = {"FETCH", "/api/devices", NULL, NULL, 0};

  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  CHECK_INT(exp_get_wait(sdk, "/api/devices/nobody", NULL, &res),
            EXP_ENOTFOUND);
  CHECK_INT(exp_last_error(sdk)->http_status, 404);
  CHECK(exp_last_error(sdk)->api_code != NULL);
  CHECK(strncmp(exp_last_error(sdk)->message, "HTTP 404", 8) == 0);

  q = cJSON_Parse("{\"timeout\":\"soon\"}");
  CHECK_INT(
      exp_post_wait(sdk, "/api/networks/current/broadcasts", q, NULL, &res),
      EXP_EAPI);
  CHECK_INT(exp_last_error(sdk)->http_status, 400);
  CHECK_STR(exp_last_error(sdk)->api_code, "network.timeout");
  cJSON_Delete(q);

  /* A 2xx that is not JSON. */
  CHECK_INT(exp_get_wait(sdk,
                         "/api/delivery/scala/folder/"
                         "notes%20%26%20%C3%BCn%C3%AFcode%20(1).txt",
                         NULL, &res),
            EXP_EPROTOCOL);
  CHECK(res == NULL);

  /* Refused before any request. */
  CHECK_INT(exp_request(sdk, &bad, on_json, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_get(sdk, "api/devices", NULL, on_json, NULL), EXP_EOPTIONS);
  q = cJSON_Parse("{\"a\":{\"b\":1}}");
  CHECK_INT(exp_get(sdk, "/api/devices", q, on_json, NULL), EXP_EOPTIONS);
  CHECK(strncmp(exp_last_error(sdk)->message, "query: ", 7) == 0);
  cJSON_Delete(q);

  /* A query goes out encoded. */
  q = cJSON_Parse("{\"name\":\"Test Location\",\"limit\":5}");
  CHECK_INT(exp_get_wait(sdk, "/api/locations", q, &res), 0);
  CHECK_INT(cJSON_GetObjectItem(res, "total")->valueint, 1);
  cJSON_Delete(res);
  cJSON_Delete(q);
  exp_stop(sdk);
}

/* exp_last_error is the latest failure: nothing before one, kept by later
 * successes, forgotten by exp_clear_error. */
static void test_last_error(void) {
  exp_sdk *sdk = make(NULL, srv.origin, DEVICE);

  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  CHECK_INT(exp_get_wait(sdk, "/api/devices/test-uuid", NULL, NULL), 0);
  CHECK_INT(exp_last_error(sdk)->code, EXP_OK);
  CHECK_STR(exp_last_error(sdk)->message, "");
  CHECK_INT(exp_get_wait(sdk, "/api/devices/nobody", NULL, NULL),
            EXP_ENOTFOUND);
  CHECK_INT(exp_get_wait(sdk, "/api/devices/test-uuid", NULL, NULL), 0);
  CHECK_INT(exp_last_error(sdk)->code, EXP_ENOTFOUND);
  CHECK_INT(exp_last_error(sdk)->http_status, 404);
  exp_clear_error(sdk);
  CHECK_INT(exp_last_error(sdk)->code, EXP_OK);
  CHECK_INT(exp_last_error(sdk)->http_status, 0);
  CHECK(exp_last_error(sdk)->api_code == NULL);
  CHECK_STR(exp_last_error(sdk)->message, "");
  exp_clear_error(NULL);
  exp_stop(sdk);
}

static void test_pairing(void) {
  uv_loop_t loop;
  exp_sdk *sdk;
  const char *code;

  uv_loop_init(&loop);
  sdk = make(&loop, srv.origin, PAIRING);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(
      cJSON_GetObjectItem(exp_auth(sdk), "identity"), "isPairing")));
  code = identity_str(sdk, "pairingCode");
  CHECK(code != NULL && strlen(code) == 6);
  CHECK_INT(exp_get(sdk, "/api/devices", NULL, on_json, NULL), EXP_EPAIRING);
  CHECK_INT(exp_get_wait(sdk, "/api/devices", NULL, NULL), EXP_EPAIRING);
  finish(sdk, &loop);
}

/* The pairing helpers: the device's start completes once it can receive
 * its credentials (no moment to wait for), the user pairs it by its code,
 * and it logs in as the paired device. */
static void test_pair_device(void) {
  uv_loop_t loop;
  exp_sdk *user, *device;
  counter paired = {0};
  cJSON *doc = NULL;
  char code[16];

  uv_loop_init(&loop);
  user = make(&loop, srv.origin, USER);
  CHECK_INT(exp_start_wait(user, 10000), 0);
  device = make(&loop, srv.origin, PAIRING);
  CHECK_INT(exp_set_int(device, EXP_OPT_ENABLE_NETWORK, 1), 0);
  exp_on(device, EXP_EVENT_PAIRED, on_event, &paired);
  CHECK(exp_pairing_code(device) == NULL);
  CHECK_INT(exp_start_wait(device, 10000), 0);
  CHECK(exp_pairing_code(device) != NULL);
  snprintf(code, sizeof(code), "%.3s-%s", exp_pairing_code(device),
           exp_pairing_code(device) + 3);
  CHECK(exp_pairing_code(user) == NULL);

  CHECK_INT(exp_pair_device_wait(user, "NOCODE", NULL, &doc), EXP_ENOTFOUND);
  CHECK(doc == NULL);
  CHECK_INT(exp_pair_device_wait(user, NULL, NULL, &doc), EXP_EOPTIONS);
  CHECK_INT(exp_pair_device_wait(device, code, NULL, &doc), EXP_EPAIRING);
  CHECK_INT(exp_pair_device_wait(user, code, NULL, &doc), 0);
  while (paired.n == 0 || exp_pairing_code(device) != NULL)
    CHECK_INT(exp_sleep(device, 20), 0);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(paired.result, "uuid")),
            cJSON_GetStringValue(cJSON_GetObjectItem(doc, "uuid")));
  CHECK_STR(identity_str(device, "uuid"),
            cJSON_GetStringValue(cJSON_GetObjectItem(doc, "uuid")));
  CHECK_INT(exp_get_wait(device, "/api/devices", NULL, NULL), 0);
  cJSON_Delete(doc);
  cJSON_Delete(paired.result);
  exp_stop(device);
  finish(user, &loop);
}

/* Options in one call, by key. */
static void test_set_options(void) {
  exp_sdk *sdk = exp_new(NULL);

  CHECK_INT(exp_set_options(sdk, "host", srv.origin, "uuid", "test-uuid",
                            "secret", "test-secret", "enable_network", "0",
                            "request_timeout_ms", "5000", NULL),
            0);
  CHECK_INT(
      exp_set_options(sdk, "uuid", "x", "timeout", "1", "secret", "y", NULL),
      EXP_EOPTIONS);
  CHECK_STR(exp_last_error(sdk)->message, "unknown option \"timeout\"");
  CHECK_INT(
      exp_set_options(sdk, "uuid", "test-uuid", "tls_verify", "yes", NULL),
      EXP_EOPTIONS);
  CHECK_INT(exp_set_options(sdk, NULL), 0);
  CHECK_INT(exp_set_options(NULL, "uuid", "x", NULL), EXP_EOPTIONS);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  CHECK_STR(identity_str(sdk, "uuid"), "test-uuid");
  CHECK_INT(exp_set_options(sdk, "uuid", "x", NULL), EXP_ERUNTIME);
  exp_stop(sdk);
}

/* Starts a device handle with a saved payload (NULL: none); the token it
 * got, copied to token. */
static int start_saved(const char *saved, const char *uuid, char *token) {
  exp_sdk *sdk = make(NULL, srv.origin, DEVICE);
  const cJSON *t;
  int r;
  if (uuid != NULL)
    exp_set_str(sdk, EXP_OPT_UUID, uuid);
  exp_set_str(sdk, EXP_OPT_AUTH, saved);
  r = exp_start_wait(sdk, 10000);
  t = cJSON_GetObjectItem(exp_auth(sdk), "token");
  snprintf(token, 1024, "%s", cJSON_IsString(t) ? t->valuestring : "");
  if (r == 0)
    r = exp_get_wait(sdk, "/api/devices/test-uuid", NULL, NULL);
  exp_stop(sdk);
  return r;
}

/* A device that restarts uses its saved payload while it is valid (the
 * same token: no login), and logs in when it is not. */
static void test_saved_auth(void) {
  static char token[1024], other[1024];
  exp_sdk *sdk = make(NULL, srv.origin, DEVICE);
  cJSON *p;
  char *saved, *text;

  CHECK(exp_auth_json(sdk) == NULL);
  CHECK(exp_auth_json(NULL) == NULL);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  saved = exp_auth_json(sdk);
  CHECK(saved != NULL);
  exp_stop(sdk);
  p = cJSON_Parse(saved);
  snprintf(other, sizeof(other), "%s",
           cJSON_GetStringValue(cJSON_GetObjectItem(p, "token")));

  CHECK_INT(start_saved(saved, NULL, token), 0);
  CHECK_STR(token, other);
  /* Expired, or another device's: a login, a new token. */
  cJSON_ReplaceItemInObject(p, "expiration", cJSON_CreateNumber(1000));
  text = exp_json_string(p);
  CHECK_INT(start_saved(text, NULL, token), 0);
  CHECK(strcmp(token, other) != 0);
  exp_free(text);
  CHECK_INT(start_saved(saved, "test-device-2", token), EXP_EAUTH);
  CHECK(token[0] == '\0');
  /* Not an auth payload: the start refuses it, naming the option. */
  CHECK_INT(start_saved("{\"token\": 5}", NULL, token), EXP_EOPTIONS);
  /* Revoked meanwhile: the first call's 401 renews it by itself. */
  CHECK_INT(refserver_post(&srv, "/_test/revoke"), 200);
  CHECK_INT(start_saved(saved, NULL, token), 0);
  cJSON_Delete(p);
  exp_free(saved);
}

static void try_blocking(exp_sdk *sdk) {
  cJSON *res = NULL;
  CHECK_INT(exp_get_wait(sdk, "/api/devices", NULL, &res), EXP_EDEADLOCK);
  CHECK(res == NULL);
  CHECK_INT(exp_sleep(sdk, 10), EXP_EDEADLOCK);
  CHECK_INT(exp_start_wait(sdk, 10), EXP_EDEADLOCK);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EDEADLOCK);
}

static void blocking_in_callback(exp_sdk *sdk, int status, cJSON *result,
                                 void *ud) {
  on_json(sdk, status, result, ud);
  try_blocking(sdk);
}

static void blocking_in_handler(exp_sdk *sdk, exp_event ev, const cJSON *data,
                                void *ud) {
  on_event(sdk, ev, data, ud);
  try_blocking(sdk);
}

static void test_deadlock(void) {
  exp_sdk *sdk = make(NULL, srv.origin, DEVICE);
  counter c = {0}, u = {0};

  exp_on(sdk, EXP_EVENT_UPDATE, blocking_in_handler, &u);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  CHECK_INT(u.n, 1);
  CHECK_INT(
      exp_get(sdk, "/api/devices/test-uuid", NULL, blocking_in_callback, &c),
      0);
  while (c.n == 0)
    CHECK_INT(exp_sleep(sdk, 10), 0);
  CHECK_INT(c.status, 0);
  cJSON_Delete(c.result);
  cJSON_Delete(u.result);
  exp_stop(sdk);
}

/* ---------------------------------------------------------- 401 storm */

/* A broadcaster on the shared loop: one broadcast per tick. */
typedef struct storm {
  exp_sdk *b;
  exp_channel *ch;
  uv_timer_t tick;
  int sent, received;
} storm;

static void on_storm_sent(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  EXP_UNUSED(sdk);
  cJSON_Delete(result);
  if (status == 0)
    ((storm *)ud)->sent++;
}

static void on_storm_tick(uv_timer_t *t) {
  storm *st = t->data;
  exp_broadcast(st->ch, "tick", NULL, 0, on_storm_sent, st);
}

static void on_storm_message(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                             void *ud) {
  EXP_UNUSED(sdk);
  EXP_UNUSED(l);
  exp_message_free(msg);
  ((storm *)ud)->received++;
}

/* A server that answers 401 to every GET while the socket is fine (issue
 * 8, item 2): each call used to refresh the token, and each refresh to
 * reconnect the socket (59 calls, 59 reconnects in 6 s, the listener
 * received nothing).  Now one refresh is in flight, then at most one per
 * backoff window (5 s, doubling), and the calls fail with the server's
 * 401 meanwhile. */
static void test_401_storm(void) {
  refserver s;
  uv_loop_t loop;
  exp_sdk *a;
  exp_channel *ch;
  exp_listener *l = NULL;
  counter updates = {0}, offline = {0};
  storm st = {0};
  int calls = 0, refused = 0, updates0;
  uint64_t t0, elapsed;

  if (refserver_start(&s, node_bin, main_js, NULL) != 0) {
    CHECK(!"server");
    return;
  }
  uv_loop_init(&loop);
  a = make(&loop, s.origin, DEVICE);
  CHECK_INT(exp_set_int(a, EXP_OPT_ENABLE_NETWORK, 1), 0);
  exp_on(a, EXP_EVENT_UPDATE, on_event, &updates);
  exp_on(a, EXP_EVENT_OFFLINE, on_event, &offline);
  CHECK_INT(exp_start_wait(a, 10000), 0);
  st.b = make(&loop, s.origin, USER);
  CHECK_INT(exp_start_wait(st.b, 10000), 0);
  ch = exp_get_channel(a, "storm", 0);
  st.ch = exp_get_channel(st.b, "storm", 0);
  CHECK_INT(exp_listen_wait(ch, "tick", NULL, on_storm_message, &st, &l), 0);
  uv_timer_init(&loop, &st.tick);
  st.tick.data = &st;
  uv_timer_start(&st.tick, on_storm_tick, 100, 100);

  CHECK_INT(refserver_post(&s, "/_test/refuse?method=GET&status=401"), 200);
  updates0 = updates.n;
  t0 = now_ms();
  while ((elapsed = now_ms() - t0) < 6000) {
    int r = exp_get_wait(a, "/api/devices/test-uuid", NULL, NULL);
    calls++;
    if (r == EXP_EAPI && exp_last_error(a)->http_status == 401) {
      refused++;
      CHECK_STR(exp_last_error(a)->api_code, "auth.invalid");
    } else {
      CHECK_INT(r, EXP_EAPI);
    }
  }
  CHECK_INT(refserver_post(&s, "/_test/refuse?status=0"), 200);
  CHECK_INT(exp_sleep(a, 300), 0);
  printf("  401 storm: %d calls (%d refused) in %llu ms: %d refreshes, "
         "%d reconnects; %d of %d broadcasts received\n",
         calls, refused, (unsigned long long)elapsed, updates.n - updates0,
         offline.n, st.received, st.sent);
  CHECK_INT(refused, calls);
  CHECK(updates.n - updates0 <= 1 + (int)(elapsed / 5000));
  CHECK(st.received > 0);
  CHECK_INT(exp_get_wait(a, "/api/devices/test-uuid", NULL, NULL), 0);

  cJSON_Delete(updates.result);
  uv_close((uv_handle_t *)&st.tick, NULL);
  exp_listener_cancel(l);
  exp_channel_free(ch);
  exp_channel_free(st.ch);
  exp_stop(st.b);
  finish(a, &loop);
  refserver_stop(&s);
}

/* ------------------------------------------------ the application's loop */

typedef struct app {
  uv_timer_t tick;
  int ticks;
  int left; /* calls still to chain */
  int ok;
} app;

static void on_tick(uv_timer_t *t) {
  ((app *)t->data)->ticks++;
}

static void chain(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  app *a = ud;
  cJSON_Delete(result);
  if (status == 0)
    a->ok++;
  if (--a->left > 0) {
    CHECK_INT(exp_get(sdk, "/api/devices/test-uuid", NULL, chain, a), 0);
    return;
  }
  exp_stop(sdk);
  uv_close((uv_handle_t *)&a->tick, NULL);
}

static void app_started(exp_sdk *sdk, int status, void *ud) {
  CHECK_INT(status, 0);
  CHECK_INT(exp_get(sdk, "/api/devices/test-uuid", NULL, chain, ud), 0);
}

static void test_app_loop(void) {
  uv_loop_t loop;
  app a = {.left = 20};
  exp_sdk *sdk;

  uv_loop_init(&loop);
  uv_timer_init(&loop, &a.tick);
  a.tick.data = &a;
  uv_timer_start(&a.tick, on_tick, 1, 1);
  sdk = make(&loop, srv.origin, CONSUMER);
  CHECK(exp_loop(sdk) == &loop);
  CHECK_INT(exp_start(sdk, app_started, &a), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(a.ok, 20);
  CHECK(a.ticks > 0);
  CHECK_INT(uv_loop_close(&loop), 0);
}

/* ----------------------------------------------------- deferred functions */

typedef struct later_log {
  char order[32]; /* the tags of the calls, in order */
  int status[8];  /* the status of each */
  int n;
  int refused;  /* calls in which a blocking call was refused */
  int in_defer; /* set while exp_sdk_defer runs */
  int stop_at;  /* the call that stops the SDK, 1-based; 0: none */
  exp_sdk *sdk;
} later_log;

typedef struct later_item {
  later_log *log;
  char tag;
  int again; /* defers another from inside */
} later_item;

static void on_later(exp_sdk *sdk, int status, void *arg) {
  later_item *it = arg;
  later_log *log = it->log;
  CHECK(sdk == log->sdk);
  CHECK(!log->in_defer);
  CHECK(log->n < 8);
  if (log->n >= 8)
    return;
  log->order[log->n] = it->tag;
  log->status[log->n] = status;
  log->n++;
  if (status == EXP_ECANCELLED)
    CHECK_INT(exp_last_error(sdk)->code, EXP_ECANCELLED);
  if (exp_sleep(sdk, 0) == EXP_EDEADLOCK)
    log->refused++;
  if (status == 0 && it->again) {
    static later_item next = {NULL, 'x', 0};
    next.log = log;
    CHECK_INT(exp_sdk_defer(sdk, on_later, &next), 0);
  }
  if (log->n == log->stop_at)
    exp_stop(sdk);
}

/* Later, in order, inside the SDK, once each; what a deferred function
 * defers waits for the next pass; cancelled by the stop. */
static void test_defer(void) {
  exp_sdk *sdk = make(NULL, srv.origin, DEVICE);
  later_log log = {.sdk = sdk};
  later_item a = {&log, 'a', 1}, b = {&log, 'b', 0}, c = {&log, 'c', 0};

  CHECK_INT(exp_sdk_defer(sdk, on_later, &a), EXP_ERUNTIME);
  CHECK_INT(exp_last_error(sdk)->code, EXP_ERUNTIME);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  log.in_defer = 1;
  CHECK_INT(exp_sdk_defer(sdk, on_later, &a), 0);
  CHECK_INT(exp_sdk_defer(sdk, on_later, &b), 0);
  log.in_defer = 0;
  CHECK_INT(log.n, 0);
  CHECK_INT(exp_sleep(sdk, 0), 0);
  CHECK_STR(log.order, "ab");
  CHECK_INT(exp_sleep(sdk, 0), 0);
  CHECK_STR(log.order, "abx");
  CHECK_INT(log.status[0] | log.status[1] | log.status[2], 0);
  CHECK_INT(log.refused, 3);
  /* Nothing pending: the loop may block again. */
  CHECK(!uv_is_active((uv_handle_t *)&sdk->later_idle));
  CHECK_INT(exp_sdk_defer(sdk, on_later, &b), 0);
  CHECK_INT(exp_sdk_defer(sdk, on_later, &c), 0);
  exp_stop(sdk);
  CHECK_STR(log.order, "abxbc");
  CHECK_INT(log.status[3], EXP_ECANCELLED);
  CHECK_INT(log.status[4], EXP_ECANCELLED);
}

/* On the application's loop: one stops the SDK, the next is cancelled, and
 * the loop closes. */
static void defer_started(exp_sdk *sdk, int status, void *ud) {
  later_item *items = ud;
  CHECK_INT(status, 0);
  for (int i = 0; i < 3; i++)
    CHECK_INT(exp_sdk_defer(sdk, on_later, &items[i]), 0);
}

static void test_defer_app_loop(void) {
  uv_loop_t loop;
  later_log log = {.stop_at = 2};
  later_item items[3] = {{&log, 'a', 0}, {&log, 'b', 1}, {&log, 'c', 0}};

  uv_loop_init(&loop);
  log.sdk = make(&loop, srv.origin, USER);
  CHECK_INT(exp_start(log.sdk, defer_started, items), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  /* b deferred x, then stopped the SDK: c and x are cancelled. */
  CHECK_STR(log.order, "abcx");
  CHECK_INT(log.status[0] | log.status[1], 0);
  CHECK_INT(log.status[2], EXP_ECANCELLED);
  CHECK_INT(log.status[3], EXP_ECANCELLED);
  CHECK_INT(uv_loop_close(&loop), 0);
}

/* --------------------------------------------------- the network's hooks */

typedef struct fake_net {
  int auths, stops;
} fake_net;

static void net_auth(void *net, const cJSON *auth) {
  CHECK(cJSON_IsString(cJSON_GetObjectItem(auth, "token")));
  ((fake_net *)net)->auths++;
}
static void net_stop(void *net) {
  ((fake_net *)net)->stops++;
}

static void test_network_hooks(void) {
  static const exp_layer_ops ops = {net_auth, NULL, net_stop, 1};
  uv_loop_t loop;
  fake_net net = {0, 0};
  counter start = {0}, online = {0}, offline = {0};
  exp_sdk *sdk;

  uv_loop_init(&loop);
  sdk = make(&loop, srv.origin, DEVICE);
  CHECK_INT(exp_sdk_attach(sdk, &ops, &net), 0);
  exp_on(sdk, EXP_EVENT_ONLINE, on_event, &online);
  exp_on(sdk, EXP_EVENT_OFFLINE, on_event, &offline);
  CHECK_INT(exp_start(sdk, on_done, &start), 0);
  while (net.auths == 0)
    uv_run(&loop, UV_RUN_ONCE);
  CHECK_INT(exp_sleep(sdk, 50), 0);
  CHECK_INT(start.n, 0); /* logged in, not online yet */
  {
    size_t host;
    CHECK_STR(exp_sdk_network_origin(sdk, &host), srv.origin);
  }
  exp_sdk_set_online(sdk, 1);
  CHECK_INT(start.n, 1);
  CHECK_INT(start.status, 0);
  CHECK_INT(online.n, 1);
  exp_sdk_set_online(sdk, 1);
  CHECK_INT(online.n, 1);
  exp_sdk_set_online(sdk, 0);
  CHECK_INT(offline.n, 1);
  CHECK_INT(start.n, 1);
  CHECK_INT(net.stops, 0);
  finish(sdk, &loop);
  CHECK_INT(net.stops, 1);
  CHECK_INT(net.auths, 1);
}

/* ------------------------------------------------------------------ TLS */

static char tls_dir[64];

static void write_file(const char *name, const char *text, char *path) {
  FILE *f;
  snprintf(path, 128, "%s/%s", tls_dir, name);
  f = fopen(path, "w");
  CHECK(f != NULL);
  if (f != NULL) {
    fputs(text, f);
    fclose(f);
  }
}

/* WARN lines saying the checks are off. */
static int unverified_warnings;

static void on_tls_log(exp_log_level level, const char *msg, void *ud) {
  (void)ud;
  if (level == EXP_LOG_WARN && strstr(msg, "tls_verify is 0") != NULL)
    unverified_warnings++;
}

/* Starts a device on origin and makes a REST call; with verify 0, one WARN
 * line must say that the checks are off, else none. */
static int tls_start(const char *origin, const char *ca, int verify) {
  exp_sdk *sdk = make(NULL, origin, DEVICE);
  int r;
  unverified_warnings = 0;
  exp_set_log(sdk, EXP_LOG_WARN, on_tls_log, NULL);
  if (ca != NULL)
    exp_set_str(sdk, EXP_OPT_CA_FILE, ca);
  exp_set_int(sdk, EXP_OPT_TLS_VERIFY, verify);
  r = exp_start_wait(sdk, 10000);
  if (r == 0)
    r = exp_get_wait(sdk, "/api/devices/test-uuid", NULL, NULL);
  exp_stop(sdk);
  CHECK_INT(unverified_warnings, verify ? 0 : 1);
  return r;
}

static void test_tls(void) {
  char ca[128], other[128], cert[128], key[128], wcert[128], wkey[128];
  const char *good[] = {"--tls-cert", cert, "--tls-key", key, NULL};
  const char *wrong[] = {"--tls-cert", wcert, "--tls-key", wkey, NULL};
  refserver s;

  strcpy(tls_dir, "/tmp/exp-sdk-tls-XXXXXX");
  if (mkdtemp(tls_dir) == NULL) {
    CHECK(!"mkdtemp");
    return;
  }
  write_file("ca.pem", TEST_CA_PEM, ca);
  write_file("other.pem", TEST_OTHER_CA_PEM, other);
  write_file("cert.pem", TEST_SERVER_CERT_PEM, cert);
  write_file("key.pem", TEST_SERVER_KEY_PEM, key);
  write_file("wcert.pem", TEST_WRONG_CERT_PEM, wcert);
  write_file("wkey.pem", TEST_WRONG_KEY_PEM, wkey);

  if (refserver_start(&s, node_bin, main_js, good) == 0) {
    CHECK(strncmp(s.origin, "https://", 8) == 0);
    CHECK_INT(tls_start(s.origin, ca, 1), 0);
    CHECK_INT(tls_start(s.origin, NULL, 1), EXP_ETLS);  /* system CAs */
    CHECK_INT(tls_start(s.origin, other, 1), EXP_ETLS); /* another CA */
    CHECK_INT(tls_start(s.origin, NULL, 0), 0);
    refserver_stop(&s);
  } else {
    CHECK(!"tls server");
  }
  if (refserver_start(&s, node_bin, main_js, wrong) == 0) {
    CHECK_INT(tls_start(s.origin, ca, 1), EXP_ETLS); /* wrong.example */
    CHECK_INT(tls_start(s.origin, ca, 0), 0);
    refserver_stop(&s);
  } else {
    CHECK(!"tls server");
  }
  unlink(ca);
  unlink(other);
  unlink(cert);
  unlink(key);
  unlink(wcert);
  unlink(wkey);
  rmdir(tls_dir);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s NODE MAIN_JS\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  node_bin = argv[1];
  main_js = argv[2];
  if (refserver_start(&srv, node_bin, main_js, NULL) != 0) {
    fprintf(stderr, "the reference server did not start\n");
    return 1;
  }
  RUN(test_credentials);
  RUN(test_bad_credentials);
  RUN(test_options_errors);
  RUN(test_double_start);
  RUN(test_stop_in_flight);
  RUN(test_stop_during_wait);
  RUN(test_deadline);
  RUN(test_api_errors);
  RUN(test_last_error);
  RUN(test_pairing);
  RUN(test_pair_device);
  RUN(test_set_options);
  RUN(test_saved_auth);
  RUN(test_deadlock);
  RUN(test_app_loop);
  RUN(test_defer);
  RUN(test_defer_app_loop);
  RUN(test_network_hooks);
  RUN(test_tls);
  RUN(test_revoke);
  RUN(test_heads_in_flight);
  RUN(test_401_storm);
  RUN(test_token_ttl);
  refserver_stop(&srv);
  return t_done();
}
