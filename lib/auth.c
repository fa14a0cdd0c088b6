/* auth.c: the login/refresh state machine; see auth.h for the rules. */
#include "auth.h"

#include <stdarg.h>
#include <stdio.h>

#include "common.h"
#include "json.h"
#include "jwt.h"

typedef enum state {
  S_IDLE,    /* not started */
  S_LOGIN,   /* a login is in flight */
  S_READY,   /* a token is held; the timer may be armed */
  S_REFRESH, /* a refresh is in flight */
  S_FAILED   /* start failed or credentials rejected: final */
} state;

struct exp_auth_machine {
  exp_auth_kind kind;
  char *username, *password, *organization, *uuid, *secret, *api_key;
  char *saved; /* until the start */
  int allow_pairing;

  state st;
  int started;      /* START_DONE was given */
  int waiting;      /* calls are parked: RELEASE on the next outcome */
  int need_login;   /* the token was refused: renew with a login */
  int pairing_try;  /* the running login is the "_"/"_" pairing fallback */
  unsigned seq;     /* of the latest request sent */
  unsigned gen;     /* of the payload */
  exp_auth_out err; /* why the machine failed (S_FAILED) */
  char *body;       /* of the latest login */

  cJSON *payload;
  const char *token; /* inside payload */
  int64_t expiration;
  int expired_in_row; /* payloads in a row that had expired on arrival */
  /* 401 storms.  A refresh a 401 asked for is in flight (renew_401); the
   * token came from such a refresh, not a login (suspect): a 401 on it
   * means the server renews tokens it then refuses.  The latest 401 on
   * the current token, the window after the latest renewal a 401 asked
   * for, and until when the next must wait. */
  int renew_401;
  int suspect;
  int64_t last_401;
  int64_t storm_ms;
  int64_t storm_until;
  const char *api_host, *network_host;
  int pairing;
};

exp_auth_machine *exp_auth_new(const exp_auth_credentials *c) {
  exp_auth_machine *a = exp_calloc(1, sizeof(*a));
  if (a == NULL)
    return NULL;
  a->kind = c->kind;
  a->allow_pairing = c->allow_pairing;
  a->username = exp_strdup(c->username);
  a->password = exp_strdup(c->password);
  a->organization = exp_strdup(c->organization);
  a->uuid = exp_strdup(c->uuid);
  a->secret = exp_strdup(c->secret);
  a->api_key = exp_strdup(c->api_key);
  a->saved = exp_strdup(c->saved);
  if ((c->username && !a->username) || (c->password && !a->password) ||
      (c->organization && !a->organization) || (c->uuid && !a->uuid) ||
      (c->secret && !a->secret) || (c->api_key && !a->api_key) ||
      (c->saved && !a->saved)) {
    exp_auth_free(a);
    return NULL;
  }
  return a;
}

void exp_auth_free(exp_auth_machine *a) {
  if (a == NULL)
    return;
  exp_free(a->username);
  exp_free(a->password);
  exp_free(a->organization);
  exp_free(a->uuid);
  exp_free(a->secret);
  exp_free(a->api_key);
  exp_free(a->saved);
  cJSON_Delete(a->payload);
  exp_free(a->body);
  exp_free(a);
}

static void out_init(exp_auth_out *out) {
  memset(out, 0, sizeof(*out));
}

/* Records an error in out: code, HTTP status, and the server's {code,
 * message} when body has them, else the fallback text. */
static void set_error(exp_auth_out *out, int code, int http_status,
                      const char *body, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void set_error(exp_auth_out *out, int code, int http_status,
                      const char *body, size_t len, const char *fmt, ...) {
  va_list ap;
  size_t n;
  cJSON *j = body != NULL && len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");

  out->status = code;
  out->http_status = http_status;
  out->api_code[0] = '\0';
  if (cJSON_IsString(c))
    snprintf(out->api_code, sizeof(out->api_code), "%s", c->valuestring);
  va_start(ap, fmt);
  vsnprintf(out->message, sizeof(out->message), fmt, ap);
  va_end(ap);
  n = strlen(out->message);
  if (cJSON_IsString(m) && n < sizeof(out->message))
    snprintf(out->message + n, sizeof(out->message) - n, ": %s",
             m->valuestring);
  cJSON_Delete(j);
}

/* The error for a failed answer: transport error, non-2xx status, or bad
 * payload (already in out when status is 2xx). */
static void answer_error(exp_auth_out *out, const char *what, int err,
                         const char *msg, int status, const char *body,
                         size_t len) {
  if (err != 0)
    set_error(out, err, 0, NULL, 0, "%s: %s", what, msg ? msg : "failed");
  else if (status == 401)
    set_error(out, EXP_EAUTH, status, body, len, "%s: HTTP 401", what);
  else
    set_error(out, status == 404 ? EXP_ENOTFOUND : EXP_EAPI, status, body, len,
              "%s: HTTP %d", what, status);
}

static const char *obj_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Parses and checks an auth payload; on error fills out and returns
 * EXP_EPROTOCOL, or EXP_ENOMEM when parsing ran out of memory. */
static int parse_payload(const char *what, const char *body, size_t len,
                         cJSON **res, exp_auth_out *out) {
  cJSON *p = cJSON_ParseWithLength(body, len);
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(p, "expiration");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "identity");
  const cJSON *api = cJSON_GetObjectItemCaseSensitive(p, "api");
  const cJSON *net = cJSON_GetObjectItemCaseSensitive(p, "network");
  const cJSON *pairing = cJSON_GetObjectItemCaseSensitive(id, "isPairing");
  const char *bad = NULL;
  const char *token = obj_str(p, "token");

  if (p == NULL && exp_json_parse_error(body, len) == EXP_ENOMEM) {
    set_error(out, EXP_ENOMEM, 200, NULL, 0, "%s: out of memory", what);
    return EXP_ENOMEM;
  }
  if (!cJSON_IsObject(p))
    bad = "not a JSON object";
  else if (token == NULL || token[0] == '\0')
    bad = "no token";
  else if (!cJSON_IsNumber(exp) || exp->valuedouble < -9e15 ||
           exp->valuedouble > 9e15)
    bad = "no numeric expiration";
  else if (!cJSON_IsObject(id) || obj_str(id, "organization") == NULL)
    bad = "no identity with an organization";
  else if (pairing != NULL && !cJSON_IsBool(pairing))
    bad = "identity.isPairing is not a boolean";
  else if ((api != NULL && (!cJSON_IsObject(api) || !obj_str(api, "host"))) ||
           (net != NULL && (!cJSON_IsObject(net) || !obj_str(net, "host"))))
    bad = "api or network without a host";
  if (bad != NULL) {
    cJSON_Delete(p);
    set_error(out, EXP_EPROTOCOL, 200, NULL, 0, "%s: bad auth payload: %s",
              what, bad);
    return EXP_EPROTOCOL;
  }
  *res = p;
  return 0;
}

/* The login request's body; 0, or an error with msg saying why. */
static int login_body(exp_auth_machine *a, int64_t now, char **body, char *msg,
                      size_t msg_size) {
  cJSON *o = cJSON_CreateObject();
  char *jwt = NULL;
  int r = EXP_ENOMEM;

  *body = NULL;
  snprintf(msg, msg_size, "out of memory");
  if (o == NULL)
    return EXP_ENOMEM;
  if (a->kind == EXP_AUTH_USER) {
    if (cJSON_AddStringToObject(o, "username", a->username) == NULL ||
        cJSON_AddStringToObject(o, "password", a->password) == NULL ||
        cJSON_AddStringToObject(o, "organization", a->organization) == NULL ||
        cJSON_AddStringToObject(o, "type", "user") == NULL)
      goto done;
  } else {
    if (a->kind == EXP_AUTH_CONSUMER_APP)
      r = exp_jwt_sign(a->uuid, "consumerApp", 0, now / 1000, a->api_key, &jwt,
                       msg, msg_size);
    else if (a->pairing_try || a->secret == NULL)
      r = exp_jwt_sign("_", "device", 1, now / 1000, "_", &jwt, msg, msg_size);
    else
      r = exp_jwt_sign(a->uuid, "device", a->allow_pairing, now / 1000,
                       a->secret, &jwt, msg, msg_size);
    if (r != 0)
      goto done;
    if (cJSON_AddStringToObject(o, "token", jwt) == NULL) {
      r = EXP_ENOMEM;
      goto done;
    }
  }
  *body = cJSON_PrintUnformatted(o);
  r = *body == NULL ? EXP_ENOMEM : 0;
done:
  exp_free(jwt);
  cJSON_Delete(o);
  return r;
}

static void login_failed(exp_auth_machine *a, exp_auth_out *out);

static void send_login(exp_auth_machine *a, int64_t now, exp_auth_out *out) {
  char msg[200];
  int r;
  a->st = S_LOGIN;
  a->seq++;
  exp_free(a->body);
  if ((r = login_body(a, now, &a->body, msg, sizeof(msg))) != 0) {
    set_error(out, r, 0, NULL, 0, "login: %s", msg);
    login_failed(a, out);
    return;
  }
  out->body = a->body;
  out->seq = a->seq;
  out->actions |= EXP_AUTH_SEND_LOGIN;
}

/* A new token is needed: refresh it, or log in when it was refused or has
 * expired. */
static void renew(exp_auth_machine *a, int64_t now, exp_auth_out *out) {
  out->actions |= EXP_AUTH_STOP_TIMER;
  if (a->need_login || a->token == NULL || now >= a->expiration) {
    send_login(a, now, out);
    return;
  }
  a->st = S_REFRESH;
  out->seq = ++a->seq;
  out->actions |= EXP_AUTH_SEND_REFRESH;
}

static void release(exp_auth_machine *a, exp_auth_out *out) {
  if (a->waiting) {
    a->waiting = 0;
    out->actions |= EXP_AUTH_RELEASE;
  }
}

static void fail(exp_auth_machine *a, exp_auth_out *out) {
  a->st = S_FAILED;
  a->err = *out;
  a->err.actions = 0;
  out->actions |= EXP_AUTH_STOP_TIMER;
  if (!a->started) {
    a->started = 1;
    out->actions |= EXP_AUTH_START_DONE;
  }
  release(a, out);
}

/* A login failed, not with 401: out holds the error. */
static void login_failed(exp_auth_machine *a, exp_auth_out *out) {
  if (!a->started) {
    fail(a, out);
    return;
  }
  a->st = S_READY;
  a->need_login = 1;
  out->timer_ms = EXP_AUTH_RETRY_MS;
  out->actions |= EXP_AUTH_ARM_TIMER | EXP_AUTH_WARN;
  release(a, out);
}

static void accept_payload(exp_auth_machine *a, int64_t now, cJSON *p,
                           exp_auth_out *out) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "identity");
  int64_t half;

  cJSON_Delete(a->payload);
  a->payload = p;
  a->token = obj_str(p, "token");
  a->expiration =
      (int64_t)cJSON_GetObjectItemCaseSensitive(p, "expiration")->valuedouble;
  a->api_host = obj_str(cJSON_GetObjectItemCaseSensitive(p, "api"), "host");
  a->network_host =
      obj_str(cJSON_GetObjectItemCaseSensitive(p, "network"), "host");
  a->pairing = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(id, "isPairing"));
  a->gen++;
  a->st = S_READY;
  a->need_login = 0;
  a->pairing_try = 0;
  out->actions |= EXP_AUTH_EMIT_UPDATE;
  if (a->pairing) {
    out->actions |= EXP_AUTH_STOP_TIMER;
  } else if (a->expiration <= now) {
    /* A server handing out dead tokens (or seconds for milliseconds) would
     * otherwise get a login every second: back off, doubling to the retry
     * interval. */
    int shift = a->expired_in_row < 6 ? a->expired_in_row : 6;
    a->expired_in_row++;
    out->timer_ms = (uint64_t)EXP_AUTH_MIN_REFRESH_MS << shift;
    if (out->timer_ms > EXP_AUTH_RETRY_MS)
      out->timer_ms = EXP_AUTH_RETRY_MS;
    out->actions |= EXP_AUTH_ARM_TIMER;
  } else {
    a->expired_in_row = 0;
    half = (a->expiration - now) / 2;
    out->timer_ms = half < EXP_AUTH_MIN_REFRESH_MS ? EXP_AUTH_MIN_REFRESH_MS
                                                   : (uint64_t)half;
    out->actions |= EXP_AUTH_ARM_TIMER;
  }
  if (!a->started) {
    a->started = 1;
    out->actions |= EXP_AUTH_START_DONE;
  }
  release(a, out);
}

/* 1 when the saved payload p may stand for a login with a's credentials. */
static int usable(const exp_auth_machine *a, const cJSON *p, int64_t now) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "identity");
  const char *type = obj_str(id, "type");
  double exp = cJSON_GetObjectItemCaseSensitive(p, "expiration")->valuedouble;
  static const char *const types[] = {"user", "device", "consumerApp"};

  if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(id, "isPairing")) ||
      exp <= (double)(now + EXP_AUTH_MIN_REFRESH_MS) || type == NULL ||
      strcmp(type, types[a->kind]) != 0)
    return 0;
  if (a->kind == EXP_AUTH_USER)
    return obj_str(id, "username") != NULL &&
           strcmp(obj_str(id, "username"), a->username) == 0 &&
           strcmp(obj_str(id, "organization"), a->organization) == 0;
  return a->uuid != NULL && obj_str(id, "uuid") != NULL &&
         strcmp(obj_str(id, "uuid"), a->uuid) == 0;
}

int exp_auth_check_saved(const char *text, char *msg, size_t msg_size) {
  exp_auth_out out;
  cJSON *p = NULL;
  if (parse_payload("auth", text, strlen(text), &p, &out) != 0) {
    snprintf(msg, msg_size, "%s", out.message);
    return EXP_EOPTIONS;
  }
  cJSON_Delete(p);
  return 0;
}

void exp_auth_start(exp_auth_machine *a, int64_t now, exp_auth_out *out) {
  cJSON *p = NULL;

  out_init(out);
  if (a->st != S_IDLE)
    return;
  if (a->saved != NULL &&
      parse_payload("auth", a->saved, strlen(a->saved), &p, out) == 0 &&
      usable(a, p, now)) {
    out_init(out);
    accept_payload(a, now, p, out);
  } else {
    cJSON_Delete(p);
    out_init(out);
    send_login(a, now, out);
  }
  exp_free(a->saved);
  a->saved = NULL;
}

void exp_auth_on_login(exp_auth_machine *a, int64_t now, unsigned seq, int err,
                       const char *msg, int status, const char *body,
                       size_t len, exp_auth_out *out) {
  cJSON *p = NULL;

  out_init(out);
  if (a->st != S_LOGIN || seq != a->seq)
    return;
  a->renew_401 = 0;
  a->suspect = 0;
  if (err == 0 && status / 100 == 2) {
    if (parse_payload("login", body, len, &p, out) == 0)
      accept_payload(a, now, p, out);
    else
      login_failed(a, out);
    return;
  }
  answer_error(out, "login", err, msg, status, body, len);
  if (err != 0 || status != 401) {
    login_failed(a, out);
  } else if (a->kind == EXP_AUTH_DEVICE && a->allow_pairing &&
             !a->pairing_try && a->secret != NULL) {
    a->pairing_try = 1;
    out_init(out);
    send_login(a, now, out);
  } else {
    out->actions |= EXP_AUTH_EMIT_ERROR;
    fail(a, out);
  }
}

void exp_auth_on_refresh(exp_auth_machine *a, int64_t now, unsigned seq,
                         int err, const char *msg, int status, const char *body,
                         size_t len, exp_auth_out *out) {
  cJSON *p = NULL;
  int asked_by_401 = a->renew_401;

  out_init(out);
  if (a->st != S_REFRESH || seq != a->seq)
    return;
  a->renew_401 = 0;
  if (err == 0 && status == 401) {
    a->need_login = 1;
    send_login(a, now, out);
    return;
  }
  if (err == 0 && status / 100 == 2) {
    if (parse_payload("refresh", body, len, &p, out) == 0) {
      a->suspect = asked_by_401;
      accept_payload(a, now, p, out);
      out->refreshed = 1;
      return;
    }
  } else {
    answer_error(out, "refresh", err, msg, status, body, len);
  }
  a->st = S_READY;
  out->timer_ms = EXP_AUTH_RETRY_MS;
  out->actions |= EXP_AUTH_ARM_TIMER | EXP_AUTH_WARN;
  release(a, out);
}

void exp_auth_on_timer(exp_auth_machine *a, int64_t now, exp_auth_out *out) {
  out_init(out);
  if (a->st == S_READY && (!a->pairing || a->need_login))
    renew(a, now, out);
}

int exp_auth_set_device(exp_auth_machine *a, const char *uuid,
                        const char *secret, int64_t now, exp_auth_out *out) {
  char *u = exp_strdup(uuid), *s = exp_strdup(secret);

  out_init(out);
  if (u == NULL || s == NULL) {
    exp_free(u);
    exp_free(s);
    return EXP_ENOMEM;
  }
  exp_free(a->uuid);
  exp_free(a->secret);
  a->uuid = u;
  a->secret = s;
  a->kind = EXP_AUTH_DEVICE;
  a->pairing_try = 0;
  a->need_login = 1;
  out->actions |= EXP_AUTH_STOP_TIMER;
  send_login(a, now, out);
  return 0;
}

static int refuse(const exp_auth_machine *a) {
  if (a->st == S_IDLE)
    return EXP_ERUNTIME;
  if (a->st == S_FAILED)
    return a->err.status;
  return a->pairing && a->st != S_LOGIN ? EXP_EPAIRING : 0;
}

int exp_auth_acquire(exp_auth_machine *a) {
  int r = refuse(a);
  if (r != 0)
    return r;
  /* No token yet, or only the pairing token while logging in with the
   * paired credentials. */
  if (a->token == NULL || (a->pairing && a->st == S_LOGIN)) {
    a->waiting = 1;
    return EXP_AUTH_WAIT;
  }
  return EXP_AUTH_GO;
}

int exp_auth_on_401(exp_auth_machine *a, unsigned gen, int64_t now,
                    exp_auth_out *out) {
  int r;

  out_init(out);
  if (gen != a->gen && a->st != S_FAILED)
    return EXP_AUTH_GO;
  r = refuse(a);
  if (r != 0)
    return r;
  if (a->st == S_READY) {
    int calm = !a->suspect || now - a->last_401 >= EXP_AUTH_RETRY_MS;
    a->last_401 = now;
    /* A token at its expiration (a second of clock slack) is refused for
     * being old, not by a storm: a loop late for its renewal renews. */
    if (a->suspect && now < a->storm_until && now < a->expiration - 1000)
      return EXP_AUTH_REFUSED;
    a->storm_ms = calm                                  ? EXP_AUTH_STORM_MS
                  : a->storm_ms * 2 > EXP_AUTH_RETRY_MS ? EXP_AUTH_RETRY_MS
                                                        : a->storm_ms * 2;
    a->storm_until = now + a->storm_ms;
    a->renew_401 = 1;
    renew(a, now, out);
  }
  a->waiting = 1;
  return EXP_AUTH_WAIT;
}

const cJSON *exp_auth_payload(const exp_auth_machine *a) {
  return a->payload;
}
const char *exp_auth_token(const exp_auth_machine *a) {
  return a->token;
}
const char *exp_auth_api_host(const exp_auth_machine *a) {
  return a->api_host;
}
const char *exp_auth_network_host(const exp_auth_machine *a) {
  return a->network_host;
}
int exp_auth_is_pairing(const exp_auth_machine *a) {
  return a->pairing;
}
unsigned exp_auth_gen(const exp_auth_machine *a) {
  return a->gen;
}
int exp_auth_reveals(const exp_auth_machine *a, const char *s) {
  const char *const secrets[] = {a->token, a->password, a->secret, a->api_key};
  for (size_t i = 0; i < EXP_ARRAY_SIZE(secrets); i++)
    if (secrets[i] != NULL && secrets[i][0] != '\0' &&
        strstr(s, secrets[i]) != NULL)
      return 1;
  return 0;
}
const exp_auth_out *exp_auth_error(const exp_auth_machine *a) {
  return &a->err;
}
