/* waiter.c: the pump that runs the loop for every blocking twin, its
 * deadlock guard, and exp_sleep. */
#include "waiter.h"

#include "loop_state.h"

/* The loop's state, not the handle's: a callback of one handle must not
 * run the loop through another either. */
static int can_wait(exp_sdk *sdk) {
  if (sdk->ls->depth > 0 || sdk->ls->pumping > 0)
    return exp_sdk_error(sdk, EXP_EDEADLOCK, 0, NULL,
                         "a blocking call from inside an SDK callback would "
                         "never return; use the async form");
  return 0;
}

static void on_pump_timer(uv_timer_t *t) {
  exp_sdk *sdk = t->data;
  sdk->pump_expired = 1;
}

/* One uv_run(NOWAIT) pass when done is NULL, else uv_run(ONCE) until
 * *done, the deadline (0: none; EXP_ETIMEOUT without exp_last_error), or a
 * stop request, which it carries out once uv_run has returned. */
static int pump(exp_sdk *sdk, const int *done, uint64_t timeout_ms) {
  int r = can_wait(sdk);
  if (r != 0)
    return r;
  uv_update_time(sdk->loop);
  sdk->pump_expired = 0;
  if (timeout_ms > 0)
    uv_timer_start(&sdk->pump_timer, on_pump_timer, timeout_ms, 0);
  sdk->pumping++;
  sdk->ls->pumping++;
  if (done == NULL)
    uv_run(sdk->loop, UV_RUN_NOWAIT);
  while (done != NULL && !*done && !sdk->pump_expired && !sdk->stop_requested) {
    if (uv_run(sdk->loop, UV_RUN_ONCE) == 0 && !*done)
      break; /* nothing left that could complete it */
  }
  sdk->pumping--;
  sdk->ls->pumping--;
  uv_timer_stop(&sdk->pump_timer);
  if (sdk->stop_requested) {
    exp_sdk_teardown(sdk);
    return EXP_ECANCELLED;
  }
  if (done == NULL || *done)
    return 0;
  if (sdk->pump_expired)
    return EXP_ETIMEOUT;
  return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                       "the loop ran out of work before the result came");
}

int exp_wait_begin(exp_waiter *w, exp_sdk *sdk) {
  w->sdk = sdk;
  w->result = NULL;
  w->timeout_ms = 0;
  w->done = 0;
  w->status = sdk != NULL ? can_wait(sdk) : EXP_EOPTIONS;
  return w->status;
}

int exp_wait_begin_on(exp_waiter *w, const void *obj, exp_sdk *sdk) {
  exp_wait_begin(w, sdk);
  if (sdk == NULL)
    w->status = obj == NULL ? EXP_EOPTIONS : EXP_ERUNTIME;
  return w->status;
}

int exp_wait_run(exp_waiter *w, int started) {
  int r = started != 0 ? started : pump(w->sdk, &w->done, w->timeout_ms);
  if (r == EXP_ETIMEOUT && started == 0)
    exp_sdk_error(w->sdk, r, 0, NULL, "no result within %llu ms",
                  (unsigned long long)w->timeout_ms);
  if (r != 0)
    w->status = r;
  return w->status;
}

void exp_wait_filled(void *ud, int status, void *result) {
  exp_waiter *w = ud;
  w->done = 1;
  w->status = status;
  w->result = result;
  /* A result from a timer comes before the loop's poll: without the stop
   * the pass would sleep there until an unrelated event. */
  if (w->sdk != NULL && w->sdk->pumping > 0)
    uv_stop(w->sdk->loop);
}

void exp_wait_done_cb(exp_sdk *sdk, int status, void *ud) {
  EXP_UNUSED(sdk);
  exp_wait_filled(ud, status, NULL);
}

void exp_wait_json_cb(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  EXP_UNUSED(sdk);
  exp_wait_filled(ud, status, result);
}

int exp_wait_json(exp_waiter *w, cJSON **out) {
  cJSON *result = w->result;
  if (w->status != 0 || out == NULL) {
    cJSON_Delete(result);
    result = NULL;
  }
  if (out != NULL)
    *out = result;
  return w->status;
}

int exp_wait_poll(exp_sdk *sdk) {
  return pump(sdk, NULL, 0);
}

int exp_sleep(exp_sdk *sdk, uint64_t timeout_ms) {
  int never = 0;
  int r;
  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (timeout_ms == 0)
    return exp_wait_poll(sdk);
  r = pump(sdk, &never, timeout_ms);
  return r == EXP_ETIMEOUT ? 0 : r;
}
