/*
 * c_peer.c: the C SDK as a peer of the official JavaScript SDK, driven by
 * c_interop.test.js.  It uses include/exp.h only and speaks in lines on
 * stdout.
 *
 *   c_peer HOST ROLE id        CHANNEL FLAGS
 *     prints the channel's wire id
 *   c_peer HOST ROLE broadcast CHANNEL FLAGS EVENT PAYLOAD TIMEOUT_MS
 *     prints {"responses": [...]} or {"error": ..., "status": ...,
 *     "code": ...}
 *   c_peer HOST ROLE listen    CHANNEL FLAGS EVENT ANSWER LISTENERS COUNT
 *     prints {"ready": "<wire id>"} once LISTENERS callback listeners are
 *     listening, then {"listener": i, "name", "channel", "id", "payload"}
 *     for each broadcast; every listener answers ANSWER (an object gets
 *     "listener": i added); exits once COUNT broadcasts per listener were
 *     answered, or after 20 s.
 *
 * ROLE is user, device or consumer (the seeded fixtures); FLAGS is 0-3
 * (EXP_CHANNEL_*); PAYLOAD and ANSWER are JSON.  A HOST with commas is
 * EXP_OPT_HOSTS; the environment may set C_PEER_HOSTS_RETRY_MS
 * (EXP_OPT_HOSTS_RETRY_MS), C_PEER_RECONNECT_MAX_MS, and C_PEER_LOG (any
 * value: the SDK's log from INFO up on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exp.h>

typedef struct peer {
  exp_sdk *sdk;
  const cJSON *answer;
  int listening;
  int failed;
  long received;
  long answered;
} peer;

typedef struct slot {
  peer *p;
  int index;
  exp_listener *l;
} slot;

static void print_json(cJSON *j) {
  char *s = cJSON_PrintUnformatted(j);
  printf("%s\n", s != NULL ? s : "null");
  fflush(stdout);
  free(s);
  cJSON_Delete(j);
}

static int fail(exp_sdk *sdk, int rc) {
  const exp_error_info *e = exp_last_error(sdk);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "error", exp_err_name(rc));
  cJSON_AddNumberToObject(j, "status", e->http_status);
  if (e->api_code != NULL)
    cJSON_AddStringToObject(j, "code", e->api_code);
  cJSON_AddStringToObject(j, "message", e->message);
  print_json(j);
  exp_stop(sdk);
  return 1;
}

static void on_answered(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  peer *p = ud;
  (void)sdk;
  if (status != 0)
    p->failed = 1;
  p->answered++;
  cJSON_Delete(result);
}

static void on_message(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                       void *ud) {
  slot *s = ud;
  cJSON *j = cJSON_CreateObject(), *a = cJSON_Duplicate(s->p->answer, 1);
  (void)sdk;
  (void)l;
  s->p->received++;
  cJSON_AddNumberToObject(j, "listener", s->index);
  cJSON_AddStringToObject(j, "name", exp_message_name(msg));
  cJSON_AddStringToObject(j, "channel", exp_message_channel(msg));
  cJSON_AddStringToObject(j, "id", exp_message_id(msg));
  cJSON_AddItemToObject(j, "payload",
                        cJSON_Duplicate(exp_message_payload(msg), 1));
  print_json(j);
  if (cJSON_IsObject(a))
    cJSON_AddNumberToObject(a, "listener", s->index);
  if (exp_message_respond(msg, a, on_answered, s->p) != 0)
    s->p->failed = 1;
  cJSON_Delete(a);
  exp_message_free(msg);
}

static void on_listening(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  slot *s = ud;
  (void)sdk;
  if (status != 0)
    s->p->failed = 1;
  s->l = l;
  s->p->listening++;
}

static int run_listeners(peer *p, exp_channel *ch, const char *event,
                         long listeners, long count) {
  slot *slots = calloc((size_t)listeners, sizeof(*slots));
  cJSON *ready;
  int rc = 0;

  for (long i = 0; i < listeners && rc == 0; i++) {
    slots[i].p = p;
    slots[i].index = (int)i;
    rc = exp_listen(ch, event, NULL, on_message, &slots[i], on_listening,
                    &slots[i]);
  }
  while (rc == 0 && p->listening < listeners)
    rc = exp_sleep(p->sdk, 10);
  if (rc == 0 && p->failed)
    rc = exp_last_error(p->sdk)->code;
  if (rc == 0) {
    ready = cJSON_CreateObject();
    cJSON_AddStringToObject(ready, "ready", exp_channel_id(ch));
    print_json(ready);
    for (int t = 0;
         t < 2000 && rc == 0 && !p->failed &&
         (p->received < count * listeners || p->answered < p->received);
         t++)
      rc = exp_sleep(p->sdk, 10);
  }
  for (long i = 0; i < listeners; i++)
    exp_listener_cancel(slots[i].l);
  free(slots);
  return rc != 0 ? rc : p->failed ? EXP_ENETWORK : 0;
}

int main(int argc, char **argv) {
  peer p = {0};
  exp_channel *ch;
  const char *role;
  int rc;

  if (argc < 6) {
    fprintf(stderr, "usage: see c_peer.c\n");
    return 2;
  }
  p.sdk = exp_new(NULL);
  if (p.sdk == NULL)
    return 1;
  role = argv[2];
  exp_set_log(p.sdk, getenv("C_PEER_LOG") != NULL ? EXP_LOG_INFO : EXP_LOG_NONE,
              NULL, NULL);
  exp_set_str(p.sdk,
              strchr(argv[1], ',') != NULL ? EXP_OPT_HOSTS : EXP_OPT_HOST,
              argv[1]);
  if (getenv("C_PEER_HOSTS_RETRY_MS") != NULL)
    exp_set_int(p.sdk, EXP_OPT_HOSTS_RETRY_MS,
                atoll(getenv("C_PEER_HOSTS_RETRY_MS")));
  if (getenv("C_PEER_RECONNECT_MAX_MS") != NULL)
    exp_set_int(p.sdk, EXP_OPT_RECONNECT_MAX_MS,
                atoll(getenv("C_PEER_RECONNECT_MAX_MS")));
  if (strcmp(role, "user") == 0) {
    exp_set_str(p.sdk, EXP_OPT_USERNAME, "test@goexp.io");
    exp_set_str(p.sdk, EXP_OPT_PASSWORD, "test-Password1");
    exp_set_str(p.sdk, EXP_OPT_ORGANIZATION, "scala");
  } else {
    exp_set_str(p.sdk, EXP_OPT_UUID, "test-uuid");
    exp_set_str(p.sdk,
                strcmp(role, "device") == 0 ? EXP_OPT_SECRET : EXP_OPT_API_KEY,
                strcmp(role, "device") == 0 ? "test-secret" : "test-api-key");
  }
  if (strcmp(argv[3], "listen") != 0)
    exp_set_int(p.sdk, EXP_OPT_ENABLE_NETWORK, 0);
  if ((rc = exp_start_wait(p.sdk, 10000)) != 0)
    return fail(p.sdk, rc);
  ch = exp_get_channel(p.sdk, argv[4], atoi(argv[5]));
  if (ch == NULL)
    return fail(p.sdk, exp_last_error(p.sdk)->code);

  if (strcmp(argv[3], "id") == 0) {
    printf("%s\n", exp_channel_id(ch));
  } else if (strcmp(argv[3], "broadcast") == 0 && argc == 9) {
    cJSON *payload = cJSON_Parse(argv[7]), *responses = NULL, *j;
    rc = exp_broadcast_wait(ch, argv[6], payload, strtoull(argv[8], NULL, 10),
                            &responses);
    cJSON_Delete(payload);
    if (rc != 0) {
      exp_channel_free(ch);
      return fail(p.sdk, rc);
    }
    j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "responses", responses);
    print_json(j);
  } else if (strcmp(argv[3], "listen") == 0 && argc == 10) {
    cJSON *answer = cJSON_Parse(argv[7]);
    p.answer = answer;
    rc = run_listeners(&p, ch, argv[6], atol(argv[8]), atol(argv[9]));
    cJSON_Delete(answer);
    if (rc != 0) {
      exp_channel_free(ch);
      return fail(p.sdk, rc);
    }
    printf("{\"done\":true}\n");
  } else {
    fprintf(stderr, "unknown command\n");
    rc = 2;
  }
  exp_channel_free(ch);
  exp_stop(p.sdk);
  return rc;
}
