/* session.c: the login and the auth machine's libuv layer, and the
 * completion of exp_start. */
#include "session.h"

#include <errno.h>
#include <stdio.h>

/* An auth request in flight: which answer it is and to which send. */
typedef struct auth_req {
  exp_sdk *sdk;
  unsigned seq;
  int refresh;
  size_t host;    /* the origin it went to */
  unsigned tries; /* origins it could not reach before */
  char *body;     /* the login's, to send it to the next origin (only with
                     several) */
  uint64_t sent;  /* loop time it was sent at, for the log */
} auth_req;

/* The login body has the credentials: wiped before it is freed. */
static void free_body(char *body) {
  if (body != NULL) {
    memset(body, 0, strlen(body));
    exp_free(body);
  }
}

static int send_auth(exp_sdk *sdk, const exp_auth_out *o, unsigned tries,
                     char *msg, size_t msg_size);

/* Sends the request of ar to the origin now in use, which has not been
 * tried for it: an origin refusing connections never saw it. */
static int resend(exp_sdk *sdk, const auth_req *ar) {
  exp_auth_out o;
  char msg[128];
  memset(&o, 0, sizeof(o));
  o.actions = ar->refresh ? EXP_AUTH_SEND_REFRESH : EXP_AUTH_SEND_LOGIN;
  o.seq = ar->seq;
  o.body = ar->body;
  return send_auth(sdk, &o, ar->tries + 1, msg, sizeof(msg));
}

/* ------------------------------------------------------------- start */

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

/* Completes the start once logged in, online when a layer gates it, and
 * no layer holds it. */
static void start_if_ready(exp_sdk *sdk) {
  if (sdk->authed && sdk->start_holds == 0 &&
      (sdk->online || !exp_sdk_start_gated(sdk)))
    complete_start(sdk, 0, NULL);
}

void exp_sdk_hold_start(exp_sdk *sdk) {
  sdk->start_holds++;
}

void exp_sdk_release_start(exp_sdk *sdk) {
  if (--sdk->start_holds == 0 && sdk->state == EXP_SDK_STARTED)
    start_if_ready(sdk);
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
  if (sdk->state == EXP_SDK_STOPPING) {
    free_body(ar.body);
    return;
  }
  if (res != NULL)
    exp_logf(&sdk->log, EXP_LOG_DEBUG, "REST POST %s: %d in %llu ms",
             ar.refresh ? "/api/auth/token" : "/api/auth/login", status,
             (unsigned long long)(uv_now(sdk->loop) - ar.sent));
  else
    exp_logf(&sdk->log, EXP_LOG_DEBUG, "REST POST %s: %s after %llu ms",
             ar.refresh ? "/api/auth/token" : "/api/auth/login",
             msg != NULL ? msg : exp_strerror(err),
             (unsigned long long)(uv_now(sdk->loop) - ar.sent));
  if (err != 0 && res == NULL) {
    exp_sdk_host_failed(sdk, ar.host, err, msg);
    if (err == EXP_ENETWORK && ar.tries + 1 < sdk->hosts.count &&
        resend(sdk, &ar) == 0) {
      free_body(ar.body);
      return;
    }
  } else if (res != NULL) {
    exp_sdk_host_reached(sdk, ar.host);
  }
  free_body(ar.body);
  if (ar.refresh)
    exp_auth_on_refresh(sdk->auth, exp_sdk_now(), ar.seq, err, msg, status,
                        body, len, &o);
  else
    exp_auth_on_login(sdk->auth, exp_sdk_now(), ar.seq, err, msg, status, body,
                      len, &o);
  exp_sdk_auth_perform(sdk, &o);
}

/* Sends the login or refresh o asks for, after tries origins could not be
 * reached for it; a negative exp_errno when it could not be sent (msg says
 * why). */
static int send_auth(exp_sdk *sdk, const exp_auth_out *o, unsigned tries,
                     char *msg, size_t msg_size) {
  int refresh = (o->actions & EXP_AUTH_SEND_REFRESH) != 0;
  const char *token = exp_auth_token(sdk->auth);
  size_t host;
  /* The login goes to the options' origins, never to a payload's. */
  char *url =
      join(exp_hosts_pick(&sdk->hosts, uv_now(sdk->loop), NULL, 1, &host),
           refresh ? "/api/auth/token" : "/api/auth/login");
  char *bearer = NULL;
  const char *headers[4] = {"Accept: application/json", NULL, NULL, NULL};
  exp_http_request req = {0};
  auth_req *ar = exp_calloc(1, sizeof(*ar));
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
  ar->host = host;
  ar->tries = tries;
  if (!refresh && sdk->hosts.count > 1 &&
      (ar->body = exp_strdup(o->body)) == NULL)
    goto done;
  uv_update_time(sdk->loop);
  ar->sent = uv_now(sdk->loop);
  r = exp_http_send(sdk->http, &req, on_auth_answer, ar, NULL);
  if (r == 0)
    ar = NULL;
  else
    snprintf(msg, msg_size, "could not send: %s", exp_strerror(r));
done:
  if (ar != NULL)
    free_body(ar->body);
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

/* A payload's identity field, for the log: names and uuids, never a
 * credential. */
static const char *identity(const cJSON *p, const char *key) {
  const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(p, "identity"), key));
  return v != NULL ? v : "?";
}

/* A login is news; a refresh, every half-life, is a detail. */
static void log_update(exp_sdk *sdk, const cJSON *p, int refreshed) {
  double exp =
      cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "expiration"));
  long long left = (long long)((exp - (double)exp_sdk_now()) / 1000);
  const char *type = identity(p, "type");

  if (refreshed)
    exp_logf(&sdk->log, EXP_LOG_DEBUG, "token refreshed, valid for %lld s",
             left);
  else
    exp_logf(&sdk->log, EXP_LOG_INFO,
             "authenticated as %s %s in organization %s%s, token valid for "
             "%lld s",
             type, identity(p, strcmp(type, "user") == 0 ? "username" : "uuid"),
             identity(p, "organization"),
             exp_auth_is_pairing(sdk->auth) ? " (pairing)" : "", left);
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
    send_err = send_auth(sdk, o, 0, msg, sizeof(msg));
  if (a & EXP_AUTH_WARN)
    exp_logf(&sdk->log, EXP_LOG_WARN, "%s; retrying in %llu s",
             loggable(sdk, o->message),
             (unsigned long long)(o->timer_ms / 1000));
  if (a & EXP_AUTH_EMIT_UPDATE) {
    const cJSON *p = exp_auth_payload(sdk->auth);
    log_update(sdk, p, o->refreshed);
    exp_sdk_layers_auth(sdk, p);
    if (sdk->state == EXP_SDK_STOPPING)
      return;
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
    if (o->status != 0)
      complete_start(sdk, o->status, o);
    else
      start_if_ready(sdk);
    if (sdk->state == EXP_SDK_STOPPING)
      return;
  }
  if (a & EXP_AUTH_RELEASE)
    exp_sdk_layers_release(sdk, o);
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

static void session_stop(void *self) {
  exp_sdk *sdk = self;
  uv_timer_stop(&sdk->auth_timer);
  complete_start(sdk, EXP_ECANCELLED, NULL);
}

static const exp_layer_ops session_ops = {NULL, NULL, session_stop, 0};

int exp_session_open(exp_sdk *sdk) {
  exp_auth_credentials creds;
  exp_http_config cfg = {0};
  char msg[300];
  int r;

  if (sdk->state != EXP_SDK_NEW)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         "exp_start: the handle was already started");
  r = exp_options_check(&sdk->opt, &creds, msg, sizeof(msg));
  if (r == 0)
    r = exp_hosts_init(
        &sdk->hosts, exp_options_host(&sdk->opt), sdk->opt.str[EXP_OPT_HOSTS],
        (uint64_t)sdk->opt.num[EXP_OPT_HOSTS_RETRY_MS], msg, sizeof(msg));
  if (r != 0)
    return exp_sdk_error(sdk, r, 0, NULL, "%s", msg);
  cfg.ca_file = sdk->opt.str[EXP_OPT_CA_FILE];
  cfg.tls_verify = (int)sdk->opt.num[EXP_OPT_TLS_VERIFY];
  if (!cfg.tls_verify)
    exp_logf(&sdk->log, EXP_LOG_WARN,
             "tls_verify is 0: TLS connections accept any certificate for "
             "any name");
  cfg.max_body = (size_t)sdk->opt.num[EXP_OPT_MAX_BODY_BYTES];
  cfg.default_timeout_ms = (uint64_t)sdk->opt.num[EXP_OPT_REQUEST_TIMEOUT_MS];
  cfg.max_idle_per_origin = 4;
  /* The client may read the bundle only at the first TLS connection: find
   * an unreadable one now, where the option can be named. */
  if (cfg.ca_file != NULL) {
    FILE *f = fopen(cfg.ca_file, "r");
    if (f == NULL) {
      exp_hosts_free(&sdk->hosts);
      return exp_sdk_error(sdk, errno == ENOMEM ? EXP_ENOMEM : EXP_EOPTIONS, 0,
                           NULL, "ca_file: %s: %s", cfg.ca_file,
                           strerror(errno));
    }
    fclose(f);
  }
  msg[0] = '\0';
  sdk->http = exp_http_new(sdk->loop, &cfg, msg, sizeof(msg));
  if (sdk->http == NULL) {
    /* It only fails for memory. */
    exp_hosts_free(&sdk->hosts);
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "exp_start: %s",
                         msg[0] ? msg : "out of memory");
  }
  sdk->auth = exp_auth_new(&creds);
  if (sdk->auth == NULL || (r = exp_sdk_attach(sdk, &session_ops, sdk)) != 0) {
    exp_session_close(sdk);
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "exp_start: out of memory");
  }
  return 0;
}

static void perform_later(exp_sdk *sdk, int status, void *arg) {
  if (status == 0)
    exp_sdk_auth_perform(sdk, arg);
  exp_free(arg);
}

int exp_session_login(exp_sdk *sdk, exp_done_cb cb, void *ud) {
  exp_auth_out o;
  char msg[128];
  int r;

  exp_auth_start(sdk->auth, exp_sdk_now(), &o);
  if (o.actions & EXP_AUTH_START_DONE) {
    /* A saved payload stood for the login: what it asks for is done from
     * the loop, since exp_start may not call back before it returns. */
    exp_auth_out *later = exp_malloc(sizeof(*later));
    if (later == NULL)
      return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
    *later = o;
    sdk->state = EXP_SDK_STARTED;
    if ((r = exp_sdk_defer(sdk, perform_later, later)) != 0) {
      sdk->state = EXP_SDK_NEW;
      exp_free(later);
      return r;
    }
  } else if (!(o.actions & EXP_AUTH_SEND_LOGIN)) {
    return exp_sdk_error(sdk, o.status, 0, NULL, "%s", o.message);
  } else if ((r = send_auth(sdk, &o, 0, msg, sizeof(msg))) != 0) {
    return exp_sdk_error(sdk, r, 0, NULL, "login: %s", msg);
  }
  sdk->state = EXP_SDK_STARTED;
  sdk->start_cb = cb;
  sdk->start_ud = ud;
  sdk->start_pending = 1;
  return 0;
}

void exp_session_close(exp_sdk *sdk) {
  exp_sdk_detach_all(sdk);
  exp_auth_free(sdk->auth);
  sdk->auth = NULL;
  exp_http_close(sdk->http);
  sdk->http = NULL;
  exp_hosts_free(&sdk->hosts);
}

char *exp_auth_json(const exp_sdk *sdk) {
  const cJSON *p = exp_auth(sdk);
  return p != NULL ? cJSON_PrintUnformatted(p) : NULL;
}

const cJSON *exp_auth(const exp_sdk *sdk) {
  return sdk != NULL && sdk->auth != NULL ? exp_auth_payload(sdk->auth) : NULL;
}

/* --------------------------------------------------------------- network */

void exp_sdk_set_online(exp_sdk *sdk, int online) {
  online = online != 0;
  if (sdk->state != EXP_SDK_STARTED || online == sdk->online)
    return;
  sdk->online = online;
  exp_logf(&sdk->log, EXP_LOG_INFO, "%s", online ? "online" : "offline");
  exp_sdk_emit(sdk, online ? EXP_EVENT_ONLINE : EXP_EVENT_OFFLINE, NULL);
  if (online && sdk->state == EXP_SDK_STARTED)
    start_if_ready(sdk);
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

const char *exp_sdk_api_origin(exp_sdk *sdk, size_t *index) {
  const char *h = sdk->auth != NULL ? exp_auth_api_host(sdk->auth) : NULL;
  return exp_hosts_pick(&sdk->hosts, uv_now(sdk->loop), h, 0, index);
}

const char *exp_sdk_network_origin(exp_sdk *sdk, size_t *index) {
  const char *h = sdk->auth != NULL ? exp_auth_network_host(sdk->auth) : NULL;
  return exp_hosts_pick(&sdk->hosts, uv_now(sdk->loop), h, 1, index);
}

void exp_sdk_host_reached(exp_sdk *sdk, size_t index) {
  if (exp_hosts_reached(&sdk->hosts, index))
    exp_logf(&sdk->log, EXP_LOG_INFO, "%s answers again: using it",
             sdk->hosts.list[0]);
}

void exp_sdk_host_failed(exp_sdk *sdk, size_t index, int err, const char *why) {
  if ((err == EXP_ENETWORK || err == EXP_ETIMEOUT) &&
      exp_hosts_failed(&sdk->hosts, index, uv_now(sdk->loop)))
    exp_logf(&sdk->log, EXP_LOG_INFO, "%s unreachable (%s): using %s next",
             sdk->hosts.list[index], why != NULL ? why : "no answer",
             sdk->hosts.list[sdk->hosts.current]);
}
