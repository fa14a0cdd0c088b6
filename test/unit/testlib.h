/* testlib.h: a minimal test harness: checks that report and count. */
#ifndef EXP_TESTLIB_H
#define EXP_TESTLIB_H

#include <stdio.h>
#include <string.h>

extern int t_failures;
extern int t_checks;

#define CHECK(cond)                                                            \
  do {                                                                         \
    t_checks++;                                                                \
    if (!(cond)) {                                                             \
      t_failures++;                                                            \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,        \
              #cond);                                                          \
    }                                                                          \
  } while (0)

#define CHECK_INT(a, b)                                                        \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    t_checks++;                                                                \
    if (a_ != b_) {                                                            \
      t_failures++;                                                            \
      fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,    \
              __LINE__, #a, a_, #b, b_);                                       \
    }                                                                          \
  } while (0)

#define CHECK_STR(a, b)                                                        \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    t_checks++;                                                                \
    if (a_ == NULL || b_ == NULL ? a_ != b_ : strcmp(a_, b_) != 0) {           \
      t_failures++;                                                            \
      fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,      \
              __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");           \
    }                                                                          \
  } while (0)

/* Runs a test function and prints its name. */
#define RUN(fn)                                                                \
  do {                                                                         \
    int before_ = t_failures;                                                  \
    fn();                                                                      \
    printf("%s %s\n", t_failures == before_ ? "ok" : "FAIL", #fn);             \
  } while (0)

/* Prints the tally; the value to return from main. */
int t_done(void);

#endif
