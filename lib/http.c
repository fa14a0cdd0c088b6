/* http.c: HTTP/1.1 request writer and response parser (no I/O). */
#include "http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>

#include <llhttp.h>

#include "common.h"

/* Headers above this size are a misbehaving server, not data we want. */
#define MAX_HEADER_BYTES (64 * 1024)
/* Body buffers above this are freed between responses instead of kept. */
#define KEEP_BODY_BYTES (64 * 1024)

/* ----------------------------------------------------------- the writer */

static void fmt_msg(char *msg, size_t msg_size, const char *fmt, ...) {
  va_list ap;
  if (msg == NULL || msg_size == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(msg, msg_size, fmt, ap);
  va_end(ap);
}

/* RFC 9110 token characters. */
static int is_tchar(unsigned char c) {
  return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int valid_token(const char *s) {
  if (*s == '\0')
    return 0;
  for (; *s; s++)
    if (!is_tchar((unsigned char)*s))
      return 0;
  return 1;
}

/* Visible ASCII or UTF-8 bytes, with spaces and tabs when allowed. */
static int valid_text(const char *s, int spaces) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == 0x7f || (c < 0x20 && !(spaces && c == '\t')) ||
        (c == ' ' && !spaces))
      return 0;
  }
  return 1;
}

int exp_http_header_valid(const char *h) {
  const char *colon = strchr(h, ':');
  size_t i;
  if (colon == NULL || colon == h)
    return 0;
  for (i = 0; h + i < colon; i++)
    if (!is_tchar((unsigned char)h[i]))
      return 0;
  return valid_text(colon + 1, 1);
}

int exp_http_write_request(const char *method, const char *target,
                           const char *host, const char *const *headers,
                           const char *body, size_t body_len, char **out,
                           size_t *out_len, char *msg, size_t msg_size) {
  return exp_http_write_request_trusted(method, target, host, headers, NULL,
                                        body, body_len, out, out_len, msg,
                                        msg_size);
}

int exp_http_write_request_trusted(const char *method, const char *target,
                                   const char *host, const char *const *headers,
                                   const char *const *trusted, const char *body,
                                   size_t body_len, char **out, size_t *out_len,
                                   char *msg, size_t msg_size) {
  char clen[48] = "";
  size_t n, i, len, ml, tl, hl;
  char *buf, *w;

  if (method == NULL || !valid_token(method)) {
    fmt_msg(msg, msg_size, "invalid HTTP method");
    return EXP_EOPTIONS;
  }
  if (target == NULL || *target == '\0' || !valid_text(target, 0)) {
    fmt_msg(msg, msg_size, "invalid request target");
    return EXP_EOPTIONS;
  }
  if (host == NULL || *host == '\0' || !valid_text(host, 0)) {
    fmt_msg(msg, msg_size, "invalid Host");
    return EXP_EOPTIONS;
  }
  ml = strlen(method);
  tl = strlen(target);
  hl = strlen(host);
  /* Exact size first, so the request is one allocation and one write. */
  n = ml + 1 + tl + sizeof(" HTTP/1.1\r\n") - 1 + sizeof("Host: ") - 1 + hl + 2;
  for (i = 0; headers != NULL && headers[i] != NULL; i++) {
    if (!exp_http_header_valid(headers[i])) {
      fmt_msg(msg, msg_size, "invalid header \"%.40s\"", headers[i]);
      return EXP_EOPTIONS;
    }
    n += strlen(headers[i]) + 2;
  }
  for (i = 0; trusted != NULL && trusted[i] != NULL; i++)
    n += strlen(trusted[i]) + 2;
  if (body != NULL) {
    snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", body_len);
    n += strlen(clen);
    if (body_len > SIZE_MAX - n - 2)
      return EXP_ENOMEM;
    n += body_len;
  }
  n += 2;
  buf = exp_malloc(n);
  if (buf == NULL)
    return EXP_ENOMEM;
  w = buf;
#define PUT(s, l)                                                              \
  do {                                                                         \
    len = (l);                                                                 \
    memcpy(w, (s), len);                                                       \
    w += len;                                                                  \
  } while (0)
  PUT(method, ml);
  PUT(" ", 1);
  PUT(target, tl);
  PUT(" HTTP/1.1\r\nHost: ", sizeof(" HTTP/1.1\r\nHost: ") - 1);
  PUT(host, hl);
  PUT("\r\n", 2);
  for (i = 0; headers != NULL && headers[i] != NULL; i++) {
    PUT(headers[i], strlen(headers[i]));
    PUT("\r\n", 2);
  }
  for (i = 0; trusted != NULL && trusted[i] != NULL; i++) {
    PUT(trusted[i], strlen(trusted[i]));
    PUT("\r\n", 2);
  }
  PUT(clen, strlen(clen));
  PUT("\r\n", 2);
  if (body != NULL && body_len > 0)
    PUT(body, body_len);
#undef PUT
  *out = buf;
  *out_len = (size_t)(w - buf);
  return 0;
}

int exp_http_has_token(const char *value, const char *token) {
  size_t tl = strlen(token);
  const char *p = value;
  if (value == NULL)
    return 0;
  while (*p) {
    const char *end;
    size_t l;
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    end = p;
    while (*end && *end != ',')
      end++;
    l = (size_t)(end - p);
    while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
      l--;
    if (l == tl && l > 0 && strncasecmp(p, token, tl) == 0)
      return 1;
    p = end;
  }
  return 0;
}

/* ----------------------------------------------------------- the parser */

typedef struct header {
  uint32_t name, value; /* offsets into hbuf */
} header;

struct exp_http_parser {
  llhttp_t ll;
  unsigned flags;
  size_t max_body;
  int result; /* EXP_HTTP_MORE, EXP_HTTP_DONE or an exp_errno */
  int status;
  int keep_alive;
  int interim;  /* a 1xx response other than 101: skipped */
  int in_field; /* inside a header name */
  char msg[160];
  char *hbuf; /* "name\0value\0" for each header */
  size_t hlen, hcap;
  header *hdr;
  size_t nhdr, hdrcap;
  size_t ndone; /* headers whose value is complete */
  char *body;
  size_t blen, bcap;
};

static int fail(exp_http_parser *p, int err, const char *fmt, ...) {
  va_list ap;
  p->result = err;
  va_start(ap, fmt);
  vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
  va_end(ap);
  return -1;
}

static int grow(char **buf, size_t *cap, size_t need) {
  size_t c = *cap ? *cap : 256;
  char *nb;
  while (c < need)
    c = c > SIZE_MAX / 2 ? need : c * 2;
  nb = exp_realloc(*buf, c);
  if (nb == NULL)
    return -1;
  *buf = nb;
  *cap = c;
  return 0;
}

static int hput(exp_http_parser *p, const char *at, size_t len) {
  if (p->hlen + len + 1 > MAX_HEADER_BYTES)
    return fail(p, EXP_EPROTOCOL, "response headers larger than %d bytes",
                MAX_HEADER_BYTES);
  if (p->hlen + len + 1 > p->hcap &&
      grow(&p->hbuf, &p->hcap, p->hlen + len + 1))
    return fail(p, EXP_ENOMEM, "out of memory");
  memcpy(p->hbuf + p->hlen, at, len);
  p->hlen += len;
  return 0;
}

static exp_http_parser *of(llhttp_t *ll) {
  return EXP_CONTAINER_OF(ll, exp_http_parser, ll);
}

static int on_header_field(llhttp_t *ll, const char *at, size_t len) {
  exp_http_parser *p = of(ll);
  if (!p->in_field) {
    if (p->nhdr == p->hdrcap) {
      size_t c = p->hdrcap ? p->hdrcap * 2 : 16;
      header *nh = exp_realloc(p->hdr, c * sizeof(*nh));
      if (nh == NULL)
        return fail(p, EXP_ENOMEM, "out of memory");
      p->hdr = nh;
      p->hdrcap = c;
    }
    p->hdr[p->nhdr].name = (uint32_t)p->hlen;
    p->hdr[p->nhdr].value = (uint32_t)p->hlen;
    p->nhdr++;
    p->in_field = 1;
  }
  return hput(p, at, len);
}

static int on_header_field_complete(llhttp_t *ll) {
  exp_http_parser *p = of(ll);
  if (!p->in_field && on_header_field(ll, "", 0))
    return -1;
  if (hput(p, "", 1))
    return -1;
  p->in_field = 0;
  p->hdr[p->nhdr - 1].value = (uint32_t)p->hlen;
  return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t len) {
  return hput(of(ll), at, len);
}

static int on_header_value_complete(llhttp_t *ll) {
  exp_http_parser *p = of(ll);
  char *v = p->hbuf + p->hdr[p->nhdr - 1].value;
  /* Trailing whitespace is not part of a field value (RFC 9110 5.5). */
  while (p->hbuf + p->hlen > v &&
         (p->hbuf[p->hlen - 1] == ' ' || p->hbuf[p->hlen - 1] == '\t'))
    p->hlen--;
  if (hput(p, "", 1))
    return -1;
  p->ndone = p->nhdr;
  return 0;
}

static int on_status_complete(llhttp_t *ll) {
  exp_http_parser *p = of(ll);
  p->status = llhttp_get_status_code(ll);
  return 0;
}

static int on_headers_complete(llhttp_t *ll) {
  exp_http_parser *p = of(ll);
  p->status = llhttp_get_status_code(ll);
  if (p->status == 101) {
    if (!(p->flags & EXP_HTTP_PARSE_UPGRADE))
      return fail(p, EXP_EPROTOCOL, "unexpected 101 Switching Protocols");
    return 2; /* no body; the rest of the stream is the new protocol */
  }
  if (p->status >= 100 && p->status < 200) {
    p->interim = 1;
    return 0;
  }
  if (p->flags & EXP_HTTP_PARSE_HEAD)
    return 1;
  if ((ll->flags & F_CONTENT_LENGTH) && !(ll->flags & F_CHUNKED)) {
    if (ll->content_length > p->max_body)
      return fail(p, EXP_ETOOBIG,
                  "response body of %llu bytes is above the %zu byte cap",
                  (unsigned long long)ll->content_length, p->max_body);
    /* Exact size up front: no reallocation while the body arrives. */
    if (ll->content_length + 1 > p->bcap) {
      char *nb = exp_realloc(p->body, (size_t)ll->content_length + 1);
      if (nb == NULL)
        return fail(p, EXP_ENOMEM, "out of memory");
      p->body = nb;
      p->bcap = (size_t)ll->content_length + 1;
    }
  }
  return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t len) {
  exp_http_parser *p = of(ll);
  if (len > p->max_body - p->blen)
    return fail(p, EXP_ETOOBIG, "response body above the %zu byte cap",
                p->max_body);
  if (p->blen + len + 1 > p->bcap &&
      grow(&p->body, &p->bcap, p->blen + len + 1))
    return fail(p, EXP_ENOMEM, "out of memory");
  memcpy(p->body + p->blen, at, len);
  p->blen += len;
  p->body[p->blen] = '\0';
  return 0;
}

static void clear_message(exp_http_parser *p) {
  p->status = 0;
  p->interim = 0;
  p->in_field = 0;
  p->hlen = 0;
  p->nhdr = 0;
  p->ndone = 0;
  p->blen = 0;
  if (p->body != NULL)
    p->body[0] = '\0';
}

static int on_message_complete(llhttp_t *ll) {
  exp_http_parser *p = of(ll);
  if (p->interim) {
    /* 100 Continue and friends precede the real response. */
    clear_message(p);
    return 0;
  }
  p->keep_alive = p->status != 101 && llhttp_should_keep_alive(ll) &&
                  !llhttp_message_needs_eof(ll);
  p->result = EXP_HTTP_DONE;
  return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_status_complete = on_status_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* For a caller that reads no header: llhttp frames the message alone, and
 * nothing is copied per header. */
static const llhttp_settings_t headless = {
    .on_status_complete = on_status_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

exp_http_parser *exp_http_parser_new(size_t max_body, unsigned flags) {
  exp_http_parser *p = exp_calloc(1, sizeof(*p));
  if (p == NULL)
    return NULL;
  p->max_body = max_body;
  exp_http_parser_reset(p, flags);
  return p;
}

void exp_http_parser_free(exp_http_parser *p) {
  if (p == NULL)
    return;
  exp_free(p->hbuf);
  exp_free(p->hdr);
  exp_free(p->body);
  exp_free(p);
}

void exp_http_parser_reset(exp_http_parser *p, unsigned flags) {
  llhttp_init(&p->ll, HTTP_RESPONSE,
              flags & EXP_HTTP_PARSE_NO_HEADERS ? &headless : &settings);
  p->flags = flags;
  p->result = EXP_HTTP_MORE;
  p->keep_alive = 0;
  p->msg[0] = '\0';
  if (p->bcap > KEEP_BODY_BYTES) {
    exp_free(p->body);
    p->body = NULL;
    p->bcap = 0;
  }
  clear_message(p);
}

int exp_http_parser_feed(exp_http_parser *p, const char *data, size_t len,
                         size_t *consumed) {
  llhttp_errno_t e;
  *consumed = 0;
  if (p->result != EXP_HTTP_MORE)
    return p->result;
  e = llhttp_execute(&p->ll, data, len);
  switch (e) {
  case HPE_OK:
    *consumed = len;
    return EXP_HTTP_MORE;
  case HPE_PAUSED:
  case HPE_PAUSED_UPGRADE:
    *consumed = (size_t)(llhttp_get_error_pos(&p->ll) - data);
    p->result = EXP_HTTP_DONE;
    return EXP_HTTP_DONE;
  default:
    /* A callback of ours failed and said why, or llhttp did. */
    if (p->result < 0)
      return p->result;
    fail(p, EXP_EPROTOCOL, "malformed HTTP response: %s",
         llhttp_get_error_reason(&p->ll));
    return p->result;
  }
}

int exp_http_parser_eof(exp_http_parser *p) {
  llhttp_errno_t e;
  if (p->result != EXP_HTTP_MORE)
    return p->result;
  e = llhttp_finish(&p->ll);
  if (e == HPE_PAUSED || p->result == EXP_HTTP_DONE) {
    p->result = EXP_HTTP_DONE;
    return EXP_HTTP_DONE;
  }
  if (p->result < 0)
    return p->result;
  /* A connection that ends early is the network's fault, as a reset is;
   * the bytes so far broke nothing. */
  if (e == HPE_OK && p->status == 0 && p->nhdr == 0)
    fail(p, EXP_ENETWORK, "connection closed before a response");
  else
    fail(p, EXP_ENETWORK, "connection closed in the middle of a response");
  return p->result;
}

const char *exp_http_parser_message(const exp_http_parser *p) {
  return p->msg;
}

int exp_http_parser_status(const exp_http_parser *p) {
  return p->status;
}

const char *exp_http_parser_header(const exp_http_parser *p, const char *name) {
  size_t i;
  for (i = 0; i < p->ndone; i++)
    if (strcasecmp(p->hbuf + p->hdr[i].name, name) == 0)
      return p->hbuf + p->hdr[i].value;
  return NULL;
}

const char *exp_http_parser_body(const exp_http_parser *p, size_t *len) {
  if (len != NULL)
    *len = p->blen;
  return p->blen > 0 ? p->body : "";
}

int exp_http_parser_keep_alive(const exp_http_parser *p) {
  return p->result == EXP_HTTP_DONE && p->keep_alive;
}
