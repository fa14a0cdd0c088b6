/*
 * base64.h: RFC 4648 base64, encoding only (internal, no I/O).
 *
 * An encoding, not cryptography: written here so that the channel ids,
 * the JWT and the websocket key need no library loaded (crypto.h).
 */
#ifndef EXP_BASE64_H
#define EXP_BASE64_H

#include <stddef.h>

/* The room exp_base64 needs for n bytes, its '\0' included. */
#define EXP_BASE64_ROOM(n) (((n) + 2) / 3 * 4 + 1)

/* Writes the base64 of src[0..n) and a '\0' at dst, which has
 * EXP_BASE64_ROOM(n) bytes: the standard alphabet with '=' padding, or
 * with url the URL-safe one without padding (RFC 4648 sections 4 and 5).
 * Returns the length written, the '\0' not counted. */
size_t exp_base64(char *dst, const void *src, size_t n, int url);

#endif
