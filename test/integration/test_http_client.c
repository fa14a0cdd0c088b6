/* The HTTP client against a Node HTTP/HTTPS peer (peers/http_peer.js).
 * Usage: test_http_client NODE PEER_JS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "common.h"
#include "http_client.h"
#include "testlib.h"
#include "tls_certs.h"

/* ------------------------------------------------------------- the peer */

static uv_loop_t peer_loop;
static uv_process_t peer;
static uv_pipe_t peer_in, peer_out;
static char peer_line[256];
static size_t peer_line_len;
static int peer_exited;
static int http_port, https_port, wrong_port;
static char dir[64], ca_file[96], other_ca_file[96];

static void on_peer_exit(uv_process_t *p, int64_t status, int sig) {
  EXP_UNUSED(p);
  EXP_UNUSED(status);
  EXP_UNUSED(sig);
  peer_exited = 1;
}

static void on_peer_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  EXP_UNUSED(h);
  EXP_UNUSED(s);
  *b = uv_buf_init(peer_line + peer_line_len,
                   (unsigned)(sizeof(peer_line) - 1 - peer_line_len));
}

static void on_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  EXP_UNUSED(b);
  if (n < 0) {
    uv_read_stop(s);
    return;
  }
  peer_line_len += (size_t)n;
  peer_line[peer_line_len] = '\0';
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f != NULL) {
    fputs(text, f);
    fclose(f);
  }
}

static int start_peer(const char *node, const char *script) {
  char cert[96], key[96], wcert[96], wkey[96];
  char *args[] = {(char *)node, (char *)script, cert, key, wcert, wkey, NULL};
  uv_stdio_container_t stdio[3];
  uv_process_options_t opt;
  cJSON *ports;

  strcpy(dir, "/tmp/exp-http-test-XXXXXX");
  if (mkdtemp(dir) == NULL)
    return -1;
  snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", dir);
  snprintf(other_ca_file, sizeof(other_ca_file), "%s/other.pem", dir);
  snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
  snprintf(key, sizeof(key), "%s/key.pem", dir);
  snprintf(wcert, sizeof(wcert), "%s/wcert.pem", dir);
  snprintf(wkey, sizeof(wkey), "%s/wkey.pem", dir);
  write_file(ca_file, TEST_CA_PEM);
  write_file(other_ca_file, TEST_OTHER_CA_PEM);
  write_file(cert, TEST_SERVER_CERT_PEM);
  write_file(key, TEST_SERVER_KEY_PEM);
  write_file(wcert, TEST_WRONG_CERT_PEM);
  write_file(wkey, TEST_WRONG_KEY_PEM);

  uv_loop_init(&peer_loop);
  uv_pipe_init(&peer_loop, &peer_in, 0);
  uv_pipe_init(&peer_loop, &peer_out, 0);
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)&peer_in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&peer_out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  memset(&opt, 0, sizeof(opt));
  opt.file = node;
  opt.args = args;
  opt.exit_cb = on_peer_exit;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  if (uv_spawn(&peer_loop, &peer, &opt) != 0)
    return -1;
  uv_read_start((uv_stream_t *)&peer_out, on_peer_alloc, on_peer_read);
  while (strchr(peer_line, '\n') == NULL && !peer_exited &&
         peer_line_len < sizeof(peer_line) - 1)
    uv_run(&peer_loop, UV_RUN_ONCE);
  uv_read_stop((uv_stream_t *)&peer_out);
  ports = cJSON_Parse(peer_line);
  http_port = cJSON_GetObjectItem(ports, "http")
                  ? cJSON_GetObjectItem(ports, "http")->valueint
                  : 0;
  https_port = cJSON_GetObjectItem(ports, "https")
                   ? cJSON_GetObjectItem(ports, "https")->valueint
                   : 0;
  wrong_port = cJSON_GetObjectItem(ports, "wrong")
                   ? cJSON_GetObjectItem(ports, "wrong")->valueint
                   : 0;
  cJSON_Delete(ports);
  return http_port > 0 && https_port > 0 && wrong_port > 0 ? 0 : -1;
}

static void stop_peer(void) {
  const char *names[] = {"ca.pem",  "other.pem", "cert.pem",
                         "key.pem", "wcert.pem", "wkey.pem"};
  char path[128];
  /* Closing its stdin ends the peer. */
  uv_close((uv_handle_t *)&peer_in, NULL);
  uv_close((uv_handle_t *)&peer_out, NULL);
  while (!peer_exited)
    uv_run(&peer_loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&peer, NULL);
  uv_run(&peer_loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&peer_loop), 0);
  for (size_t i = 0; i < EXP_ARRAY_SIZE(names); i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* ------------------------------------------------------------- helpers */

typedef struct result {
  int calls;
  int err;
  int status;
  cJSON *json; /* the body, when JSON */
  char body[256];
  size_t body_len;
  char msg[256];
  char ctype[64];
} result;

static int g_calls; /* answers of any request */

static void on_result(int err, const exp_http_response *res, const char *msg,
                      void *ud) {
  result *r = ud;
  g_calls++;
  r->calls++;
  r->err = err;
  snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "(null)");
  CHECK(msg != NULL);
  CHECK((err == 0) == (res != NULL));
  if (res != NULL) {
    r->status = res->status;
    r->body_len = res->body_len;
    CHECK_INT(res->body[res->body_len], 0);
    snprintf(r->body, sizeof(r->body), "%s", res->body);
    snprintf(r->ctype, sizeof(r->ctype), "%s",
             res->content_type ? res->content_type : "");
    cJSON_Delete(r->json);
    r->json = cJSON_ParseWithLength(res->body, res->body_len);
  }
}

static void result_free(result *r) {
  cJSON_Delete(r->json);
  r->json = NULL;
}

static int json_int(const result *r, const char *key) {
  const cJSON *v = cJSON_GetObjectItem(r->json, key);
  return cJSON_IsNumber(v) ? v->valueint : -1;
}

static char *url(char *buf, int tls, const char *host, int port,
                 const char *path) {
  snprintf(buf, 160, "%s://%s:%d%s", tls ? "https" : "http", host, port, path);
  return buf;
}

static char *plain(char *buf, const char *path) {
  return url(buf, 0, "127.0.0.1", http_port, path);
}

static exp_http *client(uv_loop_t *loop, const exp_http_config *cfg) {
  exp_http_config def = {0};
  char msg[256];
  exp_http *h;
  uv_loop_init(loop);
  if (cfg == NULL) {
    def.ca_file = ca_file;
    def.tls_verify = 1;
    cfg = &def;
  }
  h = exp_http_new(loop, cfg, msg, sizeof(msg));
  CHECK(h != NULL);
  if (h == NULL)
    fprintf(stderr, "  exp_http_new: %s\n", msg);
  return h;
}

static int get(exp_http *h, const char *u, uint64_t timeout, result *r) {
  exp_http_request q = {.method = "GET", .url = u, .timeout_ms = timeout};
  return exp_http_send(h, &q, on_result, r, NULL);
}

static void on_guard(uv_timer_t *t) {
  *(int *)t->data = 1;
}

/* Runs loop until *calls reaches n (or 5 s pass). */
static void run_until(uv_loop_t *loop, const int *calls, int n) {
  uv_timer_t guard;
  int expired = 0;
  uv_timer_init(loop, &guard);
  guard.data = &expired;
  uv_timer_start(&guard, on_guard, 5000, 0);
  while (*calls < n && !expired)
    uv_run(loop, UV_RUN_ONCE);
  CHECK(!expired);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static void on_sleep(uv_timer_t *t) {
  *(int *)t->data = 1;
}

static void sleep_ms(uv_loop_t *loop, uint64_t ms) {
  uv_timer_t t;
  int done = 0;
  uv_timer_init(loop, &t);
  t.data = &done;
  uv_timer_start(&t, on_sleep, ms, 0);
  while (!done)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

/* Closes the client; every handle must be gone afterwards. */
static void finish(uv_loop_t *loop, exp_http *h) {
  exp_http_close(h);
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(loop), 0);
}

/* --------------------------------------------------------------- tests */

typedef struct chain {
  exp_http *h;
  char url[160];
  int left;
  int calls;
  int sockets[8];
  int statuses[8];
} chain;

/* Each answer sends the next request from inside the callback. */
static void on_chain(int err, const exp_http_response *res, const char *msg,
                     void *ud) {
  chain *c = ud;
  cJSON *j;
  EXP_UNUSED(msg);
  CHECK_INT(err, 0);
  if (res == NULL)
    return;
  j = cJSON_ParseWithLength(res->body, res->body_len);
  c->sockets[c->calls] = cJSON_GetObjectItem(j, "socket")
                             ? cJSON_GetObjectItem(j, "socket")->valueint
                             : -1;
  c->statuses[c->calls] = res->status;
  cJSON_Delete(j);
  c->calls++;
  if (--c->left > 0) {
    exp_http_request q = {.method = "GET", .url = c->url};
    CHECK_INT(exp_http_send(c->h, &q, on_chain, c, NULL), 0);
  }
}

static void run_chain(int tls, const char *host, int port) {
  uv_loop_t loop;
  chain c = {0};
  exp_http_request q = {.method = "GET"};
  c.h = client(&loop, NULL);
  url(c.url, tls, host, port, "/hello");
  q.url = c.url;
  c.left = 4;
  CHECK_INT(exp_http_send(c.h, &q, on_chain, &c, NULL), 0);
  CHECK_INT(c.calls, 0); /* never before exp_http_send returns */
  run_until(&loop, &c.calls, 4);
  for (int i = 0; i < 4; i++)
    CHECK_INT(c.statuses[i], 200);
  for (int i = 1; i < 4; i++)
    CHECK_INT(c.sockets[i], c.sockets[0]);
  finish(&loop, c.h);
}

static void test_keep_alive(void) {
  run_chain(0, "127.0.0.1", http_port);
}

static void test_https_keep_alive(void) {
  run_chain(1, "127.0.0.1", https_port);
  /* By name: localhost may resolve to ::1 first, where nobody listens. */
  run_chain(1, "localhost", https_port);
}

static void test_parallel(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r[10] = {{0}};
  char u[160];
  int base = g_calls, seen[64] = {0}, distinct = 0;
  for (int i = 0; i < 10; i++)
    CHECK_INT(get(h, plain(u, "/slow?n=100"), 0, &r[i]), 0);
  run_until(&loop, &g_calls, base + 10);
  for (int i = 0; i < 10; i++) {
    int s = json_int(&r[i], "socket");
    CHECK_INT(r[i].err, 0);
    CHECK_INT(r[i].calls, 1);
    if (s > 0 && s < 64 && !seen[s]++)
      distinct++;
    result_free(&r[i]);
  }
  /* Six connections at most, then queued requests reuse them. */
  CHECK_INT(distinct, 6);
  finish(&loop, h);
}

static void test_echo(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  char u[160];
  const char *hdrs[] = {"Accept: application/json",
                        "Content-Type: application/json", NULL};
  exp_http_request q = {.method = "POST",
                        .url = plain(u, "/echo?x=1"),
                        .headers = hdrs,
                        .body = "{\"a\":1}",
                        .body_len = 7};
  const cJSON *hd;
  CHECK_INT(exp_http_send(h, &q, on_result, &r, NULL), 0);
  run_until(&loop, &r.calls, 1);
  CHECK_INT(r.status, 200);
  CHECK_STR(r.ctype, "application/json");
  hd = cJSON_GetObjectItem(r.json, "headers");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "method")),
            "POST");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "url")),
            "/echo?x=1");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "body")),
            "{\"a\":1}");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "content-length")),
            "7");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "accept")),
            "application/json");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "user-agent")),
            "exp-sdk-c/" EXP_VERSION_STRING);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "connection")),
            "keep-alive");
  {
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", http_port);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "host")), host);
  }
  result_free(&r);
  /* A status other than 2xx is still an answer. */
  CHECK_INT(get(h, plain(u, "/status?n=404"), 0, &r), 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, 0);
  CHECK_INT(r.status, 404);
  result_free(&r);
  finish(&loop, h);
}

/* A parsed origin and a target instead of a URL; trusted lines go as they
 * are, and the caller's own Connection and User-Agent replace the
 * client's; the origin's path is not the target. */
static void test_origin_target(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  char u[160];
  exp_url origin;
  const char *hdrs[] = {"Accept: text/plain", NULL};
  const char *trusted[] = {"X-Token: abc def", "user-agent: mine",
                           "Connection: keep-alive", NULL};
  exp_http_request q = {.method = "GET",
                        .url = "ftp://not-used/",
                        .origin = &origin,
                        .target = "/echo?y=2",
                        .headers = hdrs,
                        .trusted = trusted};
  const cJSON *hd;
  CHECK_INT(exp_url_parse(plain(u, "/elsewhere"), &origin, NULL, 0), 0);
  CHECK_INT(exp_http_send(h, &q, on_result, &r, NULL), 0);
  run_until(&loop, &r.calls, 1);
  CHECK_INT(r.status, 200);
  hd = cJSON_GetObjectItem(r.json, "headers");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "url")),
            "/echo?y=2");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "x-token")),
            "abc def");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "accept")),
            "text/plain");
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hd, "user-agent")),
            "mine");
  result_free(&r);
  /* A target is required with an origin, and checked. */
  q.target = NULL;
  CHECK_INT(exp_http_send(h, &q, on_result, &r, NULL), EXP_EOPTIONS);
  q.target = "/a b";
  CHECK_INT(exp_http_send(h, &q, on_result, &r, NULL), EXP_EOPTIONS);
  exp_url_free(&origin);
  finish(&loop, h);
}

static void test_chunked_and_eof(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  char u[160];
  CHECK_INT(get(h, plain(u, "/chunked"), 0, &r), 0);
  run_until(&loop, &r.calls, 1);
  CHECK_INT(r.err, 0);
  CHECK_STR(r.body, "first,second,third");
  CHECK_STR(r.ctype, "text/plain");
  CHECK_INT(get(h, plain(u, "/eof"), 0, &r), 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, 0);
  CHECK_STR(r.body, "all of this until the end");
  CHECK_INT(get(h, plain(u, "/bigchunked?n=30000"), 0, &r), 0);
  run_until(&loop, &r.calls, 3);
  CHECK_INT(r.err, 0);
  CHECK_INT(r.body_len, 30000);
  result_free(&r);
  finish(&loop, h);
}

static void test_too_big(void) {
  uv_loop_t loop;
  exp_http_config cfg = {.ca_file = ca_file, .tls_verify = 1, .max_body = 1000};
  exp_http *h = client(&loop, &cfg);
  result r = {0};
  char u[160];
  CHECK_INT(get(h, plain(u, "/big?n=1000"), 0, &r), 0);
  run_until(&loop, &r.calls, 1);
  CHECK_INT(r.err, 0);
  CHECK_INT(r.body_len, 1000);
  CHECK_INT(get(h, plain(u, "/big?n=1001"), 0, &r), 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, EXP_ETOOBIG);
  CHECK(strstr(r.msg, "cap") != NULL);
  CHECK_INT(get(h, plain(u, "/bigchunked?n=5000"), 0, &r), 0);
  run_until(&loop, &r.calls, 3);
  CHECK_INT(r.err, EXP_ETOOBIG);
  /* The client goes on working. */
  CHECK_INT(get(h, plain(u, "/hello"), 0, &r), 0);
  run_until(&loop, &r.calls, 4);
  CHECK_INT(r.err, 0);
  result_free(&r);
  finish(&loop, h);
}

static void test_deadline(void) {
  uv_loop_t loop;
  exp_http_config cfg = {
      .ca_file = ca_file, .tls_verify = 1, .default_timeout_ms = 150};
  exp_http *h = client(&loop, &cfg);
  result r = {0}, r2 = {0};
  char u[160];
  uint64_t t0;
  /* Deadlines count from the loop's time; make it now. */
  uv_update_time(&loop);
  t0 = uv_hrtime();
  CHECK_INT(get(h, plain(u, "/slow?n=3000"), 100, &r), 0);
  CHECK_INT(get(h, plain(u, "/slow?n=3000"), 0, &r2), 0);
  run_until(&loop, &r.calls, 1);
  CHECK_INT(r.err, EXP_ETIMEOUT);
  CHECK((uv_hrtime() - t0) / 1000000 >= 90);
  CHECK((uv_hrtime() - t0) / 1000000 < 1500);
  run_until(&loop, &r2.calls, 1);
  CHECK_INT(r2.err, EXP_ETIMEOUT);
  CHECK((uv_hrtime() - t0) / 1000000 < 1500);
  CHECK(strstr(r2.msg, "150 ms") != NULL);
  finish(&loop, h);
}

static void test_server_closes_idle(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  char u[160];
  int first;
  CHECK_INT(get(h, plain(u, "/idle-close"), 0, &r), 0);
  run_until(&loop, &r.calls, 1);
  first = json_int(&r, "socket");
  /* The server drops the connection while it sits idle in the pool. */
  sleep_ms(&loop, 150);
  CHECK_INT(get(h, plain(u, "/hello"), 0, &r), 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, 0);
  CHECK(json_int(&r, "socket") != first);
  result_free(&r);
  finish(&loop, h);
}

static void test_retry(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  char u[160];
  int first;
  CHECK_INT(get(h, plain(u, "/drop-next"), 0, &r), 0);
  run_until(&loop, &r.calls, 1);
  first = json_int(&r, "socket");
  /* The reused connection dies without an answer: retried on a new one. */
  CHECK_INT(get(h, plain(u, "/hello"), 0, &r), 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, 0);
  CHECK_INT(r.status, 200);
  CHECK(json_int(&r, "socket") != first);
  /* A new connection that dies is not retried. */
  CHECK_INT(get(h, plain(u, "/nothing"), 0, &r), 0);
  CHECK_INT(get(h, plain(u, "/nothing"), 0, &r), 0);
  run_until(&loop, &r.calls, 4);
  CHECK_INT(r.err, EXP_ENETWORK);
  result_free(&r);
  finish(&loop, h);
}

/* One request after another reuses the last one's timer, which may still
 * be due at the earlier deadline: each request still times out at its own. */
static void test_timer_reuse(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  char u[160];
  int i;
  /* Due in a minute, then a call that may take 100 ms: it times out. */
  CHECK_INT(get(h, plain(u, "/hello"), 60000, &r), 0);
  run_until(&loop, &r.calls, 1);
  CHECK_INT(r.err, 0);
  CHECK_INT(get(h, plain(u, "/slow?n=3000"), 100, &r), 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, EXP_ETIMEOUT);
  /* Due in 100 ms, then a call that may take 5 s: the early timer only
   * waits for the rest of its time. */
  CHECK_INT(get(h, plain(u, "/hello"), 100, &r), 0);
  run_until(&loop, &r.calls, 3);
  CHECK_INT(r.err, 0);
  CHECK_INT(get(h, plain(u, "/slow?n=300"), 5000, &r), 0);
  run_until(&loop, &r.calls, 4);
  CHECK_INT(r.err, 0);
  CHECK_INT(r.status, 200);
  /* A finished request's timer, still running, holds no loop: with the
   * connection gone, nothing is left. */
  CHECK_INT(get(h, plain(u, "/eof"), 60000, &r), 0);
  run_until(&loop, &r.calls, 5);
  CHECK_INT(r.err, 0);
  for (i = 0; i < 10 && uv_loop_alive(&loop); i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  CHECK(!uv_loop_alive(&loop));
  result_free(&r);
  finish(&loop, h);
}

typedef struct lent {
  result r;
  char *wire; /* freed as soon as the answer comes */
} lent;

static void on_lent(int err, const exp_http_response *res, const char *msg,
                    void *ud) {
  lent *l = ud;
  on_result(err, res, msg, &l->r);
  exp_free(l->wire);
  l->wire = NULL;
}

/* A wire lent rather than copied is sent again as it is when the kept
 * connection turns out dead; the client drops it when the answer comes. */
static void test_lent_wire(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  lent l = {0};
  exp_http_request q = {.method = "GET"};
  char u[160];
  size_t len;
  int first;
  CHECK_INT(get(h, plain(u, "/drop-next"), 0, &l.r), 0);
  run_until(&loop, &l.r.calls, 1);
  first = json_int(&l.r, "socket");
  q.url = plain(u, "/hello");
  CHECK_INT(exp_http_serialise(&q, &l.wire, &len, NULL, 0), 0);
  q.wire = l.wire;
  q.wire_len = len;
  q.wire_lent = 1;
  CHECK_INT(exp_http_send(h, &q, on_lent, &l, NULL), 0);
  run_until(&loop, &l.r.calls, 2);
  CHECK_INT(l.r.err, 0);
  CHECK_INT(l.r.status, 200);
  CHECK(json_int(&l.r, "socket") != first);
  CHECK(l.wire == NULL);
  result_free(&l.r);
  finish(&loop, h);
}

static void test_refused(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  char u[160];
  uv_tcp_t t;
  struct sockaddr_in a;
  struct sockaddr_storage got;
  int len = sizeof(got), port;
  /* A port that was free a moment ago. */
  uv_tcp_init(&loop, &t);
  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_bind(&t, (const struct sockaddr *)&a, 0);
  uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len);
  port = ntohs(((struct sockaddr_in *)&got)->sin_port);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK_INT(get(h, url(u, 0, "127.0.0.1", port, "/"), 0, &r), 0);
  run_until(&loop, &r.calls, 1);
  CHECK_INT(r.err, EXP_ENETWORK);
  CHECK(strstr(r.msg, "refused") != NULL);
  CHECK_INT(get(h, url(u, 0, "no-such-host.invalid", 80, "/"), 0, &r), 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, EXP_ENETWORK);
  CHECK(strstr(r.msg, "resolving") != NULL);
  finish(&loop, h);
}

static void test_malformed(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  char u[160];
  CHECK_INT(get(h, plain(u, "/garbage"), 0, &r), 0);
  run_until(&loop, &r.calls, 1);
  CHECK_INT(r.err, EXP_EPROTOCOL);
  CHECK(strstr(r.msg, "malformed") != NULL);
  /* TLS to a plain HTTP port. */
  CHECK_INT(get(h, url(u, 1, "127.0.0.1", http_port, "/hello"), 0, &r), 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, EXP_ETLS);
  finish(&loop, h);
}

static void test_bad_requests(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  const char *bad[] = {"X: a\r\nY: b", NULL};
  exp_http_request q = {.method = "GET", .url = "ftp://h/"};
  exp_http_req *out = (exp_http_req *)&q;
  char tmsg[200];
  int terr;
  CHECK(exp_http_tls_config(h, &terr, tmsg, sizeof(tmsg)) != NULL);
  CHECK_INT(exp_http_send(h, &q, on_result, &r, &out), EXP_EOPTIONS);
  CHECK(out == NULL);
  q.url = "http://127.0.0.1:1/";
  q.headers = bad;
  CHECK_INT(exp_http_send(h, &q, on_result, &r, NULL), EXP_EOPTIONS);
  q.headers = NULL;
  q.method = "G T";
  CHECK_INT(exp_http_send(h, &q, on_result, &r, NULL), EXP_EOPTIONS);
  uv_run(&loop, UV_RUN_NOWAIT);
  CHECK_INT(r.calls, 0);
  finish(&loop, h);
}

static void test_bad_ca(void) {
  uv_loop_t loop;
  exp_http_config cfg = {.ca_file = "/nonexistent.pem", .tls_verify = 1};
  exp_http *h = client(&loop, &cfg);
  result r = {0};
  exp_http_request q = {.method = "GET"};
  char u[160];
  /* Plain http never reads the CA file; the first https request does. */
  q.url = plain(u, "/hello");
  CHECK_INT(exp_http_send(h, &q, on_result, &r, NULL), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(r.err, 0);
  q.url = url(u, 1, "127.0.0.1", https_port, "/hello");
  CHECK_INT(exp_http_send(h, &q, on_result, &r, NULL), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(r.calls, 2);
  CHECK_INT(r.err, EXP_ETLS);
  CHECK(strstr(r.msg, "/nonexistent.pem") != NULL);
  result_free(&r);
  finish(&loop, h);
}

static void on_cancel_timer(uv_timer_t *t) {
  exp_http_req **req = t->data;
  exp_http_cancel(*req);
  uv_close((uv_handle_t *)t, NULL);
}

static void test_cancel(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0}, queued = {0};
  exp_http_req *req;
  exp_http_request q = {.method = "GET"};
  char u[160];
  uv_timer_t t;
  q.url = plain(u, "/slow?n=2000");
  CHECK_INT(exp_http_send(h, &q, on_result, &r, &req), 0);
  /* Cancelled at once: the callback runs inside exp_http_cancel. */
  exp_http_cancel(req);
  CHECK_INT(r.calls, 1);
  CHECK_INT(r.err, EXP_ECANCELLED);
  /* Cancelled while in flight, from a timer. */
  CHECK_INT(exp_http_send(h, &q, on_result, &r, &req), 0);
  uv_timer_init(&loop, &t);
  t.data = &req;
  uv_timer_start(&t, on_cancel_timer, 50, 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, EXP_ECANCELLED);
  /* The client is still usable. */
  CHECK_INT(get(h, plain(u, "/hello"), 0, &queued), 0);
  run_until(&loop, &queued.calls, 1);
  CHECK_INT(queued.err, 0);
  result_free(&queued);
  sleep_ms(&loop, 20);
  CHECK_INT(r.calls, 2);
  finish(&loop, h);
}

static void test_close_in_flight(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r[8] = {{0}};
  char u[160];
  /* Queued, connecting and in-flight requests alike. */
  for (int i = 0; i < 8; i++)
    CHECK_INT(get(h, plain(u, "/slow?n=2000"), 0, &r[i]), 0);
  sleep_ms(&loop, 50);
  exp_http_close(h);
  for (int i = 0; i < 8; i++) {
    CHECK_INT(r[i].calls, 1);
    CHECK_INT(r[i].err, EXP_ECANCELLED);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);
  /* Closing right away, before anything ran. */
  h = client(&loop, NULL);
  CHECK_INT(get(h, url(u, 1, "localhost", https_port, "/hello"), 0, &r[0]), 0);
  finish(&loop, h);
  CHECK_INT(r[0].calls, 2);
}

typedef struct reentrant {
  exp_http *h;
  result other;
  int calls;
  int send_err;
  exp_http_req *other_req;
  int mode; /* 0: close from the callback, 1: cancel the other request */
} reentrant;

static void on_reentrant(int err, const exp_http_response *res, const char *msg,
                         void *ud) {
  reentrant *re = ud;
  exp_http_request q = {.method = "GET", .url = "http://127.0.0.1:1/"};
  EXP_UNUSED(res);
  EXP_UNUSED(msg);
  re->calls++;
  CHECK_INT(err, 0);
  if (re->mode == 0) {
    exp_http_close(re->h);
    CHECK_INT(re->other.calls, 1);
    CHECK_INT(re->other.err, EXP_ECANCELLED);
    re->send_err = exp_http_send(re->h, &q, on_result, &re->other, NULL);
  } else {
    exp_http_cancel(re->other_req);
    CHECK_INT(re->other.calls, 1);
  }
}

static void on_close_in_cancel(int err, const exp_http_response *res,
                               const char *msg, void *ud) {
  reentrant *re = ud;
  EXP_UNUSED(res);
  EXP_UNUSED(msg);
  re->calls++;
  CHECK_INT(err, EXP_ECANCELLED);
  /* Closing again from a callback run by close is harmless. */
  exp_http_close(re->h);
  re->send_err = exp_http_send(
      re->h, &(exp_http_request){.method = "GET", .url = "http://h/"},
      on_result, &re->other, NULL);
}

static void test_reentrancy(void) {
  uv_loop_t loop;
  reentrant re = {0};
  char u[160];
  exp_http_request q = {.method = "GET"};
  re.h = client(&loop, NULL);
  CHECK_INT(get(re.h, plain(u, "/slow?n=3000"), 0, &re.other), 0);
  q.url = plain(u, "/hello");
  CHECK_INT(exp_http_send(re.h, &q, on_reentrant, &re, NULL), 0);
  run_until(&loop, &re.calls, 1);
  CHECK_INT(re.send_err, EXP_ECANCELLED);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);

  memset(&re, 0, sizeof(re));
  re.mode = 1;
  re.h = client(&loop, NULL);
  q.url = plain(u, "/slow?n=3000");
  CHECK_INT(exp_http_send(re.h, &q, on_result, &re.other, &re.other_req), 0);
  q.url = plain(u, "/hello");
  CHECK_INT(exp_http_send(re.h, &q, on_reentrant, &re, NULL), 0);
  run_until(&loop, &re.calls, 1);
  CHECK_INT(re.other.err, EXP_ECANCELLED);
  finish(&loop, re.h);

  memset(&re, 0, sizeof(re));
  re.h = client(&loop, NULL);
  q.url = plain(u, "/slow?n=3000");
  CHECK_INT(exp_http_send(re.h, &q, on_close_in_cancel, &re, NULL), 0);
  CHECK_INT(exp_http_send(re.h, &q, on_close_in_cancel, &re, NULL), 0);
  finish(&loop, re.h);
  CHECK_INT(re.calls, 2);
  CHECK_INT(re.send_err, EXP_ECANCELLED);
  CHECK_INT(re.other.calls, 0);
}

static void test_https(void) {
  uv_loop_t loop;
  exp_http *h = client(&loop, NULL);
  result r = {0};
  char u[160];
  exp_http_config cfg = {.ca_file = other_ca_file, .tls_verify = 1};
  CHECK_INT(get(h, url(u, 1, "127.0.0.1", https_port, "/hello"), 0, &r), 0);
  run_until(&loop, &r.calls, 1);
  CHECK_INT(r.err, 0);
  CHECK_INT(r.status, 200);
  /* A certificate for another name. */
  CHECK_INT(get(h, url(u, 1, "127.0.0.1", wrong_port, "/hello"), 0, &r), 0);
  run_until(&loop, &r.calls, 2);
  CHECK_INT(r.err, EXP_ETLS);
  CHECK(strstr(r.msg, "CN") != NULL);
  CHECK_INT(get(h, url(u, 1, "localhost", wrong_port, "/hello"), 0, &r), 0);
  run_until(&loop, &r.calls, 3);
  CHECK_INT(r.err, EXP_ETLS);
  result_free(&r);
  finish(&loop, h);

  /* An untrusted CA. */
  h = client(&loop, &cfg);
  CHECK_INT(get(h, url(u, 1, "127.0.0.1", https_port, "/hello"), 0, &r), 0);
  run_until(&loop, &r.calls, 4);
  CHECK_INT(r.err, EXP_ETLS);
  CHECK(strstr(r.msg, "not correctly signed") != NULL);
  finish(&loop, h);

  /* The system bundle does not know the test CA either. */
  if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
    cfg.ca_file = NULL;
    h = client(&loop, &cfg);
    CHECK_INT(get(h, url(u, 1, "localhost", https_port, "/hello"), 0, &r), 0);
    run_until(&loop, &r.calls, 5);
    CHECK_INT(r.err, EXP_ETLS);
    finish(&loop, h);
  } else {
    r.calls++;
  }

  /* Checks off: anything goes. */
  cfg.tls_verify = 0;
  h = client(&loop, &cfg);
  CHECK_INT(get(h, url(u, 1, "127.0.0.1", wrong_port, "/hello"), 0, &r), 0);
  run_until(&loop, &r.calls, 6);
  CHECK_INT(r.err, 0);
  CHECK_INT(r.status, 200);
  result_free(&r);
  finish(&loop, h);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s NODE PEER_JS\n", argv[0]);
    return 2;
  }
  if (start_peer(argv[1], argv[2]) != 0) {
    fprintf(stderr, "the peer did not start (got \"%s\")\n", peer_line);
    return 1;
  }
  RUN(test_keep_alive);
  RUN(test_https_keep_alive);
  RUN(test_parallel);
  RUN(test_echo);
  RUN(test_origin_target);
  RUN(test_chunked_and_eof);
  RUN(test_too_big);
  RUN(test_deadline);
  RUN(test_server_closes_idle);
  RUN(test_retry);
  RUN(test_timer_reuse);
  RUN(test_lent_wire);
  RUN(test_refused);
  RUN(test_malformed);
  RUN(test_bad_requests);
  RUN(test_bad_ca);
  RUN(test_cancel);
  RUN(test_close_in_flight);
  RUN(test_reentrancy);
  RUN(test_https);
  stop_peer();
  return t_done();
}
