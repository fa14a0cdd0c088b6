/*
 * waiter.h: the one waiter behind every blocking twin (internal).
 *
 * A waiter lives on the stack of a _wait function; the async form's
 * completion callback fills it (done, status, result) and the pump runs
 * the loop until it is filled.  Every twin has the same shape:
 *
 *   int exp_X_wait(exp_sdk *sdk, ..., T **out) {
 *     exp_waiter w;
 *     if (exp_wait_begin(&w, sdk) == 0)
 *       exp_wait_run(&w, exp_X(sdk, ..., exp_wait_T_cb, &w));
 *     return exp_wait_T(&w, out);
 *   }
 *
 * The rules live here, once:
 * - begin refuses with EXP_EDEADLOCK (exp_last_error set) when the loop may
 *   not be run now: inside any SDK callback or _wait on the same loop.  It
 *   is checked before the operation starts, since an operation started
 *   then could never be waited for and would outlive the waiter.
 * - run takes what the async form returned: when it failed, that is the
 *   status and the callback never comes.  Otherwise it runs the loop until
 *   the callback came, the handle was stopped (EXP_ECANCELLED: the handle
 *   is freed, touch nothing), or w->timeout_ms passed (EXP_ETIMEOUT).  The
 *   operation's own deadline bounds every wait, so timeout_ms stays 0
 *   except where the caller can detach the callback from w after a
 *   timeout (exp_start_wait).
 * - the typed finisher (exp_wait_json here, exp_wait_resource in
 *   resource.h, ...) hands the result to *out when the status is 0 and
 *   out is not NULL, frees it otherwise (a result that came in the same
 *   loop pass as a stop), sets *out to NULL on failure, and returns the
 *   status.
 */
#ifndef EXP_WAITER_H
#define EXP_WAITER_H

#include "sdk.h"

typedef struct exp_waiter {
  exp_sdk *sdk;
  void *result; /* what the completion handed over, or NULL */
  uint64_t timeout_ms;
  int done;
  int status;
} exp_waiter;

/* Returns w->status: 0, EXP_EOPTIONS for a NULL sdk, or EXP_EDEADLOCK. */
int exp_wait_begin(exp_waiter *w, exp_sdk *sdk);
/* The same for a twin on an object that outlives its handle (a channel,
 * listener or message): EXP_EOPTIONS when obj is NULL, EXP_ERUNTIME when
 * its handle is gone (sdk NULL). */
int exp_wait_begin_on(exp_waiter *w, const void *obj, exp_sdk *sdk);
/* Returns w->status. */
int exp_wait_run(exp_waiter *w, int started);

/* Completion callbacks: ud is the waiter. */
void exp_wait_filled(void *ud, int status, void *result);
void exp_wait_done_cb(exp_sdk *sdk, int status, void *ud);
void exp_wait_json_cb(exp_sdk *sdk, int status, cJSON *result, void *ud);

/* Finishers; out may be NULL. */
int exp_wait_json(exp_waiter *w, cJSON **out);

/* One pass of the loop that does not block: what is already there (a
 * broadcast waiting in the socket, an answer read meanwhile) is handled.
 * 0, EXP_EDEADLOCK, or EXP_ECANCELLED when the handle was stopped. */
int exp_wait_poll(exp_sdk *sdk);

#endif
