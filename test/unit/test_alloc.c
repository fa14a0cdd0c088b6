/* exp_set_allocator: the SDK, cJSON and libuv all allocate through it, and
 * it is refused once a handle exists. */
#include <stdlib.h>

#include "exp.h"
#include "testlib.h"

static long live, calls;

static void *t_malloc(size_t n) {
  void *p = malloc(n);
  calls++;
  live += p != NULL;
  return p;
}

static void *t_calloc(size_t c, size_t n) {
  void *p = calloc(c, n);
  calls++;
  live += p != NULL;
  return p;
}

static void *t_realloc(void *p, size_t n) {
  void *q = realloc(p, n);
  calls++;
  if (p == NULL)
    live += q != NULL;
  else if (n == 0 && q == NULL)
    live--;
  return q;
}

static void t_free(void *p) {
  live -= p != NULL;
  free(p);
}

static void test_allocator(void) {
  exp_sdk *sdk;
  cJSON *o;

  CHECK_INT(exp_set_allocator(NULL, t_realloc, t_calloc, t_free), EXP_EOPTIONS);
  CHECK_INT(exp_set_allocator(t_malloc, t_realloc, t_calloc, t_free), 0);

  o = cJSON_CreateObject(); /* cJSON's hooks */
  CHECK(o != NULL && live == 1);
  cJSON_Delete(o);
  CHECK_INT(live, 0);

  calls = 0;
  sdk = exp_new(NULL); /* the handle and libuv's private loop */
  CHECK(sdk != NULL);
  CHECK(calls > 0 && live > 0);
  CHECK_INT(exp_set_allocator(t_malloc, t_realloc, t_calloc, t_free),
            EXP_ERUNTIME);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, "http://127.0.0.1:1"), 0);
  exp_stop(sdk);
  CHECK_INT(live, 0);
}

int main(void) {
  RUN(test_allocator);
  return t_done();
}
