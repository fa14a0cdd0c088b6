/* conn.c: a TCP (and TLS) connection on libuv: the I/O around tls.c. */
#include "conn.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#include "common.h"
#include "loop_state.h"

/* What one read takes at most, into the buffer the loop's connections
 * share (loop_state.h).  Sixteen KB hold thousands of small frames; a long
 * burst takes a few more reads than with libuv's suggested 64 KB. */
#define READ_BUF_SIZE (16 * 1024)
/* One TLS record of plaintext at most. */
#define PLAIN_BUF_SIZE (16 * 1024)

typedef enum state { RESOLVING, CONNECTING, HANDSHAKING, OPEN, ENDED } state;

struct exp_conn {
  uv_loop_t *loop;
  exp_loop_state *ls; /* a reference held: the read buffers */
  uv_getaddrinfo_t gai;
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  struct addrinfo *addrs, *next_addr;
  /* An IP literal host skips the resolver, and so libuv's thread pool. */
  struct sockaddr_storage literal;
  int literal_pending;
  int last_err; /* libuv error of the latest connect attempt */
  exp_tls *tls;
  exp_conn_callbacks cb;
  void *ud;
  state state;
  int closing;
  int gai_pending;
  int tcp_closed; /* the handle is not initialised (closed for good) */
  void (*on_close)(void *ud);
  uint16_t port;
  char host[];
};

typedef struct write_req {
  uv_write_t req;
  char *data; /* a buffer to free, or NULL when the bytes are in copy */
  char copy[];
} write_req;

static void maybe_free(exp_conn *c) {
  if (c->gai_pending || !c->tcp_closed)
    return;
  if (c->on_close != NULL)
    c->on_close(c->ud);
  exp_tls_free(c->tls);
  if (c->addrs != NULL)
    uv_freeaddrinfo(c->addrs);
  exp_loop_state_put(c->ls);
  exp_free(c);
}

/* Reports the end of the connection: through on_connect when it never
 * opened, else on_end.  Only the first report counts. */
static void end(exp_conn *c, int err, const char *fmt, ...) {
  char msg[320];
  state was = c->state;
  va_list ap;
  if (c->closing || was == ENDED)
    return;
  c->state = ENDED;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (!c->tcp_closed)
    uv_read_stop((uv_stream_t *)&c->tcp);
  if (was == OPEN)
    c->cb.on_end(c->ud, err, msg);
  else
    c->cb.on_connect(c->ud, err, msg);
}

static void on_written(uv_write_t *req, int status) {
  write_req *w = EXP_CONTAINER_OF(req, write_req, req);
  exp_conn *c = req->data;
  exp_free(w->data);
  exp_free(w);
  if (status < 0 && status != UV_ECANCELED)
    end(c, EXP_ENETWORK, "sending to %s: %s", c->host, uv_strerror(status));
}

/* Writes what the socket takes now; the number of bytes or an error. */
static ssize_t write_now(exp_conn *c, const char *data, size_t len) {
  uv_buf_t b =
      uv_buf_init((char *)data, len > UINT_MAX ? UINT_MAX : (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  return n == UV_EAGAIN ? 0 : n;
}

/* Sends data, then frees owned (which holds data, or is NULL). */
static int send_bytes(exp_conn *c, char *owned, const char *data, size_t len) {
  ssize_t n = write_now(c, data, len);
  write_req *w;
  uv_buf_t b;
  if (n < 0) {
    exp_free(owned);
    return EXP_ENETWORK;
  }
  data += n;
  len -= (size_t)n;
  if (len == 0) {
    exp_free(owned);
    return 0;
  }
  /* The socket is full: queue the rest, in the caller's buffer if ours. */
  w = exp_malloc(sizeof(*w) + (owned == NULL ? len : 0));
  if (w == NULL || len > UINT_MAX) {
    exp_free(w);
    exp_free(owned);
    return EXP_ENOMEM;
  }
  if (owned == NULL) {
    w->data = NULL;
    memcpy(w->copy, data, len);
    data = w->copy;
  } else {
    w->data = owned;
  }
  w->req.data = c;
  b = uv_buf_init((char *)data, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
    exp_free(w->data);
    exp_free(w);
    return EXP_ENETWORK;
  }
  return 0;
}

/* Sends whatever TLS produced. */
static int flush(exp_conn *c) {
  size_t len;
  char *out = exp_tls_take_output(c->tls, &len);
  return out != NULL ? send_bytes(c, out, out, len) : 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  exp_loop_state *ls = ((exp_conn *)h->data)->ls;
  EXP_UNUSED(suggested);
  if (ls->rbuf == NULL)
    ls->rbuf = exp_malloc(READ_BUF_SIZE);
  *buf = uv_buf_init(ls->rbuf, ls->rbuf != NULL ? READ_BUF_SIZE : 0);
}

/* Hands every complete TLS record's plaintext to on_data. */
static void drain(exp_conn *c) {
  exp_loop_state *ls = c->ls;
  int r;
  if (ls->pbuf == NULL && (ls->pbuf = exp_malloc(PLAIN_BUF_SIZE)) == NULL) {
    end(c, EXP_ENOMEM, "out of memory");
    return;
  }
  for (;;) {
    size_t got;
    r = exp_tls_read(c->tls, ls->pbuf, PLAIN_BUF_SIZE, &got);
    if (r < 0) {
      end(c, r, "%s", exp_tls_message(c->tls));
      return;
    }
    if (r == 1) {
      end(c, 0, "TLS session closed by %s", c->host);
      return;
    }
    if (got == 0)
      break;
    c->cb.on_data(c->ud, ls->pbuf, got);
    if (c->closing || c->state != OPEN)
      return;
  }
  /* Reading may answer the peer (alerts). */
  if ((r = flush(c)) != 0)
    end(c, r, "sending to %s %s", c->host,
        r == EXP_ENOMEM ? "ran out of memory" : "failed");
}

/* A step of the TLS handshake and what it sends: 0 once done, 1 while it
 * goes on, or a negative exp_errno once c has ended with it. */
static int handshake(exp_conn *c) {
  int r = exp_tls_handshake(c->tls), w;
  if (r >= 0 && (w = flush(c)) != 0) {
    end(c, w, "TLS with %s: %s", c->host,
        w == EXP_ENOMEM ? "out of memory" : "sending failed");
    return w;
  }
  if (r < 0)
    end(c, r, "TLS with %s: %s", c->host, exp_tls_message(c->tls));
  return r;
}

static void opened(exp_conn *c) {
  c->state = OPEN;
  c->cb.on_connect(c->ud, 0, "connected");
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  exp_conn *c = s->data;
  int r;
  if (c->closing || c->state == ENDED || n == 0)
    return;
  if (n < 0) {
    if (n == UV_ENOBUFS)
      end(c, EXP_ENOMEM, "out of memory");
    else if (n != UV_EOF)
      end(c, EXP_ENETWORK, "receiving from %s: %s", c->host,
          uv_strerror((int)n));
    else if (c->state == HANDSHAKING)
      end(c, EXP_ETLS, "%s closed the connection during the TLS handshake",
          c->host);
    else
      end(c, 0, "connection closed by %s", c->host);
    return;
  }
  if (c->tls == NULL) {
    c->cb.on_data(c->ud, buf->base, (size_t)n);
    return;
  }
  if (exp_tls_feed(c->tls, buf->base, (size_t)n) != 0) {
    end(c, EXP_ENOMEM, "out of memory");
    return;
  }
  if (c->state == HANDSHAKING) {
    r = handshake(c);
    if (r != 0)
      return;
    opened(c);
    if (c->closing || c->state != OPEN)
      return;
  }
  drain(c);
}

static void on_connected(uv_connect_t *req, int status);
static void on_tcp_closed(uv_handle_t *h);

/* Connects the (fresh) handle to the next address, or gives up. */
static void try_next(exp_conn *c) {
  const struct sockaddr *sa;
  int r;
  if (c->literal_pending) {
    c->literal_pending = 0;
    sa = (const struct sockaddr *)&c->literal;
  } else if (c->next_addr != NULL) {
    sa = c->next_addr->ai_addr;
    c->next_addr = c->next_addr->ai_next;
  } else {
    end(c, EXP_ENETWORK, "connecting to %s port %u: %s", c->host,
        (unsigned)c->port, uv_strerror(c->last_err));
    return;
  }
  c->state = CONNECTING;
  r = uv_tcp_connect(&c->connect_req, &c->tcp, sa, on_connected);
  if (r < 0) {
    c->last_err = r;
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
  }
}

static void on_tcp_closed(uv_handle_t *h) {
  exp_conn *c = h->data;
  if (c->closing) {
    c->tcp_closed = 1;
    maybe_free(c);
    return;
  }
  /* A failed attempt: a handle cannot connect twice, so take a new one. */
  if (uv_tcp_init(c->loop, &c->tcp) != 0) {
    c->tcp_closed = 1;
    end(c, EXP_ENETWORK, "connecting to %s: no socket", c->host);
    return;
  }
  c->tcp.data = c;
  try_next(c);
}

static void on_connected(uv_connect_t *req, int status) {
  exp_conn *c = req->data;
  int r;
  if (c->closing)
    return;
  if (status < 0) {
    c->last_err = status;
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
    return;
  }
  uv_freeaddrinfo(c->addrs);
  c->addrs = c->next_addr = NULL;
  uv_tcp_nodelay(&c->tcp, 1);
  r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (r < 0) {
    end(c, EXP_ENETWORK, "reading from %s: %s", c->host, uv_strerror(r));
    return;
  }
  if (c->tls == NULL) {
    opened(c);
    return;
  }
  c->state = HANDSHAKING;
  handshake(c);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  exp_conn *c = req->data;
  c->gai_pending = 0;
  if (c->closing) {
    if (res != NULL)
      uv_freeaddrinfo(res);
    maybe_free(c);
    return;
  }
  if (status < 0) {
    end(c, EXP_ENETWORK, "resolving %s: %s", c->host, uv_strerror(status));
    return;
  }
  c->addrs = c->next_addr = res;
  try_next(c);
}

int exp_conn_open(uv_loop_t *loop, const char *host, uint16_t port,
                  exp_tls_config *tls, const exp_conn_callbacks *cb, void *ud,
                  exp_conn **out, char *msg, size_t msg_size) {
  size_t hl = strlen(host);
  struct addrinfo hints;
  char service[8];
  exp_conn *c = exp_calloc(1, sizeof(*c) + hl + 1);
  int r;

  *out = NULL;
  if (c == NULL)
    goto nomem;
  memcpy(c->host, host, hl + 1);
  c->loop = loop;
  if ((c->ls = exp_loop_state_join(loop)) == NULL) {
    exp_free(c);
    goto nomem;
  }
  c->port = port;
  c->cb = *cb;
  c->ud = ud;
  c->last_err = UV_EADDRNOTAVAIL;
  if (tls != NULL) {
    int err;
    c->tls = exp_tls_new(tls, host, &err, msg, msg_size);
    if (c->tls == NULL) {
      exp_loop_state_put(c->ls);
      exp_free(c);
      return err;
    }
  }
  if (uv_tcp_init(loop, &c->tcp) != 0) {
    exp_tls_free(c->tls);
    exp_loop_state_put(c->ls);
    exp_free(c);
    if (msg != NULL && msg_size > 0)
      snprintf(msg, msg_size, "cannot create a socket");
    return EXP_ENETWORK;
  }
  c->tcp.data = c;
  c->gai.data = c;
  c->connect_req.data = c;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&c->literal) == 0 ||
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&c->literal) == 0) {
    c->literal_pending = 1;
    try_next(c);
    *out = c;
    return 0;
  }
  snprintf(service, sizeof(service), "%u", (unsigned)port);
  c->state = RESOLVING;
  r = uv_getaddrinfo(loop, &c->gai, on_resolved, host, service, &hints);
  if (r < 0) {
    /* Report it like any other failure: from the loop, via on_connect. */
    c->last_err = r;
    c->next_addr = NULL;
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
  } else {
    c->gai_pending = 1;
  }
  *out = c;
  return 0;
nomem:
  if (msg != NULL && msg_size > 0)
    snprintf(msg, msg_size, "out of memory");
  return EXP_ENOMEM;
}

int exp_conn_write(exp_conn *c, const char *data, size_t len) {
  int r;
  if (c->closing || c->state == ENDED)
    return EXP_ENETWORK;
  if (c->state != OPEN)
    return EXP_ERUNTIME;
  if (c->tls == NULL)
    return send_bytes(c, NULL, data, len);
  r = exp_tls_write(c->tls, data, len);
  return r != 0 ? r : flush(c);
}

size_t exp_conn_backlog(const exp_conn *c) {
  return c->tcp_closed ? 0 : c->tcp.write_queue_size;
}

void exp_conn_close(exp_conn *c, void (*on_close)(void *ud)) {
  c->on_close = on_close;
  /* Best effort: a small write goes out at once, before the close. */
  if (c->state == OPEN && c->tls != NULL && exp_tls_close_notify(c->tls) == 0)
    flush(c);
  c->closing = 1;
  if (c->gai_pending)
    uv_cancel((uv_req_t *)&c->gai);
  if (!c->tcp_closed && !uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
  else
    maybe_free(c);
}
