/* channel.h: a real-time channel (internal): its name, flags and id, and
 * the bus it belongs to. */
#ifndef EXP_CHANNEL_H
#define EXP_CHANNEL_H

#include "bus.h"
#include "exp.h"

struct exp_channel {
  exp_bus *bus; /* a reference held */
  int flags;
  char *id; /* lives after the struct, as name does */
  char *name;
};

#endif
