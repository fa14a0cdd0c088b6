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
 * Layers.  The handle is the bottom of the SDK above the protocol cores:
 * errors, options, events, the loop, deferred completions, the waiter
 * (waiter.h).  The layers above it (the session, REST, the network,
 * channels, pairing) attach with a table of hooks, and the handle calls
 * them only through it, never by name, so that includes run one way:
 * cores, handle, session, REST and network, channels and resources, and
 * at the top exp_start (start.c), which attaches the layers.
 */
#ifndef EXP_SDK_H
#define EXP_SDK_H

#include <stdarg.h>

#include "auth.h"
#include "common.h"
#include "hosts.h"
#include "http_client.h"
#include "log.h"
#include "options.h"
#include "url.h"

/* The hooks of a layer; any may be NULL. */
typedef struct exp_layer_ops {
  /* After every new auth payload (the first login, a refresh, a login
   * after pairing), in the order attached. */
  void (*auth)(void *self, const cJSON *payload);
  /* The auth machine released what waits for a token: a new one
   * (why->status 0: send it now) or the failure to get one (fail it with
   * why's error). */
  void (*release)(void *self, const exp_auth_out *why);
  /* Once, by the teardown or a failed exp_start, in the reverse order of
   * attaching: complete what is pending with EXP_ECANCELLED, close the
   * layer's handles, free its memory (in close callbacks at the latest). */
  void (*stop)(void *self);
  /* exp_start completes once this layer reports online (the network:
   * exp_sdk_set_online), not already after the login. */
  int gates_start;
} exp_layer_ops;

#define EXP_SDK_MAX_LAYERS 8

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

  exp_error_info err; /* exp_last_error; strings point into the buffers */
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
  exp_hosts hosts;       /* the origins and which one is in use */
  uv_timer_t auth_timer; /* refresh and retry */
  uv_timer_t pump_timer; /* deadline of a _wait */
  uv_idle_t later_idle;  /* runs the deferred functions */
  exp_list later;        /* deferred functions not run yet */

  exp_done_cb start_cb; /* NULL once completed */
  void *start_ud;
  int start_pending; /* exp_start's callback is owed */
  int authed;        /* the first login succeeded */
  int start_holds;   /* layers holding the start (exp_sdk_hold_start) */
  int online;

  struct {
    const exp_layer_ops *ops;
    void *self;
  } layers[EXP_SDK_MAX_LAYERS];
  int nlayers;

  exp_list handlers; /* exp_handler.node */
  int emitting;      /* exp_sdk_emit on the stack: exp_off defers unlink */
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

/* Sets exp_last_error and returns code. */
int exp_sdk_error(exp_sdk *sdk, int code, int http_status, const char *api_code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Calls every handler of ev (inside enter/leave). */
void exp_sdk_emit(exp_sdk *sdk, exp_event ev, const cJSON *data);

/* Milliseconds since the epoch: the clock of the auth machine. */
int64_t exp_sdk_now(void);

/* Attaches a layer (see above): EXP_ERUNTIME once the handle stops or
 * when the table is full (a bug). */
int exp_sdk_attach(exp_sdk *sdk, const exp_layer_ops *ops, void *self);
/* The self of the layer attached with ops, or NULL. */
void *exp_sdk_layer(const exp_sdk *sdk, const exp_layer_ops *ops);
/* Calls the auth hooks; stops early when a hook stops the handle. */
void exp_sdk_layers_auth(exp_sdk *sdk, const cJSON *payload);
void exp_sdk_layers_release(exp_sdk *sdk, const exp_auth_out *why);
/* 1 when a layer gates the start. */
int exp_sdk_start_gated(const exp_sdk *sdk);
/* Stops and detaches every layer, last attached first. */
void exp_sdk_detach_all(exp_sdk *sdk);

#endif
