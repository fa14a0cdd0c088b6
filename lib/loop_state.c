/* loop_state.c: the registry of the loops SDK handles run on. */
#include "loop_state.h"

#include "common.h"

/* Each thread has its own registry: a loop, and every handle on it, is
 * made, used and stopped on the one thread that runs it, so no lock is
 * needed and nothing is shared between threads. */
static _Thread_local exp_loop_state *states;

/* own: 0 or 1 as exp_loop_state_get; -1 joins whatever the loop is. */
static exp_loop_state *get(uv_loop_t *loop, int own) {
  exp_loop_state *s;

  for (s = states; s != NULL && s->loop != loop; s = s->next)
    ;
  if (s != NULL && own >= 0 && (s->own || own)) {
    s = NULL;
  } else if (s != NULL) {
    s->refs++;
  } else if ((s = exp_calloc(1, sizeof(*s))) != NULL) {
    s->loop = loop;
    s->refs = 1;
    s->own = own > 0;
    s->next = states;
    states = s;
  }
  return s;
}

exp_loop_state *exp_loop_state_get(uv_loop_t *loop, int own) {
  return get(loop, own);
}

exp_loop_state *exp_loop_state_join(uv_loop_t *loop) {
  return get(loop, -1);
}

void exp_loop_state_put(exp_loop_state *s) {
  exp_loop_state **p;

  if (s == NULL)
    return;
  if (--s->refs == 0) {
    for (p = &states; *p != s; p = &(*p)->next)
      ;
    *p = s->next;
    exp_free(s->rbuf);
    exp_free(s->pbuf);
    exp_free(s);
  }
}
