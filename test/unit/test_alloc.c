/* exp_set_allocator: the SDK, cJSON and libuv all allocate through it, and
 * it is refused once a handle exists. */
#include "count_alloc.h"
#include "exp.h"
#include "testlib.h"

static void test_allocator(void) {
  exp_sdk *sdk;
  cJSON *o;
  long calls;

  CHECK_INT(exp_set_allocator(NULL, count_realloc, count_calloc, count_free),
            EXP_EOPTIONS);
  CHECK_INT(
      exp_set_allocator(count_malloc, count_realloc, count_calloc, count_free),
      0);

  o = cJSON_CreateObject(); /* cJSON's hooks */
  CHECK(o != NULL && count_alloc_blocks() == 1);
  cJSON_Delete(o);
  CHECK_INT(count_alloc_blocks(), 0);

  calls = count_alloc_calls();
  sdk = exp_new(NULL); /* the handle and libuv's private loop */
  CHECK(sdk != NULL);
  CHECK(count_alloc_calls() > calls && count_alloc_blocks() > 0);
  CHECK_INT(
      exp_set_allocator(count_malloc, count_realloc, count_calloc, count_free),
      EXP_ERUNTIME);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, "http://127.0.0.1:1"), 0);
  exp_stop(sdk);
  CHECK_INT(count_alloc_blocks(), 0);
}

int main(void) {
  RUN(test_allocator);
  return t_done();
}
