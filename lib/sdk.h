/*
 * sdk.h: the SDK handle and the hooks its modules use (internal).
 *
 * Callbacks and teardown.  Every call into application code (completion
 * callbacks, event handlers) is bracketed by exp_sdk_enter/exp_sdk_leave.
 * While inside, the _wait functions of every handle on the same loop
 * return EXP_EDEADLOCK (loop_state.h), and this handle's exp_stop only
 * records the request; the teardown then runs in exp_sdk_leave when the
 * outermost callback returns, or, when a _wait is running the loop, right
 * after uv_run returns to it.  So on a private loop (only ever run by a
 * _wait) teardown never happens inside a callback; on the application's
 * loop it closes handles with uv_close and frees the handle in their close
 * callbacks: code after exp_sdk_leave may still read the handle but must
 * start nothing.
 *
 * The real-time network (Socket.IO) plugs in with exp_sdk_attach_network
 * before exp_start, when the enable_network option is 1:
 * - ops->auth is called after every new auth payload (the first login, a
 *   refresh, a login after pairing): connect, or reconnect with the token.
 * - once started, exp_start completes when the network calls
 *   exp_sdk_set_online(sdk, 1) (or with the login's error);
 * - exp_sdk_set_online raises EXP_EVENT_ONLINE / EXP_EVENT_OFFLINE on
 *   every change;
 * - exp_sdk_paired hands over credentials received while pairing;
 * - ops->stop is called once by the teardown: close everything, call
 *   nothing back, free memory only in close callbacks.
 * Without an attached network exp_start completes after the login.  The
 * network module creates itself and attaches from exp_start, before the
 * login is sent.
 */
#ifndef EXP_SDK_H
#define EXP_SDK_H

#include <stdarg.h>

#include "auth.h"
#include "common.h"
#include "http_client.h"
#include "log.h"
#include "options.h"
#include "url.h"

typedef struct exp_net_ops {
  void (*auth)(void *net, const cJSON *auth);
  void (*stop)(void *net);
} exp_net_ops;

/* What every REST call sends, made once per auth payload (rest.c): the
 * API host parsed, and the Authorization line with the token checked. */
typedef struct exp_rest_cache {
  int made;          /* the fields hold a payload's */
  unsigned gen;      /* exp_auth_gen of that payload */
  exp_url api;       /* the API host */
  size_t prefix_len; /* of api.target without its trailing '/': a path
                        the host puts before every call's */
  char *bearer;      /* "Authorization: Bearer <token>" */
} exp_rest_cache;

typedef enum exp_sdk_state {
  EXP_SDK_NEW,     /* options may be set */
  EXP_SDK_STARTED, /* exp_start accepted */
  EXP_SDK_STOPPING /* teardown ran or is requested: refuse new work */
} exp_sdk_state;

struct exp_sdk {
  uv_loop_t *loop;
  uv_loop_t own_loop; /* the private loop, when loop == &own_loop */
  exp_options opt;
  exp_logger log;
  exp_sdk_state state;

  exp_error err; /* exp_last_error; strings point into the buffers */
  char err_api_code[64];
  char err_message[512];

  struct exp_loop_state *ls; /* shared by every handle on loop */
  int depth;                 /* its application callbacks on the stack */
  int pumping;               /* a _wait of its is inside uv_run */
  int stop_requested;        /* exp_stop was called inside a callback or pump */
  int closing;               /* handles whose close callback is pending */
  int torn_down;             /* teardown ran */
  int pump_expired;          /* the _wait deadline passed */

  exp_http *http;
  exp_auth_machine *auth;
  uv_timer_t auth_timer; /* refresh and retry */
  uv_timer_t pump_timer; /* deadline of a _wait */
  uv_idle_t later_idle;  /* runs the deferred functions */
  exp_list later;        /* deferred functions not run yet */

  exp_done_cb start_cb; /* NULL once completed */
  void *start_ud;
  int start_pending; /* exp_start's callback is owed */
  int authed;        /* the first login succeeded */
  int online;

  const exp_net_ops *net_ops;
  void *net;

  exp_list handlers;   /* exp_handler.node */
  int emitting;        /* exp_sdk_emit on the stack: exp_off defers unlink */
  exp_list calls;      /* REST calls on the wire (rest.c) */
  exp_list parked;     /* REST calls waiting for a token (rest.c) */
  exp_rest_cache rest; /* rest.c */
  struct exp_bus *bus; /* real-time channels (bus.c), made on first use */
};

/* Application callbacks: see above.  exp_sdk_leave returns nonzero when
 * the handle is being torn down. */
void exp_sdk_enter(exp_sdk *sdk);
int exp_sdk_leave(exp_sdk *sdk);

/* Closes and frees everything (see above); does nothing the second time.
 * The pump calls it after uv_run returned when a stop was requested. */
void exp_sdk_teardown(exp_sdk *sdk);

/* Completion without a request, for an async call whose outcome is known at
 * once but which may not call back before it returns: fn(sdk, 0, arg) runs
 * from the loop, inside exp_sdk_enter/leave, in the order deferred; when
 * the SDK stops first, fn(sdk, EXP_ECANCELLED, arg) runs from the teardown
 * instead, with exp_last_error saying so.  Exactly once either way.
 * Returns 0, or EXP_ERUNTIME when the handle is not started or is
 * stopping, or EXP_ENOMEM (exp_last_error set); fn is then never called. */
typedef void (*exp_sdk_later_cb)(exp_sdk *sdk, int status, void *arg);
int exp_sdk_defer(exp_sdk *sdk, exp_sdk_later_cb fn, void *arg);

/* Performs the actions an auth machine input asked for. */
void exp_sdk_auth_perform(exp_sdk *sdk, const exp_auth_out *o);

/* Sets exp_last_error and returns code. */
int exp_sdk_error(exp_sdk *sdk, int code, int http_status, const char *api_code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Calls every handler of ev (inside enter/leave). */
void exp_sdk_emit(exp_sdk *sdk, exp_event ev, const cJSON *data);

/* Milliseconds since the epoch: the clock of the auth machine. */
int64_t exp_sdk_now(void);

/* The network's side. */
int exp_sdk_attach_network(exp_sdk *sdk, const exp_net_ops *ops, void *net);
void exp_sdk_set_online(exp_sdk *sdk, int online);
/* Emits EXP_EVENT_PAIRED {uuid, secret} and logs in with them. */
int exp_sdk_paired(exp_sdk *sdk, const char *uuid, const char *secret);
/* Where the socket goes: auth.network.host, else the host option. */
const char *exp_sdk_network_host(const exp_sdk *sdk);

/* rest.c's side, called by the auth layer in sdk.c. */
/* A new token (why->status 0: send the parked calls) or the failure to
 * get one (fail them with why's error). */
void exp_rest_release(exp_sdk *sdk, const exp_auth_out *why);
/* Completes every call with EXP_ECANCELLED and frees the cache. */
void exp_rest_stop(exp_sdk *sdk);

#endif
