/* The origins of EXP_OPT_HOSTS: parsing, and failover in order with the
 * return to the first. */
#include "exp.h"
#include "hosts.h"
#include "testlib.h"

static char msg[300];

static void test_parse(void) {
  exp_hosts h;

  CHECK_INT(exp_hosts_init(&h, "http://a:1//", NULL, 1000, msg, sizeof(msg)),
            0);
  CHECK_INT((int)h.count, 1);
  CHECK_STR(h.list[0], "http://a:1");
  exp_hosts_free(&h);

  CHECK_INT(
      exp_hosts_init(&h, "ignored",
                     " http://a:1/, https://b.example:8443\thttp://[::1]:9"
                     ",,",
                     1000, msg, sizeof(msg)),
      0);
  CHECK_INT((int)h.count, 3);
  CHECK_STR(h.list[0], "http://a:1");
  CHECK_STR(h.list[1], "https://b.example:8443");
  CHECK_STR(h.list[2], "http://[::1]:9");
  exp_hosts_free(&h);

  CHECK_INT(exp_hosts_init(&h, NULL, " , ", 1000, msg, sizeof(msg)),
            EXP_EOPTIONS);
  CHECK_STR(msg, "hosts: no origin in the list");
  CHECK_INT(
      exp_hosts_init(&h, NULL, "http://a:1,ftp://b", 1000, msg, sizeof(msg)),
      EXP_EOPTIONS);
  CHECK(strncmp(msg, "hosts: ftp://b: ", 16) == 0);
  CHECK_INT(
      exp_hosts_init(&h, NULL, "http://a:1/x?y=1", 1000, msg, sizeof(msg)),
      EXP_EOPTIONS);
  CHECK_STR(msg, "hosts: http://a:1/x?y=1: must be an origin such as "
                 "https://api.goexp.io, without query or fragment");
  CHECK_INT(exp_hosts_init(&h, NULL,
                           "http://h:1 http://h:2 http://h:3 http://h:4 "
                           "http://h:5 http://h:6 http://h:7 http://h:8 "
                           "http://h:9 http://h:10 http://h:11 http://h:12 "
                           "http://h:13 http://h:14 http://h:15 http://h:16 "
                           "http://h:17",
                           1000, msg, sizeof(msg)),
            EXP_EOPTIONS);
  CHECK_STR(msg, "hosts: more than 16 origins");
}

static void test_one(void) {
  exp_hosts h;
  size_t i = 9;

  CHECK_INT(exp_hosts_init(&h, "http://a:1", NULL, 1000, msg, sizeof(msg)), 0);
  CHECK_STR(exp_hosts_pick(&h, 0, NULL, 1, &i), "http://a:1");
  CHECK_INT((int)i, 0);
  /* One origin: the payload's host is used and a failure moves nothing. */
  CHECK_STR(exp_hosts_pick(&h, 0, "http://p:2", 0, &i), "http://p:2");
  CHECK_INT(exp_hosts_failed(&h, 0, 5), 0);
  CHECK_STR(exp_hosts_pick(&h, 10, NULL, 0, &i), "http://a:1");
  CHECK_INT(exp_hosts_reached(&h, 0), 0);
  exp_hosts_free(&h);
}

static void test_failover(void) {
  exp_hosts h;
  size_t i, j;

  CHECK_INT(exp_hosts_init(&h, NULL, "http://a:1,http://b:2,http://c:3", 1000,
                           msg, sizeof(msg)),
            0);
  /* Several origins: the payload's host is ignored. */
  CHECK_STR(exp_hosts_pick(&h, 0, "http://p:2", 0, &i), "http://a:1");
  /* Two connections to a fail: the origin moves on once. */
  j = i;
  CHECK_INT(exp_hosts_failed(&h, i, 100), 1);
  CHECK_INT(exp_hosts_failed(&h, j, 101), 0);
  CHECK_STR(exp_hosts_pick(&h, 200, NULL, 1, &i), "http://b:2");
  CHECK_INT((int)i, 1);
  CHECK_INT(exp_hosts_failed(&h, i, 300), 1);
  CHECK_STR(exp_hosts_pick(&h, 400, NULL, 1, &i), "http://c:3");
  /* Once retry_first_ms passed since leaving it, probes try the first;
   * the others stay. */
  CHECK_STR(exp_hosts_pick(&h, 1099, NULL, 1, &i), "http://c:3");
  CHECK_STR(exp_hosts_pick(&h, 1100, NULL, 0, &i), "http://c:3");
  CHECK_STR(exp_hosts_pick(&h, 1100, NULL, 1, &i), "http://a:1");
  CHECK_INT((int)i, 0);
  /* Still down: the wait starts again, and nothing else moves. */
  CHECK_INT(exp_hosts_failed(&h, i, 1200), 0);
  CHECK_STR(exp_hosts_pick(&h, 2199, NULL, 1, &i), "http://c:3");
  CHECK_STR(exp_hosts_pick(&h, 2200, NULL, 1, &i), "http://a:1");
  /* Up again: everything goes back. */
  CHECK_INT(exp_hosts_reached(&h, i), 1);
  CHECK_INT(exp_hosts_reached(&h, i), 0);
  CHECK_STR(exp_hosts_pick(&h, 2300, NULL, 0, &i), "http://a:1");
  /* Wrapping around: a, b and c fail in turn. */
  CHECK_INT(exp_hosts_failed(&h, 0, 3000), 1);
  CHECK_INT(exp_hosts_failed(&h, 1, 3000), 1);
  CHECK_INT(exp_hosts_reached(&h, 2), 0);
  CHECK_INT(exp_hosts_failed(&h, 2, 3000), 1);
  CHECK_STR(exp_hosts_pick(&h, 3000, NULL, 0, &i), "http://a:1");
  exp_hosts_free(&h);
}

int main(void) {
  RUN(test_parse);
  RUN(test_one);
  RUN(test_failover);
  return t_done();
}
