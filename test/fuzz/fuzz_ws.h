/*
 * fuzz_ws.h: drives a websocket client (ws.h) for the two websocket
 * targets: creates it, answers its upgrade request, feeds the server's
 * bytes in chunks and folds every outcome into a digest, so that a run cut
 * into chunks can be compared with the same bytes fed whole.
 */
#ifndef EXP_FUZZ_WS_H
#define EXP_FUZZ_WS_H

#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <uv.h>

#include "common.h"
#include "fuzz.h"
#include "ws.h"

/* Stands for the Sec-WebSocket-Accept value, which depends on the random
 * key the client sends, in a scripted answer. */
#define FUZZ_ACCEPT "@ACCEPT@"

typedef struct fuzz_ws_opts {
  size_t max_message, max_refusal;
  int eof;        /* end with the peer closing the connection */
  int send_after; /* send a message and close once the bytes are in */
} fuzz_ws_opts;

typedef struct fuzz_ws {
  exp_ws *ws;
  uint64_t h;
  int sent_close;
} fuzz_ws;

static inline uint64_t fuzz_ws_mix(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 1099511628211u;
  return h;
}

static inline uint64_t fuzz_ws_mix_int(uint64_t h, long long v) {
  return fuzz_ws_mix(h, &v, sizeof(v));
}

/* A message's first byte picks what the application does with it: echo
 * it, close, fail, or nothing. */
static int fuzz_ws_on_text(void *ud, const char *msg, size_t len) {
  fuzz_ws *f = ud;
  f->h = fuzz_ws_mix_int(f->h, (long long)len);
  f->h = fuzz_ws_mix(f->h, msg, len);
  if (len == 0)
    return 0;
  switch (msg[0]) {
  case 's':
    return exp_ws_send_text(f->ws, msg, len) == EXP_ENOMEM ? EXP_ENOMEM : 0;
  case 'c':
    f->sent_close = 1;
    return exp_ws_close(f->ws, 1000, "bye");
  case 'x':
    return EXP_EAPI;
  default:
    return 0;
  }
}

/* The output so far must be there to take; the bytes go nowhere. */
static inline void fuzz_ws_drain(exp_ws *ws) {
  size_t len;
  char *out = exp_ws_take_output(ws, &len);
  FUZZ_CHECK((out == NULL) == (len == 0));
  free(out);
}

/* The Sec-WebSocket-Accept for the upgrade request in req (RFC 6455 4.2.2). */
static inline void fuzz_ws_accept(const char *req, size_t len,
                                  char accept[32]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  static const char name[] = "Sec-WebSocket-Key: ";
  unsigned char buf[128], digest[20];
  const char *k = NULL, *e;
  size_t n, i;

  for (i = 0; i + sizeof(name) - 1 <= len; i++)
    if (memcmp(req + i, name, sizeof(name) - 1) == 0) {
      k = req + i + sizeof(name) - 1;
      break;
    }
  FUZZ_CHECK(k != NULL);
  e = memchr(k, '\r', len - (size_t)(k - req));
  FUZZ_CHECK(e != NULL && (size_t)(e - k) + sizeof(guid) <= sizeof(buf));
  n = (size_t)(e - k);
  memcpy(buf, k, n);
  memcpy(buf + n, guid, sizeof(guid) - 1);
  FUZZ_CHECK(mbedtls_sha1_ret(buf, n + sizeof(guid) - 1, digest) == 0);
  FUZZ_CHECK(mbedtls_base64_encode((unsigned char *)accept, 32, &n, digest,
                                   sizeof(digest)) == 0);
}

/* Copies data with every FUZZ_ACCEPT replaced by accept; malloc'd. */
static inline char *fuzz_ws_fill(const char *data, size_t len,
                                 const char *accept, size_t *out_len) {
  size_t al = strlen(accept), pl = sizeof(FUZZ_ACCEPT) - 1, i = 0, o = 0;
  char *out = malloc(len / pl * al + len + 1);
  FUZZ_CHECK(out != NULL);
  while (i < len) {
    if (len - i >= pl && memcmp(data + i, FUZZ_ACCEPT, pl) == 0) {
      memcpy(out + o, accept, al);
      o += al;
      i += pl;
    } else {
      out[o++] = data[i++];
    }
  }
  *out_len = o;
  return out;
}

/* Checks the state after a result that ends the feeding and folds it in. */
static inline uint64_t fuzz_ws_end(fuzz_ws *f, int r, const fuzz_ws_opts *o) {
  exp_ws *ws = f->ws;
  size_t len;
  const char *refusal = exp_ws_refusal(ws, &len);
  uint64_t h = f->h;

  FUZZ_CHECK(refusal != NULL && refusal[len] == '\0');
  FUZZ_CHECK(len <= (o->max_refusal > 0 ? o->max_refusal : 65536));
  if (r < 0)
    FUZZ_CHECK(!exp_ws_is_open(ws) && exp_ws_message(ws)[0] != '\0');
  if (r == EXP_WS_CLOSED)
    FUZZ_CHECK(exp_ws_close_code(ws) != 0 || f->sent_close);
  FUZZ_CHECK(strlen(exp_ws_close_reason(ws)) <= 123);
  /* Done: every call says the same. */
  if (r != 0)
    FUZZ_CHECK(exp_ws_feed(ws, "x", 1) == r);
  h = fuzz_ws_mix_int(h, r);
  h = fuzz_ws_mix_int(h, exp_ws_status(ws));
  h = fuzz_ws_mix_int(h, exp_ws_is_open(ws));
  h = fuzz_ws_mix_int(h, exp_ws_close_code(ws));
  h = fuzz_ws_mix(h, refusal, len);
  return h;
}

/* Random bytes (the websocket key, masks) the same in every run, for runs
 * that can be compared and replayed. */
int uv_random(uv_loop_t *loop, uv_random_t *req, void *buf, size_t len,
              unsigned flags, uv_random_cb cb) {
  EXP_UNUSED(loop);
  EXP_UNUSED(req);
  EXP_UNUSED(flags);
  EXP_UNUSED(cb);
  memset(buf, 0x5a, len);
  return 0;
}

/* Runs one client: its upgrade answered with handshake (NULL: the answer
 * is part of data, FUZZ_ACCEPT filled in), then data in the chunks c says.
 * Returns the digest of what happened. */
static inline uint64_t fuzz_ws_run(const fuzz_ws_opts *o, const char *handshake,
                                   const char *data, size_t len,
                                   const fuzz_cuts *c) {
  const char *headers[] = {"Origin: http://localhost", NULL};
  fuzz_ws f = {NULL, 14695981039346656037u, 0};
  exp_ws_config cfg = {"127.0.0.1:9000",
                       "/socket.io/?EIO=4&transport=websocket",
                       headers,
                       o->max_message,
                       o->max_refusal,
                       fuzz_ws_on_text,
                       &f};
  char msg[160], accept[32], *req, *bytes;
  size_t req_len, n, pos = 0, i;
  int r = 0;

  FUZZ_CHECK(exp_ws_new(&cfg, &f.ws, msg, sizeof(msg)) == 0);
  req = exp_ws_take_output(f.ws, &req_len);
  FUZZ_CHECK(req != NULL);
  fuzz_ws_accept(req, req_len, accept);
  free(req);
  if (handshake != NULL) {
    char *hs = fuzz_ws_fill(handshake, strlen(handshake), accept, &n);
    r = exp_ws_feed(f.ws, hs, n);
    free(hs);
    FUZZ_CHECK(r == 0 && exp_ws_is_open(f.ws) && exp_ws_status(f.ws) == 101);
  }
  bytes = fuzz_ws_fill(data, len, accept, &len);
  for (i = 0; r == 0; i++) {
    size_t end = pos + fuzz_chunk(c, i, len - pos);
    r = exp_ws_feed(f.ws, bytes + pos, end - pos);
    fuzz_ws_drain(f.ws);
    pos = end;
    if (i >= c->k)
      break;
  }
  free(bytes);
  if (r == 0 && o->send_after && exp_ws_is_open(f.ws)) {
    FUZZ_CHECK(exp_ws_send_text(f.ws, "42[\"x\"]", 7) == 0);
    FUZZ_CHECK(exp_ws_close(f.ws, 1000, NULL) == 0);
    FUZZ_CHECK(!exp_ws_is_open(f.ws));
    f.sent_close = 1;
  }
  if (r == 0 && o->eof)
    r = exp_ws_eof(f.ws);
  fuzz_ws_drain(f.ws);
  f.h = fuzz_ws_end(&f, r, o);
  exp_ws_free(f.ws);
  return f.h;
}

/* The options from the input's first byte. */
static inline fuzz_ws_opts fuzz_ws_take_opts(fuzz_in *in) {
  static const size_t caps[] = {0, 16, 256, 1024};
  uint8_t b = fuzz_u8(in);
  fuzz_ws_opts o = {caps[b & 3], caps[(b >> 2) & 3], (b >> 4) & 1,
                    (b >> 5) & 1};
  return o;
}

#endif
