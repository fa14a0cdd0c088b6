/* loop_state.c: the registry of the loops SDK handles run on. */
#include "loop_state.h"

#include "common.h"

static uv_once_t once = UV_ONCE_INIT;
static uv_mutex_t lock;
static int lock_made;
static exp_loop_state *states;

static void init_lock(void) {
  lock_made = uv_mutex_init(&lock) == 0;
}

/* own: 0 or 1 as exp_loop_state_get; -1 joins whatever the loop is. */
static exp_loop_state *get(uv_loop_t *loop, int own) {
  exp_loop_state *s;

  uv_once(&once, init_lock);
  if (!lock_made)
    return NULL;
  uv_mutex_lock(&lock);
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
  uv_mutex_unlock(&lock);
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
  uv_mutex_lock(&lock);
  if (--s->refs == 0) {
    for (p = &states; *p != s; p = &(*p)->next)
      ;
    *p = s->next;
    exp_free(s->rbuf);
    exp_free(s->pbuf);
    exp_free(s);
  }
  uv_mutex_unlock(&lock);
}
