/*
 * pairing.h: the pairing glue (internal).  While the login is a pairing
 * one (identity.isPairing), the device listens for event "credentials" on
 * the system channel "pairing" of its pairing organization; credentials
 * {uuid, secret} go to exp_sdk_paired, which logs in with them and raises
 * EXP_EVENT_PAIRED.
 */
#ifndef EXP_PAIRING_H
#define EXP_PAIRING_H

#include "bus.h"

/* After every new auth payload: starts or ends that listener. */
void exp_pairing_auth(exp_bus *bus);

#endif
