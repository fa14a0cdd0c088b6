/* ws.c: websocket client on wslay's event API, over memory buffers. */
#include "ws.h"

#include <stdarg.h>
#include <stdio.h>

#include <mbedtls/base64.h>
#include <mbedtls/sha1.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "common.h"
#include "http.h"

#define DEFAULT_MAX_MESSAGE (32u * 1024 * 1024)
#define DEFAULT_MAX_REFUSAL (64u * 1024)
/* The longest frame header (RFC 6455 5.2) and control frame payload. */
#define MAX_HEADER 14
#define MAX_CONTROL 125

enum { HANDSHAKE, OPEN, CLOSING, CLOSED, FAILED };

struct exp_ws {
  int state;
  int err;    /* the result once FAILED */
  int io_err; /* set by a wslay callback that failed */
  int status;
  int refusal_cut; /* the refusal's body was over the cap */
  wslay_event_context_ptr ctx;
  exp_http_parser *parser; /* the upgrade answer; kept for a refusal */
  exp_ws_text_cb on_text;
  void *ud;
  const char *in; /* what exp_ws_feed is handing to wslay */
  size_t in_len;
  /* wslay 1.1.1 checks the UTF-8 of a close frame's reason from the third
   * byte of every read it gets, not of the payload, so a close frame cut
   * between reads is judged wrongly.  recv_cb hands a close frame over in
   * one read: the start of a frame whose size is not known yet, or of a
   * close frame not all here, waits in hold (hold_len bytes, ready once it
   * has hold_need of them); pass counts what is left of the frame going
   * through, which wslay may get in any pieces. */
  unsigned char hold[MAX_HEADER + MAX_CONTROL];
  size_t hold_len, hold_need;
  uint64_t pass;
  char *out;
  size_t out_len, out_cap;
  int close_code;
  char close_reason[124];
  char accept[32]; /* the Sec-WebSocket-Accept we expect */
  char msg[160];
};

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int fail(exp_ws *ws, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ws->msg, sizeof(ws->msg), fmt, ap);
  va_end(ap);
  ws->state = FAILED;
  ws->err = err;
  return err;
}

/* ------------------------------------------------------ wslay callbacks */

/* For the frame starting at p (n bytes of it here): how many bytes of it
 * wslay must get in one read (its header; all of a close frame), and in
 * *total its whole size; 0 while its header is not all here. */
static size_t frame_need(const unsigned char *p, size_t n, uint64_t *total) {
  size_t hl = 2, ext, i;
  uint64_t pl;
  if (n < 2)
    return 0;
  pl = p[1] & 0x7f;
  ext = pl == 126 ? 2 : pl == 127 ? 8 : 0;
  hl += ext + ((p[1] & 0x80) ? 4 : 0);
  if (n < hl)
    return 0;
  if (ext > 0)
    for (pl = 0, i = 0; i < ext; i++)
      pl = pl << 8 | p[2 + i];
  /* A length past this is refused by wslay; the sum must not wrap. */
  *total = pl > UINT64_MAX - hl ? UINT64_MAX : hl + pl;
  if ((p[0] & 0x0f) == WSLAY_CONNECTION_CLOSE && pl <= MAX_CONTROL)
    return hl + (size_t)pl;
  return hl;
}

/* Moves what the hold lacks from the input into it; ready when hold_need
 * is set.  Bytes taken past the need go back to the input. */
static void hold_fill(exp_ws *ws) {
  while (ws->hold_need == 0 && ws->in_len > 0) {
    size_t k = sizeof(ws->hold) - ws->hold_len, need;
    uint64_t total;
    if (k > ws->in_len)
      k = ws->in_len;
    memcpy(ws->hold + ws->hold_len, ws->in, k);
    need = frame_need(ws->hold, ws->hold_len + k, &total);
    if (need == 0 || need > ws->hold_len + k) {
      ws->hold_len += k;
      ws->in += k;
      ws->in_len -= k;
      continue;
    }
    k = need - ws->hold_len;
    ws->in += k;
    ws->in_len -= k;
    ws->hold_len = need;
    ws->hold_need = need;
    ws->pass = total - need;
  }
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                       int flags, void *ud) {
  exp_ws *ws = ud;
  size_t n = 0, k;
  EXP_UNUSED(flags);
  while (n < len) {
    if (ws->hold_need > 0) {
      /* wslay's reads after it used up its buffer are larger than any
       * close frame; a smaller one is topped up first. */
      if (ws->hold_len > len - n)
        break;
      memcpy(buf + n, ws->hold, ws->hold_len);
      n += ws->hold_len;
      ws->hold_len = ws->hold_need = 0;
    } else if (ws->pass > 0) {
      k = len - n < ws->in_len ? len - n : ws->in_len;
      if (k > ws->pass)
        k = (size_t)ws->pass;
      if (k == 0)
        break;
      memcpy(buf + n, ws->in, k);
      n += k;
      ws->in += k;
      ws->in_len -= k;
      ws->pass -= k;
    } else if (ws->in_len > 0) {
      hold_fill(ws);
      if (ws->hold_need == 0)
        break;
    } else {
      break;
    }
  }
  if (n == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data,
                       size_t len, int flags, void *ud) {
  exp_ws *ws = ud;
  EXP_UNUSED(flags);
  if (ws->out_cap - ws->out_len < len) {
    size_t cap = ws->out_cap > 0 ? ws->out_cap : 256;
    char *grown;
    while (cap - ws->out_len < len)
      cap *= 2;
    grown = exp_realloc(ws->out, cap);
    if (grown == NULL) {
      ws->io_err = EXP_ENOMEM;
      wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    }
    ws->out = grown;
    ws->out_cap = cap;
  }
  memcpy(ws->out + ws->out_len, data, len);
  ws->out_len += len;
  return (ssize_t)len;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                      void *ud) {
  exp_ws *ws = ud;
  /* Synchronous form: no loop, no request, no callback. */
  if (uv_random(NULL, NULL, buf, len, 0, NULL) != 0) {
    ws->io_err = EXP_ENETWORK;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return 0;
}

static void on_msg(wslay_event_context_ptr ctx,
                   const struct wslay_event_on_msg_recv_arg *arg, void *ud) {
  exp_ws *ws = ud;
  int r;
  if (ws->io_err != 0)
    return;
  switch (arg->opcode) {
  case WSLAY_TEXT_FRAME:
    /* Keep delivering while our own close is on its way, as RFC 6455 asks;
     * the callback sees nothing after it failed. */
    r = ws->on_text != NULL
            ? ws->on_text(ws->ud, (const char *)arg->msg, arg->msg_length)
            : 0;
    if (r != 0) {
      ws->io_err = r;
      snprintf(ws->msg, sizeof(ws->msg), "the text message handler failed");
      wslay_event_shutdown_read(ctx);
    }
    break;
  case WSLAY_BINARY_FRAME:
    ws->io_err = EXP_EPROTOCOL;
    snprintf(ws->msg, sizeof(ws->msg),
             "a binary websocket message (EXP uses none)");
    wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, NULL, 0);
    wslay_event_shutdown_read(ctx);
    break;
  case WSLAY_CONNECTION_CLOSE: {
    size_t n = arg->msg_length > 2 ? arg->msg_length - 2 : 0;
    if (n >= sizeof(ws->close_reason))
      n = sizeof(ws->close_reason) - 1;
    ws->close_code =
        arg->status_code != 0 ? arg->status_code : WSLAY_CODE_NO_STATUS_RCVD;
    if (n > 0)
      memcpy(ws->close_reason, arg->msg + 2, n);
    ws->close_reason[n] = '\0';
    break;
  }
  default: /* pings are answered by wslay, pongs need nothing */
    break;
  }
}

/* ----------------------------------------------------------- lifecycle */

static int make_key(char key[32], char accept[32]) {
  unsigned char nonce[16], digest[20], buf[64];
  size_t n;
  if (uv_random(NULL, NULL, nonce, sizeof(nonce), 0, NULL) != 0)
    return EXP_ENETWORK;
  mbedtls_base64_encode((unsigned char *)key, 32, &n, nonce, sizeof(nonce));
  memcpy(buf, key, n);
  memcpy(buf + n, GUID, sizeof(GUID) - 1);
  if (mbedtls_sha1_ret(buf, n + sizeof(GUID) - 1, digest) != 0)
    return EXP_ENETWORK;
  mbedtls_base64_encode((unsigned char *)accept, 32, &n, digest,
                        sizeof(digest));
  return 0;
}

int exp_ws_new(const exp_ws_config *cfg, exp_ws **out, char *msg,
               size_t msg_size) {
  static const struct wslay_event_callbacks callbacks = {
      recv_cb, send_cb, genmask_cb, NULL, NULL, NULL, on_msg};
  char key[32], key_header[64];
  const char *fixed[] = {"Upgrade: websocket", "Connection: Upgrade",
                         key_header, "Sec-WebSocket-Version: 13"};
  const char **headers;
  size_t extra = 0, i;
  wslay_event_context_ptr ctx;
  exp_ws *ws;
  int r;

  *out = NULL;
  if (msg != NULL && msg_size > 0)
    msg[0] = '\0';
  while (cfg->headers != NULL && cfg->headers[extra] != NULL)
    extra++;
  ws = exp_calloc(1, sizeof(*ws));
  headers = exp_calloc(EXP_ARRAY_SIZE(fixed) + extra + 1, sizeof(*headers));
  if (ws == NULL || headers == NULL) {
    exp_free(ws);
    exp_free(headers);
    return EXP_ENOMEM;
  }
  ws->on_text = cfg->on_text;
  ws->ud = cfg->ud;
  if ((r = make_key(key, ws->accept)) != 0) {
    if (msg != NULL && msg_size > 0)
      snprintf(msg, msg_size, "no random bytes for the websocket key");
    goto fail;
  }
  snprintf(key_header, sizeof(key_header), "Sec-WebSocket-Key: %s", key);
  for (i = 0; i < EXP_ARRAY_SIZE(fixed); i++)
    headers[i] = fixed[i];
  for (i = 0; i < extra; i++)
    headers[EXP_ARRAY_SIZE(fixed) + i] = cfg->headers[i];
  r = exp_http_write_request("GET", cfg->target, cfg->host, headers, NULL, 0,
                             &ws->out, &ws->out_len, msg, msg_size);
  if (r != 0)
    goto fail;
  ws->out_cap = ws->out_len;
  ws->parser = exp_http_parser_new(cfg->max_refusal > 0 ? cfg->max_refusal
                                                        : DEFAULT_MAX_REFUSAL,
                                   EXP_HTTP_PARSE_UPGRADE);
  r = EXP_ENOMEM;
  /* wslay frees its context itself when setting it up fails, and leaves
   * the freed pointer behind: only a context that worked is kept. */
  if (ws->parser == NULL ||
      wslay_event_context_client_init(&ctx, &callbacks, ws) != 0)
    goto fail;
  ws->ctx = ctx;
  wslay_event_config_set_max_recv_msg_length(
      ws->ctx, cfg->max_message > 0 ? cfg->max_message : DEFAULT_MAX_MESSAGE);
  exp_free(headers);
  *out = ws;
  return 0;
fail:
  exp_free(headers);
  exp_ws_free(ws);
  return r;
}

void exp_ws_free(exp_ws *ws) {
  if (ws == NULL)
    return;
  if (ws->ctx != NULL)
    wslay_event_context_free(ws->ctx);
  exp_http_parser_free(ws->parser);
  exp_free(ws->out);
  exp_free(ws);
}

/* ------------------------------------------------------------- frames */

/* Moves what wslay has queued into the output. */
static int flush(exp_ws *ws) {
  if (wslay_event_send(ws->ctx) != 0)
    return fail(ws, ws->io_err != 0 ? ws->io_err : EXP_ENOMEM,
                ws->io_err == EXP_ENETWORK ? "no random bytes for a mask"
                                           : "out of memory");
  return 0;
}

static const char *close_text(uint16_t code) {
  switch (code) {
  case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
    return "invalid UTF-8 in a websocket message";
  case WSLAY_CODE_MESSAGE_TOO_BIG:
    return "a websocket message over the size cap";
  default:
    return "a malformed websocket frame";
  }
}

static int feed_frames(exp_ws *ws, const char *data, size_t len) {
  int r;
  ws->in = data;
  ws->in_len = len;
  r = wslay_event_recv(ws->ctx);
  ws->in = NULL;
  ws->in_len = 0;
  if (ws->io_err != 0) {
    int err = ws->io_err;
    /* A close frame we queued (binary message) still goes out. */
    wslay_event_send(ws->ctx);
    ws->state = FAILED;
    ws->err = err;
    return err;
  }
  if (r == WSLAY_ERR_NOMEM)
    return fail(ws, EXP_ENOMEM, "out of memory");
  if (flush(ws) != 0)
    return ws->err;
  /* A frame wslay cannot even parse (bad length, fragmented or long control
   * frame) fails the whole call; wslay queued a close without a code. */
  if (r != 0)
    return fail(ws, EXP_EPROTOCOL, "%s", close_text(WSLAY_CODE_PROTOCOL_ERROR));
  if (wslay_event_get_read_enabled(ws->ctx))
    return 0;
  if (wslay_event_get_close_received(ws->ctx)) {
    ws->state = CLOSED;
    return EXP_WS_CLOSED;
  }
  /* wslay stops reading and queues a close with the reason's code when a
   * frame breaks the protocol; flush() above sent it. */
  return fail(ws, EXP_EPROTOCOL, "%s",
              close_text(wslay_event_get_status_code_sent(ws->ctx)));
}

/* ---------------------------------------------------------- handshake */

static int refused(exp_ws *ws) {
  return fail(ws, EXP_EAPI, "the server refused the websocket upgrade: HTTP %d",
              ws->status);
}

static int check_upgrade(exp_ws *ws) {
  const exp_http_parser *p = ws->parser;
  const char *v;
  v = exp_http_parser_header(p, "Upgrade");
  if (v == NULL || !exp_http_has_token(v, "websocket"))
    return fail(ws, EXP_EPROTOCOL,
                "the 101 answer does not upgrade to websocket");
  v = exp_http_parser_header(p, "Connection");
  if (v == NULL || !exp_http_has_token(v, "upgrade"))
    return fail(ws, EXP_EPROTOCOL, "the 101 answer lacks Connection: upgrade");
  v = exp_http_parser_header(p, "Sec-WebSocket-Accept");
  if (v == NULL || strcmp(v, ws->accept) != 0)
    return fail(ws, EXP_EPROTOCOL,
                "wrong Sec-WebSocket-Accept in the 101 answer");
  /* We offered no extension and no subprotocol. */
  if (exp_http_parser_header(p, "Sec-WebSocket-Extensions") != NULL ||
      exp_http_parser_header(p, "Sec-WebSocket-Protocol") != NULL)
    return fail(ws, EXP_EPROTOCOL,
                "the 101 answer names an extension or subprotocol");
  return 0;
}

static int handshake_done(exp_ws *ws) {
  int r;
  ws->status = exp_http_parser_status(ws->parser);
  if (ws->status != 101)
    return refused(ws);
  if ((r = check_upgrade(ws)) != 0)
    return r;
  exp_http_parser_free(ws->parser);
  ws->parser = NULL;
  ws->state = OPEN;
  return 0;
}

static int feed_handshake(exp_ws *ws, const char *data, size_t len) {
  size_t used = 0;
  int r = exp_http_parser_feed(ws->parser, data, len, &used);
  if (r == EXP_HTTP_MORE)
    return 0;
  if (r < 0) {
    ws->status = exp_http_parser_status(ws->parser);
    /* A refusal with a body over the cap is still a refusal. */
    if (r == EXP_ETOOBIG && ws->status != 101) {
      ws->refusal_cut = 1;
      return refused(ws);
    }
    return fail(ws, r, "websocket handshake: %s",
                exp_http_parser_message(ws->parser));
  }
  if ((r = handshake_done(ws)) != 0)
    return r;
  return used < len ? feed_frames(ws, data + used, len - used) : 0;
}

/* --------------------------------------------------------------- API */

int exp_ws_feed(exp_ws *ws, const char *data, size_t len) {
  switch (ws->state) {
  case HANDSHAKE:
    return feed_handshake(ws, data, len);
  case OPEN:
  case CLOSING:
    return feed_frames(ws, data, len);
  case CLOSED:
    return EXP_WS_CLOSED;
  default:
    return ws->err;
  }
}

int exp_ws_eof(exp_ws *ws) {
  int r;
  switch (ws->state) {
  case HANDSHAKE:
    r = exp_http_parser_eof(ws->parser);
    ws->status = exp_http_parser_status(ws->parser);
    if (r == EXP_HTTP_DONE && ws->status != 101)
      return refused(ws);
    return fail(ws, EXP_ENETWORK,
                "the connection closed during the websocket handshake");
  case OPEN:
  case CLOSING:
    return fail(ws, EXP_ENETWORK,
                "the connection closed without a websocket close");
  case CLOSED:
    return EXP_WS_CLOSED;
  default:
    return ws->err;
  }
}

int exp_ws_send_text(exp_ws *ws, const char *msg, size_t len) {
  struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)msg, len};
  if (ws->state != OPEN)
    return EXP_ERUNTIME;
  if (wslay_event_queue_msg(ws->ctx, &m) != 0)
    return fail(ws, EXP_ENOMEM, "out of memory");
  return flush(ws);
}

int exp_ws_ping(exp_ws *ws) {
  static const uint8_t body[] = "exp";
  struct wslay_event_msg m = {WSLAY_PING, body, sizeof(body) - 1};
  if (ws->state != OPEN)
    return EXP_ERUNTIME;
  if (wslay_event_queue_msg(ws->ctx, &m) != 0)
    return fail(ws, EXP_ENOMEM, "out of memory");
  return flush(ws);
}

int exp_ws_close(exp_ws *ws, uint16_t code, const char *reason) {
  size_t n = reason != NULL ? strlen(reason) : 0;
  if (n > 123)
    return EXP_EOPTIONS;
  if (ws->state == HANDSHAKE) {
    ws->state = CLOSED;
    return 0;
  }
  if (ws->state != OPEN)
    return 0;
  if (wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason, n) != 0)
    return fail(ws, EXP_ENOMEM, "out of memory");
  ws->state = CLOSING;
  return flush(ws);
}

char *exp_ws_take_output(exp_ws *ws, size_t *len) {
  char *out = ws->out;
  *len = ws->out_len;
  if (ws->out_len == 0)
    return NULL;
  ws->out = NULL;
  ws->out_len = ws->out_cap = 0;
  return out;
}

int exp_ws_is_open(const exp_ws *ws) {
  return ws->state == OPEN;
}

int exp_ws_status(const exp_ws *ws) {
  return ws->status;
}

const char *exp_ws_refusal(const exp_ws *ws, size_t *len) {
  if (ws->parser == NULL || ws->err != EXP_EAPI || ws->refusal_cut) {
    *len = 0;
    return "";
  }
  return exp_http_parser_body(ws->parser, len);
}

int exp_ws_close_code(const exp_ws *ws) {
  return ws->close_code;
}

const char *exp_ws_close_reason(const exp_ws *ws) {
  return ws->close_reason;
}

const char *exp_ws_message(const exp_ws *ws) {
  return ws->msg;
}
