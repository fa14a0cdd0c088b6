/*
 * hosts.h: the origins a handle may use (EXP_OPT_HOSTS, else EXP_OPT_HOST
 * alone) and the failover between them (internal, no I/O).
 *
 * Every new connection (a login, a refresh, a REST call, a socket session)
 * asks exp_hosts_pick for its origin and reports a failure to reach it
 * with exp_hosts_failed; the next connection then goes to the next origin
 * in order, wrapping around.  Once retry_first_ms have passed since the
 * first origin was left, connections that retry by themselves after a
 * failure (the login, refreshes, the socket: "probes") try the first again,
 * and when one reaches it (exp_hosts_reached) every connection goes there
 * again; the others (REST calls) stay where they are meanwhile, so that no
 * call is lost to a first origin still down.  With one origin nothing ever
 * moves, and the auth payload's api.host and network.host are used as
 * before; with several they are ignored, since the list names the nodes.
 */
#ifndef EXP_HOSTS_H
#define EXP_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#define EXP_HOSTS_MAX 16

typedef struct exp_hosts {
  char *list[EXP_HOSTS_MAX]; /* origins without trailing slashes */
  size_t count;
  size_t current;      /* the origin new connections use */
  uint64_t left_first; /* when current moved off the first (ms), or when
                          a probe of it last failed */
  int probing;         /* a probe of the first was picked */
  uint64_t retry_first_ms;
} exp_hosts;

/* Parses hosts (origins separated by commas and/or white space, each an
 * http(s) origin such as https://api.goexp.io, without query or fragment)
 * into h, or, when hosts is NULL, takes host alone.  Returns 0, EXP_ENOMEM,
 * or EXP_EOPTIONS with msg saying which entry is wrong.  h is zeroed first
 * and needs exp_hosts_free on success. */
int exp_hosts_init(exp_hosts *h, const char *host, const char *hosts,
                   uint64_t retry_first_ms, char *msg, size_t msg_size);
void exp_hosts_free(exp_hosts *h);

/* The origin for a new connection at now (ms), and its index for
 * exp_hosts_failed and exp_hosts_reached.  payload_host: the auth
 * payload's host for this kind of connection, or NULL; used when there is
 * one origin only.  probe: the connection may try the first origin again
 * (see above). */
const char *exp_hosts_pick(exp_hosts *h, uint64_t now, const char *payload_host,
                           int probe, size_t *index);

/* A connection to origin index failed without an answer: the next pick
 * moves on, unless another failure already moved it past index; a failed
 * probe of the first waits retry_first_ms again.  Returns 1 when the
 * origin in use changed. */
int exp_hosts_failed(exp_hosts *h, size_t index, uint64_t now);

/* A connection to origin index got an answer: after a probe of the first,
 * every connection goes there again.  Returns 1 when the origin in use
 * changed. */
int exp_hosts_reached(exp_hosts *h, size_t index);

#endif
