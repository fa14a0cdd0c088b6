/* The error list: every code has a distinct name and message. */
#include <stdio.h>

#include "exp.h"
#include "testlib.h"

static void test_names(void) {
  static const int codes[] = {
#define XX(name, value, msg) EXP_E##name,
      EXP_ERRNO_MAP(XX)
#undef XX
  };
  size_t n = sizeof(codes) / sizeof(codes[0]);
  CHECK_STR(exp_err_name(EXP_ETIMEOUT), "EXP_ETIMEOUT");
  CHECK_STR(exp_strerror(EXP_ETIMEOUT), "timed out");
  CHECK_STR(exp_err_name(EXP_OK), "EXP_OK");
  CHECK_STR(exp_err_name(12345), "EXP_EUNKNOWN");
  CHECK_STR(exp_strerror(-9999), "unknown error");
  for (size_t i = 0; i < n; i++) {
    CHECK(codes[i] < 0);
    for (size_t j = i + 1; j < n; j++) {
      CHECK(codes[i] != codes[j]);
      CHECK(strcmp(exp_err_name(codes[i]), exp_err_name(codes[j])) != 0);
    }
  }
}

int main(void) {
  RUN(test_names);
  return t_done();
}
