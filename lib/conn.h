/*
 * conn.h: one TCP connection on a libuv loop, optionally through TLS
 * (internal).  Used by the HTTP client and the websocket.
 *
 * exp_conn_open resolves the host (uv_getaddrinfo), tries each address in
 * turn, runs the TLS handshake when asked, then reports on_connect.
 * Plaintext arrives through on_data; on_end says the stream is over.  Every
 * connection, whatever happened to it, is released by exactly one
 * exp_conn_close; callbacks may call anything here, exp_conn_close
 * included.
 */
#ifndef EXP_CONN_H
#define EXP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "tls.h"

typedef struct exp_conn exp_conn;

typedef struct exp_conn_callbacks {
  /* Once: err 0 when connected (and the TLS handshake done), else
   * EXP_ENETWORK, EXP_ETLS or EXP_ENOMEM with msg. */
  void (*on_connect)(void *ud, int err, const char *msg);
  /* Plaintext from the peer, lent for the call. */
  void (*on_data)(void *ud, const char *data, size_t len);
  /* Once, after a successful connect: err 0 when the peer closed cleanly,
   * else EXP_ENETWORK, EXP_ETLS or EXP_ENOMEM with msg.  No on_data
   * follows. */
  void (*on_end)(void *ud, int err, const char *msg);
} exp_conn_callbacks;

/* Starts connecting to host:port; with tls set the stream is TLS with host
 * checks from that config.  cb is copied.  Returns 0 and *out, or
 * EXP_ENOMEM, EXP_ETLS, EXP_ENETWORK (msg set; nothing to close).  Even a
 * failure to resolve is reported later, through on_connect. */
int exp_conn_open(uv_loop_t *loop, const char *host, uint16_t port,
                  exp_tls_config *tls, const exp_conn_callbacks *cb, void *ud,
                  exp_conn **out, char *msg, size_t msg_size);

/* Sends len bytes of plaintext.  data is borrowed: what the socket does
 * not take at once is copied (or, with TLS, encrypted) before the call
 * returns.  0, EXP_ERUNTIME before on_connect reported success,
 * EXP_ENETWORK after the stream ended, EXP_ETLS, EXP_ENOMEM.  A later send
 * failure is reported by on_end. */
int exp_conn_write(exp_conn *c, const char *data, size_t len);

/* Bytes written but not yet taken by the socket (the peer does not read
 * them fast enough). */
size_t exp_conn_backlog(const exp_conn *c);

/* Stops all callbacks at once, sends a TLS close_notify when connected,
 * and closes the socket; on_close(ud) runs when libuv has released
 * everything (on_close may be NULL). */
void exp_conn_close(exp_conn *c, void (*on_close)(void *ud));

#endif
