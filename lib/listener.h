/*
 * listener.h: a listener and its queue of broadcasts (internal).
 *
 * A listener is listening (its listen waits for the server, it sits in
 * its channel's pending list), active (in its route, receiving), or
 * detached (the handle stopped: it only waits to be freed).  Its one timer
 * is the listen's deadline while listening and the pending next's while
 * active.
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
  exp_list node; /* see above; or a list of the stop's */
  exp_bus *bus;  /* a reference held */
  exp_bus_route *route;
  exp_listener_state state;
  int deferred;      /* listening: the timer completes a subscribed listen */
  int cancelled;     /* exp_listener_cancel is running */
  uv_timer_t *timer; /* NULL until needed, and after it is closed */
  uint64_t timeout_ms;
  exp_listener_cb listen_cb;
  void *listen_ud;
  exp_message_cb on_message; /* NULL: queue style */
  void *msg_ud;
  exp_next_cb next_cb; /* the pending next, or NULL */
  void *next_ud;
  exp_list queue; /* exp_message.node, oldest first */
  size_t queued;
  size_t queued_bytes; /* what the queued messages hold (exp_message_bytes) */
  size_t queue_max;
  size_t queue_max_bytes;
  uint64_t max_age_ms;
  uint64_t dropped;
};

/* A listening listener with opts (NULL: defaults); a reference to bus is
 * taken.  NULL when out of memory. */
exp_listener *exp_listener_new(exp_bus *bus, const exp_listen_opts *opts,
                               exp_message_cb on_message, void *msg_ud,
                               exp_listener_cb cb, void *ud);
/* Frees l, its queue and its timer; l is in no list. */
void exp_listener_free(exp_listener *l);

/* (Re)starts l's timer; EXP_ENOMEM. */
int exp_listener_timer_start(exp_listener *l, uint64_t ms, uv_timer_cb cb);
/* Stops it: a queue listener's stays open for its next nexts, so that a
 * next allocates nothing; a callback listener's is closed. */
void exp_listener_timer_stop(exp_listener *l);
/* Closes and frees it. */
void exp_listener_timer_close(exp_listener *l);

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
