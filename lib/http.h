/*
 * http.h: HTTP/1.1 client messages without I/O (internal).
 *
 * The request writer turns a request into bytes; the response parser (on
 * llhttp) turns bytes, split anywhere, into a status, headers and a body.
 * Both are used by http_client.c and by the websocket handshake.
 */
#ifndef EXP_HTTP_H
#define EXP_HTTP_H

#include <stddef.h>

/* Serialises "METHOD target HTTP/1.1", "Host: host", the caller's headers
 * ("Name: value", NULL-terminated list, or NULL), then, when body is not
 * NULL, "Content-Length" and the body, into one malloc'd buffer (*out,
 * *out_len bytes, freed by the caller).  Returns 0, EXP_ENOMEM, or
 * EXP_EOPTIONS (msg set) when a part would break the framing (CR/LF or
 * other control bytes, a header without ':', a space in the target). */
int exp_http_write_request(const char *method, const char *target,
                           const char *host, const char *const *headers,
                           const char *body, size_t body_len, char **out,
                           size_t *out_len, char *msg, size_t msg_size);

/* The same with a second list, trusted (NULL-terminated, or NULL): lines
 * the caller made sure of with exp_http_header_valid once, such as one
 * built per token rather than per request, written after headers without
 * being checked again. */
int exp_http_write_request_trusted(const char *method, const char *target,
                                   const char *host, const char *const *headers,
                                   const char *const *trusted, const char *body,
                                   size_t body_len, char **out, size_t *out_len,
                                   char *msg, size_t msg_size);

/* Whether line is a header line the writer accepts: a token, ':', then
 * visible ASCII or UTF-8 bytes, spaces and tabs (no CR, LF or other
 * control byte). */
int exp_http_header_valid(const char *line);

/* Whether a comma-separated header value (Connection, Upgrade) lists token,
 * compared case-insensitively. */
int exp_http_has_token(const char *value, const char *token);

typedef struct exp_http_parser exp_http_parser;

enum {
  /* The response answers a HEAD request: it has no body. */
  EXP_HTTP_PARSE_HEAD = 1,
  /* A 101 response ends after its headers; without this flag 101 is an
   * error. */
  EXP_HTTP_PARSE_UPGRADE = 2,
  /* No header is kept: exp_http_parser_header finds none (framing, status
   * and body as usual). */
  EXP_HTTP_PARSE_NO_HEADERS = 4
};

/* Results of exp_http_parser_feed and exp_http_parser_eof, besides a
 * negative exp_errno. */
enum { EXP_HTTP_MORE = 0, EXP_HTTP_DONE = 1 };

/* A parser for one response at a time; bodies above max_body bytes are
 * EXP_ETOOBIG.  NULL when out of memory. */
exp_http_parser *exp_http_parser_new(size_t max_body, unsigned flags);
void exp_http_parser_free(exp_http_parser *p);

/* Readies the parser for the next response on the same connection. */
void exp_http_parser_reset(exp_http_parser *p, unsigned flags);

/* Parses len bytes.  Returns EXP_HTTP_MORE (all consumed, the response
 * goes on), EXP_HTTP_DONE (the response is complete; *consumed says how
 * many bytes it took, the rest is not part of it: after a 101 they belong
 * to the new protocol), or EXP_EPROTOCOL, EXP_ETOOBIG, EXP_ENOMEM, with
 * exp_http_parser_message set.  Once done or failed, it returns the same
 * result again and consumes nothing. */
int exp_http_parser_feed(exp_http_parser *p, const char *data, size_t len,
                         size_t *consumed);

/* The peer closed the connection: EXP_HTTP_DONE when that ends the
 * response (a body delimited by EOF, or one already complete), else
 * EXP_ENETWORK (cut short, as a reset would), or the error the bytes
 * already gave. */
int exp_http_parser_eof(exp_http_parser *p);

/* What went wrong, after an error result. */
const char *exp_http_parser_message(const exp_http_parser *p);

/* The status code, 0 before the status line is complete. */
int exp_http_parser_status(const exp_http_parser *p);

/* The value of the first header called name (case-insensitive), with
 * surrounding whitespace removed; NULL when absent.  Valid until the next
 * feed, reset or free. */
const char *exp_http_parser_header(const exp_http_parser *p, const char *name);

/* The body so far, NUL-terminated ("" when empty); *len gets its length
 * without the NUL.  Valid until the next feed, reset or free. */
const char *exp_http_parser_body(const exp_http_parser *p, size_t *len);

/* After EXP_HTTP_DONE: whether the connection may carry another request
 * (HTTP/1.1 without "Connection: close", body not delimited by EOF). */
int exp_http_parser_keep_alive(const exp_http_parser *p);

#endif
