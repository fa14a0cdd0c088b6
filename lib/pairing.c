/* pairing.c: a pairing device listens for its credentials by itself. */
#include "pairing.h"

#include "channel.h"
#include "channel_id.h"
#include "listener.h"
#include "session.h"
#include "waiter.h"

/* The pairing layer of a handle. */
typedef struct pairing {
  exp_sdk *sdk;
  exp_listener *listener; /* for the credentials, once listening */
  int listening;          /* its listen is on the way */
  int holding;            /* it holds the start (exp_sdk_hold_start) */
} pairing;

static void pairing_auth(void *self, const cJSON *payload);
static void pairing_stop(void *self);

static const exp_layer_ops pairing_ops = {pairing_auth, NULL, pairing_stop, 0};

/* The id of the channel the credentials come on while the login is a
 * pairing one, malloc'd; NULL otherwise (or out of memory). */
static char *wanted_id(exp_sdk *sdk) {
  const cJSON *identity =
      cJSON_GetObjectItemCaseSensitive(exp_auth(sdk), "identity");
  const char *org = cJSON_GetStringValue(
      cJSON_GetObjectItemCaseSensitive(identity, "organization"));
  char *id = NULL;

  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(identity, "isPairing")) ||
      org == NULL)
    return NULL;
  if (exp_channel_id_encode(org, "pairing", 1, 0, &id) != 0)
    exp_logf(&sdk->log, EXP_LOG_ERROR,
             "pairing: no channel for organization \"%.80s\"", org);
  return id;
}

static void on_credentials(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                           void *ud) {
  pairing *pg = ud;
  const cJSON *p = exp_message_payload(msg);
  const char *uuid =
      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "uuid"));
  const char *secret =
      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "secret"));
  int r;

  if (uuid == NULL || uuid[0] == '\0' || secret == NULL || secret[0] == '\0') {
    exp_logf(&sdk->log, EXP_LOG_WARN,
             "pairing: ignoring credentials without uuid and secret");
    exp_message_free(msg);
    return;
  }
  r = exp_sdk_paired(sdk, uuid, secret);
  exp_message_free(msg);
  if (r != 0) {
    exp_logf(&sdk->log, EXP_LOG_ERROR, "pairing: %s", exp_strerror(r));
    return;
  }
  /* The login with them is on its way; nothing more comes here. */
  if (pg->listener == l) {
    pg->listener = NULL;
    exp_listener_cancel(l);
  }
}

/* A listen on its way holds the start: done (or failed), it lets go. */
static void release_start(pairing *pg) {
  if (pg->holding && !pg->listening) {
    pg->holding = 0;
    exp_sdk_release_start(pg->sdk);
  }
}

static void on_listening(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  pairing *pg = ud;
  char *id;

  pg->listening = 0;
  if (status != 0) {
    if (status != EXP_ECANCELLED)
      exp_logf(&sdk->log, EXP_LOG_ERROR,
               "pairing: cannot listen for credentials: %s", sdk->err.message);
    release_start(pg);
    return;
  }
  /* The login may have changed while the listen was on its way. */
  id = wanted_id(sdk);
  if (id != NULL && strcmp(id, l->route->chan->id) == 0) {
    pg->listener = l;
  } else {
    exp_listener_cancel(l);
    if (id != NULL)
      pairing_auth(pg, exp_auth(sdk));
  }
  exp_free(id);
  release_start(pg);
}

/* After every new auth payload: starts or ends the listener. */
static void pairing_auth(void *self, const cJSON *payload) {
  static const exp_listen_opts opts = {0, 0, UINT64_MAX, 0}; /* no deadline */
  pairing *pg = self;
  exp_sdk *sdk = pg->sdk;
  char *id = wanted_id(sdk);
  exp_channel *ch;
  int r;

  EXP_UNUSED(payload);
  if (pg->listener != NULL &&
      (id == NULL || strcmp(id, pg->listener->route->chan->id) != 0)) {
    exp_listener_cancel(pg->listener);
    pg->listener = NULL;
  }
  if (id == NULL || pg->listener != NULL || pg->listening) {
    exp_free(id);
    return;
  }
  exp_free(id);
  ch = exp_get_channel(sdk, "pairing", EXP_CHANNEL_SYSTEM);
  r = ch != NULL ? exp_listen(ch, "credentials", &opts, on_credentials, pg,
                              on_listening, pg)
                 : sdk->err.code;
  exp_channel_free(ch);
  if (r != 0)
    exp_logf(&sdk->log, EXP_LOG_ERROR,
             "pairing: cannot listen for credentials: %s", sdk->err.message);
  else
    pg->listening = 1;
  /* The start completes once the code shown can be used. */
  if (r == 0 && sdk->start_pending && !pg->holding) {
    pg->holding = 1;
    exp_sdk_hold_start(sdk);
  }
}

/* The channels stop first (they attached later): a listen on the way has
 * completed with EXP_ECANCELLED, the listener is detached. */
static void pairing_stop(void *self) {
  pairing *pg = self;
  exp_listener_cancel(pg->listener);
  exp_free(pg);
}

int exp_pairing_attach(exp_sdk *sdk) {
  pairing *pg = exp_calloc(1, sizeof(*pg));
  if (pg == NULL)
    return EXP_ENOMEM;
  pg->sdk = sdk;
  if (exp_sdk_attach(sdk, &pairing_ops, pg) != 0) {
    exp_free(pg);
    return EXP_ERUNTIME;
  }
  return 0;
}

/* ----------------------------------------------------------- helpers */

const char *exp_pairing_code(const exp_sdk *sdk) {
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(exp_auth(sdk), "identity");
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(id, "isPairing")))
    return NULL;
  return cJSON_GetStringValue(
      cJSON_GetObjectItemCaseSensitive(id, "pairingCode"));
}

int exp_pair_device(exp_sdk *sdk, const char *code, const char *uuid,
                    exp_json_cb cb, void *ud) {
  cJSON *body;
  int r;

  if (sdk == NULL)
    return EXP_EOPTIONS;
  if (code == NULL || code[0] == '\0')
    return exp_sdk_error(sdk, EXP_EOPTIONS, 0, NULL,
                         "exp_pair_device needs the pairing code");
  body = cJSON_CreateObject();
  if (body == NULL ||
      cJSON_AddStringToObject(body, "pairingCode", code) == NULL ||
      (uuid != NULL && uuid[0] != '\0' &&
       cJSON_AddStringToObject(body, "uuid", uuid) == NULL)) {
    cJSON_Delete(body);
    return exp_sdk_error(sdk, EXP_ENOMEM, 0, NULL, "out of memory");
  }
  r = exp_post(sdk, "/api/devices/pair", NULL, body, cb, ud);
  cJSON_Delete(body);
  return r;
}

int exp_pair_device_wait(exp_sdk *sdk, const char *code, const char *uuid,
                         cJSON **device) {
  exp_waiter w;
  if (exp_wait_begin(&w, sdk) == 0)
    exp_wait_run(&w, exp_pair_device(sdk, code, uuid, exp_wait_json_cb, &w));
  return exp_wait_json(&w, device);
}
