/* hosts.c: the origins of EXP_OPT_HOSTS and the failover between them. */
#include "hosts.h"

#include <stdio.h>

#include "common.h"
#include "url.h"

static int is_sep(char c) {
  return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Checks one origin (s, n bytes) and adds it without trailing slashes. */
static int add(exp_hosts *h, const char *s, size_t n, char *msg,
               size_t msg_size) {
  char why[200];
  exp_url u;
  char *v;
  int r;

  if (h->count == EXP_HOSTS_MAX) {
    snprintf(msg, msg_size, "hosts: more than %d origins", EXP_HOSTS_MAX);
    return EXP_EOPTIONS;
  }
  while (n > 0 && s[n - 1] == '/')
    n--;
  if ((v = exp_strndup(s, n)) == NULL) {
    snprintf(msg, msg_size, "hosts: out of memory");
    return EXP_ENOMEM;
  }
  r = exp_url_parse(v, &u, why, sizeof(why));
  if (r == 0) {
    if (strchr(u.target, '?') != NULL || strchr(v, '#') != NULL) {
      snprintf(why, sizeof(why),
               "must be an origin such as https://api.goexp.io, without "
               "query or fragment");
      r = EXP_EOPTIONS;
    }
    exp_url_free(&u);
  }
  if (r != 0) {
    if (r == EXP_ENOMEM)
      snprintf(msg, msg_size, "hosts: out of memory");
    else
      snprintf(msg, msg_size, "hosts: %.*s: %s", (int)(n > 100 ? 100 : n), s,
               why);
    exp_free(v);
    return r;
  }
  h->list[h->count++] = v;
  return 0;
}

int exp_hosts_init(exp_hosts *h, const char *host, const char *hosts,
                   uint64_t retry_first_ms, char *msg, size_t msg_size) {
  const char *p = hosts != NULL ? hosts : host;
  int r = 0;

  memset(h, 0, sizeof(*h));
  h->retry_first_ms = retry_first_ms;
  if (hosts == NULL)
    r = add(h, host, strlen(host), msg, msg_size);
  while (hosts != NULL && r == 0 && *p != '\0') {
    size_t n = 0;
    while (is_sep(*p))
      p++;
    while (p[n] != '\0' && !is_sep(p[n]))
      n++;
    if (n > 0)
      r = add(h, p, n, msg, msg_size);
    p += n;
  }
  if (r == 0 && h->count == 0) {
    snprintf(msg, msg_size, "hosts: no origin in the list");
    r = EXP_EOPTIONS;
  }
  if (r != 0)
    exp_hosts_free(h);
  return r;
}

void exp_hosts_free(exp_hosts *h) {
  for (size_t i = 0; i < h->count; i++)
    exp_free(h->list[i]);
  memset(h, 0, sizeof(*h));
}

const char *exp_hosts_pick(exp_hosts *h, uint64_t now, const char *payload_host,
                           int probe, size_t *index) {
  if (h->count == 1) {
    *index = 0;
    return payload_host != NULL ? payload_host : h->list[0];
  }
  if (probe && h->current != 0 && now - h->left_first >= h->retry_first_ms) {
    h->probing = 1;
    *index = 0;
  } else {
    *index = h->current;
  }
  return h->list[*index];
}

int exp_hosts_failed(exp_hosts *h, size_t index, uint64_t now) {
  if (h->count < 2)
    return 0;
  if (index == 0 && h->current != 0) {
    /* A probe failed: wait again (a call sent before the move does not
     * count). */
    if (h->probing)
      h->left_first = now;
    h->probing = 0;
    return 0;
  }
  if (index != h->current)
    return 0;
  if (h->current == 0)
    h->left_first = now;
  h->current = (h->current + 1) % h->count;
  return 1;
}

int exp_hosts_reached(exp_hosts *h, size_t index) {
  if (index != 0 || h->current == 0)
    return 0;
  h->current = 0;
  h->probing = 0;
  return 1;
}
