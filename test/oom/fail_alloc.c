/* fail_alloc.c: see fail_alloc.h. */
#define _GNU_SOURCE
#include "fail_alloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdint.h>
#include <string.h>

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);

/* What dlsym allocates while the next functions are being looked up. */
static _Alignas(max_align_t) unsigned char boot[4096];
static size_t boot_used;
static int resolving;

/* Plain statics, not thread-local ones: a sanitizer's start-up allocates
 * before the program's thread-local storage can be used.  Other threads
 * read them, but only the arming thread changes them or counts. */
static volatile int armed;
static pthread_t armer;
static int trace; /* FAIL_ALLOC_TRACE set: print where the failure is */
static long count, fail_at, failed;

static void *boot_alloc(size_t n) {
  void *p;
  n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
  if (n > sizeof(boot) - boot_used)
    return NULL;
  p = boot + boot_used;
  boot_used += n;
  return p;
}

static int is_boot(const void *p) {
  return (const unsigned char *)p >= boot &&
         (const unsigned char *)p < boot + sizeof(boot);
}

static void resolve(void) {
  if (next_free != NULL)
    return;
  resolving = 1;
  next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
  next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
  next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
  next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
  resolving = 0;
}

/* Apart, so that the allocating functions have no arrays on their stack:
 * a sanitizer's start-up allocates before it can check them. */
__attribute__((noinline)) static void print_stack(void) {
  void *frames[32];
  int n = backtrace(frames, 32);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
}

/* Whether this allocation is the one to fail. */
static int fails(void) {
  if (!armed || !pthread_equal(pthread_self(), armer))
    return 0;
  if (++count != fail_at)
    return 0;
  failed = 1;
  if (trace)
    print_stack();
  errno = ENOMEM;
  return 1;
}

void *malloc(size_t n) {
  if (resolving)
    return boot_alloc(n);
  resolve();
  return fails() ? NULL : next_malloc(n);
}

void *calloc(size_t c, size_t n) {
  if (resolving) {
    void *p = c != 0 && n > SIZE_MAX / c ? NULL : boot_alloc(c * n);
    if (p != NULL)
      memset(p, 0, c * n);
    return p;
  }
  resolve();
  return fails() ? NULL : next_calloc(c, n);
}

void *realloc(void *p, size_t n) {
  resolve();
  if (is_boot(p)) {
    void *q = fails() ? NULL : next_malloc(n);
    size_t left = (size_t)(boot + sizeof(boot) - (unsigned char *)p);
    if (q != NULL)
      memcpy(q, p, n < left ? n : left);
    return q;
  }
  return fails() ? NULL : next_realloc(p, n);
}

void free(void *p) {
  if (p == NULL || is_boot(p))
    return;
  resolve();
  next_free(p);
}

void fail_alloc_arm(long n) {
  if (getenv("FAIL_ALLOC_TRACE") != NULL && !trace) {
    void *frame;
    backtrace(&frame, 1); /* loads what backtrace needs, which allocates */
    trace = 1;
  }
  count = 0;
  failed = 0;
  fail_at = n;
  armer = pthread_self();
  armed = 1;
}

long fail_alloc_disarm(void) {
  armed = 0;
  return count;
}

void fail_alloc_resume(void) {
  armer = pthread_self();
  armed = 1;
}

int fail_alloc_active(void) {
  /* Called through a volatile pointer, which the compiler cannot drop. */
  void *(*volatile m)(size_t) = malloc;
  void *p;
  fail_alloc_arm(1);
  p = m(1);
  fail_alloc_disarm();
  free(p);
  return p == NULL;
}

int fail_alloc_failed(void) {
  return failed != 0;
}
