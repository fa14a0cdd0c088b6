/*
 * test_oom_new.c: exp_new(NULL) with each of its allocations failing in
 * turn, each run in a child process of its own.  libuv's uv_loop_init
 * calls abort() when some of its allocations fail (the header says so, and
 * that a program that must survive it passes its own loop): a run may end
 * in SIGABRT only when the failed allocation was one of uv_loop_init's.
 * Every other run returns NULL with every block freed, or a handle that
 * exp_stop frees whole; no run ends by any other signal.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "count_alloc.h"
#include "exp.h"
#include "fail_alloc.h"
#include "testlib.h"

enum { MADE = 10, RETURNED_NULL = 11, LEAKED = 12 };

/* What a child ends with: an exit code above, or a signal number + 256. */
static int wait_child(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid)
    return -1;
  if (WIFSIGNALED(st))
    return 256 + WTERMSIG(st);
  return WEXITSTATUS(st);
}

/* How many allocations fn makes in a fresh child (fn's exit code is the
 * count's low byte; the pipe carries it whole). */
static long count_in_child(void (*fn)(void)) {
  int fd[2];
  long n = -1;
  pid_t pid;
  if (pipe(fd) != 0)
    return -1;
  pid = fork();
  if (pid == 0) {
    long got;
    close(fd[0]);
    fail_alloc_arm(0);
    fn();
    got = fail_alloc_disarm();
    if (write(fd[1], &got, sizeof(got)) != (ssize_t)sizeof(got))
      _exit(1);
    _exit(0);
  }
  close(fd[1]);
  if (read(fd[0], &n, sizeof(n)) != (ssize_t)sizeof(n))
    n = -1;
  close(fd[0]);
  if (wait_child(pid) != 0)
    n = -1;
  return n;
}

static void just_loop(void) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) == 0)
    uv_loop_close(&loop);
}

static void just_new(void) {
  exp_stop(exp_new(NULL));
}

/* The child of run n. */
static void child(long n) {
  exp_sdk *sdk;
  fail_alloc_arm(n);
  sdk = exp_new(NULL);
  fail_alloc_disarm();
  if (sdk == NULL)
    _exit(count_alloc_blocks() == 0 ? RETURNED_NULL : LEAKED);
  exp_stop(sdk);
  _exit(count_alloc_blocks() == 0 ? MADE : LEAKED);
}

static void test_new_sweep(void) {
  long total = count_in_child(just_new), in_loop = count_in_child(just_loop);
  int made = 0, null = 0, aborted = 0;
  CHECK(total > 0 && in_loop > 0 && in_loop < total);
  for (long n = 1; n <= total; n++) {
    pid_t pid = fork();
    int end;
    if (pid == 0)
      child(n);
    end = wait_child(pid);
    if (end == MADE) {
      made++;
    } else if (end == RETURNED_NULL) {
      null++;
    } else if (end == 256 + SIGABRT && n >= 2 && n <= 1 + in_loop) {
      /* The handle comes first, then uv_loop_init's allocations. */
      aborted++;
    } else {
      fprintf(stderr, "N=%ld: the child ended with %s %d\n", n,
              end > 256 ? "signal" : "code", end > 256 ? end - 256 : end);
      CHECK(!"exp_new(NULL) failed other than cleanly");
    }
  }
  printf("# exp_new(NULL): %ld allocations (%ld in uv_loop_init): %d returned "
         "NULL, %d made a handle anyway, %d aborted in uv_loop_init\n",
         total, in_loop, null, made, aborted);
  CHECK(null > 0);
}

int main(void) {
  if (!fail_alloc_active()) {
    printf("SKIP: the allocator is not fail_alloc.c's (valgrind?)\n");
    return 77;
  }
  CHECK_INT(
      exp_set_allocator(count_malloc, count_realloc, count_calloc, count_free),
      0);
  RUN(test_new_sweep);
  return t_done();
}
