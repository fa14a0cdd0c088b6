/* alloc.c: the allocator every byte of the SDK goes through, and the hook
 * that replaces it for the SDK, cJSON and libuv at once. */
#include "common.h"

static exp_malloc_fn alloc_malloc = malloc;
static exp_realloc_fn alloc_realloc = realloc;
static exp_calloc_fn alloc_calloc = calloc;
static exp_free_fn alloc_free = free;
/* Set by the first exp_new: from then on memory of the old allocator may
 * be live, and freeing it with another would corrupt both. */
static int alloc_used;

int exp_set_allocator(exp_malloc_fn m, exp_realloc_fn r, exp_calloc_fn c,
                      exp_free_fn f) {
  cJSON_Hooks hooks;
  if (m == NULL || r == NULL || c == NULL || f == NULL)
    return EXP_EOPTIONS;
  if (alloc_used)
    return EXP_ERUNTIME;
  if (uv_replace_allocator(m, r, c, f) != 0)
    return EXP_EOPTIONS;
  alloc_malloc = m;
  alloc_realloc = r;
  alloc_calloc = c;
  alloc_free = f;
  /* cJSON takes malloc and free only; it reallocates with them. */
  hooks.malloc_fn = m;
  hooks.free_fn = f;
  cJSON_InitHooks(&hooks);
  return 0;
}

void exp_alloc_used(void) {
  alloc_used = 1;
}

void *exp_malloc(size_t n) {
  return alloc_malloc(n);
}

void *exp_calloc(size_t count, size_t n) {
  return alloc_calloc(count, n);
}

void *exp_realloc(void *p, size_t n) {
  return alloc_realloc(p, n);
}

void exp_free(void *p) {
  alloc_free(p);
}
