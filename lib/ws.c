/* ws.c: websocket client over memory buffers.  wslay's frame API reads
 * and writes the frames; messages, control frames and the close handshake
 * are done here, so that every byte kept goes through the SDK's allocator
 * and a failed allocation loses nothing it holds (wslay 1.1.1's event API
 * leaks a message when queueing it fails, and misjudges the UTF-8 of a
 * close reason that arrives split). */
#include "ws.h"

#include <stdarg.h>
#include <stdio.h>

#include <uv.h>
#include <wslay/wslay.h>

#include "base64.h"
#include "common.h"
#include "crypto.h"
#include "http.h"
#include "utf8.h"

#define DEFAULT_MAX_MESSAGE (32u * 1024 * 1024)
#define DEFAULT_MAX_REFUSAL (64u * 1024)
/* A message buffer up to this size is kept for the next message. */
#define KEEP_MESSAGE (64u * 1024)
/* The longest frame header (RFC 6455 5.2) and control frame payload. */
#define MAX_HEADER 14
#define MAX_CONTROL 125

enum { HANDSHAKE, OPEN, CLOSING, CLOSED, FAILED };

enum {
  OP_CONTINUATION = 0x0,
  OP_TEXT = 0x1,
  OP_BINARY = 0x2,
  OP_CLOSE = 0x8,
  OP_PING = 0x9,
  OP_PONG = 0xa
};

/* RFC 6455 7.4.1 codes. */
enum {
  CLOSE_NORMAL = 1000,
  CLOSE_PROTOCOL = 1002,
  CLOSE_UNSUPPORTED = 1003,
  CLOSE_NO_STATUS = 1005,
  CLOSE_BAD_DATA = 1007,
  CLOSE_TOO_BIG = 1009
};

struct exp_ws {
  int state;
  int err; /* the result once FAILED */
  int status;
  int refusal_cut; /* the refusal's body was over the cap */
  wslay_frame_context_ptr frames;
  exp_http_parser *parser; /* the upgrade answer; kept for a refusal */
  exp_ws_text_cb on_text;
  void *ud;
  size_t max_message;
  const char *in; /* what exp_ws_feed is handing to wslay */
  size_t in_len;
  uint64_t frame_off; /* payload bytes of the current frame seen so far */
  /* The text message being put together, kept between messages up to
   * KEEP_MESSAGE bytes; in_message while its final frame has not come. */
  char *message;
  size_t message_len, message_cap;
  int in_message;
  exp_utf8 utf8;
  unsigned char control[MAX_CONTROL]; /* the control frame coming in */
  size_t control_len;
  char *out;
  size_t out_len, out_cap;
  int close_code;
  char close_reason[MAX_CONTROL - 1];
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

static ssize_t recv_cb(uint8_t *buf, size_t len, int flags, void *ud) {
  exp_ws *ws = ud;
  size_t n = len < ws->in_len ? len : ws->in_len;
  EXP_UNUSED(flags);
  if (n == 0)
    return -1; /* wslay: nothing more for now */
  memcpy(buf, ws->in, n);
  ws->in += n;
  ws->in_len -= n;
  return (ssize_t)n;
}

/* Writes into room out_reserve made: never short. */
static ssize_t send_cb(const uint8_t *data, size_t len, int flags, void *ud) {
  exp_ws *ws = ud;
  EXP_UNUSED(flags);
  memcpy(ws->out + ws->out_len, data, len);
  ws->out_len += len;
  return (ssize_t)len;
}

static int genmask_cb(uint8_t *buf, size_t len, void *ud) {
  EXP_UNUSED(ud);
  /* Synchronous form: no loop, no request, no callback. */
  return uv_random(NULL, NULL, buf, len, 0, NULL) != 0 ? -1 : 0;
}

/* Room for n more bytes of output.  0 or EXP_ENOMEM. */
static int out_reserve(exp_ws *ws, size_t n) {
  size_t cap;
  char *grown;
  if (ws->out_cap - ws->out_len >= n)
    return 0;
  cap = ws->out_cap > 0 ? ws->out_cap : 256;
  while (cap - ws->out_len < n)
    cap *= 2;
  grown = exp_realloc(ws->out, cap);
  if (grown == NULL)
    return EXP_ENOMEM;
  ws->out = grown;
  ws->out_cap = cap;
  return 0;
}

/* Writes one whole, masked frame.  0, EXP_ENOMEM, or EXP_ENETWORK (no
 * random bytes for the mask); nothing is written on failure. */
static int send_frame(exp_ws *ws, uint8_t op, const void *data, size_t len) {
  struct wslay_frame_iocb f;
  memset(&f, 0, sizeof(f));
  f.fin = 1;
  f.opcode = op;
  f.mask = 1;
  f.payload_length = len;
  f.data = data;
  f.data_length = len;
  if (out_reserve(ws, MAX_HEADER + len) != 0)
    return EXP_ENOMEM;
  /* The header goes first, so a failed mask leaves the output as it was. */
  if (wslay_frame_send(ws->frames, &f) != (ssize_t)len)
    return EXP_ENETWORK;
  return 0;
}

/* A close frame: code 0 sends none, reason may be NULL. */
static int send_close(exp_ws *ws, uint16_t code, const char *reason, size_t n) {
  unsigned char body[MAX_CONTROL];
  if (code == 0)
    return send_frame(ws, OP_CLOSE, NULL, 0);
  body[0] = (unsigned char)(code >> 8);
  body[1] = (unsigned char)code;
  if (n > 0)
    memcpy(body + 2, reason, n);
  return send_frame(ws, OP_CLOSE, body, n + 2);
}

static int send_failed(exp_ws *ws, int r) {
  return fail(ws, r,
              r == EXP_ENOMEM ? "out of memory"
                              : "no random bytes for a websocket mask");
}

/* ----------------------------------------------------------- lifecycle */

/* A fresh Sec-WebSocket-Key and the accept it asks for (RFC 6455 4.1);
 * 0, or an error with msg saying why. */
static int make_key(char key[32], char accept[32], char *msg, size_t msg_size) {
  unsigned char nonce[16], digest[20];
  char buf[64];
  size_t n;
  int r;
  if (uv_random(NULL, NULL, nonce, sizeof(nonce), 0, NULL) != 0) {
    if (msg != NULL && msg_size > 0)
      snprintf(msg, msg_size, "no random bytes for the websocket key");
    return EXP_ENETWORK;
  }
  n = exp_base64(key, nonce, sizeof(nonce), 0);
  memcpy(buf, key, n);
  memcpy(buf + n, GUID, sizeof(GUID) - 1);
  if ((r = exp_sha1(buf, n + sizeof(GUID) - 1, digest, msg, msg_size)) != 0)
    return r;
  exp_base64(accept, digest, sizeof(digest), 0);
  return 0;
}

int exp_ws_new(const exp_ws_config *cfg, exp_ws **out, char *msg,
               size_t msg_size) {
  static const struct wslay_frame_callbacks callbacks = {send_cb, recv_cb,
                                                         genmask_cb};
  char key[32], key_header[64];
  const char *fixed[] = {"Upgrade: websocket", "Connection: Upgrade",
                         key_header, "Sec-WebSocket-Version: 13"};
  const char **headers;
  size_t extra = 0, i;
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
  ws->max_message =
      cfg->max_message > 0 ? cfg->max_message : DEFAULT_MAX_MESSAGE;
  if ((r = make_key(key, ws->accept, msg, msg_size)) != 0)
    goto fail;
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
  if (ws->parser == NULL ||
      wslay_frame_context_init(&ws->frames, &callbacks, ws) != 0)
    goto fail;
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
  wslay_frame_context_free(ws->frames);
  exp_http_parser_free(ws->parser);
  exp_free(ws->message);
  exp_free(ws->out);
  exp_free(ws);
}

/* ------------------------------------------------------------- frames */

/* A frame that breaks the protocol: the close with its code goes out
 * (if it can), and the websocket is done. */
static int broken(exp_ws *ws, uint16_t code, const char *why) {
  send_close(ws, code, NULL, 0);
  return fail(ws, EXP_EPROTOCOL, "%s", why);
}

static int is_control(uint8_t op) {
  return (op & 0x8) != 0;
}

/* The header of a frame, seen with its first payload bytes. */
static int frame_start(exp_ws *ws, const struct wslay_frame_iocb *f) {
  if (f->rsv != 0 || f->mask)
    return broken(ws, CLOSE_PROTOCOL, "a malformed websocket frame");
  switch (f->opcode) {
  case OP_CLOSE:
  case OP_PING:
  case OP_PONG:
    /* wslay refuses control frames fragmented or over 125 bytes. */
    ws->control_len = 0;
    return 0;
  case OP_BINARY:
    if (ws->in_message)
      return broken(ws, CLOSE_PROTOCOL, "a malformed websocket frame");
    return broken(ws, CLOSE_UNSUPPORTED,
                  "a binary websocket message (EXP uses none)");
  case OP_TEXT:
    if (ws->in_message)
      return broken(ws, CLOSE_PROTOCOL, "a malformed websocket frame");
    ws->in_message = 1;
    ws->message_len = 0;
    memset(&ws->utf8, 0, sizeof(ws->utf8));
    break;
  case OP_CONTINUATION:
    if (ws->in_message)
      break;
    return broken(ws, CLOSE_PROTOCOL, "a malformed websocket frame");
  default:
    return broken(ws, CLOSE_PROTOCOL, "a malformed websocket frame");
  }
  /* The cap counts a whole fragmented message. */
  if (f->payload_length > ws->max_message - ws->message_len)
    return broken(ws, CLOSE_TOO_BIG, "a websocket message over the size cap");
  return 0;
}

/* Hands a whole text message to the callback. */
static int deliver(exp_ws *ws, const char *text, size_t len) {
  int r = ws->on_text != NULL ? ws->on_text(ws->ud, text, len) : 0;
  if (r != 0)
    return fail(ws, r, "the text message handler failed");
  /* The callback may have sent, and failed doing so. */
  return ws->state == FAILED ? ws->err : 0;
}

/* Payload bytes of a text message; the message ends with fin. */
static int message_data(exp_ws *ws, const struct wslay_frame_iocb *f,
                        int whole) {
  const unsigned char *p = f->data;
  size_t n = f->data_length;
  int r;
  if (exp_utf8_feed(&ws->utf8, p, n) != 0 || (whole && ws->utf8.need != 0))
    return broken(ws, CLOSE_BAD_DATA, "invalid UTF-8 in a websocket message");
  /* A message in one piece is read where wslay has it. */
  if (whole && ws->message_len == 0) {
    ws->in_message = 0;
    return deliver(ws, (const char *)p, n);
  }
  /* Empty fragments add nothing (and the buffer may not exist yet). */
  if (n > 0) {
    if (ws->message_cap - ws->message_len < n) {
      size_t cap = ws->message_cap > 0 ? ws->message_cap : 256;
      char *grown;
      while (cap - ws->message_len < n)
        cap *= 2;
      grown = exp_realloc(ws->message, cap);
      if (grown == NULL)
        return fail(ws, EXP_ENOMEM, "out of memory");
      ws->message = grown;
      ws->message_cap = cap;
    }
    memcpy(ws->message + ws->message_len, p, n);
    ws->message_len += n;
  }
  if (!whole)
    return 0;
  ws->in_message = 0;
  r = deliver(ws, ws->message, ws->message_len);
  ws->message_len = 0;
  /* Memory stays bounded by what the usual messages need. */
  if (ws->message_cap > KEEP_MESSAGE) {
    exp_free(ws->message);
    ws->message = NULL;
    ws->message_cap = 0;
  }
  return r;
}

static int valid_close_code(unsigned code) {
  return (code >= 1000 && code <= 1011 && code != 1004 && code != 1005 &&
          code != 1006) ||
         (code >= 3000 && code <= 4999);
}

/* A whole control frame. */
static int control(exp_ws *ws, uint8_t op) {
  const unsigned char *p = ws->control;
  size_t n = ws->control_len;
  unsigned code;
  int r;
  if (op == OP_PING) {
    /* No pong once our close is out (RFC 6455 5.5.1). */
    if (ws->state == OPEN && (r = send_frame(ws, OP_PONG, p, n)) != 0)
      return send_failed(ws, r);
    return 0;
  }
  if (op == OP_PONG)
    return 0;
  code = n >= 2 ? (unsigned)p[0] << 8 | p[1] : 0;
  if (n == 1 || (n >= 2 && !valid_close_code(code)))
    return broken(ws, CLOSE_PROTOCOL, "a malformed websocket frame");
  if (n > 2 && !exp_utf8_valid(p + 2, n - 2))
    return broken(ws, CLOSE_BAD_DATA, "invalid UTF-8 in a websocket message");
  ws->close_code = n >= 2 ? (int)code : CLOSE_NO_STATUS;
  if (n > 2)
    memcpy(ws->close_reason, p + 2, n - 2);
  ws->close_reason[n > 2 ? n - 2 : 0] = '\0';
  /* The answer echoes the code and reason, unless ours went first. */
  if (ws->state == OPEN &&
      (r = send_close(ws, (uint16_t)code, (const char *)p + 2,
                      n > 2 ? n - 2 : 0)) != 0)
    return send_failed(ws, r);
  ws->state = CLOSED;
  return EXP_WS_CLOSED;
}

/* A piece of a frame's payload as wslay read it (the whole of a frame
 * without payload). */
static int frame_piece(exp_ws *ws, const struct wslay_frame_iocb *f) {
  int start = ws->frame_off == 0, end, r;
  ws->frame_off += f->data_length;
  end = ws->frame_off == f->payload_length;
  if (end)
    ws->frame_off = 0;
  if (start && (r = frame_start(ws, f)) != 0)
    return r;
  if (is_control(f->opcode)) {
    memcpy(ws->control + ws->control_len, f->data, f->data_length);
    ws->control_len += f->data_length;
    return end ? control(ws, f->opcode) : 0;
  }
  return message_data(ws, f, end && f->fin);
}

static int feed_frames(exp_ws *ws, const char *data, size_t len) {
  int r = 0;
  ws->in = data;
  ws->in_len = len;
  while (r == 0) {
    struct wslay_frame_iocb f;
    ssize_t got = wslay_frame_recv(ws->frames, &f);
    if (got == WSLAY_ERR_WANT_READ)
      break;
    /* A length wslay refuses, or a control frame fragmented or too long. */
    r = got < 0 ? broken(ws, CLOSE_PROTOCOL, "a malformed websocket frame")
                : frame_piece(ws, &f);
  }
  ws->in = NULL;
  ws->in_len = 0;
  return r;
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
  int r;
  if (ws->state != OPEN)
    return EXP_ERUNTIME;
  if ((r = send_frame(ws, OP_TEXT, msg, len)) != 0)
    return send_failed(ws, r);
  return 0;
}

int exp_ws_ping(exp_ws *ws) {
  static const char body[] = "exp";
  int r;
  if (ws->state != OPEN)
    return EXP_ERUNTIME;
  if ((r = send_frame(ws, OP_PING, body, sizeof(body) - 1)) != 0)
    return send_failed(ws, r);
  return 0;
}

int exp_ws_close(exp_ws *ws, uint16_t code, const char *reason) {
  size_t n = reason != NULL ? strlen(reason) : 0;
  int r;
  if (n > 123)
    return EXP_EOPTIONS;
  if (ws->state == HANDSHAKE) {
    ws->state = CLOSED;
    return 0;
  }
  if (ws->state != OPEN)
    return 0;
  if ((r = send_close(ws, code, reason, n)) != 0)
    return send_failed(ws, r);
  ws->state = CLOSING;
  return 0;
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
