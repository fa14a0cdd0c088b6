/*
 * recent.h: a bounded window of recent broadcast ids (internal, no I/O).
 *
 * While a token renewal overlaps two sessions, the server sends a
 * broadcast on both; the window lets the second copy be recognised.  It
 * keeps 64-bit hashes of the latest EXP_RECENT_SIZE ids, so it costs a
 * fixed few kilobytes and a short scan per broadcast while in use.
 */
#ifndef EXP_RECENT_H
#define EXP_RECENT_H

#include <stddef.h>
#include <stdint.h>

#define EXP_RECENT_SIZE 512

typedef struct exp_recent {
  uint64_t ids[EXP_RECENT_SIZE];
  size_t next;  /* the slot the next id takes */
  size_t count; /* slots in use */
} exp_recent;

/* Whether id is in the window; when it is not, it is added, the oldest
 * dropping out of a full window.  A zeroed exp_recent is empty. */
int exp_recent_seen(exp_recent *r, const char *id);

#endif
