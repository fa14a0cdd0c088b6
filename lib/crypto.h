/*
 * crypto.h: the two hashes of a plain-http session, from libmbedcrypto
 * loaded for each call (internal).
 *
 * Logging in signs a JWT (HMAC-SHA256) and opening the websocket checks
 * the server's accept (SHA-1); nothing else needs mbedtls unless a
 * connection is https://.  The library is opened for the call and closed
 * after it, so that a process online over plain http never keeps its
 * pages (about 440 KB resident: its relocations and the code around the
 * two hashes).  Opening it costs about 0.1 ms, once per login and per
 * websocket connection; while a TLS configuration holds libmbedtls
 * (tls_lib.h), libmbedcrypto stays loaded and the open is only a lookup.
 * A build for another soname passes -DEXP_CRYPTO_LIB_SONAME=...
 */
#ifndef EXP_CRYPTO_H
#define EXP_CRYPTO_H

#include <stddef.h>

/* libmbedcrypto 2.28's soname (SOVERSION 7 through the 2.28 releases). */
#ifndef EXP_CRYPTO_LIB_SONAME
#define EXP_CRYPTO_LIB_SONAME "libmbedcrypto.so.7"
#endif

/* out = SHA-1(data[0..n)).  0, or EXP_ENOMEM / EXP_ETLS (the library
 * could not be loaded) with msg saying why. */
int exp_sha1(const void *data, size_t n, unsigned char out[20], char *msg,
             size_t msg_size);

/* out = HMAC-SHA256 keyed with key[0..key_len) of data[0..n).  0, or
 * EXP_ENOMEM / EXP_ETLS with msg saying why. */
int exp_hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
                    unsigned char out[32], char *msg, size_t msg_size);

#endif
