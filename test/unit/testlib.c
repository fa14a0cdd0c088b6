#include "testlib.h"

int t_failures;
int t_checks;

int t_done(void) {
  printf("%d checks, %d failed\n", t_checks, t_failures);
  return t_failures == 0 ? 0 : 1;
}
