/*
 * auth.h: login, token refresh and 401 recovery as a state machine
 * (internal, no I/O).
 *
 * Inputs are the start, the answers to the login and refresh requests it
 * asked for, its timer firing, a 401 seen on an ordinary call, and
 * credentials received by pairing.  Each input fills an exp_auth_out with
 * the actions the libuv layer performs, after the machine's own state is
 * already consistent.  The clock is an input too (now: ms since the epoch,
 * the unit of the payload's expiration), so tests drive time.
 *
 * Rules (exp-protocol.md, "Authentication"):
 * - The start sends a login, unless the credentials carry a saved payload
 *   that is not a pairing one, names the same identity (the user's
 *   username and organization, the device's or consumer app's uuid and
 *   type) and expires more than EXP_AUTH_MIN_REFRESH_MS from now: that
 *   payload is then taken at once, as if a login had brought it.
 * - After a login or refresh the timer is armed at half the remaining
 *   lifetime (at least EXP_AUTH_MIN_REFRESH_MS); it fires a refresh.  A
 *   token that had expired on arrival is renewed after
 *   EXP_AUTH_MIN_REFRESH_MS, doubling for each such token in a row up to
 *   EXP_AUTH_RETRY_MS.  Pairing tokens are never refreshed.
 * - A refresh failing with anything but 401 is retried every
 *   EXP_AUTH_RETRY_MS; once the old token has expired the retry is a login.
 * - A refresh answered 401 turns into a login with the stored credentials.
 * - A login answered 401 is fatal (EXP_EAUTH, error event), unless the
 *   device allows pairing: it then logs in once more as uuid "_" with
 *   secret "_" to get a pairing token.
 * - A login failing otherwise during start fails the start with that error
 *   (the application decides whether to start again); once started, it is
 *   retried every EXP_AUTH_RETRY_MS.
 * - A 401 on an ordinary call starts one refresh that every call seeing a
 *   401 on the same token waits for; each of those calls is then retried
 *   once (the layer's job) or failed with the refresh's error.
 * - A 401 on a token that such a refresh just brought (a 401 storm: the
 *   server renews tokens it then refuses; a revoked token would have had
 *   its refresh refused too) renews again only once EXP_AUTH_STORM_MS
 *   passed since the renewal before, a window that doubles up to
 *   EXP_AUTH_RETRY_MS while 401s keep coming and starts again at
 *   EXP_AUTH_STORM_MS after EXP_AUTH_RETRY_MS without one.  Calls refused
 *   inside the window fail with the server's answer.
 */
#ifndef EXP_AUTH_H
#define EXP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define EXP_AUTH_RETRY_MS 60000
#define EXP_AUTH_MIN_REFRESH_MS 1000
#define EXP_AUTH_STORM_MS 5000

typedef enum exp_auth_kind {
  EXP_AUTH_USER,
  EXP_AUTH_DEVICE,
  EXP_AUTH_CONSUMER_APP
} exp_auth_kind;

/* What exp_options_check derives from the options; copied by
 * exp_auth_new.  A device with allow_pairing and no secret logs in as a
 * pairing device. */
typedef struct exp_auth_credentials {
  exp_auth_kind kind;
  const char *username, *password, *organization; /* user */
  const char *uuid;                               /* device, consumer app */
  const char *secret;                             /* device */
  const char *api_key;                            /* consumer app */
  int allow_pairing;                              /* device */
  /* An auth payload saved from an earlier run (JSON text), or NULL: the
   * start uses it instead of a login while it is valid for these
   * credentials. */
  const char *saved;
} exp_auth_credentials;

/* Action bits, in the order the layer performs them. */
enum {
  EXP_AUTH_STOP_TIMER = 1 << 0,
  EXP_AUTH_ARM_TIMER = 1 << 1,    /* timer_ms from now; replaces any */
  EXP_AUTH_SEND_LOGIN = 1 << 2,   /* POST {host}/api/auth/login, body */
  EXP_AUTH_SEND_REFRESH = 1 << 3, /* POST {host}/api/auth/token, bearer */
  EXP_AUTH_WARN = 1 << 4,         /* log message: a failure to retry */
  EXP_AUTH_EMIT_UPDATE = 1 << 5,  /* exp_auth_payload() is new */
  EXP_AUTH_EMIT_ERROR = 1 << 6,   /* fatal: the error below */
  EXP_AUTH_START_DONE = 1 << 7,   /* start completes with status */
  EXP_AUTH_RELEASE = 1 << 8 /* waiting calls: status 0 resend, else fail */
};

typedef struct exp_auth_out {
  unsigned actions;
  const char *body;  /* SEND_LOGIN; lent until the next input */
  unsigned seq;      /* SEND_*: pass back with the answer */
  uint64_t timer_ms; /* ARM_TIMER */
  int refreshed;     /* EMIT_UPDATE: the payload came from a refresh */
  /* The error of EMIT_ERROR, START_DONE, RELEASE and WARN. */
  int status;
  int http_status;
  char api_code[64];
  char message[256];
} exp_auth_out;

typedef struct exp_auth_machine exp_auth_machine;

/* NULL when out of memory. */
exp_auth_machine *exp_auth_new(const exp_auth_credentials *creds);

/* 0 when text has the shape of an auth payload, else EXP_EOPTIONS with
 * msg saying what is wrong. */
int exp_auth_check_saved(const char *text, char *msg, size_t msg_size);
void exp_auth_free(exp_auth_machine *a);

/* Inputs.  Every input resets out first.  An answer is the transport error
 * (0 or a negative exp_errno, msg saying why) or the HTTP status and body;
 * answers whose seq is not the latest sent are ignored. */
void exp_auth_start(exp_auth_machine *a, int64_t now, exp_auth_out *out);
void exp_auth_on_login(exp_auth_machine *a, int64_t now, unsigned seq, int err,
                       const char *msg, int status, const char *body,
                       size_t len, exp_auth_out *out);
void exp_auth_on_refresh(exp_auth_machine *a, int64_t now, unsigned seq,
                         int err, const char *msg, int status, const char *body,
                         size_t len, exp_auth_out *out);
void exp_auth_on_timer(exp_auth_machine *a, int64_t now, exp_auth_out *out);
/* New device credentials from pairing: logs in with them.  EXP_ENOMEM. */
int exp_auth_set_device(exp_auth_machine *a, const char *uuid,
                        const char *secret, int64_t now, exp_auth_out *out);

/* Results of exp_auth_acquire and exp_auth_on_401 (or a negative
 * exp_errno, detail in exp_auth_error). */
enum { EXP_AUTH_GO = 0, EXP_AUTH_WAIT = 1, EXP_AUTH_REFUSED = 2 };

/* May a call be sent now?  GO: with exp_auth_token(); WAIT: park it until
 * RELEASE (a login is running); EXP_EPAIRING; the fatal error. */
int exp_auth_acquire(exp_auth_machine *a);
/* A call sent with the token of generation gen got a 401.  GO: resend it
 * (the token changed meanwhile); WAIT: park it (out may ask for the
 * refresh); REFUSED: fail it with its own answer (a 401 storm, see
 * above); negative: fail it. */
int exp_auth_on_401(exp_auth_machine *a, unsigned gen, int64_t now,
                    exp_auth_out *out);

/* The current payload and its parts; NULL before the first login. */
const cJSON *exp_auth_payload(const exp_auth_machine *a);
const char *exp_auth_token(const exp_auth_machine *a);
/* auth.api.host / auth.network.host when the payload has them, else NULL. */
const char *exp_auth_api_host(const exp_auth_machine *a);
const char *exp_auth_network_host(const exp_auth_machine *a);
int exp_auth_is_pairing(const exp_auth_machine *a);
/* Increases with every new payload. */
unsigned exp_auth_gen(const exp_auth_machine *a);
/* 1 when s contains the token, the password, the secret or the API key:
 * text the server chose may repeat them, and the log must not. */
int exp_auth_reveals(const exp_auth_machine *a, const char *s);
/* Why acquire/on_401 refused (message and code of the failure). */
const exp_auth_out *exp_auth_error(const exp_auth_machine *a);

#endif
