/*
 * fuzz_url.c: URL parsing, percent-encoding and query strings.  A parsed
 * URL must parse again from its own parts to the same result; encoded text
 * must hold only what the encoding allows and decode back to the input; a
 * query string must decode back to the JSON object it was built from.
 *
 * Input: a URL or path (first line; it also goes through the encoders),
 * then the JSON of the query.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "url.h"

#include "exp.h"

static int unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Decodes [s, s+n) into a malloc'd string; every byte must be allowed
 * (unreserved, or '/' when slash) or a %XX escape. */
static char *decode(const char *s, size_t n, int slash) {
  char *out = malloc(n + 1), *o = out;
  FUZZ_CHECK(out != NULL);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      FUZZ_CHECK(i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
      *o++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
      i += 2;
    } else {
      FUZZ_CHECK(unreserved((unsigned char)s[i]) || (slash && s[i] == '/'));
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

static void check_encoders(const char *s) {
  char *c = exp_url_encode_component(s), *p = exp_url_encode_path(s), *d;
  FUZZ_CHECK(c != NULL && p != NULL);
  d = decode(c, strlen(c), 0);
  FUZZ_CHECK(strcmp(d, s) == 0);
  free(d);
  d = decode(p, strlen(p), 1);
  FUZZ_CHECK(strcmp(d, s) == 0);
  free(d);
  free(c);
  free(p);
}

static void same_url(const exp_url *a, const exp_url *b) {
  FUZZ_CHECK(a->tls == b->tls && a->port == b->port);
  FUZZ_CHECK(strcmp(a->host, b->host) == 0);
  FUZZ_CHECK(strcmp(a->authority, b->authority) == 0);
  FUZZ_CHECK(strcmp(a->origin, b->origin) == 0);
}

static void check_url(const char *s) {
  exp_url u, v;
  char msg[128], *again;
  size_t n;
  int r = exp_url_parse(s, &u, msg, sizeof(msg));

  FUZZ_CHECK(r == 0 || r == EXP_EOPTIONS);
  if (r != 0) {
    FUZZ_CHECK(msg[0] != '\0');
    return;
  }
  FUZZ_CHECK(u.host[0] != '\0' && u.port != 0 && u.target[0] == '/');
  FUZZ_CHECK(strchr(u.target, '#') == NULL);
  for (const char *h = u.host; *h; h++)
    FUZZ_CHECK(!(*h >= 'A' && *h <= 'Z'));
  /* The origin alone, then origin and target, give the same URL. */
  FUZZ_CHECK(exp_url_parse(u.origin, &v, msg, sizeof(msg)) == 0);
  same_url(&u, &v);
  FUZZ_CHECK(strcmp(v.target, "/") == 0);
  exp_url_free(&v);
  n = strlen(u.origin) + strlen(u.target) + 1;
  again = malloc(n);
  FUZZ_CHECK(again != NULL);
  snprintf(again, n, "%s%s", u.origin, u.target);
  FUZZ_CHECK(exp_url_parse(again, &v, msg, sizeof(msg)) == 0);
  same_url(&u, &v);
  FUZZ_CHECK(strcmp(u.target, v.target) == 0);
  exp_url_free(&v);
  free(again);
  exp_url_free(&u);
}

/* The query part of out must list query's members in order. */
static void check_query(const char *path, const cJSON *query, const char *out) {
  size_t pl = strlen(path);
  const char *q = out + pl + 1;
  const cJSON *m;

  FUZZ_CHECK(strncmp(out, path, pl) == 0);
  if (!cJSON_IsObject(query) || query->child == NULL) {
    FUZZ_CHECK(out[pl] == '\0');
    return;
  }
  FUZZ_CHECK(out[pl] == (strchr(path, '?') != NULL ? '&' : '?'));
  for (m = query->child; m != NULL; m = m->next) {
    size_t n = strcspn(q, "&");
    const char *eq = memchr(q, '=', n);
    char *k, *v;
    FUZZ_CHECK(eq != NULL);
    k = decode(q, (size_t)(eq - q), 0);
    v = decode(eq + 1, n - (size_t)(eq + 1 - q), 0);
    FUZZ_CHECK(strcmp(k, m->string) == 0);
    if (cJSON_IsString(m))
      FUZZ_CHECK(strcmp(v, m->valuestring) == 0);
    else if (cJSON_IsBool(m))
      FUZZ_CHECK(strcmp(v, cJSON_IsTrue(m) ? "true" : "false") == 0);
    else
      FUZZ_CHECK(cJSON_IsNumber(m) && v[0] != '\0');
    free(k);
    free(v);
    q += n;
    FUZZ_CHECK(*q == (m->next != NULL ? '&' : '\0'));
    q += *q != '\0';
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nl = memchr(data, '\n', size);
  size_t line = nl != NULL ? (size_t)(nl - data) : size;
  char *s = malloc(line + 1), *out = NULL, msg[128];
  cJSON *query;
  int r;

  FUZZ_CHECK(s != NULL);
  memcpy(s, data, line);
  s[line] = '\0';
  check_url(s);
  check_encoders(s);
  query = nl != NULL
              ? cJSON_ParseWithLength((const char *)nl + 1, size - line - 1)
              : NULL;
  r = exp_url_with_query(s, query, &out, msg, sizeof(msg));
  FUZZ_CHECK(r == 0 || r == EXP_EOPTIONS);
  if (r == 0)
    check_query(s, query, out);
  else
    FUZZ_CHECK(msg[0] != '\0');
  free(out);
  cJSON_Delete(query);
  free(s);
  return 0;
}
