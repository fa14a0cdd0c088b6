/*
 * ws.h: websocket client without I/O (internal).
 *
 * Bytes read from the connection go in (exp_ws_feed), bytes to write come
 * out (exp_ws_take_output), complete text messages are handed to a
 * callback.  It writes the upgrade request, checks the server's 101 (on
 * http.h's parser), then reads and writes frames with wslay's frame API
 * and does the rest itself: reassembly of fragments, UTF-8 checks, pings
 * answered, the close handshake.  TLS, if any, is below.
 */
#ifndef EXP_WS_H
#define EXP_WS_H

#include <stddef.h>
#include <stdint.h>

typedef struct exp_ws exp_ws;

/* A complete text message, lent until the callback returns.  Return 0 to
 * go on, or a negative exp_errno to stop reading: exp_ws_feed returns it.
 * The callback may send and close, not free the websocket. */
typedef int (*exp_ws_text_cb)(void *ud, const char *msg, size_t len);

typedef struct exp_ws_config {
  const char *host;           /* the Host header: "host" or "host:port" */
  const char *target;         /* path and query of the upgrade request */
  const char *const *headers; /* more "Name: value" lines, NULL-terminated,
                                 or NULL */
  size_t max_message;         /* cap on a received message; 0: 32 MiB */
  size_t max_refusal;         /* cap on a refusal's body; 0: 64 KiB */
  exp_ws_text_cb on_text;
  void *ud;
} exp_ws_config;

/* exp_ws_feed's result when the websocket has closed in order (the peer's
 * close frame arrived; the answer, if one is due, is in the output): write
 * the output, then close the connection. */
#define EXP_WS_CLOSED 1

/* Creates a client whose output starts with the upgrade request.  Returns
 * 0, EXP_EOPTIONS (a host, target or header that would break the request;
 * msg says which), EXP_ENOMEM, EXP_ENETWORK (no random bytes), or
 * EXP_ETLS (no libmbedcrypto for the accept's SHA-1, crypto.h). */
int exp_ws_new(const exp_ws_config *cfg, exp_ws **out, char *msg,
               size_t msg_size);
void exp_ws_free(exp_ws *ws);

/* Bytes read from the connection.  Returns 0, EXP_WS_CLOSED, or a negative
 * exp_errno, after which the websocket is done (write what output is left:
 * it may hold a close frame, then close the connection):
 *   EXP_EAPI       the server answered the upgrade with another status
 *                  (exp_ws_status, exp_ws_refusal);
 *   EXP_EPROTOCOL  a bad handshake or frame, invalid UTF-8, a binary or
 *                  oversized message;
 *   EXP_ENOMEM, or what the text callback returned.
 * exp_ws_message tells why.  Once done, every call returns the same. */
int exp_ws_feed(exp_ws *ws, const char *data, size_t len);

/* The peer closed the connection.  Returns EXP_WS_CLOSED after an orderly
 * close, EXP_EAPI for a refusal whose body ran to the end of the
 * connection, else EXP_ENETWORK (cut short, as a reset would). */
int exp_ws_eof(exp_ws *ws);

/* Queues one text message (copied).  0, EXP_ENOMEM, or EXP_ERUNTIME when
 * the websocket is not open. */
int exp_ws_send_text(exp_ws *ws, const char *msg, size_t len);

/* Queues a ping (RFC 6455 5.5.2); the peer's pong comes back as input like
 * any other.  0, EXP_ENOMEM, or EXP_ERUNTIME when the websocket is not
 * open. */
int exp_ws_ping(exp_ws *ws);

/* Starts the close handshake with code (1000 for a normal close) and a
 * reason of at most 123 bytes (NULL for none); feed until EXP_WS_CLOSED.
 * Before the websocket is open it just ends it.  0, EXP_EOPTIONS (reason
 * too long), EXP_ENOMEM. */
int exp_ws_close(exp_ws *ws, uint16_t code, const char *reason);

/* The bytes to write, malloc'd and now the caller's (free them once
 * written); NULL with *len 0 when there are none. */
char *exp_ws_take_output(exp_ws *ws, size_t *len);

/* Whether the handshake is done and no close was sent or received. */
int exp_ws_is_open(const exp_ws *ws);

/* The HTTP status of the upgrade answer, 0 before it is known. */
int exp_ws_status(const exp_ws *ws);

/* After EXP_EAPI: the refusal's body ("" when none or over the cap), NUL-
 * terminated, *len its length; valid until exp_ws_free. */
const char *exp_ws_refusal(const exp_ws *ws, size_t *len);

/* The peer's close code (1005 when its close frame had none), 0 before a
 * close frame arrived; and the reason it gave ("" when none). */
int exp_ws_close_code(const exp_ws *ws);
const char *exp_ws_close_reason(const exp_ws *ws);

/* Why the websocket failed, "" while it did not. */
const char *exp_ws_message(const exp_ws *ws);

#endif
