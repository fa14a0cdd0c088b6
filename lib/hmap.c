/* hmap.c: the intrusive chained hash table. */
#include "hmap.h"

#include <stdlib.h>

#include "common.h"

uint32_t exp_hash_str(uint32_t h, const char *s) {
  for (; *s != '\0'; s++) {
    h ^= (unsigned char)*s;
    h *= 16777619u;
  }
  return h;
}

void exp_hmap_init(exp_hmap *m) {
  m->buckets = NULL;
  m->nbuckets = 0;
  m->count = 0;
}

void exp_hmap_free(exp_hmap *m) {
  exp_free(m->buckets);
  exp_hmap_init(m);
}

exp_hnode *exp_hmap_bucket(const exp_hmap *m, uint32_t hash) {
  return m->nbuckets == 0 ? NULL : m->buckets[hash & (m->nbuckets - 1)];
}

static void grow(exp_hmap *m) {
  size_t n = m->nbuckets * 2;
  exp_hnode **b = exp_calloc(n, sizeof(*b));

  if (b == NULL)
    return;
  for (size_t i = 0; i < m->nbuckets; i++) {
    exp_hnode *e = m->buckets[i], *next;
    for (; e != NULL; e = next) {
      next = e->next;
      e->next = b[e->hash & (n - 1)];
      b[e->hash & (n - 1)] = e;
    }
  }
  exp_free(m->buckets);
  m->buckets = b;
  m->nbuckets = n;
}

int exp_hmap_insert(exp_hmap *m, exp_hnode *n) {
  exp_hnode **slot;

  if (m->nbuckets == 0) {
    m->buckets = exp_calloc(16, sizeof(*m->buckets));
    if (m->buckets == NULL)
      return EXP_ENOMEM;
    m->nbuckets = 16;
  } else if (m->count / 2 >= m->nbuckets) {
    grow(m);
  }
  slot = &m->buckets[n->hash & (m->nbuckets - 1)];
  n->next = *slot;
  *slot = n;
  m->count++;
  return 0;
}

void exp_hmap_remove(exp_hmap *m, exp_hnode *n) {
  exp_hnode **p = &m->buckets[n->hash & (m->nbuckets - 1)];

  while (*p != n)
    p = &(*p)->next;
  *p = n->next;
  n->next = NULL;
  m->count--;
}

static exp_hnode *scan(const exp_hmap *m, size_t *i) {
  for (; *i < m->nbuckets; (*i)++)
    if (m->buckets[*i] != NULL)
      return m->buckets[*i];
  return NULL;
}

exp_hnode *exp_hmap_first(const exp_hmap *m, size_t *i) {
  *i = 0;
  return scan(m, i);
}

exp_hnode *exp_hmap_next(const exp_hmap *m, const exp_hnode *n, size_t *i) {
  if (n->next != NULL)
    return n->next;
  (*i)++;
  return scan(m, i);
}
