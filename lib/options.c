/* options.c: option storage and the checks exp_start runs. */
#include "options.h"

#include <errno.h>
#include <stdio.h>

#include "common.h"
#include "hosts.h"
#include "url.h"

typedef enum kind { STR, INT } kind;

static const struct {
  const char *key;
  kind type;
} table[EXP_OPT_COUNT_] = {
#define XX(name, key, type) {key, type},
    EXP_OPTION_MAP(XX)
#undef XX
};

void exp_options_init(exp_options *o) {
  memset(o, 0, sizeof(*o));
  o->num[EXP_OPT_ENABLE_NETWORK] = 1;
  o->num[EXP_OPT_TLS_VERIFY] = 1;
  o->num[EXP_OPT_REQUEST_TIMEOUT_MS] = 10000;
  o->num[EXP_OPT_MAX_BODY_BYTES] = 32 * 1024 * 1024;
  o->num[EXP_OPT_RECONNECT_MIN_MS] = 1000;
  o->num[EXP_OPT_RECONNECT_MAX_MS] = 20000;
  o->num[EXP_OPT_HOSTS_RETRY_MS] = 60000;
  o->num[EXP_OPT_MAX_JSON_NODES] = 1000000;
  o->num[EXP_OPT_STALL_TIMEOUT_MS] = 10000;
}

void exp_options_free(exp_options *o) {
  for (size_t i = 0; i < EXP_OPT_COUNT_; i++) {
    exp_free(o->str[i]);
    o->str[i] = NULL;
  }
}

static int check_opt(int opt, kind type, char *msg, size_t msg_size) {
  if (opt < 0 || opt >= EXP_OPT_COUNT_) {
    snprintf(msg, msg_size, "unknown option %d", opt);
    return EXP_EOPTIONS;
  }
  if (table[opt].type != type) {
    snprintf(msg, msg_size, "%s: is %s option", table[opt].key,
             type == STR ? "an integer" : "a string");
    return EXP_EOPTIONS;
  }
  return 0;
}

int exp_options_set_str(exp_options *o, int opt, const char *value, char *msg,
                        size_t msg_size) {
  char *v = NULL;
  int r = check_opt(opt, STR, msg, msg_size);
  if (r != 0)
    return r;
  if (value != NULL && value[0] != '\0') {
    v = exp_strdup(value);
    if (v == NULL) {
      snprintf(msg, msg_size, "%s: out of memory", table[opt].key);
      return EXP_ENOMEM;
    }
  }
  exp_free(o->str[opt]);
  o->str[opt] = v;
  if (opt == EXP_OPT_HOST && v != NULL) {
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == '/')
      v[--n] = '\0';
  }
  return 0;
}

int exp_options_set_int(exp_options *o, int opt, int64_t value, char *msg,
                        size_t msg_size) {
  int r = check_opt(opt, INT, msg, msg_size);
  if (r != 0)
    return r;
  o->num[opt] = value;
  return 0;
}

int exp_options_set_key(exp_options *o, const char *key, const char *value,
                        char *msg, size_t msg_size) {
  char *end;
  long long v;
  int opt;

  for (opt = 0; opt < EXP_OPT_COUNT_; opt++)
    if (strcmp(table[opt].key, key) == 0)
      break;
  if (opt == EXP_OPT_COUNT_) {
    snprintf(msg, msg_size, "unknown option \"%.64s\"", key);
    return EXP_EOPTIONS;
  }
  if (table[opt].type == STR)
    return exp_options_set_str(o, opt, value, msg, msg_size);
  errno = 0;
  v = value != NULL ? strtoll(value, &end, 10) : 0;
  if (value == NULL || value[0] == '\0' || *end != '\0' || errno != 0) {
    snprintf(msg, msg_size, "%s: \"%.64s\" is not an integer", key,
             value != NULL ? value : "(null)");
    return EXP_EOPTIONS;
  }
  return exp_options_set_int(o, opt, v, msg, msg_size);
}

const char *exp_options_host(const exp_options *o) {
  const char *h = o->str[EXP_OPT_HOST];
  return h != NULL && h[0] != '\0' ? h : EXP_DEFAULT_HOST;
}

static int bad(char *msg, size_t msg_size, int opt, const char *why) {
  snprintf(msg, msg_size, "%s: %s", table[opt].key, why);
  return EXP_EOPTIONS;
}

static int check_host(const exp_options *o, char *msg, size_t msg_size) {
  char why[200];
  exp_url u;
  const char *h = exp_options_host(o);
  int r;

  if (o->str[EXP_OPT_HOST] != NULL && o->str[EXP_OPT_HOST][0] == '\0')
    return bad(msg, msg_size, EXP_OPT_HOST, "empty");
  if (o->str[EXP_OPT_HOSTS] != NULL) {
    exp_hosts hs;
    if (o->str[EXP_OPT_HOST] != NULL)
      return bad(msg, msg_size, EXP_OPT_HOSTS,
                 "set either host or hosts, not both");
    r = exp_hosts_init(&hs, NULL, o->str[EXP_OPT_HOSTS], 0, msg, msg_size);
    if (r == 0)
      exp_hosts_free(&hs);
    return r;
  }
  r = exp_url_parse(h, &u, why, sizeof(why));
  if (r == EXP_ENOMEM)
    return r;
  if (r != 0) {
    snprintf(msg, msg_size, "host: %s", why);
    return EXP_EOPTIONS;
  }
  r = strchr(u.target, '?') != NULL || strchr(h, '#') != NULL;
  exp_url_free(&u);
  if (r)
    return bad(msg, msg_size, EXP_OPT_HOST,
               "must be an origin such as https://api.goexp.io, without "
               "query or fragment");
  return 0;
}

static int check_bool(const exp_options *o, int opt, char *msg,
                      size_t msg_size) {
  if (o->num[opt] != 0 && o->num[opt] != 1)
    return bad(msg, msg_size, opt, "must be 0 or 1");
  return 0;
}

static int check_numbers(const exp_options *o, char *msg, size_t msg_size) {
  static const int bools[] = {EXP_OPT_ALLOW_PAIRING, EXP_OPT_ENABLE_NETWORK,
                              EXP_OPT_TLS_VERIFY};
  int r;
  for (size_t i = 0; i < EXP_ARRAY_SIZE(bools); i++)
    if ((r = check_bool(o, bools[i], msg, msg_size)) != 0)
      return r;
  /* A day caps the timeout: beyond, the application wants no deadline and
   * should say so by other means. */
  if (o->num[EXP_OPT_REQUEST_TIMEOUT_MS] <= 0 ||
      o->num[EXP_OPT_REQUEST_TIMEOUT_MS] > 86400000)
    return bad(msg, msg_size, EXP_OPT_REQUEST_TIMEOUT_MS,
               "must be between 1 and 86400000");
  if (o->num[EXP_OPT_MAX_BODY_BYTES] <= 0 ||
      (uint64_t)o->num[EXP_OPT_MAX_BODY_BYTES] > SIZE_MAX / 2)
    return bad(msg, msg_size, EXP_OPT_MAX_BODY_BYTES, "must be positive");
  if (o->num[EXP_OPT_EIO_VERSION] != 0 && o->num[EXP_OPT_EIO_VERSION] != 3 &&
      o->num[EXP_OPT_EIO_VERSION] != 4)
    return bad(msg, msg_size, EXP_OPT_EIO_VERSION,
               "must be 0 (4, else 3), 3 or 4");
  if (o->num[EXP_OPT_RECONNECT_MIN_MS] <= 0 ||
      o->num[EXP_OPT_RECONNECT_MIN_MS] > 86400000)
    return bad(msg, msg_size, EXP_OPT_RECONNECT_MIN_MS,
               "must be between 1 and 86400000");
  if (o->num[EXP_OPT_RECONNECT_MAX_MS] < o->num[EXP_OPT_RECONNECT_MIN_MS] ||
      o->num[EXP_OPT_RECONNECT_MAX_MS] > 86400000)
    return bad(msg, msg_size, EXP_OPT_RECONNECT_MAX_MS,
               "must be between reconnect_min_ms and 86400000");
  if (o->num[EXP_OPT_HOSTS_RETRY_MS] <= 0 ||
      o->num[EXP_OPT_HOSTS_RETRY_MS] > 86400000)
    return bad(msg, msg_size, EXP_OPT_HOSTS_RETRY_MS,
               "must be between 1 and 86400000");
  if (o->num[EXP_OPT_MAX_JSON_NODES] <= 0 ||
      (uint64_t)o->num[EXP_OPT_MAX_JSON_NODES] > SIZE_MAX / 2)
    return bad(msg, msg_size, EXP_OPT_MAX_JSON_NODES, "must be positive");
  if (o->num[EXP_OPT_STALL_TIMEOUT_MS] < 2 ||
      o->num[EXP_OPT_STALL_TIMEOUT_MS] > 86400000)
    return bad(msg, msg_size, EXP_OPT_STALL_TIMEOUT_MS,
               "must be between 2 and 86400000");
  return 0;
}

#define SET(opt) (o->str[opt] != NULL)

int exp_options_check(const exp_options *o, exp_auth_credentials *c, char *msg,
                      size_t msg_size) {
  int r;

  if ((r = check_host(o, msg, msg_size)) != 0 ||
      (r = check_numbers(o, msg, msg_size)) != 0)
    return r;
  memset(c, 0, sizeof(*c));
  c->username = o->str[EXP_OPT_USERNAME];
  c->password = o->str[EXP_OPT_PASSWORD];
  c->organization = o->str[EXP_OPT_ORGANIZATION];
  c->uuid = o->str[EXP_OPT_UUID];
  c->secret = o->str[EXP_OPT_SECRET];
  c->api_key = o->str[EXP_OPT_API_KEY];
  c->allow_pairing = (int)o->num[EXP_OPT_ALLOW_PAIRING];
  c->saved = o->str[EXP_OPT_AUTH];
  if (c->saved != NULL && exp_auth_check_saved(c->saved, msg, msg_size) != 0)
    return EXP_EOPTIONS;

  /* The kind is inferred in this order, as the Python SDK does. */
  if (SET(EXP_OPT_USERNAME) || SET(EXP_OPT_PASSWORD) ||
      SET(EXP_OPT_ORGANIZATION)) {
    c->kind = EXP_AUTH_USER;
    if (!SET(EXP_OPT_USERNAME))
      return bad(msg, msg_size, EXP_OPT_USERNAME,
                 "required for a user login (with password, organization)");
    if (!SET(EXP_OPT_PASSWORD))
      return bad(msg, msg_size, EXP_OPT_PASSWORD,
                 "required for a user login (with username, organization)");
    if (!SET(EXP_OPT_ORGANIZATION))
      return bad(msg, msg_size, EXP_OPT_ORGANIZATION,
                 "required for a user login (with username, password)");
  } else if (SET(EXP_OPT_SECRET) || c->allow_pairing) {
    c->kind = EXP_AUTH_DEVICE;
    if (SET(EXP_OPT_SECRET) && !SET(EXP_OPT_UUID))
      return bad(msg, msg_size, EXP_OPT_UUID,
                 "required for a device login (with secret)");
  } else if (SET(EXP_OPT_API_KEY)) {
    c->kind = EXP_AUTH_CONSUMER_APP;
    if (!SET(EXP_OPT_UUID))
      return bad(msg, msg_size, EXP_OPT_UUID,
                 "required for a consumer app login (with api_key)");
  } else if (SET(EXP_OPT_UUID)) {
    return bad(msg, msg_size, EXP_OPT_SECRET,
               "uuid alone is not enough: set secret (device), api_key "
               "(consumer app) or allow_pairing");
  } else {
    snprintf(msg, msg_size,
             "no credentials: set username, password and organization "
             "(user), uuid and secret (device), uuid and api_key (consumer "
             "app), or allow_pairing");
    return EXP_EOPTIONS;
  }
  return 0;
}
