/* test_recent.c: the window of recent broadcast ids. */
#include <stdio.h>

#include "recent.h"
#include "testlib.h"

static void test_window(void) {
  static exp_recent r;
  char id[32];
  CHECK(!exp_recent_seen(&r, "a"));
  CHECK(exp_recent_seen(&r, "a"));
  CHECK(!exp_recent_seen(&r, "b"));
  CHECK(!exp_recent_seen(&r, ""));
  CHECK(exp_recent_seen(&r, ""));
  /* Filled past its size, the oldest ids drop out. */
  for (int i = 0; i < EXP_RECENT_SIZE; i++) {
    snprintf(id, sizeof(id), "id-%d", i);
    CHECK(!exp_recent_seen(&r, id));
  }
  CHECK_INT(r.count, EXP_RECENT_SIZE);
  CHECK(!exp_recent_seen(&r, "a"));
  snprintf(id, sizeof(id), "id-%d", EXP_RECENT_SIZE - 1);
  CHECK(exp_recent_seen(&r, id));
}

int main(void) {
  RUN(test_window);
  return t_done();
}
