/*
 * EXP_OPT_HOSTS against two reference servers sharing one SQLite file (so
 * a token of one is good on the other): the login skips an origin that
 * refuses connections, REST and the socket move to the next origin when
 * theirs goes away, and everything comes back to the first once it answers
 * again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "refserver.h"
#include "sdk.h"
#include "testlib.h"

static const char *node_bin, *main_js;
static const char *extra[] = {"--db", NULL, NULL}; /* the shared file */
static refserver a, b;                             /* both on it */
static char lines[32768]; /* the current test's log from INFO up */

static void on_log(exp_log_level level, const char *msg, void *ud) {
  size_t n = strlen(lines);
  EXP_UNUSED(ud);
  if (level >= EXP_LOG_INFO && n + strlen(msg) + 2 < sizeof(lines))
    snprintf(lines + n, sizeof(lines) - n, "%s\n", msg);
  if (getenv("EXP_TEST_VERBOSE") != NULL)
    fprintf(stderr, "  log: %s\n", msg);
}

static void on_event(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  EXP_UNUSED(sdk);
  EXP_UNUSED(ev);
  EXP_UNUSED(data);
  (*(int *)ud)++;
}

/* A loopback port nobody listens on. */
static int dead_port(void) {
  uv_loop_t loop;
  uv_tcp_t t;
  struct sockaddr_in a;
  struct sockaddr_storage got;
  int len = sizeof(got), port = 0;

  uv_loop_init(&loop);
  uv_tcp_init(&loop, &t);
  uv_ip4_addr("127.0.0.1", 0, &a);
  if (uv_tcp_bind(&t, (const struct sockaddr *)&a, 0) == 0 &&
      uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len) == 0)
    port = ntohs(((struct sockaddr_in *)&got)->sin_port);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return port;
}

static exp_sdk *make(const char *hosts, int network) {
  exp_sdk *sdk = exp_new(NULL);
  lines[0] = '\0';
  exp_set_log(sdk, EXP_LOG_INFO, on_log, NULL);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOSTS, hosts), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_HOSTS_RETRY_MS, 500), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_RECONNECT_MIN_MS, 50), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_RECONNECT_MAX_MS, 200), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, network), 0);
  refserver_credentials(sdk, USER);
  return sdk;
}

/* Runs the handle until cond holds, for at most ms. */
#define UNTIL(sdk, cond, ms)                                                   \
  do {                                                                         \
    for (int waited_ = 0; !(cond) && waited_ < (ms); waited_ += 20)            \
      exp_sleep(sdk, 20);                                                      \
    CHECK(cond);                                                               \
  } while (0)

static int get_device(exp_sdk *sdk) {
  cJSON *doc = NULL;
  int r = exp_get_wait(sdk, "/api/devices/test-uuid", NULL, &doc);
  cJSON_Delete(doc);
  return r;
}

static int post_data(exp_sdk *sdk) {
  cJSON *body = cJSON_CreateObject(), *doc = NULL;
  int r;
  cJSON_AddNumberToObject(body, "n", 1);
  r = exp_post_wait(sdk, "/api/data/hosts/k", NULL, body, &doc);
  cJSON_Delete(body);
  cJSON_Delete(doc);
  return r;
}

/* The first origin refuses connections: the login goes on to the second at
 * once, and so do the calls after it. */
static void test_login(void) {
  char hosts[300];
  exp_sdk *sdk;

  snprintf(hosts, sizeof(hosts), "http://127.0.0.1:%d, %s", dead_port(),
           a.origin);
  sdk = make(hosts, 0);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  CHECK_INT((int)sdk->hosts.current, 1);
  CHECK_INT(get_device(sdk), 0);
  CHECK(strstr(lines, "unreachable (connecting to 127.0.0.1 port ") != NULL);
  exp_stop(sdk);
}

static void test_options(void) {
  exp_sdk *sdk = exp_new(NULL);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOSTS, "http://a:1,http://b:2"), 0);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, "http://a:1"), 0);
  refserver_credentials(sdk, USER);
  CHECK_INT(exp_start_wait(sdk, 1000), EXP_EOPTIONS);
  CHECK_STR(exp_last_error(sdk)->message,
            "hosts: set either host or hosts, not both");
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, NULL), 0);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOSTS, "http://a:1 mailto:x"), 0);
  CHECK_INT(exp_start_wait(sdk, 1000), EXP_EOPTIONS);
  CHECK(strncmp(exp_last_error(sdk)->message, "hosts: mailto:x: ", 17) == 0);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOSTS, "http://a:1"), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_HOSTS_RETRY_MS, 0), 0);
  CHECK_INT(exp_start_wait(sdk, 1000), EXP_EOPTIONS);
  CHECK_STR(exp_last_error(sdk)->message,
            "hosts_retry_ms: must be between 1 and 86400000");
  exp_stop(sdk);
}

/* Origins going away and coming back under a running handle. */
static void test_failover(void) {
  char hosts[300];
  int offline = 0, online = 0, port_a = a.port, port_b = b.port;
  exp_sdk *sdk;

  snprintf(hosts, sizeof(hosts), "%s,%s", a.origin, b.origin);
  sdk = make(hosts, 1);
  exp_on(sdk, EXP_EVENT_OFFLINE, on_event, &offline);
  exp_on(sdk, EXP_EVENT_ONLINE, on_event, &online);
  CHECK_INT(exp_start_wait(sdk, 10000), 0);
  CHECK(exp_is_connected(sdk));

  /* A goes: a POST that finds it gone fails (it is not sent twice), the
   * next goes to B, and the socket follows. */
  refserver_stop(&a);
  CHECK_INT(post_data(sdk), EXP_ENETWORK);
  CHECK_INT((int)sdk->hosts.current, 1);
  CHECK_INT(post_data(sdk), 0);
  UNTIL(sdk, offline == 1 && online == 2, 10000);

  /* A is back and the retry time passed: REST calls stay on B until a
   * probe (here the socket's next session) reaches A. */
  CHECK_INT(refserver_start_on(&a, node_bin, main_js, extra, port_a), 0);
  exp_sleep(sdk, 600);
  CHECK_INT(get_device(sdk), 0);
  CHECK_INT((int)sdk->hosts.current, 1);
  refserver_stop(&b);
  UNTIL(sdk, online == 3 && sdk->hosts.current == 0, 10000);
  CHECK(strstr(lines, " answers again: using it") != NULL);
  CHECK_INT(get_device(sdk), 0);

  /* A goes again with B back: a GET is sent to B within the same call. */
  CHECK_INT(refserver_start_on(&b, node_bin, main_js, extra, port_b), 0);
  refserver_stop(&a);
  CHECK_INT(get_device(sdk), 0);
  CHECK_INT((int)sdk->hosts.current, 1);
  UNTIL(sdk, online == 4, 10000);
  exp_stop(sdk);
  CHECK_INT(refserver_start_on(&a, node_bin, main_js, extra, port_a), 0);
}

int main(int argc, char **argv) {
  char dir[64] = "/tmp/exp-hosts-XXXXXX", db[128], path[160];
  static const char *const suffixes[] = {"", "-wal", "-shm"};

  if (argc < 3) {
    fprintf(stderr, "usage: %s NODE MAIN_JS\n", argv[0]);
    return 2;
  }
  node_bin = argv[1];
  main_js = argv[2];
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(db, sizeof(db), "%s/exp.db", dir);
  extra[1] = db;
  /* One after the other: the first seeds the file. */
  if (refserver_start(&a, node_bin, main_js, extra) != 0 ||
      refserver_start(&b, node_bin, main_js, extra) != 0) {
    fprintf(stderr, "the servers did not start\n");
    return 1;
  }
  RUN(test_options);
  RUN(test_login);
  RUN(test_failover);
  refserver_stop(&a);
  refserver_stop(&b);
  for (size_t i = 0; i < EXP_ARRAY_SIZE(suffixes); i++) {
    snprintf(path, sizeof(path), "%s%s", db, suffixes[i]);
    unlink(path);
  }
  rmdir(dir);
  return t_done();
}
