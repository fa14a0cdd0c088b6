/* The websocket client core against hand-built server bytes: handshake
 * answers, frames of every kind, bad input, and every split point. */
#include <stdint.h>
#include <stdlib.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>

#include "eio.h"
#include "exp.h"
#include "fail_alloc.h"
#include "testlib.h"
#include "ws.h"

/* ------------------------------------------------------------ helpers */

typedef struct bytes {
  unsigned char *p;
  size_t n, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n) {
  if (n == 0)
    return;
  if (b->cap - b->n < n) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->n < n)
      cap *= 2;
    b->p = realloc(b->p, cap);
    if (b->p == NULL)
      abort();
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, n);
  b->n += n;
}

static void puts_(bytes *b, const char *s) {
  put(b, s, strlen(s));
}

/* A server frame; mask non-NULL makes it a (forbidden) masked one. */
static void frame(bytes *b, int fin, int rsv, int op, const void *payload,
                  size_t n, const unsigned char *mask) {
  unsigned char h[14];
  size_t hn = 2;
  h[0] = (unsigned char)((fin ? 0x80 : 0) | (rsv << 4) | op);
  if (n < 126) {
    h[1] = (unsigned char)n;
  } else if (n < 65536) {
    h[1] = 126;
    h[2] = (unsigned char)(n >> 8);
    h[3] = (unsigned char)n;
    hn = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; i++)
      h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    hn = 10;
  }
  if (mask != NULL) {
    h[1] |= 0x80;
    memcpy(h + hn, mask, 4);
    hn += 4;
  }
  put(b, h, hn);
  if (mask == NULL) {
    put(b, payload, n);
  } else {
    for (size_t i = 0; i < n; i++) {
      unsigned char c = ((const unsigned char *)payload)[i] ^ mask[i % 4];
      put(b, &c, 1);
    }
  }
}

static void text(bytes *b, const char *s) {
  frame(b, 1, 0, 1, s, strlen(s), NULL);
}

static void close_frame(bytes *b, int code, const char *reason) {
  unsigned char p[128];
  size_t n = 0;
  if (code > 0) {
    p[0] = (unsigned char)(code >> 8);
    p[1] = (unsigned char)code;
    n = 2 + strlen(reason);
    memcpy(p + 2, reason, n - 2);
  }
  frame(b, 1, 0, 8, p, n, NULL);
}

/* A client frame from the output: must be masked; unmasked into payload. */
typedef struct cframe {
  int fin, op;
  unsigned char payload[300];
  size_t n;
} cframe;

static int next_frame(const unsigned char *d, size_t n, size_t *pos,
                      cframe *f) {
  size_t i = *pos, len;
  unsigned char mask[4];
  if (n - i < 2)
    return 0;
  f->fin = d[i] >> 7;
  f->op = d[i] & 0xf;
  CHECK((d[i] & 0x70) == 0);
  CHECK(d[i + 1] & 0x80); /* clients mask every frame */
  len = d[i + 1] & 0x7f;
  i += 2;
  if (len == 126) {
    len = (size_t)d[i] << 8 | d[i + 1];
    i += 2;
  }
  CHECK(len < sizeof(f->payload));
  if (len >= sizeof(f->payload) || n - i < 4 + len)
    return 0;
  memcpy(mask, d + i, 4);
  i += 4;
  for (size_t k = 0; k < len; k++)
    f->payload[k] = d[i + k] ^ mask[k % 4];
  f->payload[len] = '\0';
  f->n = len;
  *pos = i + len;
  return 1;
}

/* Sec-WebSocket-Accept, computed here rather than by ws.c. */
static void accept_for(const char *key, char out[64]) {
  unsigned char in[128], digest[20];
  size_t n = strlen(key), olen;
  memcpy(in, key, n);
  memcpy(in + n, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
  mbedtls_sha1_ret(in, n + 36, digest);
  mbedtls_base64_encode((unsigned char *)out, 64, &olen, digest, 20);
}

/* Messages the callback saw, joined with '|'. */
typedef struct rec {
  bytes log;
  int count;
  int fail_at; /* message number whose callback fails, 0: none */
  exp_ws *ws;  /* when set, the callback answers "echo" to each message */
} rec;

static int on_text(void *ud, const char *msg, size_t len) {
  rec *r = ud;
  r->count++;
  put(&r->log, msg, len);
  put(&r->log, "|", 1);
  if (r->ws != NULL)
    CHECK_INT(exp_ws_send_text(r->ws, "echo", 4), 0);
  return r->count == r->fail_at ? EXP_EAPI : 0;
}

static int log_is(rec *r, const char *want) {
  return r->log.n == strlen(want) && memcmp(r->log.p, want, r->log.n) == 0;
}

/* The handshake as a string: the websocket's output is bytes, without a
 * terminating NUL. */
static char *take_text(exp_ws *ws, size_t *n) {
  char *out = exp_ws_take_output(ws, n), *t;
  if (out == NULL)
    return NULL;
  t = realloc(out, *n + 1);
  if (t == NULL) {
    free(out);
    return NULL;
  }
  t[*n] = '\0';
  return t;
}

static exp_ws *new_ws(rec *r, size_t max_message, char *key) {
  static const char *const extra[] = {"User-Agent: exp-test", NULL};
  exp_ws_config cfg = {"example.com:8080",
                       "/socket.io/?EIO=4&transport=websocket",
                       extra,
                       max_message,
                       64,
                       on_text,
                       r};
  char msg[128], *out, *k;
  size_t n;
  exp_ws *ws = NULL;
  CHECK_INT(exp_ws_new(&cfg, &ws, msg, sizeof(msg)), 0);
  if (ws == NULL)
    abort();
  out = take_text(ws, &n);
  CHECK(out != NULL);
  k = out ? strstr(out, "\r\nSec-WebSocket-Key: ") : NULL;
  CHECK(k != NULL);
  if (k != NULL) {
    memcpy(key, k + 21, 24);
    key[24] = '\0';
  }
  free(out);
  return ws;
}

static void response(bytes *b, const char *key) {
  char acc[64];
  accept_for(key, acc);
  puts_(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
  puts_(b, acc);
  puts_(b, "\r\n\r\n");
}

/* An open websocket. */
static exp_ws *open_ws(rec *r, size_t max_message) {
  char key[32];
  bytes b = {0};
  exp_ws *ws = new_ws(r, max_message, key);
  response(&b, key);
  CHECK_INT(exp_ws_feed(ws, (char *)b.p, b.n), 0);
  CHECK(exp_ws_is_open(ws));
  CHECK_INT(exp_ws_status(ws), 101);
  free(b.p);
  return ws;
}

static int feed(exp_ws *ws, const bytes *b) {
  /* An exact-size heap copy, so over-reads show under ASan. */
  char *copy = malloc(b->n ? b->n : 1);
  int r;
  if (b->n > 0)
    memcpy(copy, b->p, b->n);
  r = exp_ws_feed(ws, copy, b->n);
  free(copy);
  return r;
}

static void rec_free(rec *r) {
  free(r->log.p);
}

/* ----------------------------------------------------------- handshake */

static void test_accept_vector(void) {
  char acc[64];
  /* RFC 6455 section 1.3. */
  accept_for("dGhlIHNhbXBsZSBub25jZQ==", acc);
  CHECK_STR(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_request(void) {
  static const char *const extra[] = {"User-Agent: exp-test", NULL};
  exp_ws_config cfg = {"example.com:8080",
                       "/socket.io/?EIO=4&token=a%20b",
                       extra,
                       0,
                       0,
                       NULL,
                       NULL};
  const char *want = "GET /socket.io/?EIO=4&token=a%20b HTTP/1.1\r\n"
                     "Host: example.com:8080\r\n";
  char msg[128] = "x", *out, *k, *k2;
  unsigned char raw[32];
  size_t n, rn;
  exp_ws *ws = NULL;
  CHECK_INT(exp_ws_new(&cfg, &ws, msg, sizeof(msg)), 0);
  CHECK_STR(msg, "");
  out = exp_ws_take_output(ws, &n);
  CHECK(out != NULL && n > 0);
  if (out == NULL)
    return;
  out = realloc(out, n + 1);
  out[n] = '\0';
  CHECK(strncmp(out, want, strlen(want)) == 0);
  CHECK(strstr(out, "\r\nUpgrade: websocket\r\n") != NULL);
  CHECK(strstr(out, "\r\nConnection: Upgrade\r\n") != NULL);
  CHECK(strstr(out, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
  CHECK(strstr(out, "\r\nUser-Agent: exp-test\r\n") != NULL);
  CHECK(n >= 4 && strcmp(out + n - 4, "\r\n\r\n") == 0);
  k = strstr(out, "\r\nSec-WebSocket-Key: ");
  CHECK(k != NULL);
  if (k != NULL) {
    k += 21;
    CHECK(k[24] == '\r');
    CHECK_INT(
        mbedtls_base64_decode(raw, sizeof(raw), &rn, (unsigned char *)k, 24),
        0);
    CHECK_INT(rn, 16);
  }
  /* Nothing more to write; a second client gets another key. */
  CHECK(exp_ws_take_output(ws, &n) == NULL);
  CHECK_INT(n, 0);
  exp_ws_free(ws);
  CHECK_INT(exp_ws_new(&cfg, &ws, msg, sizeof(msg)), 0);
  k2 = take_text(ws, &n);
  CHECK(k != NULL && k2 != NULL && strstr(k2, "Sec-WebSocket-Key: ") != NULL &&
        strncmp(strstr(k2, "Sec-WebSocket-Key: ") + 19, k, 24) != 0);
  free(k2);
  free(out);
  exp_ws_free(ws);

  /* Bad configuration. */
  cfg.target = "/a b";
  CHECK_INT(exp_ws_new(&cfg, &ws, msg, sizeof(msg)), EXP_EOPTIONS);
  CHECK(ws == NULL);
  CHECK(msg[0] != '\0');
  cfg.target = "/";
  cfg.host = "evil\r\nX: y";
  CHECK_INT(exp_ws_new(&cfg, &ws, msg, sizeof(msg)), EXP_EOPTIONS);
  cfg.host = "h";
  {
    static const char *const bad[] = {"NoColon", NULL};
    cfg.headers = bad;
    CHECK_INT(exp_ws_new(&cfg, &ws, msg, sizeof(msg)), EXP_EOPTIONS);
  }
}

static void test_handshake_ok(void) {
  static const char *const variants[] = {
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
      "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, "
      "upgrade\r\nsec-websocket-accept:   %s  \r\nX-Other: 1\r\n\r\n",
  };
  for (size_t i = 0; i < 2; i++) {
    rec r = {0};
    char key[32], acc[64], resp[512];
    exp_ws *ws = new_ws(&r, 0, key);
    bytes b = {0};
    accept_for(key, acc);
    snprintf(resp, sizeof(resp), variants[i], acc);
    puts_(&b, resp);
    CHECK(!exp_ws_is_open(ws));
    CHECK_INT(exp_ws_status(ws), 0);
    CHECK_INT(feed(ws, &b), 0);
    CHECK(exp_ws_is_open(ws));
    CHECK_INT(exp_ws_status(ws), 101);
    CHECK_STR(exp_ws_message(ws), "");
    free(b.p);
    exp_ws_free(ws);
  }
}

static void check_bad_101(const char *fmt, int right_accept) {
  rec r = {0};
  char key[32], acc[64], resp[512];
  exp_ws *ws = new_ws(&r, 0, key);
  bytes b = {0};
  if (right_accept)
    accept_for(key, acc);
  else
    accept_for("dGhlIHNhbXBsZSBub25jZQ==", acc);
  snprintf(resp, sizeof(resp), fmt, acc);
  puts_(&b, resp);
  text(&b, "never");
  CHECK_INT(feed(ws, &b), EXP_EPROTOCOL);
  CHECK(!exp_ws_is_open(ws));
  CHECK_INT(r.count, 0);
  CHECK(exp_ws_message(ws)[0] != '\0');
  /* Done for good. */
  CHECK_INT(feed(ws, &b), EXP_EPROTOCOL);
  CHECK_INT(exp_ws_send_text(ws, "x", 1), EXP_ERUNTIME);
  free(b.p);
  exp_ws_free(ws);
}

static void test_handshake_bad(void) {
  const char *ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n";
  check_bad_101(ok, 0); /* wrong accept */
  check_bad_101("HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: "
                "Upgrade\r\n\r\n%s",
                1);
  check_bad_101("HTTP/1.1 101 S\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: %s\r\n\r\n",
                1);
  check_bad_101("HTTP/1.1 101 S\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: %s\r\n\r\n",
                1);
  check_bad_101("HTTP/1.1 101 S\r\nUpgrade: websocket\r\n"
                "Sec-WebSocket-Accept: %s\r\n\r\n",
                1);
  check_bad_101("HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: "
                "Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                1);
  check_bad_101("HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: "
                "Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                "Sec-WebSocket-Protocol: chat\r\n\r\n",
                1);
  check_bad_101("HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: "
                "Upgrade\r\nSec-WebSocket-Accept: %sx\r\n\r\n",
                1);
  check_bad_101("garbage %s\r\n\r\n", 1);
  check_bad_101("HTTP/1.1 abc\r\n%s\r\n\r\n", 1);
}

/* engine.io 6's answer to an Engine.IO version it does not speak. */
static void test_refused(void) {
  rec r = {0};
  char key[32];
  const char *body;
  size_t n;
  exp_ws *ws = new_ws(&r, 0, key);
  bytes b = {0};
  puts_(&b, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
            "Content-type: text/html\r\nContent-Length: 28\r\n\r\n"
            "Unsupported protocol version");
  CHECK_INT(feed(ws, &b), EXP_EAPI);
  CHECK_INT(exp_ws_status(ws), 400);
  body = exp_ws_refusal(ws, &n);
  CHECK_INT(n, 28);
  CHECK_STR(body, "Unsupported protocol version");
  CHECK(exp_eio_version_refused(exp_ws_status(ws), body, n));
  CHECK_STR(exp_ws_message(ws),
            "the server refused the websocket upgrade: HTTP 400");
  CHECK_INT(exp_ws_eof(ws), EXP_EAPI);
  free(b.p);
  exp_ws_free(ws);

  /* A body that runs to the end of the connection. */
  ws = new_ws(&r, 0, key);
  b.p = NULL;
  b.n = b.cap = 0;
  puts_(&b, "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n"
            "{\"code\":\"x\"}");
  CHECK_INT(feed(ws, &b), 0);
  CHECK_INT(exp_ws_eof(ws), EXP_EAPI);
  CHECK_INT(exp_ws_status(ws), 401);
  body = exp_ws_refusal(ws, &n);
  CHECK_STR(body, "{\"code\":\"x\"}");
  CHECK(!exp_eio_version_refused(401, body, n));
  free(b.p);
  exp_ws_free(ws);

  /* A body over the cap (64 in new_ws) is still a refusal, bodiless. */
  ws = new_ws(&r, 0, key);
  b.p = NULL;
  b.n = b.cap = 0;
  puts_(&b, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 100\r\n\r\n");
  for (int i = 0; i < 10; i++)
    puts_(&b, "0123456789");
  CHECK_INT(feed(ws, &b), EXP_EAPI);
  CHECK_INT(exp_ws_status(ws), 502);
  body = exp_ws_refusal(ws, &n);
  CHECK_STR(body, "");
  CHECK_INT(n, 0);
  free(b.p);
  exp_ws_free(ws);

  /* The connection closes before the headers end. */
  ws = new_ws(&r, 0, key);
  b.p = NULL;
  b.n = b.cap = 0;
  puts_(&b, "HTTP/1.1 101 Switching");
  CHECK_INT(feed(ws, &b), 0);
  CHECK_INT(exp_ws_eof(ws), EXP_ENETWORK);
  body = exp_ws_refusal(ws, &n);
  CHECK_STR(body, "");
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

/* -------------------------------------------------------------- frames */

static void test_leftover(void) {
  rec r = {0};
  char key[32];
  exp_ws *ws = new_ws(&r, 0, key);
  bytes b = {0};
  response(&b, key);
  text(&b, "42[\"hello\"]");
  text(&b, "2");
  CHECK_INT(feed(ws, &b), 0);
  CHECK(exp_ws_is_open(ws));
  CHECK_INT(r.count, 2);
  CHECK(log_is(&r, "42[\"hello\"]|2|"));
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

static void test_text_sizes(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  bytes b = {0};
  char *big = malloc(70001);
  memset(big, 'x', 70000);
  big[70000] = '\0';
  text(&b, "");
  frame(&b, 1, 0, 1, big, 200, NULL);   /* 16-bit length */
  frame(&b, 1, 0, 1, big, 70000, NULL); /* 64-bit length */
  CHECK_INT(feed(ws, &b), 0);
  CHECK_INT(r.count, 3);
  CHECK_INT(r.log.n, 70000 + 200 + 3);
  CHECK(r.log.n > 0 && r.log.p[0] == '|' && r.log.p[201] == '|');
  free(big);
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

static void test_fragments(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  bytes b = {0};
  char *out;
  size_t n, pos = 0;
  cframe f;
  /* "é" is split between two fragments, with a ping in the middle. */
  frame(&b, 0, 0, 1, "frag\xc3", 5, NULL);
  frame(&b, 1, 0, 9, "mid", 3, NULL);
  frame(&b, 0, 0, 0, "\xa9men", 4, NULL);
  frame(&b, 1, 0, 0, "ted", 3, NULL);
  CHECK_INT(feed(ws, &b), 0);
  CHECK(log_is(&r, "frag\xc3\xa9mented|"));
  out = exp_ws_take_output(ws, &n);
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK_INT(f.op, 0xa);
  CHECK_STR((char *)f.payload, "mid");
  CHECK_INT(pos, n);
  free(out);
  /* Empty fragments, the first before anything was kept (found by
   * fuzz_ws_handshake: an offset applied to the message buffer's NULL). */
  exp_ws_free(ws);
  rec_free(&r);
  memset(&r, 0, sizeof(r));
  ws = open_ws(&r, 0);
  b.n = 0;
  frame(&b, 0, 0, 1, "", 0, NULL);
  frame(&b, 0, 0, 0, "", 0, NULL);
  frame(&b, 0, 0, 0, "x", 1, NULL);
  frame(&b, 0, 0, 0, "", 0, NULL);
  frame(&b, 1, 0, 0, "", 0, NULL);
  frame(&b, 0, 0, 1, "", 0, NULL);
  frame(&b, 1, 0, 0, "", 0, NULL);
  CHECK_INT(feed(ws, &b), 0);
  CHECK(log_is(&r, "x||"));
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

static void test_ping_pong(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  bytes b = {0};
  char *out;
  size_t n, pos = 0;
  cframe f;
  frame(&b, 1, 0, 9, "abc", 3, NULL);
  frame(&b, 1, 0, 9, "", 0, NULL);
  frame(&b, 1, 0, 0xa, "unasked", 7, NULL);
  CHECK_INT(feed(ws, &b), 0);
  CHECK_INT(r.count, 0);
  out = exp_ws_take_output(ws, &n);
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK(f.fin && f.op == 0xa && f.n == 3);
  CHECK_STR((char *)f.payload, "abc");
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK(f.op == 0xa && f.n == 0);
  CHECK_INT(pos, n);
  free(out);
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

/* Our own ping, masked like every client frame; before the handshake
 * there is nothing to ping. */
static void test_our_ping(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  char *out;
  size_t n, pos = 0;
  cframe f;
  CHECK_INT(exp_ws_ping(ws), 0);
  out = exp_ws_take_output(ws, &n);
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK(f.fin && f.op == 9 && f.n == 3);
  CHECK_INT(pos, n);
  free(out);
  CHECK_INT(exp_ws_close(ws, 1000, NULL), 0);
  CHECK_INT(exp_ws_ping(ws), EXP_ERUNTIME);
  exp_ws_free(ws);
  rec_free(&r);
}

static void test_send(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  char *out, big[300];
  size_t n, pos = 0;
  cframe f;
  memset(big, 'y', sizeof(big));
  CHECK_INT(exp_ws_send_text(ws, "40", 2), 0);
  CHECK_INT(exp_ws_send_text(ws, big, 200), 0);
  out = exp_ws_take_output(ws, &n);
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK(f.fin && f.op == 1 && f.n == 2 && memcmp(f.payload, "40", 2) == 0);
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK(f.fin && f.op == 1 && f.n == 200 && memcmp(f.payload, big, 200) == 0);
  CHECK_INT(pos, n);
  free(out);
  exp_ws_free(ws);
  rec_free(&r);
}

/* The callback may answer from inside; the answer is in the output. */
static void test_send_from_callback(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  bytes b = {0};
  char *out;
  size_t n, pos = 0;
  cframe f;
  r.ws = ws;
  text(&b, "a");
  text(&b, "b");
  CHECK_INT(feed(ws, &b), 0);
  out = exp_ws_take_output(ws, &n);
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK_STR((char *)f.payload, "echo");
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK_STR((char *)f.payload, "echo");
  CHECK_INT(pos, n);
  free(out);
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

static void test_peer_close(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  bytes b = {0};
  char *out;
  size_t n, pos = 0;
  cframe f;
  CHECK_INT(exp_ws_close_code(ws), 0);
  text(&b, "last");
  close_frame(&b, 1001, "going away");
  text(&b, "after close");
  CHECK_INT(feed(ws, &b), EXP_WS_CLOSED);
  CHECK(log_is(&r, "last|"));
  CHECK(!exp_ws_is_open(ws));
  CHECK_INT(exp_ws_close_code(ws), 1001);
  CHECK_STR(exp_ws_close_reason(ws), "going away");
  out = exp_ws_take_output(ws, &n);
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK_INT(f.op, 8);
  CHECK(f.n >= 2 && (f.payload[0] << 8 | f.payload[1]) == 1001);
  CHECK_INT(pos, n);
  free(out);
  CHECK_INT(feed(ws, &b), EXP_WS_CLOSED);
  CHECK_INT(exp_ws_eof(ws), EXP_WS_CLOSED);
  CHECK_INT(exp_ws_send_text(ws, "x", 1), EXP_ERUNTIME);
  CHECK_INT(exp_ws_close(ws, 1000, NULL), 0);
  CHECK(exp_ws_take_output(ws, &n) == NULL);
  free(b.p);
  exp_ws_free(ws);

  /* A close without a code. */
  ws = open_ws(&r, 0);
  memset(&b, 0, sizeof(b));
  close_frame(&b, 0, "");
  CHECK_INT(feed(ws, &b), EXP_WS_CLOSED);
  CHECK_INT(exp_ws_close_code(ws), 1005);
  CHECK_STR(exp_ws_close_reason(ws), "");
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

static void test_our_close(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  bytes b = {0};
  char *out, reason[130];
  size_t n, pos = 0;
  cframe f;
  memset(reason, 'r', 124);
  reason[124] = '\0';
  CHECK_INT(exp_ws_close(ws, 1000, reason), EXP_EOPTIONS);
  CHECK_INT(exp_ws_close(ws, 1000, "done"), 0);
  CHECK(!exp_ws_is_open(ws));
  CHECK_INT(exp_ws_send_text(ws, "x", 1), EXP_ERUNTIME);
  out = exp_ws_take_output(ws, &n);
  CHECK(next_frame((unsigned char *)out, n, &pos, &f));
  CHECK_INT(f.op, 8);
  CHECK(f.n == 6 && (f.payload[0] << 8 | f.payload[1]) == 1000 &&
        memcmp(f.payload + 2, "done", 4) == 0);
  free(out);
  /* Messages still arrive until the server's close. */
  text(&b, "late");
  CHECK_INT(feed(ws, &b), 0);
  CHECK(log_is(&r, "late|"));
  b.n = 0;
  close_frame(&b, 1000, "");
  CHECK_INT(feed(ws, &b), EXP_WS_CLOSED);
  CHECK_INT(exp_ws_close_code(ws), 1000);
  /* Nothing more to send: our close went out already. */
  CHECK(exp_ws_take_output(ws, &n) == NULL);
  free(b.p);
  exp_ws_free(ws);

  /* Closing before the handshake ends it at once. */
  {
    char key[32];
    ws = new_ws(&r, 0, key);
    CHECK_INT(exp_ws_close(ws, 1000, NULL), 0);
    CHECK(exp_ws_take_output(ws, &n) == NULL);
    CHECK_INT(exp_ws_feed(ws, "HTTP", 4), EXP_WS_CLOSED);
    exp_ws_free(ws);
  }
  rec_free(&r);
}

static void test_eof(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  CHECK_INT(exp_ws_eof(ws), EXP_ENETWORK);
  CHECK_INT(exp_ws_feed(ws, "x", 1), EXP_ENETWORK);
  exp_ws_free(ws);
  rec_free(&r);
}

static void test_callback_error(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  bytes b = {0};
  r.fail_at = 2;
  text(&b, "one");
  text(&b, "two");
  text(&b, "three");
  CHECK_INT(feed(ws, &b), EXP_EAPI);
  CHECK(log_is(&r, "one|two|"));
  CHECK_INT(feed(ws, &b), EXP_EAPI);
  CHECK_INT(r.count, 2);
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

/* A bad frame after a good one: the good one is delivered, then
 * EXP_EPROTOCOL and a close with the given code in the output. */
static void check_bad_frame(const bytes *bad, int code, size_t max_message) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, max_message);
  bytes b = {0};
  char *out;
  size_t n, pos = 0;
  cframe f;
  text(&b, "ok");
  put(&b, bad->p, bad->n);
  text(&b, "never");
  CHECK_INT(feed(ws, &b), EXP_EPROTOCOL);
  CHECK(log_is(&r, "ok|"));
  CHECK(exp_ws_message(ws)[0] != '\0');
  out = exp_ws_take_output(ws, &n);
  CHECK(out != NULL && next_frame((unsigned char *)out, n, &pos, &f));
  CHECK_INT(f.op, 8);
  CHECK_INT(f.n >= 2 ? f.payload[0] << 8 | f.payload[1] : 0, code);
  free(out);
  CHECK_INT(feed(ws, &b), EXP_EPROTOCOL);
  CHECK_INT(exp_ws_eof(ws), EXP_EPROTOCOL);
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

static void test_bad_frames(void) {
  static const unsigned char mask[4] = {1, 2, 3, 4};
  bytes b = {0};
  char big[200];
  memset(big, 'z', sizeof(big));
#define BAD(code, max, build)                                                  \
  do {                                                                         \
    b.n = 0;                                                                   \
    build;                                                                     \
    check_bad_frame(&b, code, max);                                            \
  } while (0)
  BAD(1002, 0, frame(&b, 1, 0, 1, "masked", 6, mask));
  BAD(1007, 0, frame(&b, 1, 0, 1, "bad \xff utf8", 10, NULL));
  BAD(1007, 0, frame(&b, 1, 0, 1, "cut \xc3", 5, NULL));
  BAD(1007, 0, frame(&b, 1, 0, 1, "\xed\xa0\x80", 3, NULL));
  BAD(1009, 100, frame(&b, 1, 0, 1, big, 101, NULL));
  /* The cap counts a whole fragmented message. */
  BAD(1009, 100,
      (frame(&b, 0, 0, 1, big, 60, NULL), frame(&b, 1, 0, 0, big, 60, NULL)));
  BAD(1002, 0, frame(&b, 1, 4, 1, "rsv1", 4, NULL));
  BAD(1002, 0, frame(&b, 1, 1, 1, "rsv3", 4, NULL));
  BAD(1002, 0, frame(&b, 1, 0, 3, "op3", 3, NULL));
  BAD(1002, 0, frame(&b, 1, 0, 0xb, "opb", 3, NULL));
  BAD(1002, 0, frame(&b, 1, 0, 0, "cont", 4, NULL));
  BAD(1002, 0,
      (frame(&b, 0, 0, 1, "a", 1, NULL), frame(&b, 1, 0, 1, "b", 1, NULL)));
  /* Frames wslay's reader refuses get a protocol error's close too. */
  BAD(1002, 0, frame(&b, 0, 0, 9, "frag ping", 9, NULL));
  BAD(1002, 0, frame(&b, 1, 0, 9, big, 126, NULL));
  BAD(1002, 0, close_frame(&b, 999, ""));
  BAD(1002, 0, close_frame(&b, 1005, ""));
  BAD(1007, 0, close_frame(&b, 1000, "\xff"));
  /* A 16-bit length under 126 and a 64-bit one under 65536. */
  BAD(1002, 0, put(&b, "\x81\x7e\x00\x05hello", 9));
  BAD(1002, 0, put(&b, "\x81\x7f\x00\x00\x00\x00\x00\x00\x00\x05hello", 15));
  BAD(1002, 0, put(&b, "\x81\x7f\x80\x00\x00\x00\x00\x00\x00\x05hello", 15));
  BAD(1003, 0, frame(&b, 1, 0, 2, "bin", 3, NULL));
#undef BAD
  free(b.p);
}

/* Random bytes after the handshake: no crash, no leak, an error or more. */
static void test_garbage(void) {
  uint32_t seed = 99;
  for (int i = 0; i < 300; i++) {
    rec r = {0};
    exp_ws *ws = open_ws(&r, 1000);
    unsigned char buf[64];
    int res = 0;
    for (int round = 0; round < 4 && res == 0; round++) {
      for (size_t k = 0; k < sizeof(buf); k++) {
        seed = seed * 1103515245u + 12345u;
        buf[k] = (unsigned char)(seed >> 16);
      }
      res = exp_ws_feed(ws, (char *)buf, sizeof(buf));
      CHECK(res == 0 || res == EXP_EPROTOCOL || res == EXP_WS_CLOSED);
    }
    free(exp_ws_take_output(ws, &(size_t){0}));
    exp_ws_free(ws);
    rec_free(&r);
  }
}

/* --------------------------------------------------------- split points */

static const char WANT_LOG[] =
    "hello|fragmented|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|0123456789|";

/* The server's answer and frames for the key, ending with a close. */
/* The server's answer and frames for the key, ending with a close; *pings
 * gets the offset where both pings have been read. */
static void stream(bytes *b, const char *key, size_t *pings) {
  response(b, key);
  text(b, "hello");
  frame(b, 0, 0, 1, "frag", 4, NULL);
  frame(b, 1, 0, 9, "p", 1, NULL);
  frame(b, 0, 0, 0, "men", 3, NULL);
  frame(b, 1, 0, 0, "ted", 3, NULL);
  frame(b, 1, 0, 9, "abc", 3, NULL);
  *pings = b->n;
  text(b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  frame(b, 1, 0, 1, "0123456789", 10, NULL);
  close_frame(b, 1000, "bye");
}

/* The pongs, then the close answer.  wslay drops the pongs still queued
 * when the peer's close comes in the same read (the close makes them moot),
 * so only a prefix of them shows unless all is set. */
static void check_stream_output(const bytes *out, int all) {
  static const char *const pongs[] = {"p", "abc"};
  size_t pos = 0, i = 0;
  cframe f = {0};
  while (next_frame(out->p, out->n, &pos, &f) && f.op == 0xa && i < 2) {
    CHECK(f.n == strlen(pongs[i]) && memcmp(f.payload, pongs[i], f.n) == 0);
    i++;
  }
  if (all)
    CHECK_INT(i, 2);
  CHECK(f.op == 8 && f.n >= 2 && (f.payload[0] << 8 | f.payload[1]) == 1000);
  CHECK_INT(pos, out->n);
}

static void take(exp_ws *ws, bytes *out) {
  size_t n;
  char *o = exp_ws_take_output(ws, &n);
  put(out, o, n);
  free(o);
}

static void test_every_split(void) {
  char key[32];
  rec r = {0};
  bytes b = {0};
  exp_ws *ws = new_ws(&r, 0, key);
  size_t total, pings;
  stream(&b, key, &pings);
  total = b.n;
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
  for (size_t k = 0; k <= total; k++) {
    bytes part = {0}, out = {0};
    int r1, r2;
    memset(&r, 0, sizeof(r));
    memset(&b, 0, sizeof(b));
    ws = new_ws(&r, 0, key);
    stream(&b, key, &pings);
    put(&part, b.p, k);
    r1 = feed(ws, &part);
    take(ws, &out);
    part.n = 0;
    put(&part, b.p + k, b.n - k);
    r2 = feed(ws, &part);
    take(ws, &out);
    CHECK_INT(r1, k == total ? EXP_WS_CLOSED : 0);
    CHECK_INT(r2, EXP_WS_CLOSED);
    if (!log_is(&r, WANT_LOG))
      fprintf(stderr, "split at %zu: wrong messages\n", k);
    CHECK(log_is(&r, WANT_LOG));
    CHECK_INT(exp_ws_close_code(ws), 1000);
    CHECK_STR(exp_ws_close_reason(ws), "bye");
    check_stream_output(&out, k >= pings && k < total);
    free(out.p);
    free(part.p);
    free(b.p);
    exp_ws_free(ws);
    rec_free(&r);
  }
}

static void test_byte_by_byte(void) {
  char key[32];
  rec r = {0};
  bytes b = {0}, out = {0};
  exp_ws *ws = new_ws(&r, 0, key);
  size_t pings;
  stream(&b, key, &pings);
  for (size_t i = 0; i < b.n; i++) {
    char c = (char)b.p[i];
    CHECK_INT(exp_ws_feed(ws, &c, 1), i + 1 == b.n ? EXP_WS_CLOSED : 0);
  }
  CHECK(log_is(&r, WANT_LOG));
  take(ws, &out);
  check_stream_output(&out, 1);
  free(out.p);
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

/* ------------------------------------------------- split close frames */

/* A close frame fed in two pieces, cut at every point of it, after a text
 * message in the same first piece: the result and the reason must be those
 * of the frame fed whole.  wslay alone checks the reason's UTF-8 from the
 * third byte of each piece. */
static void split_close(int code, const char *reason, int want, int want_code,
                        const char *want_reason) {
  bytes whole = {0};
  size_t start;
  text(&whole, "before");
  start = whole.n;
  close_frame(&whole, code, reason);
  for (size_t k = start; k <= whole.n; k++) {
    rec r = {0};
    exp_ws *ws = open_ws(&r, 0);
    bytes a = {0}, b = {0};
    int r1, r2;
    put(&a, whole.p, k);
    put(&b, whole.p + k, whole.n - k);
    r1 = feed(ws, &a);
    r2 = k == whole.n ? r1 : feed(ws, &b);
    if (r2 != want)
      fprintf(stderr, "close cut at %zu: %d (%s)\n", k - start, r2,
              exp_ws_message(ws));
    CHECK_INT(r1, k == whole.n ? want : 0);
    CHECK_INT(r2, want);
    CHECK(log_is(&r, "before|"));
    if (want == EXP_WS_CLOSED) {
      CHECK_INT(exp_ws_close_code(ws), want_code);
      CHECK_STR(exp_ws_close_reason(ws), want_reason);
    }
    free(a.p);
    free(b.p);
    exp_ws_free(ws);
    rec_free(&r);
  }
  free(whole.p);
}

static void test_split_close(void) {
  /* Two- three- and four-byte characters, one cut anywhere. */
  split_close(1000, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80!", EXP_WS_CLOSED,
              1000, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80!");
  split_close(1001, "ab", EXP_WS_CLOSED, 1001, "ab");
  split_close(0, "", EXP_WS_CLOSED, 1005, "");
  /* Invalid UTF-8 is invalid wherever the cut falls. */
  split_close(1000, "ok \xc3", EXP_EPROTOCOL, 0, NULL);
  split_close(1000, "\xff ok", EXP_EPROTOCOL, 0, NULL);
  split_close(1000, "ok \xe2\x28\xa1 ok", EXP_EPROTOCOL, 0, NULL);
}

/* The close frame's header and payload arriving one byte a feed. */
static void test_close_byte_by_byte(void) {
  rec r = {0};
  exp_ws *ws = open_ws(&r, 0);
  bytes b = {0};
  close_frame(&b, 1000, "\xc3\xa9t\xc3\xa9");
  for (size_t i = 0; i < b.n; i++) {
    char c = (char)b.p[i];
    CHECK_INT(exp_ws_feed(ws, &c, 1), i + 1 == b.n ? EXP_WS_CLOSED : 0);
  }
  CHECK_STR(exp_ws_close_reason(ws), "\xc3\xa9t\xc3\xa9");
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
}

/* A close frame behind a text frame longer than wslay's 4096-byte read
 * buffer, in one feed: wslay would get it across two of its reads. */
static void test_close_after_long_text(void) {
  for (size_t len = 4050; len < 4110; len++) {
    rec r = {0};
    exp_ws *ws = open_ws(&r, 0);
    bytes b = {0};
    char *t = malloc(len + 1);
    memset(t, 'a', len);
    t[len] = '\0';
    text(&b, t);
    close_frame(&b, 1000, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    CHECK_INT(feed(ws, &b), EXP_WS_CLOSED);
    CHECK_STR(exp_ws_close_reason(ws), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    CHECK_INT(r.count, 1);
    free(t);
    free(b.p);
    exp_ws_free(ws);
    rec_free(&r);
  }
}

/* The connection ending after every byte of the server's answer and
 * frames: a network error (what a reset gives too) until the close frame
 * is in, then an orderly close. */
static void test_eof_everywhere(void) {
  char key[32];
  rec r = {0};
  bytes b = {0};
  size_t pings, total;
  exp_ws *ws = new_ws(&r, 0, key);
  stream(&b, key, &pings);
  total = b.n;
  free(b.p);
  exp_ws_free(ws);
  rec_free(&r);
  for (size_t k = 0; k <= total; k++) {
    bytes part = {0};
    int res;
    memset(&r, 0, sizeof(r));
    memset(&b, 0, sizeof(b));
    ws = new_ws(&r, 0, key);
    stream(&b, key, &pings);
    put(&part, b.p, k);
    res = feed(ws, &part);
    if (res == 0)
      res = exp_ws_eof(ws);
    if (res != (k == total ? EXP_WS_CLOSED : EXP_ENETWORK))
      fprintf(stderr, "cut after %zu: %s\n", k, exp_ws_message(ws));
    CHECK_INT(res, k == total ? EXP_WS_CLOSED : EXP_ENETWORK);
    free(part.p);
    free(b.p);
    exp_ws_free(ws);
    rec_free(&r);
  }
}

/* ------------------------------------------------------ out of memory */

/* exp_ws_new with each of its allocations failing in turn, wslay's among
 * them: EXP_ENOMEM and nothing freed twice (wslay frees its own context
 * when setting it up fails). */
static void test_new_oom(void) {
  static const char *const extra[] = {"User-Agent: exp-test", NULL};
  exp_ws_config cfg = {"example.com", "/", extra, 0, 0, NULL, NULL};
  char msg[128];
  long n, total;
  fail_alloc_arm(0);
  {
    exp_ws *ws = NULL;
    CHECK_INT(exp_ws_new(&cfg, &ws, msg, sizeof(msg)), 0);
    exp_ws_free(ws);
  }
  total = fail_alloc_disarm();
  printf("# exp_ws_new: %ld allocations\n", total);
  CHECK(total > 3);
  for (n = 1; n <= total; n++) {
    exp_ws *ws = NULL;
    int r;
    fail_alloc_arm(n);
    r = exp_ws_new(&cfg, &ws, msg, sizeof(msg));
    fail_alloc_disarm();
    CHECK_INT(r, EXP_ENOMEM);
    CHECK(ws == NULL);
  }
}

static int count_text(void *ud, const char *msg, size_t len) {
  (void)msg;
  (void)len;
  ++*(int *)ud;
  return 0;
}

/* A whole session (handshake, messages, pings, the peer's close) with
 * each allocation failing in turn: every result is the session's own or
 * EXP_ENOMEM, and nothing leaks that the SDK holds (ASan's leak check). */
static void test_session_oom(void) {
  long n;
  for (n = 1;; n++) {
    char key[32];
    bytes b = {0};
    size_t pings;
    exp_ws *ws = NULL;
    int count = 0;
    exp_ws_config cfg = {"example.com", "/", NULL, 0, 0, count_text, &count};
    char msg[128], *out;
    int res;
    size_t len;
    fail_alloc_arm(n);
    res = exp_ws_new(&cfg, &ws, msg, sizeof(msg));
    if (res == 0) {
      fail_alloc_disarm();
      out = take_text(ws, &len);
      if (out == NULL) {
        res = EXP_ENOMEM;
      } else {
        memcpy(key, strstr(out, "Sec-WebSocket-Key: ") + 19, 24);
        key[24] = '\0';
        free(out);
        stream(&b, key, &pings);
        fail_alloc_resume();
        res = exp_ws_feed(ws, (const char *)b.p, b.n);
      }
      exp_ws_free(ws);
    }
    fail_alloc_disarm();
    CHECK(res == EXP_WS_CLOSED || res == EXP_ENOMEM);
    CHECK(res == EXP_ENOMEM || count == 4);
    free(b.p);
    if (!fail_alloc_failed())
      break;
  }
  printf("# a whole session: %ld allocations\n", n - 1);
  CHECK(n > 5);
}

int main(void) {
  RUN(test_accept_vector);
  RUN(test_request);
  RUN(test_handshake_ok);
  RUN(test_handshake_bad);
  RUN(test_refused);
  RUN(test_leftover);
  RUN(test_text_sizes);
  RUN(test_fragments);
  RUN(test_ping_pong);
  RUN(test_send);
  RUN(test_our_ping);
  RUN(test_send_from_callback);
  RUN(test_peer_close);
  RUN(test_our_close);
  RUN(test_eof);
  RUN(test_callback_error);
  RUN(test_bad_frames);
  RUN(test_garbage);
  RUN(test_every_split);
  RUN(test_byte_by_byte);
  RUN(test_split_close);
  RUN(test_close_byte_by_byte);
  RUN(test_close_after_long_text);
  RUN(test_eof_everywhere);
  if (fail_alloc_active()) {
    RUN(test_new_oom);
    RUN(test_session_oom);
  } else {
    puts("skipped the out-of-memory tests: malloc is not fail_alloc.c's");
  }
  return t_done();
}
