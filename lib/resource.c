/* resource.c: the generic resource, result sets, and the REST operations
 * every kind shares (get, find, create, save, refresh, delete). */
#include "resource.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "common.h"
#include "json.h"
#include "waiter.h"
#include "sdk.h"
#include "url.h"

static const char *const collections[] = {
    [EXP_DEVICE] = "/api/devices",
    [EXP_THING] = "/api/things",
    [EXP_EXPERIENCE] = "/api/experiences",
    [EXP_LOCATION] = "/api/locations",
    [EXP_FEED] = "/api/connectors/feeds",
    [EXP_CONTENT] = "/api/content",
    [EXP_DATA] = "/api/data",
    [EXP_ZONE] = NULL,
};

static const char *const kind_names[] = {
    [EXP_DEVICE] = "device",
    [EXP_THING] = "thing",
    [EXP_EXPERIENCE] = "experience",
    [EXP_LOCATION] = "location",
    [EXP_FEED] = "feed",
    [EXP_CONTENT] = "content",
    [EXP_DATA] = "data item",
    [EXP_ZONE] = "zone",
};

static int valid_kind(exp_kind kind) {
  return (unsigned)kind < EXP_ARRAY_SIZE(kind_names);
}

static const char *kind_name(exp_kind kind) {
  return valid_kind(kind) ? kind_names[kind] : "unknown kind";
}

int exp_resource_fail(exp_sdk *sdk, int code, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  exp_sdk_error(sdk, code, 0, NULL, "%s", msg);
  return code;
}

int exp_resource_check_kind(const exp_resource *res, unsigned mask,
                            const char *what) {
  if (res == NULL)
    return EXP_EOPTIONS;
  if (mask & EXP_KIND_BIT(res->kind))
    return 0;
  return exp_resource_fail(res->sdk, EXP_EOPTIONS, "a %s has no %s",
                           kind_name(res->kind), what);
}

/* ---------------------------------------------------------- lifetime */

exp_resource *exp_resource_new(exp_sdk *sdk, exp_kind kind, cJSON *doc) {
  exp_resource *res = exp_calloc(1, sizeof(*res));
  if (res == NULL) {
    cJSON_Delete(doc);
    return NULL;
  }
  res->sdk = sdk;
  res->kind = kind;
  res->refs = 1;
  res->doc = doc;
  return res;
}

exp_resource *exp_resource_new_zone(exp_resource *location, const char *key) {
  exp_resource *z = exp_calloc(1, sizeof(*z));
  if (z == NULL)
    return NULL;
  z->key = exp_strdup(key);
  if (z->key == NULL) {
    exp_free(z);
    return NULL;
  }
  z->sdk = location->sdk;
  z->kind = EXP_ZONE;
  z->refs = 1;
  z->location = exp_resource_ref(location);
  return z;
}

exp_resource *exp_resource_ref(exp_resource *res) {
  res->refs++;
  return res;
}

void exp_resource_free(exp_resource *res) {
  if (res == NULL || --res->refs > 0)
    return;
  cJSON_Delete(res->doc);
  exp_resource_free(res->location);
  exp_free(res->key);
  exp_free(res);
}

/* ---------------------------------------------------------- accessors */

const char *exp_resource_str(const cJSON *obj, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *exp_resource_str_at(const cJSON *obj, const char *path) {
  char part[64];
  const char *dot;
  while ((dot = strchr(path, '.')) != NULL) {
    size_t n = (size_t)(dot - path);
    if (n >= sizeof(part))
      return NULL;
    memcpy(part, path, n);
    part[n] = '\0';
    obj = cJSON_GetObjectItemCaseSensitive(obj, part);
    if (!cJSON_IsObject(obj))
      return NULL;
    path = dot + 1;
  }
  return exp_resource_str(obj, path);
}

static cJSON *zone_item(const exp_resource *zone) {
  const cJSON *zones =
      cJSON_GetObjectItemCaseSensitive(zone->location->doc, "zones");
  cJSON *z;
  cJSON_ArrayForEach(z, zones) {
    const char *key = exp_resource_str(z, "key");
    if (key != NULL && strcmp(key, zone->key) == 0 && cJSON_IsObject(z))
      return z;
  }
  return NULL;
}

cJSON *exp_resource_document(const exp_resource *res) {
  if (res == NULL)
    return NULL;
  return res->kind == EXP_ZONE ? zone_item(res) : res->doc;
}

const char *exp_resource_uuid(const exp_resource *res) {
  if (res == NULL || res->kind == EXP_ZONE || res->kind == EXP_DATA)
    return NULL;
  return exp_resource_str(res->doc, "uuid");
}

const char *exp_resource_name(const exp_resource *res) {
  return exp_resource_str(exp_resource_document(res), "name");
}

const char *exp_resource_subtype(const exp_resource *res) {
  return exp_resource_str(exp_resource_document(res), "subtype");
}

int exp_resource_set_member(exp_sdk *sdk, cJSON *obj, const char *name,
                            cJSON *item) {
  if (item == NULL)
    return exp_resource_fail(sdk, EXP_ENOMEM, "out of memory");
  if (cJSON_GetObjectItemCaseSensitive(obj, name) != NULL
          ? !cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item)
          : !cJSON_AddItemToObject(obj, name, item)) {
    cJSON_Delete(item);
    return exp_resource_fail(sdk, EXP_ENOMEM, "out of memory");
  }
  return 0;
}

int exp_resource_set_name(exp_resource *res, const char *name) {
  cJSON *doc;
  if (res == NULL)
    return EXP_EOPTIONS;
  if (name == NULL)
    return exp_resource_fail(res->sdk, EXP_EOPTIONS, "no name given");
  doc = exp_resource_document(res);
  if (doc == NULL)
    return exp_resource_fail(res->sdk, EXP_ENOTFOUND,
                             "the location has no zone \"%s\" any more",
                             res->key);
  return exp_resource_set_member(res->sdk, doc, "name",
                                 cJSON_CreateString(name));
}

cJSON *exp_resource_get(const exp_resource *res, const char *path) {
  return exp_json_path(exp_resource_document(res), path);
}

int exp_resource_set(exp_resource *res, const char *path, cJSON *value) {
  cJSON *doc = exp_resource_document(res);
  int r;
  if (res == NULL) {
    cJSON_Delete(value);
    return EXP_EOPTIONS;
  }
  if (doc == NULL) {
    cJSON_Delete(value);
    return exp_resource_fail(res->sdk, EXP_ENOTFOUND,
                             "the location has no zone \"%s\" any more",
                             res->key);
  }
  r = exp_json_set_path(doc, path, value);
  if (r == EXP_ENOMEM)
    return exp_resource_fail(res->sdk, r, "out of memory");
  if (r != 0)
    return exp_resource_fail(res->sdk, r,
                             "cannot set \"%.100s\" in the document",
                             path != NULL ? path : "(null)");
  return 0;
}

exp_kind exp_resource_kind(const exp_resource *res) {
  return res->kind;
}

exp_sdk *exp_resource_sdk(const exp_resource *res) {
  return res == NULL ? NULL : res->sdk;
}

char *exp_resource_channel_name(const exp_resource *res) {
  const char *a, *b, *fmt;
  char *name;
  size_t n;
  switch (res->kind) {
  case EXP_DATA:
    fmt = "data:%s:%s";
    a = exp_resource_str(res->doc, "key");
    b = exp_resource_str(res->doc, "group");
    break;
  case EXP_ZONE:
    fmt = "%s:zone:%s";
    a = exp_resource_str(res->location->doc, "uuid");
    b = res->key;
    break;
  default:
    fmt = "%s%s";
    a = exp_resource_str(res->doc, "uuid");
    b = "";
    break;
  }
  if (a == NULL || b == NULL) {
    exp_resource_fail(res->sdk, EXP_EOPTIONS,
                      "the %s's document does not name its channel",
                      kind_name(res->kind));
    return NULL;
  }
  n = strlen(a) + strlen(b) + strlen(fmt) + 1;
  name = exp_malloc(n);
  if (name == NULL) {
    exp_resource_fail(res->sdk, EXP_ENOMEM, "out of memory");
    return NULL;
  }
  snprintf(name, n, fmt, a, b);
  return name;
}

/* ---------------------------------------------------------- paths */

const char *exp_resource_collection(exp_kind kind) {
  return valid_kind(kind) && kind != EXP_DATA ? collections[kind] : NULL;
}

static int missing(exp_sdk *sdk, const char *what, const char *s) {
  if (s == NULL || *s == '\0')
    return exp_resource_fail(sdk, EXP_EOPTIONS, "%s %s", s ? "empty" : "no",
                             what);
  return 0;
}

int exp_resource_item_path(exp_sdk *sdk, exp_kind kind, const char *uuid,
                           const char *suffix, char **out) {
  const char *coll = exp_resource_collection(kind);
  char *enc;
  size_t n;
  int rc;
  *out = NULL;
  if ((rc = missing(sdk, "uuid", uuid)) != 0)
    return rc;
  if (coll == NULL)
    return exp_resource_fail(sdk, EXP_EOPTIONS, "a %s has no uuid",
                             kind_name(kind));
  enc = exp_url_encode_component(uuid);
  if (enc == NULL)
    return exp_resource_fail(sdk, EXP_ENOMEM, "out of memory");
  suffix = suffix == NULL ? "" : suffix;
  n = strlen(coll) + strlen(enc) + strlen(suffix) + 2;
  *out = exp_malloc(n);
  if (*out != NULL)
    snprintf(*out, n, "%s/%s%s", coll, enc, suffix);
  exp_free(enc);
  return *out == NULL ? exp_resource_fail(sdk, EXP_ENOMEM, "out of memory") : 0;
}

int exp_resource_data_path(exp_sdk *sdk, const char *group, const char *key,
                           char **out) {
  char *g, *k;
  size_t n;
  int rc;
  *out = NULL;
  if ((rc = missing(sdk, "group", group)) != 0 ||
      (rc = missing(sdk, "key", key)) != 0)
    return rc;
  g = exp_url_encode_component(group);
  k = exp_url_encode_component(key);
  if (g != NULL && k != NULL) {
    n = strlen(g) + strlen(k) + sizeof("/api/data//");
    *out = exp_malloc(n);
    if (*out != NULL)
      snprintf(*out, n, "/api/data/%s/%s", g, k);
  }
  exp_free(g);
  exp_free(k);
  return *out == NULL ? exp_resource_fail(sdk, EXP_ENOMEM, "out of memory") : 0;
}

/* ---------------------------------------------------------- result sets */

exp_results *exp_results_new(size_t n) {
  exp_results *rs = exp_calloc(1, sizeof(*rs));
  if (rs == NULL)
    return NULL;
  if (n > 0) {
    rs->items = exp_calloc(n, sizeof(*rs->items));
    if (rs->items == NULL) {
      exp_free(rs);
      return NULL;
    }
  }
  return rs;
}

static int shape(char *msg, size_t msg_size, const char *what) {
  snprintf(msg, msg_size, "malformed find answer: %s", what);
  return EXP_EPROTOCOL;
}

static int check_answer(const cJSON *answer, cJSON **results, double *total,
                        size_t *count, char *msg, size_t msg_size) {
  const cJSON *t, *e;
  if (!cJSON_IsObject(answer))
    return shape(msg, msg_size, "not a JSON object");
  *results = cJSON_GetObjectItemCaseSensitive(answer, "results");
  if (!cJSON_IsArray(*results))
    return shape(msg, msg_size, "\"results\" is not an array");
  *count = 0;
  cJSON_ArrayForEach(e, *results) {
    if (!cJSON_IsObject(e))
      return shape(msg, msg_size, "a result is not a JSON object");
    (*count)++;
  }
  t = cJSON_GetObjectItemCaseSensitive(answer, "total");
  if (t == NULL) {
    *total = (double)*count;
  } else if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) ||
             t->valuedouble < 0 || t->valuedouble > 9007199254740992.0) {
    return shape(msg, msg_size, "\"total\" is not a count");
  } else {
    *total = t->valuedouble;
  }
  return 0;
}

int exp_results_from_answer(exp_sdk *sdk, exp_kind kind, cJSON *answer,
                            exp_results **out, char *msg, size_t msg_size) {
  cJSON *results, *e;
  exp_results *rs;
  double total;
  size_t count;
  int rc;

  *out = NULL;
  rc = check_answer(answer, &results, &total, &count, msg, msg_size);
  if (rc != 0) {
    cJSON_Delete(answer);
    return rc;
  }
  rs = exp_results_new(count);
  if (rs == NULL) {
    cJSON_Delete(answer);
    snprintf(msg, msg_size, "out of memory");
    return EXP_ENOMEM;
  }
  rs->total = (int64_t)total;
  /* The elements move from the parsed answer into their resources; what
   * is left of the answer is the set's extra keys. */
  cJSON_DetachItemViaPointer(answer, results);
  cJSON_DeleteItemFromObjectCaseSensitive(answer, "total");
  rs->extra = answer;
  while ((e = results->child) != NULL && rs->count < count) {
    cJSON_DetachItemViaPointer(results, e);
    rs->items[rs->count] = exp_resource_new(sdk, kind, e);
    if (rs->items[rs->count] == NULL) {
      cJSON_Delete(results);
      exp_results_free(rs);
      snprintf(msg, msg_size, "out of memory");
      return EXP_ENOMEM;
    }
    rs->count++;
  }
  cJSON_Delete(results);
  *out = rs;
  return 0;
}

size_t exp_results_count(const exp_results *rs) {
  return rs == NULL ? 0 : rs->count;
}

exp_resource *exp_results_at(const exp_results *rs, size_t i) {
  return rs == NULL || i >= rs->count ? NULL : rs->items[i];
}

exp_resource *exp_results_take(exp_results *rs, size_t i) {
  exp_resource *res = exp_results_at(rs, i);
  if (res != NULL)
    rs->items[i] = NULL;
  return res;
}

int64_t exp_results_total(const exp_results *rs) {
  return rs == NULL ? 0 : rs->total;
}

const cJSON *exp_results_extra(const exp_results *rs) {
  return rs == NULL ? NULL : rs->extra;
}

void exp_results_free(exp_results *rs) {
  if (rs == NULL)
    return;
  for (size_t i = 0; i < rs->count; i++)
    exp_resource_free(rs->items[i]);
  exp_free(rs->items);
  cJSON_Delete(rs->extra);
  exp_free(rs);
}

/* ---------------------------------------------------------- documents */

int exp_resource_replace(exp_resource *res, cJSON *answer) {
  cJSON *doc = res->kind == EXP_ZONE ? res->location->doc : res->doc;
  cJSON *old;
  if (!cJSON_IsObject(answer)) {
    cJSON_Delete(answer);
    return exp_resource_fail(res->sdk, EXP_EPROTOCOL,
                             "the server's answer is not a JSON object");
  }
  /* Swapping the member lists keeps the document's own pointer, which the
   * application may hold, and copies nothing. */
  old = doc->child;
  doc->child = answer->child;
  answer->child = old;
  cJSON_Delete(answer);
  return 0;
}

/* ---------------------------------------------------------- operations */

exp_resource_op *exp_resource_op_new(exp_sdk *sdk, exp_kind kind,
                                     exp_resource *subject,
                                     exp_resource_cb_type cb_type,
                                     void (*cb)(void), void *ud) {
  exp_resource_op *op = exp_calloc(1, sizeof(*op));
  if (op == NULL) {
    exp_resource_fail(sdk, EXP_ENOMEM, "out of memory");
    return NULL;
  }
  op->sdk = sdk;
  op->kind = kind;
  op->subject = subject == NULL ? NULL : exp_resource_ref(subject);
  op->cb_type = cb_type;
  switch (cb_type) {
  case EXP_RESOURCE_CB_RESOURCE:
    op->cb.resource = (exp_resource_cb)cb;
    break;
  case EXP_RESOURCE_CB_RESULTS:
    op->cb.results = (exp_results_cb)cb;
    break;
  case EXP_RESOURCE_CB_DONE:
    op->cb.done = (exp_done_cb)cb;
    break;
  case EXP_RESOURCE_CB_JSON:
    op->cb.json = (exp_json_cb)cb;
    break;
  }
  op->ud = ud;
  return op;
}

void exp_resource_op_free(exp_resource_op *op) {
  exp_resource_free(op->subject);
  cJSON_Delete(op->keys);
  exp_free(op);
}

static void on_answer(exp_sdk *sdk, int status, cJSON *answer, void *ud) {
  exp_resource_op *op = ud;
  EXP_UNUSED(sdk);
  if (status != 0) {
    cJSON_Delete(answer);
    answer = NULL;
  }
  op->step(op, status, answer);
}

int exp_resource_op_send(exp_resource_op *op, const char *method,
                         const char *path, const cJSON *query,
                         const cJSON *body, exp_resource_step step) {
  exp_call call = {method, path, query, body, 0};
  op->step = step;
  return exp_request(op->sdk, &call, on_answer, op);
}

static void on_later(exp_sdk *sdk, int status, void *arg) {
  exp_resource_op *op = arg;
  EXP_UNUSED(sdk);
  op->step(op, status, NULL);
}

int exp_resource_op_defer(exp_resource_op *op, exp_resource_step step) {
  op->step = step;
  return exp_sdk_defer(op->sdk, on_later, op);
}

void exp_resource_op_finish(exp_resource_op *op, int status, void *result) {
  exp_resource_op copy = *op;
  /* The op goes first: the callback may free what it references or stop
   * the SDK. */
  exp_resource_op_free(op);
  switch (copy.cb_type) {
  case EXP_RESOURCE_CB_RESOURCE:
    if (copy.cb.resource != NULL)
      copy.cb.resource(copy.sdk, status, result, copy.ud);
    else
      exp_resource_free(result);
    break;
  case EXP_RESOURCE_CB_RESULTS:
    if (copy.cb.results != NULL)
      copy.cb.results(copy.sdk, status, result, copy.ud);
    else
      exp_results_free(result);
    break;
  case EXP_RESOURCE_CB_DONE:
    if (copy.cb.done != NULL)
      copy.cb.done(copy.sdk, status, copy.ud);
    break;
  case EXP_RESOURCE_CB_JSON:
    if (copy.cb.json != NULL)
      copy.cb.json(copy.sdk, status, result, copy.ud);
    else
      cJSON_Delete(result);
    break;
  }
}

void exp_resource_op_fail(exp_resource_op *op, int code, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  exp_sdk_error(op->sdk, code, 0, NULL, "%s", msg);
  exp_resource_op_finish(op, code, NULL);
}

int exp_resource_op_object(exp_resource_op *op, int status, cJSON *answer,
                           const char *what) {
  if (status != 0) {
    cJSON_Delete(answer);
    exp_resource_op_finish(op, status, NULL);
    return 0;
  }
  if (!cJSON_IsObject(answer)) {
    cJSON_Delete(answer);
    exp_resource_op_fail(op, EXP_EPROTOCOL,
                         "the server's %s is not a JSON object", what);
    return 0;
  }
  return 1;
}

void exp_resource_step_resource(exp_resource_op *op, int status,
                                cJSON *answer) {
  exp_resource *res;
  if (!exp_resource_op_object(op, status, answer, kind_name(op->kind)))
    return;
  res = exp_resource_new(op->sdk, op->kind, answer);
  if (res == NULL) {
    exp_resource_op_fail(op, EXP_ENOMEM, "out of memory");
    return;
  }
  exp_resource_op_finish(op, 0, res);
}

void exp_resource_step_results(exp_resource_op *op, int status, cJSON *answer) {
  exp_results *rs;
  char msg[128];
  if (status != 0) {
    exp_resource_op_finish(op, status, NULL);
    return;
  }
  status =
      exp_results_from_answer(op->sdk, op->kind, answer, &rs, msg, sizeof(msg));
  if (status != 0)
    exp_resource_op_fail(op, status, "%s", msg);
  else
    exp_resource_op_finish(op, 0, rs);
}

void exp_resource_step_replace(exp_resource_op *op, int status, cJSON *answer) {
  exp_resource *res = op->subject;
  if (status == 0)
    status = exp_resource_replace(res, answer);
  if (status == 0 && res->kind == EXP_ZONE && zone_item(res) == NULL)
    status =
        exp_resource_fail(op->sdk, EXP_ENOTFOUND,
                          "the location has no zone \"%s\" any more", res->key);
  exp_resource_op_finish(op, status, NULL);
}

void exp_resource_step_done(exp_resource_op *op, int status, cJSON *answer) {
  cJSON_Delete(answer);
  exp_resource_op_finish(op, status, NULL);
}

void exp_resource_step_json(exp_resource_op *op, int status, cJSON *answer) {
  exp_resource_op_finish(op, status, answer);
}

int exp_resource_op_get(exp_resource_op *op, exp_kind kind, const char *uuid,
                        exp_resource_step step) {
  char *path;
  int rc = exp_resource_item_path(op->sdk, kind, uuid, NULL, &path);
  if (rc != 0)
    return rc;
  rc = exp_resource_op_send(op, "GET", path, NULL, NULL, step);
  exp_free(path);
  return rc;
}

int exp_resource_op_find(exp_resource_op *op, exp_kind kind, const cJSON *query,
                         ...) {
  cJSON *merged = NULL;
  const cJSON *q;
  const char *name, *value;
  va_list ap;
  int rc;

  if (query != NULL && !cJSON_IsObject(query))
    return exp_resource_fail(op->sdk, EXP_EOPTIONS,
                             "the query is not a JSON object");
  va_start(ap, query);
  while ((name = va_arg(ap, const char *)) != NULL) {
    value = va_arg(ap, const char *);
    if (value == NULL || *value == '\0') {
      va_end(ap);
      cJSON_Delete(merged);
      return exp_resource_fail(op->sdk, EXP_EOPTIONS, "the document has no %s",
                               name);
    }
    if (merged == NULL && (merged = cJSON_CreateObject()) == NULL)
      break;
    if (!cJSON_AddStringToObject(merged, name, value)) {
      cJSON_Delete(merged);
      merged = NULL;
      break;
    }
  }
  va_end(ap);
  if (name != NULL)
    return exp_resource_fail(op->sdk, EXP_ENOMEM, "out of memory");
  if (merged != NULL) {
    /* The caller's filters join ours as references: nothing is copied, and
     * ours win over a caller's filter of the same name. */
    cJSON_ArrayForEach(q, query) {
      if (q->string == NULL) {
        cJSON_Delete(merged);
        return exp_resource_fail(op->sdk, EXP_EOPTIONS,
                                 "a query member has no name");
      }
      if (cJSON_GetObjectItemCaseSensitive(merged, q->string) != NULL)
        continue;
      if (!cJSON_AddItemReferenceToObject(merged, q->string, (cJSON *)q)) {
        cJSON_Delete(merged);
        return exp_resource_fail(op->sdk, EXP_ENOMEM, "out of memory");
      }
    }
    query = merged;
  }
  op->kind = kind;
  rc = exp_resource_op_send(op, "GET", collections[kind], query, NULL,
                            exp_resource_step_results);
  cJSON_Delete(merged);
  return rc;
}

/* ---------------------------------------------------------- generic API */

/* Starts op with start's result, freeing it when start fails. */
static int started(exp_resource_op *op, int rc) {
  if (rc != 0)
    exp_resource_op_free(op);
  return rc;
}

int exp_get_resource(exp_sdk *sdk, exp_kind kind, const char *uuid,
                     exp_resource_cb cb, void *ud) {
  exp_resource_op *op;
  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (!valid_kind(kind) || kind == EXP_DATA || kind == EXP_ZONE)
    return exp_resource_fail(sdk, EXP_EOPTIONS, "%s",
                             kind == EXP_DATA
                                 ? "data items are fetched by exp_get_data"
                                 : "this kind cannot be fetched by uuid");
  op = exp_resource_op_new(sdk, kind, NULL, EXP_RESOURCE_CB_RESOURCE,
                           EXP_RESOURCE_CB(cb), ud);
  if (op == NULL)
    return EXP_ENOMEM;
  return started(
      op, exp_resource_op_get(op, kind, uuid, exp_resource_step_resource));
}

int exp_find_resources(exp_sdk *sdk, exp_kind kind, const cJSON *query,
                       exp_results_cb cb, void *ud) {
  exp_resource_op *op;
  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (!valid_kind(kind) || kind == EXP_ZONE)
    return exp_resource_fail(sdk, EXP_EOPTIONS,
                             "this kind cannot be found: zones are read "
                             "from their location");
  op = exp_resource_op_new(sdk, kind, NULL, EXP_RESOURCE_CB_RESULTS,
                           EXP_RESOURCE_CB(cb), ud);
  if (op == NULL)
    return EXP_ENOMEM;
  return started(op, exp_resource_op_find(op, kind, query, NULL));
}

int exp_create_resource(exp_sdk *sdk, exp_kind kind, const cJSON *document,
                        exp_resource_cb cb, void *ud) {
  exp_resource_op *op;
  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (!valid_kind(kind) || kind == EXP_DATA || kind == EXP_ZONE ||
      kind == EXP_CONTENT)
    return exp_resource_fail(sdk, EXP_EOPTIONS, "%s",
                             kind == EXP_DATA
                                 ? "data items are created by exp_create_data"
                                 : "this kind cannot be created");
  if (!cJSON_IsObject(document))
    return exp_resource_fail(sdk, EXP_EOPTIONS,
                             "the document is not a JSON object");
  op = exp_resource_op_new(sdk, kind, NULL, EXP_RESOURCE_CB_RESOURCE,
                           EXP_RESOURCE_CB(cb), ud);
  if (op == NULL)
    return EXP_ENOMEM;
  return started(op,
                 exp_resource_op_send(op, "POST", collections[kind], NULL,
                                      document, exp_resource_step_resource));
}

/* The path a resource is saved, refreshed and deleted at: its own, its
 * location's for a zone, its group and key for a data item. */
static int own_path(exp_resource *res, char **path) {
  exp_resource *r = res->kind == EXP_ZONE ? res->location : res;
  if (r->kind == EXP_DATA)
    return exp_resource_data_path(res->sdk, exp_resource_str(r->doc, "group"),
                                  exp_resource_str(r->doc, "key"), path);
  return exp_resource_item_path(res->sdk, r->kind,
                                exp_resource_str(r->doc, "uuid"), NULL, path);
}

static int start_own(exp_resource *res, unsigned allowed, const char *what,
                     const char *method, const cJSON *body,
                     exp_resource_step step, exp_done_cb cb, void *ud) {
  exp_resource_op *op;
  char *path;
  int rc = exp_resource_check_kind(res, allowed, what);
  if (rc != 0)
    return rc;
  if ((rc = own_path(res, &path)) != 0)
    return rc;
  op = exp_resource_op_new(res->sdk, res->kind, res, EXP_RESOURCE_CB_DONE,
                           EXP_RESOURCE_CB(cb), ud);
  if (op == NULL) {
    exp_free(path);
    return EXP_ENOMEM;
  }
  rc = started(op, exp_resource_op_send(op, method, path, NULL, body, step));
  exp_free(path);
  return rc;
}

#define ALL_KINDS 0xffu

/* The save of a zone its location no longer has, from the loop. */
static void step_zone_gone(exp_resource_op *op, int status, cJSON *answer) {
  EXP_UNUSED(answer);
  if (status == 0)
    status = exp_resource_fail(op->sdk, EXP_ENOTFOUND,
                               "the location has no zone \"%s\" any more",
                               op->subject->key);
  exp_resource_op_finish(op, status, NULL);
}

int exp_resource_save(exp_resource *res, exp_done_cb cb, void *ud) {
  const cJSON *body;
  if (res == NULL)
    return EXP_EOPTIONS;
  body = res->kind == EXP_ZONE ? res->location->doc : res->doc;
  /* A refresh may find the zone again; a save would not send it. */
  if (res->kind == EXP_ZONE && zone_item(res) == NULL) {
    exp_resource_op *op =
        exp_resource_op_new(res->sdk, res->kind, res, EXP_RESOURCE_CB_DONE,
                            EXP_RESOURCE_CB(cb), ud);
    if (op == NULL)
      return EXP_ENOMEM;
    return started(op, exp_resource_op_defer(op, step_zone_gone));
  }
  if (res->kind == EXP_DATA) {
    body = cJSON_GetObjectItemCaseSensitive(res->doc, "value");
    if (!cJSON_IsObject(body))
      return exp_resource_fail(res->sdk, EXP_EOPTIONS,
                               "the data item's value is not a JSON object");
  }
  return start_own(res, ALL_KINDS & ~EXP_KIND_BIT(EXP_CONTENT), "save",
                   res->kind == EXP_DATA ? "PUT" : "PATCH", body,
                   exp_resource_step_replace, cb, ud);
}

int exp_resource_refresh(exp_resource *res, exp_done_cb cb, void *ud) {
  return start_own(res, ALL_KINDS, "refresh", "GET", NULL,
                   exp_resource_step_replace, cb, ud);
}

int exp_resource_delete(exp_resource *res, exp_done_cb cb, void *ud) {
  return start_own(
      res, ALL_KINDS & ~EXP_KIND_BIT(EXP_CONTENT) & ~EXP_KIND_BIT(EXP_ZONE),
      "delete", "DELETE", NULL, exp_resource_step_done, cb, ud);
}

/* ---------------------------------------------------------- blocking */

void exp_wait_resource_cb(exp_sdk *sdk, int status, exp_resource *res,
                          void *ud) {
  EXP_UNUSED(sdk);
  exp_wait_filled(ud, status, res);
}

void exp_wait_results_cb(exp_sdk *sdk, int status, exp_results *results,
                         void *ud) {
  EXP_UNUSED(sdk);
  exp_wait_filled(ud, status, results);
}

int exp_wait_resource(exp_waiter *w, exp_resource **out) {
  exp_resource *res = w->result;
  if (w->status != 0 || out == NULL) {
    exp_resource_free(res);
    res = NULL;
  }
  if (out != NULL)
    *out = res;
  return w->status;
}

int exp_wait_results(exp_waiter *w, exp_results **out) {
  exp_results *results = w->result;
  if (w->status != 0 || out == NULL) {
    exp_results_free(results);
    results = NULL;
  }
  if (out != NULL)
    *out = results;
  return w->status;
}

int exp_get_resource_wait(exp_sdk *sdk, exp_kind kind, const char *uuid,
                          exp_resource **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(&w,
                 exp_get_resource(sdk, kind, uuid, exp_wait_resource_cb, &w));
  return exp_wait_resource(&w, out);
}

int exp_find_resources_wait(exp_sdk *sdk, exp_kind kind, const cJSON *query,
                            exp_results **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(&w,
                 exp_find_resources(sdk, kind, query, exp_wait_results_cb, &w));
  return exp_wait_results(&w, out);
}

int exp_create_resource_wait(exp_sdk *sdk, exp_kind kind, const cJSON *document,
                             exp_resource **out) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(
        &w, exp_create_resource(sdk, kind, document, exp_wait_resource_cb, &w));
  return exp_wait_resource(&w, out);
}

int exp_resource_save_wait(exp_resource *res) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(res)) == 0)
    exp_wait_run(&w, exp_resource_save(res, exp_wait_done_cb, &w));
  return w.status;
}

int exp_resource_refresh_wait(exp_resource *res) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(res)) == 0)
    exp_wait_run(&w, exp_resource_refresh(res, exp_wait_done_cb, &w));
  return w.status;
}

int exp_resource_delete_wait(exp_resource *res) {
  exp_waiter w;
  if (exp_wait_begin(&w, exp_resource_sdk(res)) == 0)
    exp_wait_run(&w, exp_resource_delete(res, exp_wait_done_cb, &w));
  return w.status;
}
