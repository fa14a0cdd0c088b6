/*
 * message.h: received broadcasts (internal).
 *
 * A broadcast is kept as it came over the wire: one reference-counted
 * envelope holds its ids, name, arrival time, the bus for responding, and
 * its payload's raw JSON text, shared by every listener that got it.  A
 * message is an envelope reference plus the payload's tree, parsed only
 * when the application asks for it.
 */
#ifndef EXP_MESSAGE_H
#define EXP_MESSAGE_H

#include <stdint.h>

#include "bus.h"
#include "exp.h"

typedef struct exp_envelope {
  unsigned refs;
  exp_bus *bus;   /* a reference held */
  uint64_t at;    /* arrival, on the loop's clock (ms) */
  size_t bytes;   /* its one allocation: what a queued message holds */
  const char *id; /* the strings live after the struct */
  const char *name;
  const char *channel;
  const char *payload; /* raw JSON text, checked, NUL-terminated */
  size_t payload_len;
} exp_envelope;

struct exp_message {
  exp_list node; /* in a listener's queue */
  exp_envelope *env;
  cJSON *payload; /* parsed on the first exp_message_payload, else NULL */
};

/* payload: the raw JSON text of the payload, copied.  NULL when out of
 * memory. */
exp_envelope *exp_envelope_new(exp_bus *bus, const char *id, const char *name,
                               const char *channel, const char *payload,
                               size_t payload_len, uint64_t at);
void exp_envelope_unref(exp_envelope *env);

/* A message of env (a reference is taken); NULL when out of memory. */
exp_message *exp_message_new(exp_envelope *env);

/* What a queued message holds: its envelope and itself. */
size_t exp_message_bytes(const exp_message *msg);

#endif
