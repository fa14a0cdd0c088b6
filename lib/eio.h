/*
 * eio.h: Engine.IO 3/4 and Socket.IO packets over websocket text frames,
 * without I/O (internal).
 *
 * A session is fed the server's text frames and told the time; it answers
 * with frames to send, the time its timer must fire next, and what happened
 * (connected, an event, the server closing).  It speaks to the default
 * namespace only and uses neither acks nor binary packets, as EXP does not.
 *
 * Heartbeats differ by version.  Engine.IO 3: the client pings every
 * pingInterval and the pong must come within pingTimeout.  Engine.IO 4: the
 * server pings, the client answers, and the connection is dead when no ping
 * came for pingInterval + pingTimeout.  Sending a heartbeat the other way
 * makes a server drop the connection, so the version must be right:
 * exp_eio_version_refused and exp_eio_server_is_v3 tell when to retry with
 * Engine.IO 3.
 */
#ifndef EXP_EIO_H
#define EXP_EIO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef enum exp_eio_kind {
  EXP_EIO_NOTHING,       /* nothing for the caller but out->send, if set */
  EXP_EIO_CONNECTED,     /* the default namespace is connected */
  EXP_EIO_EVENT,         /* out->name, out->arg */
  EXP_EIO_CONNECT_ERROR, /* the server refused us: out->message, out->arg */
  EXP_EIO_CLOSED         /* the server closed the session: out->message */
} exp_eio_kind;

/* What one feed or tick produced.  Everything is lent until the next call
 * on the session (or exp_eio_cleanup); arg points into the fed frame. */
typedef struct exp_eio_out {
  exp_eio_kind kind;
  const char *send; /* a text frame to send now, or NULL */
  size_t send_len;
  const char *name; /* EVENT: the event name, decoded */
  /* EVENT: the raw JSON text of the first argument, NULL when none.  Its
   * extent is found by structure only (json_scan.h): its contents are the
   * receiver's to check, so that an odd payload costs the message, not
   * the session. */
  const char *arg;
  size_t arg_len;
  const char *message; /* CONNECT_ERROR, CLOSED: what the server said */
} exp_eio_out;

/* A session; the fields are private.  Embed it and use the functions. */
typedef struct exp_eio {
  int version;
  int state;
  int server_v3;
  uint64_t connect_deadline;
  uint64_t ping_interval;
  uint64_t ping_timeout;
  uint64_t next_ping;     /* EIO 3: when the next ping is due */
  uint64_t pong_deadline; /* EIO 3: 0, or when the pong must be in */
  uint64_t alive_until;   /* EIO 4: when the server's next ping is late */
  uint64_t max_payload;   /* the server's limit on one frame, 0: none said */
  cJSON *json;            /* the latest control packet's JSON */
  char name[64];          /* out->name */
  char msg[160];
} exp_eio;

/* Starts a session for Engine.IO version 3 or 4 (anything else is taken as
 * 4) at time now (ms, any monotonic clock).  connect_timeout_ms bounds the
 * time until the namespace is connected; 0 means no bound. */
void exp_eio_init(exp_eio *s, int version, uint64_t now,
                  uint64_t connect_timeout_ms);

/* Frees what the session holds (the latest packet); s may be reused with
 * exp_eio_init afterwards. */
void exp_eio_cleanup(exp_eio *s);

/* Handles one complete text frame from the server.  Returns 0 with *out
 * filled, or, when the session is over: EXP_EPROTOCOL (malformed or
 * unexpected packet), EXP_ENOMEM, EXP_ERUNTIME (fed after the session
 * ended), with exp_eio_message saying why.  After EXP_EIO_CONNECT_ERROR or
 * EXP_EIO_CLOSED the session is over too.  An event whose name does not
 * fit out->name is nobody's: it is reported as EXP_EIO_NOTHING. */
int exp_eio_feed(exp_eio *s, const char *frame, size_t len, uint64_t now,
                 exp_eio_out *out);

/* Runs the heartbeat and connect checks at time now; call it when the
 * deadline is reached.  Returns 0 with *out filled (a ping to send, with
 * Engine.IO 3), or EXP_ETIMEOUT when the server is silent too long or the
 * connect timed out. */
int exp_eio_tick(exp_eio *s, uint64_t now, exp_eio_out *out);

/* When exp_eio_tick must run next (same clock as now), 0 for never.  It
 * changes after every feed and tick. */
uint64_t exp_eio_deadline(const exp_eio *s);

/* Whether the default namespace is connected. */
int exp_eio_connected(const exp_eio *s);

/* The server's limit on one frame from the open packet (Engine.IO 4),
 * 0 when it gave none. */
uint64_t exp_eio_max_payload(const exp_eio *s);

/* Why the session ended, "" while it runs. */
const char *exp_eio_message(const exp_eio *s);

/* A version 4 session found a Socket.IO 2 server, which speaks Engine.IO 3
 * whatever it is asked: the caller should connect again with version 3. */
int exp_eio_server_is_v3(const exp_eio *s);

/* Whether a failed websocket handshake (HTTP status and body) means the
 * server does not speak the Engine.IO version asked for: Engine.IO 4+
 * servers answer 400 with "Unsupported protocol version" (as plain text on
 * a websocket upgrade, as {"code":5,...} on polling). */
int exp_eio_version_refused(int status, const char *body, size_t len);

/* "/socket.io/?EIO=<3|4>&transport=websocket&token=<token>", the token
 * percent-encoded and left out when NULL.  malloc'd; NULL when out of
 * memory. */
char *exp_eio_path(int version, const char *token);

/* The frame 42["name",arg] (arg NULL: 42["name"]).  *frame is malloc'd and
 * NUL-terminated, *len its length.  Returns 0, EXP_EOPTIONS (name NULL) or
 * EXP_ENOMEM. */
int exp_eio_event_frame(const char *name, const cJSON *arg, char **frame,
                        size_t *len);

/* The frame 42["subscribe",[ids...]].  Channel ids are base64, so an id
 * that would need JSON escaping is EXP_EOPTIONS; otherwise as above. */
int exp_eio_subscribe_frame(const char *const *ids, size_t n, char **frame,
                            size_t *len);

#endif
