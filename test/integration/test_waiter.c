/* The blocking twins' shared rules against the reference server: timeout 0
 * takes what already arrived, callback-style listeners from a blocking
 * script, the deadlock guard across handles on one loop.
 * Usage: test_waiter NODE test/server/main.js */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "refserver.h"
#include "testlib.h"

static const char *node_bin, *main_js;
static refserver srv;

/* ------------------------------------------------------------- helpers */

static void on_log(exp_log_level level, const char *msg, void *ud) {
  EXP_UNUSED(ud);
  if (getenv("EXP_TEST_VERBOSE") != NULL)
    fprintf(stderr, "  log %d: %s\n", (int)level, msg);
}

/* Started, online (network), on loop (NULL: a private one). */
static exp_sdk *make(uv_loop_t *loop, cred c, int network) {
  exp_sdk *sdk = exp_new(loop);
  CHECK(sdk != NULL);
  exp_set_log(sdk, EXP_LOG_DEBUG, on_log, NULL);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, srv.origin), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, network), 0);
  refserver_credentials(sdk, c);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  return sdk;
}

static exp_listener *listen_q(exp_sdk *sdk, const char *channel,
                              const char *name) {
  exp_channel *ch = exp_get_channel(sdk, channel, 0);
  exp_listener *l = NULL;
  CHECK(ch != NULL);
  CHECK_INT(exp_listen_wait(ch, name, NULL, NULL, NULL, &l), 0);
  exp_channel_free(ch);
  return l;
}

static void broadcast(exp_sdk *sdk, const char *channel, const char *name,
                      int n) {
  exp_channel *ch = exp_get_channel(sdk, channel, 0);
  cJSON *p = cJSON_CreateObject();
  cJSON_AddNumberToObject(p, "n", n);
  CHECK_INT(exp_broadcast_wait(ch, name, p, 0, NULL), 0);
  cJSON_Delete(p);
  exp_channel_free(ch);
}

static int payload_n(const exp_message *m) {
  const cJSON *v = cJSON_GetObjectItem(exp_message_payload(m), "n");
  return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* ------------------------------------------------------------ timeout 0 */

/* A broadcast that already arrived in the socket is returned by wait(0)
 * (issue 8, item 5: it used to time out, the broadcast queued as a side
 * effect for the next call).  B listens too and receives it first: the
 * server has then written it to A's socket as well, and A's loop has not
 * run since. */
static void test_wait_zero_takes_what_arrived(void) {
  exp_sdk *a = make(NULL, DEVICE, 1), *b = make(NULL, USER, 1);
  exp_listener *la = listen_q(a, "w0", "e"), *lb = listen_q(b, "w0", "e");
  exp_message *m = NULL;

  CHECK_INT(exp_listener_wait(la, 0, &m), EXP_ETIMEOUT);
  CHECK(m == NULL);
  broadcast(b, "w0", "e", 7);
  CHECK_INT(exp_listener_wait(lb, 10000, &m), 0);
  exp_message_free(m);
  m = NULL;
  CHECK_INT(exp_listener_queued(la), 0);
  CHECK_INT(exp_listener_wait(la, 0, &m), 0);
  CHECK(m != NULL);
  CHECK_INT(m != NULL ? payload_n(m) : -1, 7);
  CHECK_INT((int)cJSON_GetNumberValue(exp_message_get(m, "n")), 7);
  CHECK(exp_message_get(m, "") == exp_message_payload(m));
  CHECK(exp_message_get(m, "n.x") == NULL);
  CHECK(exp_message_get(NULL, "n") == NULL);
  exp_message_free(m);
  CHECK_INT(exp_listener_wait(la, 0, &m), EXP_ETIMEOUT);
  CHECK_INT(exp_last_error(a)->code, EXP_ETIMEOUT);
  exp_listener_cancel(la);
  exp_listener_cancel(lb);
  exp_stop(a);
  exp_stop(b);
}

/* ------------------------------------------- callback style, blocking */

typedef struct got {
  int n;
  int last;
} got;

static void on_message(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                       void *ud) {
  got *g = ud;
  EXP_UNUSED(sdk);
  EXP_UNUSED(l);
  g->n++;
  g->last = payload_n(msg);
  exp_message_free(msg);
}

/* exp_listen_wait makes a callback-style listener; exp_sleep(0) hands it
 * what already arrived; its queue calls are refused. */
static void test_listen_wait_callback(void) {
  exp_sdk *a = make(NULL, DEVICE, 1), *b = make(NULL, USER, 1);
  exp_channel *ch = exp_get_channel(a, "cbw", 0);
  exp_listener *la = NULL, *lb = listen_q(b, "cbw", "e");
  exp_message *m = NULL;
  got g = {0, 0};

  CHECK_INT(exp_listen_wait(ch, "e", NULL, on_message, &g, NULL), EXP_EOPTIONS);
  CHECK_INT(exp_listen_wait(ch, "e", NULL, on_message, &g, &la), 0);
  CHECK(la != NULL);
  CHECK_INT(exp_listener_wait(la, 0, &m), EXP_ERUNTIME);
  broadcast(b, "cbw", "e", 3);
  CHECK_INT(exp_listener_wait(lb, 10000, &m), 0);
  exp_message_free(m);
  CHECK_INT(g.n, 0);
  CHECK_INT(exp_sleep(a, 0), 0);
  CHECK_INT(g.n, 1);
  CHECK_INT(g.last, 3);
  exp_listener_cancel(la);
  exp_listener_cancel(lb);
  exp_channel_free(ch);
  exp_stop(a);
  exp_stop(b);
}

/* ------------------------------------------------- deadlock, shared loop */

/* A callback of one handle calls the blocking twins of the other. */
typedef struct cross {
  exp_sdk *other;
  int n;
  int get, sleep, start;
} cross;

static void call_other(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  cross *c = ud;
  cJSON *r = NULL;
  EXP_UNUSED(sdk);
  CHECK_INT(status, 0);
  cJSON_Delete(result);
  c->get = exp_get_wait(c->other, "/api/devices/test-uuid", NULL, &r);
  CHECK(r == NULL);
  cJSON_Delete(r);
  c->sleep = exp_sleep(c->other, 0);
  c->n++;
}

static void on_update(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  cross *c = ud;
  EXP_UNUSED(sdk);
  EXP_UNUSED(ev);
  EXP_UNUSED(data);
  c->start = exp_sleep(c->other, 10);
  c->n++;
}

/* Two handles on one application loop: inside either's callback, the
 * other's _wait and exp_sleep refuse with EXP_EDEADLOCK instead of
 * running uv_run again (issue 10: they returned EXP_OK after re-entering
 * it).  Run by the application's loop, then by a _wait of the first. */
static void test_deadlock_across_handles(void) {
  uv_loop_t loop;
  exp_sdk *a, *b;
  cross ab = {0}, ba = {0}, up = {0};

  uv_loop_init(&loop);
  a = make(&loop, DEVICE, 0);
  b = make(&loop, USER, 0);
  ab.other = b;
  ba.other = a;
  CHECK_INT(exp_get(a, "/api/devices/test-uuid", NULL, call_other, &ab), 0);
  while (ab.n == 0)
    uv_run(&loop, UV_RUN_ONCE);
  CHECK_INT(ab.get, EXP_EDEADLOCK);
  CHECK_INT(ab.sleep, EXP_EDEADLOCK);
  CHECK_INT(exp_last_error(b)->code, EXP_EDEADLOCK);
  CHECK_INT(exp_get(b, "/api/devices/test-uuid", NULL, call_other, &ba), 0);
  while (ba.n == 0)
    CHECK_INT(exp_sleep(b, 10), 0);
  CHECK_INT(ba.get, EXP_EDEADLOCK);
  CHECK_INT(ba.sleep, EXP_EDEADLOCK);
  /* Event handlers are SDK callbacks too; so is a third handle's login. */
  {
    exp_sdk *c = exp_new(&loop);
    up.other = a;
    exp_set_str(c, EXP_OPT_HOST, srv.origin);
    exp_set_int(c, EXP_OPT_ENABLE_NETWORK, 0);
    refserver_credentials(c, DEVICE);
    exp_on(c, EXP_EVENT_UPDATE, on_update, &up);
    CHECK_INT(exp_start(c, NULL, NULL), 0);
    while (up.n == 0)
      uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(up.start, EXP_EDEADLOCK);
    exp_stop(c);
  }
  /* Outside every callback both may block again. */
  CHECK_INT(exp_get_wait(b, "/api/devices/test-uuid", NULL, NULL), 0);
  CHECK_INT(exp_sleep(a, 0), 0);
  exp_stop(a);
  exp_stop(b);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);
}

/* A handle's private loop is its own: another handle cannot join it. */
static void test_private_loop_is_private(void) {
  exp_sdk *a = exp_new(NULL);
  CHECK(a != NULL);
  CHECK(exp_new(exp_loop(a)) == NULL);
  exp_stop(a);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s NODE MAIN_JS\n", argv[0]);
    return 2;
  }
  node_bin = argv[1];
  main_js = argv[2];
  if (refserver_start(&srv, node_bin, main_js, NULL) != 0) {
    fprintf(stderr, "the reference server did not start\n");
    return 1;
  }
  RUN(test_wait_zero_takes_what_arrived);
  RUN(test_listen_wait_callback);
  RUN(test_deadlock_across_handles);
  RUN(test_private_loop_is_private);
  refserver_stop(&srv);
  return t_done();
}
