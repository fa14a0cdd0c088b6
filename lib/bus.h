/*
 * bus.h: the real-time side of an SDK handle (internal): which channel ids
 * the socket has subscribed, which listeners hear which (channel id, event
 * name), and what the socket delivers to them.
 *
 * - Subscriptions: a channel id is subscribed once per socket session, when
 *   a listen needs it; on every (re)connect the ids are subscribed again,
 *   in "subscribe" events of at most EXP_BUS_CHUNK_BYTES each.  A listen
 *   completes when "subscribed" lists its id (at once, on the next loop
 *   turn, when the id is subscribed already) and fails with EXP_ENETWORK
 *   when its timeout passes first; the next listen on that id then sends
 *   "subscribe" again (the server may have dropped it; it is idempotent).
 * - A channel entry lives while it has routes, i.e. listeners or pending
 *   listens.  The server keeps a subscription after its last listener is
 *   gone, but the entry does not remember it: a later listen subscribes
 *   again and waits for the acknowledgement.
 * - Dispatch: routes, hashed by (channel id, event name), hold the active
 *   listeners, so a broadcast costs the listeners of its name only.  The
 *   payload parsed by the network goes to the last listener, copies to the
 *   others.
 * - Lifetime: the bus is reference counted.  Channels, listeners and
 *   envelopes hold a reference, so they outlive the handle safely: when it
 *   stops, bus->sdk becomes NULL, pending listens and nexts complete with
 *   EXP_ECANCELLED, and listeners are detached (their owners still free
 *   them).
 */
#ifndef EXP_BUS_H
#define EXP_BUS_H

#include "common.h"
#include "exp.h"
#include "hmap.h"
#include "recent.h"

typedef struct exp_bus exp_bus;

/* The bound of one "subscribe" frame sent at a (re)connect, well below
 * the server's limit on a message (Socket.IO's default is 1e6 bytes). */
#define EXP_BUS_CHUNK_BYTES 65536

/* One subscribed or subscribing channel id. */
typedef struct exp_bus_chan {
  exp_hnode hnode;  /* in bus->chans, by id */
  exp_list pending; /* exp_listener.node of listens waiting for the ack */
  size_t routes;    /* routes on it: it is freed with the last */
  struct exp_bus_route *all; /* its catch-all route (exp_listen, name NULL) */
  int requested;             /* "subscribe" sent on this socket session */
  int subscribed;            /* acknowledged on this socket session */
  char id[];
} exp_bus_chan;

/* The listeners of one event name on one channel. */
typedef struct exp_bus_route {
  exp_hnode hnode; /* in bus->routes, by (id, name) */
  exp_bus_chan *chan;
  exp_list listeners; /* exp_listener.node, active ones in listen order */
  size_t refs;        /* active listeners plus pending listens */
  char name[];
} exp_bus_route;

struct exp_bus {
  unsigned refs;
  exp_sdk *sdk; /* NULL once the handle stopped */
  exp_hmap chans;
  exp_hmap routes;
  exp_list *cursor;  /* the next listener node a broadcast goes to */
  exp_recent recent; /* ids of broadcasts while two sessions overlap */
};

/* The handle's bus, created on first use and attached to the handle as a
 * layer, whose stop completes what is pending with EXP_ECANCELLED; NULL
 * (exp_last_error set) when out of memory or the handle is not started. */
exp_bus *exp_bus_of(exp_sdk *sdk);
void exp_bus_ref(exp_bus *bus);
void exp_bus_unref(exp_bus *bus);

/* Listens on channel id for event name with the listener l (listener.c
 * made it; the bus takes it over, also on error: it is then freed).
 * 0 when started, else the error with exp_last_error set. */
int exp_bus_listen(exp_bus *bus, const char *id, const char *name,
                   exp_listener *l);

/* Takes an active listener out of its route (exp_listener_cancel). */
void exp_bus_unroute(exp_bus *bus, exp_listener *l);

/* Channel entries held now (tests). */
size_t exp_bus_chan_count(const exp_bus *bus);

#endif
