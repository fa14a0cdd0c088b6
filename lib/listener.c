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

exp_listener *exp_listener_new(exp_bus *bus, const exp_listen_opts *opts,
                               exp_message_cb on_message, void *msg_ud,
                               exp_listener_cb cb, void *ud) {
  exp_listener *l = exp_calloc(1, sizeof(*l));

  if (l == NULL)
    return NULL;
  exp_list_init(&l->node);
  exp_list_init(&l->queue);
  exp_bus_ref(bus);
  l->bus = bus;
  l->state = EXP_LISTENER_LISTENING;
  l->listen_cb = cb;
  l->listen_ud = ud;
  l->on_message = on_message;
  l->msg_ud = msg_ud;
  l->timeout_ms = opts != NULL && opts->timeout_ms > 0
                      ? opts->timeout_ms
                      : DEFAULT_LISTEN_TIMEOUT_MS;
  l->queue_max =
      opts != NULL && opts->queue_max > 0 ? opts->queue_max : DEFAULT_QUEUE_MAX;
  l->max_age_ms = opts != NULL && opts->max_age_ms > 0 ? opts->max_age_ms
                                                       : DEFAULT_MAX_AGE_MS;
  l->queue_max_bytes = opts != NULL && opts->queue_max_bytes > 0
                           ? opts->queue_max_bytes
                           : DEFAULT_QUEUE_MAX_BYTES;
  return l;
}

static exp_message *pop(exp_listener *l) {
  exp_message *m = EXP_CONTAINER_OF(l->queue.next, exp_message, node);
  exp_list_remove(&m->node);
  l->queued--;
  l->queued_bytes -= exp_message_bytes(m);
  return m;
}

static void clear_queue(exp_listener *l) {
  while (l->queued > 0)
    exp_message_free(pop(l));
}

void exp_listener_free(exp_listener *l) {
  exp_listener_timer_close(l);
  clear_queue(l);
  exp_bus_unref(l->bus);
  exp_free(l);
}

static void free_timer(uv_handle_t *h) {
  exp_free(h);
}

int exp_listener_timer_start(exp_listener *l, uint64_t ms, uv_timer_cb cb) {
  uv_loop_t *loop = l->bus->sdk->loop;

  if (l->timer == NULL) {
    l->timer = exp_malloc(sizeof(*l->timer));
    if (l->timer == NULL)
      return EXP_ENOMEM;
    uv_timer_init(loop, l->timer);
    l->timer->data = l;
  }
  /* A callback may have run long since the loop last read the clock. */
  uv_update_time(loop);
  uv_timer_start(l->timer, cb, ms, 0);
  return 0;
}

void exp_listener_timer_close(exp_listener *l) {
  if (l->timer != NULL)
    uv_close((uv_handle_t *)l->timer, free_timer);
  l->timer = NULL;
}

void exp_listener_timer_stop(exp_listener *l) {
  /* A queue listener keeps its timer for the nexts to come; a callback
   * listener needs none once it listens. */
  if (l->on_message != NULL)
    exp_listener_timer_close(l);
  else if (l->timer != NULL)
    uv_timer_stop(l->timer);
}

/* Drops queued broadcasts older than max_age. */
static void prune(exp_listener *l, uint64_t now) {
  while (l->queued > 0) {
    exp_message *m = EXP_CONTAINER_OF(l->queue.next, exp_message, node);
    if (now - m->env->at <= l->max_age_ms)
      break;
    exp_message_free(pop(l));
    l->dropped++;
  }
}

/* Returns nonzero when the handle stops meanwhile. */
static int complete_next(exp_listener *l, int status, exp_message *msg) {
  exp_sdk *sdk = l->bus->sdk;
  exp_next_cb cb = l->next_cb;
  void *ud = l->next_ud;

  l->next_cb = NULL;
  exp_listener_timer_stop(l);
  exp_sdk_enter(sdk);
  cb(sdk, status, msg, ud);
  return exp_sdk_leave(sdk);
}

int exp_listener_deliver(exp_listener *l, exp_message *msg) {
  exp_sdk *sdk = l->bus->sdk;
  size_t size = exp_message_bytes(msg);

  if (l->on_message != NULL) {
    exp_sdk_enter(sdk);
    l->on_message(sdk, l, msg, l->msg_ud);
    return exp_sdk_leave(sdk);
  }
  prune(l, msg->env->at);
  while (l->queued > 0 &&
         (l->queued >= l->queue_max || l->queued_bytes > l->queue_max_bytes ||
          size > l->queue_max_bytes - l->queued_bytes)) {
    exp_message_free(pop(l));
    l->dropped++;
  }
  exp_list_insert_tail(&l->queue, &msg->node);
  l->queued++;
  l->queued_bytes += size;
  return l->next_cb != NULL ? complete_next(l, 0, pop(l)) : 0;
}

void exp_listener_detach(exp_listener *l, exp_list *notify) {
  l->state = EXP_LISTENER_DETACHED;
  clear_queue(l);
  /* The loop may be closed before the owner frees l. */
  exp_listener_timer_close(l);
  if (l->next_cb != NULL)
    exp_list_insert_tail(notify, &l->node);
}

void exp_listener_cancel_next(exp_listener *l) {
  exp_list_remove(&l->node);
  exp_sdk_error(l->bus->sdk, EXP_ECANCELLED, 0, NULL, "the SDK was stopped");
  complete_next(l, EXP_ECANCELLED, NULL);
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
  l = exp_listener_new(ch->bus, opts, on_message, msg_ud, cb, ud);
  if (l == NULL)
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  return exp_bus_listen(ch->bus, ch->id, name, l);
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
  exp_listener *l = t->data;
  exp_sdk *sdk = l->bus->sdk;

  if (sdk->state != EXP_SDK_STARTED) /* the teardown to come cancels it */
    return;
  prune(l, uv_now(sdk->loop));
  if (l->queued > 0) {
    complete_next(l, 0, pop(l));
    return;
  }
  exp_sdk_error(sdk, EXP_ETIMEOUT, 0, NULL, "no broadcast arrived in time");
  complete_next(l, EXP_ETIMEOUT, NULL);
}

/* Why l cannot take a next or wait now (exp_last_error set), or 0. */
static int check_next(exp_listener *l, exp_sdk *sdk) {
  if (sdk->state != EXP_SDK_STARTED)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL, "the SDK is stopping");
  if (l->on_message != NULL)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         "this listener hands broadcasts to its callback");
  if (l->next_cb != NULL)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         "this listener has a next or wait pending already");
  return 0;
}

int exp_listener_next(exp_listener *l, uint64_t timeout_ms, exp_next_cb cb,
                      void *ud) {
  exp_sdk *sdk = l != NULL ? l->bus->sdk : NULL;
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
  prune(l, uv_now(sdk->loop));
  /* A queued broadcast is handed over from the loop, not from here. */
  if (exp_listener_timer_start(l, l->queued > 0 ? 0 : timeout_ms,
                               on_next_timer) != 0)
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  l->next_cb = cb;
  l->next_ud = ud;
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
  exp_sdk *sdk = l != NULL ? l->bus->sdk : NULL;
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
    prune(l, uv_now(sdk->loop));
    if (l->queued > 0) {
      exp_wait_filled(&w, 0, pop(l));
    } else if (timeout_ms == 0) {
      /* A pending next without a timer: what the pass reads completes it. */
      int r;
      l->next_cb = on_next_wait;
      l->next_ud = &w;
      r = exp_wait_poll(sdk);
      if (!w.done) {
        l->next_cb = NULL;
        w.status = r != 0 ? r
                          : exp_sdk_error(sdk, EXP_ETIMEOUT, 0, NULL,
                                          "no broadcast arrived in time");
      }
    } else if (exp_wait_run(&w, exp_listener_next(l, timeout_ms, on_next_wait,
                                                  &w)) != 0 &&
               !w.done) {
      l->next_cb = NULL; /* l lives: only a completion could have freed it */
      exp_listener_timer_stop(l);
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
  if (l == NULL || l->cancelled)
    return;
  l->cancelled = 1;
  if (l->state == EXP_LISTENER_ACTIVE)
    exp_bus_unroute(l->bus, l);
  else
    exp_list_remove(&l->node);
  l->state = EXP_LISTENER_DETACHED;
  clear_queue(l);
  if (l->next_cb != NULL) {
    exp_sdk_error(l->bus->sdk, EXP_ECANCELLED, 0, NULL,
                  "the listener was cancelled");
    complete_next(l, EXP_ECANCELLED, NULL);
  }
  exp_listener_free(l);
}

uint64_t exp_listener_dropped(const exp_listener *l) {
  return l != NULL ? l->dropped : 0;
}

size_t exp_listener_queued(const exp_listener *l) {
  return l != NULL ? l->queued : 0;
}
