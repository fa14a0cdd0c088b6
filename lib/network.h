/*
 * network.h: the real-time socket of an SDK handle (internal).
 *
 * Socket.IO over a websocket (ws.c, eio.c) over a TCP/TLS stream (conn.c),
 * driven on the SDK's loop: it connects to the network host with the
 * current token and, with exponential backoff and full jitter, after every
 * loss.  A new token does not break the socket: a second session opens
 * with it, subscribes every channel, and replaces the first once the
 * server acknowledged them all (the first then closes, delivering what it
 * still had on the way); while both receive, broadcasts may come twice,
 * which on_event says.  It raises online/offline through
 * exp_sdk_set_online; a renewal raises neither.  What travels on the
 * socket (subscribe, broadcast, subscribed) belongs to the channel layer,
 * which registers for it with exp_network_set_events.
 */
#ifndef EXP_NETWORK_H
#define EXP_NETWORK_H

#include <cjson/cJSON.h>

#include "exp.h"

typedef struct exp_network exp_network;

typedef struct exp_network_events {
  /* A Socket.IO session is up: renewal 0 for the first connect and every
   * reconnect (the server has forgotten every subscription), 1 for a
   * renewal's session (the current one still serves).  Send every
   * subscription here: during the call exp_network_send goes to that
   * session alone. */
  void (*on_connected)(void *ud, int renewal);
  /* A server event: its name and the raw JSON text of its first argument
   * (NULL, 0 when it had none), lent for the call.  The argument's extent
   * is checked, its contents are not (eio.h).  size is the length of the
   * message that carried it.  twins: two sessions receive (or did
   * lately), so the same broadcast may come twice. */
  void (*on_event)(void *ud, const char *name, const char *arg, size_t arg_len,
                   size_t size, int twins);
} exp_network_events;

/* Called by exp_start when the enable_network option is set: creates the
 * network and attaches it to sdk as a layer that gates the start. */
int exp_network_attach(exp_sdk *sdk);

/* The handle's network, NULL when the network is disabled. */
exp_network *exp_network_of(exp_sdk *sdk);

/* One listener of socket events (the channel layer); ev is copied. */
void exp_network_set_events(exp_network *n, const exp_network_events *ev,
                            void *ud);

/* Emits event name with arg on the socket (and on a renewal's session
 * once it is connected).  EXP_ENETWORK when not connected (the caller
 * resends from on_connected). */
int exp_network_send(exp_network *n, const char *name, const cJSON *arg);

int exp_network_is_connected(const exp_network *n);

/* The Engine.IO version of the current or next connection: the forced one,
 * else 4 until a server refused it. */
int exp_network_version(const exp_network *n);

#endif
