/*
 * url.h: absolute http(s) URLs, percent-encoding and query strings
 * (internal, no I/O).
 */
#ifndef EXP_URL_H
#define EXP_URL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* A parsed URL.  The strings share one allocation, owned by the struct. */
typedef struct exp_url {
  int tls;               /* 1 for https */
  const char *host;      /* lowercase name or IP literal, without brackets */
  uint16_t port;         /* explicit, else 80 or 443 */
  const char *authority; /* the Host header: host[:port], IPv6 bracketed */
  const char *target;    /* path and query as given, "/" when empty */
  const char *origin;    /* "https://host:port", the same for equal origins */
  char *buf_;
} exp_url;

/* Parses an absolute http:// or https:// URL; userinfo and fragments are
 * refused or dropped respectively.  Returns 0, EXP_ENOMEM, or EXP_EOPTIONS
 * with msg saying what is wrong.  Free with exp_url_free on success. */
int exp_url_parse(const char *s, exp_url *u, char *msg, size_t msg_size);
void exp_url_free(exp_url *u);

/* Percent-encodes every byte outside RFC 3986 "unreserved" (and, for the
 * path form, outside '/').  malloc'd; NULL when out of memory. */
char *exp_url_encode_component(const char *s);
char *exp_url_encode_path(const char *s);

/* Appends "key=value&..." from a flat JSON object of string, number and
 * bool values to path, after '?' or, when path has a query already, '&'.
 * query NULL or empty gives a copy of path.  *out is malloc'd.  Returns 0,
 * EXP_ENOMEM, or EXP_EOPTIONS (msg set) for a value of another type or a
 * query that is not an object. */
int exp_url_with_query(const char *path, const cJSON *query, char **out,
                       char *msg, size_t msg_size);

#endif
