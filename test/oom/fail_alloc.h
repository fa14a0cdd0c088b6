/*
 * fail_alloc.h: makes the N-th allocation of the calling thread fail.
 *
 * fail_alloc.c defines malloc, calloc, realloc and free for the whole
 * process (a program linking it overrides libc's, so wslay, mbedtls and
 * libc itself allocate through it too) and forwards them to the next
 * definition, libc's or a sanitizer's.  Only allocations on the thread that
 * armed it count (libuv's resolver threads would make the count vary).
 * With FAIL_ALLOC_TRACE in the environment, the failing allocation prints
 * its stack to stderr.
 */
#ifndef EXP_FAIL_ALLOC_H
#define EXP_FAIL_ALLOC_H

#include <stddef.h>

/* Counts this thread's allocations from now on and fails the n-th
 * (1-based; 0: none fails). */
void fail_alloc_arm(long n);
/* Stops counting; returns how many allocations were counted. */
long fail_alloc_disarm(void);
/* Counts on after fail_alloc_disarm, for a test to allocate unseen. */
void fail_alloc_resume(void);
/* Whether this program's malloc is fail_alloc.c's: not under valgrind,
 * which replaces every malloc with its own. */
int fail_alloc_active(void);
/* Whether the armed allocation has failed yet. */
int fail_alloc_failed(void);

#endif
