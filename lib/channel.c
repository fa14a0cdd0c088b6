/* channel.c: channels, and broadcasting on them (fling, identify). */
#include "channel.h"

#include "channel_id.h"
#include "resource.h"
#include "sdk.h"
#include "waiter.h"

#define CONVENTION_TIMEOUT_MS 2000

exp_channel *exp_get_channel(exp_sdk *sdk, const char *name, int flags) {
  const cJSON *identity;
  const char *org;
  exp_channel *ch;
  exp_bus *bus;
  char *id;
  int r;

  if (sdk == NULL)
    return NULL;
  identity = cJSON_GetObjectItemCaseSensitive(exp_auth(sdk), "identity");
  org = cJSON_GetStringValue(
      cJSON_GetObjectItemCaseSensitive(identity, "organization"));
  if (sdk->state != EXP_SDK_STARTED || org == NULL) {
    exp_sdk_error(sdk, EXP_ERUNTIME, 0, NULL,
                  sdk->state == EXP_SDK_STOPPING
                      ? "the SDK is stopping"
                      : "channels need the organization of a login first");
    return NULL;
  }
  if (name == NULL || name[0] == '\0' ||
      (flags & ~(EXP_CHANNEL_SYSTEM | EXP_CHANNEL_CONSUMER)) != 0) {
    exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL,
                  "a channel needs a name and EXP_CHANNEL_* flags");
    return NULL;
  }
  if ((bus = exp_bus_of(sdk)) == NULL)
    return NULL;
  r = exp_channel_id_encode(org, name, (flags & EXP_CHANNEL_SYSTEM) != 0,
                            (flags & EXP_CHANNEL_CONSUMER) != 0, &id);
  if (r != 0) {
    exp_sdk_error(sdk, r, 0, NULL,
                  r == EXP_ENOMEM ? "out of memory"
                                  : "the channel name is not valid UTF-8");
    return NULL;
  }
  ch = exp_bus_chan_get(bus, id, name, flags);
  exp_free(id);
  if (ch == NULL)
    exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  return ch;
}

exp_channel *exp_resource_channel(const exp_resource *res, int flags) {
  exp_channel *ch;
  char *name;

  if (res == NULL || (name = exp_resource_channel_name(res)) == NULL)
    return NULL;
  ch = exp_get_channel(res->sdk, name, flags);
  exp_free(name);
  return ch;
}

const char *exp_channel_name(const exp_channel *ch) {
  return ch != NULL ? exp_bus_chan_name(ch) : NULL;
}

const char *exp_channel_id(const exp_channel *ch) {
  return ch != NULL ? ch->id : NULL;
}

int exp_channel_flags(const exp_channel *ch) {
  return ch != NULL ? ch->flags : 0;
}

void exp_channel_free(exp_channel *ch) {
  if (ch == NULL)
    return;
  exp_bus_chan_release(ch);
}

/* ------------------------------------------------------------- broadcast */

typedef struct pending_broadcast {
  exp_json_cb cb; /* NULL: nobody waits for the answer */
  void *ud;
} pending_broadcast;

static void on_broadcast(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  pending_broadcast b = *(pending_broadcast *)ud;

  exp_free(ud);
  if (status == 0 && !cJSON_IsArray(result)) {
    cJSON_Delete(result);
    result = NULL;
    status = exp_sdk_error(sdk, EXP_EPROTOCOL, 0, NULL,
                           "the answer to a broadcast is not an array");
  }
  if (b.cb != NULL) {
    b.cb(sdk, status, result, b.ud);
    return;
  }
  if (status != 0 && status != EXP_ECANCELLED)
    exp_logf(&sdk->log, EXP_LOG_WARN, "a broadcast failed: %s",
             sdk->err.message);
  cJSON_Delete(result);
}

/* Adds item under a constant key: that takes no allocation, so only a NULL
 * item (its creation failed) is not added, and nothing leaks.  cJSON's
 * other adders copy the key and leak the item when that copy fails. */
static int add_owned(cJSON *obj, const char *key, cJSON *item) {
  return item != NULL && cJSON_AddItemToObjectCS(obj, key, item);
}

/* A node standing for value without copying it (cJSON's references), for
 * a body that lives only until it is written. */
static cJSON *reference(const cJSON *value) {
  switch (value->type & 0xff) {
  case cJSON_Object:
    return cJSON_CreateObjectReference(value->child);
  case cJSON_Array:
    return cJSON_CreateArrayReference(value->child);
  case cJSON_String:
    return cJSON_CreateStringReference(value->valuestring);
  default:
    return cJSON_Duplicate(value, 0);
  }
}

int exp_broadcast(exp_channel *ch, const char *name, const cJSON *payload,
                  uint64_t timeout_ms, exp_json_cb cb, void *ud) {
  exp_sdk *sdk = ch != NULL ? ch->bus->sdk : NULL;
  exp_call call = {"POST", "/api/networks/current/broadcasts", NULL, NULL, 0};
  pending_broadcast *b;
  cJSON *query, *body;
  uint64_t http_ms;
  int r = EXP_ENOMEM;

  if (ch == NULL)
    return EXP_EOPTIONS;
  if (sdk == NULL)
    return EXP_ERUNTIME;
  if (name == NULL || name[0] == '\0')
    return exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL,
                         "a broadcast needs an event name");
  /* The server holds the request for timeout_ms before it answers. */
  http_ms = (uint64_t)sdk->opt.num[EXP_OPT_REQUEST_TIMEOUT_MS];
  call.timeout_ms =
      timeout_ms > UINT64_MAX - http_ms ? UINT64_MAX : timeout_ms + http_ms;
  query = cJSON_CreateObject();
  body = cJSON_CreateObject();
  b = exp_malloc(sizeof(*b));
  if (query != NULL && body != NULL && b != NULL &&
      cJSON_AddNumberToObject(query, "timeout", (double)timeout_ms) != NULL &&
      add_owned(body, "name", cJSON_CreateStringReference(name)) &&
      add_owned(body, "channel", cJSON_CreateStringReference(ch->id)) &&
      (payload == NULL || add_owned(body, "payload", reference(payload)))) {
    b->cb = cb;
    b->ud = ud;
    call.query = query;
    call.body = body;
    r = exp_request(sdk, &call, on_broadcast, b);
    if (r == 0)
      b = NULL;
  } else {
    exp_sdk_error(sdk, r, 0, NULL, "out of memory");
  }
  exp_free(b);
  cJSON_Delete(query);
  cJSON_Delete(body);
  return r;
}

int exp_broadcast_wait(exp_channel *ch, const char *name, const cJSON *payload,
                       uint64_t timeout_ms, cJSON **responses) {
  exp_waiter w;
  if (exp_wait_begin_on(&w, ch, ch != NULL ? ch->bus->sdk : NULL) == 0)
    exp_wait_run(
        &w, exp_broadcast(ch, name, payload, timeout_ms, exp_wait_json_cb, &w));
  return exp_wait_json(&w, responses);
}

static uint64_t convention_timeout(uint64_t timeout_ms) {
  return timeout_ms > 0 ? timeout_ms : CONVENTION_TIMEOUT_MS;
}

int exp_fling(exp_channel *ch, const cJSON *payload, uint64_t timeout_ms,
              exp_json_cb cb, void *ud) {
  return exp_broadcast(ch, "fling", payload, convention_timeout(timeout_ms), cb,
                       ud);
}

int exp_fling_wait(exp_channel *ch, const cJSON *payload, uint64_t timeout_ms,
                   cJSON **responses) {
  return exp_broadcast_wait(ch, "fling", payload,
                            convention_timeout(timeout_ms), responses);
}

int exp_identify(exp_channel *ch, uint64_t timeout_ms, exp_json_cb cb,
                 void *ud) {
  return exp_broadcast(ch, "identify", NULL, convention_timeout(timeout_ms), cb,
                       ud);
}

int exp_identify_wait(exp_channel *ch, uint64_t timeout_ms, cJSON **responses) {
  return exp_broadcast_wait(ch, "identify", NULL,
                            convention_timeout(timeout_ms), responses);
}
