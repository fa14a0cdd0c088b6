/*
 * listener.h: a listener and its queue of broadcasts (internal).
 *
 * A listener is listening (its listen waits for the server in a record of
 * the bus), active (in its route, receiving), or detached (the handle
 * stopped: it only waits to be freed).  A callback listener is the small
 * struct alone; a queue listener (on_message NULL) is an
 * exp_queue_listener, which adds the queue and the one timer of its
 * pending next.
 */
#ifndef EXP_LISTENER_H
#define EXP_LISTENER_H

#include "bus.h"
#include "exp.h"

typedef enum exp_listener_state {
  EXP_LISTENER_LISTENING,
  EXP_LISTENER_ACTIVE,
  EXP_LISTENER_DETACHED
} exp_listener_state;

struct exp_listener {
  exp_list node;             /* active: in its route; or a list of the stop's */
  exp_bus_route *route;      /* NULL once detached: the bus via route->chan */
  exp_message_cb on_message; /* NULL: queue style (exp_queue_listener) */
  void *msg_ud;
  uint64_t dropped;
  uint8_t state;     /* exp_listener_state */
  uint8_t cancelled; /* exp_listener_cancel is running */
};

typedef struct exp_queue_listener {
  exp_listener l;
  exp_bus *bus;        /* a reference held: a next outlives the route */
  uv_timer_t *timer;   /* NULL until a next needs it, and after closing */
  exp_next_cb next_cb; /* the pending next, or NULL */
  void *next_ud;
  exp_list queue; /* exp_message.node, oldest first */
  size_t queued;
  size_t queued_bytes; /* what the queued messages hold (exp_message_bytes) */
  size_t queue_max;
  size_t queue_max_bytes;
  uint64_t max_age_ms;
} exp_queue_listener;

/* A listening listener with opts (NULL: defaults); a queue listener takes
 * a reference to bus.  NULL when out of memory. */
exp_listener *exp_listener_new(exp_bus *bus, const exp_listen_opts *opts,
                               exp_message_cb on_message, void *msg_ud);
/* Frees l, its queue and its timer; l is in no list. */
void exp_listener_free(exp_listener *l);

/* Hands msg (taken over) to an active listener: its callback, its pending
 * next, or its queue.  Returns nonzero when the handle stops meanwhile. */
int exp_listener_deliver(exp_listener *l, exp_message *msg);

/* At the handle's stop: l is out of every bus list; frees its queue and
 * timer and, when a next is pending, puts l in notify (the stop then calls
 * exp_listener_cancel_next). */
void exp_listener_detach(exp_listener *l, exp_list *notify);
/* Completes the pending next with EXP_ECANCELLED. */
void exp_listener_cancel_next(exp_listener *l);

#endif
