/* message.c: received broadcasts, their accessors, and responding. */
#include "message.h"

#include "json.h"
#include "sdk.h"
#include "waiter.h"

exp_envelope *exp_envelope_new(exp_bus *bus, const char *id, const char *name,
                               const char *channel, const char *payload,
                               size_t payload_len, uint64_t at) {
  size_t ni = strlen(id) + 1, nn = strlen(name) + 1, nc = strlen(channel) + 1;
  size_t bytes = sizeof(exp_envelope) + ni + nn + nc + payload_len + 1;
  exp_envelope *env = exp_malloc(bytes);
  char *s;

  if (env == NULL)
    return NULL;
  s = (char *)(env + 1);
  env->id = memcpy(s, id, ni);
  env->name = memcpy(s + ni, name, nn);
  env->channel = memcpy(s + ni + nn, channel, nc);
  s += ni + nn + nc;
  memcpy(s, payload, payload_len);
  s[payload_len] = '\0';
  env->payload = s;
  env->payload_len = payload_len;
  env->refs = 1;
  env->at = at;
  env->bytes = bytes;
  exp_bus_ref(bus);
  env->bus = bus;
  return env;
}

void exp_envelope_unref(exp_envelope *env) {
  if (--env->refs > 0)
    return;
  exp_bus_unref(env->bus);
  exp_free(env);
}

exp_message *exp_message_new(exp_envelope *env) {
  exp_message *m = exp_malloc(sizeof(*m));

  if (m == NULL)
    return NULL;
  exp_list_init(&m->node);
  env->refs++;
  m->env = env;
  m->payload = NULL;
  return m;
}

size_t exp_message_bytes(const exp_message *msg) {
  return msg->env->bytes + sizeof(*msg);
}

void exp_message_free(exp_message *msg) {
  if (msg == NULL)
    return;
  cJSON_Delete(msg->payload);
  exp_envelope_unref(msg->env);
  exp_free(msg);
}

const char *exp_message_name(const exp_message *msg) {
  return msg != NULL ? msg->env->name : NULL;
}

const char *exp_message_channel(const exp_message *msg) {
  return msg != NULL ? msg->env->channel : NULL;
}

const char *exp_message_id(const exp_message *msg) {
  return msg != NULL ? msg->env->id : NULL;
}

cJSON *exp_message_payload(const exp_message *msg) {
  exp_message *m = (exp_message *)msg;

  if (m == NULL)
    return NULL;
  /* The text was checked on arrival: only memory can fail this. */
  if (m->payload == NULL)
    m->payload = cJSON_ParseWithLength(m->env->payload, m->env->payload_len);
  return m->payload;
}

const char *exp_message_payload_json(const exp_message *msg, size_t *len) {
  if (len != NULL)
    *len = msg != NULL ? msg->env->payload_len : 0;
  return msg != NULL ? msg->env->payload : NULL;
}

cJSON *exp_message_get(const exp_message *msg, const char *path) {
  return exp_json_path(exp_message_payload(msg), path);
}

/* ---------------------------------------------------------------- respond */

static void on_responded(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  EXP_UNUSED(ud);
  if (status != 0 && status != EXP_ECANCELLED)
    exp_logf(&sdk->log, EXP_LOG_WARN, "a response was not delivered: %s",
             sdk->err.message);
  cJSON_Delete(result);
}

/* The body {id, channel, payload}: payload is referenced, not copied. */
static cJSON *response_body(const exp_message *msg, const cJSON *payload) {
  cJSON *b = cJSON_CreateObject();

  if (b == NULL ||
      cJSON_AddItemToObject(b, "id",
                            cJSON_CreateStringReference(msg->env->id)) == 0 ||
      cJSON_AddItemToObject(
          b, "channel", cJSON_CreateStringReference(msg->env->channel)) == 0 ||
      (payload != NULL
           ? cJSON_AddItemReferenceToObject(b, "payload", (cJSON *)payload)
           : cJSON_AddNullToObject(b, "payload") != NULL) == 0) {
    cJSON_Delete(b);
    return NULL;
  }
  return b;
}

int exp_message_respond(exp_message *msg, const cJSON *payload, exp_json_cb cb,
                        void *ud) {
  exp_sdk *sdk = msg != NULL ? msg->env->bus->sdk : NULL;
  exp_call call = {"POST", "/api/networks/current/responses", NULL, NULL, 0};
  int r;

  if (msg == NULL)
    return EXP_EOPTIONS;
  if (sdk == NULL)
    return EXP_ERUNTIME;
  call.body = response_body(msg, payload);
  if (call.body == NULL)
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  r = exp_request(sdk, &call, cb != NULL ? cb : on_responded, ud);
  cJSON_Delete((cJSON *)call.body);
  return r;
}

int exp_message_respond_wait(exp_message *msg, const cJSON *payload,
                             cJSON **result) {
  exp_waiter w;
  if (exp_wait_begin_on(&w, msg, msg != NULL ? msg->env->bus->sdk : NULL) == 0)
    exp_wait_run(&w, exp_message_respond(msg, payload, exp_wait_json_cb, &w));
  return exp_wait_json(&w, result);
}
