/* What the log tells a person debugging: a DEBUG line for every REST call
 * (method, path, status, time), refresh, subscribe and acknowledgement, the
 * reason of every reconnect, INFO for login, online and offline; and in no
 * line a password, secret, API key, token or query (issue 11 item 6). */
#include <stdio.h>
#include <string.h>

#include "exp.h"
#include "refserver.h"
#include "testlib.h"

static const char *node_bin, *main_js;
static char lines[1 << 18];
static size_t lines_len;
static char token[2048]; /* the current token, which no line may hold */

static void on_log(exp_log_level level, const char *msg, void *ud) {
  static const char *const names[] = {"debug", "info", "warn", "error"};
  int n;
  (void)ud;
  CHECK(strstr(msg, "test-Password1") == NULL);
  CHECK(strstr(msg, "test-secret") == NULL);
  CHECK(strstr(msg, "test-api-key") == NULL);
  CHECK(strstr(msg, "eyJ") == NULL); /* any JWT */
  CHECK(token[0] == '\0' || strstr(msg, token) == NULL);
  CHECK(strstr(msg, "not-for-the-log") == NULL);
  n = snprintf(lines + lines_len, sizeof(lines) - lines_len, "%s: %s\n",
               names[level], msg);
  if (n > 0 && (size_t)n < sizeof(lines) - lines_len)
    lines_len += (size_t)n;
}

static void reset_lines(void) {
  lines[0] = '\0';
  lines_len = 0;
  token[0] = '\0';
}

static void keep_token(const exp_sdk *sdk) {
  const char *t =
      cJSON_GetStringValue(cJSON_GetObjectItem(exp_auth(sdk), "token"));
  snprintf(token, sizeof(token), "%s", t != NULL ? t : "");
}

/* Whether the lines logged since offset from have s. */
static int has_since(size_t from, const char *s) {
  if (strstr(lines + from, s) != NULL)
    return 1;
  fprintf(stderr, "no log line has \"%s\"\n", s);
  return 0;
}

static int has(const char *s) {
  return has_since(0, s);
}

/* Runs the handle's loop until the lines since from have s, for at most
 * tries * 200 ms. */
static int sleep_until(exp_sdk *sdk, size_t from, const char *s, int tries) {
  while (strstr(lines + from, s) == NULL && tries-- > 0)
    if (exp_sleep(sdk, 200) != 0)
      return 0;
  return has_since(from, s);
}

static exp_sdk *make(const refserver *s, cred c, int network) {
  exp_sdk *sdk = exp_new(NULL);
  CHECK(sdk != NULL);
  exp_set_log(sdk, EXP_LOG_DEBUG, on_log, NULL);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, s->origin), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, network), 0);
  refserver_credentials(sdk, c);
  return sdk;
}

/* A user online: login, REST, subscribe and acknowledgement, refreshes of
 * 4 s tokens, and a reconnect after the server revoked the tokens. */
static void test_user_session(void) {
  const char *extra[] = {"--token-ttl", "4", NULL};
  refserver s;
  exp_sdk *sdk;
  exp_channel *ch;
  exp_listener *l = NULL;
  cJSON *query, *res = NULL;
  size_t from;
  int tries;

  reset_lines();
  if (refserver_start(&s, node_bin, main_js, extra) != 0) {
    CHECK(!"server");
    return;
  }
  sdk = make(&s, USER, 1);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  keep_token(sdk);
  CHECK(has("debug: REST POST /api/auth/login: 200 in "));
  CHECK(has("info: authenticated as user test@goexp.io in organization scala"));
  CHECK(has("info: online"));

  query = cJSON_CreateObject();
  cJSON_AddStringToObject(query, "name", "not-for-the-log");
  CHECK_INT(exp_get_wait(sdk, "/api/devices", query, &res), 0);
  cJSON_Delete(res);
  cJSON_Delete(query);
  CHECK(has("debug: REST GET /api/devices: 200 in "));
  CHECK_INT(exp_get_wait(sdk, "/api/devices/nobody", NULL, &res),
            EXP_ENOTFOUND);
  CHECK(has("debug: REST GET /api/devices/nobody: 404 in "));

  ch = exp_get_channel(sdk, "logging", 0);
  CHECK(ch != NULL);
  CHECK_INT(exp_listen_wait(ch, "hello", NULL, NULL, NULL, &l), 0);
  CHECK(has("debug: subscribing channel "));
  CHECK(has(" subscribed\n"));

  CHECK(sleep_until(sdk, 0, "debug: REST POST /api/auth/token: 200 in ", 100));
  CHECK(sleep_until(sdk, 0, "debug: token refreshed, valid for ", 50));
  keep_token(sdk);

  /* The socket is dropped, refused with the revoked token, and back after
   * a login; the channel is subscribed again on the new socket. */
  from = lines_len;
  CHECK_INT(refserver_post(&s, "/_test/revoke?disconnect=1"), 200);
  CHECK(sleep_until(sdk, from, "info: offline", 100));
  CHECK(sleep_until(sdk, from, "; reconnecting in ", 50));
  for (tries = 0; tries < 100 && !exp_is_connected(sdk); tries++)
    CHECK_INT(exp_sleep(sdk, 200), 0);
  CHECK(exp_is_connected(sdk));
  keep_token(sdk);
  CHECK(has_since(from, "info: authenticated as user test@goexp.io"));
  CHECK(sleep_until(sdk, from, "debug: subscribing 1 channel(s) again", 50));
  CHECK(sleep_until(sdk, from, " subscribed\n", 50));

  exp_listener_cancel(l);
  exp_channel_free(ch);
  exp_stop(sdk);
  refserver_stop(&s);
}

/* A device's and a consumer app's login and calls, without the network:
 * their secret and API key stay out of the log too. */
static void test_other_credentials(void) {
  static const cred creds[] = {DEVICE, CONSUMER};
  refserver s;

  reset_lines();
  if (refserver_start(&s, node_bin, main_js, NULL) != 0) {
    CHECK(!"server");
    return;
  }
  for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
    exp_sdk *sdk = make(&s, creds[i], 0);
    cJSON *res = NULL;
    CHECK_INT(exp_start_wait(sdk, 10000), 0);
    keep_token(sdk);
    CHECK_INT(exp_get_wait(sdk, "/api/devices/test-uuid", NULL, &res), 0);
    cJSON_Delete(res);
    exp_stop(sdk);
  }
  CHECK(has("info: authenticated as device test-uuid in organization scala"));
  CHECK(has("info: authenticated as consumerApp test-uuid"));
  CHECK(has("debug: REST GET /api/devices/test-uuid: 200 in "));
  refserver_stop(&s);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s NODE MAIN_JS\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  node_bin = argv[1];
  main_js = argv[2];
  RUN(test_user_session);
  RUN(test_other_credentials);
  if (t_failures > 0)
    fputs(lines, stderr);
  return t_done();
}
