/*
 * session.h: the session of a handle (internal): the login, the auth
 * machine's libuv layer (requests, its timer, what its outputs ask for),
 * and the completion of exp_start.
 *
 * exp_start (start.c) opens the session, attaches the layers above it,
 * then sends the login.  The session attaches itself first, so it stops
 * last: its stop completes a pending start with EXP_ECANCELLED.
 *
 * The network's side:
 * - a layer that gates the start (exp_layer_ops.gates_start) makes
 *   exp_start complete when it calls exp_sdk_set_online(sdk, 1), not
 *   already after the login (or with the login's error);
 * - exp_sdk_set_online raises EXP_EVENT_ONLINE / EXP_EVENT_OFFLINE on
 *   every change;
 * - exp_sdk_paired hands over credentials received while pairing.
 */
#ifndef EXP_SESSION_H
#define EXP_SESSION_H

#include "sdk.h"

/* Checks the options and makes the HTTP client and the auth machine
 * (exp_last_error names what is wrong).  EXP_ERUNTIME when the handle was
 * started already. */
int exp_session_open(exp_sdk *sdk);
/* Sends the login; the start's callback is owed from then on. */
int exp_session_login(exp_sdk *sdk, exp_done_cb cb, void *ud);
/* Undoes a start that failed before the login went out: every layer is
 * stopped and detached, and the handle can be started again. */
void exp_session_close(exp_sdk *sdk);

/* Performs the actions an auth machine input asked for. */
void exp_sdk_auth_perform(exp_sdk *sdk, const exp_auth_out *o);

void exp_sdk_set_online(exp_sdk *sdk, int online);
/* A layer that must finish something before the start completes (pairing:
 * its listen for the credentials) holds the start, and releases it once
 * that is done or failed. */
void exp_sdk_hold_start(exp_sdk *sdk);
void exp_sdk_release_start(exp_sdk *sdk);
/* Emits EXP_EVENT_PAIRED {uuid, secret} and logs in with them. */
int exp_sdk_paired(exp_sdk *sdk, const char *uuid, const char *secret);
/* The origin for a new REST (api) or socket (network) connection, and its
 * index for exp_sdk_host_failed: with one origin the auth payload's
 * api.host or network.host, else the host option; with several
 * (EXP_OPT_HOSTS) the one in use (hosts.h). */
const char *exp_sdk_api_origin(exp_sdk *sdk, size_t *index);
const char *exp_sdk_network_origin(exp_sdk *sdk, size_t *index);
/* A connection to origin index got an answer (hosts.h). */
void exp_sdk_host_reached(exp_sdk *sdk, size_t index);
/* A connection to origin index got no answer: with err EXP_ENETWORK or
 * EXP_ETIMEOUT (why: the transport's message) the next connection goes to
 * the next origin. */
void exp_sdk_host_failed(exp_sdk *sdk, size_t index, int err, const char *why);

#endif
