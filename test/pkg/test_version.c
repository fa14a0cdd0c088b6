/* The version: meson.build's, in the macros and at run time in the shared
 * library. */
#include <stdio.h>

#include "exp.h"
#include "testlib.h"

static void test_version(void) {
  char s[32];

  CHECK_STR(EXP_VERSION_STRING, EXP_TEST_PROJECT_VERSION);
  CHECK_STR(exp_version_string(), EXP_TEST_PROJECT_VERSION);
  snprintf(s, sizeof s, "%u.%u.%u", exp_version() >> 16,
           (exp_version() >> 8) & 0xff, exp_version() & 0xff);
  CHECK_STR(s, EXP_TEST_PROJECT_VERSION);
  CHECK_INT(exp_version(), EXP_VERSION_NUMBER);
  CHECK_INT(EXP_VERSION_NUMBER, (EXP_VERSION_MAJOR << 16) |
                                    (EXP_VERSION_MINOR << 8) |
                                    EXP_VERSION_PATCH);
}

int main(void) {
  RUN(test_version);
  return t_done();
}
