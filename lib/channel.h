/* channel.h: a real-time channel (internal): the handle is the bus's
 * channel entry (bus.h). */
#ifndef EXP_CHANNEL_H
#define EXP_CHANNEL_H

#include "bus.h"
#include "exp.h"

#endif
