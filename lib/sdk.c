/* sdk.c: the handle: options, start and stop, the auth machine's libuv
 * layer, events and errors. */
#include "sdk.h"

#include <errno.h>
#include <stdio.h>

#include "bus.h"
#include "loop_state.h"
#include "network.h"
#include "waiter.h"

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

/* An auth request in flight: which answer it is and to which send. */
typedef struct auth_req {
  exp_sdk *sdk;
  unsigned seq;
  int refresh;
} auth_req;

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

const exp_error *exp_last_error(const exp_sdk *sdk) {
  static const exp_error no_handle = {EXP_EOPTIONS, 0, NULL,
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
  exp_list_init(&sdk->calls);
  exp_list_init(&sdk->parked);
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

/* ---------------------------------------------------------- start, auth */

static void complete_start(exp_sdk *sdk, int status, const exp_auth_out *why) {
  exp_done_cb cb = sdk->start_cb;
  void *ud = sdk->start_ud;

  if (!sdk->start_pending)
    return;
  sdk->start_pending = 0;
  sdk->start_cb = NULL;
  if (status != 0) {
    if (why != NULL)
      exp_sdk_error(sdk, status, why->http_status, why->api_code, "%s",
                    why->message);
    else
      exp_sdk_error(sdk, status, 0, NULL, "exp_start: %s",
                    exp_strerror(status));
  }
  if (cb != NULL) {
    exp_sdk_enter(sdk);
    cb(sdk, status, ud);
    exp_sdk_leave(sdk);
  }
}

/* "host" + "/path", whatever trailing slashes host has. */
static char *join(const char *host, const char *path) {
  size_t h = strlen(host), p = strlen(path);
  char *s;
  while (h > 0 && host[h - 1] == '/')
    h--;
  s = exp_malloc(h + p + 1);
  if (s == NULL)
    return NULL;
  memcpy(s, host, h);
  memcpy(s + h, path, p + 1);
  return s;
}

static void on_auth_answer(int err, const exp_http_response *res,
                           const char *msg, void *ud) {
  auth_req ar = *(auth_req *)ud;
  exp_sdk *sdk = ar.sdk;
  exp_auth_out o;
  int status = res != NULL ? res->status : 0;
  const char *body = res != NULL ? res->body : NULL;
  size_t len = res != NULL ? res->body_len : 0;

  exp_free(ud);
  if (sdk->state == EXP_SDK_STOPPING)
    return;
  if (ar.refresh)
    exp_auth_on_refresh(sdk->auth, exp_sdk_now(), ar.seq, err, msg, status,
                        body, len, &o);
  else
    exp_auth_on_login(sdk->auth, exp_sdk_now(), ar.seq, err, msg, status, body,
                      len, &o);
  exp_sdk_auth_perform(sdk, &o);
}

/* Sends the login or refresh o asks for; a negative exp_errno when it could
 * not be sent (msg says why). */
static int send_auth(exp_sdk *sdk, const exp_auth_out *o, char *msg,
                     size_t msg_size) {
  int refresh = (o->actions & EXP_AUTH_SEND_REFRESH) != 0;
  const char *token = exp_auth_token(sdk->auth);
  char *url = join(exp_options_host(&sdk->opt),
                   refresh ? "/api/auth/token" : "/api/auth/login");
  char *bearer = NULL;
  const char *headers[4] = {"Accept: application/json", NULL, NULL, NULL};
  exp_http_request req = {0};
  auth_req *ar = exp_malloc(sizeof(*ar));
  int r = EXP_ENOMEM;

  snprintf(msg, msg_size, "out of memory");
  if (url == NULL || ar == NULL)
    goto done;
  if (refresh) {
    bearer = exp_malloc(strlen(token) + 32);
    if (bearer == NULL)
      goto done;
    sprintf(bearer, "Authorization: Bearer %s", token);
    headers[1] = bearer;
  } else {
    headers[1] = "Content-Type: application/json";
    req.body = o->body;
    req.body_len = strlen(o->body);
  }
  req.method = "POST";
  req.url = url;
  req.headers = headers;
  ar->sdk = sdk;
  ar->seq = o->seq;
  ar->refresh = refresh;
  uv_update_time(sdk->loop);
  r = exp_http_send(sdk->http, &req, on_auth_answer, ar, NULL);
  if (r == 0)
    ar = NULL;
  else
    snprintf(msg, msg_size, "could not send: %s", exp_strerror(r));
done:
  exp_free(ar);
  exp_free(bearer);
  exp_free(url);
  return r;
}

static void on_auth_timer(uv_timer_t *t) {
  exp_sdk *sdk = t->data;
  exp_auth_out o;
  exp_auth_on_timer(sdk->auth, exp_sdk_now(), &o);
  exp_sdk_auth_perform(sdk, &o);
}

/* An auth failure's message for the log, which must not carry what the
 * server may have repeated from the request. */
static const char *loggable(const exp_sdk *sdk, const char *msg) {
  return exp_auth_reveals(sdk->auth, msg)
             ? "(message withheld: it contains a credential)"
             : msg;
}

static void emit_error(exp_sdk *sdk, const exp_auth_out *o) {
  cJSON *data = cJSON_CreateObject();
  exp_logf(&sdk->log, EXP_LOG_ERROR, "%s", loggable(sdk, o->message));
  exp_sdk_error(sdk, o->status, o->http_status, o->api_code, "%s", o->message);
  /* Out of memory: the event goes out without data rather than not at all. */
  if (data != NULL &&
      (cJSON_AddStringToObject(data, "code", exp_err_name(o->status)) == NULL ||
       cJSON_AddStringToObject(data, "message", o->message) == NULL)) {
    cJSON_Delete(data);
    data = NULL;
  }
  exp_sdk_emit(sdk, EXP_EVENT_ERROR, data);
  cJSON_Delete(data);
}

void exp_sdk_auth_perform(exp_sdk *sdk, const exp_auth_out *o) {
  unsigned a = o->actions;
  int send_err = 0;
  char msg[128];

  if (a & EXP_AUTH_STOP_TIMER)
    uv_timer_stop(&sdk->auth_timer);
  if (a & EXP_AUTH_ARM_TIMER) {
    uv_update_time(sdk->loop);
    uv_timer_start(&sdk->auth_timer, on_auth_timer, o->timer_ms, 0);
  }
  if (a & (EXP_AUTH_SEND_LOGIN | EXP_AUTH_SEND_REFRESH))
    send_err = send_auth(sdk, o, msg, sizeof(msg));
  if (a & EXP_AUTH_WARN)
    exp_logf(&sdk->log, EXP_LOG_WARN, "%s; retrying in %llu s",
             loggable(sdk, o->message),
             (unsigned long long)(o->timer_ms / 1000));
  if (a & EXP_AUTH_EMIT_UPDATE) {
    const cJSON *p = exp_auth_payload(sdk->auth);
    exp_logf(&sdk->log, EXP_LOG_INFO, "authenticated%s",
             exp_auth_is_pairing(sdk->auth) ? " (pairing)" : "");
    if (sdk->net_ops != NULL)
      sdk->net_ops->auth(sdk->net, p);
    exp_bus_auth(sdk);
    exp_sdk_emit(sdk, EXP_EVENT_UPDATE, p);
    if (sdk->state == EXP_SDK_STOPPING)
      return;
  }
  if (a & EXP_AUTH_EMIT_ERROR) {
    emit_error(sdk, o);
    if (sdk->state == EXP_SDK_STOPPING)
      return;
  }
  if (a & EXP_AUTH_START_DONE) {
    sdk->authed = o->status == 0;
    if (o->status != 0 || sdk->net_ops == NULL || sdk->online)
      complete_start(sdk, o->status, o->status != 0 ? o : NULL);
    if (sdk->state == EXP_SDK_STOPPING)
      return;
  }
  if (a & EXP_AUTH_RELEASE)
    exp_rest_release(sdk, o);
  if (send_err != 0 && sdk->state != EXP_SDK_STOPPING) {
    exp_auth_out next;
    int refresh = (a & EXP_AUTH_SEND_REFRESH) != 0;
    if (refresh)
      exp_auth_on_refresh(sdk->auth, exp_sdk_now(), o->seq, send_err, msg, 0,
                          NULL, 0, &next);
    else
      exp_auth_on_login(sdk->auth, exp_sdk_now(), o->seq, send_err, msg, 0,
                        NULL, 0, &next);
    exp_sdk_auth_perform(sdk, &next);
  }
}

int exp_start(exp_sdk *sdk, exp_done_cb cb, void *ud) {
  exp_auth_credentials creds;
  exp_http_config cfg = {0};
  exp_auth_out o;
  char msg[300];
  int r;

  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (sdk->state != EXP_SDK_NEW)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         "exp_start: the handle was already started");
  r = exp_options_check(&sdk->opt, &creds, msg, sizeof(msg));
  if (r != 0)
    return exp_sdk_error(sdk, r, 0, NULL, "%s", msg);
  cfg.ca_file = sdk->opt.str[EXP_OPT_CA_FILE];
  cfg.tls_verify = (int)sdk->opt.num[EXP_OPT_TLS_VERIFY];
  cfg.max_body = (size_t)sdk->opt.num[EXP_OPT_MAX_BODY_BYTES];
  cfg.default_timeout_ms = (uint64_t)sdk->opt.num[EXP_OPT_REQUEST_TIMEOUT_MS];
  cfg.max_idle_per_origin = 4;
  /* The client may read the bundle only at the first TLS connection: find
   * an unreadable one now, where the option can be named. */
  if (cfg.ca_file != NULL) {
    FILE *f = fopen(cfg.ca_file, "r");
    if (f == NULL)
      return exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL, "ca_file: %s: %s",
                           cfg.ca_file, strerror(errno));
    fclose(f);
  }
  msg[0] = '\0';
  sdk->http = exp_http_new(sdk->loop, &cfg, msg, sizeof(msg));
  if (sdk->http == NULL) {
    if (msg[0] != '\0' && cfg.ca_file != NULL)
      return exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL, "ca_file: %s", msg);
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "exp_start: %s",
                         msg[0] ? msg : "out of memory");
  }
  sdk->auth = exp_auth_new(&creds);
  if (sdk->auth == NULL) {
    r = exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "exp_start: out of memory");
    goto fail;
  }
  exp_auth_start(sdk->auth, exp_sdk_now(), &o);
  if (!(o.actions & EXP_AUTH_SEND_LOGIN)) {
    r = exp_sdk_error(sdk, o.status, 0, NULL, "%s", o.message);
    goto fail;
  }
  if (sdk->opt.num[EXP_OPT_ENABLE_NETWORK] &&
      (r = exp_network_attach(sdk)) != 0) {
    exp_sdk_error(sdk, r, 0, NULL, "exp_start: %s", exp_strerror(r));
    goto fail;
  }
  r = send_auth(sdk, &o, msg, sizeof(msg));
  if (r != 0) {
    exp_sdk_error(sdk, r, 0, NULL, "login: %s", msg);
    goto fail;
  }
  sdk->state = EXP_SDK_STARTED;
  sdk->start_cb = cb;
  sdk->start_ud = ud;
  sdk->start_pending = 1;
  return 0;
fail:
  if (exp_network_of(sdk) != NULL) {
    sdk->net_ops->stop(sdk->net);
    sdk->net_ops = NULL;
    sdk->net = NULL;
  }
  exp_auth_free(sdk->auth);
  sdk->auth = NULL;
  exp_http_close(sdk->http);
  sdk->http = NULL;
  return r;
}

int exp_start_wait(exp_sdk *sdk, uint64_t timeout_ms) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0) {
    w.timeout_ms = timeout_ms;
    if (exp_wait_run(&w, exp_start(sdk, exp_wait_done_cb, &w)) == EXP_ETIMEOUT)
      sdk->start_cb = NULL; /* the login goes on; nobody waits for it */
  }
  return w.status;
}

const cJSON *exp_auth(const exp_sdk *sdk) {
  return sdk != NULL && sdk->auth != NULL ? exp_auth_payload(sdk->auth) : NULL;
}

/* --------------------------------------------------------------- network */

int exp_sdk_attach_network(exp_sdk *sdk, const exp_net_ops *ops, void *net) {
  if (sdk->state != EXP_SDK_NEW)
    return EXP_ERUNTIME;
  sdk->net_ops = ops;
  sdk->net = net;
  return 0;
}

void exp_sdk_set_online(exp_sdk *sdk, int online) {
  online = online != 0;
  if (sdk->state != EXP_SDK_STARTED || online == sdk->online)
    return;
  sdk->online = online;
  exp_logf(&sdk->log, EXP_LOG_INFO, "%s", online ? "online" : "offline");
  exp_sdk_emit(sdk, online ? EXP_EVENT_ONLINE : EXP_EVENT_OFFLINE, NULL);
  if (online && sdk->authed && sdk->state == EXP_SDK_STARTED)
    complete_start(sdk, 0, NULL);
}

int exp_sdk_paired(exp_sdk *sdk, const char *uuid, const char *secret) {
  exp_auth_out o;
  cJSON *data;
  int r;

  if (sdk->state != EXP_SDK_STARTED)
    return EXP_ERUNTIME;
  data = cJSON_CreateObject();
  if (data == NULL || cJSON_AddStringToObject(data, "uuid", uuid) == NULL ||
      cJSON_AddStringToObject(data, "secret", secret) == NULL) {
    cJSON_Delete(data);
    return EXP_ENOMEM;
  }
  r = exp_auth_set_device(sdk->auth, uuid, secret, exp_sdk_now(), &o);
  if (r == 0) {
    exp_logf(&sdk->log, EXP_LOG_INFO, "paired as device %s", uuid);
    exp_sdk_auth_perform(sdk, &o);
    if (sdk->state == EXP_SDK_STARTED)
      exp_sdk_emit(sdk, EXP_EVENT_PAIRED, data);
  }
  cJSON_Delete(data);
  return r;
}

const char *exp_sdk_network_host(const exp_sdk *sdk) {
  const char *h = sdk->auth != NULL ? exp_auth_network_host(sdk->auth) : NULL;
  return h != NULL ? h : exp_options_host(&sdk->opt);
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
  uv_timer_stop(&sdk->auth_timer);
  uv_timer_stop(&sdk->pump_timer);
  if (sdk->net_ops != NULL)
    sdk->net_ops->stop(sdk->net);
  /* Callbacks run from here are inside the SDK: a nested exp_stop is a
   * no-op, a _wait refused. */
  exp_sdk_enter(sdk);
  exp_rest_stop(sdk);
  exp_bus_stop(sdk);
  cancel_later(sdk);
  complete_start(sdk, EXP_ECANCELLED, NULL);
  exp_sdk_leave(sdk);
  if (sdk->http != NULL)
    exp_http_close(sdk->http);
  sdk->http = NULL;
  exp_auth_free(sdk->auth);
  sdk->auth = NULL;
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
