/* network.c: the real-time socket's libuv layer: a TCP/TLS stream
 * (conn.c) carrying a websocket (ws.c) carrying Engine.IO and Socket.IO
 * (eio.c), reconnected after every new token and, with backoff, after every
 * loss. */
#include "network.h"

#include <stdarg.h>
#include <stdio.h>

#include "auth.h"
#include "conn.h"
#include "eio.h"
#include "session.h"
#include "url.h"
#include "ws.h"

/* The shortest wait before a reconnect, so that a server dropping every
 * connection at once does not get hammered. */
#define FLOOR_MS 50

/* What we write is small (subscribes, pongs): a backlog this large means a
 * server that sends and does not read, which would make it grow forever. */
#define MAX_BACKLOG (1024 * 1024)

typedef enum phase {
  IDLE,     /* no token yet */
  WAITING,  /* the timer counts down to the next attempt */
  OPENING,  /* TCP, TLS, upgrade, Engine.IO open, Socket.IO CONNECT */
  CONNECTED /* the default namespace is connected */
} phase;

struct exp_network {
  exp_sdk *sdk;
  /* The one timer: the backoff while WAITING, else the session's
   * deadline (exp_eio_deadline), or 0 ms to handle a broken stream. */
  uv_timer_t timer;
  phase phase;
  int stopped;
  int pending;   /* the timer and connections still closing */
  int feeding;   /* exp_ws_feed is on the stack: the session must stay */
  int reauth;    /* a new token came while feeding */
  int broken;    /* a send failed: the timer drops the session */
  int rejected;  /* the last session's token was refused */
  int conn_open; /* the stream is connected: output may be written */
  int text_err;  /* why the text callback stopped the websocket */
  int version;   /* Engine.IO version of the next session */
  int forced;    /* the eio_version option: 0 (4, then 3), 3 or 4 */
  int switched;  /* the version changed since the last connect */
  unsigned attempt;
  unsigned gen; /* exp_auth_gen of the session's token */
  size_t host;  /* the session's origin (hosts.h) */
  uint64_t min_ms, max_ms, connect_timeout_ms;
  size_t max_message;
  exp_conn *conn; /* the session: conn, ws and eio live together */
  exp_ws *ws;
  exp_eio eio;
  exp_network_events ev;
  void *ud;
  char where[160]; /* "ws://host:port": never the query, it has the token */
  char why[200];   /* the text callback's reason */
};

static void on_timer(uv_timer_t *t);
static void net_auth(void *net, const cJSON *auth);
static void net_stop(void *net);

static const exp_layer_ops ops = {net_auth, NULL, net_stop, 1};

/* ------------------------------------------------------------- helpers */

static const char *token(const exp_network *n) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(exp_auth(n->sdk), "token");
  return cJSON_IsString(t) ? t->valuestring : NULL;
}

/* Text the server chose, for the log: withheld should it echo the token. */
static const char *loggable(const exp_network *n, const char *s) {
  const char *t = token(n);
  if (t != NULL && t[0] != '\0' && strstr(s, t) != NULL)
    return "(withheld: it contains the token)";
  return s;
}

static void maybe_free(exp_network *n) {
  if (n->stopped && n->pending == 0 && !n->feeding)
    exp_free(n);
}

static void on_conn_closed(void *ud) {
  exp_network *n = ud;
  n->pending--;
  maybe_free(n);
}

static void on_timer_closed(uv_handle_t *h) {
  exp_network *n = h->data;
  n->pending--;
  maybe_free(n);
}

/* Writes what the websocket has for the peer: 0, exp_conn_write's error,
 * or EXP_ETOOBIG when the peer leaves MAX_BACKLOG unread.  Before the
 * stream is up the output waits (the upgrade). */
static int flush_ws(exp_network *n) {
  size_t len;
  char *out;
  int r;
  if (!n->conn_open)
    return 0;
  out = exp_ws_take_output(n->ws, &len);
  if (out == NULL)
    return 0;
  r = exp_conn_backlog(n->conn) > MAX_BACKLOG
          ? EXP_ETOOBIG
          : exp_conn_write(n->conn, out, len);
  exp_free(out);
  return r;
}

/* Why flush_ws failed, for the log. */
static const char *send_failure(int r, const char *what) {
  return r == EXP_ETOOBIG ? "the server does not read what it is sent" : what;
}

/* Ends the session, if any: a websocket close first when polite, else
 * only what the websocket still had to say (its own close, after a
 * protocol error). */
static void end_session(exp_network *n, int polite) {
  if (n->conn == NULL)
    return;
  if (polite && exp_ws_is_open(n->ws))
    exp_ws_close(n->ws, 1000, NULL);
  flush_ws(n);
  n->pending++;
  exp_conn_close(n->conn, on_conn_closed);
  n->conn = NULL;
  n->conn_open = 0;
  exp_ws_free(n->ws);
  n->ws = NULL;
  exp_eio_cleanup(&n->eio);
}

/* Full jitter: uniform in [0, min(max, min * 2^attempt)], above a floor. */
static uint64_t backoff(exp_network *n) {
  uint64_t cap = n->attempt >= 32 ? n->max_ms : n->min_ms << n->attempt;
  uint64_t r, floor;
  if (cap > n->max_ms)
    cap = n->max_ms;
  if (uv_random(NULL, NULL, &r, sizeof(r), 0, NULL) != 0)
    r = uv_hrtime();
  if (n->attempt < 32)
    n->attempt++;
  r %= cap + 1;
  floor = cap < FLOOR_MS ? cap : FLOOR_MS;
  return r < floor ? floor : r;
}

/* Arms the timer at the session's next deadline, or at once to drop a
 * broken session. */
static void arm(exp_network *n) {
  uint64_t d = exp_eio_deadline(&n->eio), now = uv_now(n->sdk->loop);
  if (n->broken)
    d = now;
  if (d == 0)
    uv_timer_stop(&n->timer);
  else
    uv_timer_start(&n->timer, on_timer, d > now ? d - now : 0, 0);
}

/* The session failed or ended: reconnect after a backoff (at once when
 * only the Engine.IO version changes) and go offline. */
static void lose(exp_network *n, exp_log_level level, int at_once,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void lose(exp_network *n, exp_log_level level, int at_once,
                 const char *fmt, ...) {
  int was = n->phase == CONNECTED;
  char why[256];
  va_list ap;
  uint64_t delay;

  /* Only the first failure of a series warns: a server down for hours
   * would fill the log otherwise. */
  if (level == EXP_LOG_WARN && !was && n->attempt > 0)
    level = EXP_LOG_INFO;
  delay = at_once ? 0 : backoff(n);
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  end_session(n, 0);
  n->broken = 0;
  n->phase = WAITING;
  uv_timer_start(&n->timer, on_timer, delay, 0);
  exp_logf(&n->sdk->log, level, "socket %s %s: %s; reconnecting in %llu ms",
           was ? "lost with" : "could not connect to", n->where, why,
           (unsigned long long)delay);
  if (was)
    exp_sdk_set_online(n->sdk, 0);
}

/* The server does not speak this Engine.IO version: try the other one, at
 * once the first time. */
static void switch_version(exp_network *n, const char *why) {
  int from = n->version;
  int at_once = !n->switched;
  n->version = from == 4 ? 3 : 4;
  n->switched = 1;
  lose(n, at_once ? EXP_LOG_INFO : EXP_LOG_WARN, at_once,
       "%s (Engine.IO %d); trying Engine.IO %d", why, from, n->version);
}

/* ------------------------------------------------------------- session */

static void on_connect(void *ud, int err, const char *msg);
static void on_data(void *ud, const char *data, size_t len);
static void on_end(void *ud, int err, const char *msg);
static int on_text(void *ud, const char *msg, size_t len);

static const exp_conn_callbacks conn_callbacks = {on_connect, on_data, on_end};

static void start_session(exp_network *n) {
  exp_sdk *sdk = n->sdk;
  exp_ws_config cfg;
  exp_tls_config *tls = NULL;
  exp_url u;
  char msg[256];
  char *path;
  int r;

  n->phase = OPENING;
  n->rejected = 0;
  n->gen = exp_auth_gen(sdk->auth);
  r = exp_url_parse(exp_sdk_network_origin(sdk, &n->host), &u, msg,
                    sizeof(msg));
  if (r != 0) {
    snprintf(n->where, sizeof(n->where), "the network host");
    lose(n, EXP_LOG_WARN, 0, "%s", msg);
    return;
  }
  snprintf(n->where, sizeof(n->where), "%s://%s", u.tls ? "wss" : "ws",
           u.authority);
  if (u.tls && (tls = exp_http_tls_config(sdk->http, msg, sizeof(msg))) == NULL)
    r = EXP_ETLS;
  path = r == 0 ? exp_eio_path(n->version, token(n)) : NULL;
  if (r == 0 && path == NULL) {
    r = EXP_ENOMEM;
    snprintf(msg, sizeof(msg), "out of memory");
  }
  if (r == 0) {
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = u.authority;
    cfg.target = path;
    cfg.max_message = n->max_message;
    cfg.on_text = on_text;
    cfg.ud = n;
    r = exp_ws_new(&cfg, &n->ws, msg, sizeof(msg));
    if (r != 0 && msg[0] == '\0')
      snprintf(msg, sizeof(msg), "%s", exp_strerror(r));
  }
  exp_free(path);
  if (r == 0) {
    r = exp_conn_open(sdk->loop, u.host, u.port, tls, &conn_callbacks, n,
                      &n->conn, msg, sizeof(msg));
    if (r != 0) {
      exp_ws_free(n->ws);
      n->ws = NULL;
    }
  }
  exp_url_free(&u);
  if (r != 0) {
    lose(n, EXP_LOG_WARN, 0, "%s", msg);
    return;
  }
  exp_eio_init(&n->eio, n->version, uv_now(sdk->loop), n->connect_timeout_ms);
  exp_logf(&sdk->log, EXP_LOG_DEBUG, "socket connecting to %s (Engine.IO %d)",
           n->where, n->version);
  arm(n);
}

/* Replaces the session by one with the current token. */
static void restart(exp_network *n) {
  int was = n->phase == CONNECTED;
  n->reauth = 0;
  n->broken = 0;
  uv_timer_stop(&n->timer);
  end_session(n, 1);
  if (was)
    exp_logf(&n->sdk->log, EXP_LOG_INFO,
             "socket reconnecting to %s with a new token", n->where);
  start_session(n);
  if (was)
    exp_sdk_set_online(n->sdk, 0);
}

/* The server refused the session's token: ask the auth layer for a new
 * one, as a REST call seeing 401 would.  Without this a socket-only
 * application would wait for the next scheduled refresh. */
static void token_rejected(exp_network *n) {
  exp_sdk *sdk = n->sdk;
  exp_auth_out o;
  n->rejected = 1;
  if (!n->stopped && sdk->auth != NULL &&
      exp_auth_on_401(sdk->auth, n->gen, exp_sdk_now(), &o) == EXP_AUTH_WAIT)
    exp_sdk_auth_perform(sdk, &o);
}

static void refused(exp_network *n) {
  size_t len;
  const char *body = exp_ws_refusal(n->ws, &len);
  int status = exp_ws_status(n->ws);
  if (n->forced == 0 && exp_eio_version_refused(status, body, len))
    switch_version(n, "the server refused the version");
  else
    lose(n, EXP_LOG_WARN, 0, "the server refused the websocket: HTTP %d",
         status);
}

static void on_connect(void *ud, int err, const char *msg) {
  exp_network *n = ud;
  int r;
  if (err != 0) {
    exp_sdk_host_failed(n->sdk, n->host, EXP_ENETWORK, msg);
    lose(n, EXP_LOG_WARN, 0, "%s", msg);
    return;
  }
  n->conn_open = 1;
  if ((r = flush_ws(n)) != 0)
    lose(n, EXP_LOG_WARN, 0, "%s",
         send_failure(r, "sending the websocket upgrade failed"));
}

static void on_end(void *ud, int err, const char *msg) {
  exp_network *n = ud;
  int r = exp_ws_eof(n->ws);
  if (r == EXP_EAPI)
    refused(n);
  else if (err != 0) {
    /* Cut while opening: that origin does not serve us now. */
    if (n->phase == OPENING)
      exp_sdk_host_failed(n->sdk, n->host, EXP_ENETWORK, msg);
    lose(n, EXP_LOG_WARN, 0, "%s", msg);
  } else
    lose(n, EXP_LOG_WARN, 0, "%s",
         r == EXP_WS_CLOSED ? "the websocket closed" : exp_ws_message(n->ws));
}

static void on_data(void *ud, const char *data, size_t len) {
  exp_network *n = ud;
  int r;

  n->feeding = 1;
  n->text_err = 0;
  r = exp_ws_feed(n->ws, data, len);
  n->feeding = 0;
  if (n->stopped) {
    end_session(n, 1);
    maybe_free(n);
    return;
  }
  if (n->reauth) {
    restart(n);
    return;
  }
  if (r == 0) {
    if ((r = flush_ws(n)) != 0)
      lose(n, EXP_LOG_WARN, 0, "%s",
           send_failure(r, "sending to the server failed"));
    else
      arm(n);
    return;
  }
  if (n->text_err != 0) {
    if (n->forced == 0 && exp_eio_server_is_v3(&n->eio)) {
      switch_version(n, "the server is Socket.IO 2");
    } else {
      lose(n, EXP_LOG_WARN, 0, "%s", n->why);
      if (n->text_err == EXP_EAUTH)
        token_rejected(n);
    }
  } else if (r == EXP_WS_CLOSED) {
    lose(n, EXP_LOG_WARN, 0, "the server closed the websocket (%d%s%s)",
         exp_ws_close_code(n->ws), exp_ws_close_reason(n->ws)[0] ? " " : "",
         loggable(n, exp_ws_close_reason(n->ws)));
  } else if (r == EXP_EAPI) {
    refused(n);
  } else {
    lose(n, EXP_LOG_WARN, 0, "%s", exp_ws_message(n->ws));
  }
}

/* Stops the websocket from the text callback; on_data says why. */
static int text_fail(exp_network *n, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int text_fail(exp_network *n, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(n->why, sizeof(n->why), fmt, ap);
  va_end(ap);
  n->text_err = err;
  return err;
}

static void connected(exp_network *n) {
  exp_sdk *sdk = n->sdk;
  n->phase = CONNECTED;
  n->attempt = 0;
  n->switched = 0;
  exp_sdk_host_reached(sdk, n->host);
  exp_logf(&sdk->log, EXP_LOG_INFO, "socket connected to %s (Engine.IO %d)",
           n->where, n->version);
  if (n->ev.on_connected != NULL) {
    exp_sdk_enter(sdk);
    n->ev.on_connected(n->ud);
    exp_sdk_leave(sdk);
  }
  if (!n->stopped && !n->reauth)
    exp_sdk_set_online(sdk, 1);
}

static int on_text(void *ud, const char *msg, size_t len) {
  exp_network *n = ud;
  exp_eio_out out;
  int r = exp_eio_feed(&n->eio, msg, len, uv_now(n->sdk->loop), &out);

  if (r != 0)
    return text_fail(n, r, "%s", exp_eio_message(&n->eio));
  if (out.send != NULL &&
      (r = exp_ws_send_text(n->ws, out.send, out.send_len)) != 0)
    return text_fail(n, r, "%s", exp_strerror(r));
  switch (out.kind) {
  case EXP_EIO_CONNECTED:
    connected(n);
    break;
  case EXP_EIO_EVENT:
    if (n->ev.on_event != NULL) {
      exp_sdk_enter(n->sdk);
      n->ev.on_event(n->ud, out.name, exp_eio_take_arg(&n->eio), len);
      exp_sdk_leave(n->sdk);
    }
    break;
  case EXP_EIO_CONNECT_ERROR:
    /* EXP servers refuse a socket for its token only. */
    return text_fail(n, EXP_EAUTH, "the server refused the socket: %s",
                     loggable(n, out.message));
  case EXP_EIO_CLOSED:
    return text_fail(n, EXP_ENETWORK, "%s", out.message);
  default:
    break;
  }
  return n->stopped || n->reauth ? EXP_ECANCELLED : 0;
}

static void on_timer(uv_timer_t *t) {
  exp_network *n = t->data;
  exp_eio_out out;
  int r;

  if (n->phase == WAITING) {
    start_session(n);
    return;
  }
  if (n->broken) {
    lose(n, EXP_LOG_WARN, 0, "sending to the server failed");
    return;
  }
  if (exp_eio_tick(&n->eio, uv_now(n->sdk->loop), &out) != 0) {
    /* No open or no pong in time: the origin stopped answering. */
    exp_sdk_host_failed(n->sdk, n->host, EXP_ETIMEOUT,
                        exp_eio_message(&n->eio));
    lose(n, EXP_LOG_WARN, 0, "%s", exp_eio_message(&n->eio));
    return;
  }
  if (out.send != NULL &&
      ((r = exp_ws_send_text(n->ws, out.send, out.send_len)) != 0 ||
       (r = flush_ws(n)) != 0)) {
    lose(n, EXP_LOG_WARN, 0, "%s", send_failure(r, "sending a ping failed"));
    return;
  }
  arm(n);
}

/* ------------------------------------------------------------ SDK side */

static void net_auth(void *net, const cJSON *auth) {
  exp_network *n = net;
  EXP_UNUSED(auth);
  if (n->stopped)
    return;
  if (n->feeding)
    n->reauth = 1; /* on_data restarts once the websocket is off the stack */
  else if (n->phase != WAITING || !n->rejected)
    restart(n);
  /* else the token we asked for after a refusal: the next attempt takes it
   * after the backoff, so a server refusing every token gets no storm. */
}

static void net_stop(void *net) {
  exp_network *n = net;
  if (n->stopped)
    return;
  n->stopped = 1;
  n->pending++;
  uv_close((uv_handle_t *)&n->timer, on_timer_closed);
  if (!n->feeding)
    end_session(n, 1);
}

int exp_network_attach(exp_sdk *sdk) {
  const exp_options *o = &sdk->opt;
  exp_network *n = exp_calloc(1, sizeof(*n));
  int r;

  if (n == NULL)
    return EXP_ENOMEM;
  n->sdk = sdk;
  n->forced = (int)o->num[EXP_OPT_EIO_VERSION];
  n->version = n->forced == 3 ? 3 : 4;
  n->min_ms = (uint64_t)o->num[EXP_OPT_RECONNECT_MIN_MS];
  n->max_ms = (uint64_t)o->num[EXP_OPT_RECONNECT_MAX_MS];
  n->connect_timeout_ms = (uint64_t)o->num[EXP_OPT_REQUEST_TIMEOUT_MS];
  n->max_message = (size_t)o->num[EXP_OPT_MAX_BODY_BYTES];
  r = exp_sdk_attach(sdk, &ops, n);
  if (r != 0) {
    exp_free(n);
    return r;
  }
  uv_timer_init(sdk->loop, &n->timer);
  n->timer.data = n;
  return 0;
}

exp_network *exp_network_of(exp_sdk *sdk) {
  return exp_sdk_layer(sdk, &ops);
}

void exp_network_set_events(exp_network *n, const exp_network_events *ev,
                            void *ud) {
  n->ev = *ev;
  n->ud = ud;
}

int exp_network_send(exp_network *n, const char *name, const cJSON *arg) {
  uint64_t max = exp_eio_max_payload(&n->eio);
  char *frame;
  size_t len;
  int r;

  if (!exp_network_is_connected(n))
    return exp_sdk_error(n->sdk, EXP_ENETWORK, 0, NULL,
                         "the socket is not connected");
  r = exp_eio_event_frame(name, arg, &frame, &len);
  if (r != 0)
    return exp_sdk_error(n->sdk, r, 0, NULL, "socket event %s: %s",
                         name != NULL ? name : "(null)", exp_strerror(r));
  if (max != 0 && len > max) {
    exp_free(frame);
    return exp_sdk_error(n->sdk, EXP_ETOOBIG, 0, NULL,
                         "socket event %s: %zu bytes, the server takes %llu",
                         name, len, (unsigned long long)max);
  }
  r = exp_ws_send_text(n->ws, frame, len);
  exp_free(frame);
  /* Inside a feed, on_data writes once the feed is done. */
  if (r == 0 && !n->feeding && flush_ws(n) != 0)
    r = EXP_ENETWORK;
  if (r != 0) {
    /* The session is done for; the timer drops it, outside the caller. */
    n->broken = 1;
    uv_timer_start(&n->timer, on_timer, 0, 0);
    return exp_sdk_error(n->sdk, r, 0, NULL, "socket event %s: %s", name,
                         exp_strerror(r));
  }
  return 0;
}

int exp_network_is_connected(const exp_network *n) {
  return n->phase == CONNECTED && !n->stopped && !n->reauth && !n->broken;
}

int exp_network_version(const exp_network *n) {
  return n->version;
}

int exp_is_connected(const exp_sdk *sdk) {
  exp_network *n = sdk != NULL ? exp_sdk_layer(sdk, &ops) : NULL;
  return n != NULL && exp_network_is_connected(n);
}
