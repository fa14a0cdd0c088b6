/* network.c: the real-time socket's libuv layer: a TCP/TLS stream
 * (conn.c) carrying a websocket (ws.c) carrying Engine.IO and Socket.IO
 * (eio.c), renewed after every new token (make before break) and, with
 * backoff, reconnected after every loss. */
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

/* A replaced session's close handshake may take this long: until the
 * server's close frame, it delivers what was already on its way. */
#define DRAIN_MS 2000

/* After two sessions overlapped, broadcasts are checked against the ids of
 * recent ones this much longer: one the old session delivered may still
 * be on its way on the new one. */
#define DEDUPE_GRACE_MS 2000

/* The network is in exactly one of these, and moves between them only
 * through the transitions named after them: open_session (to OPENING),
 * go_online (to ONLINE), lose (to BACKOFF, or to the renewing session),
 * restart (a new token while opening), renew (a new token while online:
 * RENEWING), promote (the renewal's session takes over: ONLINE),
 * renew_failed (RENEW_BACKOFF) and net_stop (STOPPED). */
typedef enum net_state {
  NET_IDLE,          /* no token yet */
  NET_BACKOFF,       /* offline: the timer counts down to the next attempt */
  NET_OPENING,       /* offline: n->cur is on its way up */
  NET_ONLINE,        /* n->cur is connected */
  NET_RENEWING,      /* n->cur serves while n->next, with a newer token,
                        opens and subscribes every channel */
  NET_RENEW_BACKOFF, /* n->cur serves; the renewal failed, the timer retries */
  NET_STOPPED        /* net_stop ran: what is left is closing */
} net_state;

/* One connection: TCP/TLS, websocket, Engine.IO session.  Its own
 * allocation, so that a session ended while its websocket is being fed
 * lives on until the feed returns, and so that two overlap during a
 * renewal. */
typedef enum session_phase {
  S_DIALING,   /* TCP and TLS: the upgrade request waits */
  S_OPENING,   /* upgrade, Engine.IO open, Socket.IO CONNECT */
  S_CONNECTED, /* the default namespace is connected */
  S_DRAINING,  /* replaced by a renewal: its close handshake runs */
  S_BROKEN,    /* a send failed: the timer drops it, outside the sender */
  S_ENDED      /* ended during its feed: on_data closes it afterwards */
} session_phase;

typedef struct session {
  exp_network *net;
  session_phase phase;
  int feeding;  /* exp_ws_feed is on the stack */
  int text_err; /* why the text callback stopped the websocket */
  unsigned gen; /* exp_auth_gen of the session's token */
  size_t host;  /* the session's origin (hosts.h) */
  /* Stall detection (stall_timeout_ms): when the latest bytes came, and
   * the deadline of the websocket ping sent after a silence, 0 if none. */
  uint64_t last_rx;
  uint64_t probe_until;
  /* A renewal's session: the "subscribe" events not yet answered, and how
   * long it waits for them; a draining one: when it is cut. */
  size_t acks;
  uint64_t until;
  exp_conn *conn;
  exp_ws *ws;
  exp_eio eio;
  char why[200]; /* the text callback's reason */
} session;

struct exp_network {
  exp_sdk *sdk;
  net_state state;
  session *cur;    /* the session from OPENING on, else NULL */
  session *next;   /* RENEWING: the session with the newer token */
  session *old;    /* a session replaced by a renewal, draining, or NULL */
  session *target; /* during on_connected: where exp_network_send goes */
  /* The one timer, at the earliest of: the retry (BACKOFF, RENEW_BACKOFF),
   * each session's deadlines (exp_eio_deadline, stall, drain), or 0 ms to
   * drop a broken session. */
  uv_timer_t timer;
  uint64_t armed; /* the loop time arm() set the timer for */
  uint64_t retry_at;
  /* libuv runs due timers before it polls: after a long pause (a busy
   * script) the deadline would pass judgement before the socket is read.
   * So the timer only starts these, and the verdict runs in the check
   * phase, after a poll that did not block (the idle handle sees to that)
   * read what was waiting. */
  uv_idle_t idle;
  uv_check_t check;
  unsigned reads;        /* on_data calls so far */
  unsigned reads_seen;   /* ... at the previous check */
  int passes;            /* checks since the timer fired */
  int pending;           /* the handles and sessions not yet released */
  int rejected;          /* the last session's token was refused */
  int version;           /* Engine.IO version of the next session */
  int forced;            /* the eio_version option: 0 (4, then 3), 3 or 4 */
  int switched;          /* the version changed since the last connect */
  unsigned attempt;      /* failed connects in a row */
  unsigned renewals;     /* failed renewals in a row */
  uint64_t dedupe_until; /* broadcasts are checked for twins until then */
  uint64_t min_ms, max_ms, connect_timeout_ms;
  uint64_t stall_ms; /* stall_timeout_ms: half of silence, half of probe */
  size_t max_message;
  exp_network_events ev;
  void *ud;
  char where[160]; /* "ws://host:port": never the query, it has the token */
};

static void on_timer(uv_timer_t *t);
static void on_idle(uv_idle_t *h);
static void on_check(uv_check_t *h);
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
  if (n->state == NET_STOPPED && n->pending == 0)
    exp_free(n);
}

static void on_handle_closed(uv_handle_t *h) {
  exp_network *n = h->data;
  n->pending--;
  maybe_free(n);
}

/* Writes what the websocket has for the peer: 0, exp_conn_write's error,
 * or EXP_ETOOBIG when the peer leaves MAX_BACKLOG unread.  Before the
 * stream is up the output waits (the upgrade). */
static int flush_ws(session *s) {
  size_t len;
  char *out;
  int r;
  if (s->phase == S_DIALING || s->phase == S_ENDED)
    return 0;
  out = exp_ws_take_output(s->ws, &len);
  if (out == NULL)
    return 0;
  r = exp_conn_backlog(s->conn) > MAX_BACKLOG
          ? EXP_ETOOBIG
          : exp_conn_write(s->conn, out, len);
  exp_free(out);
  return r;
}

/* Why flush_ws failed, for the log. */
static const char *send_failure(int r, const char *what) {
  return r == EXP_ETOOBIG ? "the server does not read what it is sent" : what;
}

/* ------------------------------------------------------------ sessions */

static void on_connect(void *ud, int err, const char *msg);
static void on_data(void *ud, const char *data, size_t len);
static void on_end(void *ud, int err, const char *msg);
static int on_text(void *ud, const char *msg, size_t len);

static const exp_conn_callbacks conn_callbacks = {on_connect, on_data, on_end};

static void on_session_closed(void *ud) {
  session *s = ud;
  exp_network *n = s->net;
  exp_free(s);
  n->pending--;
  maybe_free(n);
}

/* Releases s: no callback of its connection runs afterwards. */
static void session_close(session *s) {
  exp_ws_free(s->ws);
  s->ws = NULL;
  exp_eio_cleanup(&s->eio);
  exp_conn_close(s->conn, on_session_closed);
}

/* Ends s, if any: a websocket close first when polite, else only what the
 * websocket still had to say (its own close, after a protocol error).
 * During its feed s only becomes S_ENDED: on_data closes it. */
static void session_end(session *s, int polite) {
  if (s == NULL)
    return;
  if (polite && exp_ws_is_open(s->ws))
    exp_ws_close(s->ws, 1000, NULL);
  flush_ws(s);
  if (s->feeding)
    s->phase = S_ENDED;
  else
    session_close(s);
}

/* A session connecting to the network host with the current token, or
 * NULL with msg set. */
static session *session_open(exp_network *n, char *msg, size_t msg_size) {
  exp_sdk *sdk = n->sdk;
  exp_ws_config cfg;
  exp_tls_config *tls = NULL;
  session *s;
  exp_url u;
  char *path;
  int r;

  size_t host;

  r = exp_url_parse(exp_sdk_network_origin(sdk, &host), &u, msg, msg_size);
  if (r != 0) {
    snprintf(n->where, sizeof(n->where), "the network host");
    return NULL;
  }
  snprintf(n->where, sizeof(n->where), "%s://%s", u.tls ? "wss" : "ws",
           u.authority);
  s = exp_calloc(1, sizeof(*s));
  if (s == NULL) {
    exp_url_free(&u);
    snprintf(msg, msg_size, "out of memory");
    return NULL;
  }
  s->net = n;
  s->host = host;
  s->phase = S_DIALING;
  s->gen = exp_auth_gen(sdk->auth);
  if (u.tls)
    tls = exp_http_tls_config(sdk->http, &r, msg, msg_size);
  path = r == 0 ? exp_eio_path(n->version, token(n)) : NULL;
  if (r == 0 && path == NULL) {
    r = EXP_ENOMEM;
    snprintf(msg, msg_size, "out of memory");
  }
  if (r == 0) {
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = u.authority;
    cfg.target = path;
    cfg.max_message = n->max_message;
    cfg.on_text = on_text;
    cfg.ud = s;
    r = exp_ws_new(&cfg, &s->ws, msg, msg_size);
    if (r != 0 && msg[0] == '\0')
      snprintf(msg, msg_size, "%s", exp_strerror(r));
  }
  exp_free(path);
  if (r == 0)
    r = exp_conn_open(sdk->loop, u.host, u.port, tls, &conn_callbacks, s,
                      &s->conn, msg, msg_size);
  exp_url_free(&u);
  if (r != 0) {
    exp_ws_free(s->ws);
    exp_free(s);
    return NULL;
  }
  n->pending++;
  exp_eio_init(&s->eio, n->version, uv_now(sdk->loop), n->connect_timeout_ms);
  return s;
}

/* ---------------------------------------------------------- transitions */

/* Full jitter: uniform in [0, min(max, min * 2^attempt)], above a floor. */
static uint64_t backoff(exp_network *n, unsigned *attempt) {
  uint64_t cap = *attempt >= 32 ? n->max_ms : n->min_ms << *attempt;
  uint64_t r, floor;
  if (cap > n->max_ms)
    cap = n->max_ms;
  if (uv_random(NULL, NULL, &r, sizeof(r), 0, NULL) != 0)
    r = uv_hrtime();
  if (*attempt < 32)
    (*attempt)++;
  r %= cap + 1;
  floor = cap < FLOOR_MS ? cap : FLOOR_MS;
  return r < floor ? floor : r;
}

/* When a connected session's silence is judged: the ping after half of
 * stall_timeout_ms without a byte, then the answer's deadline. */
static uint64_t stall_deadline(const exp_network *n, const session *s) {
  if (s->phase != S_CONNECTED)
    return 0;
  return s->probe_until != 0 ? s->probe_until : s->last_rx + n->stall_ms / 2;
}

/* The earliest deadline of s, 0 for none. */
static uint64_t session_deadline(const exp_network *n, const session *s,
                                 uint64_t now) {
  uint64_t d = exp_eio_deadline(&s->eio), stall = stall_deadline(n, s);
  if (s->phase == S_BROKEN)
    return now;
  if (s->phase == S_DRAINING)
    return s->until;
  if (stall != 0 && (d == 0 || stall < d))
    d = stall;
  if (s == n->next && s->phase == S_CONNECTED && (d == 0 || s->until < d))
    d = s->until;
  return d;
}

static uint64_t earliest(uint64_t a, uint64_t b) {
  return a == 0 || (b != 0 && b < a) ? b : a;
}

/* Arms the timer at the earliest deadline of all. */
static void arm(exp_network *n) {
  uint64_t now = uv_now(n->sdk->loop), d = 0;
  if (n->state == NET_STOPPED)
    return;
  if (n->state == NET_BACKOFF || n->state == NET_RENEW_BACKOFF)
    d = n->retry_at;
  if (n->cur != NULL)
    d = earliest(d, session_deadline(n, n->cur, now));
  if (n->next != NULL)
    d = earliest(d, session_deadline(n, n->next, now));
  if (n->old != NULL)
    d = earliest(d, session_deadline(n, n->old, now));
  /* Every read moves the stall deadline later: a timer due sooner stays,
   * fires early, and the judgement arms it again (perf, issue 14). */
  if (d != 0 && uv_is_active((uv_handle_t *)&n->timer) && n->armed <= d)
    return;
  n->armed = d;
  if (d == 0)
    uv_timer_stop(&n->timer);
  else
    uv_timer_start(&n->timer, on_timer, d > now ? d - now : 0, 0);
}

static int is_online(const exp_network *n) {
  return n->state == NET_ONLINE || n->state == NET_RENEWING ||
         n->state == NET_RENEW_BACKOFF;
}

/* Whether a broadcast may arrive twice: two sessions receive, or did
 * lately. */
static int overlapping(const exp_network *n) {
  return (n->next != NULL && n->next->phase == S_CONNECTED) || n->old != NULL ||
         uv_now(n->sdk->loop) < n->dedupe_until;
}

/* The draining session is done (closed, failed, or out of time). */
static void drop_old(exp_network *n) {
  session_end(n->old, 0);
  n->old = NULL;
  n->dedupe_until = uv_now(n->sdk->loop) + DEDUPE_GRACE_MS;
}

/* To RENEW_BACKOFF: the renewal's session failed; the current one stays
 * (its token is still good, or the server would drop it) and the renewal
 * is retried after a backoff. */
static void renew_failed(exp_network *n, exp_log_level level, const char *why) {
  uint64_t delay = backoff(n, &n->renewals);
  if (level == EXP_LOG_WARN && n->renewals > 1)
    level = EXP_LOG_INFO;
  session_end(n->next, 0);
  n->next = NULL;
  n->state = NET_RENEW_BACKOFF;
  n->retry_at = uv_now(n->sdk->loop) + delay;
  exp_logf(&n->sdk->log, level,
           "renewing the socket with the new token failed: %s; the current "
           "one stays, retrying in %llu ms",
           why, (unsigned long long)delay);
  arm(n);
}

/* s failed or ended: for the current session the network goes offline and
 * reconnects after a backoff (at once when only the Engine.IO version
 * changes), unless a renewal's session can take over; a renewal's session
 * is retried later; a draining one is simply gone. */
static void lose(exp_network *n, session *s, exp_log_level level, int at_once,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void lose(exp_network *n, session *s, exp_log_level level, int at_once,
                 const char *fmt, ...) {
  int was = is_online(n);
  char why[256];
  va_list ap;
  uint64_t delay;

  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  if (s != NULL && s == n->old) {
    exp_logf(&n->sdk->log, EXP_LOG_DEBUG, "replaced socket closed: %s", why);
    drop_old(n);
    return;
  }
  if (s != NULL && s == n->next) {
    renew_failed(n, level, why);
    return;
  }
  session_end(n->cur, 0);
  n->cur = NULL;
  if (n->next != NULL) {
    /* The renewal's session takes over, online already if it connected. */
    n->cur = n->next;
    n->next = NULL;
    n->state = n->cur->phase == S_CONNECTED ? NET_ONLINE : NET_OPENING;
    exp_logf(&n->sdk->log, level,
             "socket lost with %s: %s; the renewing one "
             "takes over",
             n->where, why);
    arm(n);
    if (n->state == NET_OPENING)
      exp_sdk_set_online(n->sdk, 0);
    return;
  }
  /* Only the first failure of a series warns: a server down for hours
   * would fill the log otherwise. */
  if (level == EXP_LOG_WARN && !was && n->attempt > 0)
    level = EXP_LOG_INFO;
  delay = at_once ? 0 : backoff(n, &n->attempt);
  n->state = NET_BACKOFF;
  n->retry_at = uv_now(n->sdk->loop) + delay;
  arm(n);
  exp_logf(&n->sdk->log, level, "socket %s %s: %s; reconnecting in %llu ms",
           was ? "lost with" : "could not connect to", n->where, why,
           (unsigned long long)delay);
  if (was)
    exp_sdk_set_online(n->sdk, 0);
}

/* To OPENING: a session with the current token. */
static void open_session(exp_network *n) {
  char msg[256] = "";

  n->rejected = 0;
  n->cur = session_open(n, msg, sizeof(msg));
  n->state = NET_OPENING;
  if (n->cur == NULL) {
    lose(n, NULL, EXP_LOG_WARN, 0, "%s", msg);
    return;
  }
  exp_logf(&n->sdk->log, EXP_LOG_DEBUG,
           "socket connecting to %s (Engine.IO %d)", n->where, n->version);
  arm(n);
}

/* OPENING again: the opening session is replaced by one with the new
 * token. */
static void restart(exp_network *n) {
  session_end(n->cur, 1);
  n->cur = NULL;
  open_session(n);
}

/* To RENEWING: a new token while online.  The current session stays until
 * the new one has connected and the server acknowledged every
 * subscription on it: no broadcast falls between the two. */
static void renew(exp_network *n) {
  char msg[256] = "";

  session_end(n->next, 1);
  n->rejected = 0;
  n->next = session_open(n, msg, sizeof(msg));
  if (n->next == NULL) {
    renew_failed(n, EXP_LOG_WARN, msg);
    return;
  }
  n->state = NET_RENEWING;
  exp_logf(&n->sdk->log, EXP_LOG_DEBUG,
           "socket renewing: connecting to %s with the new token", n->where);
  arm(n);
}

/* To ONLINE: the renewal's session has every subscription; the old one
 * closes, delivering what it still has on the way. */
static void promote(exp_network *n) {
  session *old = n->cur;
  uint64_t now = uv_now(n->sdk->loop);

  n->cur = n->next;
  n->next = NULL;
  n->state = NET_ONLINE;
  n->renewals = 0;
  n->cur->acks = 0;
  if (n->old != NULL)
    drop_old(n);
  if (old->phase == S_CONNECTED && exp_ws_is_open(old->ws)) {
    exp_ws_close(old->ws, 1000, NULL);
    flush_ws(old);
    old->phase = S_DRAINING;
    old->until = now + DRAIN_MS;
    n->old = old;
  } else {
    session_end(old, 0);
  }
  n->dedupe_until = now + DRAIN_MS + DEDUPE_GRACE_MS;
  exp_logf(&n->sdk->log, EXP_LOG_INFO, "socket renewed with the new token (%s)",
           n->where);
  arm(n);
}

/* To ONLINE: the default namespace of s is connected. */
static void go_online(exp_network *n, session *s) {
  exp_sdk *sdk = n->sdk;
  n->state = NET_ONLINE;
  s->phase = S_CONNECTED;
  s->last_rx = uv_now(sdk->loop);
  n->attempt = 0;
  n->switched = 0;
  exp_sdk_host_reached(sdk, s->host);
  exp_logf(&sdk->log, EXP_LOG_INFO, "socket connected to %s (Engine.IO %d)",
           n->where, n->version);
  if (n->ev.on_connected != NULL) {
    exp_sdk_enter(sdk);
    n->ev.on_connected(n->ud, 0);
    exp_sdk_leave(sdk);
  }
  if (exp_network_is_connected(n))
    exp_sdk_set_online(sdk, 1);
}

/* The renewal's session is connected: every channel is subscribed on it,
 * and it takes over once the server acknowledged them all. */
static void next_connected(exp_network *n, session *s) {
  exp_sdk *sdk = n->sdk;
  s->phase = S_CONNECTED;
  s->last_rx = uv_now(sdk->loop);
  s->until = s->last_rx + n->connect_timeout_ms;
  exp_sdk_host_reached(sdk, s->host);
  if (n->ev.on_connected != NULL) {
    n->target = s;
    exp_sdk_enter(sdk);
    n->ev.on_connected(n->ud, 1);
    exp_sdk_leave(sdk);
    n->target = NULL;
  }
  if (n->next == s && s->phase == S_CONNECTED && s->acks == 0)
    promote(n);
}

/* The server does not speak this Engine.IO version: try the other one, at
 * once the first time. */
static void switch_version(exp_network *n, session *s, const char *why) {
  int from = n->version;
  int at_once = !n->switched;
  n->version = from == 4 ? 3 : 4;
  n->switched = 1;
  lose(n, s, at_once ? EXP_LOG_INFO : EXP_LOG_WARN, at_once,
       "%s (Engine.IO %d); trying Engine.IO %d", why, from, n->version);
}

/* The server refused the session's token: ask the auth layer for a new
 * one, as a REST call seeing 401 would.  Without this a socket-only
 * application would wait for the next scheduled refresh. */
static void token_rejected(exp_network *n, unsigned gen) {
  exp_sdk *sdk = n->sdk;
  exp_auth_out o;
  n->rejected = 1;
  if (n->state != NET_STOPPED && sdk->auth != NULL &&
      exp_auth_on_401(sdk->auth, gen, exp_sdk_now(), &o) == EXP_AUTH_WAIT)
    exp_sdk_auth_perform(sdk, &o);
}

/* ------------------------------------------------- the session's events */

static void refused(exp_network *n, session *s) {
  size_t len;
  const char *body = exp_ws_refusal(s->ws, &len);
  int status = exp_ws_status(s->ws);
  if (n->forced == 0 && s == n->cur &&
      exp_eio_version_refused(status, body, len))
    switch_version(n, s, "the server refused the version");
  else
    lose(n, s, EXP_LOG_WARN, 0, "the server refused the websocket: HTTP %d",
         status);
}

static void on_connect(void *ud, int err, const char *msg) {
  session *s = ud;
  exp_network *n = s->net;
  int r;
  if (err != 0) {
    exp_sdk_host_failed(n->sdk, s->host, EXP_ENETWORK, msg);
    lose(n, s, EXP_LOG_WARN, 0, "%s", msg);
    return;
  }
  s->phase = S_OPENING;
  if ((r = flush_ws(s)) != 0)
    lose(n, s, EXP_LOG_WARN, 0, "%s",
         send_failure(r, "sending the websocket upgrade failed"));
}

static void on_end(void *ud, int err, const char *msg) {
  session *s = ud;
  exp_network *n = s->net;
  int r = exp_ws_eof(s->ws);
  if (r == EXP_EAPI) {
    refused(n, s);
  } else if (err != 0) {
    /* Cut while opening: that origin does not serve us now. */
    if (s->phase == S_DIALING || s->phase == S_OPENING)
      exp_sdk_host_failed(n->sdk, s->host, EXP_ENETWORK, msg);
    lose(n, s, EXP_LOG_WARN, 0, "%s", msg);
  } else {
    lose(n, s, EXP_LOG_WARN, 0, "%s",
         r == EXP_WS_CLOSED ? "the websocket closed" : exp_ws_message(s->ws));
  }
}

static void on_data(void *ud, const char *data, size_t len) {
  session *s = ud;
  exp_network *n = s->net;
  int r;

  n->reads++;
  s->last_rx = uv_now(n->sdk->loop);
  s->probe_until = 0;
  s->feeding = 1;
  s->text_err = 0;
  r = exp_ws_feed(s->ws, data, len);
  s->feeding = 0;
  if (s->phase == S_ENDED) { /* stopped, replaced, or failed meanwhile */
    session_close(s);
    return;
  }
  if (r == 0) {
    if ((r = flush_ws(s)) != 0)
      lose(n, s, EXP_LOG_WARN, 0, "%s",
           send_failure(r, "sending to the server failed"));
    else
      arm(n);
    return;
  }
  if (s->text_err != 0) {
    if (n->forced == 0 && s == n->cur && exp_eio_server_is_v3(&s->eio)) {
      switch_version(n, s, "the server is Socket.IO 2");
    } else {
      unsigned gen = s->gen;
      int refusal = s->text_err == EXP_EAUTH;
      lose(n, s, EXP_LOG_WARN, 0, "%s", s->why);
      if (refusal)
        token_rejected(n, gen);
    }
  } else if (r == EXP_WS_CLOSED) {
    lose(n, s, s == n->old ? EXP_LOG_DEBUG : EXP_LOG_WARN, 0,
         "the server closed the websocket (%d%s%s)", exp_ws_close_code(s->ws),
         exp_ws_close_reason(s->ws)[0] ? " " : "",
         loggable(n, exp_ws_close_reason(s->ws)));
  } else if (r == EXP_EAPI) {
    refused(n, s);
  } else {
    lose(n, s, EXP_LOG_WARN, 0, "%s", exp_ws_message(s->ws));
  }
}

/* Stops the websocket from the text callback; on_data says why. */
static int text_fail(session *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int text_fail(session *s, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->why, sizeof(s->why), fmt, ap);
  va_end(ap);
  s->text_err = err;
  return err;
}

static int on_text(void *ud, const char *msg, size_t len) {
  session *s = ud;
  exp_network *n = s->net;
  exp_eio_out out;
  int r = exp_eio_feed(&s->eio, msg, len, uv_now(n->sdk->loop), &out);

  if (r != 0)
    return text_fail(s, r, "%s", exp_eio_message(&s->eio));
  /* A draining session has sent its close: it answers nothing more. */
  if (out.send != NULL && s->phase != S_DRAINING &&
      (r = exp_ws_send_text(s->ws, out.send, out.send_len)) != 0)
    return text_fail(s, r, "%s", exp_strerror(r));
  switch (out.kind) {
  case EXP_EIO_CONNECTED:
    if (s == n->cur)
      go_online(n, s);
    else if (s == n->next)
      next_connected(n, s);
    break;
  case EXP_EIO_EVENT:
    if (n->ev.on_event != NULL) {
      exp_sdk_enter(n->sdk);
      n->ev.on_event(n->ud, out.name, out.arg, out.arg_len, len,
                     overlapping(n));
      exp_sdk_leave(n->sdk);
    }
    if (s == n->next && s->acks > 0 && strcmp(out.name, "subscribed") == 0 &&
        --s->acks == 0)
      promote(n);
    break;
  case EXP_EIO_CONNECT_ERROR:
    /* EXP servers refuse a socket for its token only. */
    return text_fail(s, EXP_EAUTH, "the server refused the socket: %s",
                     loggable(n, out.message));
  case EXP_EIO_CLOSED:
    return text_fail(s, EXP_ENETWORK, "%s", out.message);
  default:
    break;
  }
  return s->phase == S_ENDED ? EXP_ECANCELLED : 0;
}

/* A deadline of s passed and what waited in its socket was read: its
 * heartbeat, its silence, its connect or drain time.  Nonzero when s is
 * gone. */
static int judge_session(exp_network *n, session *s, uint64_t now) {
  uint64_t stall;
  exp_eio_out out;
  int r;

  if (s->phase == S_BROKEN) {
    lose(n, s, EXP_LOG_WARN, 0, "sending to the server failed");
    return 1;
  }
  if (s->phase == S_DRAINING) {
    if (now < s->until)
      return 0;
    lose(n, s, EXP_LOG_DEBUG, 0, "its close took too long");
    return 1;
  }
  stall = stall_deadline(n, s);
  if (stall != 0 && now >= stall) {
    if (s->probe_until != 0) {
      exp_sdk_host_failed(n->sdk, s->host, EXP_ETIMEOUT,
                          "the server stopped answering");
      lose(n, s, EXP_LOG_WARN, 0,
           "nothing came from the server for %llu ms, not even the answer "
           "to a ping (stall_timeout_ms)",
           (unsigned long long)(now - s->last_rx));
      return 1;
    }
    /* A websocket ping: any server answers it, whatever its heartbeat. */
    s->probe_until = now + n->stall_ms - n->stall_ms / 2;
    if ((r = exp_ws_ping(s->ws)) != 0 || (r = flush_ws(s)) != 0) {
      lose(n, s, EXP_LOG_WARN, 0, "%s",
           send_failure(r, "sending a ping failed"));
      return 1;
    }
  }
  if (exp_eio_tick(&s->eio, now, &out) != 0) {
    /* No open or no pong in time: the origin stopped answering. */
    exp_sdk_host_failed(n->sdk, s->host, EXP_ETIMEOUT,
                        exp_eio_message(&s->eio));
    lose(n, s, EXP_LOG_WARN, 0, "%s", exp_eio_message(&s->eio));
    return 1;
  }
  if (out.send != NULL &&
      ((r = exp_ws_send_text(s->ws, out.send, out.send_len)) != 0 ||
       (r = flush_ws(s)) != 0)) {
    lose(n, s, EXP_LOG_WARN, 0, "%s", send_failure(r, "sending a ping failed"));
    return 1;
  }
  /* The server left subscriptions of the renewal unanswered: it takes over
   * anyway, and listens that miss theirs ask again (bus.h). */
  if (s == n->next && s->phase == S_CONNECTED && now >= s->until) {
    exp_logf(&n->sdk->log, EXP_LOG_INFO,
             "the renewed socket's subscriptions were not all acknowledged "
             "in time");
    promote(n);
  }
  return 0;
}

/* A deadline passed and what waited in the sockets was read. */
static void judge(exp_network *n) {
  uint64_t now = uv_now(n->sdk->loop);

  if (n->state == NET_BACKOFF && now >= n->retry_at) {
    open_session(n);
    return;
  }
  if (n->state == NET_RENEW_BACKOFF && now >= n->retry_at)
    renew(n);
  if (n->old != NULL)
    judge_session(n, n->old, now);
  if (n->next != NULL)
    judge_session(n, n->next, now);
  if (n->cur != NULL && judge_session(n, n->cur, now))
    return;
  arm(n);
}

/* Bounds the passes a socket that keeps delivering can buy: past them the
 * deadline is judged anyway, and the loop does not spin. */
#define MAX_PASSES 64

static void on_timer(uv_timer_t *t) {
  exp_network *n = t->data;

  n->passes = 0;
  n->reads_seen = n->reads;
  uv_idle_start(&n->idle, on_idle);
  uv_check_start(&n->check, on_check);
}

/* Only there to make the poll that follows not block. */
static void on_idle(uv_idle_t *h) {
  EXP_UNUSED(h);
}

static void on_check(uv_check_t *h) {
  exp_network *n = h->data;

  /* Data came in this pass: there may be more, read it first. */
  if (n->reads != n->reads_seen && ++n->passes < MAX_PASSES) {
    n->reads_seen = n->reads;
    return;
  }
  uv_idle_stop(&n->idle);
  uv_check_stop(&n->check);
  judge(n);
}

/* ------------------------------------------------------------ SDK side */

static void net_auth(void *net, const cJSON *auth) {
  exp_network *n = net;
  EXP_UNUSED(auth);
  switch (n->state) {
  case NET_IDLE:
    open_session(n);
    break;
  case NET_BACKOFF:
  case NET_RENEW_BACKOFF:
    /* After a refusal this is the token we asked for: the next attempt
     * takes it after the backoff, so a server refusing every token gets no
     * storm. */
    if (n->rejected)
      break;
    if (n->state == NET_BACKOFF)
      open_session(n);
    else
      renew(n);
    break;
  case NET_OPENING:
    restart(n);
    break;
  case NET_ONLINE:
  case NET_RENEWING:
    renew(n);
    break;
  case NET_STOPPED:
    break;
  }
}

static void net_stop(void *net) {
  exp_network *n = net;
  if (n->state == NET_STOPPED)
    return;
  n->state = NET_STOPPED;
  n->pending += 3;
  uv_close((uv_handle_t *)&n->timer, on_handle_closed);
  uv_close((uv_handle_t *)&n->idle, on_handle_closed);
  uv_close((uv_handle_t *)&n->check, on_handle_closed);
  session_end(n->cur, 1);
  session_end(n->next, 1);
  session_end(n->old, 0);
  n->cur = n->next = n->old = NULL;
}

int exp_network_attach(exp_sdk *sdk) {
  const exp_options *o = &sdk->opt;
  exp_network *n = exp_calloc(1, sizeof(*n));
  int r;

  if (n == NULL)
    return EXP_ENOMEM;
  n->sdk = sdk;
  n->state = NET_IDLE;
  n->forced = (int)o->num[EXP_OPT_EIO_VERSION];
  n->version = n->forced == 3 ? 3 : 4;
  n->min_ms = (uint64_t)o->num[EXP_OPT_RECONNECT_MIN_MS];
  n->max_ms = (uint64_t)o->num[EXP_OPT_RECONNECT_MAX_MS];
  n->connect_timeout_ms = (uint64_t)o->num[EXP_OPT_REQUEST_TIMEOUT_MS];
  n->stall_ms = (uint64_t)o->num[EXP_OPT_STALL_TIMEOUT_MS];
  n->max_message = (size_t)o->num[EXP_OPT_MAX_BODY_BYTES];
  r = exp_sdk_attach(sdk, &ops, n);
  if (r != 0) {
    exp_free(n);
    return r;
  }
  uv_timer_init(sdk->loop, &n->timer);
  uv_idle_init(sdk->loop, &n->idle);
  uv_check_init(sdk->loop, &n->check);
  n->timer.data = n->idle.data = n->check.data = n;
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

/* Sends a frame on s; 0, or the error after which s is broken (the timer
 * drops it, outside the caller). */
static int send_on(exp_network *n, session *s, const char *frame, size_t len,
                   int subscribe) {
  int r = exp_ws_send_text(s->ws, frame, len);
  /* Inside a feed, on_data writes once the feed is done. */
  if (r == 0 && !s->feeding && flush_ws(s) != 0)
    r = EXP_ENETWORK;
  if (r != 0) {
    s->phase = S_BROKEN;
    uv_timer_start(&n->timer, on_timer, 0, 0);
    return r;
  }
  if (subscribe && s == n->next)
    s->acks++;
  return 0;
}

int exp_network_send(exp_network *n, const char *name, const cJSON *arg) {
  session *s = n->target != NULL ? n->target : n->cur;
  int subscribe = name != NULL && strcmp(name, "subscribe") == 0;
  uint64_t max;
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
  max = exp_eio_max_payload(&s->eio);
  if (max != 0 && len > max) {
    exp_free(frame);
    return exp_sdk_error(n->sdk, EXP_ETOOBIG, 0, NULL,
                         "socket event %s: %zu bytes, the server takes %llu",
                         name, len, (unsigned long long)max);
  }
  r = send_on(n, s, frame, len, subscribe);
  /* While a renewal's session is connected, it hears everything too: its
   * failure is the renewal's, not the caller's. */
  if (r == 0 && n->target == NULL && n->next != NULL &&
      n->next->phase == S_CONNECTED)
    send_on(n, n->next, frame, len, subscribe);
  exp_free(frame);
  if (r != 0)
    return exp_sdk_error(n->sdk, r, 0, NULL, "socket event %s: %s", name,
                         exp_strerror(r));
  return 0;
}

int exp_network_is_connected(const exp_network *n) {
  return is_online(n) && n->cur->phase == S_CONNECTED;
}

int exp_network_version(const exp_network *n) {
  return n->version;
}

int exp_is_connected(const exp_sdk *sdk) {
  exp_network *n = sdk != NULL ? exp_sdk_layer(sdk, &ops) : NULL;
  return n != NULL && exp_network_is_connected(n);
}
