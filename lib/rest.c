/* rest.c: REST calls on the API host, with one retry after a refresh when
 * the token is refused. */
#include "rest.h"

#include <stdio.h>

#include "http.h"
#include "json.h"
#include "json_scan.h"
#include "session.h"
#include "url.h"
#include "waiter.h"

/* The bytes of the last call without a body, kept to be sent again as
 * they are: an application polling one path pays for its request once
 * per token.  They are lent to the HTTP client, not copied: the cache and
 * each call on the wire with them hold a reference. */
typedef struct rest_head {
  const char *method; /* a static string */
  unsigned refs;
  size_t wire_len;
  char *target; /* in data, after the wire */
  char data[];
} rest_head;

/* What every REST call sends, made once per auth payload: the API host
 * parsed, and the Authorization line with the token checked. */
typedef struct rest_cache {
  int made;          /* the fields hold a payload's */
  unsigned gen;      /* exp_auth_gen of that payload */
  exp_url api;       /* the API host */
  size_t host;       /* the origin's index (hosts.h) */
  size_t prefix_len; /* of api.target without its trailing '/': a path
                        the host puts before every call's */
  char *bearer;      /* "Authorization: Bearer <token>" */
  rest_head *head;   /* NULL until a call without a body */
} rest_cache;

/* The REST layer of a handle. */
typedef struct rest {
  exp_sdk *sdk;
  exp_list calls;  /* on the wire */
  exp_list parked; /* waiting for a token */
  rest_cache cache;
  struct call *spare; /* a finished call, for the next one */
} rest;

static void rest_release(void *self, const exp_auth_out *why);
static void rest_stop(void *self);

static const exp_layer_ops rest_ops = {NULL, rest_release, rest_stop, 0};

typedef struct call {
  exp_list node; /* in calls (on the wire) or parked */
  rest *rest;
  exp_sdk *sdk;
  const char *method; /* a static string */
  char *body;         /* serialised JSON, or NULL */
  uint64_t timeout_ms;
  exp_json_cb cb;
  void *ud;
  exp_http_req *req;
  rest_head *head; /* its bytes, when they are the cache's */
  unsigned gen;    /* of the token it was sent with */
  int retried;     /* sent again after a 401 already */
  size_t host;     /* the origin it was sent to */
  unsigned tries;  /* origins it could not reach */
  uint64_t sent;   /* loop time it was sent at, for the log */
  size_t cap;      /* bytes target has room for */
  char target[];   /* path and query */
} call;

/* A call with room for a target of len bytes: the spare one when it fits,
 * so that one call after another allocates none. */
static call *new_call(rest *rs, size_t len) {
  call *c = rs->spare;
  if (c != NULL && c->cap > len) {
    rs->spare = NULL;
  } else if ((c = exp_malloc(sizeof(*c) + len + 1)) == NULL) {
    return NULL;
  } else {
    exp_free(rs->spare);
    rs->spare = NULL;
  }
  memset(c, 0, sizeof(*c));
  c->cap = len + 1;
  return c;
}

static void free_call(call *c) {
  rest *rs = c->rest;
  exp_free(c->body);
  if (rs->spare == NULL) {
    rs->spare = c;
    return;
  }
  exp_free(c);
}

/* Hands the outcome to the application and frees the call, which is in no
 * list any more.  exp_last_error is already set when status fails. */
static void finish(call *c, int status, cJSON *result) {
  exp_sdk *sdk = c->sdk;
  exp_json_cb cb = c->cb;
  void *ud = c->ud;

  free_call(c);
  exp_sdk_enter(sdk);
  cb(sdk, status, result, ud);
  exp_sdk_leave(sdk);
}

static void fail(call *c, int code, int http_status, const char *api_code,
                 const char *msg) {
  exp_sdk_error(c->sdk, code, http_status, api_code, "%s", msg);
  finish(c, code, NULL);
}

static int idempotent(const char *m) {
  return strcmp(m, "GET") == 0 || strcmp(m, "PUT") == 0 ||
         strcmp(m, "DELETE") == 0;
}

static const char *method_name(const char *m) {
  static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  for (size_t i = 0; i < EXP_ARRAY_SIZE(known); i++)
    if (strcmp(m, known[i]) == 0)
      return known[i];
  return NULL;
}

/* Whether a body holds more JSON values than max_json_nodes lets cJSON
 * build (its text is checked without building anything).  Every value
 * takes a byte of text at least, so a body no longer than the cap needs
 * no scan: most answers are. */
static int too_many_nodes(const call *c, const exp_http_response *res) {
  size_t max = (size_t)c->sdk->opt.num[EXP_OPT_MAX_JSON_NODES];
  return res->body_len > max && exp_json_check(res->body, res->body_len, 0, max,
                                               NULL) == EXP_JSON_TOO_MANY;
}

/* An answer that is not 2xx: EXP_EAPI (404: EXP_ENOTFOUND) with the
 * server's {code, message} when it sent them. */
static void fail_api(call *c, const exp_http_response *res) {
  cJSON *j = too_many_nodes(c, res)
                 ? NULL
                 : cJSON_ParseWithLength(res->body, res->body_len);
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
  char msg[400];

  if (cJSON_IsString(m))
    snprintf(msg, sizeof(msg), "HTTP %d: %s", res->status, m->valuestring);
  else
    snprintf(msg, sizeof(msg), "HTTP %d", res->status);
  exp_sdk_error(c->sdk, res->status == 404 ? EXP_ENOTFOUND : EXP_EAPI,
                res->status, cJSON_IsString(code) ? code->valuestring : NULL,
                "%s", msg);
  cJSON_Delete(j);
  finish(c, c->sdk->err.code, NULL);
}

static void on_answer(int err, const exp_http_response *res, const char *msg,
                      void *ud);

static void head_put(rest_head *h) {
  if (h != NULL && --h->refs == 0)
    exp_free(h);
}

static void free_cache(rest_cache *k) {
  exp_url_free(&k->api);
  exp_free(k->bearer);
  k->bearer = NULL;
  head_put(k->head);
  k->head = NULL;
  k->made = 0;
}

/* Makes the cache for the current auth payload, so that calls neither
 * parse the host nor build and check the Authorization line each time.
 * The token is checked here once: it comes from the server, and a byte
 * that would break the request's framing is the server's fault. */
static int make_cache(rest *rs, const char *host, size_t index) {
  static const char prefix[] = "Authorization: Bearer ";
  exp_sdk *sdk = rs->sdk;
  rest_cache *k = &rs->cache;
  const char *token = exp_auth_token(sdk->auth);
  size_t n;
  char msg[200];
  int r;

  free_cache(k);
  /* The host options were checked by exp_start: only the server's can
   * fail. */
  r = exp_url_parse(host, &k->api, msg, sizeof(msg));
  if (r == EXP_ENOMEM)
    return exp_sdk_error(sdk, r, 0, NULL, "out of memory");
  if (r == 0 && strchr(k->api.target, '?') != NULL) {
    exp_url_free(&k->api);
    snprintf(msg, sizeof(msg), "it has a query");
    r = EXP_EPROTOCOL;
  }
  if (r != 0)
    return exp_sdk_error(sdk, EXP_EPROTOCOL, 0, NULL,
                         "the server's api.host is unusable: %s", msg);
  n = strlen(k->api.target);
  while (n > 0 && k->api.target[n - 1] == '/')
    n--;
  k->prefix_len = n;
  n = strlen(token);
  k->bearer = exp_malloc(sizeof(prefix) + n);
  if (k->bearer == NULL) {
    free_cache(k);
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  }
  memcpy(k->bearer, prefix, sizeof(prefix) - 1);
  memcpy(k->bearer + sizeof(prefix) - 1, token, n + 1);
  if (!exp_http_header_valid(k->bearer)) {
    free_cache(k);
    return exp_sdk_error(sdk, EXP_EPROTOCOL, 0, NULL,
                         "the server's token has bytes a header cannot carry");
  }
  k->gen = exp_auth_gen(sdk->auth);
  k->host = index;
  k->made = 1;
  return 0;
}

/* The request's bytes, from the cache when the last call without a body
 * was the same; a new one is kept there.  0 or an exp_errno, msg set. */
static int wire_of(call *c, exp_http_request *req, char *msg, size_t msg_size) {
  rest_cache *k = &c->rest->cache;
  rest_head *h = k->head;
  size_t tl = strlen(c->target);
  char *wire;
  size_t len;
  int r;

  if (c->body == NULL && h != NULL && h->method == c->method &&
      strcmp(h->target, c->target) == 0) {
    req->wire = h->data;
    req->wire_len = h->wire_len;
    return 0;
  }
  if ((r = exp_http_serialise(req, &wire, &len, msg, msg_size)) != 0)
    return r;
  if (c->body != NULL) {
    req->wire = wire;
    req->wire_len = len;
    return 0;
  }
  /* Kept with its target; no memory for that fails the call. */
  h = exp_malloc(sizeof(*h) + len + tl + 1);
  if (h == NULL) {
    exp_free(wire);
    return EXP_ENOMEM;
  }
  h->method = c->method;
  h->refs = 1;
  h->wire_len = len;
  memcpy(h->data, wire, len);
  h->target = h->data + len;
  memcpy(h->target, c->target, tl + 1);
  exp_free(wire);
  head_put(k->head);
  k->head = h;
  req->wire = h->data;
  req->wire_len = len;
  return 0;
}

/* Sends c with the current token.  On failure c is untouched and the error
 * is returned with exp_last_error set. */
static int send_call(call *c) {
  exp_sdk *sdk = c->sdk;
  rest_cache *k = &c->rest->cache;
  const char *trusted[4] = {NULL, "Accept: application/json", NULL, NULL};
  exp_http_request req = {0};
  char *joined = NULL, msg[200];
  size_t host;
  const char *origin = exp_sdk_api_origin(sdk, &host);
  int r;

  if ((!k->made || k->gen != exp_auth_gen(sdk->auth) || k->host != host) &&
      (r = make_cache(c->rest, origin, host)) != 0)
    return r;
  req.target = c->target;
  if (k->prefix_len > 0) {
    joined = exp_malloc(k->prefix_len + strlen(c->target) + 1);
    if (joined == NULL)
      return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
    memcpy(joined, k->api.target, k->prefix_len);
    strcpy(joined + k->prefix_len, c->target);
    req.target = joined;
  }
  trusted[0] = k->bearer;
  if (c->body != NULL) {
    trusted[2] = "Content-Type: application/json";
    req.body = c->body;
    req.body_len = strlen(c->body);
  }
  req.method = c->method;
  req.origin = &k->api;
  req.trusted = trusted;
  req.timeout_ms = c->timeout_ms;
  req.headless = 1;
  msg[0] = '\0';
  r = wire_of(c, &req, msg, sizeof(msg));
  exp_free(joined);
  req.wire_lent = c->body == NULL;
  if (r == 0) {
    uv_update_time(sdk->loop);
    r = exp_http_send(sdk->http, &req, on_answer, c, &c->req);
  }
  if (c->body != NULL)
    exp_free((char *)req.wire);
  if (r != 0)
    return exp_sdk_error(sdk, r, 0, NULL, "could not send the request: %s",
                         msg[0] != '\0' ? msg : exp_strerror(r));
  if (req.wire_lent) {
    c->head = k->head;
    c->head->refs++;
  }
  c->gen = k->gen;
  c->host = host;
  c->sent = uv_now(sdk->loop);
  exp_list_insert_tail(&c->rest->calls, &c->node);
  return 0;
}

/* Sends c, parks it, or fails it, as the auth machine says.  Returns the
 * refusal when fail_now is 0 (c untouched), else completes c with it. */
static int dispatch(call *c, int fail_now) {
  exp_sdk *sdk = c->sdk;
  int r = exp_auth_acquire(sdk->auth);

  if (r == EXP_AUTH_WAIT) {
    exp_list_insert_tail(&c->rest->parked, &c->node);
    return 0;
  }
  if (r == EXP_EPAIRING)
    exp_sdk_error(sdk, r, 0, NULL,
                  "REST calls are refused while the device is pairing");
  else if (r < 0)
    exp_sdk_error(sdk, r, exp_auth_error(sdk->auth)->http_status,
                  exp_auth_error(sdk->auth)->api_code, "%s",
                  exp_auth_error(sdk->auth)->message);
  else
    r = send_call(c);
  if (r != 0 && fail_now)
    finish(c, r, NULL);
  return r;
}

/* One line per exchange; the query is left out, as it may hold what the
 * application searches for. */
static void log_answer(const call *c, int err, const exp_http_response *res,
                       const char *msg) {
  int path;
  unsigned long long ms;

  if (c->sdk->log.min > EXP_LOG_DEBUG)
    return;
  path = (int)strcspn(c->target, "?");
  ms = uv_now(c->sdk->loop) - c->sent;
  if (err != 0)
    exp_logf(&c->sdk->log, EXP_LOG_DEBUG, "REST %s %.*s: %s after %llu ms",
             c->method, path, c->target, msg != NULL ? msg : exp_strerror(err),
             ms);
  else
    exp_logf(&c->sdk->log, EXP_LOG_DEBUG, "REST %s %.*s: %d in %llu ms",
             c->method, path, c->target, res->status, ms);
}

static void on_answer(int err, const exp_http_response *res, const char *msg,
                      void *ud) {
  call *c = ud;
  exp_sdk *sdk = c->sdk;
  cJSON *result = NULL;

  c->req = NULL;
  head_put(c->head);
  c->head = NULL;
  exp_list_remove(&c->node);
  log_answer(c, err, res, msg);
  if (sdk->state == EXP_SDK_STOPPING) {
    fail(c, EXP_ECANCELLED, 0, NULL, "the SDK was stopped");
    return;
  }
  if (err != 0) {
    exp_sdk_host_failed(sdk, c->host, err, msg);
    /* Not sent anywhere else: a call that may have had effects, and one
     * that took its whole timeout already. */
    if (err == EXP_ENETWORK && idempotent(c->method) &&
        ++c->tries < sdk->hosts.count && send_call(c) == 0)
      return;
    fail(c, err, 0, NULL, msg != NULL ? msg : exp_strerror(err));
    return;
  }
  if (res->status == 401 && !c->retried) {
    exp_auth_out o;
    int r = exp_auth_on_401(sdk->auth, c->gen, exp_sdk_now(), &o);
    if (r == EXP_AUTH_GO || r == EXP_AUTH_WAIT) {
      c->retried = 1;
      if (r == EXP_AUTH_GO) {
        dispatch(c, 1);
      } else {
        /* Parked before the refresh starts: it may end at once. */
        exp_list_insert_tail(&c->rest->parked, &c->node);
        exp_sdk_auth_perform(sdk, &o);
      }
      return;
    }
  }
  if (res->status / 100 != 2) {
    fail_api(c, res);
    return;
  }
  if (res->body_len > 0 && too_many_nodes(c, res)) {
    char msg[128];
    snprintf(msg, sizeof(msg),
             "the answer holds more than %lld JSON values (max_json_nodes)",
             (long long)c->sdk->opt.num[EXP_OPT_MAX_JSON_NODES]);
    fail(c, EXP_ETOOBIG, res->status, NULL, msg);
    return;
  }
  if (res->body_len > 0) {
    result = cJSON_ParseWithLength(res->body, res->body_len);
    if (result == NULL) {
      int err = exp_json_parse_error(res->body, res->body_len);
      fail(c, err, res->status, NULL,
           err == EXP_ENOMEM ? "out of memory parsing the answer"
                             : "the answer is not valid JSON");
      return;
    }
  }
  finish(c, 0, result);
}

static void rest_release(void *self, const exp_auth_out *why) {
  rest *rs = self;
  size_t n = 0;
  exp_list *e;

  /* Only the calls parked now: a call parked again waits for the next. */
  for (e = rs->parked.next; e != &rs->parked; e = e->next)
    n++;
  while (n-- > 0 && !exp_list_empty(&rs->parked) &&
         rs->sdk->state == EXP_SDK_STARTED) {
    call *c = EXP_CONTAINER_OF(rs->parked.next, call, node);
    exp_list_remove(&c->node);
    if (why->status == 0)
      dispatch(c, 1);
    else
      fail(c, why->status, why->http_status, why->api_code, why->message);
  }
}

static void rest_stop(void *self) {
  rest *rs = self;
  /* exp_http_cancel calls on_answer now, which unlinks the call. */
  while (!exp_list_empty(&rs->calls))
    exp_http_cancel(EXP_CONTAINER_OF(rs->calls.next, call, node)->req);
  while (!exp_list_empty(&rs->parked)) {
    call *c = EXP_CONTAINER_OF(rs->parked.next, call, node);
    exp_list_remove(&c->node);
    fail(c, EXP_ECANCELLED, 0, NULL, "the SDK was stopped");
  }
  free_cache(&rs->cache);
  exp_free(rs->spare);
  exp_free(rs);
}

int exp_rest_attach(exp_sdk *sdk) {
  rest *rs = exp_calloc(1, sizeof(*rs));
  if (rs == NULL)
    return EXP_ENOMEM;
  rs->sdk = sdk;
  exp_list_init(&rs->calls);
  exp_list_init(&rs->parked);
  if (exp_sdk_attach(sdk, &rest_ops, rs) != 0) {
    exp_free(rs);
    return EXP_ERUNTIME;
  }
  return 0;
}

/* The request target: path and query, in *out when it had to be made,
 * else *target is path itself.  A fragment is never sent: it is dropped,
 * and the query follows what came before it. */
static int with_query(const char *path, const cJSON *query, const char **target,
                      char **out, char *msg, size_t msg_size) {
  const char *hash = strchr(path, '#');
  char *bare;
  int r;

  *out = NULL;
  *target = path;
  if (hash == NULL && query == NULL)
    return 0;
  if (hash == NULL) {
    r = exp_url_with_query(path, query, out, msg, msg_size);
  } else {
    bare = exp_strndup(path, (size_t)(hash - path));
    if (bare == NULL)
      return EXP_ENOMEM;
    r = exp_url_with_query(bare, query, out, msg, msg_size);
    exp_free(bare);
  }
  *target = *out;
  return r;
}

int exp_request(exp_sdk *sdk, const exp_call *in, exp_json_cb cb, void *ud) {
  const char *method, *target;
  char msg[200], *made;
  size_t tl;
  rest *rs;
  call *c;
  int r;

  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (sdk->state != EXP_SDK_STARTED ||
      (rs = exp_sdk_layer(sdk, &rest_ops)) == NULL)
    return exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                         sdk->state == EXP_SDK_NEW
                             ? "REST calls need exp_start first"
                             : "the SDK is stopping");
  if (in == NULL || cb == NULL || in->method == NULL || in->path == NULL)
    return exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL,
                         "a call needs a method, a path and a callback");
  if (in->path[0] != '/')
    return exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL,
                         "the path must start with '/'");
  if ((method = method_name(in->method)) == NULL)
    return exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL, "unknown method \"%.16s\"",
                         in->method);
  r = with_query(in->path, in->query, &target, &made, msg, sizeof(msg));
  if (r != 0)
    return exp_sdk_error(sdk, r, 0, NULL, "query: %s",
                         r == EXP_ENOMEM ? "out of memory" : msg);
  /* The target lives in the call: one allocation for both. */
  tl = strlen(target);
  c = new_call(rs, tl);
  if (c != NULL)
    memcpy(c->target, target, tl + 1);
  exp_free(made);
  if (c == NULL)
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  c->rest = rs;
  c->sdk = sdk;
  c->cb = cb;
  c->ud = ud;
  c->timeout_ms = in->timeout_ms;
  c->method = method;
  exp_list_init(&c->node);
  if (in->body != NULL &&
      (c->body = cJSON_PrintUnformatted(in->body)) == NULL) {
    r = exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
    goto fail;
  }
  r = dispatch(c, 0);
  if (r == 0)
    return 0;
fail:
  free_call(c);
  return r;
}

int exp_request_wait(exp_sdk *sdk, const exp_call *in, cJSON **result) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(&w, exp_request(sdk, in, exp_wait_json_cb, &w));
  return exp_wait_json(&w, result);
}

#define CALL(m, p, q, b)                                                       \
  { (m), (p), (q), (b), 0 }

int exp_get(exp_sdk *sdk, const char *path, const cJSON *query, exp_json_cb cb,
            void *ud) {
  exp_call c = CALL("GET", path, query, NULL);
  return exp_request(sdk, &c, cb, ud);
}
int exp_get_wait(exp_sdk *sdk, const char *path, const cJSON *query,
                 cJSON **result) {
  exp_call c = CALL("GET", path, query, NULL);
  return exp_request_wait(sdk, &c, result);
}
int exp_post(exp_sdk *sdk, const char *path, const cJSON *query,
             const cJSON *body, exp_json_cb cb, void *ud) {
  exp_call c = CALL("POST", path, query, body);
  return exp_request(sdk, &c, cb, ud);
}
int exp_post_wait(exp_sdk *sdk, const char *path, const cJSON *query,
                  const cJSON *body, cJSON **result) {
  exp_call c = CALL("POST", path, query, body);
  return exp_request_wait(sdk, &c, result);
}
int exp_put(exp_sdk *sdk, const char *path, const cJSON *query,
            const cJSON *body, exp_json_cb cb, void *ud) {
  exp_call c = CALL("PUT", path, query, body);
  return exp_request(sdk, &c, cb, ud);
}
int exp_put_wait(exp_sdk *sdk, const char *path, const cJSON *query,
                 const cJSON *body, cJSON **result) {
  exp_call c = CALL("PUT", path, query, body);
  return exp_request_wait(sdk, &c, result);
}
int exp_patch(exp_sdk *sdk, const char *path, const cJSON *query,
              const cJSON *body, exp_json_cb cb, void *ud) {
  exp_call c = CALL("PATCH", path, query, body);
  return exp_request(sdk, &c, cb, ud);
}
int exp_patch_wait(exp_sdk *sdk, const char *path, const cJSON *query,
                   const cJSON *body, cJSON **result) {
  exp_call c = CALL("PATCH", path, query, body);
  return exp_request_wait(sdk, &c, result);
}
int exp_delete(exp_sdk *sdk, const char *path, const cJSON *query,
               exp_json_cb cb, void *ud) {
  exp_call c = CALL("DELETE", path, query, NULL);
  return exp_request(sdk, &c, cb, ud);
}
int exp_delete_wait(exp_sdk *sdk, const char *path, const cJSON *query,
                    cJSON **result) {
  exp_call c = CALL("DELETE", path, query, NULL);
  return exp_request_wait(sdk, &c, result);
}
