/*
 * fuzz_auth.c: the login/refresh state machine fed fuzzed answers: any
 * body and status as the answer to a login or refresh, transport errors,
 * stale answers, timers, 401s on calls and new pairing credentials, at
 * fuzzed times.  Each input's actions are checked against auth.h.
 *
 * Input: a credentials byte (user, device, device allowed to pair, pairing
 * device, consumer app), then one record per line: an op byte ('T': timer,
 * 'U': a 401 on a call, 'u': the same with an old token, 'Q': acquire,
 * 'S': pairing credentials "uuid:secret" from the body, 's': an answer
 * with a stale seq, else the answer to the request in flight), a byte of
 * time passing (10 s units; 255: a day), a status byte (0: transport error,
 * else from a list), the body.
 */
#include <string.h>

#include "auth.h"
#include "fuzz.h"

#include "exp.h"

static const int statuses[] = {200, 201, 401, 404, 500, 400, 204, 302, 503};

typedef struct run {
  exp_auth_machine *a;
  unsigned seq;
  int in_flight; /* 0 none, 'L' login, 'R' refresh */
  int start_done;
  unsigned gen;
} run;

static void check(run *t, const exp_auth_out *out) {
  unsigned act = out->actions;
  const exp_auth_machine *a = t->a;

  FUZZ_CHECK(!((act & EXP_AUTH_SEND_LOGIN) && (act & EXP_AUTH_SEND_REFRESH)));
  if (act & EXP_AUTH_ARM_TIMER)
    FUZZ_CHECK(out->timer_ms >= EXP_AUTH_MIN_REFRESH_MS);
  if (act & EXP_AUTH_SEND_LOGIN) {
    cJSON *b;
    FUZZ_CHECK(out->body != NULL);
    b = cJSON_Parse(out->body);
    FUZZ_CHECK(cJSON_IsObject(b));
    cJSON_Delete(b);
  }
  if (act & (EXP_AUTH_SEND_LOGIN | EXP_AUTH_SEND_REFRESH)) {
    FUZZ_CHECK(out->seq != t->seq);
    t->seq = out->seq;
    t->in_flight = act & EXP_AUTH_SEND_LOGIN ? 'L' : 'R';
  }
  if (act & EXP_AUTH_SEND_REFRESH)
    FUZZ_CHECK(exp_auth_token(a) != NULL && !exp_auth_is_pairing(a));
  if (act & EXP_AUTH_EMIT_UPDATE) {
    const char *tok = exp_auth_token(a);
    FUZZ_CHECK(exp_auth_payload(a) != NULL && tok != NULL && tok[0] != '\0');
    FUZZ_CHECK(exp_auth_gen(a) == t->gen + 1);
    t->gen = exp_auth_gen(a);
  } else {
    FUZZ_CHECK(exp_auth_gen(a) == t->gen);
  }
  if (act & (EXP_AUTH_EMIT_ERROR | EXP_AUTH_WARN))
    FUZZ_CHECK(out->status < 0 && out->message[0] != '\0');
  if (act & EXP_AUTH_START_DONE) {
    FUZZ_CHECK(!t->start_done);
    t->start_done = 1;
    if (out->status != 0)
      FUZZ_CHECK(out->message[0] != '\0');
  }
  if ((act & EXP_AUTH_RELEASE) && out->status == 0)
    FUZZ_CHECK(exp_auth_token(a) != NULL);
  FUZZ_CHECK(strlen(out->api_code) < sizeof(out->api_code));
  FUZZ_CHECK(strlen(out->message) < sizeof(out->message));
}

static exp_auth_machine *make(uint8_t b) {
  exp_auth_credentials c = {0};
  switch (b % 5) {
  case 0:
    c.kind = EXP_AUTH_USER;
    c.username = "joe@example.com";
    c.password = "secret";
    c.organization = "scala";
    break;
  case 1:
  case 2:
  case 3:
    c.kind = EXP_AUTH_DEVICE;
    c.uuid = "d2f1c9a6-5a4e-4f1b-9a2b-0c1d2e3f4a5b";
    c.secret = b % 5 == 3 ? NULL : "s3cr3t";
    c.allow_pairing = b % 5 != 1;
    break;
  default:
    c.kind = EXP_AUTH_CONSUMER_APP;
    c.uuid = "c0ffee00-0000-4000-8000-000000000001";
    c.api_key = "key";
    break;
  }
  return exp_auth_new(&c);
}

static void answer(run *t, int kind, int64_t now, unsigned seq, uint8_t status,
                   const char *body, size_t len, exp_auth_out *out) {
  int err = status == 0 ? EXP_ENETWORK : 0;
  int http = status == 0 ? 0 : statuses[status % 9];
  if (kind == 'L')
    exp_auth_on_login(t->a, now, seq, err, "connection refused", http, body,
                      len, out);
  else
    exp_auth_on_refresh(t->a, now, seq, err, "connection refused", http, body,
                        len, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in in = {data, size};
  int64_t now = 1700000000000;
  exp_auth_out out;
  run t = {make(fuzz_u8(&in)), 0, 0, 0, 0};

  FUZZ_CHECK(t.a != NULL);
  FUZZ_CHECK(exp_auth_acquire(t.a) == EXP_ERUNTIME);
  exp_auth_start(t.a, now, &out);
  FUZZ_CHECK(out.actions & EXP_AUTH_SEND_LOGIN);
  check(&t, &out);
  while (in.n > 0) {
    const uint8_t *nl = memchr(in.p, '\n', in.n);
    size_t line = nl != NULL ? (size_t)(nl - in.p) : in.n;
    fuzz_in rec = {in.p, line};
    uint8_t op = fuzz_u8(&rec), dt = fuzz_u8(&rec), st = fuzz_u8(&rec);
    const char *body = (const char *)rec.p;
    int r;

    in.p += line + (nl != NULL);
    in.n -= line + (nl != NULL);
    now += dt == 255 ? 86400000 : dt * 10000;
    switch (op) {
    case 'T':
      exp_auth_on_timer(t.a, now, &out);
      break;
    case 'U':
    case 'u':
      r = exp_auth_on_401(t.a, exp_auth_gen(t.a) - (op == 'u'), now, &out);
      FUZZ_CHECK(r == EXP_AUTH_GO || r == EXP_AUTH_WAIT ||
                 r == EXP_AUTH_REFUSED || r < 0);
      if (r < 0)
        FUZZ_CHECK(exp_auth_error(t.a)->status == r || r == EXP_EPAIRING ||
                   r == EXP_ERUNTIME);
      break;
    case 'Q':
      r = exp_auth_acquire(t.a);
      FUZZ_CHECK(r == EXP_AUTH_GO || r == EXP_AUTH_WAIT || r < 0);
      if (r == EXP_AUTH_GO)
        FUZZ_CHECK(exp_auth_token(t.a) != NULL);
      out.actions = 0;
      break;
    case 'S': {
      const char *colon = memchr(body, ':', rec.n);
      size_t ul = colon != NULL ? (size_t)(colon - body) : rec.n;
      char *uuid = malloc(ul + 1), *secret = malloc(rec.n - ul + 1);
      FUZZ_CHECK(uuid != NULL && secret != NULL);
      memcpy(uuid, body, ul);
      uuid[ul] = '\0';
      memcpy(secret, body + ul + (colon != NULL), rec.n - ul - (colon != NULL));
      secret[rec.n - ul - (colon != NULL)] = '\0';
      FUZZ_CHECK(exp_auth_set_device(t.a, uuid, secret, now, &out) == 0);
      free(uuid);
      free(secret);
      break;
    }
    case 's':
      answer(&t, t.in_flight == 'R' ? 'R' : 'L', now, t.seq - 1, st, body,
             rec.n, &out);
      FUZZ_CHECK(out.actions == 0);
      break;
    default:
      answer(&t, t.in_flight == 'R' ? 'R' : 'L', now, t.seq, st, body, rec.n,
             &out);
      break;
    }
    check(&t, &out);
  }
  exp_auth_free(t.a);
  return 0;
}
