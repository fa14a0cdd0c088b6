/* pairing.c: a pairing device listens for its credentials by itself. */
#include "pairing.h"

#include "channel_id.h"
#include "listener.h"
#include "sdk.h"

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
  exp_bus *bus = ud;
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
  if (bus->pairing == l) {
    bus->pairing = NULL;
    exp_listener_cancel(l);
  }
}

static void on_listening(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  exp_bus *bus = ud;
  char *id;

  bus->pairing_listening = 0;
  if (status != 0) {
    if (status != EXP_ECANCELLED)
      exp_logf(&sdk->log, EXP_LOG_ERROR,
               "pairing: cannot listen for credentials: %s", sdk->err.message);
    return;
  }
  /* The login may have changed while the listen was on its way. */
  id = wanted_id(sdk);
  if (id != NULL && strcmp(id, l->route->chan->id) == 0) {
    bus->pairing = l;
  } else {
    exp_listener_cancel(l);
    if (id != NULL)
      exp_pairing_auth(bus);
  }
  exp_free(id);
}

void exp_pairing_auth(exp_bus *bus) {
  static const exp_listen_opts opts = {0, 0, UINT64_MAX, 0}; /* no deadline */
  exp_sdk *sdk = bus->sdk;
  char *id = wanted_id(sdk);
  exp_channel *ch;
  int r;

  if (bus->pairing != NULL &&
      (id == NULL || strcmp(id, bus->pairing->route->chan->id) != 0)) {
    exp_listener_cancel(bus->pairing);
    bus->pairing = NULL;
  }
  if (id == NULL || bus->pairing != NULL || bus->pairing_listening) {
    exp_free(id);
    return;
  }
  exp_free(id);
  ch = exp_get_channel(sdk, "pairing", EXP_CHANNEL_SYSTEM);
  r = ch != NULL ? exp_listen(ch, "credentials", &opts, on_credentials, bus,
                              on_listening, bus)
                 : sdk->err.code;
  exp_channel_free(ch);
  if (r != 0)
    exp_logf(&sdk->log, EXP_LOG_ERROR,
             "pairing: cannot listen for credentials: %s", sdk->err.message);
  else
    bus->pairing_listening = 1;
}
