/* The auth state machine, driven with a fake clock and canned answers. */
#include <stdio.h>
#include <stdlib.h>

#include "auth.h"
#include "common.h"
#include "exp.h"
#include "jwt.h"
#include "testlib.h"

#define T0 1700000000000LL /* ms since the epoch */
#define HOUR 3600000LL
#define MINUTE 61000LL /* a little more than EXP_AUTH_RETRY_MS */

static const exp_auth_credentials user = {.kind = EXP_AUTH_USER,
                                          .username = "u@x.io",
                                          .password = "pw",
                                          .organization = "org"};
static const exp_auth_credentials device = {
    .kind = EXP_AUTH_DEVICE, .uuid = "dev", .secret = "sec"};

static char payload_buf[512];

/* An auth payload expiring at exp (ms); pairing adds isPairing. */
static const char *payload(int64_t exp, int pairing) {
  snprintf(payload_buf, sizeof(payload_buf),
           "{\"token\":\"tok%lld\",\"expiration\":%lld,"
           "\"restrictedToken\":\"r\",\"api\":{\"host\":\"http://a\"},"
           "\"network\":{\"host\":\"http://n\"},\"identity\":{\"type\":"
           "\"device\",\"organization\":\"org\",\"uuid\":\"dev\"%s}}",
           (long long)exp, (long long)exp,
           pairing ? ",\"isPairing\":true,\"pairingCode\":\"ABCDEF\"" : "");
  return payload_buf;
}

static void login_ok(exp_auth_machine *a, int64_t now, unsigned seq,
                     int64_t exp, exp_auth_out *o) {
  const char *p = payload(exp, 0);
  exp_auth_on_login(a, now, seq, 0, NULL, 200, p, strlen(p), o);
}

/* A started machine holding a token that expires an hour after T0. */
static exp_auth_machine *started(const exp_auth_credentials *c) {
  exp_auth_out o;
  exp_auth_machine *a = exp_auth_new(c);
  exp_auth_start(a, T0, &o);
  login_ok(a, T0, o.seq, T0 + HOUR, &o);
  return a;
}

static void test_login_schedules_refresh(void) {
  exp_auth_out o;
  exp_auth_machine *a = exp_auth_new(&user);
  cJSON *body;

  CHECK_INT(exp_auth_acquire(a), EXP_ERUNTIME);
  exp_auth_start(a, T0, &o);
  CHECK_INT(o.actions, EXP_AUTH_SEND_LOGIN);
  body = cJSON_Parse(o.body);
  CHECK_STR(cJSON_GetObjectItem(body, "username")->valuestring, "u@x.io");
  CHECK_STR(cJSON_GetObjectItem(body, "password")->valuestring, "pw");
  CHECK_STR(cJSON_GetObjectItem(body, "organization")->valuestring, "org");
  CHECK_STR(cJSON_GetObjectItem(body, "type")->valuestring, "user");
  cJSON_Delete(body);
  CHECK_INT(exp_auth_acquire(a), EXP_AUTH_WAIT); /* parked until login */
  CHECK(exp_auth_payload(a) == NULL);
  login_ok(a, T0 + 10, o.seq, T0 + 10 + HOUR, &o);
  CHECK_INT(o.actions, EXP_AUTH_ARM_TIMER | EXP_AUTH_EMIT_UPDATE |
                           EXP_AUTH_START_DONE | EXP_AUTH_RELEASE);
  CHECK_INT(o.status, 0);
  CHECK_INT(o.timer_ms, HOUR / 2);
  CHECK_STR(exp_auth_token(a), "tok1700003600010");
  CHECK_STR(exp_auth_api_host(a), "http://a");
  CHECK_STR(exp_auth_network_host(a), "http://n");
  CHECK_INT(exp_auth_gen(a), 1);
  CHECK_INT(exp_auth_acquire(a), EXP_AUTH_GO);

  /* Half-life passes: refresh, then the next one at half the rest. */
  exp_auth_on_timer(a, T0 + 10 + HOUR / 2, &o);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_REFRESH);
  CHECK_INT(exp_auth_acquire(a), EXP_AUTH_GO); /* old token still good */
  {
    const char *p = payload(T0 + 2 * HOUR, 0);
    unsigned seq = o.seq;
    exp_auth_on_refresh(a, T0 + HOUR, seq, 0, NULL, 200, p, strlen(p), &o);
    CHECK_INT(o.actions, EXP_AUTH_ARM_TIMER | EXP_AUTH_EMIT_UPDATE);
    CHECK_INT(o.timer_ms, HOUR / 2);
    CHECK_INT(exp_auth_gen(a), 2);
    /* A repeated answer is stale. */
    exp_auth_on_refresh(a, T0 + HOUR, seq, 0, NULL, 200, p, strlen(p), &o);
    CHECK_INT(o.actions, 0);
  }
  /* Almost expired: the delay has a floor. */
  exp_auth_on_timer(a, T0 + 2 * HOUR - 100, &o);
  {
    unsigned seq = o.seq;
    const char *p;
    login_ok(a, T0 + 2 * HOUR - 100, seq, T0 + 2 * HOUR + 400, &o);
    CHECK_INT(o.actions, 0); /* a login answer to a refresh: ignored */
    p = payload(T0 + 2 * HOUR + 400, 0);
    exp_auth_on_refresh(a, T0 + 2 * HOUR - 100, seq, 0, NULL, 200, p, strlen(p),
                        &o);
  }
  CHECK(o.actions & EXP_AUTH_ARM_TIMER);
  CHECK_INT(o.timer_ms, EXP_AUTH_MIN_REFRESH_MS);
  exp_auth_free(a);
}

static void test_refresh_error_retries(void) {
  exp_auth_machine *a = started(&user);
  exp_auth_out o;

  exp_auth_on_timer(a, T0 + HOUR / 2, &o);
  exp_auth_on_refresh(a, T0 + HOUR / 2, o.seq, 0, NULL, 503,
                      "{\"code\":\"x.down\",\"message\":\"busy\"}", 34, &o);
  CHECK_INT(o.actions, EXP_AUTH_ARM_TIMER | EXP_AUTH_WARN);
  CHECK_INT(o.timer_ms, EXP_AUTH_RETRY_MS);
  CHECK_INT(o.status, EXP_EAPI);
  CHECK_INT(o.http_status, 503);
  CHECK_STR(o.api_code, "x.down");
  CHECK_STR(o.message, "refresh: HTTP 503: busy");
  CHECK_INT(exp_auth_acquire(a), EXP_AUTH_GO);

  /* Network error: the same. */
  exp_auth_on_timer(a, T0 + HOUR / 2 + EXP_AUTH_RETRY_MS, &o);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_REFRESH);
  exp_auth_on_refresh(a, T0 + HOUR / 2 + EXP_AUTH_RETRY_MS, o.seq, EXP_ENETWORK,
                      "connection refused", 0, NULL, 0, &o);
  CHECK_INT(o.actions, EXP_AUTH_ARM_TIMER | EXP_AUTH_WARN);
  CHECK_INT(o.status, EXP_ENETWORK);
  CHECK_STR(o.message, "refresh: connection refused");

  /* Bad payload: the same. */
  exp_auth_on_timer(a, T0 + HOUR / 2 + 2 * EXP_AUTH_RETRY_MS, &o);
  exp_auth_on_refresh(a, 0, o.seq, 0, NULL, 200, "{}", 2, &o);
  CHECK_INT(o.actions, EXP_AUTH_ARM_TIMER | EXP_AUTH_WARN);
  CHECK_INT(o.status, EXP_EPROTOCOL);

  /* The old token has expired meanwhile: log in instead. */
  exp_auth_on_timer(a, T0 + HOUR, &o);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_LOGIN);
  login_ok(a, T0 + HOUR, o.seq, T0 + 3 * HOUR, &o);
  CHECK_INT(o.actions, EXP_AUTH_ARM_TIMER | EXP_AUTH_EMIT_UPDATE);
  exp_auth_free(a);
}

static void test_refresh_401_logs_in(void) {
  exp_auth_machine *a = started(&user);
  exp_auth_out o;

  exp_auth_on_timer(a, T0 + HOUR / 2, &o);
  exp_auth_on_refresh(a, T0 + HOUR / 2, o.seq, 0, NULL, 401, "", 0, &o);
  CHECK_INT(o.actions, EXP_AUTH_SEND_LOGIN);
  CHECK(o.body != NULL);
  exp_auth_on_timer(a, T0 + HOUR / 2, &o); /* a stray timer does nothing */
  CHECK_INT(o.actions, 0);
  exp_auth_free(a);

  /* That login fails with 500: retried in 60 s, as a login. */
  a = started(&user);
  exp_auth_on_timer(a, T0 + HOUR / 2, &o);
  exp_auth_on_refresh(a, T0 + HOUR / 2, o.seq, 0, NULL, 401, "", 0, &o);
  exp_auth_on_login(a, T0 + HOUR / 2, o.seq, 0, NULL, 500, "oops", 4, &o);
  CHECK_INT(o.actions, EXP_AUTH_ARM_TIMER | EXP_AUTH_WARN);
  CHECK_INT(o.timer_ms, EXP_AUTH_RETRY_MS);
  CHECK_STR(o.message, "login: HTTP 500");
  exp_auth_on_timer(a, T0 + HOUR / 2 + EXP_AUTH_RETRY_MS, &o);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_LOGIN);
  /* That one is refused: fatal, without a second START_DONE. */
  exp_auth_on_login(a, 0, o.seq, 0, NULL, 401,
                    "{\"code\":\"auth.invalid\",\"message\":\"Nope.\"}", 42,
                    &o);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_EMIT_ERROR);
  CHECK_INT(o.status, EXP_EAUTH);
  CHECK_INT(o.http_status, 401);
  CHECK_STR(o.api_code, "auth.invalid");
  CHECK_STR(o.message, "login: HTTP 401: Nope.");
  CHECK_INT(exp_auth_acquire(a), EXP_EAUTH);
  CHECK_STR(exp_auth_error(a)->message, "login: HTTP 401: Nope.");
  exp_auth_on_timer(a, T0 + 10 * HOUR, &o);
  CHECK_INT(o.actions, 0);
  exp_auth_free(a);
}

static void test_login_401_fatal(void) {
  exp_auth_machine *a = exp_auth_new(&device);
  exp_auth_out o;
  char *want = NULL;

  exp_auth_start(a, T0, &o);
  CHECK(exp_jwt_sign("dev", "device", 0, T0 / 1000, "sec", &want, NULL, 0) ==
        0);
  {
    cJSON *b = cJSON_Parse(o.body);
    CHECK_STR(cJSON_GetObjectItem(b, "token")->valuestring, want);
    CHECK_INT(cJSON_GetArraySize(b), 1);
    cJSON_Delete(b);
  }
  free(want);
  CHECK_INT(exp_auth_acquire(a), EXP_AUTH_WAIT);
  exp_auth_on_login(a, T0, o.seq, 0, NULL, 401, "not json", 8, &o);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_EMIT_ERROR |
                           EXP_AUTH_START_DONE | EXP_AUTH_RELEASE);
  CHECK_INT(o.status, EXP_EAUTH);
  CHECK_STR(o.api_code, "");
  CHECK_STR(o.message, "login: HTTP 401");
  CHECK_INT(exp_auth_acquire(a), EXP_EAUTH);
  CHECK_INT(exp_auth_on_401(a, 0, T0, &o), EXP_EAUTH);
  exp_auth_free(a);
}

static void test_login_error_fails_start(void) {
  exp_auth_machine *a = exp_auth_new(&user);
  exp_auth_out o;

  exp_auth_start(a, T0, &o);
  exp_auth_on_login(a, T0, o.seq, EXP_ETIMEOUT, "no answer in 10000 ms", 0,
                    NULL, 0, &o);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_START_DONE);
  CHECK_INT(o.status, EXP_ETIMEOUT);
  CHECK_STR(o.message, "login: no answer in 10000 ms");
  CHECK_INT(exp_auth_acquire(a), EXP_ETIMEOUT);
  exp_auth_free(a);

  a = exp_auth_new(&user);
  exp_auth_start(a, T0, &o);
  exp_auth_on_login(a, T0, o.seq, 0, NULL, 404, "{\"message\":\"no\"}", 16, &o);
  CHECK_INT(o.status, EXP_ENOTFOUND);
  CHECK_INT(o.http_status, 404);
  exp_auth_free(a);
}

static void test_many_401_one_refresh(void) {
  exp_auth_machine *a = started(&user);
  exp_auth_out o;
  unsigned gen = exp_auth_gen(a), seq;
  const char *p;

  CHECK_INT(exp_auth_on_401(a, gen, T0 + 5, &o), EXP_AUTH_WAIT);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_REFRESH);
  seq = o.seq;
  for (int i = 0; i < 5; i++) {
    CHECK_INT(exp_auth_on_401(a, gen, T0 + 6, &o), EXP_AUTH_WAIT);
    CHECK_INT(o.actions, 0);
  }
  p = payload(T0 + 2 * HOUR, 0);
  exp_auth_on_refresh(a, T0 + 7, seq, 0, NULL, 200, p, strlen(p), &o);
  CHECK_INT(o.actions,
            EXP_AUTH_ARM_TIMER | EXP_AUTH_EMIT_UPDATE | EXP_AUTH_RELEASE);
  CHECK_INT(o.status, 0);
  /* A late 401 on the old token: resend, no new refresh. */
  CHECK_INT(exp_auth_on_401(a, gen, T0 + 8, &o), EXP_AUTH_GO);
  CHECK_INT(o.actions, 0);

  /* The shared refresh fails: the waiting calls fail with its error.  (A
   * minute later each time: a 401 soon after a refresh would be a storm.) */
  gen = exp_auth_gen(a);
  CHECK_INT(exp_auth_on_401(a, gen, T0 + MINUTE, &o), EXP_AUTH_WAIT);
  exp_auth_on_refresh(a, T0 + MINUTE, o.seq, EXP_ENETWORK, "reset", 0, NULL, 0,
                      &o);
  CHECK_INT(o.actions, EXP_AUTH_ARM_TIMER | EXP_AUTH_WARN | EXP_AUTH_RELEASE);
  CHECK_INT(o.status, EXP_ENETWORK);

  /* 401 answered by refresh 401 then a login: released after the login. */
  CHECK_INT(exp_auth_on_401(a, gen, T0 + 2 * MINUTE, &o), EXP_AUTH_WAIT);
  exp_auth_on_refresh(a, T0 + 2 * MINUTE, o.seq, 0, NULL, 401, NULL, 0, &o);
  CHECK_INT(o.actions, EXP_AUTH_SEND_LOGIN);
  seq = o.seq;
  CHECK_INT(exp_auth_on_401(a, gen, T0 + 2 * MINUTE + 1, &o), EXP_AUTH_WAIT);
  CHECK_INT(o.actions, 0);
  login_ok(a, T0 + 2 * MINUTE + 2, seq, T0 + HOUR, &o);
  CHECK_INT(o.actions,
            EXP_AUTH_ARM_TIMER | EXP_AUTH_EMIT_UPDATE | EXP_AUTH_RELEASE);
  exp_auth_free(a);
}

/* A refresh that a 401 asked for, answered, then a 401 on the new token:
 * the server renews tokens it refuses (issue 8, item 2).  Calls fail with
 * their own answer until the window passed; the windows double while the
 * 401s go on; a quiet minute starts over.  A login in between (a revoked
 * token) is no storm: its token renews at once. */
static void test_401_storm_bounded(void) {
  exp_auth_machine *a = started(&user);
  exp_auth_out o;
  int64_t t = T0 + 10;
  const char *p;
  int64_t windows[] = {EXP_AUTH_STORM_MS,     2 * EXP_AUTH_STORM_MS,
                       4 * EXP_AUTH_STORM_MS, 8 * EXP_AUTH_STORM_MS,
                       EXP_AUTH_RETRY_MS,     EXP_AUTH_RETRY_MS};

  for (size_t i = 0; i < EXP_ARRAY_SIZE(windows); i++) {
    int64_t start = t;
    CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), t, &o), EXP_AUTH_WAIT);
    CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_REFRESH);
    p = payload(T0 + 2 * HOUR, 0);
    exp_auth_on_refresh(a, t + 1, o.seq, 0, NULL, 200, p, strlen(p), &o);
    CHECK(o.actions & EXP_AUTH_EMIT_UPDATE);
    for (t = start + 2; t < start + windows[i]; t += windows[i] / 4) {
      CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), t, &o), EXP_AUTH_REFUSED);
      CHECK_INT(o.actions, 0);
    }
    t = start + windows[i];
  }
  /* A quiet minute: the next renews at once, the window 5 s again. */
  t += MINUTE;
  CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), t, &o), EXP_AUTH_WAIT);
  p = payload(T0 + 2 * HOUR, 0);
  exp_auth_on_refresh(a, t + 1, o.seq, 0, NULL, 200, p, strlen(p), &o);
  CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), t + EXP_AUTH_STORM_MS - 1, &o),
            EXP_AUTH_REFUSED);
  CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), t + EXP_AUTH_STORM_MS, &o),
            EXP_AUTH_WAIT);
  /* Refused: the token was revoked.  The login's token is no suspect. */
  exp_auth_on_refresh(a, t + EXP_AUTH_STORM_MS, o.seq, 0, NULL, 401, NULL, 0,
                      &o);
  CHECK_INT(o.actions, EXP_AUTH_SEND_LOGIN);
  login_ok(a, t + EXP_AUTH_STORM_MS + 1, o.seq, T0 + 3 * HOUR, &o);
  CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), t + EXP_AUTH_STORM_MS + 2, &o),
            EXP_AUTH_WAIT);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_REFRESH);
  exp_auth_free(a);
}

/* A token from a 401-asked refresh that then simply expires (the loop was
 * late for its renewal, as on a busy machine with 4 s tokens): the 401 on
 * it renews at once, inside the storm window too (the soak lost 55 calls to
 * it before). */
static void test_401_on_expired_is_no_storm(void) {
  exp_auth_machine *a = started(&user);
  exp_auth_out o;
  int64_t t = T0 + 10;
  const char *p;

  CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), t, &o), EXP_AUTH_WAIT);
  p = payload(t + 3000, 0);
  exp_auth_on_refresh(a, t + 1, o.seq, 0, NULL, 200, p, strlen(p), &o);
  CHECK(o.actions & EXP_AUTH_EMIT_UPDATE);
  CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), t + 1000, &o),
            EXP_AUTH_REFUSED);
  /* Expired: renewed by a login. */
  CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), t + 3500, &o), EXP_AUTH_WAIT);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_LOGIN);
  exp_auth_free(a);
}

/* A saved payload stands for the first login while it is valid for the
 * same identity; otherwise the start logs in. */
static void test_saved_payload(void) {
  exp_auth_credentials c = device;
  char saved[512];
  struct {
    int64_t exp;
    int pairing;
    const char *uuid;
    int used;
  } cases[] = {{T0 + HOUR, 0, "dev", 1},
               {T0 + 500, 0, "dev", 0}, /* about to expire */
               {T0 + HOUR, 1, "dev", 0},
               {T0 + HOUR, 0, "other", 0}};

  for (size_t i = 0; i < EXP_ARRAY_SIZE(cases); i++) {
    exp_auth_machine *a;
    exp_auth_out o;
    char *uuid;
    snprintf(saved, sizeof(saved), "%s",
             payload(cases[i].exp, cases[i].pairing));
    uuid = strstr(saved, "\"uuid\":\"dev\"");
    if (strcmp(cases[i].uuid, "dev") != 0)
      memcpy(uuid, "\"uuid\":\"oth\"", 12);
    c.saved = saved;
    a = exp_auth_new(&c);
    exp_auth_start(a, T0, &o);
    if (cases[i].used) {
      CHECK_INT(o.actions, EXP_AUTH_ARM_TIMER | EXP_AUTH_EMIT_UPDATE |
                               EXP_AUTH_START_DONE);
      CHECK_INT(o.status, 0);
      CHECK_STR(exp_auth_token(a), "tok1700003600000");
      CHECK_INT(exp_auth_acquire(a), EXP_AUTH_GO);
    } else {
      CHECK_INT(o.actions, EXP_AUTH_SEND_LOGIN);
      CHECK(exp_auth_token(a) == NULL);
    }
    exp_auth_free(a);
  }
  c = user;
  c.saved = payload(T0 + HOUR, 0); /* a device's */
  {
    exp_auth_machine *a = exp_auth_new(&c);
    exp_auth_out o;
    exp_auth_start(a, T0, &o);
    CHECK_INT(o.actions, EXP_AUTH_SEND_LOGIN);
    exp_auth_free(a);
  }
}

static void test_pairing(void) {
  exp_auth_credentials c = {
      .kind = EXP_AUTH_DEVICE, .uuid = "dev", .allow_pairing = 1};
  exp_auth_machine *a = exp_auth_new(&c);
  exp_auth_out o;
  char *want = NULL;
  const char *p;

  /* No secret: the "_"/"_" pairing token. */
  exp_auth_start(a, T0, &o);
  CHECK(exp_jwt_sign("_", "device", 1, T0 / 1000, "_", &want, NULL, 0) == 0);
  CHECK(o.body != NULL && strstr(o.body, want) != NULL);
  free(want);
  p = payload(T0 + HOUR, 1);
  exp_auth_on_login(a, T0, o.seq, 0, NULL, 200, p, strlen(p), &o);
  CHECK_INT(o.actions,
            EXP_AUTH_STOP_TIMER | EXP_AUTH_EMIT_UPDATE | EXP_AUTH_START_DONE);
  CHECK(exp_auth_is_pairing(a));
  CHECK_INT(exp_auth_acquire(a), EXP_EPAIRING);
  CHECK_INT(exp_auth_on_401(a, exp_auth_gen(a), T0, &o), EXP_EPAIRING);
  exp_auth_on_timer(a, T0 + HOUR, &o);
  CHECK_INT(o.actions, 0);

  /* Paired: log in with the new credentials; calls wait for it. */
  CHECK_INT(exp_auth_set_device(a, "new-uuid", "new-secret", T0 + 5, &o), 0);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_LOGIN);
  CHECK(exp_jwt_sign("new-uuid", "device", 1, T0 / 1000, "new-secret", &want,
                     NULL, 0) == 0);
  CHECK(o.body != NULL && strstr(o.body, want) != NULL);
  free(want);
  CHECK_INT(exp_auth_acquire(a), EXP_AUTH_WAIT);
  login_ok(a, T0 + 6, o.seq, T0 + HOUR, &o);
  CHECK_INT(o.actions,
            EXP_AUTH_ARM_TIMER | EXP_AUTH_EMIT_UPDATE | EXP_AUTH_RELEASE);
  CHECK(!exp_auth_is_pairing(a));
  CHECK_INT(exp_auth_acquire(a), EXP_AUTH_GO);
  exp_auth_free(a);

  /* Rejected credentials with allow_pairing: one pairing login, then the
   * second 401 is fatal. */
  c.secret = "bad";
  a = exp_auth_new(&c);
  exp_auth_start(a, T0, &o);
  exp_auth_on_login(a, T0, o.seq, 0, NULL, 401, "", 0, &o);
  CHECK_INT(o.actions, EXP_AUTH_SEND_LOGIN);
  CHECK(exp_jwt_sign("_", "device", 1, T0 / 1000, "_", &want, NULL, 0) == 0);
  CHECK(o.body != NULL && strstr(o.body, want) != NULL);
  free(want);
  exp_auth_on_login(a, T0, o.seq, 0, NULL, 401, "", 0, &o);
  CHECK(o.actions & EXP_AUTH_EMIT_ERROR);
  CHECK_INT(o.status, EXP_EAUTH);
  exp_auth_free(a);
}

static void test_consumer_app_body(void) {
  exp_auth_credentials c = {
      .kind = EXP_AUTH_CONSUMER_APP, .uuid = "app", .api_key = "key"};
  exp_auth_machine *a = exp_auth_new(&c);
  exp_auth_out o;
  char *want = NULL;

  exp_auth_start(a, T0 + 999, &o);
  CHECK(exp_jwt_sign("app", "consumerApp", 0, T0 / 1000, "key", &want, NULL,
                     0) == 0);
  CHECK(o.body != NULL && strstr(o.body, want) != NULL);
  free(want);
  exp_auth_free(a);
}

static void expect_protocol_error(const char *body, size_t len) {
  exp_auth_machine *a = exp_auth_new(&user);
  exp_auth_out o;

  exp_auth_start(a, T0, &o);
  exp_auth_on_login(a, T0, o.seq, 0, NULL, 200, body, len, &o);
  CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_START_DONE);
  CHECK_INT(o.status, EXP_EPROTOCOL);
  CHECK(exp_auth_payload(a) == NULL);
  exp_auth_free(a);
}

static void test_malformed_payloads(void) {
  static const char *bad[] = {
      "",
      "null",
      "[]",
      "\"x\"",
      "{}",
      "{\"token\":1,\"expiration\":1,\"identity\":{\"organization\":\"o\"}}",
      "{\"token\":\"\",\"expiration\":1,\"identity\":{\"organization\":\"o\"}}",
      "{\"token\":\"t\",\"expiration\":\"1\",\"identity\":{\"organization\":"
      "\"o\"}}",
      "{\"token\":\"t\",\"expiration\":1e300,\"identity\":{\"organization\":"
      "\"o\"}}",
      "{\"token\":\"t\",\"expiration\":1}",
      "{\"token\":\"t\",\"expiration\":1,\"identity\":{}}",
      "{\"token\":\"t\",\"expiration\":1,\"identity\":[]}",
      "{\"token\":\"t\",\"expiration\":1,\"identity\":{\"organization\":\"o\","
      "\"isPairing\":\"yes\"}}",
      "{\"token\":\"t\",\"expiration\":1,\"identity\":{\"organization\":\"o\"},"
      "\"api\":\"http://x\"}",
      "{\"token\":\"t\",\"expiration\":1,\"identity\":{\"organization\":\"o\"},"
      "\"network\":{\"host\":5}}",
      "\xff\xfe garbage",
  };
  const char *good;
  size_t n;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_protocol_error(bad[i], strlen(bad[i]));
  /* Every truncation of a good payload. */
  good = payload(T0 + HOUR, 0);
  n = strlen(good);
  {
    char *copy = malloc(n);
    memcpy(copy, good, n);
    for (size_t k = 0; k < n; k++)
      expect_protocol_error(copy, k);
    free(copy);
  }
  /* The minimal payload is accepted; gateway mode has no api/network. */
  {
    exp_auth_machine *a = exp_auth_new(&user);
    exp_auth_out o;
    const char *min = "{\"token\":\"t\",\"expiration\":1,\"identity\":{"
                      "\"organization\":\"o\"}}";
    exp_auth_start(a, T0, &o);
    exp_auth_on_login(a, T0, o.seq, 0, NULL, 200, min, strlen(min), &o);
    CHECK_INT(o.status, 0);
    CHECK(exp_auth_api_host(a) == NULL);
    CHECK(exp_auth_network_host(a) == NULL);
    /* Already expired: refresh as soon as allowed, which logs in. */
    CHECK_INT(o.timer_ms, EXP_AUTH_MIN_REFRESH_MS);
    exp_auth_on_timer(a, T0 + 1000, &o);
    CHECK_INT(o.actions, EXP_AUTH_STOP_TIMER | EXP_AUTH_SEND_LOGIN);
    exp_auth_free(a);
  }
}

/* Tokens already dead on arrival: the renewals back off to the retry
 * interval instead of logging in every second, until a live one comes. */
static void test_expired_tokens_back_off(void) {
  static const uint64_t want[] = {1000,  2000,  4000,  8000,
                                  16000, 32000, 60000, 60000};
  exp_auth_out o;
  exp_auth_machine *a = exp_auth_new(&user);
  int64_t now = T0;
  size_t i;

  exp_auth_start(a, now, &o);
  for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    login_ok(a, now, o.seq, now - 5, &o); /* expired 5 ms ago */
    CHECK(o.actions & EXP_AUTH_ARM_TIMER);
    CHECK_INT(o.timer_ms, want[i]);
    now += (int64_t)o.timer_ms;
    exp_auth_on_timer(a, now, &o);
    CHECK(o.actions & EXP_AUTH_SEND_LOGIN);
  }
  login_ok(a, now, o.seq, now + HOUR, &o);
  CHECK_INT(o.timer_ms, HOUR / 2);
  exp_auth_on_timer(a, now + HOUR / 2, &o);
  CHECK(o.actions & EXP_AUTH_SEND_REFRESH);
  {
    const char *p = payload(now, 0); /* dead again: the back-off restarts */
    exp_auth_on_refresh(a, now + HOUR / 2, o.seq, 0, NULL, 200, p, strlen(p),
                        &o);
  }
  CHECK_INT(o.timer_ms, 1000);
  exp_auth_free(a);
}

int main(void) {
  RUN(test_login_schedules_refresh);
  RUN(test_expired_tokens_back_off);
  RUN(test_refresh_error_retries);
  RUN(test_refresh_401_logs_in);
  RUN(test_login_401_fatal);
  RUN(test_login_error_fails_start);
  RUN(test_many_401_one_refresh);
  RUN(test_401_storm_bounded);
  RUN(test_401_on_expired_is_no_storm);
  RUN(test_saved_payload);
  RUN(test_pairing);
  RUN(test_consumer_app_body);
  RUN(test_malformed_payloads);
  return t_done();
}
