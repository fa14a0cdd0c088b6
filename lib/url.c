/* url.c: URL parsing, percent-encoding and query strings (no I/O). */
#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "common.h"

static int bad(char *msg, size_t msg_size, const char *fmt, ...) {
  va_list ap;
  if (msg != NULL && msg_size > 0) {
    va_start(ap, fmt);
    vsnprintf(msg, msg_size, fmt, ap);
    va_end(ap);
  }
  return EXP_EOPTIONS;
}

static int is_unreserved(unsigned char c) {
  return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int exp_url_parse(const char *s, exp_url *u, char *msg, size_t msg_size) {
  const char *p, *auth, *auth_end, *h, *h_end, *path;
  size_t hl, pl, need;
  unsigned long port = 0;
  char *w;
  int v6 = 0;

  memset(u, 0, sizeof(*u));
  if (s == NULL)
    return bad(msg, msg_size, "no URL");
  for (p = s; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f)
      return bad(msg, msg_size, "URL contains a space or control character");
  if (strncasecmp(s, "https://", 8) == 0) {
    u->tls = 1;
    auth = s + 8;
  } else if (strncasecmp(s, "http://", 7) == 0) {
    auth = s + 7;
  } else {
    return bad(msg, msg_size, "URL \"%.60s\" is not http:// or https://", s);
  }
  auth_end = auth + strcspn(auth, "/?#");
  for (p = auth; p < auth_end; p++)
    if (*p == '@')
      return bad(msg, msg_size, "credentials in the URL are not supported");
  if (*auth == '[') {
    char tmp[INET6_ADDRSTRLEN + 1];
    unsigned char addr[16];
    h = auth + 1;
    h_end = memchr(h, ']', (size_t)(auth_end - h));
    if (h_end == NULL)
      return bad(msg, msg_size, "unterminated [IPv6] host in URL");
    if ((size_t)(h_end - h) >= sizeof(tmp))
      return bad(msg, msg_size, "invalid IPv6 address in URL");
    memcpy(tmp, h, (size_t)(h_end - h));
    tmp[h_end - h] = '\0';
    if (inet_pton(AF_INET6, tmp, addr) != 1)
      return bad(msg, msg_size, "invalid IPv6 address \"%s\" in URL", tmp);
    p = h_end + 1;
    v6 = 1;
  } else {
    h = auth;
    h_end = memchr(h, ':', (size_t)(auth_end - h));
    if (h_end == NULL)
      h_end = auth_end;
    for (p = h; p < h_end; p++)
      if (!is_unreserved((unsigned char)*p))
        return bad(msg, msg_size, "invalid character '%c' in URL host", *p);
    p = h_end;
  }
  if (h_end == h)
    return bad(msg, msg_size, "URL has no host");
  if (p < auth_end) {
    if (*p != ':' || p + 1 == auth_end)
      return bad(msg, msg_size, "invalid port in URL");
    for (p++; p < auth_end; p++) {
      if (!isdigit((unsigned char)*p))
        return bad(msg, msg_size, "invalid port in URL");
      port = port * 10 + (unsigned long)(*p - '0');
      if (port > 65535)
        return bad(msg, msg_size, "port out of range in URL");
    }
    if (port == 0)
      return bad(msg, msg_size, "port 0 in URL");
  } else {
    port = u->tls ? 443 : 80;
  }
  u->port = (uint16_t)port;

  path = auth_end;
  pl = strcspn(path, "#");
  hl = (size_t)(h_end - h);
  /* host, authority ("[" host "]:" port), target ("/" when empty) and
   * origin ("https://[" host "]:" port), each NUL-terminated. */
  need = (hl + 1) + (hl + 9) + (pl + 2) + (hl + 17);
  u->buf_ = exp_malloc(need);
  if (u->buf_ == NULL)
    return EXP_ENOMEM;
  w = u->buf_;
  u->host = w;
  for (size_t i = 0; i < hl; i++)
    *w++ = (char)tolower((unsigned char)h[i]);
  *w++ = '\0';
  u->authority = w;
  if ((u->tls && port == 443) || (!u->tls && port == 80))
    w += sprintf(w, v6 ? "[%s]" : "%s", u->host) + 1;
  else
    w += sprintf(w, v6 ? "[%s]:%lu" : "%s:%lu", u->host, port) + 1;
  u->target = w;
  if (pl == 0 || *path != '/')
    *w++ = '/';
  memcpy(w, path, pl);
  w += pl;
  *w++ = '\0';
  u->origin = w;
  sprintf(w, v6 ? "%s://[%s]:%lu" : "%s://%s:%lu", u->tls ? "https" : "http",
          u->host, port);
  return 0;
}

void exp_url_free(exp_url *u) {
  exp_free(u->buf_);
  memset(u, 0, sizeof(*u));
}

static const char hexdig[] = "0123456789ABCDEF";

/* Writes the encoding of s at w (NULL: only counts); returns its length. */
static size_t encode(const char *s, int keep_slash, char *w) {
  size_t n = 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      if (w != NULL)
        w[n] = (char)c;
      n++;
    } else {
      if (w != NULL) {
        w[n] = '%';
        w[n + 1] = hexdig[c >> 4];
        w[n + 2] = hexdig[c & 15];
      }
      n += 3;
    }
  }
  return n;
}

static char *encode_new(const char *s, int keep_slash) {
  size_t n = encode(s, keep_slash, NULL);
  char *out = exp_malloc(n + 1);
  if (out == NULL)
    return NULL;
  encode(s, keep_slash, out);
  out[n] = '\0';
  return out;
}

char *exp_url_encode_component(const char *s) {
  return encode_new(s, 0);
}

char *exp_url_encode_path(const char *s) {
  return encode_new(s, 1);
}

/* The text of a query value into buf (numbers, bools) or *str (strings). */
static int value_text(const cJSON *v, char *buf, size_t size,
                      const char **str) {
  *str = buf;
  if (cJSON_IsString(v) && v->valuestring != NULL) {
    *str = v->valuestring;
  } else if (cJSON_IsBool(v)) {
    *str = cJSON_IsTrue(v) ? "true" : "false";
  } else if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if (!isfinite(d))
      return -1;
    /* Integers exactly, without ".0"; others with the fewest digits that
     * read back to the same double. */
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
      snprintf(buf, size, "%" PRId64, (int64_t)d);
    } else {
      for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
          break;
      }
    }
  } else {
    return -1;
  }
  return 0;
}

int exp_url_with_query(const char *path, const cJSON *query, char **out,
                       char *msg, size_t msg_size) {
  const cJSON *it;
  size_t n = strlen(path), len;
  char sep = strchr(path, '?') != NULL ? '&' : '?';
  char num[32];
  const char *text;
  char *w;

  *out = NULL;
  if (query != NULL && !cJSON_IsObject(query))
    return bad(msg, msg_size, "query must be a JSON object");
  /* Measure, then write: one allocation. */
  for (it = query ? query->child : NULL; it != NULL; it = it->next) {
    if (it->string == NULL || value_text(it, num, sizeof(num), &text) != 0)
      return bad(msg, msg_size,
                 "query value \"%.40s\" must be a string, number or bool",
                 it->string ? it->string : "");
    n += 2 + encode(it->string, 0, NULL) + encode(text, 0, NULL);
  }
  *out = exp_malloc(n + 1);
  if (*out == NULL)
    return EXP_ENOMEM;
  len = strlen(path);
  memcpy(*out, path, len);
  w = *out + len;
  for (it = query ? query->child : NULL; it != NULL; it = it->next) {
    value_text(it, num, sizeof(num), &text);
    *w++ = sep;
    sep = '&';
    w += encode(it->string, 0, w);
    *w++ = '=';
    w += encode(text, 0, w);
  }
  *w = '\0';
  return 0;
}
