/* Resources against a server whose answers have the wrong shape
 * (peers/malformed_exp.js): a protocol error each time, never a crash or a
 * leak, and the local document untouched.
 * Usage: test_resources_malformed NODE peers/malformed_exp.js */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "refserver.h"
#include "test_resources_common.h"
#include "testlib.h"

static refserver server;
static exp_sdk *sdk;

static void test_get(void) {
  static const char *const bad[] = {"array", "string", "not-json", "empty"};
  for (size_t i = 0; i < EXP_ARRAY_SIZE(bad); i++) {
    exp_resource *r = (exp_resource *)&r;
    CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, bad[i], &r),
              EXP_EPROTOCOL);
    CHECK(r == NULL);
    CHECK_INT(exp_last_error(sdk)->code, EXP_EPROTOCOL);
    r = (exp_resource *)&r;
    CHECK_INT(exp_get_data_wait(sdk, "g", bad[i], &r), EXP_EPROTOCOL);
    CHECK(r == NULL);
  }
}

static void test_find(void) {
  static const char *const bad[] = {
      "no-results",     "results-object", "result-number", "total-string",
      "total-negative", "array",          "not-json",      "empty"};
  exp_results *rs;
  const cJSON *extra;

  for (size_t i = 0; i < EXP_ARRAY_SIZE(bad); i++) {
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "case", bad[i]);
    rs = (exp_results *)&rs;
    CHECK_INT(exp_find_resources_wait(sdk, EXP_THING, q, &rs), EXP_EPROTOCOL);
    CHECK(rs == NULL);
    rs = (exp_results *)&rs;
    CHECK_INT(exp_find_resources_wait(sdk, EXP_FEED, q, &rs), EXP_EPROTOCOL);
    CHECK(rs == NULL);
    cJSON_Delete(q);
  }

  /* Keys besides results and total are kept. */
  {
    cJSON *q = rt_json("{\"case\":\"extra\"}");
    CHECK_INT(exp_find_resources_wait(sdk, EXP_DEVICE, q, &rs), 0);
    CHECK_INT(exp_results_count(rs), 2);
    CHECK_INT(exp_results_total(rs), 9);
    extra = exp_results_extra(rs);
    CHECK_INT(cJSON_GetArraySize(extra), 2);
    CHECK_INT(cJSON_GetObjectItem(extra, "page")->valueint, 2);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(extra, "more")));
    exp_results_free(rs);
    cJSON_Delete(q);
  }
}

static void test_api_error(void) {
  exp_resource *r = (exp_resource *)&r;
  const exp_error_info *e;
  CHECK_INT(exp_get_resource_wait(sdk, EXP_EXPERIENCE, "teapot", &r), EXP_EAPI);
  CHECK(r == NULL);
  e = exp_last_error(sdk);
  CHECK_INT(e->http_status, 418);
  CHECK_STR(e->api_code, "tea.pot");
  CHECK(strstr(e->message, "I am a teapot.") != NULL);
}

static void test_zones(void) {
  exp_resource *loc = NULL, *dev = NULL;
  exp_results *rs = (exp_results *)&rs;

  CHECK_INT(exp_get_resource_wait(sdk, EXP_LOCATION, "bad-zones", &loc), 0);
  CHECK_INT(exp_location_zones(loc, &rs), EXP_EPROTOCOL);
  CHECK(rs == NULL);
  exp_resource_free(loc);
  CHECK_INT(exp_get_resource_wait(sdk, EXP_LOCATION, "bad-zone-key", &loc), 0);
  CHECK_INT(exp_location_zones(loc, &rs), EXP_EPROTOCOL);
  exp_resource_free(loc);

  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, "in-bad-location", &dev), 0);
  rs = (exp_results *)&rs;
  CHECK_INT(exp_resource_zones_wait(dev, &rs), EXP_EPROTOCOL);
  CHECK(rs == NULL);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EPROTOCOL);
  exp_resource_free(dev);
}

static void test_save(void) {
  exp_resource *r = NULL;
  cJSON *doc;
  CHECK_INT(exp_get_resource_wait(sdk, EXP_DEVICE, "savable", &r), 0);
  doc = exp_resource_document(r);
  exp_resource_set_name(r, "Changed");
  CHECK_INT(exp_resource_save_wait(r), EXP_EPROTOCOL);
  CHECK(exp_resource_document(r) == doc);
  CHECK_STR(exp_resource_name(r), "Changed");
  CHECK_STR(exp_resource_uuid(r), "savable");
  exp_resource_free(r);
}

/* A handle logged in as username, whose payload the peer spoils. */
static exp_sdk *login_as(const char *username) {
  exp_sdk *s = rt_user_on(NULL, server.origin);
  exp_set_str(s, EXP_OPT_USERNAME, username);
  CHECK_INT(exp_start_wait(s, 10000), 0);
  return s;
}

/* A token that would break the request's framing, and an API host that is
 * no origin, are the server's errors: each call fails, nothing is sent. */
static void test_bad_payload(void) {
  static const char *const bad[] = {"bad-token", "ctl-token", "bad-host",
                                    "query-host"};
  for (size_t i = 0; i < EXP_ARRAY_SIZE(bad); i++) {
    exp_sdk *s = login_as(bad[i]);
    cJSON *res = (cJSON *)&res;
    for (int n = 0; n < 2; n++) {
      CHECK_INT(exp_get_wait(s, "/api/devices/savable", NULL, &res),
                EXP_EPROTOCOL);
      CHECK(res == NULL);
      CHECK_INT(exp_last_error(s)->code, EXP_EPROTOCOL);
      CHECK(strstr(exp_last_error(s)->message, i < 2 ? "token" : "api.host") !=
            NULL);
    }
    exp_stop(s);
  }
}

/* An API host with a path: every call goes below it.  A fragment in a path
 * is not sent, the query still is. */
static void test_host_prefix(void) {
  exp_sdk *s = login_as("prefix");
  cJSON *q = rt_json("{\"a\":\"b c\"}");
  cJSON *res = NULL;
  CHECK_INT(exp_get_wait(s, "/api/devices/prefixed#frag", q, &res), 0);
  CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(res, "uuid")), "prefixed");
  CHECK_STR(cJSON_GetStringValue(
                cJSON_GetObjectItem(cJSON_GetObjectItem(res, "query"), "a")),
            "b c");
  cJSON_Delete(res);
  cJSON_Delete(q);
  exp_stop(s);
  CHECK_INT(exp_get_wait(sdk, "/api/devices/prefixed", NULL, &res),
            EXP_ENOTFOUND);
}

/* A query member without a name (added as to an array) is the caller's
 * mistake, whether or not the SDK adds filters of its own. */
static void test_nameless_query(void) {
  exp_resource *folder = NULL;
  exp_results *rs = (exp_results *)&rs;
  cJSON *q = cJSON_CreateObject();
  cJSON_AddItemToArray(q, cJSON_CreateString("x"));
  CHECK_INT(exp_find_resources_wait(sdk, EXP_CONTENT, q, &rs), EXP_EOPTIONS);
  CHECK(rs == NULL);
  CHECK_INT(exp_get_resource_wait(sdk, EXP_CONTENT, "savable", &folder), 0);
  rs = (exp_results *)&rs;
  CHECK_INT(exp_content_children_wait(folder, q, &rs), EXP_EOPTIONS);
  CHECK(rs == NULL);
  CHECK_INT(exp_last_error(sdk)->code, EXP_EOPTIONS);
  exp_resource_free(folder);
  cJSON_Delete(q);
}

/* Every log line, joined, to look for credentials in. */
static char logged[8192];

static void on_log(exp_log_level level, const char *msg, void *ud) {
  size_t n = strlen(logged);
  EXP_UNUSED(level);
  EXP_UNUSED(ud);
  snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

/* A server whose error messages repeat the password or the token: the log
 * withholds them (exp.h: a log message never carries a credential). */
static void test_log_withholds_credentials(void) {
  exp_sdk *s = rt_user_on(NULL, server.origin);
  int status = 0;

  logged[0] = '\0';
  exp_set_str(s, EXP_OPT_USERNAME, "echo-401");
  exp_set_log(s, EXP_LOG_DEBUG, on_log, NULL);
  CHECK_INT(exp_start_wait(s, 10000), EXP_EAUTH);
  exp_stop(s);
  CHECK(logged[0] != '\0');
  CHECK(strstr(logged, "test-Password1") == NULL);

  /* The token lives 2 s: its refresh is due after 1 s, and fails. */
  logged[0] = '\0';
  s = login_as("echo");
  exp_set_log(s, EXP_LOG_DEBUG, on_log, NULL);
  for (int i = 0; i < 40 && strstr(logged, "retrying") == NULL; i++)
    status = exp_sleep(s, 100);
  CHECK_INT(status, 0);
  CHECK(strstr(logged, "retrying") != NULL);
  CHECK(strstr(logged, "echo-token") == NULL);
  exp_stop(s);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s NODE PEER_JS\n", argv[0]);
    return 2;
  }
  if (refserver_start(&server, argv[1], argv[2], NULL) != 0)
    return 1;
  sdk = rt_user(server.origin);
  if (sdk == NULL) {
    refserver_stop(&server);
    return 1;
  }
  RUN(test_get);
  RUN(test_find);
  RUN(test_api_error);
  RUN(test_zones);
  RUN(test_save);
  RUN(test_bad_payload);
  RUN(test_host_prefix);
  RUN(test_log_withholds_credentials);
  RUN(test_nameless_query);
  exp_stop(sdk);
  refserver_stop(&server);
  return t_done();
}
