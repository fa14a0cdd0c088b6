/*
 * message.h: received broadcasts (internal).
 *
 * The parts every listener's copy shares (ids, name, arrival time, the bus
 * for responding) live once in a reference-counted envelope; a message is
 * an envelope reference plus its own payload.
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
  size_t size;    /* the message that carried it: what a queued copy weighs */
  const char *id; /* the strings live after the struct */
  const char *name;
  const char *channel;
} exp_envelope;

struct exp_message {
  exp_list node; /* in a listener's queue */
  exp_envelope *env;
  cJSON *payload; /* owned; NULL when the broadcast had none */
};

/* NULL when out of memory. */
exp_envelope *exp_envelope_new(exp_bus *bus, const char *id, const char *name,
                               const char *channel, uint64_t at, size_t size);
void exp_envelope_unref(exp_envelope *env);

/* Takes a reference to env and payload over (freed on failure too).  NULL
 * when out of memory. */
exp_message *exp_message_new(exp_envelope *env, cJSON *payload);

#endif
