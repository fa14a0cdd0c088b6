/*
 * loop_state.h: what every SDK handle on one uv loop shares (internal).
 *
 * libuv's uv_run is not reentrant, and a callback of one handle may call a
 * _wait of another handle on the same loop: the deadlock guard must look
 * at the loop, not at the handle.  So each loop in use has one state,
 * found by the loop's address in a small registry of the thread that runs
 * the loop (handles on different loops may live in different threads, each
 * with its own), shared by reference by the handles on it.
 */
#ifndef EXP_LOOP_STATE_H
#define EXP_LOOP_STATE_H

#include <uv.h>

typedef struct exp_loop_state {
  uv_loop_t *loop;
  unsigned refs;
  int own;     /* a handle's private loop: no other handle may join it */
  int depth;   /* SDK callbacks on the stack, of any handle on the loop */
  int pumping; /* a _wait is running the loop */
  /* The read buffers of the loop's connections (conn.c): libuv hands one
   * read to its callback before it starts the next, and the loop cannot
   * run inside its own callbacks, so one of each serves them all. */
  char *rbuf; /* socket bytes, made on the first read */
  char *pbuf; /* TLS plaintext, made on the first TLS read */
  struct exp_loop_state *next;
} exp_loop_state;

/* The state of loop, made on first use, with a reference taken.  NULL
 * when out of memory, or when loop is another handle's private loop (own
 * then says whether the new handle owns loop). */
exp_loop_state *exp_loop_state_get(uv_loop_t *loop, int own);
/* The state of loop for a connection, whoever owns loop: made on first
 * use, with a reference taken; NULL when out of memory. */
exp_loop_state *exp_loop_state_join(uv_loop_t *loop);
/* Drops a reference; the last frees the state. */
void exp_loop_state_put(exp_loop_state *s);

#endif
