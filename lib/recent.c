/* recent.c: the window of recent broadcast ids. */
#include "recent.h"

/* FNV-1a, 64 bits: ids are short, and a collision only costs a broadcast
 * while two sessions overlap, with odds near 2^-55 per broadcast. */
static uint64_t hash(const char *s) {
  uint64_t h = 14695981039346656037ull;
  for (; *s != '\0'; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

int exp_recent_seen(exp_recent *r, const char *id) {
  uint64_t h = hash(id);
  for (size_t i = 0; i < r->count; i++)
    if (r->ids[i] == h)
      return 1;
  r->ids[r->next] = h;
  r->next = (r->next + 1) % EXP_RECENT_SIZE;
  if (r->count < EXP_RECENT_SIZE)
    r->count++;
  return 0;
}
