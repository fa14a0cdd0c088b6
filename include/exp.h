/*
 * exp.h: the EXP SDK for C.
 *
 * One SDK handle (exp_sdk) talks to one EXP server: it logs in, keeps its
 * token fresh, makes REST calls, and (with the network enabled) holds the
 * real-time socket.  Everything runs on one libuv loop; the SDK creates no
 * thread.
 *
 * Rules that hold for every call in this header:
 *
 * - Async and blocking.  Every operation X has an async form exp_X(...,
 *   cb, ud) and a blocking twin exp_X_wait(...).  The async form returns 0
 *   when the operation was started, and then calls cb exactly once, never
 *   before exp_X has returned: with success, an error, a timeout, or
 *   EXP_ECANCELLED when the SDK stops.  When the async form returns an error
 *   instead, cb is never called.  The blocking form runs the SDK's loop
 *   until the result is there and returns it; called from inside one of the
 *   SDK's own callbacks it returns EXP_EDEADLOCK at once.
 *
 * - Ownership.  Strings and JSON passed in are copied or serialised before
 *   the call returns; the caller keeps them.  A result handed over by a
 *   completion callback or a _wait out-parameter belongs to the caller, who
 *   frees it with the function named beside it (cJSON_Delete for JSON).
 *   Data passed to an event callback is lent: valid until the callback
 *   returns.
 *
 * - Errors.  Functions return 0 or a negative exp_errno.  exp_last_error()
 *   tells the detail of the latest failure (HTTP status, the server's code
 *   and message).
 *
 * - Stopping.  exp_stop() may be called anywhere, also from inside a
 *   callback; pending operations complete with EXP_ECANCELLED.
 */
#ifndef EXP_H
#define EXP_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EXP_EXTERN __attribute__((visibility("default")))
#else
#define EXP_EXTERN
#endif

#define EXP_VERSION_MAJOR 0
#define EXP_VERSION_MINOR 1
#define EXP_VERSION_PATCH 0
#define EXP_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

/* XX(name, value, message) */
#define EXP_ERRNO_MAP(XX)                                                      \
  XX(OPTIONS, -1, "invalid options")                                          \
  XX(RUNTIME, -2, "not allowed in the SDK's current state")                   \
  XX(AUTH, -3, "authentication failed")                                       \
  XX(API, -4, "the server answered with an error")                            \
  XX(NOTFOUND, -5, "not found")                                               \
  XX(TIMEOUT, -6, "timed out")                                                \
  XX(CANCELLED, -7, "cancelled")                                              \
  XX(NETWORK, -8, "network error")                                            \
  XX(TLS, -9, "TLS error")                                                    \
  XX(PROTOCOL, -10, "malformed data from the server")                         \
  XX(NOMEM, -11, "out of memory")                                             \
  XX(DEADLOCK, -12, "blocking call from inside an SDK callback")              \
  XX(TOOBIG, -13, "response larger than the configured cap")                 \
  XX(PAIRING, -14, "not allowed while the device is pairing")

typedef enum exp_errno {
  EXP_OK = 0,
#define EXP_XX_(name, value, msg) EXP_E##name = (value),
  EXP_ERRNO_MAP(EXP_XX_)
#undef EXP_XX_
} exp_errno;

/* "timed out"; "unknown error" for a value outside the list. */
EXP_EXTERN const char *exp_strerror(int err);
/* "EXP_ETIMEOUT"; "EXP_EUNKNOWN" for a value outside the list. */
EXP_EXTERN const char *exp_err_name(int err);

typedef struct exp_sdk exp_sdk;

/* Detail of the latest failure on an SDK handle.  Inside a completion
 * callback that reports an error it describes that error. */
typedef struct exp_error {
  int code;             /* exp_errno, EXP_OK when nothing failed yet */
  int http_status;      /* HTTP status, 0 when no response was read */
  const char *api_code; /* the server's "code", or NULL */
  const char *message;  /* human-readable detail, never NULL */
} exp_error;

/* Valid until the next call on the handle or return to its loop. */
EXP_EXTERN const exp_error *exp_last_error(const exp_sdk *sdk);

/* --------------------------------------------------------------- logging */

typedef enum exp_log_level {
  EXP_LOG_DEBUG,
  EXP_LOG_INFO,
  EXP_LOG_WARN,
  EXP_LOG_ERROR,
  EXP_LOG_NONE
} exp_log_level;

/* msg has no trailing newline and never contains a token, secret, password
 * or API key. */
typedef void (*exp_log_cb)(exp_log_level level, const char *msg, void *ud);

/* Default: EXP_LOG_WARN and above to stderr.  cb NULL restores stderr. */
EXP_EXTERN void exp_set_log(exp_sdk *sdk, exp_log_level min, exp_log_cb cb,
                            void *ud);

/* ------------------------------------------------------- handle, options */

/* Creates an SDK handle on loop, or, with loop NULL, on a private loop that
 * only the blocking calls run.  NULL when out of memory. */
EXP_EXTERN exp_sdk *exp_new(uv_loop_t *loop);

/* The loop the handle runs on (its private one when created with NULL). */
EXP_EXTERN uv_loop_t *exp_loop(const exp_sdk *sdk);

/* XX(name, key, type): type STR is set with exp_set_str, INT with
 * exp_set_int. */
#define EXP_OPTION_MAP(XX)                                                     \
  XX(HOST, "host", STR)                     /* https://api.goexp.io */         \
  XX(USERNAME, "username", STR)                                                \
  XX(PASSWORD, "password", STR)                                                \
  XX(ORGANIZATION, "organization", STR)                                        \
  XX(UUID, "uuid", STR)                                                        \
  XX(SECRET, "secret", STR)                                                    \
  XX(API_KEY, "api_key", STR)                                                  \
  XX(ALLOW_PAIRING, "allow_pairing", INT)   /* 0 */                            \
  XX(ENABLE_NETWORK, "enable_network", INT) /* 1 */                            \
  XX(CA_FILE, "ca_file", STR)               /* system CA bundle */             \
  XX(TLS_VERIFY, "tls_verify", INT)         /* 1; 0 turns checks off */        \
  XX(REQUEST_TIMEOUT_MS, "request_timeout_ms", INT) /* 10000 */                \
  XX(MAX_BODY_BYTES, "max_body_bytes", INT)         /* 32 MiB */

typedef enum exp_option {
#define EXP_XX_(name, key, type) EXP_OPT_##name,
  EXP_OPTION_MAP(EXP_XX_)
#undef EXP_XX_
      EXP_OPT_COUNT_
} exp_option;

/* Options are set before exp_start; the value is copied.  NULL or ""
 * clears a string option.  EXP_EOPTIONS for an unknown option or the wrong
 * type, EXP_ERUNTIME once started. */
EXP_EXTERN int exp_set_str(exp_sdk *sdk, exp_option opt, const char *value);
EXP_EXTERN int exp_set_int(exp_sdk *sdk, exp_option opt, int64_t value);

/* ---------------------------------------------------------- start, stop */

typedef void (*exp_done_cb)(exp_sdk *sdk, int status, void *ud);

/* Validates the options (EXP_EOPTIONS, with the option named in
 * exp_last_error), then logs in.  cb gets 0 once authenticated and, with the
 * network enabled, online; EXP_EAUTH when the credentials are rejected.
 * EXP_ERUNTIME when the handle was already started. */
EXP_EXTERN int exp_start(exp_sdk *sdk, exp_done_cb cb, void *ud);
EXP_EXTERN int exp_start_wait(exp_sdk *sdk, uint64_t timeout_ms);

/* Closes every connection and timer, completes what is pending with
 * EXP_ECANCELLED, and frees the handle.  On a private loop everything is
 * released before it returns; on the application's loop the last bytes are
 * freed when that loop next runs, after which uv_loop_close() succeeds.
 * Safe from inside any callback (the teardown waits until it returns). */
EXP_EXTERN void exp_stop(exp_sdk *sdk);

/* Runs the SDK's loop for timeout_ms (for scripts that only listen).
 * EXP_EDEADLOCK from inside a callback. */
EXP_EXTERN int exp_sleep(exp_sdk *sdk, uint64_t timeout_ms);

/* ------------------------------------------------------------ auth, events */

/* The current auth payload ({token, expiration, identity, ...}), or NULL
 * before the first login.  Lent: valid until the next return to the loop. */
EXP_EXTERN const cJSON *exp_auth(const exp_sdk *sdk);

typedef enum exp_event {
  EXP_EVENT_ONLINE,  /* the real-time socket connected; data NULL */
  EXP_EVENT_OFFLINE, /* the socket was lost or closed; data NULL */
  EXP_EVENT_UPDATE,  /* new auth payload after login or refresh */
  EXP_EVENT_ERROR,   /* fatal: credentials rejected; data {code,message} */
  EXP_EVENT_PAIRED   /* pairing done; data {uuid, secret} to store */
} exp_event;

typedef struct exp_handler exp_handler;
typedef void (*exp_event_cb)(exp_sdk *sdk, exp_event ev, const cJSON *data,
                             void *ud);

/* Registers cb for ev.  The handler lives until exp_off or exp_stop.  NULL
 * when out of memory. */
EXP_EXTERN exp_handler *exp_on(exp_sdk *sdk, exp_event ev, exp_event_cb cb,
                               void *ud);
/* Safe from inside the handler itself. */
EXP_EXTERN void exp_off(exp_handler *h);

/* ---------------------------------------------------------------- REST */

/* A REST call on the API host.  query is a flat JSON object of string,
 * number or bool values (NULL for none); body any JSON (NULL for none). */
typedef struct exp_call {
  const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
  const char *path;    /* "/api/devices", already percent-encoded */
  const cJSON *query;  /* borrowed for the duration of the call */
  const cJSON *body;   /* borrowed for the duration of the call */
  uint64_t timeout_ms; /* 0: the request_timeout_ms option */
} exp_call;

/* result: the parsed JSON answer, NULL for an empty body; owned by the
 * callee, free with cJSON_Delete.  Non-2xx answers give EXP_EAPI (404:
 * EXP_ENOTFOUND) with the server's code and message in exp_last_error. */
typedef void (*exp_json_cb)(exp_sdk *sdk, int status, cJSON *result,
                            void *ud);

EXP_EXTERN int exp_request(exp_sdk *sdk, const exp_call *call, exp_json_cb cb,
                           void *ud);
EXP_EXTERN int exp_request_wait(exp_sdk *sdk, const exp_call *call,
                                cJSON **result);

EXP_EXTERN int exp_get(exp_sdk *sdk, const char *path, const cJSON *query,
                       exp_json_cb cb, void *ud);
EXP_EXTERN int exp_get_wait(exp_sdk *sdk, const char *path,
                            const cJSON *query, cJSON **result);
EXP_EXTERN int exp_post(exp_sdk *sdk, const char *path, const cJSON *query,
                        const cJSON *body, exp_json_cb cb, void *ud);
EXP_EXTERN int exp_post_wait(exp_sdk *sdk, const char *path,
                             const cJSON *query, const cJSON *body,
                             cJSON **result);
EXP_EXTERN int exp_put(exp_sdk *sdk, const char *path, const cJSON *query,
                       const cJSON *body, exp_json_cb cb, void *ud);
EXP_EXTERN int exp_put_wait(exp_sdk *sdk, const char *path,
                            const cJSON *query, const cJSON *body,
                            cJSON **result);
EXP_EXTERN int exp_patch(exp_sdk *sdk, const char *path, const cJSON *query,
                         const cJSON *body, exp_json_cb cb, void *ud);
EXP_EXTERN int exp_patch_wait(exp_sdk *sdk, const char *path,
                              const cJSON *query, const cJSON *body,
                              cJSON **result);
EXP_EXTERN int exp_delete(exp_sdk *sdk, const char *path, const cJSON *query,
                          exp_json_cb cb, void *ud);
EXP_EXTERN int exp_delete_wait(exp_sdk *sdk, const char *path,
                               const cJSON *query, cJSON **result);

/* Frees a string the SDK handed over. */
EXP_EXTERN void exp_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* EXP_H */
