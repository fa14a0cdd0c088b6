/* eio.c: the Engine.IO / Socket.IO client session as a state machine. */
#include "eio.h"

#include <stdarg.h>
#include <stdio.h>

#include "common.h"
#include "json.h"
#include "json_scan.h"

enum { OPENING, CONNECTING, CONNECTED, OVER };

/* Heartbeat settings above this (about 24 days) are not a server we can
 * time with uv timers anyway. */
#define MAX_MS 2147483647.0

static int fail(exp_eio *s, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
  va_end(ap);
  s->state = OVER;
  return err;
}

static void reset_out(exp_eio *s, exp_eio_out *out) {
  cJSON_Delete(s->json);
  s->json = NULL;
  memset(out, 0, sizeof(*out));
  out->kind = EXP_EIO_NOTHING;
}

static void set_send(exp_eio_out *out, const char *frame) {
  out->send = frame;
  out->send_len = strlen(frame);
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses exactly [p, p+n) as one JSON value into s->json. */
static int parse_json(exp_eio *s, const char *p, size_t n, const char *what) {
  const char *end = NULL;
  cJSON *j;
  if (n == 0)
    return fail(s, EXP_EPROTOCOL, "%s without a payload", what);
  j = cJSON_ParseWithLengthOpts(p, n, &end, 0);
  if (j == NULL && exp_json_parse_error(p, n) == EXP_ENOMEM)
    return fail(s, EXP_ENOMEM, "%s: out of memory", what);
  if (j == NULL)
    return fail(s, EXP_EPROTOCOL, "%s with invalid JSON", what);
  while (end < p + n && is_space(*end))
    end++;
  if (end != p + n) {
    cJSON_Delete(j);
    return fail(s, EXP_EPROTOCOL, "%s with data after its JSON", what);
  }
  s->json = j;
  return 0;
}

void exp_eio_init(exp_eio *s, int version, uint64_t now,
                  uint64_t connect_timeout_ms) {
  memset(s, 0, sizeof(*s));
  s->version = version == 3 ? 3 : 4;
  s->state = OPENING;
  if (connect_timeout_ms > 0)
    s->connect_deadline = now + connect_timeout_ms;
}

void exp_eio_cleanup(exp_eio *s) {
  cJSON_Delete(s->json);
  s->json = NULL;
}

/* A positive whole number of milliseconds from the open packet. */
static int get_ms(const cJSON *obj, const char *key, uint64_t *ms) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= MAX_MS))
    return 0;
  *ms = (uint64_t)v->valuedouble;
  return 1;
}

static int on_open(exp_eio *s, const char *p, size_t n, uint64_t now,
                   exp_eio_out *out) {
  const cJSON *sid, *upgrades, *max;
  int r;
  if (s->state != OPENING)
    return fail(s, EXP_EPROTOCOL, "a second Engine.IO open packet");
  if ((r = parse_json(s, p, n, "an Engine.IO open packet")) != 0)
    return r;
  if (!cJSON_IsObject(s->json))
    return fail(s, EXP_EPROTOCOL, "the Engine.IO open packet is no object");
  sid = cJSON_GetObjectItemCaseSensitive(s->json, "sid");
  if (!cJSON_IsString(sid) || sid->valuestring[0] == '\0')
    return fail(s, EXP_EPROTOCOL, "the Engine.IO open packet has no sid");
  if (!get_ms(s->json, "pingInterval", &s->ping_interval) ||
      !get_ms(s->json, "pingTimeout", &s->ping_timeout))
    return fail(s, EXP_EPROTOCOL,
                "the Engine.IO open packet has no valid pingInterval and "
                "pingTimeout");
  upgrades = cJSON_GetObjectItemCaseSensitive(s->json, "upgrades");
  if (upgrades != NULL && !cJSON_IsArray(upgrades))
    return fail(s, EXP_EPROTOCOL,
                "the Engine.IO open packet's upgrades is no array");
  max = cJSON_GetObjectItemCaseSensitive(s->json, "maxPayload");
  if (max != NULL) {
    if (!cJSON_IsNumber(max) || !(max->valuedouble >= 0))
      return fail(s, EXP_EPROTOCOL,
                  "the Engine.IO open packet's maxPayload is invalid");
    /* An absurd limit is no limit (and would not fit the integer). */
    s->max_payload = max->valuedouble < 1e18 ? (uint64_t)max->valuedouble : 0;
  }
  s->state = CONNECTING;
  if (s->version == 4) {
    /* Socket.IO 3+ waits for the client's CONNECT for the namespace. */
    s->alive_until = now + s->ping_interval + s->ping_timeout;
    set_send(out, "40");
  } else {
    s->next_ping = now + s->ping_interval;
  }
  return 0;
}

static int on_connect(exp_eio *s, const char *p, size_t n, exp_eio_out *out) {
  int r;
  if (s->state == CONNECTED)
    return 0;
  if (n == 0) {
    if (s->version == 4) {
      /* Socket.IO 3+ always sends {"sid"}; Socket.IO 2 connects the default
       * namespace unasked and bare, and expects Engine.IO 3 heartbeats. */
      s->server_v3 = 1;
      return fail(s, EXP_EPROTOCOL,
                  "the server speaks Engine.IO 3 (Socket.IO 2 or older)");
    }
  } else {
    if ((r = parse_json(s, p, n, "a Socket.IO CONNECT packet")) != 0)
      return r;
    if (!cJSON_IsObject(s->json))
      return fail(s, EXP_EPROTOCOL,
                  "a Socket.IO CONNECT packet's payload is no object");
  }
  s->state = CONNECTED;
  s->connect_deadline = 0;
  out->kind = EXP_EIO_CONNECTED;
  return 0;
}

/* The first two elements of an event's array: its name and argument. */
typedef struct event_parts {
  int n;
  exp_json_member name, arg;
} event_parts;

static int on_element(void *ud, const exp_json_member *m) {
  event_parts *e = ud;
  if (e->n == 0)
    e->name = *m;
  else if (e->n == 1)
    e->arg = *m;
  e->n++;
  return 0;
}

/* The array is read by structure only: the argument is not parsed here. */
static int on_event(exp_eio *s, const char *p, size_t n, exp_eio_out *out) {
  event_parts e;
  int r;
  if (s->state != CONNECTED)
    return fail(s, EXP_EPROTOCOL, "a Socket.IO event before CONNECT");
  memset(&e, 0, sizeof(e));
  while (n > 0 && is_space(*p)) {
    p++;
    n--;
  }
  if (n == 0 || p[0] != '[' || exp_json_members(p, n, on_element, &e) != 0)
    return fail(s, EXP_EPROTOCOL, "a Socket.IO event that is no JSON array");
  if (e.n == 0 || !exp_json_is_string(e.name.value, e.name.value_len))
    return fail(s, EXP_EPROTOCOL, "a Socket.IO event without a name");
  r = exp_json_unescape(e.name.value + 1, e.name.value_len - 2, s->name,
                        sizeof(s->name), NULL);
  if (r == EXP_JSON_TOO_LONG)
    return 0;
  if (r != 0)
    return fail(s, EXP_EPROTOCOL, "a Socket.IO event with an invalid name");
  out->kind = EXP_EIO_EVENT;
  out->name = s->name;
  if (e.n > 1) {
    out->arg = e.arg.value;
    out->arg_len = e.arg.value_len;
  }
  return 0;
}

static int on_connect_error(exp_eio *s, const char *p, size_t n,
                            exp_eio_out *out) {
  const char *msg = "the server refused the connection";
  int r;
  if (n > 0) {
    const cJSON *m;
    if ((r = parse_json(s, p, n, "a Socket.IO CONNECT_ERROR packet")) != 0)
      return r;
    /* Socket.IO 3+ sends {message, data}; Socket.IO 2 a string (or the
     * middleware's data). */
    m = cJSON_IsObject(s->json)
            ? cJSON_GetObjectItemCaseSensitive(s->json, "message")
            : s->json;
    if (cJSON_IsString(m) && m->valuestring[0] != '\0')
      msg = m->valuestring;
  }
  s->state = OVER;
  snprintf(s->msg, sizeof(s->msg), "%s", msg);
  out->kind = EXP_EIO_CONNECT_ERROR;
  out->message = msg;
  return 0;
}

static int closed(exp_eio *s, exp_eio_out *out, const char *why) {
  s->state = OVER;
  snprintf(s->msg, sizeof(s->msg), "%s", why);
  out->kind = EXP_EIO_CLOSED;
  out->message = s->msg;
  return 0;
}

/* A Socket.IO packet: type, optional "/nsp,", optional ack id, payload. */
static int no_member(void *ud, const exp_json_member *m) {
  EXP_UNUSED(ud);
  EXP_UNUSED(m);
  return 0;
}

static int on_message(exp_eio *s, const char *p, const char *end,
                      exp_eio_out *out) {
  int default_nsp = 1;
  char type;
  if (p == end)
    return fail(s, EXP_EPROTOCOL, "an empty Socket.IO packet");
  type = *p++;
  if (type == '5' || type == '6')
    return fail(s, EXP_EPROTOCOL, "a binary Socket.IO packet (EXP uses none)");
  if (type < '0' || type > '4')
    return fail(s, EXP_EPROTOCOL, "an unknown Socket.IO packet type 0x%02x",
                (unsigned char)type);
  if (p < end && *p == '/') {
    const char *nsp = p;
    while (p < end && *p != ',')
      p++;
    default_nsp = p - nsp == 1;
    if (p < end)
      p++;
  }
  while (p < end && *p >= '0' && *p <= '9')
    p++;
  if (!default_nsp)
    return 0;
  switch (type) {
  case '0':
    return on_connect(s, p, (size_t)(end - p), out);
  case '1':
    return closed(s, out, "the server disconnected the socket");
  case '2':
    return on_event(s, p, (size_t)(end - p), out);
  case '3':
    /* We never ask for acks; check the shape and drop it. */
    if (p == end || *p != '[' ||
        exp_json_members(p, (size_t)(end - p), no_member, NULL) != 0)
      return fail(s, EXP_EPROTOCOL, "a Socket.IO ACK that is no array");
    return 0;
  default:
    return on_connect_error(s, p, (size_t)(end - p), out);
  }
}

int exp_eio_feed(exp_eio *s, const char *frame, size_t len, uint64_t now,
                 exp_eio_out *out) {
  const char *end = frame + len;
  reset_out(s, out);
  if (s->state == OVER)
    return EXP_ERUNTIME;
  if (len == 0)
    return fail(s, EXP_EPROTOCOL, "an empty Engine.IO packet");
  if (s->state == OPENING && frame[0] != '0')
    return fail(s, EXP_EPROTOCOL,
                "an Engine.IO packet of type 0x%02x before the open packet",
                (unsigned char)frame[0]);
  switch (frame[0]) {
  case '0':
    return on_open(s, frame + 1, len - 1, now, out);
  case '1':
    return closed(s, out, "the server closed the Engine.IO session");
  case '2':
    if (s->version == 3)
      return fail(s, EXP_EPROTOCOL,
                  "a ping from an Engine.IO 3 server (the client pings)");
    s->alive_until = now + s->ping_interval + s->ping_timeout;
    set_send(out, "3");
    return 0;
  case '3':
    /* Engine.IO 4 servers send no pong but to probes; those are dropped. */
    if (s->version == 3 && s->pong_deadline != 0) {
      s->pong_deadline = 0;
      s->next_ping = now + s->ping_interval;
    }
    return 0;
  case '4':
    return on_message(s, frame + 1, end, out);
  case '5': /* upgrade, noop: nothing to do on a websocket-only session */
  case '6':
    return 0;
  default:
    return fail(s, EXP_EPROTOCOL, "an unknown Engine.IO packet type 0x%02x",
                (unsigned char)frame[0]);
  }
}

int exp_eio_tick(exp_eio *s, uint64_t now, exp_eio_out *out) {
  reset_out(s, out);
  if (s->state == OVER)
    return 0;
  if (s->state != CONNECTED && s->connect_deadline != 0 &&
      now >= s->connect_deadline)
    return fail(s, EXP_ETIMEOUT, "Socket.IO did not connect in time");
  if (s->state == OPENING)
    return 0;
  if (s->version == 4) {
    if (now >= s->alive_until)
      return fail(s, EXP_ETIMEOUT, "no ping from the server for %llu ms",
                  (unsigned long long)(s->ping_interval + s->ping_timeout));
  } else if (s->pong_deadline != 0) {
    if (now >= s->pong_deadline)
      return fail(s, EXP_ETIMEOUT, "no pong from the server within %llu ms",
                  (unsigned long long)s->ping_timeout);
  } else if (now >= s->next_ping) {
    s->pong_deadline = now + s->ping_timeout;
    set_send(out, "2");
  }
  return 0;
}

uint64_t exp_eio_deadline(const exp_eio *s) {
  uint64_t d = 0, hb;
  if (s->state == OVER)
    return 0;
  if (s->state != CONNECTED)
    d = s->connect_deadline;
  if (s->state == OPENING)
    return d;
  if (s->version == 4)
    hb = s->alive_until;
  else
    hb = s->pong_deadline != 0 ? s->pong_deadline : s->next_ping;
  return d == 0 || hb < d ? hb : d;
}

int exp_eio_connected(const exp_eio *s) {
  return s->state == CONNECTED;
}

uint64_t exp_eio_max_payload(const exp_eio *s) {
  return s->max_payload;
}

const char *exp_eio_message(const exp_eio *s) {
  return s->msg;
}

int exp_eio_server_is_v3(const exp_eio *s) {
  return s->server_v3;
}

int exp_eio_version_refused(int status, const char *body, size_t len) {
  static const char text[] = "Unsupported protocol version";
  const cJSON *code;
  cJSON *j;
  int refused;
  if (status != 400 || body == NULL)
    return 0;
  while (len > 0 && is_space(*body)) {
    body++;
    len--;
  }
  while (len > 0 && is_space(body[len - 1]))
    len--;
  if (len == sizeof(text) - 1 && memcmp(body, text, len) == 0)
    return 1;
  if (len == 0 || body[0] != '{')
    return 0;
  j = cJSON_ParseWithLength(body, len);
  code = cJSON_GetObjectItemCaseSensitive(j, "code");
  refused = cJSON_IsNumber(code) && code->valuedouble == 5;
  cJSON_Delete(j);
  return refused;
}

static int unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

char *exp_eio_path(int version, const char *token) {
  static const char base[] = "/socket.io/?EIO=4&transport=websocket";
  static const char key[] = "&token=";
  static const char hex[] = "0123456789ABCDEF";
  size_t n = sizeof(base) - 1;
  const unsigned char *t;
  char *path, *o;
  if (token != NULL) {
    n += sizeof(key) - 1;
    for (t = (const unsigned char *)token; *t != '\0'; t++)
      n += unreserved(*t) ? 1 : 3;
  }
  path = exp_malloc(n + 1);
  if (path == NULL)
    return NULL;
  memcpy(path, base, sizeof(base) - 1);
  path[sizeof("/socket.io/?EIO=") - 1] = version == 3 ? '3' : '4';
  o = path + sizeof(base) - 1;
  if (token != NULL) {
    memcpy(o, key, sizeof(key) - 1);
    o += sizeof(key) - 1;
    for (t = (const unsigned char *)token; *t != '\0'; t++) {
      if (unreserved(*t)) {
        *o++ = (char)*t;
      } else {
        *o++ = '%';
        *o++ = hex[*t >> 4];
        *o++ = hex[*t & 0xf];
      }
    }
  }
  *o = '\0';
  return path;
}

int exp_eio_event_frame(const char *name, const cJSON *arg, char **frame,
                        size_t *len) {
  cJSON *a, *s;
  char *text, *grown;
  size_t n;
  *frame = NULL;
  *len = 0;
  if (name == NULL)
    return EXP_EOPTIONS;
  a = cJSON_CreateArray();
  s = cJSON_CreateString(name);
  if (a == NULL || s == NULL) {
    cJSON_Delete(a);
    cJSON_Delete(s);
    return EXP_ENOMEM;
  }
  cJSON_AddItemToArray(a, s);
  /* A reference prints arg in place without copying it. */
  if (arg != NULL && !cJSON_AddItemReferenceToArray(a, (cJSON *)arg)) {
    cJSON_Delete(a);
    return EXP_ENOMEM;
  }
  text = cJSON_PrintUnformatted(a);
  cJSON_Delete(a);
  if (text == NULL)
    return EXP_ENOMEM;
  n = strlen(text);
  grown = exp_realloc(text, n + 3);
  if (grown == NULL) {
    exp_free(text);
    return EXP_ENOMEM;
  }
  memmove(grown + 2, grown, n + 1);
  grown[0] = '4';
  grown[1] = '2';
  *frame = grown;
  *len = n + 2;
  return 0;
}

int exp_eio_subscribe_frame(const char *const *ids, size_t n, char **frame,
                            size_t *len) {
  static const char head[] = "42[\"subscribe\",[";
  size_t total = sizeof(head) - 1 + 2, i;
  char *f, *o;
  *frame = NULL;
  *len = 0;
  if (ids == NULL && n > 0)
    return EXP_EOPTIONS;
  for (i = 0; i < n; i++) {
    const unsigned char *c = (const unsigned char *)ids[i];
    if (c == NULL)
      return EXP_EOPTIONS;
    for (; *c != '\0'; c++)
      if (*c < 0x20 || *c == '"' || *c == '\\')
        return EXP_EOPTIONS;
    total += (size_t)(c - (const unsigned char *)ids[i]) + 2 + (i > 0);
  }
  f = exp_malloc(total + 1);
  if (f == NULL)
    return EXP_ENOMEM;
  memcpy(f, head, sizeof(head) - 1);
  o = f + sizeof(head) - 1;
  for (i = 0; i < n; i++) {
    size_t k = strlen(ids[i]);
    if (i > 0)
      *o++ = ',';
    *o++ = '"';
    memcpy(o, ids[i], k);
    o += k;
    *o++ = '"';
  }
  memcpy(o, "]]", 3);
  *frame = f;
  *len = total;
  return 0;
}
