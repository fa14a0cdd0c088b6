/*
 * count_alloc.h: a counting allocator for exp_set_allocator, shared by the
 * benchmarks (heap in use), the allocation guard (allocations per
 * operation), and the allocator and failure-sweep tests (blocks left).  Every
 * block carries its requested size in a header, so "live bytes" is what the
 * SDK, cJSON and libuv asked for, without malloc's own overhead.  Calls are
 * counted per thread, so that a second SDK on another thread (the guard's
 * sender) does not count; bytes are counted for the whole process.  Install it
 * first thing: exp_set_allocator(count_malloc, count_realloc, count_calloc,
 * count_free) (a program without the SDK: uv_replace_allocator and
 * cJSON_InitHooks).
 */
#ifndef COUNT_ALLOC_H
#define COUNT_ALLOC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the blocks aligned as malloc's are. */
typedef union count_head {
  size_t size;
  max_align_t align;
} count_head;

static atomic_long count_live_bytes, count_live_blocks, count_peak_bytes;

/* Raises the peak to the live bytes. */
static inline void count_note_peak(void) {
  long live = atomic_load(&count_live_bytes);
  long peak = atomic_load(&count_peak_bytes);
  while (live > peak &&
         !atomic_compare_exchange_weak(&count_peak_bytes, &peak, live))
    ;
}
static _Thread_local long count_thread_calls;

static inline void *count_take(count_head *h, size_t n) {
  if (h == NULL)
    return NULL;
  h->size = n;
  atomic_fetch_add(&count_live_bytes, (long)n);
  atomic_fetch_add(&count_live_blocks, 1);
  count_note_peak();
  return h + 1;
}

static inline void count_give(count_head *h) {
  atomic_fetch_sub(&count_live_bytes, (long)h->size);
  atomic_fetch_sub(&count_live_blocks, 1);
}

static inline void *count_malloc(size_t n) {
  count_thread_calls++;
  if (n > SIZE_MAX - sizeof(count_head))
    return NULL;
  return count_take(malloc(sizeof(count_head) + n), n);
}

static inline void *count_calloc(size_t c, size_t n) {
  count_thread_calls++;
  if (n != 0 && c > (SIZE_MAX - sizeof(count_head)) / n)
    return NULL;
  return count_take(calloc(1, sizeof(count_head) + c * n), c * n);
}

static inline void count_free(void *p) {
  count_head *h = p;
  if (p == NULL)
    return;
  count_give(h - 1);
  free(h - 1);
}

static inline void *count_realloc(void *p, size_t n) {
  count_head *h = p, *q;
  size_t old;
  if (p == NULL)
    return count_malloc(n);
  count_thread_calls++;
  if (n > SIZE_MAX - sizeof(count_head))
    return NULL;
  old = h[-1].size;
  q = realloc(h - 1, sizeof(count_head) + n);
  if (q == NULL)
    return NULL;
  q->size = n;
  atomic_fetch_add(&count_live_bytes, (long)n - (long)old);
  count_note_peak();
  return q + 1;
}

/* malloc, calloc and realloc calls made by this thread so far. */
static inline long count_alloc_calls(void) {
  return count_thread_calls;
}

/* Blocks allocated and not yet freed, every thread. */
static inline long count_alloc_blocks(void) {
  return atomic_load(&count_live_blocks);
}

/* Bytes requested and not yet freed, every thread. */
static inline long count_alloc_live(void) {
  return atomic_load(&count_live_bytes);
}

/* The most bytes live at once since the last reset, every thread. */
static inline long count_alloc_peak(void) {
  return atomic_load(&count_peak_bytes);
}

static inline void count_reset_peak(void) {
  atomic_store(&count_peak_bytes, atomic_load(&count_live_bytes));
}

#endif
