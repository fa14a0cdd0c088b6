/*
 * http_client.h: HTTP/1.1 client on a libuv loop (internal).
 *
 * Keep-alive connections pooled per origin, plain TCP or TLS (mbedtls),
 * Content-Length and chunked bodies, a deadline on every request, DNS
 * through uv_getaddrinfo.  Protocol work lives in http.c (bytes in, bytes
 * out) and tls.c; this file's .c is the thin libuv layer.
 */
#ifndef EXP_HTTP_CLIENT_H
#define EXP_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "url.h"

typedef struct exp_http exp_http;
typedef struct exp_http_req exp_http_req;

typedef struct exp_http_config {
  const char *ca_file;         /* PEM bundle; NULL: the system bundle */
  int tls_verify;              /* 0 turns certificate and host checks off */
  size_t max_body;             /* response bodies above are EXP_ETOOBIG;
                                  0: 32 MiB */
  uint64_t default_timeout_ms; /* used when a request says 0; 0: 10 s */
  size_t max_idle_per_origin;  /* idle keep-alive connections kept; 0: 4 */
} exp_http_config;

typedef struct exp_http_response {
  int status;               /* HTTP status code */
  const char *body;         /* NUL-terminated; "" when empty */
  size_t body_len;          /* without the NUL */
  const char *content_type; /* NULL when absent */
} exp_http_response;

/* err: 0 with res set (whatever the status), or EXP_ENETWORK, EXP_ETLS,
 * EXP_ETIMEOUT, EXP_ECANCELLED, EXP_EPROTOCOL, EXP_ETOOBIG, EXP_ENOMEM with
 * res NULL and msg saying what happened.  res and msg are lent for the
 * duration of the callback. */
typedef void (*exp_http_cb)(int err, const exp_http_response *res,
                            const char *msg, void *ud);

/* Where a request goes is url, or, for a caller that sends many to one
 * place, origin and target: origin parsed once (its scheme, host and port
 * are used, not its target) and target the path and query. */
typedef struct exp_http_request {
  const char *method;
  const char *url;            /* absolute http:// or https:// URL */
  const exp_url *origin;      /* when not NULL, instead of url */
  const char *target;         /* with origin: "/path?query" */
  const char *const *headers; /* "Name: value", NULL-terminated */
  const char *const *trusted; /* more, checked by the caller: see
                                 exp_http_write_request_trusted */
  const char *body;           /* copied; NULL for none */
  size_t body_len;
  uint64_t timeout_ms; /* 0: config default */
  /* When not NULL: what exp_http_serialise made of this request, sent as
   * it is (copied), so that a request made again and again is written
   * once; method and the destination are still read. */
  const char *wire;
  size_t wire_len;
  int wire_lent; /* wire stays valid until cb runs: not copied */
  int headless;  /* no header of the answer is kept: content_type NULL */
} exp_http_request;

/* NULL when out of memory (msg set). */
exp_http *exp_http_new(uv_loop_t *loop, const exp_http_config *cfg, char *msg,
                       size_t msg_size);

/* Starts a request.  Returns 0 and calls cb exactly once later, or returns
 * an error (bad URL, target or header: EXP_EOPTIONS; EXP_ENOMEM;
 * EXP_ECANCELLED from a callback run by exp_http_close) and never calls cb.
 * *out, when given, lets the caller cancel until cb runs.  The client adds
 * Host, Content-Length (when body is set, and 0 for a POST, PUT or PATCH
 * without), Connection: keep-alive and User-Agent (unless given).
 * At most 6 connections per origin; further requests wait for one.  A
 * request whose reused keep-alive connection fails before any byte of the
 * answer is retried once on a new connection. */
int exp_http_send(exp_http *h, const exp_http_request *r, exp_http_cb cb,
                  void *ud, exp_http_req **out);

/* The bytes exp_http_send writes for r (whose wire is ignored), into one
 * buffer (*out, *out_len) the caller frees: 0, EXP_ENOMEM, or EXP_EOPTIONS
 * with msg for a bad URL, target or header. */
int exp_http_serialise(const exp_http_request *r, char **out, size_t *out_len,
                       char *msg, size_t msg_size);

/* cb runs now with EXP_ECANCELLED; the handle is then invalid.  Safe from
 * any callback of the client. */
void exp_http_cancel(exp_http_req *req);

/* The client's TLS settings, for other connections to the same server such
 * as the websocket.  The CAs are parsed on the first call, so that only a
 * client that speaks TLS pays for them; *err 0, or NULL with msg and *err
 * EXP_ENOMEM or EXP_ETLS when they cannot be read.  Lent: valid until
 * exp_http_close, though a session made from it keeps it alive. */
struct exp_tls_config *exp_http_tls_config(exp_http *h, int *err, char *msg,
                                           size_t msg_size);

/* Cancels every request (callbacks run now, EXP_ECANCELLED), closes every
 * connection, and frees the client once libuv has closed its handles.
 * Safe from any callback of the client. */
void exp_http_close(exp_http *h);

#endif
