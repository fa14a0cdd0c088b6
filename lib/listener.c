/* listener.c: listening, the listener's queue, next and wait, cancel. */
#include "listener.h"

#include "channel.h"
#include "message.h"
#include "network.h"
#include "sdk.h"
#include "waiter.h"

#define DEFAULT_QUEUE_MAX 1000
#define DEFAULT_QUEUE_MAX_BYTES ((size_t)64 << 20)
#define DEFAULT_MAX_AGE_MS 60000
#define DEFAULT_LISTEN_TIMEOUT_MS 10000

/* ------------------------------------------------------------ internals */

/* l's queue side: only for a queue listener (on_message NULL). */
static exp_queue_listener *queue_of(exp_listener *l) {
  return EXP_CONTAINER_OF(l, exp_queue_listener, l);
}

exp_listener *exp_listener_new(exp_bus *bus, const exp_listen_opts *opts,
                               exp_message_cb on_message, void *msg_ud) {
  exp_queue_listener *q;
  exp_listener *l;

  if (on_message != NULL) {
    l = exp_calloc(1, sizeof(*l));
  } else {
    q = exp_calloc(1, sizeof(*q));
    if (q == NULL)
      return NULL;
    exp_list_init(&q->queue);
    q->queue_max = opts != NULL && opts->queue_max > 0 ? opts->queue_max
                                                       : DEFAULT_QUEUE_MAX;
    q->max_age_ms = opts != NULL && opts->max_age_ms > 0 ? opts->max_age_ms
                                                         : DEFAULT_MAX_AGE_MS;
    q->queue_max_bytes = opts != NULL && opts->queue_max_bytes > 0
                             ? opts->queue_max_bytes
                             : DEFAULT_QUEUE_MAX_BYTES;
    exp_bus_ref(bus);
    q->bus = bus;
    l = &q->l;
  }
  if (l == NULL)
    return NULL;
  exp_list_init(&l->node);
  l->state = EXP_LISTENER_LISTENING;
  l->on_message = on_message;
  l->msg_ud = msg_ud;
  return l;
}

/* The handle l works for; NULL once it stopped (a callback listener: once
 * it is detached). */
static exp_sdk *sdk_of(exp_listener *l) {
  if (l->on_message == NULL)
    return queue_of(l)->bus->sdk;
  return l->route != NULL ? l->route->chan->bus->sdk : NULL;
}

static exp_message *pop(exp_queue_listener *q) {
  exp_message *m = EXP_CONTAINER_OF(q->queue.next, exp_message, node);
  exp_list_remove(&m->node);
  q->queued--;
  q->queued_bytes -= exp_message_bytes(m);
  return m;
}

static void free_timer(uv_handle_t *h) {
  exp_free(h);
}

/* Frees the queue and closes the timer of a queue listener. */
static void clear(exp_listener *l) {
  exp_queue_listener *q;

  if (l->on_message != NULL)
    return;
  q = queue_of(l);
  while (q->queued > 0)
    exp_message_free(pop(q));
  if (q->timer != NULL)
    uv_close((uv_handle_t *)q->timer, free_timer);
  q->timer = NULL;
}

void exp_listener_free(exp_listener *l) {
  clear(l);
  if (l->on_message == NULL)
    exp_bus_unref(queue_of(l)->bus);
  exp_free(l->on_message != NULL ? (void *)l : (void *)queue_of(l));
}

/* (Re)starts q's timer, made on the first next and kept for the next ones,
 * so that a next allocates nothing; EXP_ENOMEM. */
static int timer_start(exp_queue_listener *q, uint64_t ms, uv_timer_cb cb) {
  uv_loop_t *loop = q->bus->sdk->loop;

  if (q->timer == NULL) {
    q->timer = exp_malloc(sizeof(*q->timer));
    if (q->timer == NULL)
      return EXP_ENOMEM;
    uv_timer_init(loop, q->timer);
    q->timer->data = q;
  }
  /* A callback may have run long since the loop last read the clock. */
  uv_update_time(loop);
  uv_timer_start(q->timer, cb, ms, 0);
  return 0;
}

static void timer_stop(exp_queue_listener *q) {
  if (q->timer != NULL)
    uv_timer_stop(q->timer);
}

/* Drops queued broadcasts older than max_age. */
static void prune(exp_queue_listener *q, uint64_t now) {
  while (q->queued > 0) {
    exp_message *m = EXP_CONTAINER_OF(q->queue.next, exp_message, node);
    if (now - m->env->at <= q->max_age_ms)
      break;
    exp_message_free(pop(q));
    q->l.dropped++;
  }
}

/* Returns nonzero when the handle stops meanwhile. */
static int complete_next(exp_queue_listener *q, int status, exp_message *msg) {
  exp_sdk *sdk = q->bus->sdk;
  exp_next_cb cb = q->next_cb;
  void *ud = q->next_ud;

  q->next_cb = NULL;
  timer_stop(q);
  exp_sdk_enter(sdk);
  cb(sdk, status, msg, ud);
  return exp_sdk_leave(sdk);
}

int exp_listener_deliver(exp_listener *l, exp_message *msg) {
  exp_sdk *sdk = sdk_of(l);
  exp_queue_listener *q;
  size_t size;

  if (l->on_message != NULL) {
    exp_sdk_enter(sdk);
    l->on_message(sdk, l, msg, l->msg_ud);
    return exp_sdk_leave(sdk);
  }
  q = queue_of(l);
  size = exp_message_bytes(msg);
  prune(q, msg->env->at);
  while (q->queued > 0 &&
         (q->queued >= q->queue_max || q->queued_bytes > q->queue_max_bytes ||
          size > q->queue_max_bytes - q->queued_bytes)) {
    exp_message_free(pop(q));
    l->dropped++;
  }
  exp_list_insert_tail(&q->queue, &msg->node);
  q->queued++;
  q->queued_bytes += size;
  return q->next_cb != NULL ? complete_next(q, 0, pop(q)) : 0;
}

void exp_listener_detach(exp_listener *l, exp_list *notify) {
  l->state = EXP_LISTENER_DETACHED;
  /* The loop may be closed before the owner frees l. */
  clear(l);
  if (l->on_message == NULL && queue_of(l)->next_cb != NULL)
    exp_list_insert_tail(notify, &l->node);
}

void exp_listener_cancel_next(exp_listener *l) {
  exp_list_remove(&l->node);
  exp_sdk_error(sdk_of(l), EXP_ECANCELLED, 0, NULL, "the SDK was stopped");
  complete_next(queue_of(l), EXP_ECANCELLED, NULL);
}

/* --------------------------------------------------------------- listen */

static int is_consumer_app(const exp_sdk *sdk) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(exp_auth(sdk), "identity");
  const char *type =
      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(id, "type"));
  return type != NULL && strcmp(type, "consumerApp") == 0;
}

int exp_listen(exp_channel *ch, const char *name, const exp_listen_opts *opts,
               exp_message_cb on_message, void *msg_ud, exp_listener_cb cb,
               void *ud) {
  exp_sdk *sdk = ch != NULL ? ch->bus->sdk : NULL;
  exp_listener *l;

  if (ch == NULL)
    return EXP_EOPTIONS;
  if (sdk == NULL)
    return EXP_ERUNTIME;
  if ((name != NULL && name[0] == '\0') || cb == NULL)
    return exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL,
                         "a listen needs a callback, and an event name that "
                         "is not empty (or NULL for every event)");
  if (sdk->state != EXP_SDK_STARTED)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL, "the SDK is stopping");
  /* The server would leave the subscription out without a word. */
  if (!(ch->flags & EXP_CHANNEL_CONSUMER) && is_consumer_app(sdk))
    return exp_sdk_error(sdk, EXP_EOPTIONS, 0, "network.consumer",
                         "A consumer app may only listen on consumer "
                         "channels.");
  if (exp_network_of(sdk) == NULL)
    return exp_sdk_error(sdk, EXP_ENETWORK, 0, NULL,
                         "cannot listen: the network is disabled "
                         "(enable_network)");
  l = exp_listener_new(ch->bus, opts, on_message, msg_ud);
  if (l == NULL)
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  return exp_bus_listen(ch, name, l,
                        opts != NULL && opts->timeout_ms > 0
                            ? opts->timeout_ms
                            : DEFAULT_LISTEN_TIMEOUT_MS,
                        cb, ud);
}

static void on_listen_wait(exp_sdk *sdk, int status, exp_listener *l,
                           void *ud) {
  EXP_UNUSED(sdk);
  exp_wait_filled(ud, status, l);
}

int exp_listen_wait(exp_channel *ch, const char *name,
                    const exp_listen_opts *opts, exp_message_cb on_message,
                    void *msg_ud, exp_listener **out) {
  exp_sdk *sdk = ch != NULL ? ch->bus->sdk : NULL;
  exp_waiter w;
  exp_listener *l;

  if (exp_wait_begin_on(&w, ch, sdk) == 0 && out == NULL)
    w.status = exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL,
                             "exp_listen_wait needs an out-parameter");
  if (w.status == 0)
    exp_wait_run(
        &w, exp_listen(ch, name, opts, on_message, msg_ud, on_listen_wait, &w));
  l = w.result;
  if (w.status != 0) {
    exp_listener_cancel(l);
    l = NULL;
  }
  if (out != NULL)
    *out = l;
  return w.status;
}

/* ----------------------------------------------------------- next, wait */

static void on_next_timer(uv_timer_t *t) {
  exp_queue_listener *q = t->data;
  exp_sdk *sdk = q->bus->sdk;

  if (sdk->state != EXP_SDK_STARTED) /* the teardown to come cancels it */
    return;
  prune(q, uv_now(sdk->loop));
  if (q->queued > 0) {
    complete_next(q, 0, pop(q));
    return;
  }
  exp_sdk_error(sdk, EXP_ETIMEOUT, 0, NULL, "no broadcast arrived in time");
  complete_next(q, EXP_ETIMEOUT, NULL);
}

/* Why l cannot take a next or wait now (exp_last_error set), or 0. */
static int check_next(exp_listener *l, exp_sdk *sdk) {
  if (sdk->state != EXP_SDK_STARTED)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL, "the SDK is stopping");
  if (l->on_message != NULL)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         "this listener hands broadcasts to its callback");
  if (queue_of(l)->next_cb != NULL)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         "this listener has a next or wait pending already");
  return 0;
}

int exp_listener_next(exp_listener *l, uint64_t timeout_ms, exp_next_cb cb,
                      void *ud) {
  exp_sdk *sdk = l != NULL ? sdk_of(l) : NULL;
  exp_queue_listener *q;
  int r;

  if (l == NULL)
    return EXP_EOPTIONS;
  if (sdk == NULL || l->state != EXP_LISTENER_ACTIVE)
    return EXP_ERUNTIME;
  if (cb == NULL)
    return exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL,
                         "exp_listener_next needs a callback");
  if ((r = check_next(l, sdk)) != 0)
    return r;
  q = queue_of(l);
  prune(q, uv_now(sdk->loop));
  /* A queued broadcast is handed over from the loop, not from here. */
  if (timer_start(q, q->queued > 0 ? 0 : timeout_ms, on_next_timer) != 0)
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  q->next_cb = cb;
  q->next_ud = ud;
  return 0;
}

static void on_next_wait(exp_sdk *sdk, int status, exp_message *msg, void *ud) {
  EXP_UNUSED(sdk);
  exp_wait_filled(ud, status, msg);
}

/* Waits for the next broadcast as the other twins do, with two
 * differences: one already queued is taken at once, and timeout 0 runs
 * one pass of the loop first, so that a broadcast already waiting in the
 * socket is returned rather than left for the next call. */
int exp_listener_wait(exp_listener *l, uint64_t timeout_ms, exp_message **out) {
  exp_sdk *sdk = l != NULL ? sdk_of(l) : NULL;
  exp_queue_listener *q;
  exp_message *msg;
  exp_waiter w;

  if (exp_wait_begin_on(&w, l, sdk) == 0 && l->state != EXP_LISTENER_ACTIVE)
    w.status = EXP_ERUNTIME;
  else if (w.status == 0 && out == NULL)
    w.status = exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL,
                             "exp_listener_wait needs an out-parameter");
  else if (w.status == 0)
    w.status = check_next(l, sdk);
  if (w.status == 0) {
    q = queue_of(l);
    prune(q, uv_now(sdk->loop));
    if (q->queued > 0) {
      exp_wait_filled(&w, 0, pop(q));
    } else if (timeout_ms == 0) {
      /* A pending next without a timer: what the pass reads completes it. */
      int r;
      q->next_cb = on_next_wait;
      q->next_ud = &w;
      r = exp_wait_poll(sdk);
      if (!w.done) {
        q->next_cb = NULL;
        w.status = r != 0 ? r
                          : exp_sdk_error(sdk, EXP_ETIMEOUT, 0, NULL,
                                          "no broadcast arrived in time");
      }
    } else if (exp_wait_run(&w, exp_listener_next(l, timeout_ms, on_next_wait,
                                                  &w)) != 0 &&
               !w.done) {
      q->next_cb = NULL; /* l lives: only a completion could have freed it */
      timer_stop(q);
    }
  }
  msg = w.result;
  if (w.status != 0) {
    exp_message_free(msg);
    msg = NULL;
  }
  if (out != NULL)
    *out = msg;
  return w.status;
}

/* -------------------------------------------------------- cancel, stats */

void exp_listener_cancel(exp_listener *l) {
  exp_queue_listener *q;

  if (l == NULL || l->cancelled)
    return;
  l->cancelled = 1;
  if (l->state == EXP_LISTENER_ACTIVE)
    exp_bus_unroute(l);
  else
    exp_list_remove(&l->node);
  l->state = EXP_LISTENER_DETACHED;
  if (l->on_message == NULL) {
    q = queue_of(l);
    while (q->queued > 0)
      exp_message_free(pop(q));
    if (q->next_cb != NULL) {
      exp_sdk_error(q->bus->sdk, EXP_ECANCELLED, 0, NULL,
                    "the listener was cancelled");
      complete_next(q, EXP_ECANCELLED, NULL);
    }
  }
  exp_listener_free(l);
}

uint64_t exp_listener_dropped(const exp_listener *l) {
  return l != NULL ? l->dropped : 0;
}

size_t exp_listener_queued(const exp_listener *l) {
  return l != NULL && l->on_message == NULL
             ? EXP_CONTAINER_OF(l, exp_queue_listener, l)->queued
             : 0;
}
