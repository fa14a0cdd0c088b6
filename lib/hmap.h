/*
 * hmap.h: an intrusive chained hash table keyed by 32-bit hashes (internal).
 *
 * Entries embed an exp_hnode; the table never allocates them and compares
 * nothing but hashes, so lookups walk a bucket and check their own keys:
 *
 *   for (exp_hnode *n = exp_hmap_bucket(m, h); n != NULL; n = n->next)
 *     if (n->hash == h && my_key_equals(n, ...)) ...
 *
 * The bucket array doubles when the table holds two entries per bucket:
 * half the array of one per bucket (a bucket per entry costs a table 8 B
 * per entry; issue 14's heap per listener) for a chain one node longer,
 * whose nodes the walk skips by hash.  A failed growth leaves the table as
 * it was (slower, still correct).
 */
#ifndef EXP_HMAP_H
#define EXP_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct exp_hnode {
  struct exp_hnode *next;
  uint32_t hash;
} exp_hnode;

typedef struct exp_hmap {
  exp_hnode **buckets;
  size_t nbuckets; /* a power of two, or 0 before the first insert */
  size_t count;
} exp_hmap;

#define EXP_HASH_SEED 2166136261u

/* FNV-1a of s, continuing from h (EXP_HASH_SEED to start). */
uint32_t exp_hash_str(uint32_t h, const char *s);

void exp_hmap_init(exp_hmap *m);
/* Frees the bucket array, not the entries. */
void exp_hmap_free(exp_hmap *m);

/* The first node of hash's bucket, or NULL. */
exp_hnode *exp_hmap_bucket(const exp_hmap *m, uint32_t hash);

/* Inserts n, whose hash is set.  EXP_ENOMEM when the first bucket array
 * cannot be allocated. */
int exp_hmap_insert(exp_hmap *m, exp_hnode *n);
/* Removes n, which is in m. */
void exp_hmap_remove(exp_hmap *m, exp_hnode *n);

/* Iteration in no particular order; the current node may be removed:
 *   for (n = exp_hmap_first(m, &i); n != NULL; n = next) {
 *     next = exp_hmap_next(m, n, &i); ... } */
exp_hnode *exp_hmap_first(const exp_hmap *m, size_t *i);
exp_hnode *exp_hmap_next(const exp_hmap *m, const exp_hnode *n, size_t *i);

#endif
