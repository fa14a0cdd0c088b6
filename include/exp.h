/*
 * exp.h: the EXP SDK for C.
 *
 * One SDK handle (exp_sdk) talks to one EXP server: it logs in, keeps its
 * token fresh, makes REST calls, and (with the network enabled) holds the
 * real-time socket.  Everything runs on one libuv loop; the SDK creates no
 * thread and takes no lock.  A handle is made (exp_new), used and stopped
 * on the thread that runs its loop; handles on other loops may live on
 * other threads.
 *
 * Rules that hold for every call in this header:
 *
 * - Async and blocking.  Every operation X has an async form exp_X(...,
 *   cb, ud) and a blocking twin exp_X_wait(...).  The async form returns 0
 *   when the operation was started, and then calls cb exactly once, never
 *   before exp_X has returned: with success, an error, a timeout, or
 *   EXP_ECANCELLED when the SDK stops.  When the async form returns an error
 *   instead, cb is never called.  The blocking form runs the SDK's loop
 *   until the result is there and returns it; called from inside any SDK
 *   callback of any handle on the same loop, or while a _wait runs that
 *   loop, it returns EXP_EDEADLOCK at once.  On the application's own loop,
 *   do not call a _wait from the application's own callbacks either:
 *   libuv's uv_run is not reentrant, and the SDK cannot see callbacks that
 *   are not its own.
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
 *   and message); a success does not clear it, exp_clear_error does.  A
 *   NULL handle is EXP_EOPTIONS (NULL from functions that
 *   return a pointer), never a crash.
 *
 * - Stopping.  exp_stop() may be called anywhere, also from inside a
 *   callback; pending operations complete with EXP_ECANCELLED.  A blocking
 *   call whose loop run reached such an exp_stop returns EXP_ECANCELLED:
 *   the handle is gone by then.
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

/* Marks what the shared library exports: the functions below, nothing
 * else. */
#if defined(__GNUC__)
#define EXP_EXTERN __attribute__((visibility("default")))
#define EXP_SENTINEL __attribute__((sentinel))
#else
#define EXP_EXTERN
#define EXP_SENTINEL
#endif

/* --------------------------------------------------------------- version */

/* EXP_VERSION_MAJOR, _MINOR, _PATCH, _STRING and _NUMBER: the version this
 * program was compiled against. */
#include "exp_version.h"

/* The version of the library running, which may be newer than the
 * header's: EXP_VERSION_NUMBER's form, and "MAJOR.MINOR.PATCH".  While
 * the major version is 0, each minor version may change the ABI (it is
 * in the shared library's soname). */
EXP_EXTERN unsigned exp_version(void);
EXP_EXTERN const char *exp_version_string(void);

/* ---------------------------------------------------------------- errors */

/* XX(name, value, message)
 *
 * Each code means one thing, and what a caller should do about it:
 *
 * | code          | means                                   | do           |
 * |---------------|-----------------------------------------|--------------|
 * | EXP_EOPTIONS  | a bad argument or option                | fix the call |
 * | EXP_ERUNTIME  | not allowed in the handle's state       | fix the call |
 * | EXP_EAUTH     | credentials refused                     | fix options  |
 * | EXP_EAPI      | the server refused (exp_last_error)     | per its code |
 * | EXP_ENOTFOUND | no such document                        | give up      |
 * | EXP_ETIMEOUT  | no answer in time                       | retry        |
 * | EXP_ECANCELLED| exp_stop or a cancel ended it           | nothing      |
 * | EXP_ENETWORK  | no connection, or it ended early (FIN   | retry        |
 * |               | or reset alike)                         |              |
 * | EXP_ETLS      | TLS failed: certificate, name, CA file  | fix options  |
 * |               | or an mbedtls library missing (README)  |              |
 * | EXP_EPROTOCOL | bytes from the server broke the protocol| give up,     |
 * |               | (bad HTTP, JSON, websocket, Socket.IO)  | report it    |
 * | EXP_ENOMEM    | an allocation failed, wherever it was   | free memory, |
 * |               | (parse, subscribe, TLS, CA file)        | retry        |
 * | EXP_EDEADLOCK | a _wait from inside a callback          | fix the call |
 * | EXP_ETOOBIG   | an answer over a configured cap         | raise the cap|
 * | EXP_EPAIRING  | the device is pairing                   | pair first   |
 *
 * After EXP_ENOMEM the handle stays usable: what failed is undone, nothing
 * leaks, and the real-time socket, if memory ran out while reading it,
 * reconnects (a broadcast in it is lost with it). */
#define EXP_ERRNO_MAP(XX)                                                      \
  XX(OPTIONS, -1, "invalid options")                                           \
  XX(RUNTIME, -2, "not allowed in the SDK's current state")                    \
  XX(AUTH, -3, "authentication failed")                                        \
  XX(API, -4, "the server answered with an error")                             \
  XX(NOTFOUND, -5, "not found")                                                \
  XX(TIMEOUT, -6, "timed out")                                                 \
  XX(CANCELLED, -7, "cancelled")                                               \
  XX(NETWORK, -8, "network error")                                             \
  XX(TLS, -9, "TLS error")                                                     \
  XX(PROTOCOL, -10, "malformed data from the server")                          \
  XX(NOMEM, -11, "out of memory")                                              \
  XX(DEADLOCK, -12, "blocking call from inside an SDK callback")               \
  XX(TOOBIG, -13, "response larger than the configured cap")                   \
  XX(PAIRING, -14, "not allowed while the device is pairing")

/* What calls return: EXP_OK or one of the negative codes above. */
typedef enum exp_errno {
  EXP_OK = 0, /* success */
#define EXP_XX_(name, value, msg) EXP_E##name = (value),
  EXP_ERRNO_MAP(EXP_XX_)
#undef EXP_XX_
} exp_errno;

/* "timed out"; "unknown error" for a value outside the list. */
EXP_EXTERN const char *exp_strerror(int err);
/* "EXP_ETIMEOUT"; "EXP_EUNKNOWN" for a value outside the list. */
EXP_EXTERN const char *exp_err_name(int err);

/* ------------------------------------------------------------ allocator */

/* The allocator's functions, with the C library's malloc, realloc, calloc
 * and free as their model. */
typedef void *(*exp_malloc_fn)(size_t size);
typedef void *(*exp_realloc_fn)(void *ptr, size_t size);
typedef void *(*exp_calloc_fn)(size_t count, size_t size);
typedef void (*exp_free_fn)(void *ptr);

/* Replaces the allocator of the whole process's SDK: every allocation of
 * the SDK goes through these functions, and so do cJSON's (cJSON_InitHooks
 * with m and f) and libuv's (uv_replace_allocator).  wslay allocates one
 * small context per websocket with malloc (the SDK keeps the messages
 * itself); mbedtls, as Debian builds it, offers no hook and uses calloc
 * for TLS sessions and, on plain http://, for the HMAC of a login's JWT
 * only (a context freed before it returns); loading it (dlopen) takes
 * libc's malloc too.  Call it once,
 * before anything else uses the SDK, cJSON or libuv: memory allocated
 * before would be freed with the wrong function.  EXP_EOPTIONS when a
 * function is NULL, EXP_ERUNTIME once an SDK handle was created.  The
 * functions must behave as their C library namesakes (malloc(0) may
 * return NULL or a unique pointer; free(NULL) does nothing). */
EXP_EXTERN int exp_set_allocator(exp_malloc_fn m, exp_realloc_fn r,
                                 exp_calloc_fn c, exp_free_fn f);

/* An SDK handle: one login to one EXP server (exp_new). */
typedef struct exp_sdk exp_sdk;

/* Detail of the latest failure on an SDK handle: read it after a call
 * returned (or a callback reported) an error, which it then describes.
 * Calls that succeed leave it as it was, so it may describe an older
 * failure; exp_clear_error forgets it. */
typedef struct exp_error_info {
  int code;             /* exp_errno, EXP_OK when nothing failed (since) */
  int http_status;      /* HTTP status, 0 when no response was read */
  const char *api_code; /* the server's "code", or NULL */
  const char *message;  /* human-readable detail, never NULL; "" for OK */
} exp_error_info;

/* The latest failure.  Valid until the next call on the handle or return
 * to its loop. */
EXP_EXTERN const exp_error_info *exp_last_error(const exp_sdk *sdk);
/* Back to EXP_OK, as before the first failure.  NULL is allowed. */
EXP_EXTERN void exp_clear_error(exp_sdk *sdk);

/* --------------------------------------------------------------- logging */

/* The level of a log line, and the minimum exp_set_log lets through. */
typedef enum exp_log_level {
  EXP_LOG_DEBUG, /* each REST call (method, path, status, time), token
                    refresh, subscription and its acknowledgement */
  EXP_LOG_INFO,  /* login, online, offline, why the socket reconnects */
  EXP_LOG_WARN,  /* retries and losses the SDK recovers from */
  EXP_LOG_ERROR, /* failures */
  EXP_LOG_NONE   /* as the minimum: nothing is logged */
} exp_log_level;

/* msg has no trailing newline and never contains a token, secret, password
 * or API key.  The callback runs inside SDK functions: it must not call the
 * SDK. */
typedef void (*exp_log_cb)(exp_log_level level, const char *msg, void *ud);

/* Default: EXP_LOG_WARN and above to stderr.  cb NULL restores stderr. */
EXP_EXTERN void exp_set_log(exp_sdk *sdk, exp_log_level min, exp_log_cb cb,
                            void *ud);

/* ------------------------------------------------------- handle, options */

/* Creates an SDK handle on loop, or, with loop NULL, on a private loop that
 * only the blocking calls run.  Several handles may share the
 * application's loop; a private loop is its handle's alone.  NULL when
 * out of memory, or when loop is another handle's private loop.
 *
 * Out of memory: libuv's uv_loop_init calls abort() when some of its own
 * allocations fail, so exp_new(NULL) may abort instead of returning NULL; a
 * program that must survive that creates the loop itself and passes it.
 * Once a loop exists, no allocation failure aborts: exp_new returns NULL
 * and every later call its error (test/oom sweeps this). */
EXP_EXTERN exp_sdk *exp_new(uv_loop_t *loop);

/* The loop the handle runs on (its private one when created with NULL). */
EXP_EXTERN uv_loop_t *exp_loop(const exp_sdk *sdk);

/* XX(name, key, type): type STR is set with exp_set_str, INT with
 * exp_set_int.  The comment gives the default, or what the option is when
 * it has none. */
#define EXP_OPTION_MAP(XX)                                                     \
  XX(HOST, "host", STR)                     /* https://api.goexp.io */         \
  XX(USERNAME, "username", STR)             /* a user's login */               \
  XX(PASSWORD, "password", STR)             /* the user's password */          \
  XX(ORGANIZATION, "organization", STR)     /* the user's organization */      \
  XX(UUID, "uuid", STR)                     /* a device's or consumer app's */ \
  XX(SECRET, "secret", STR)                 /* a device's secret */            \
  XX(API_KEY, "api_key", STR)               /* a consumer app's API key */     \
  XX(ALLOW_PAIRING, "allow_pairing", INT)   /* 0 */                            \
  XX(ENABLE_NETWORK, "enable_network", INT) /* 1 */                            \
  XX(CA_FILE, "ca_file", STR)               /* system CA bundle */             \
  XX(TLS_VERIFY, "tls_verify", INT)         /* 1; 0 turns checks off, WARN */  \
  XX(REQUEST_TIMEOUT_MS, "request_timeout_ms", INT) /* 10000 */                \
  XX(MAX_BODY_BYTES, "max_body_bytes", INT)         /* 32 MiB */               \
  XX(EIO_VERSION, "eio_version", INT)               /* 0: 4 then 3 */          \
  XX(RECONNECT_MIN_MS, "reconnect_min_ms", INT)     /* 1000 */                 \
  XX(RECONNECT_MAX_MS, "reconnect_max_ms", INT)     /* 20000 */                \
  XX(HOSTS, "hosts", STR)                           /* host alone */           \
  XX(HOSTS_RETRY_MS, "hosts_retry_ms", INT)         /* 60000 */                \
  XX(AUTH, "auth", STR)                         /* saved exp_auth_json text */ \
  XX(MAX_JSON_NODES, "max_json_nodes", INT)     /* 1000000 */                  \
  XX(STALL_TIMEOUT_MS, "stall_timeout_ms", INT) /* 10000 */

/* tls_verify 0 accepts any certificate for any name (expired, self-signed,
 * another host's): anyone on the path can read and change the traffic.
 * exp_start logs one WARN line saying so when it is set.
 *
 * max_body_bytes caps what one answer or socket message may hold;
 * max_json_nodes caps the JSON values of a REST answer, as each costs cJSON
 * a node of about 64 bytes (EXP_ETOOBIG past it).  stall_timeout_ms bounds
 * how long a connected socket that receives nothing goes unnoticed: after
 * half of it in silence the SDK pings (a websocket ping), and reconnects
 * when the other half passes without an answer.  A connection that dies
 * without closing (a black hole, a lost NAT mapping) is thus noticed
 * within stall_timeout_ms of its last byte, 10 s by default, rather than
 * after the server's Engine.IO heartbeat window (45 s on EXP servers). */

/* EXP_OPT_<name> for each option of the list above. */
typedef enum exp_option {
#define EXP_XX_(name, key, type) EXP_OPT_##name,
  EXP_OPTION_MAP(EXP_XX_)
#undef EXP_XX_
      EXP_OPT_COUNT_
} exp_option;

/* Several server nodes of one network (EXP_OPT_HOSTS): origins separated by
 * commas or spaces, e.g. "https://a.example,https://b.example", at most
 * 16, instead of EXP_OPT_HOST (setting both is EXP_EOPTIONS).  The login,
 * the token refreshes, REST calls and the socket use the first; when an
 * origin cannot be reached (no HTTP answer: refused, reset, timed out),
 * the next connection goes to the next origin in order, wrapping around:
 * the login and the socket after their usual backoff, a GET, PUT or DELETE
 * at once (each once per origin), any other call fails with its error and
 * the next one goes on.  EXP_OPT_HOSTS_RETRY_MS after leaving the first
 * origin, new connections try it again; a socket connected elsewhere stays
 * there until it drops or its token is renewed.  The auth payload's
 * api.host and network.host are not used then: the list names the nodes.
 * An HTTP error status (a 5xx too) is an answer, not a reason to move. */

/* Options are set before exp_start; the value is copied.  NULL or ""
 * clears a string option.  EXP_EOPTIONS for an unknown option or the wrong
 * type, EXP_ERUNTIME once started. */
EXP_EXTERN int exp_set_str(exp_sdk *sdk, exp_option opt, const char *value);
EXP_EXTERN int exp_set_int(exp_sdk *sdk, exp_option opt, int64_t value);

/* Several options in one call, by key: pairs of strings, then NULL; an
 * integer option's value is its decimal text.
 *   exp_set_options(sdk, "host", "http://127.0.0.1:9000", "uuid", uuid,
 *                   "secret", secret, "enable_network", "0", NULL);
 * Stops at the first that fails (those before it are set), with the error
 * of exp_set_str or exp_set_int, or EXP_EOPTIONS for an unknown key or a
 * value that is not an integer, named in exp_last_error. */
EXP_EXTERN int exp_set_options(exp_sdk *sdk, ...) EXP_SENTINEL;

/* ---------------------------------------------------------- start, stop */

/* Completion of exp_start: status 0 or a negative exp_errno. */
typedef void (*exp_done_cb)(exp_sdk *sdk, int status, void *ud);

/* Validates the options (EXP_EOPTIONS, with the option named in
 * exp_last_error; the handle can then be fixed and started again), then
 * logs in (or, with the auth option, takes the saved payload while it is
 * valid, see exp_auth_json).  cb gets 0 once authenticated and, with the
 * network enabled, online (a pairing device: also listening for its
 * credentials); EXP_EAUTH when the credentials are rejected, or the error that
 * stopped the login (EXP_ENETWORK, EXP_EAPI...).  After a failed start the
 * handle only refuses calls with that error until exp_stop.  Once started,
 * failed token renewals are retried every 60 s.  EXP_ERUNTIME when the
 * handle was already started.  exp_start_wait: timeout_ms 0 waits as long
 * as the login takes; on EXP_ETIMEOUT the login goes on. */
EXP_EXTERN int exp_start(exp_sdk *sdk, exp_done_cb cb, void *ud);
EXP_EXTERN int exp_start_wait(exp_sdk *sdk, uint64_t timeout_ms);

/* Closes every connection and timer, completes what is pending with
 * EXP_ECANCELLED, and frees the handle.  On a private loop everything is
 * released before it returns; on the application's loop the last bytes are
 * freed when that loop next runs, after which uv_loop_close() succeeds.
 * Safe from inside any callback (the teardown waits until it returns). */
EXP_EXTERN void exp_stop(exp_sdk *sdk);

/* Runs the SDK's loop for timeout_ms (for scripts that only listen); 0
 * runs it once without blocking, handling what already arrived.
 * EXP_EDEADLOCK from inside a callback, as for every _wait.
 * Nothing happens on a private loop while no SDK call runs it: a script
 * busy for longer than the server's heartbeat window (45 s on EXP
 * servers) loses its socket, as nobody answers the server's pings.  Call
 * exp_sleep(sdk, 0) now and then during long work, or run the SDK on the
 * application's loop.  After a pause, what already arrived in the socket
 * is read and delivered before the connection is judged. */
EXP_EXTERN int exp_sleep(exp_sdk *sdk, uint64_t timeout_ms);

/* ------------------------------------------------------------ auth, events */

/* The current auth payload ({token, expiration, identity, ...}), or NULL
 * before the first login.  Lent: valid until the next return to the loop. */
EXP_EXTERN const cJSON *exp_auth(const exp_sdk *sdk);
/* The same as JSON text, to store (it holds the token: keep it as secret
 * as the credentials) and give back as the auth option on the next start,
 * which then uses it instead of a login while it is valid for the same
 * credentials and not a pairing one; the credentials are still needed
 * for the logins after it.  Handed over (exp_free); NULL before the first
 * login or when out of memory. */
EXP_EXTERN char *exp_auth_json(const exp_sdk *sdk);

/* What exp_on handlers are called for, with data lent to them. */
typedef enum exp_event {
  EXP_EVENT_ONLINE,  /* the real-time socket connected; data NULL */
  EXP_EVENT_OFFLINE, /* the socket was lost or closed; data NULL */
  EXP_EVENT_UPDATE,  /* new auth payload after login or refresh */
  EXP_EVENT_ERROR,   /* fatal: credentials rejected;
                        data {code: "EXP_EAUTH", message} */
  EXP_EVENT_PAIRED   /* pairing done; data {uuid, secret} to store */
} exp_event;

/* A handler registered with exp_on, and its callback. */
typedef struct exp_handler exp_handler;
typedef void (*exp_event_cb)(exp_sdk *sdk, exp_event ev, const cJSON *data,
                             void *ud);

/* 1 while the real-time socket is connected (between EXP_EVENT_ONLINE and
 * EXP_EVENT_OFFLINE), else 0; always 0 with the network disabled. */
EXP_EXTERN int exp_is_connected(const exp_sdk *sdk);

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

/* result: the parsed JSON answer, NULL for an empty body; handed over to
 * the callback, which frees it with cJSON_Delete.  Non-2xx answers give
 * EXP_EAPI (404: EXP_ENOTFOUND) with the server's code and message in
 * exp_last_error. */
typedef void (*exp_json_cb)(exp_sdk *sdk, int status, cJSON *result, void *ud);

/* Makes the call; cb gets the answer. */
EXP_EXTERN int exp_request(exp_sdk *sdk, const exp_call *call, exp_json_cb cb,
                           void *ud);
EXP_EXTERN int exp_request_wait(exp_sdk *sdk, const exp_call *call,
                                cJSON **result);

/* exp_request with the method in the name. */
EXP_EXTERN int exp_get(exp_sdk *sdk, const char *path, const cJSON *query,
                       exp_json_cb cb, void *ud);
EXP_EXTERN int exp_get_wait(exp_sdk *sdk, const char *path, const cJSON *query,
                            cJSON **result);
EXP_EXTERN int exp_post(exp_sdk *sdk, const char *path, const cJSON *query,
                        const cJSON *body, exp_json_cb cb, void *ud);
EXP_EXTERN int exp_post_wait(exp_sdk *sdk, const char *path, const cJSON *query,
                             const cJSON *body, cJSON **result);
EXP_EXTERN int exp_put(exp_sdk *sdk, const char *path, const cJSON *query,
                       const cJSON *body, exp_json_cb cb, void *ud);
EXP_EXTERN int exp_put_wait(exp_sdk *sdk, const char *path, const cJSON *query,
                            const cJSON *body, cJSON **result);
EXP_EXTERN int exp_patch(exp_sdk *sdk, const char *path, const cJSON *query,
                         const cJSON *body, exp_json_cb cb, void *ud);
EXP_EXTERN int exp_patch_wait(exp_sdk *sdk, const char *path,
                              const cJSON *query, const cJSON *body,
                              cJSON **result);
EXP_EXTERN int exp_delete(exp_sdk *sdk, const char *path, const cJSON *query,
                          exp_json_cb cb, void *ud);
EXP_EXTERN int exp_delete_wait(exp_sdk *sdk, const char *path,
                               const cJSON *query, cJSON **result);

/* Frees a string the SDK handed over, with the SDK's allocator. */
EXP_EXTERN void exp_free(void *p);

/* json as compact JSON text (UTF-8), e.g. for a log line: handed over,
 * freed with exp_free; "null" for NULL.  NULL only when out of memory. */
EXP_EXTERN char *exp_json_string(const cJSON *json);

/* The value at path in json: a member's name, or names joined by dots for
 * nested objects ("location.uuid"), a segment of digits picking an array
 * element ("results.0.name"); "" is json itself.  Lent from json; NULL
 * when absent. */
EXP_EXTERN cJSON *exp_json_get(const cJSON *json, const char *path);

/* -------------------------------------------------------------- pairing */

/* A device started with allow_pairing and without a secret (or with one
 * the server refuses) logs in as a pairing device, and its exp_start
 * completes once it listens for the credentials a user will give it.
 * exp_pairing_code is the code to show (e.g. "ABCDEF"), NULL when the
 * login is not a pairing one; lent, valid until the next return to the
 * loop.  The device then gets EXP_EVENT_PAIRED and logs in as the paired
 * device. */
EXP_EXTERN const char *exp_pairing_code(const exp_sdk *sdk);

/* Pairs the device showing code (any case, spaces and dashes ignored), as
 * a user: uuid names the existing device that gets new credentials, NULL
 * makes a new one.  cb gets the device's document with its new "secret"
 * (cJSON_Delete).  The server's refusals are EXP_EAPI (403 "auth.user"
 * when not logged in as a user) and EXP_ENOTFOUND (no device waits with
 * that code, or no device has that uuid). */
EXP_EXTERN int exp_pair_device(exp_sdk *sdk, const char *code, const char *uuid,
                               exp_json_cb cb, void *ud);
EXP_EXTERN int exp_pair_device_wait(exp_sdk *sdk, const char *code,
                                    const char *uuid, cJSON **device);

/* ============================================================ resources */

/*
 * The platform's documents: devices, things, experiences, locations, feeds,
 * content, data items, and the zones of a location, all behind one opaque
 * exp_resource.
 *
 * - A resource owns its document, a cJSON object the application may read
 *   and change (exp_resource_document); that pointer stays the same for the
 *   resource's life.  Save sends it (PATCH of the whole document; for a data
 *   item, PUT of its value) and the server's answer then replaces the
 *   document's contents, as refresh does: pointers into the document taken
 *   before a save or refresh completes are invalid after it.
 * - Every resource handed over (a callback's res, a _wait's *out,
 *   exp_results_take) belongs to the caller, who frees it with
 *   exp_resource_free.  Freeing one that is being saved, refreshed or
 *   deleted is allowed: it goes when that completes.  Result sets are freed
 *   with exp_results_free, which frees the resources still in them.
 * - A zone is part of its location's document: its document is the element
 *   of the location's "zones" with the zone's key, saving or refreshing a
 *   zone saves or refreshes that location, and a zone keeps its location
 *   alive.  Zones have no uuid and cannot be fetched, created or deleted.
 * - A resource belongs to the SDK handle that made it.  After exp_stop, only
 *   reading it and exp_resource_free are allowed.
 * - A NULL resource, a NULL or empty uuid, key or group, a document that is
 *   not a JSON object and a call that does not apply to the resource's kind
 *   give EXP_EOPTIONS at once, without a request.  A uuid the server does not
 *   have gives EXP_ENOTFOUND; an answer of the wrong shape EXP_EPROTOCOL.
 *   Answers known without a request (a document that names no location, a
 *   zone its location no longer has) come through the callback too, like
 *   the server's.
 */

/* The kinds of resource, and the API path of each. */
typedef enum exp_kind {
  EXP_DEVICE,     /* /api/devices */
  EXP_THING,      /* /api/things */
  EXP_EXPERIENCE, /* /api/experiences */
  EXP_LOCATION,   /* /api/locations */
  EXP_FEED,       /* /api/connectors/feeds */
  EXP_CONTENT,    /* /api/content: read-only */
  EXP_DATA,       /* /api/data: exp_get_data, exp_create_data */
  EXP_ZONE        /* inside a location: exp_location_zones */
} exp_kind;

/* A resource of any kind, and a set of them a find answered. */
typedef struct exp_resource exp_resource;
typedef struct exp_results exp_results;

/* res: handed over (exp_resource_free); NULL when status is not 0. */
typedef void (*exp_resource_cb)(exp_sdk *sdk, int status, exp_resource *res,
                                void *ud);
/* results: handed over (exp_results_free); NULL when status is not 0. */
typedef void (*exp_results_cb)(exp_sdk *sdk, int status, exp_results *results,
                               void *ud);

/* GET of one resource: any kind but EXP_DATA and EXP_ZONE. */
EXP_EXTERN int exp_get_resource(exp_sdk *sdk, exp_kind kind, const char *uuid,
                                exp_resource_cb cb, void *ud);
EXP_EXTERN int exp_get_resource_wait(exp_sdk *sdk, exp_kind kind,
                                     const char *uuid, exp_resource **out);

/* GET of a collection, any kind but EXP_ZONE.  query is a flat JSON object
 * (NULL for none): {"name": "x"}, dotted keys for sub-fields
 * {"location.uuid": "..."}, and "limit", "skip", "sort"; data items are
 * found by {"group": "..."}. */
EXP_EXTERN int exp_find_resources(exp_sdk *sdk, exp_kind kind,
                                  const cJSON *query, exp_results_cb cb,
                                  void *ud);
EXP_EXTERN int exp_find_resources_wait(exp_sdk *sdk, exp_kind kind,
                                       const cJSON *query, exp_results **out);

/* POST of a new document (a JSON object) to the collection of a device,
 * thing, experience, location or feed; the answer is the new resource (a new
 * device's document has its "secret").  Data items: exp_create_data. */
EXP_EXTERN int exp_create_resource(exp_sdk *sdk, exp_kind kind,
                                   const cJSON *document, exp_resource_cb cb,
                                   void *ud);
EXP_EXTERN int exp_create_resource_wait(exp_sdk *sdk, exp_kind kind,
                                        const cJSON *document,
                                        exp_resource **out);

/* Save: every kind but content.  Refresh: every kind.  Delete: every kind
 * but content and zones; the resource and its document stay. */
EXP_EXTERN int exp_resource_save(exp_resource *res, exp_done_cb cb, void *ud);
EXP_EXTERN int exp_resource_save_wait(exp_resource *res);
EXP_EXTERN int exp_resource_refresh(exp_resource *res, exp_done_cb cb,
                                    void *ud);
EXP_EXTERN int exp_resource_refresh_wait(exp_resource *res);
EXP_EXTERN int exp_resource_delete(exp_resource *res, exp_done_cb cb, void *ud);
EXP_EXTERN int exp_resource_delete_wait(exp_resource *res);

/* Lent: owned by the resource (see above).  For a zone, NULL when its
 * location's document no longer has a zone with its key. */
EXP_EXTERN cJSON *exp_resource_document(const exp_resource *res);
/* The value at path in the document, as exp_json_get ("location.uuid",
 * "zones.0.key").  Lent, like the document; NULL when absent. */
EXP_EXTERN cJSON *exp_resource_get(const exp_resource *res, const char *path);
/* Replaces the value at path (as in exp_resource_get) with value, or adds
 * it, and the objects missing on the way; saving sends it.  value is
 * taken over, also on failure: exp_resource_set(res, "name",
 * cJSON_CreateString("x")).  EXP_ENOMEM for value NULL (what a failed
 * cJSON_Create* gives); EXP_EOPTIONS for an empty path or segment, or
 * when the way is blocked (a string where an object is needed, an index
 * outside the array). */
EXP_EXTERN int exp_resource_set(exp_resource *res, const char *path,
                                cJSON *value);
/* The document's "uuid", "name" and "subtype" strings, NULL when absent
 * (zones and data items have no uuid).  Lent: valid until the document
 * changes. */
EXP_EXTERN const char *exp_resource_uuid(const exp_resource *res);
EXP_EXTERN const char *exp_resource_name(const exp_resource *res);
EXP_EXTERN const char *exp_resource_subtype(const exp_resource *res);
/* Sets the document's "name" (copied); saving sends it. */
EXP_EXTERN int exp_resource_set_name(exp_resource *res, const char *name);
/* res must not be NULL. */
EXP_EXTERN exp_kind exp_resource_kind(const exp_resource *res);
/* The handle the resource belongs to. */
EXP_EXTERN exp_sdk *exp_resource_sdk(const exp_resource *res);
/* NULL is allowed. */
EXP_EXTERN void exp_resource_free(exp_resource *res);

/* A result set: the resources in the server's order. */
EXP_EXTERN size_t exp_results_count(const exp_results *rs);
/* Lent: owned by the set; NULL past the end or once taken. */
EXP_EXTERN exp_resource *exp_results_at(const exp_results *rs, size_t i);
/* Hands resource i over to the caller (exp_resource_free) and leaves NULL
 * in its place. */
EXP_EXTERN exp_resource *exp_results_take(exp_results *rs, size_t i);
/* The answer's "total": how many match, beyond any "limit"; the count for a
 * set of zones. */
EXP_EXTERN int64_t exp_results_total(const exp_results *rs);
/* Lent: the answer's other top-level keys, an object; NULL for zones. */
EXP_EXTERN const cJSON *exp_results_extra(const exp_results *rs);
/* NULL is allowed. */
EXP_EXTERN void exp_results_free(exp_results *rs);

/* The device the SDK is logged in as, and its experience, location and
 * zones (an empty set when it has no location; its location or experience
 * when it has none: EXP_ENOTFOUND).  EXP_ENOTFOUND when not logged in as a
 * device; EXP_ERUNTIME at once before the first login. */
EXP_EXTERN int exp_current_device(exp_sdk *sdk, exp_resource_cb cb, void *ud);
EXP_EXTERN int exp_current_device_wait(exp_sdk *sdk, exp_resource **out);
EXP_EXTERN int exp_current_experience(exp_sdk *sdk, exp_resource_cb cb,
                                      void *ud);
EXP_EXTERN int exp_current_experience_wait(exp_sdk *sdk, exp_resource **out);
EXP_EXTERN int exp_current_location(exp_sdk *sdk, exp_resource_cb cb, void *ud);
EXP_EXTERN int exp_current_location_wait(exp_sdk *sdk, exp_resource **out);
EXP_EXTERN int exp_current_zones(exp_sdk *sdk, exp_results_cb cb, void *ud);
EXP_EXTERN int exp_current_zones_wait(exp_sdk *sdk, exp_results **out);

/* A device's or thing's location (document "location.uuid") and zones: the
 * location's zones whose key the document lists in "location.zones", in the
 * location's order, all sharing one location.  When the document names no
 * location: EXP_ENOTFOUND for the location, an empty set of zones (status
 * 0), without a request. */
EXP_EXTERN int exp_resource_location(exp_resource *res, exp_resource_cb cb,
                                     void *ud);
EXP_EXTERN int exp_resource_location_wait(exp_resource *res,
                                          exp_resource **out);
EXP_EXTERN int exp_resource_zones(exp_resource *res, exp_results_cb cb,
                                  void *ud);
EXP_EXTERN int exp_resource_zones_wait(exp_resource *res, exp_results **out);

/* A device's experience (document "experience.uuid"); EXP_ENOTFOUND,
 * without a request, when the document names none. */
EXP_EXTERN int exp_device_experience(exp_resource *device, exp_resource_cb cb,
                                     void *ud);
EXP_EXTERN int exp_device_experience_wait(exp_resource *device,
                                          exp_resource **out);

/* The devices of an experience, location or zone, and the things of a
 * location or zone: a find with query (NULL for none) plus the filter on
 * "experience.uuid", "location.uuid" and "location.zones.key". */
EXP_EXTERN int exp_resource_devices(exp_resource *res, const cJSON *query,
                                    exp_results_cb cb, void *ud);
EXP_EXTERN int exp_resource_devices_wait(exp_resource *res, const cJSON *query,
                                         exp_results **out);
EXP_EXTERN int exp_resource_things(exp_resource *res, const cJSON *query,
                                   exp_results_cb cb, void *ud);
EXP_EXTERN int exp_resource_things_wait(exp_resource *res, const cJSON *query,
                                        exp_results **out);

/* A location's zones, read from its document now (no request): *out gets a
 * set (exp_results_free) of zones that share the location.  EXP_EPROTOCOL
 * when "zones" is not an array of objects with a string "key". */
EXP_EXTERN int exp_location_zones(exp_resource *location, exp_results **out);

/* Absolute URLs, returned malloc'd (exp_free), NULL with exp_last_error set
 * when the SDK has no auth payload yet, the kind is wrong, the document
 * lacks what the URL needs, or memory runs out.
 * - layout: {api host}/api/locations/{uuid}/layout?_rt={restricted token}
 * - content: {api host}/api/delivery{path}?_rt=..., each segment of the
 *   document's "path" percent-encoded; an app's URL names its
 *   "/index.html"; a url item's is its document's "url".
 * - variant: the content URL plus "&variant={name}", for a file. */
EXP_EXTERN char *exp_location_layout_url(const exp_resource *location);
EXP_EXTERN char *exp_content_url(const exp_resource *content);
EXP_EXTERN char *exp_content_variant_url(const exp_resource *content,
                                         const char *name);
/* 1 when the content's "variants" has one called name, else 0. */
EXP_EXTERN int exp_content_has_variant(const exp_resource *content,
                                       const char *name);

/* The children of a content folder: a content find with {"parent": uuid}
 * plus query (NULL for none). */
EXP_EXTERN int exp_content_children(exp_resource *content, const cJSON *query,
                                    exp_results_cb cb, void *ud);
EXP_EXTERN int exp_content_children_wait(exp_resource *content,
                                         const cJSON *query, exp_results **out);

/* The key of a zone.  Lent: valid while the zone lives. */
EXP_EXTERN const char *exp_zone_key(const exp_resource *zone);
/* The location a zone belongs to.  Lent: valid while the zone lives. */
EXP_EXTERN exp_resource *exp_zone_location(const exp_resource *zone);

/* A feed's data: GET .../feeds/{uuid}/data with query (NULL for none; a
 * dynamic feed takes e.g. {"searchValue": "19713"}).  The result is handed
 * over as in exp_request. */
EXP_EXTERN int exp_feed_data(exp_resource *feed, const cJSON *query,
                             exp_json_cb cb, void *ud);
EXP_EXTERN int exp_feed_data_wait(exp_resource *feed, const cJSON *query,
                                  cJSON **result);

/* Data items: {group, key, value}, value a JSON object.  group NULL means
 * "default".  Create is an upsert (PUT of the value); data items are found
 * with exp_find_resources(sdk, EXP_DATA, {"group": ...}, ...). */
EXP_EXTERN int exp_get_data(exp_sdk *sdk, const char *group, const char *key,
                            exp_resource_cb cb, void *ud);
EXP_EXTERN int exp_get_data_wait(exp_sdk *sdk, const char *group,
                                 const char *key, exp_resource **out);
EXP_EXTERN int exp_create_data(exp_sdk *sdk, const char *group, const char *key,
                               const cJSON *value, exp_resource_cb cb,
                               void *ud);
EXP_EXTERN int exp_create_data_wait(exp_sdk *sdk, const char *group,
                                    const char *key, const cJSON *value,
                                    exp_resource **out);
/* Lent, from the document; NULL when absent. */
EXP_EXTERN const char *exp_data_group(const exp_resource *data);
EXP_EXTERN const char *exp_data_key(const exp_resource *data);
EXP_EXTERN cJSON *exp_data_value(const exp_resource *data);
/* Replaces the value with a copy of value (a JSON object); saving sends it. */
EXP_EXTERN int exp_data_set_value(exp_resource *data, const cJSON *value);

/* ======================================================== end resources */

/* ============================================================== network */

/*
 * The real-time network: named channels on which anyone broadcasts, and
 * listeners that receive those broadcasts and may respond to them.
 *
 * - A channel is a name plus two flags within the organization the SDK is
 *   logged in to; same name with other flags is another channel.  System
 *   channels carry the server's own events ("update" with the new document
 *   after a save, "delete" after a delete); nobody else broadcasts on them.
 *   A consumer app may only use consumer channels.  Channels are plain
 *   values: free them whenever, listeners and broadcasts do not need them.
 * - Broadcasting is a REST call: the server holds it open for timeout_ms and
 *   answers the JSON array of the responses that arrived meanwhile (raw
 *   payloads, in arrival order).  It works with enable_network off.
 * - Listening subscribes the channel on the socket and completes when the
 *   server acknowledges it; EXP_ENETWORK "listen timed out" when it does
 *   not within the timeout, at once when enable_network is off.  A listener
 *   receives the broadcasts of its event name that arrive after its listen
 *   completed, in one of two styles: a callback per broadcast (for
 *   applications on their own loop), or a queue read with exp_listener_next
 *   or exp_listener_wait (for scripts).  Every listener gets its own
 *   message of each broadcast; the broadcast's bytes are held once, as
 *   they came over the wire, however many listeners have it, and its
 *   payload is parsed only when a listener asks for it.  A broadcast whose
 *   payload cannot be parsed (invalid, or nested deeper than cJSON's
 *   limit of CJSON_NESTING_LIMIT levels) is dropped and counted on the
 *   listeners it was for (exp_listener_dropped), with a warning in the
 *   log: the socket stays.  The socket reconnects by itself and subscribes the
 *   channels that still have listeners again; broadcasts sent while it was
 *   down are missed.
 * - A pairing device (allow_pairing) listens for its credentials by itself
 *   and raises EXP_EVENT_PAIRED when it got them.
 * - After exp_stop, channels, listeners and messages may still be read and
 *   freed; everything else fails with EXP_ERUNTIME (without an
 *   exp_last_error: the handle is gone).
 */

/* A channel, a listener for one event name on it, and a broadcast a
 * listener received. */
typedef struct exp_channel exp_channel;
typedef struct exp_listener exp_listener;
typedef struct exp_message exp_message;

#define EXP_CHANNEL_SYSTEM 1   /* the server's own events */
#define EXP_CHANNEL_CONSUMER 2 /* open to consumer apps */

/* The channel called name (UTF-8, not empty) with flags (EXP_CHANNEL_*)
 * in the organization of the current login; free it with exp_channel_free.
 * NULL with exp_last_error before the first login (EXP_ERUNTIME), for a bad
 * name or flags (EXP_EOPTIONS), or when out of memory. */
EXP_EXTERN exp_channel *exp_get_channel(exp_sdk *sdk, const char *name,
                                        int flags);
/* The channel of a resource: named by its uuid, "<location uuid>:zone:<key>"
 * for a zone, "data:<key>:<group>" for a data item.  NULL as above, or when
 * the document lacks what the name needs (EXP_EOPTIONS). */
EXP_EXTERN exp_channel *exp_resource_channel(const exp_resource *res,
                                             int flags);
/* Lent, valid while the channel lives.  The id is what the socket
 * and exp_message_channel name it by: standard base64 of the JSON
 * ["<organization>","<name>",<system 0|1>,<consumer 0|1>]. */
EXP_EXTERN const char *exp_channel_name(const exp_channel *ch);
EXP_EXTERN const char *exp_channel_id(const exp_channel *ch);
EXP_EXTERN int exp_channel_flags(const exp_channel *ch);
/* NULL is allowed. */
EXP_EXTERN void exp_channel_free(exp_channel *ch);

/* Broadcasts event name with payload (NULL: none) and collects responses
 * for timeout_ms (0: none; the reference server accepts up to 60000).  cb
 * gets the array of responses (cJSON_Delete), NULL on error; cb may be NULL
 * when nobody needs the answer.  The server's refusals are EXP_EAPI with
 * its code in exp_last_error: "network.system" on a system channel,
 * "network.consumer" for a consumer app on another channel. */
EXP_EXTERN int exp_broadcast(exp_channel *ch, const char *name,
                             const cJSON *payload, uint64_t timeout_ms,
                             exp_json_cb cb, void *ud);
EXP_EXTERN int exp_broadcast_wait(exp_channel *ch, const char *name,
                                  const cJSON *payload, uint64_t timeout_ms,
                                  cJSON **responses);

/* Conventional broadcasts, timeout_ms 0 meaning 2000: "fling" with app
 * launch options (e.g. {"content": "<uuid>"}), and "identify" without a
 * payload, which asks a device to show itself. */
EXP_EXTERN int exp_fling(exp_channel *ch, const cJSON *payload,
                         uint64_t timeout_ms, exp_json_cb cb, void *ud);
EXP_EXTERN int exp_fling_wait(exp_channel *ch, const cJSON *payload,
                              uint64_t timeout_ms, cJSON **responses);
EXP_EXTERN int exp_identify(exp_channel *ch, uint64_t timeout_ms,
                            exp_json_cb cb, void *ud);
EXP_EXTERN int exp_identify_wait(exp_channel *ch, uint64_t timeout_ms,
                                 cJSON **responses);

/* Zero means the default everywhere. */
typedef struct exp_listen_opts {
  size_t queue_max;    /* queued broadcasts kept, oldest dropped: 1000 */
  uint64_t max_age_ms; /* queued broadcasts older are dropped: 60000 */
  uint64_t timeout_ms; /* for the server's acknowledgement: 10000 */
  /* Bytes queued, oldest dropped: 64 MiB.  A broadcast weighs what it
   * holds: about its size on the wire (shared with other listeners, but
   * counted whole in each queue); the newest is kept even when it alone
   * weighs more. */
  size_t queue_max_bytes;
} exp_listen_opts;

/* A broadcast for a callback-style listener.  msg is handed over
 * (exp_message_free). */
typedef void (*exp_message_cb)(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                               void *ud);
/* l: handed over (exp_listener_cancel); NULL when status is not 0. */
typedef void (*exp_listener_cb)(exp_sdk *sdk, int status, exp_listener *l,
                                void *ud);
/* msg: handed over (exp_message_free); NULL when status is not 0. */
typedef void (*exp_next_cb)(exp_sdk *sdk, int status, exp_message *msg,
                            void *ud);

/* Listens for event name on ch (NULL: every event on ch); cb (required)
 * gets the listener once the server acknowledged the subscription.  With
 * on_message, each broadcast goes to on_message(msg_ud); with on_message
 * NULL, broadcasts are queued for exp_listener_next/_wait, bounded by opts
 * (NULL: the defaults).
 * exp_listen_wait makes either style (out required): a script gets a
 * callback-style listener's broadcasts while it runs the loop (exp_sleep
 * or any other _wait). */
EXP_EXTERN int exp_listen(exp_channel *ch, const char *name,
                          const exp_listen_opts *opts,
                          exp_message_cb on_message, void *msg_ud,
                          exp_listener_cb cb, void *ud);
EXP_EXTERN int exp_listen_wait(exp_channel *ch, const char *name,
                               const exp_listen_opts *opts,
                               exp_message_cb on_message, void *msg_ud,
                               exp_listener **out);

/* The oldest queued broadcast, or the next to arrive within timeout_ms;
 * EXP_ETIMEOUT when there is none.  timeout_ms 0 takes only what is
 * there: exp_listener_next one already queued; exp_listener_wait also one
 * that already arrived in the socket (it runs one pass of the loop first,
 * without blocking).  One next or
 * wait at a time per listener (EXP_ERUNTIME otherwise, and for callback-
 * style listeners). */
EXP_EXTERN int exp_listener_next(exp_listener *l, uint64_t timeout_ms,
                                 exp_next_cb cb, void *ud);
EXP_EXTERN int exp_listener_wait(exp_listener *l, uint64_t timeout_ms,
                                 exp_message **out);

/* Broadcasts dropped so far: queue full, too old, or out of memory.  When
 * memory runs out before a broadcast's id, name and channel are read, it
 * is counted only if its channel id and name take at most 1536 bytes
 * together as JSON strings and it did not come on both sessions of a
 * renewal: otherwise which listeners it was for, or whether its other
 * copy reached them, is not known.  A socket that runs out of memory while
 * reading a frame drops and reconnects (EXP_EVENT_OFFLINE): what it was
 * reading is missed, like what is sent while it is down. */
EXP_EXTERN uint64_t exp_listener_dropped(const exp_listener *l);
/* Broadcasts queued now. */
EXP_EXTERN size_t exp_listener_queued(const exp_listener *l);

/* Stops delivery to l, completes its pending next with EXP_ECANCELLED,
 * frees its queue and l.  Safe inside any callback, also l's own.  The
 * server is not told; the channel stays subscribed until the socket
 * reconnects.  NULL is allowed. */
EXP_EXTERN void exp_listener_cancel(exp_listener *l);

/* A received broadcast.  Lent, valid while the message lives: the event
 * name, the channel's id, the broadcast's id, and the payload (JSON
 * null when the broadcast had none), which the application may change.
 * The payload is parsed on the first call, once per message; NULL when
 * out of memory.  exp_message_payload_json gives the payload's JSON text
 * as it came (UTF-8, NUL-terminated, *len its length; len may be NULL),
 * shared by every listener's message and never parsed: for relays and
 * loggers. */
EXP_EXTERN const char *exp_message_name(const exp_message *msg);
EXP_EXTERN const char *exp_message_channel(const exp_message *msg);
EXP_EXTERN const char *exp_message_id(const exp_message *msg);
EXP_EXTERN cJSON *exp_message_payload(const exp_message *msg);
EXP_EXTERN const char *exp_message_payload_json(const exp_message *msg,
                                                size_t *len);
/* The value at path in the payload, as exp_resource_get; lent like the
 * payload, NULL when absent. */
EXP_EXTERN cJSON *exp_message_get(const exp_message *msg, const char *path);

/* Sends payload (NULL: JSON null) as a response to the broadcast; the
 * broadcaster sees it if it arrives within its timeout.  Works after the
 * listener was cancelled; the message may be freed as soon as this
 * returns.  cb gets the server's answer ({}), and may be NULL. */
EXP_EXTERN int exp_message_respond(exp_message *msg, const cJSON *payload,
                                   exp_json_cb cb, void *ud);
EXP_EXTERN int exp_message_respond_wait(exp_message *msg, const cJSON *payload,
                                        cJSON **result);

/* NULL is allowed. */
EXP_EXTERN void exp_message_free(exp_message *msg);

/* ========================================================== end network */

#ifdef __cplusplus
}
#endif
#endif /* EXP_H */
