/* start.c: exp_start, which attaches the layers of a handle; nothing
 * calls into this file, so the layers never name each other upwards. */
#include "network.h"
#include "pairing.h"
#include "rest.h"
#include "session.h"
#include "waiter.h"

int exp_start(exp_sdk *sdk, exp_done_cb cb, void *ud) {
  int r;

  if (sdk == NULL)
    return EXP_EOPTIONS;
  r = exp_session_open(sdk);
  if (r != 0)
    return r;
  r = exp_rest_attach(sdk);
  if (r == 0 && sdk->opt.num[EXP_OPT_ENABLE_NETWORK])
    r = exp_network_attach(sdk);
  if (r == 0 && sdk->opt.num[EXP_OPT_ALLOW_PAIRING])
    r = exp_pairing_attach(sdk);
  if (r != 0)
    exp_sdk_error(sdk, r, 0, NULL, "exp_start: %s", exp_strerror(r));
  else
    r = exp_session_login(sdk, cb, ud);
  if (r != 0)
    exp_session_close(sdk);
  return r;
}

int exp_start_wait(exp_sdk *sdk, uint64_t timeout_ms) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0) {
    w.timeout_ms = timeout_ms;
    if (exp_wait_run(&w, exp_start(sdk, exp_wait_done_cb, &w)) == EXP_ETIMEOUT)
      sdk->start_cb = NULL; /* the login goes on; nobody waits for it */
  }
  return w.status;
}
