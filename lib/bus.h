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
 * - A channel handle (exp_channel) is its bus entry, so that its id is
 *   stored once: exp_get_channel of the same id again takes another
 *   reference on it.  An entry lives while handles or routes (listeners,
 *   pending listens) hold it.  The server keeps a subscription after its
 *   last listener is gone, but the entry does not remember it: a later
 *   listen subscribes again and waits for the acknowledgement.
 * - Listens: each waits in a small record, freed when it completes, and
 *   one timer of the bus serves their deadlines, so that a listener holds
 *   no timer of its own.
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

/* A channel: the application's handle and the bus's entry for its id. */
typedef struct exp_channel exp_bus_chan;
typedef struct exp_bus_route exp_bus_route;

struct exp_channel {
  exp_hnode hnode; /* in bus->chans, by id, until the bus stops */
  /* The oldest listen waiting for the ack, in a ring of them (bus.c). */
  struct exp_bus_pending *pending;
  exp_bus *bus;            /* a reference held */
  uint32_t routes;         /* routes on it */
  uint32_t handles;        /* exp_get_channel references */
  unsigned flags : 2;      /* EXP_CHANNEL_* */
  unsigned requested : 1;  /* "subscribe" sent on this socket session */
  unsigned subscribed : 1; /* acknowledged on this socket session */
  unsigned has_all : 1;    /* a catch-all route (name "") is in bus->routes */
  char id[];               /* then the name */
};

/* The listeners of one event name on one channel; name "" for the
 * catch-all (exp_listen with name NULL: names are never empty). */
struct exp_bus_route {
  exp_hnode hnode; /* in bus->routes, by (id, name) */
  exp_bus_chan *chan;
  exp_list listeners; /* exp_listener.node, active ones in listen order */
  uint32_t refs;      /* active listeners, pending listens, deliveries */
  char name[];
};

struct exp_bus {
  unsigned refs;
  exp_sdk *sdk; /* NULL once the handle stopped */
  exp_hmap chans;
  exp_hmap routes;
  exp_list listens;    /* exp_bus_pending.by_deadline, soonest first */
  uint64_t listen_seq; /* numbers the listens, for the timer's pass */
  uv_timer_t *timer;   /* the listens' deadlines; NULL until the first */
  int stopping;        /* bus_stop has begun: the tables are going away */
  exp_list *cursor;    /* the next listener node a broadcast goes to */
  exp_recent recent;   /* ids of broadcasts while two sessions overlap */
};

/* The handle's bus, created on first use and attached to the handle as a
 * layer, whose stop completes what is pending with EXP_ECANCELLED; NULL
 * (exp_last_error set) when out of memory or the handle is not started. */
exp_bus *exp_bus_of(exp_sdk *sdk);
void exp_bus_ref(exp_bus *bus);
void exp_bus_unref(exp_bus *bus);

/* The channel id (name, flags) as a handle: the entry, with one more
 * reference.  NULL when out of memory. */
exp_bus_chan *exp_bus_chan_get(exp_bus *bus, const char *id, const char *name,
                               int flags);
/* Drops a handle's reference (exp_channel_free). */
void exp_bus_chan_release(exp_bus_chan *c);
/* The name, after the id. */
const char *exp_bus_chan_name(const exp_bus_chan *c);

/* Listens on c for event name with the listener l (listener.c made it;
 * the bus takes it over, also on error: it is then freed); cb(ud) gets
 * it when the server acknowledged c, or the failure after timeout_ms.
 * 0 when started, else the error with exp_last_error set. */
int exp_bus_listen(exp_bus_chan *c, const char *name, exp_listener *l,
                   uint64_t timeout_ms, exp_listener_cb cb, void *ud);

/* Takes an active listener out of its route (exp_listener_cancel). */
void exp_bus_unroute(exp_listener *l);

/* Channel entries with routes now, i.e. subscriptions kept (tests). */
size_t exp_bus_chan_count(const exp_bus *bus);

#endif
