/* sdk.c: the handle: errors, options, events, callbacks and deferred
 * completions, the layers above it, and stop. */
#include "sdk.h"

#include <stdio.h>

#include "loop_state.h"

struct exp_handler {
  exp_list node;
  exp_sdk *sdk;
  exp_event ev;
  exp_event_cb cb;
  void *ud;
  int dead; /* removed during an emit; unlinked after it */
};

/* A function exp_sdk_defer runs later. */
typedef struct later {
  exp_list node; /* in sdk->later */
  exp_sdk_later_cb fn;
  void *arg;
} later;

/* ---------------------------------------------------------------- errors */

int exp_sdk_error(exp_sdk *sdk, int code, int http_status, const char *api_code,
                  const char *fmt, ...) {
  va_list ap;
  sdk->err.code = code;
  sdk->err.http_status = http_status;
  sdk->err.api_code = NULL;
  if (api_code != NULL && api_code[0] != '\0') {
    snprintf(sdk->err_api_code, sizeof(sdk->err_api_code), "%s", api_code);
    sdk->err.api_code = sdk->err_api_code;
  }
  va_start(ap, fmt);
  vsnprintf(sdk->err_message, sizeof(sdk->err_message), fmt, ap);
  va_end(ap);
  sdk->err.message = sdk->err_message;
  return code;
}

const exp_error_info *exp_last_error(const exp_sdk *sdk) {
  static const exp_error_info no_handle = {EXP_EOPTIONS, 0, NULL,
                                           "no SDK handle (NULL)"};
  return sdk != NULL ? &sdk->err : &no_handle;
}

void exp_clear_error(exp_sdk *sdk) {
  if (sdk == NULL)
    return;
  sdk->err.code = EXP_OK;
  sdk->err.http_status = 0;
  sdk->err.api_code = NULL;
  sdk->err_message[0] = '\0';
}

int64_t exp_sdk_now(void) {
  uv_timeval64_t tv;
  uv_gettimeofday(&tv);
  return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ------------------------------------------------------- handle, options */

exp_sdk *exp_new(uv_loop_t *loop) {
  exp_sdk *sdk;
  exp_alloc_used();
  sdk = exp_calloc(1, sizeof(*sdk));
  if (sdk == NULL)
    return NULL;
  if (loop == NULL) {
    if (uv_loop_init(&sdk->own_loop) != 0) {
      exp_free(sdk);
      return NULL;
    }
    loop = &sdk->own_loop;
  }
  sdk->ls = exp_loop_state_get(loop, loop == &sdk->own_loop);
  if (sdk->ls == NULL) {
    if (loop == &sdk->own_loop)
      uv_loop_close(loop);
    exp_free(sdk);
    return NULL;
  }
  sdk->loop = loop;
  exp_options_init(&sdk->opt);
  exp_logger_init(&sdk->log);
  exp_list_init(&sdk->handlers);
  exp_list_init(&sdk->later);
  sdk->err.message = sdk->err_message;
  uv_timer_init(loop, &sdk->auth_timer);
  uv_timer_init(loop, &sdk->pump_timer);
  uv_idle_init(loop, &sdk->later_idle);
  sdk->auth_timer.data = sdk;
  sdk->pump_timer.data = sdk;
  sdk->later_idle.data = sdk;
  return sdk;
}

uv_loop_t *exp_loop(const exp_sdk *sdk) {
  return sdk != NULL ? sdk->loop : NULL;
}

int exp_set_str(exp_sdk *sdk, exp_option opt, const char *value) {
  char msg[200];
  int r;
  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (sdk->state != EXP_SDK_NEW)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         "options are set before exp_start");
  r = exp_options_set_str(&sdk->opt, (int)opt, value, msg, sizeof(msg));
  return r == 0 ? 0 : exp_sdk_error(sdk, r, 0, NULL, "%s", msg);
}

int exp_set_int(exp_sdk *sdk, exp_option opt, int64_t value) {
  char msg[200];
  int r;
  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (sdk->state != EXP_SDK_NEW)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         "options are set before exp_start");
  r = exp_options_set_int(&sdk->opt, (int)opt, value, msg, sizeof(msg));
  return r == 0 ? 0 : exp_sdk_error(sdk, r, 0, NULL, "%s", msg);
}

int exp_set_options(exp_sdk *sdk, ...) {
  const char *key;
  char msg[200];
  va_list ap;
  int r = 0;

  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (sdk->state != EXP_SDK_NEW)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         "options are set before exp_start");
  va_start(ap, sdk);
  while (r == 0 && (key = va_arg(ap, const char *)) != NULL)
    r = exp_options_set_key(&sdk->opt, key, va_arg(ap, const char *), msg,
                            sizeof(msg));
  va_end(ap);
  return r == 0 ? 0 : exp_sdk_error(sdk, r, 0, NULL, "%s", msg);
}

void exp_set_log(exp_sdk *sdk, exp_log_level min, exp_log_cb cb, void *ud) {
  if (sdk == NULL)
    return;
  sdk->log.min = min;
  sdk->log.cb = cb;
  sdk->log.ud = ud;
}

/* ------------------------------------------------------------ callbacks */

void exp_sdk_enter(exp_sdk *sdk) {
  sdk->depth++;
  sdk->ls->depth++;
}

int exp_sdk_leave(exp_sdk *sdk) {
  sdk->ls->depth--;
  if (--sdk->depth == 0 && sdk->pumping == 0 && sdk->stop_requested &&
      !sdk->torn_down)
    exp_sdk_teardown(sdk);
  return sdk->state == EXP_SDK_STOPPING;
}

/* Runs the functions deferred before this pass; those deferred meanwhile
 * wait for the next (an idle handle keeps the loop from blocking until
 * then). */
static void on_later(uv_idle_t *idle) {
  exp_sdk *sdk = idle->data;
  exp_list *last = sdk->later.prev;
  int more = 1;

  while (more && !exp_list_empty(&sdk->later) &&
         sdk->state == EXP_SDK_STARTED) {
    later *l = EXP_CONTAINER_OF(sdk->later.next, later, node);
    exp_sdk_later_cb fn = l->fn;
    void *arg = l->arg;
    more = &l->node != last;
    exp_list_remove(&l->node);
    exp_free(l);
    exp_sdk_enter(sdk);
    fn(sdk, 0, arg);
    /* Stopping: the teardown cancels the rest, or has already. */
    if (exp_sdk_leave(sdk))
      return;
  }
  if (exp_list_empty(&sdk->later))
    uv_idle_stop(idle);
}

int exp_sdk_defer(exp_sdk *sdk, exp_sdk_later_cb fn, void *arg) {
  later *l;
  if (sdk->state != EXP_SDK_STARTED)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL, "%s",
                         sdk->state == EXP_SDK_NEW
                             ? "this needs exp_start first"
                             : "the SDK is stopping");
  l = exp_malloc(sizeof(*l));
  if (l == NULL)
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  l->fn = fn;
  l->arg = arg;
  exp_list_insert_tail(&sdk->later, &l->node);
  uv_idle_start(&sdk->later_idle, on_later);
  return 0;
}

/* Calls every deferred function with EXP_ECANCELLED (they cannot defer
 * more: the handle is stopping). */
static void cancel_later(exp_sdk *sdk) {
  while (!exp_list_empty(&sdk->later)) {
    later *l = EXP_CONTAINER_OF(sdk->later.next, later, node);
    exp_sdk_later_cb fn = l->fn;
    void *arg = l->arg;
    exp_list_remove(&l->node);
    exp_free(l);
    exp_sdk_error(sdk, EXP_ECANCELLED, 0, NULL, "the SDK was stopped");
    fn(sdk, EXP_ECANCELLED, arg);
  }
}

/* ---------------------------------------------------------------- events */

exp_handler *exp_on(exp_sdk *sdk, exp_event ev, exp_event_cb cb, void *ud) {
  exp_handler *h;
  if (sdk == NULL || cb == NULL || (int)ev < EXP_EVENT_ONLINE ||
      ev > EXP_EVENT_PAIRED)
    return NULL;
  h = exp_calloc(1, sizeof(*h));
  if (h == NULL)
    return NULL;
  h->sdk = sdk;
  h->ev = ev;
  h->cb = cb;
  h->ud = ud;
  exp_list_insert_tail(&sdk->handlers, &h->node);
  return h;
}

void exp_off(exp_handler *h) {
  if (h == NULL)
    return;
  if (h->sdk->emitting > 0) {
    h->dead = 1;
    return;
  }
  exp_list_remove(&h->node);
  exp_free(h);
}

void exp_sdk_emit(exp_sdk *sdk, exp_event ev, const cJSON *data) {
  exp_list *last = sdk->handlers.prev, *n, *next;

  if (exp_list_empty(&sdk->handlers))
    return;
  exp_sdk_enter(sdk);
  sdk->emitting++;
  /* Handlers added meanwhile come after last and wait for the next emit. */
  for (n = sdk->handlers.next;; n = next) {
    exp_handler *h = EXP_CONTAINER_OF(n, exp_handler, node);
    next = n->next;
    if (!h->dead && h->ev == ev)
      h->cb(sdk, ev, data, h->ud);
    if (n == last || sdk->stop_requested)
      break;
  }
  if (--sdk->emitting == 0) {
    for (n = sdk->handlers.next; n != &sdk->handlers; n = next) {
      exp_handler *h = EXP_CONTAINER_OF(n, exp_handler, node);
      next = n->next;
      if (h->dead) {
        exp_list_remove(n);
        exp_free(h);
      }
    }
  }
  exp_sdk_leave(sdk);
}

/* ---------------------------------------------------------------- layers */

int exp_sdk_attach(exp_sdk *sdk, const exp_layer_ops *ops, void *self) {
  if (sdk->state == EXP_SDK_STOPPING ||
      sdk->nlayers == (int)EXP_ARRAY_SIZE(sdk->layers))
    return EXP_ERUNTIME;
  sdk->layers[sdk->nlayers].ops = ops;
  sdk->layers[sdk->nlayers].self = self;
  sdk->nlayers++;
  return 0;
}

void *exp_sdk_layer(const exp_sdk *sdk, const exp_layer_ops *ops) {
  for (int i = 0; i < sdk->nlayers; i++)
    if (sdk->layers[i].ops == ops)
      return sdk->layers[i].self;
  return NULL;
}

/* A layer a hook attaches (a channel made by pairing's) starts with the
 * current payload: the loop stops at the count it began with. */
void exp_sdk_layers_auth(exp_sdk *sdk, const cJSON *payload) {
  int n = sdk->nlayers;
  for (int i = 0; i < n && sdk->state != EXP_SDK_STOPPING; i++)
    if (sdk->layers[i].ops->auth != NULL)
      sdk->layers[i].ops->auth(sdk->layers[i].self, payload);
}

void exp_sdk_layers_release(exp_sdk *sdk, const exp_auth_out *why) {
  int n = sdk->nlayers;
  for (int i = 0; i < n && sdk->state != EXP_SDK_STOPPING; i++)
    if (sdk->layers[i].ops->release != NULL)
      sdk->layers[i].ops->release(sdk->layers[i].self, why);
}

int exp_sdk_start_gated(const exp_sdk *sdk) {
  for (int i = 0; i < sdk->nlayers; i++)
    if (sdk->layers[i].ops->gates_start)
      return 1;
  return 0;
}

void exp_sdk_detach_all(exp_sdk *sdk) {
  while (sdk->nlayers > 0) {
    int i = --sdk->nlayers;
    if (sdk->layers[i].ops->stop != NULL)
      sdk->layers[i].ops->stop(sdk->layers[i].self);
  }
}

/* ------------------------------------------------------------------ stop */

static void on_closed(uv_handle_t *h) {
  exp_sdk *sdk = h->data;
  if (--sdk->closing == 0 && sdk->loop != &sdk->own_loop) {
    exp_loop_state_put(sdk->ls);
    exp_free(sdk);
  }
}

void exp_sdk_teardown(exp_sdk *sdk) {
  exp_list *n, *next;
  int own = sdk->loop == &sdk->own_loop;

  if (sdk->torn_down)
    return;
  sdk->torn_down = 1;
  sdk->state = EXP_SDK_STOPPING;
  uv_timer_stop(&sdk->pump_timer);
  /* Callbacks run from here are inside the SDK: a nested exp_stop is a
   * no-op, a _wait refused. */
  exp_sdk_enter(sdk);
  exp_sdk_detach_all(sdk);
  cancel_later(sdk);
  exp_sdk_leave(sdk);
  if (sdk->http != NULL)
    exp_http_close(sdk->http);
  sdk->http = NULL;
  exp_auth_free(sdk->auth);
  sdk->auth = NULL;
  exp_hosts_free(&sdk->hosts);
  for (n = sdk->handlers.next; n != &sdk->handlers; n = next) {
    next = n->next;
    exp_free(EXP_CONTAINER_OF(n, exp_handler, node));
  }
  exp_list_init(&sdk->handlers);
  exp_options_free(&sdk->opt);
  sdk->closing = 3;
  uv_close((uv_handle_t *)&sdk->auth_timer, on_closed);
  uv_close((uv_handle_t *)&sdk->pump_timer, on_closed);
  uv_close((uv_handle_t *)&sdk->later_idle, on_closed);
  if (own) {
    uv_run(sdk->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(sdk->loop) != 0)
      exp_logf(&sdk->log, EXP_LOG_ERROR,
               "private loop still has handles after stop");
    exp_loop_state_put(sdk->ls);
    exp_free(sdk);
  }
}

void exp_stop(exp_sdk *sdk) {
  if (sdk == NULL || sdk->stop_requested || sdk->torn_down)
    return;
  if (sdk->depth > 0 || sdk->pumping > 0) {
    sdk->stop_requested = 1;
    sdk->state = EXP_SDK_STOPPING;
    return;
  }
  exp_sdk_teardown(sdk);
}
