/*
 * tls.h: TLS client sessions on mbedtls 2.28, without I/O (internal).
 *
 * Ciphertext goes in with exp_tls_feed and comes out with
 * exp_tls_take_output; the caller moves it over the network.  mbedtls 2.28
 * speaks TLS 1.2.
 *
 * Host checks: a DNS name is sent as SNI and matched by mbedtls against
 * the certificate's dNSName entries (or its CN when it has none).  mbedtls
 * 2.28 compares only names, so for an IP literal (which must not be sent
 * as SNI either) this module skips mbedtls's name check and instead
 * requires an iPAddress entry of the certificate equal to the address.
 */
#ifndef EXP_TLS_H
#define EXP_TLS_H

#include <stddef.h>

typedef struct exp_tls_config exp_tls_config;
typedef struct exp_tls exp_tls;

/* Settings shared by many sessions: the trusted CAs, parsed once from
 * ca_file (PEM) or, when NULL, the system bundle
 * /etc/ssl/certs/ca-certificates.crt, and a seeded random generator.
 * verify 0 turns certificate and host checks off (no CA is loaded).  NULL
 * with msg set and *err EXP_ENOMEM when memory runs out, EXP_ETLS when the
 * CAs cannot be loaded; *err 0 otherwise. */
exp_tls_config *exp_tls_config_new(const char *ca_file, int verify, int *err,
                                   char *msg, size_t msg_size);
/* Drops the creator's hold; the config lives on until the last session
 * made from it is freed. */
void exp_tls_config_free(exp_tls_config *c);

/* A client session for host (a DNS name or an IP literal without
 * brackets).  NULL with msg set and *err EXP_ENOMEM when out of memory,
 * EXP_ETLS when mbedtls refuses; *err 0 otherwise. */
exp_tls *exp_tls_new(exp_tls_config *c, const char *host, int *err, char *msg,
                     size_t msg_size);
void exp_tls_free(exp_tls *t);

/* Hands over ciphertext received from the peer (copied).  0 or
 * EXP_ENOMEM. */
int exp_tls_feed(exp_tls *t, const char *data, size_t len);

/* Advances the handshake with what was fed: 0 once it is done, 1 while it
 * waits for more input, EXP_ETLS on failure (see exp_tls_message).  Send
 * the output after every call. */
int exp_tls_handshake(exp_tls *t);

/* Encrypts len plaintext bytes into the output (after the handshake).  0
 * or EXP_ETLS, EXP_ENOMEM. */
int exp_tls_write(exp_tls *t, const char *data, size_t len);

/* Decrypts into buf: 0 with *got bytes (0 when more input is needed), 1
 * when the peer sent close_notify, or EXP_ETLS, EXP_ENOMEM. */
int exp_tls_read(exp_tls *t, char *buf, size_t size, size_t *got);

/* Queues a close_notify alert in the output.  0 or EXP_ETLS. */
int exp_tls_close_notify(exp_tls *t);

/* The ciphertext waiting to be sent, as a malloc'd buffer now owned by the
 * caller; NULL with *len 0 when there is none. */
char *exp_tls_take_output(exp_tls *t, size_t *len);

/* What went wrong, after EXP_ETLS or EXP_ENOMEM. */
const char *exp_tls_message(const exp_tls *t);

#endif
