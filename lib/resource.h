/*
 * resource.h: the generic resource behind every EXP document kind, result
 * sets, and the chained REST operations the helpers are built from
 * (internal).
 *
 * Everything here goes through the public REST calls (exp_request) and
 * exp_auth; the per-kind helpers live in content.c, current.c, data.c,
 * feed.c, related.c and zone.c.
 */
#ifndef EXP_RESOURCE_H
#define EXP_RESOURCE_H

#include <stdint.h>

#include "exp.h"

/* Resources are reference counted inside the library only: the caller's
 * handle is one reference, a pending operation on it another, and every
 * zone holds one on its location.  exp_resource_free drops the caller's. */
struct exp_resource {
  exp_sdk *sdk;
  exp_kind kind;
  unsigned refs;
  cJSON *doc;             /* owned object; NULL for a zone */
  exp_resource *location; /* zone: its location, a reference held */
  char *key;              /* zone: the key it is found by */
};

struct exp_results {
  exp_resource **items;
  size_t count;
  int64_t total;
  cJSON *extra; /* the answer without "results" and "total"; NULL for zones */
};

/* Takes doc (an object) over.  NULL when out of memory (doc is then
 * freed). */
exp_resource *exp_resource_new(exp_sdk *sdk, exp_kind kind, cJSON *doc);
/* A zone of location (a reference is taken) found by key (copied). */
exp_resource *exp_resource_new_zone(exp_resource *location, const char *key);
exp_resource *exp_resource_ref(exp_resource *res);

/* Sets the SDK's last error and returns code. */
int exp_resource_fail(exp_sdk *sdk, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Replaces (or adds) member name of obj by item, which is taken over
 * (EXP_ENOMEM when item is NULL). */
int exp_resource_set_member(exp_sdk *sdk, cJSON *obj, const char *name,
                            cJSON *item);

/* EXP_EOPTIONS unless res is one of the kinds in mask (bits 1 << kind). */
int exp_resource_check_kind(const exp_resource *res, unsigned mask,
                            const char *what);
#define EXP_KIND_BIT(k) (1u << (k))

/* The collection path of a kind ("/api/devices"); NULL for data and
 * zones. */
const char *exp_resource_collection(exp_kind kind);
/* "/api/devices/<uuid>" with uuid percent-encoded; malloc'd. */
int exp_resource_item_path(exp_sdk *sdk, exp_kind kind, const char *uuid,
                           const char *suffix, char **out);
/* "/api/data/<group>/<key>", each percent-encoded; malloc'd. */
int exp_resource_data_path(exp_sdk *sdk, const char *group, const char *key,
                           char **out);

/* The string member name of obj, NULL when absent or not a string. */
const char *exp_resource_str(const cJSON *obj, const char *name);
/* The string member path (dotted: "location.uuid") of obj, or NULL. */
const char *exp_resource_str_at(const cJSON *obj, const char *path);

/* Turns a find answer into a result set of kind, taking answer over (it is
 * freed on error).  EXP_EPROTOCOL (msg set) when it is not an object with
 * an array "results" of objects and a numeric "total" (absent: the
 * count). */
int exp_results_from_answer(exp_sdk *sdk, exp_kind kind, cJSON *answer,
                            exp_results **out, char *msg, size_t msg_size);
/* An empty set with room for n resources, extra NULL; NULL on ENOMEM. */
exp_results *exp_results_new(size_t n);

/* Replaces the contents of res's document (of its location for a zone) by
 * those of answer, which is taken over.  EXP_EPROTOCOL when answer is not
 * an object. */
int exp_resource_replace(exp_resource *res, cJSON *answer);

/* The name a resource's real-time channel has ("<uuid>",
 * "data:<key>:<group>", "<locationUuid>:zone:<key>"), malloc'd; NULL when
 * the document lacks the parts (EXP_EOPTIONS) or out of memory. */
char *exp_resource_channel_name(const exp_resource *res);

/* ---------------------------------------------------------- operations */

/* One asynchronous operation: one or more REST calls, then one callback of
 * the type set in cb_type. */
typedef struct exp_resource_op exp_resource_op;
/* Handles the answer to the op's latest request (status 0 or an error;
 * answer owned by the step). */
typedef void (*exp_resource_step)(exp_resource_op *op, int status,
                                  cJSON *answer);

typedef enum exp_resource_cb_type {
  EXP_RESOURCE_CB_RESOURCE,
  EXP_RESOURCE_CB_RESULTS,
  EXP_RESOURCE_CB_DONE,
  EXP_RESOURCE_CB_JSON
} exp_resource_cb_type;

struct exp_resource_op {
  exp_sdk *sdk;
  exp_kind kind;         /* the kind the answer makes */
  exp_resource *subject; /* a reference held, or NULL */
  cJSON *keys;           /* zones: the keys to keep, owned */
  exp_resource_step step;
  exp_resource_cb_type cb_type;
  union {
    exp_resource_cb resource;
    exp_results_cb results;
    exp_done_cb done;
    exp_json_cb json;
  } cb;
  void *ud;
};

/* A completion callback of any type, as exp_resource_op_new takes it. */
#define EXP_RESOURCE_CB(f) ((void (*)(void))(f))

/* NULL when out of memory (the SDK's error set).  subject may be NULL. */
exp_resource_op *exp_resource_op_new(exp_sdk *sdk, exp_kind kind,
                                     exp_resource *subject,
                                     exp_resource_cb_type cb_type,
                                     void (*cb)(void), void *ud);
void exp_resource_op_free(exp_resource_op *op);

/* Sends a request whose answer goes to step.  On error the op is left to
 * the caller: freed at the first request, finished later. */
int exp_resource_op_send(exp_resource_op *op, const char *method,
                         const char *path, const cJSON *query,
                         const cJSON *body, exp_resource_step step);

/* Calls step(op, 0, NULL) from the loop instead of sending a request, for
 * an op whose outcome is known now but may not be reported before the
 * async call returns; step(op, EXP_ECANCELLED, NULL) when the SDK stops
 * first (exp_sdk_defer).  On error (set) the op is left to the caller. */
int exp_resource_op_defer(exp_resource_op *op, exp_resource_step step);

/* Calls the op's callback with status and result (handed over: an
 * exp_resource, exp_results or cJSON by cb_type, NULL on error) and frees
 * the op. */
void exp_resource_op_finish(exp_resource_op *op, int status, void *result);
/* Sets the last error, then finishes with it. */
/* The common start of a step that expects a JSON object: 1 when answer is
 * one; else finishes op (with status, or EXP_EPROTOCOL naming what), frees
 * answer, and returns 0. */
int exp_resource_op_object(exp_resource_op *op, int status, cJSON *answer,
                           const char *what);
void exp_resource_op_fail(exp_resource_op *op, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Steps that end an op: the answer as a resource of op->kind, as a result
 * set of op->kind, replacing the subject's document, ignored, handed over
 * as JSON. */
void exp_resource_step_resource(exp_resource_op *op, int status, cJSON *answer);
void exp_resource_step_results(exp_resource_op *op, int status, cJSON *answer);
void exp_resource_step_replace(exp_resource_op *op, int status, cJSON *answer);
void exp_resource_step_done(exp_resource_op *op, int status, cJSON *answer);
void exp_resource_step_json(exp_resource_op *op, int status, cJSON *answer);

/* Starts a GET of a single resource of kind by uuid into op, whose answer
 * goes to step (op->kind is left alone).  EXP_EOPTIONS for a NULL or empty
 * uuid. */
int exp_resource_op_get(exp_resource_op *op, exp_kind kind, const char *uuid,
                        exp_resource_step step);
/* Starts a find of kind with query plus (name, value) filters, NULL
 * terminated, into op. */
int exp_resource_op_find(exp_resource_op *op, exp_kind kind, const cJSON *query,
                         ...);

/* --------------------------------------------------------- blocking */

/* The waiter's callbacks and finishers for resources (waiter.h). */
void exp_wait_resource_cb(exp_sdk *sdk, int status, exp_resource *res,
                          void *ud);
void exp_wait_results_cb(exp_sdk *sdk, int status, exp_results *results,
                         void *ud);
struct exp_waiter;
int exp_wait_resource(struct exp_waiter *w, exp_resource **out);
int exp_wait_results(struct exp_waiter *w, exp_results **out);

#endif
