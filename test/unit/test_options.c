/* Option storage and the checks exp_start runs, message by message. */
#include <stdlib.h>

#include "exp.h"
#include "options.h"
#include "testlib.h"

static char msg[300];

/* Runs the check, keeping its message in msg. */
static int check_with(exp_options *o, exp_auth_credentials *c) {
  msg[0] = '\0';
  return exp_options_check(o, c, msg, sizeof(msg));
}

static void set(exp_options *o, exp_option opt, const char *v) {
  char m[200];
  CHECK_INT(exp_options_set_str(o, (int)opt, v, m, sizeof(m)), 0);
}

static void expect(exp_options *o, const char *want_msg) {
  exp_auth_credentials c;
  CHECK_INT(check_with(o, &c), EXP_EOPTIONS);
  CHECK_STR(msg, want_msg);
}

static void test_set(void) {
  exp_options o;
  char m[200];

  exp_options_init(&o);
  CHECK_INT(exp_options_set_str(&o, EXP_OPT_ALLOW_PAIRING, "1", m, sizeof(m)),
            EXP_EOPTIONS);
  CHECK_STR(m, "allow_pairing: is an integer option");
  CHECK_INT(exp_options_set_int(&o, EXP_OPT_HOST, 1, m, sizeof(m)),
            EXP_EOPTIONS);
  CHECK_STR(m, "host: is a string option");
  CHECK_INT(exp_options_set_int(&o, EXP_OPT_COUNT_, 1, m, sizeof(m)),
            EXP_EOPTIONS);
  CHECK_INT(exp_options_set_str(&o, -1, "x", m, sizeof(m)), EXP_EOPTIONS);
  CHECK_STR(m, "unknown option -1");
  CHECK_STR(exp_options_host(&o), "https://api.goexp.io");
  set(&o, EXP_OPT_HOST, "http://127.0.0.1:9000//");
  CHECK_STR(exp_options_host(&o), "http://127.0.0.1:9000");
  set(&o, EXP_OPT_HOST, "");
  CHECK_STR(exp_options_host(&o), "https://api.goexp.io");
  set(&o, EXP_OPT_USERNAME, "u");
  set(&o, EXP_OPT_USERNAME, NULL);
  CHECK(o.str[EXP_OPT_USERNAME] == NULL);
  CHECK_INT(o.num[EXP_OPT_ENABLE_NETWORK], 1);
  CHECK_INT(o.num[EXP_OPT_TLS_VERIFY], 1);
  CHECK_INT(o.num[EXP_OPT_REQUEST_TIMEOUT_MS], 10000);
  exp_options_free(&o);
}

/* By key, as exp_set_options passes them: integers as decimal text. */
static void test_set_key(void) {
  exp_options o;
  exp_auth_credentials c;
  char m[200];

  exp_options_init(&o);
  CHECK_INT(exp_options_set_key(&o, "host", "http://h:1/", m, sizeof(m)), 0);
  CHECK_STR(exp_options_host(&o), "http://h:1");
  CHECK_INT(exp_options_set_key(&o, "enable_network", "0", m, sizeof(m)), 0);
  CHECK_INT(o.num[EXP_OPT_ENABLE_NETWORK], 0);
  CHECK_INT(exp_options_set_key(&o, "request_timeout_ms", "-5", m, sizeof(m)),
            0);
  CHECK_INT(o.num[EXP_OPT_REQUEST_TIMEOUT_MS], -5);
  CHECK_INT(exp_options_set_key(&o, "request_timeout_ms", "5s", m, sizeof(m)),
            EXP_EOPTIONS);
  CHECK_STR(m, "request_timeout_ms: \"5s\" is not an integer");
  CHECK_INT(exp_options_set_key(&o, "request_timeout_ms", "", m, sizeof(m)),
            EXP_EOPTIONS);
  CHECK_INT(exp_options_set_key(&o, "request_timeout_ms",
                                "99999999999999999999", m, sizeof(m)),
            EXP_EOPTIONS);
  CHECK_INT(exp_options_set_key(&o, "tls_verify", NULL, m, sizeof(m)),
            EXP_EOPTIONS);
  CHECK_INT(exp_options_set_key(&o, "timeout", "1", m, sizeof(m)),
            EXP_EOPTIONS);
  CHECK_STR(m, "unknown option \"timeout\"");
  CHECK_INT(o.num[EXP_OPT_REQUEST_TIMEOUT_MS], -5);
  /* A saved auth payload is checked for its shape at the start. */
  o.num[EXP_OPT_REQUEST_TIMEOUT_MS] = 1000;
  CHECK_INT(exp_options_set_key(&o, "uuid", "u", m, sizeof(m)), 0);
  CHECK_INT(exp_options_set_key(&o, "secret", "s", m, sizeof(m)), 0);
  CHECK_INT(exp_options_set_key(&o, "auth", "{\"token\":1}", m, sizeof(m)), 0);
  CHECK_INT(exp_options_check(&o, &c, m, sizeof(m)), EXP_EOPTIONS);
  CHECK_STR(m, "auth: bad auth payload: no token");
  CHECK_INT(exp_options_set_key(&o, "auth", "not json", m, sizeof(m)), 0);
  CHECK_INT(exp_options_check(&o, &c, m, sizeof(m)), EXP_EOPTIONS);
  CHECK_STR(m, "auth: bad auth payload: not a JSON object");
  CHECK_INT(exp_options_set_key(&o, "auth",
                                "{\"token\":\"t\",\"expiration\":1,"
                                "\"identity\":{\"organization\":\"o\"}}",
                                m, sizeof(m)),
            0);
  CHECK_INT(exp_options_check(&o, &c, m, sizeof(m)), 0);
  CHECK(c.saved != NULL);
  exp_options_free(&o);
}

static void test_credentials(void) {
  exp_options o;
  exp_auth_credentials c;
  char m[200];

  exp_options_init(&o);
  expect(&o, "no credentials: set username, password and organization "
             "(user), uuid and secret (device), uuid and api_key (consumer "
             "app), or allow_pairing");

  set(&o, EXP_OPT_UUID, "d");
  expect(&o, "secret: uuid alone is not enough: set secret (device), "
             "api_key (consumer app) or allow_pairing");

  /* User: any of the three makes it a user login. */
  set(&o, EXP_OPT_ORGANIZATION, "scala");
  expect(&o, "username: required for a user login (with password, "
             "organization)");
  set(&o, EXP_OPT_USERNAME, "u");
  expect(&o, "password: required for a user login (with username, "
             "organization)");
  set(&o, EXP_OPT_PASSWORD, "p");
  set(&o, EXP_OPT_ORGANIZATION, NULL);
  expect(&o, "organization: required for a user login (with username, "
             "password)");
  set(&o, EXP_OPT_ORGANIZATION, "scala");
  CHECK_INT(check_with(&o, &c), 0);
  CHECK_INT(c.kind, EXP_AUTH_USER);
  CHECK_STR(c.username, "u");
  exp_options_free(&o);

  /* Device. */
  exp_options_init(&o);
  set(&o, EXP_OPT_SECRET, "s");
  expect(&o, "uuid: required for a device login (with secret)");
  set(&o, EXP_OPT_UUID, "d");
  CHECK_INT(check_with(&o, &c), 0);
  CHECK_INT(c.kind, EXP_AUTH_DEVICE);
  CHECK_STR(c.secret, "s");
  CHECK_INT(c.allow_pairing, 0);
  /* A secret wins over an API key, as in the Python SDK. */
  set(&o, EXP_OPT_API_KEY, "k");
  CHECK_INT(check_with(&o, &c), 0);
  CHECK_INT(c.kind, EXP_AUTH_DEVICE);
  exp_options_free(&o);

  /* Pairing: nothing else needed. */
  exp_options_init(&o);
  CHECK_INT(exp_options_set_int(&o, EXP_OPT_ALLOW_PAIRING, 1, m, sizeof(m)), 0);
  CHECK_INT(check_with(&o, &c), 0);
  CHECK_INT(c.kind, EXP_AUTH_DEVICE);
  CHECK(c.secret == NULL);
  CHECK_INT(c.allow_pairing, 1);
  exp_options_free(&o);

  /* Consumer app. */
  exp_options_init(&o);
  set(&o, EXP_OPT_API_KEY, "k");
  expect(&o, "uuid: required for a consumer app login (with api_key)");
  set(&o, EXP_OPT_UUID, "a");
  CHECK_INT(check_with(&o, &c), 0);
  CHECK_INT(c.kind, EXP_AUTH_CONSUMER_APP);
  CHECK_STR(c.api_key, "k");
  exp_options_free(&o);
}

static void test_values(void) {
  exp_options o;
  exp_auth_credentials c;
  char m[200];

  exp_options_init(&o);
  set(&o, EXP_OPT_UUID, "d");
  set(&o, EXP_OPT_SECRET, "s");

  set(&o, EXP_OPT_HOST, "/");
  expect(&o, "host: empty");
  set(&o, EXP_OPT_HOST, "ftp://x.io");
  CHECK_INT(check_with(&o, &c), EXP_EOPTIONS);
  CHECK(strncmp(msg, "host: ", 6) == 0);
  set(&o, EXP_OPT_HOST, "api.goexp.io");
  CHECK_INT(check_with(&o, &c), EXP_EOPTIONS);
  CHECK(strncmp(msg, "host: ", 6) == 0);
  set(&o, EXP_OPT_HOST, "http://x.io/?a=1");
  expect(&o, "host: must be an origin such as https://api.goexp.io, without "
             "query or fragment");
  set(&o, EXP_OPT_HOST, "http://x.io#f");
  expect(&o, "host: must be an origin such as https://api.goexp.io, without "
             "query or fragment");
  set(&o, EXP_OPT_HOST, "https://x.io:8443/");
  CHECK_INT(check_with(&o, &c), 0);

  exp_options_set_int(&o, EXP_OPT_ENABLE_NETWORK, 2, m, sizeof(m));
  expect(&o, "enable_network: must be 0 or 1");
  exp_options_set_int(&o, EXP_OPT_ENABLE_NETWORK, 0, m, sizeof(m));
  exp_options_set_int(&o, EXP_OPT_TLS_VERIFY, -1, m, sizeof(m));
  expect(&o, "tls_verify: must be 0 or 1");
  exp_options_set_int(&o, EXP_OPT_TLS_VERIFY, 0, m, sizeof(m));
  exp_options_set_int(&o, EXP_OPT_ALLOW_PAIRING, 7, m, sizeof(m));
  expect(&o, "allow_pairing: must be 0 or 1");
  exp_options_set_int(&o, EXP_OPT_ALLOW_PAIRING, 0, m, sizeof(m));
  exp_options_set_int(&o, EXP_OPT_REQUEST_TIMEOUT_MS, 0, m, sizeof(m));
  expect(&o, "request_timeout_ms: must be between 1 and 86400000");
  exp_options_set_int(&o, EXP_OPT_REQUEST_TIMEOUT_MS, 500, m, sizeof(m));
  exp_options_set_int(&o, EXP_OPT_MAX_BODY_BYTES, -5, m, sizeof(m));
  expect(&o, "max_body_bytes: must be positive");
  exp_options_set_int(&o, EXP_OPT_MAX_BODY_BYTES, 1024, m, sizeof(m));
  CHECK_INT(check_with(&o, &c), 0);
  exp_options_free(&o);
}

int main(void) {
  RUN(test_set);
  RUN(test_set_key);
  RUN(test_credentials);
  RUN(test_values);
  return t_done();
}
