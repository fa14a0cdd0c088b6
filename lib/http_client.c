/* http_client.c: pooled HTTP/1.1 requests on libuv (http.c over conn.c). */
#include "http_client.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "common.h"
#include "conn.h"
#include "http.h"
#include "tls.h"
#include "url.h"

#define MAX_CONNS_PER_ORIGIN 6
#define DEFAULT_MAX_BODY ((size_t)32 * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_MAX_IDLE 4

typedef struct origin origin;
typedef struct hconn hconn;

struct exp_http {
  uv_loop_t *loop;
  exp_http_config cfg;
  exp_tls_config *tls; /* made on the first https request */
  char *ca_file;
  exp_list origins;
  exp_list reqs;       /* requests not yet completed */
  exp_list conns;      /* connections not yet freed */
  exp_http_req *spare; /* the last completed request, its timer open */
  int refs;            /* 1 until closed, plus one per live timer and conn */
  int closing;
};

struct origin {
  exp_list link;
  exp_list idle;  /* hconn.idle_link, most recently used last */
  exp_list queue; /* exp_http_req.qlink, waiting for a connection */
  size_t nconns;  /* connections counted against the cap */
  size_t nidle;
  int tls;
  uint16_t port;
  char *host;
  char key[]; /* the URL's origin */
};

struct hconn {
  exp_list link;      /* in exp_http.conns */
  exp_list idle_link; /* in origin.idle while idle */
  exp_http *h;
  origin *o;
  exp_conn *conn;
  exp_http_parser *parser;
  exp_http_req *req; /* the request in flight, NULL when idle */
  int reused;        /* answered a request before: may have gone stale */
  int dead;          /* closing */
  int fresh;         /* the parser awaits its reset for req */
};

struct exp_http_req {
  exp_list link;  /* in exp_http.reqs */
  exp_list qlink; /* in origin.queue while waiting */
  exp_http *h;
  origin *o;
  hconn *conn;
  uv_timer_t timer; /* due at deadline or before: see arm */
  const char *wire; /* the request's bytes, kept for a retry: copy, owned,
                       or the caller's (lent) */
  char *owned;      /* wire when it was serialised here */
  size_t wire_len;
  unsigned parse_flags;
  uint64_t timeout_ms;
  uint64_t deadline; /* loop time it times out at */
  exp_http_cb cb;
  void *ud;
  int got_bytes; /* some of the answer arrived */
  int retried;
  int done;
  int deferred_err; /* to report from the timer, outside exp_http_send */
  char msg[200];
  size_t copy_cap;
  char copy[]; /* a wire the caller made */
};

static void unref(exp_http *h) {
  if (--h->refs > 0)
    return;
  while (!exp_list_empty(&h->origins)) {
    origin *o = EXP_CONTAINER_OF(h->origins.next, origin, link);
    exp_list_remove(&o->link);
    exp_free(o->host);
    exp_free(o);
  }
  if (h->tls != NULL)
    exp_tls_config_free(h->tls);
  exp_free(h->ca_file);
  exp_free(h);
}

/* ------------------------------------------------------------- requests */

static void on_req_closed(uv_handle_t *t) {
  exp_http_req *r = t->data;
  exp_http *h = r->h;
  exp_free(r);
  unref(h);
}

/* The largest copy a spare keeps: a big upload's bytes are not held for
 * the calls after it. */
#define SPARE_MAX_COPY (16 * 1024)

/* Keeps r for the next request: one call after another then allocates
 * no request and opens no timer.  Older spares are freed. */
static void retire(exp_http_req *r) {
  exp_http *h = r->h;
  exp_http_req *old = h->spare;
  if (h->closing || r->copy_cap > SPARE_MAX_COPY) {
    uv_close((uv_handle_t *)&r->timer, on_req_closed);
    return;
  }
  h->spare = r;
  if (old != NULL)
    uv_close((uv_handle_t *)&old->timer, on_req_closed);
}

static void on_timer(uv_timer_t *t);

/* Makes r time out timeout_ms from now.  A timer already due no later is
 * left as it is (on_timer waits for the rest): one call after another then
 * leaves the timer running and costs no timer heap update. */
static void arm(exp_http_req *r, uint64_t timeout_ms) {
  uint64_t now = uv_now(r->h->loop);
  r->deadline = now + timeout_ms < now ? UINT64_MAX : now + timeout_ms;
  if (!uv_is_active((uv_handle_t *)&r->timer) ||
      uv_timer_get_due_in(&r->timer) > timeout_ms)
    uv_timer_start(&r->timer, on_timer, timeout_ms, 0);
  uv_ref((uv_handle_t *)&r->timer);
}

/* Calls the request's callback, once; the caller has dealt with its
 * connection.  The request is kept or freed later, with its timer. */
static void complete(exp_http_req *r, int err, const exp_http_response *res,
                     const char *msg) {
  if (r->done)
    return;
  r->done = 1;
  exp_list_remove(&r->link);
  exp_list_remove(&r->qlink);
  if (r->conn != NULL)
    r->conn->req = NULL;
  r->conn = NULL;
  /* Its timer may run on (see arm), but holds the loop no more. */
  uv_unref((uv_handle_t *)&r->timer);
  r->cb(err, res, msg, r->ud);
  exp_free(r->owned);
  r->owned = NULL;
  r->wire = NULL;
  retire(r);
}

/* Fails r from the loop rather than from the current call stack. */
static void defer_error(exp_http_req *r, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
  va_end(ap);
  r->deferred_err = err;
  uv_timer_start(&r->timer, on_timer, 0, 0);
}

/* ---------------------------------------------------------- connections */

static void on_conn_closed(void *ud) {
  hconn *c = ud;
  exp_http *h = c->h;
  exp_list_remove(&c->link);
  exp_http_parser_free(c->parser);
  exp_free(c);
  unref(h);
}

/* Closes c; its request, if any, is the caller's to finish. */
static void close_conn(hconn *c) {
  if (c->dead)
    return;
  c->dead = 1;
  if (c->req != NULL)
    c->req->conn = NULL;
  c->req = NULL;
  if (!exp_list_empty(&c->idle_link)) {
    exp_list_remove(&c->idle_link);
    c->o->nidle--;
  }
  c->o->nconns--;
  exp_conn_close(c->conn, on_conn_closed);
}

static void on_connect(void *ud, int err, const char *msg);
static void on_data(void *ud, const char *data, size_t len);
static void on_end(void *ud, int err, const char *msg);
static void connect_for(exp_http_req *r);

static const exp_conn_callbacks conn_callbacks = {on_connect, on_data, on_end};

/* Sends r on the open connection c. */
static void send_on(exp_http_req *r, hconn *c) {
  int err;
  c->req = r;
  c->fresh = 1;
  r->conn = c;
  r->got_bytes = 0;
  err = exp_conn_write(c->conn, r->wire, r->wire_len);
  if (err == 0)
    return;
  close_conn(c);
  if (err == EXP_ENETWORK && c->reused && !r->retried) {
    /* A stale keep-alive connection. */
    r->retried = 1;
    connect_for(r);
  } else {
    defer_error(r, err, "sending the request: %s", exp_strerror(err));
  }
}

/* Opens a new connection for r. */
static void connect_for(exp_http_req *r) {
  exp_http *h = r->h;
  origin *o = r->o;
  char msg[200];
  int err = EXP_ENOMEM, tls_err;
  exp_tls_config *tls = NULL;
  hconn *c;
  if (o->tls &&
      (tls = exp_http_tls_config(h, &tls_err, msg, sizeof(msg))) == NULL) {
    defer_error(r, tls_err, "%s", msg);
    return;
  }
  c = exp_calloc(1, sizeof(*c));
  if (c != NULL)
    c->parser = exp_http_parser_new(h->cfg.max_body, r->parse_flags);
  if (c == NULL || c->parser == NULL ||
      (err = exp_conn_open(h->loop, o->host, o->port, tls, &conn_callbacks, c,
                           &c->conn, msg, sizeof(msg))) != 0) {
    if (c != NULL)
      exp_http_parser_free(c->parser);
    exp_free(c);
    defer_error(r, err, "%s", err == EXP_ENOMEM ? "out of memory" : msg);
    return;
  }
  c->h = h;
  c->o = o;
  exp_list_init(&c->idle_link);
  exp_list_insert_tail(&h->conns, &c->link);
  h->refs++;
  o->nconns++;
  c->req = r;
  r->conn = c;
}

/* Starts waiting requests on idle or new connections, up to the cap. */
static void dispatch(origin *o, exp_http *h) {
  while (!h->closing && !exp_list_empty(&o->queue)) {
    exp_http_req *r = EXP_CONTAINER_OF(o->queue.next, exp_http_req, qlink);
    if (exp_list_empty(&o->idle) && o->nconns >= MAX_CONNS_PER_ORIGIN)
      return;
    exp_list_remove(&r->qlink);
    if (!exp_list_empty(&o->idle)) {
      hconn *c = EXP_CONTAINER_OF(o->idle.prev, hconn, idle_link);
      exp_list_remove(&c->idle_link);
      o->nidle--;
      send_on(r, c);
    } else {
      connect_for(r);
    }
  }
}

/* c finished a response and may carry another. */
static void make_idle(hconn *c) {
  origin *o = c->o;
  c->reused = 1;
  if (c->h->closing || o->nidle >= c->h->cfg.max_idle_per_origin) {
    close_conn(c);
    return;
  }
  exp_list_insert_tail(&o->idle, &c->idle_link);
  o->nidle++;
}

static void on_connect(void *ud, int err, const char *msg) {
  hconn *c = ud;
  exp_http_req *r = c->req;
  origin *o = c->o;
  if (err != 0) {
    close_conn(c);
    if (r != NULL)
      complete(r, err, NULL, msg);
    dispatch(o, c->h);
    return;
  }
  if (r != NULL)
    send_on(r, c);
}

static void on_end(void *ud, int err, const char *msg) {
  hconn *c = ud;
  exp_http_req *r = c->req;
  origin *o = c->o;
  exp_http *h = c->h;
  close_conn(c);
  if (r == NULL) {
    /* An idle connection the server let go. */
    dispatch(o, h);
    return;
  }
  if (!r->got_bytes && c->reused && !r->retried) {
    /* The server closed a keep-alive connection as we reused it. */
    r->retried = 1;
    connect_for(r);
  } else if (!r->got_bytes) {
    complete(r, err != 0 ? err : EXP_ENETWORK, NULL,
             err != 0 ? msg
                      : "the server closed the connection before "
                        "answering");
  } else if (err != 0) {
    complete(r, err, NULL, msg);
  } else if ((err = exp_http_parser_eof(c->parser)) == EXP_HTTP_DONE) {
    exp_http_response res;
    res.status = exp_http_parser_status(c->parser);
    res.body = exp_http_parser_body(c->parser, &res.body_len);
    res.content_type = exp_http_parser_header(c->parser, "content-type");
    complete(r, 0, &res, "OK");
  } else {
    complete(r, err, NULL, exp_http_parser_message(c->parser));
  }
  dispatch(o, h);
}

static void on_data(void *ud, const char *data, size_t len) {
  hconn *c = ud;
  exp_http_req *r = c->req;
  origin *o = c->o;
  exp_http *h = c->h;
  exp_http_response res;
  size_t used;
  int ret;
  if (r == NULL) {
    /* Nothing was asked: a server talking out of turn. */
    close_conn(c);
    dispatch(o, h);
    return;
  }
  if (c->fresh) {
    /* Reset only now: the previous body stayed valid for its callback. */
    exp_http_parser_reset(c->parser, r->parse_flags);
    c->fresh = 0;
  }
  r->got_bytes = 1;
  ret = exp_http_parser_feed(c->parser, data, len, &used);
  if (ret == EXP_HTTP_MORE)
    return;
  if (ret < 0) {
    close_conn(c);
    complete(r, ret, NULL, exp_http_parser_message(c->parser));
    dispatch(o, h);
    return;
  }
  /* Bytes beyond the response mean the stream is out of step. */
  c->req = NULL;
  r->conn = NULL;
  if (exp_http_parser_keep_alive(c->parser) && used == len)
    make_idle(c);
  else
    close_conn(c);
  /* Waiting requests may take c right away: its parser resets lazily. */
  dispatch(o, h);
  res.status = exp_http_parser_status(c->parser);
  res.body = exp_http_parser_body(c->parser, &res.body_len);
  res.content_type = exp_http_parser_header(c->parser, "content-type");
  complete(r, 0, &res, "OK");
}

/* ------------------------------------------------------------------ API */

static void on_timer(uv_timer_t *t) {
  exp_http_req *r = t->data;
  hconn *c = r->conn;
  origin *o = r->o;
  exp_http *h = r->h;
  uint64_t now = uv_now(h->loop);
  if (r->done)
    return; /* due for a request that has finished */
  if (r->deferred_err == 0 && r->deadline > now) {
    /* Armed for an earlier request: the rest of this one's time. */
    uv_timer_start(t, on_timer, r->deadline - now, 0);
    return;
  }
  if (r->deferred_err != 0) {
    complete(r, r->deferred_err, NULL, r->msg);
  } else {
    if (c != NULL)
      close_conn(c);
    snprintf(r->msg, sizeof(r->msg), "no answer within %llu ms",
             (unsigned long long)r->timeout_ms);
    complete(r, EXP_ETIMEOUT, NULL, r->msg);
  }
  dispatch(o, h);
}

exp_http *exp_http_new(uv_loop_t *loop, const exp_http_config *cfg, char *msg,
                       size_t msg_size) {
  exp_http *h = exp_calloc(1, sizeof(*h));
  if (h == NULL) {
    if (msg != NULL && msg_size > 0)
      snprintf(msg, msg_size, "out of memory");
    return NULL;
  }
  h->loop = loop;
  h->cfg = *cfg;
  /* Certificates are parsed on the first https request: a plain-http
   * client never pays for the CA bundle. */
  h->cfg.ca_file = NULL;
  if (cfg->ca_file != NULL && (h->ca_file = exp_strdup(cfg->ca_file)) == NULL) {
    if (msg != NULL && msg_size > 0)
      snprintf(msg, msg_size, "out of memory");
    exp_free(h);
    return NULL;
  }
  if (h->cfg.max_body == 0)
    h->cfg.max_body = DEFAULT_MAX_BODY;
  if (h->cfg.default_timeout_ms == 0)
    h->cfg.default_timeout_ms = DEFAULT_TIMEOUT_MS;
  if (h->cfg.max_idle_per_origin == 0)
    h->cfg.max_idle_per_origin = DEFAULT_MAX_IDLE;
  exp_list_init(&h->origins);
  exp_list_init(&h->reqs);
  exp_list_init(&h->conns);
  h->refs = 1;
  return h;
}

static origin *find_origin(exp_http *h, const exp_url *u) {
  exp_list *l;
  origin *o;
  size_t kl = strlen(u->origin);
  for (l = h->origins.next; l != &h->origins; l = l->next) {
    o = EXP_CONTAINER_OF(l, origin, link);
    if (strcmp(o->key, u->origin) == 0)
      return o;
  }
  o = exp_calloc(1, sizeof(*o) + kl + 1);
  if (o == NULL)
    return NULL;
  o->host = exp_strdup(u->host);
  if (o->host == NULL) {
    exp_free(o);
    return NULL;
  }
  memcpy(o->key, u->origin, kl + 1);
  o->tls = u->tls;
  o->port = u->port;
  exp_list_init(&o->idle);
  exp_list_init(&o->queue);
  exp_list_insert_tail(&h->origins, &o->link);
  return o;
}

enum { HAS_CONNECTION = 1, HAS_USER_AGENT = 2 };

/* Which of the fields the client adds a list names already. */
static unsigned named(const char *const *headers) {
  unsigned found = 0;
  for (; headers != NULL && *headers != NULL; headers++) {
    const char *h = *headers;
    if ((h[0] | 0x20) == 'c' && strncasecmp(h, "connection:", 11) == 0)
      found |= HAS_CONNECTION;
    else if ((h[0] | 0x20) == 'u' && strncasecmp(h, "user-agent:", 11) == 0)
      found |= HAS_USER_AGENT;
  }
  return found;
}

/* The request's bytes: the caller's headers plus ours, which are constants
 * and go with the caller's trusted ones. */
static int serialise(const exp_http_request *q, const exp_url *u,
                     const char *target, char **out, size_t *out_len, char *msg,
                     size_t msg_size) {
  static const char ua[] = "User-Agent: exp-sdk-c/" EXP_VERSION_STRING;
  static const char ka[] = "Connection: keep-alive";
  const char *stack[16], **trusted = stack, *body = q->body;
  size_t n = 0, i = 0;
  unsigned found = named(q->headers) | named(q->trusted);
  int err;
  while (q->trusted != NULL && q->trusted[n] != NULL)
    n++;
  if (n + 3 > EXP_ARRAY_SIZE(stack)) {
    trusted = exp_malloc((n + 3) * sizeof(*trusted));
    if (trusted == NULL)
      return EXP_ENOMEM;
  }
  for (; i < n; i++)
    trusted[i] = q->trusted[i];
  if (!(found & HAS_CONNECTION))
    trusted[i++] = ka;
  if (!(found & HAS_USER_AGENT))
    trusted[i++] = ua;
  trusted[i] = NULL;
  /* Servers may insist on a length for methods that carry a body. */
  if (body == NULL &&
      (strcmp(q->method, "POST") == 0 || strcmp(q->method, "PUT") == 0 ||
       strcmp(q->method, "PATCH") == 0))
    body = "";
  err = exp_http_write_request_trusted(
      q->method, target, u->authority, q->headers, trusted, body,
      body != NULL ? q->body_len : 0, out, out_len, msg, msg_size);
  if (trusted != stack)
    exp_free(trusted);
  return err;
}

int exp_http_serialise(const exp_http_request *q, char **out, size_t *out_len,
                       char *msg, size_t msg_size) {
  exp_url parsed;
  int err;
  if (q->method == NULL || (q->origin != NULL && q->target == NULL))
    return EXP_EOPTIONS;
  if (q->origin != NULL)
    return serialise(q, q->origin, q->target, out, out_len, msg, msg_size);
  if ((err = exp_url_parse(q->url, &parsed, msg, msg_size)) != 0)
    return err;
  err = serialise(q, &parsed, parsed.target, out, out_len, msg, msg_size);
  exp_url_free(&parsed);
  return err;
}

/* A request with room for a wire of copy bytes: the spare when it has,
 * else a new one; its timer is open and stopped. */
static exp_http_req *take_request(exp_http *h, size_t copy) {
  exp_http_req *r = h->spare;
  if (r != NULL && r->copy_cap >= copy) {
    h->spare = NULL;
    r->o = NULL;
    r->conn = NULL;
    r->wire = NULL;
    r->owned = NULL;
    r->wire_len = 0;
    r->got_bytes = r->retried = r->done = r->deferred_err = 0;
    r->msg[0] = '\0';
    return r;
  }
  r = exp_calloc(1, sizeof(*r) + copy);
  if (r == NULL)
    return NULL;
  r->h = h;
  r->copy_cap = copy;
  uv_timer_init(h->loop, &r->timer);
  r->timer.data = r;
  h->refs++;
  return r;
}

/* Undoes take_request for a request never started. */
static void give_back(exp_http *h, exp_http_req *r) {
  if (r == NULL)
    return;
  r->done = 1; /* for its timer, which may still be due (see arm) */
  if (h->spare == NULL) {
    h->spare = r;
    return;
  }
  uv_close((uv_handle_t *)&r->timer, on_req_closed);
}

int exp_http_send(exp_http *h, const exp_http_request *q, exp_http_cb cb,
                  void *ud, exp_http_req **out) {
  exp_http_req *r;
  exp_url parsed;
  const exp_url *u = q->origin;
  const char *target = q->target;
  int err;
  if (out != NULL)
    *out = NULL;
  if (h->closing)
    return EXP_ECANCELLED;
  if (q->method == NULL || cb == NULL || (u != NULL && target == NULL))
    return EXP_EOPTIONS;
  if (u == NULL) {
    err = exp_url_parse(q->url, &parsed, NULL, 0);
    if (err != 0)
      return err;
    u = &parsed;
    target = parsed.target;
  }
  r = take_request(h, q->wire != NULL && !q->wire_lent ? q->wire_len : 0);
  if (r == NULL) {
    err = EXP_ENOMEM;
  } else if (q->wire != NULL) {
    if (q->wire_lent) {
      r->wire = q->wire;
    } else {
      memcpy(r->copy, q->wire, q->wire_len);
      r->wire = r->copy;
    }
    r->wire_len = q->wire_len;
    err = 0;
  } else {
    err = serialise(q, u, target, &r->owned, &r->wire_len, r->msg,
                    sizeof(r->msg));
    r->wire = r->owned;
  }
  if (err == 0 && (r->o = find_origin(h, u)) == NULL)
    err = EXP_ENOMEM;
  if (u == &parsed)
    exp_url_free(&parsed);
  if (err != 0) {
    if (r != NULL) {
      exp_free(r->owned);
      r->owned = NULL;
      r->wire = NULL;
    }
    give_back(h, r);
    return err;
  }
  exp_list_init(&r->qlink);
  r->cb = cb;
  r->ud = ud;
  r->parse_flags = (strcmp(q->method, "HEAD") == 0 ? EXP_HTTP_PARSE_HEAD : 0) |
                   (q->headless ? EXP_HTTP_PARSE_NO_HEADERS : 0);
  r->timeout_ms = q->timeout_ms ? q->timeout_ms : h->cfg.default_timeout_ms;
  arm(r, r->timeout_ms);
  exp_list_insert_tail(&h->reqs, &r->link);
  exp_list_insert_tail(&r->o->queue, &r->qlink);
  dispatch(r->o, h);
  if (out != NULL)
    *out = r;
  return 0;
}

void exp_http_cancel(exp_http_req *r) {
  origin *o = r->o;
  exp_http *h = r->h;
  if (r->done)
    return;
  if (r->conn != NULL)
    close_conn(r->conn);
  complete(r, EXP_ECANCELLED, NULL, "cancelled");
  dispatch(o, h);
}

exp_tls_config *exp_http_tls_config(exp_http *h, int *err, char *msg,
                                    size_t msg_size) {
  *err = 0;
  if (h->tls == NULL)
    h->tls =
        exp_tls_config_new(h->ca_file, h->cfg.tls_verify, err, msg, msg_size);
  return h->tls;
}

void exp_http_close(exp_http *h) {
  exp_list *l, *next;
  if (h->closing)
    return;
  h->closing = 1;
  /* Callbacks may cancel other requests: always take the first left. */
  while (!exp_list_empty(&h->reqs)) {
    exp_http_req *r = EXP_CONTAINER_OF(h->reqs.next, exp_http_req, link);
    if (r->conn != NULL)
      close_conn(r->conn);
    complete(r, EXP_ECANCELLED, NULL, "the HTTP client was closed");
  }
  for (l = h->conns.next; l != &h->conns; l = next) {
    next = l->next;
    close_conn(EXP_CONTAINER_OF(l, hconn, link));
  }
  if (h->spare != NULL)
    uv_close((uv_handle_t *)&h->spare->timer, on_req_closed);
  h->spare = NULL;
  unref(h);
}
