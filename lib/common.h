/* common.h: small helpers shared by every module (internal). */
#ifndef EXP_COMMON_H
#define EXP_COMMON_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "exp.h"

#define EXP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EXP_UNUSED(x) ((void)(x))

/* An intrusive doubly linked list, as in libuv's queue. */
typedef struct exp_list {
  struct exp_list *prev, *next;
} exp_list;

static inline void exp_list_init(exp_list *l) {
  l->prev = l->next = l;
}
static inline int exp_list_empty(const exp_list *l) {
  return l->next == l;
}
static inline void exp_list_insert_tail(exp_list *l, exp_list *e) {
  e->next = l;
  e->prev = l->prev;
  l->prev->next = e;
  l->prev = e;
}
static inline void exp_list_remove(exp_list *e) {
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->prev = e->next = e;
}
#define EXP_CONTAINER_OF(ptr, type, field)                                     \
  ((type *)((char *)(ptr)-offsetof(type, field)))

/* Every allocation of the SDK goes through these (alloc.c), so that
 * exp_set_allocator replaces them all; exp_free is public. */
void *exp_malloc(size_t n);
void *exp_calloc(size_t count, size_t n);
void *exp_realloc(void *p, size_t n);
/* Called by exp_new: exp_set_allocator is refused from then on. */
void exp_alloc_used(void);

/* strdup that accepts NULL. */
char *exp_strdup(const char *s);
char *exp_strndup(const char *s, size_t n);

#endif
