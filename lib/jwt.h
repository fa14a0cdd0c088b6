/*
 * jwt.h: the HS256 JSON Web Token a device or consumer app logs in with
 * (internal; the HMAC opens libmbedcrypto, crypto.h).
 */
#ifndef EXP_JWT_H
#define EXP_JWT_H

#include <stddef.h>
#include <stdint.h>

/* Claims validity: the token is good for a day after iat. */
#define EXP_JWT_LIFETIME_S 86400

/* Signs {uuid, type, allowPairing (only when allow_pairing), iat,
 * exp: iat + EXP_JWT_LIFETIME_S} with HMAC-SHA256 keyed with the raw bytes
 * of key.  iat is in seconds since the epoch.  *out is malloc'd.  Returns 0,
 * or EXP_ENOMEM or EXP_ETLS (no libmbedcrypto, crypto.h) with msg saying
 * why. */
int exp_jwt_sign(const char *uuid, const char *type, int allow_pairing,
                 int64_t iat, const char *key, char **out, char *msg,
                 size_t msg_size);

#endif
