/* Loading libmbedtls with the first TLS configuration (lib/tls_lib.c).
 * Built twice: unit_test_tls_lib loads the real library, which it does not
 * link; unit_test_tls_lib_missing is built with EXP_TLS_LIB_SONAME naming
 * a library that does not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exp.h"
#include "fail_alloc.h"
#include "testlib.h"
#include "tls.h"
#include "tls_lib.h"

static int err;
static char msg[200];

static exp_tls_config *config(int verify) {
  memset(msg, 0, sizeof(msg));
  err = -1;
  return exp_tls_config_new(NULL, verify, &err, msg, sizeof(msg));
}

#ifdef TEST_MISSING

/* A clear EXP_ETLS naming the library, every time (nothing is kept of a
 * failure), whatever the options. */
static void test_missing(void) {
  for (int i = 0; i < 2; i++) {
    CHECK(config(i) == NULL);
    CHECK_INT(err, EXP_ETLS);
    CHECK(strstr(msg, "loading the TLS library") != NULL);
    CHECK(strstr(msg, EXP_TLS_LIB_SONAME) != NULL);
  }
  CHECK(exp_tls_config_new(NULL, 1, &err, NULL, 0) == NULL);
  CHECK_INT(err, EXP_ETLS);
  printf("  %s\n", msg);
}

/* Through the SDK: the login over https:// fails with that message, before
 * any connection. */
static void test_missing_sdk(void) {
  exp_sdk *sdk = exp_new(NULL);
  CHECK(sdk != NULL);
  exp_set_log(sdk, EXP_LOG_ERROR, NULL, NULL);
  CHECK_INT(exp_set_options(sdk, "host", "https://127.0.0.1:9", "uuid", "u",
                            "secret", "s", "enable_network", "0", NULL),
            0);
  CHECK_INT(exp_start_wait(sdk, 10000), EXP_ETLS);
  CHECK(strstr(exp_last_error(sdk)->message, EXP_TLS_LIB_SONAME) != NULL);
  exp_stop(sdk);
}

/* Each allocation failing in turn: EXP_ENOMEM, or the library's absence,
 * never a crash. */
static void test_missing_oom(void) {
  long n;
  for (n = 1;; n++) {
    exp_tls_config *c;
    fail_alloc_arm(n);
    c = config(1);
    fail_alloc_disarm();
    CHECK(c == NULL);
    CHECK(err == EXP_ENOMEM ||
          (err == EXP_ETLS && strstr(msg, EXP_TLS_LIB_SONAME) != NULL));
    if (!fail_alloc_failed())
      break;
  }
  CHECK(n > 1);
}

#else

/* Allocation n failing in a child's first configuration: 0 when it was
 * made anyway, 1 for EXP_ENOMEM, 2 when there was no allocation n, 3 for
 * anything else. */
static int first_config(long n) {
  pid_t pid = fork();
  int status;
  if (pid == 0) {
    exp_tls_config *c;
    fail_alloc_arm(n);
    c = config(0);
    fail_alloc_disarm();
    if (c == NULL && err != EXP_ENOMEM)
      fprintf(stderr, "allocation %ld failing: %s\n", n, msg);
    _exit(!fail_alloc_failed() ? 2 : c != NULL ? 0 : err == EXP_ENOMEM ? 1 : 3);
  }
  CHECK(pid > 0);
  if (pid <= 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return 3;
  return WEXITSTATUS(status);
}

/* Each allocation of the first configuration failing in turn, dlopen's
 * among them, each in a process of its own (a loaded library stays):
 * EXP_ENOMEM or a configuration, never a crash or another error. */
static void test_load_oom(void) {
  long n, nomem = 0;
  int r;
  for (n = 1; (r = first_config(n)) != 2; n++) {
    CHECK(r == 0 || r == 1);
    nomem += r == 1;
    if (r == 3)
      break;
  }
  CHECK(nomem > 0);
}

/* Loaded once, every configuration after the first reuses it. */
static void test_load(void) {
  for (int i = 0; i < 2; i++) {
    exp_tls_config *c = config(0);
    CHECK(c != NULL);
    CHECK_INT(err, 0);
    exp_tls_config_free(c);
  }
  CHECK(mbedtls_ssl_handshake != NULL); /* the table, filled */
}

#endif

int main(void) {
#ifdef TEST_MISSING
  RUN(test_missing);
  RUN(test_missing_sdk);
  if (fail_alloc_active())
    RUN(test_missing_oom);
#else
  if (fail_alloc_active())
    RUN(test_load_oom);
  RUN(test_load);
#endif
  return t_done();
}
