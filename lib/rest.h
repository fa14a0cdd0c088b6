/* rest.h: the REST layer of a handle (internal); the calls themselves are
 * public (exp_request and its shorthands). */
#ifndef EXP_REST_H
#define EXP_REST_H

#include "sdk.h"

/* Attaches the layer: called by exp_start.  EXP_ENOMEM. */
int exp_rest_attach(exp_sdk *sdk);

#endif
