/* network.c: exp broadcast, fling, identify, listen and pairing. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

exp_channel *cli_channel(const cli_args *a, exp_sdk *sdk, const char *name,
                         int *status) {
  int flags = (a->system ? EXP_CHANNEL_SYSTEM : 0) |
              (a->consumer ? EXP_CHANNEL_CONSUMER : 0);
  exp_channel *ch = exp_get_channel(sdk, name, flags);

  *status = ch != NULL ? CLI_OK
                       : cli_fail(sdk, a->command, exp_last_error(sdk)->code);
  return ch;
}

cJSON *cli_message_json(const char *channel, exp_message *msg,
                        const cJSON *response) {
  cJSON *j = cJSON_CreateObject();

  /* The payload and response are lent to the object, not copied. */
  if (j == NULL || !cJSON_AddStringToObject(j, "name", exp_message_name(msg)) ||
      !cJSON_AddStringToObject(j, "channel", channel) ||
      !cJSON_AddStringToObject(j, "id", exp_message_id(msg)) ||
      !cJSON_AddItemReferenceToObject(j, "payload", exp_message_payload(msg)) ||
      (response != NULL &&
       !cJSON_AddItemReferenceToObject(j, "response", (cJSON *)response))) {
    cJSON_Delete(j);
    return NULL;
  }
  return j;
}

void cli_listening(const cli_args *a) {
  if (a->verbose && a->npos == 2)
    fprintf(stderr, "exp %s: listening for \"%s\" on channel \"%s\"\n",
            a->command, a->pos[1], a->pos[0]);
  else if (a->verbose)
    fprintf(stderr, "exp %s: listening for every event on channel \"%s\"\n",
            a->command, a->pos[0]);
}

int cmd_broadcast(const cli_args *a) {
  const char *cmd = a->command;
  int want = strcmp(cmd, "identify") == 0 ? 1 : 2;
  int most = strcmp(cmd, "broadcast") == 0 ? 3 : want;
  uint64_t timeout = a->timeout >= 0 ? (uint64_t)a->timeout : 0;
  cJSON *payload = NULL, *responses = NULL;
  const cJSON *r;
  exp_channel *ch = NULL;
  exp_sdk *sdk = NULL;
  int status = CLI_OK, rc;

  if (a->npos < want)
    return cli_usage(
        a, want == 1 ? "DEVICE-UUID is missing"
           : a->npos ? (most == 2 ? "JSON is missing" : "EVENT is missing")
                     : "CHANNEL is missing");
  if (a->npos > most)
    return cli_usage(a, "too many arguments");
  if (a->npos > want || strcmp(cmd, "fling") == 0) {
    payload = cli_json_arg(a, a->pos[a->npos - 1],
                           most == 2 ? "the launch options" : "the payload");
    if (payload == NULL)
      return CLI_USAGE;
  }
  sdk = cli_connect(a, NULL, CLI_REST, &status);
  if (sdk != NULL)
    ch = cli_channel(a, sdk, a->pos[0], &status);
  if (ch != NULL) {
    if (strcmp(cmd, "fling") == 0)
      rc = exp_fling_wait(ch, payload, timeout, &responses);
    else if (strcmp(cmd, "identify") == 0)
      rc = exp_identify_wait(ch, timeout, &responses);
    else
      rc = exp_broadcast_wait(ch, a->pos[1], payload, timeout, &responses);
    if (rc != 0)
      status = cli_fail(sdk, cmd, rc);
    cJSON_ArrayForEach(r, responses) {
      if (status == CLI_OK)
        status = cli_print(a, r);
    }
  }
  cJSON_Delete(responses);
  cJSON_Delete(payload);
  exp_channel_free(ch);
  exp_stop(sdk);
  return status;
}

/* Milliseconds left until deadline (ms since some point, 0: none). */
static uint64_t left(uint64_t deadline) {
  uint64_t now = uv_hrtime() / 1000000;

  return deadline == 0 ? UINT64_MAX : deadline > now ? deadline - now : 0;
}

int cmd_listen(const cli_args *a) {
  uint64_t deadline =
      a->timeout > 0 ? uv_hrtime() / 1000000 + (uint64_t)a->timeout : 0;
  int64_t got = 0;
  exp_channel *ch = NULL;
  exp_listener *l = NULL;
  exp_sdk *sdk;
  int status, rc;

  if (a->npos < 1 || a->npos > 2)
    return cli_usage(a, a->npos == 0 ? "CHANNEL is missing"
                                     : "too many arguments");
  sdk = cli_connect(a, NULL, CLI_NETWORK_ON, &status);
  if (sdk != NULL)
    ch = cli_channel(a, sdk, a->pos[0], &status);
  if (ch != NULL) {
    rc = exp_listen_wait(ch, a->npos == 2 ? a->pos[1] : NULL, NULL, NULL, NULL,
                         &l);
    if (rc != 0)
      status = cli_fail(sdk, "listen", rc);
    else
      cli_listening(a);
  }
  while (l != NULL && status == CLI_OK && (a->count < 0 || got < a->count)) {
    uint64_t ms = left(deadline);
    exp_message *msg = NULL;
    cJSON *line;

    if (ms == 0) {
      if (a->count >= 0) {
        fprintf(stderr, "exp listen: %lld of %lld broadcasts in %lld ms\n",
                (long long)got, (long long)a->count, (long long)a->timeout);
        status = CLI_NETWORK;
      }
      break;
    }
    rc = exp_listener_wait(l, ms < 60000 ? ms : 60000, &msg);
    if (rc == EXP_ETIMEOUT)
      continue;
    if (rc != 0) {
      status = cli_fail(sdk, "listen", rc);
      break;
    }
    line = cli_message_json(a->pos[0], msg, NULL);
    status =
        line != NULL ? cli_print(a, line) : cli_fail(sdk, "listen", EXP_ENOMEM);
    cJSON_Delete(line);
    exp_message_free(msg);
    got++;
  }
  exp_listener_cancel(l);
  exp_channel_free(ch);
  exp_stop(sdk);
  return status;
}

typedef struct pairing {
  int paired;
  cJSON *credentials; /* NULL when paired but out of memory */
} pairing;

static void on_paired(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  pairing *p = ud;

  (void)sdk;
  (void)ev;
  p->paired = 1;
  p->credentials = cJSON_Duplicate(data, 1);
}

int cmd_pairing(const cli_args *a) {
  uint64_t deadline =
      a->timeout > 0 ? uv_hrtime() / 1000000 + (uint64_t)a->timeout : 0;
  pairing p = {0, NULL};
  cJSON *line;
  const char *code;
  exp_sdk *sdk;
  int status, rc = 0;

  if (a->npos > 0)
    return cli_usage(a, "takes no arguments");
  sdk = cli_connect(a, NULL, CLI_PAIRING_ON, &status);
  if (sdk == NULL)
    return status;
  code = exp_pairing_code(sdk);
  line = cJSON_CreateObject();
  if (code == NULL) {
    fprintf(stderr, "exp pairing: the server gave no pairing code\n");
    status = CLI_REFUSED;
  } else if (line == NULL ||
             !cJSON_AddStringToObject(line, "pairingCode", code) ||
             exp_on(sdk, EXP_EVENT_PAIRED, on_paired, &p) == NULL) {
    status = cli_fail(sdk, "pairing", EXP_ENOMEM);
  } else {
    status = cli_print(a, line);
  }
  cJSON_Delete(line);
  while (status == CLI_OK && !p.paired && rc == 0) {
    uint64_t ms = left(deadline);

    if (ms == 0) {
      fprintf(stderr, "exp pairing: nobody paired this device in %lld ms\n",
              (long long)a->timeout);
      status = CLI_NETWORK;
      break;
    }
    rc = exp_sleep(sdk, ms < 200 ? ms : 200);
  }
  if (rc != 0)
    status = cli_fail(sdk, "pairing", rc);
  else if (p.paired && p.credentials == NULL)
    status = cli_fail(sdk, "pairing", EXP_ENOMEM);
  else if (p.paired)
    status = cli_print(a, p.credentials);
  cJSON_Delete(p.credentials);
  exp_stop(sdk);
  return status;
}
