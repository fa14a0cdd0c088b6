/* zone.h: the zones of a location (internal). */
#ifndef EXP_ZONE_H
#define EXP_ZONE_H

#include "resource.h"

/* The zones of location as a set of zone resources sharing it, in its
 * document's order; keys NULL for all of them, else an array of the key
 * strings to keep.  EXP_EPROTOCOL (error set) when "zones" is present but
 * not an array of objects with a string "key"; EXP_ENOMEM. */
int exp_zone_list(exp_resource *location, const cJSON *keys, exp_results **out);

/* A step taking a location document as the answer and finishing the op
 * with the set of its zones whose key is in op->keys. */
void exp_zone_step_location(exp_resource_op *op, int status, cJSON *answer);

#endif
