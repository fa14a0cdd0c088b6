/*
 * pairing.h: the pairing glue (internal).  While the login is a pairing
 * one (identity.isPairing), the device listens for event "credentials" on
 * the system channel "pairing" of its pairing organization; credentials
 * {uuid, secret} go to exp_sdk_paired, which logs in with them and raises
 * EXP_EVENT_PAIRED.
 */
#ifndef EXP_PAIRING_H
#define EXP_PAIRING_H

#include "sdk.h"

/* Attaches the layer, for a handle that allows pairing (exp_start): after
 * every new auth payload it starts or ends that listener.  EXP_ENOMEM. */
int exp_pairing_attach(exp_sdk *sdk);

#endif
