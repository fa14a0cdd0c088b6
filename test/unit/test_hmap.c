/* The intrusive hash table: inserts through several growths, lookups,
 * removal during iteration, colliding hashes, and the string hash. */
#include <stdint.h>
#include <stdlib.h>

#include "hmap.h"
#include "testlib.h"

typedef struct item {
  exp_hnode node;
  int key;
  int seen;
} item;

static item *find(const exp_hmap *m, uint32_t hash, int key) {
  for (exp_hnode *n = exp_hmap_bucket(m, hash); n != NULL; n = n->next)
    if (n->hash == hash && ((item *)n)->key == key)
      return (item *)n;
  return NULL;
}

static void test_hash(void) {
  /* FNV-1a vectors. */
  CHECK_INT(exp_hash_str(EXP_HASH_SEED, ""), 2166136261u);
  CHECK_INT(exp_hash_str(EXP_HASH_SEED, "a"), 0xe40c292cu);
  CHECK_INT(exp_hash_str(EXP_HASH_SEED, "foobar"), 0xbf9cf968u);
  /* Continuing equals hashing the concatenation. */
  CHECK_INT(exp_hash_str(exp_hash_str(EXP_HASH_SEED, "foo"), "bar"),
            exp_hash_str(EXP_HASH_SEED, "foobar"));
}

/* hash_of maps a key to its hash: spread, or all colliding. */
static void run(uint32_t (*hash_of)(int), int count) {
  exp_hmap m;
  item *items = calloc((size_t)count, sizeof(*items));
  exp_hnode *n, *next;
  size_t i;
  int visited = 0, removed = 0;

  exp_hmap_init(&m);
  CHECK(exp_hmap_bucket(&m, 1) == NULL);
  CHECK(exp_hmap_first(&m, &i) == NULL);
  for (int k = 0; k < count; k++) {
    items[k].key = k;
    items[k].node.hash = hash_of(k);
    CHECK_INT(exp_hmap_insert(&m, &items[k].node), 0);
  }
  CHECK_INT(m.count, count);
  CHECK(m.nbuckets >= (size_t)count / 2);
  for (int k = 0; k < count; k++)
    CHECK(find(&m, hash_of(k), k) == &items[k]);
  CHECK(find(&m, hash_of(count), count) == NULL);

  /* Every item once; the odd ones removed on the way. */
  for (n = exp_hmap_first(&m, &i); n != NULL; n = next) {
    item *it = (item *)n;
    next = exp_hmap_next(&m, n, &i);
    it->seen++;
    visited++;
    if (it->key % 2 == 1) {
      exp_hmap_remove(&m, n);
      removed++;
    }
  }
  CHECK_INT(visited, count);
  CHECK_INT(removed, count / 2);
  for (int k = 0; k < count; k++) {
    CHECK_INT(items[k].seen, 1);
    CHECK(find(&m, hash_of(k), k) == (k % 2 == 1 ? NULL : &items[k]));
  }
  CHECK_INT(m.count, count - count / 2);
  exp_hmap_free(&m);
  CHECK(m.buckets == NULL && m.count == 0);
  free(items);
}

static uint32_t spread(int k) {
  return (uint32_t)k * 2654435761u;
}

static uint32_t same(int k) {
  (void)k;
  return 7;
}

static void test_spread(void) {
  run(spread, 1);
  run(spread, 17);
  run(spread, 5000);
}

static void test_collisions(void) {
  run(same, 300);
}

int main(void) {
  RUN(test_hash);
  RUN(test_spread);
  RUN(test_collisions);
  return t_done();
}
