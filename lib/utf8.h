/*
 * utf8.h: UTF-8 well-formedness (internal, no I/O), as RFC 3629 has it: no
 * overlong forms, no surrogates, nothing past U+10FFFF.  A text may come
 * in pieces (a websocket message's frames) or whole (a channel name).
 */
#ifndef EXP_UTF8_H
#define EXP_UTF8_H

#include <stddef.h>

/* Where a text checked in pieces stands: need continuation bytes still to
 * come, the next within [lo, hi].  Zeroed for a new text. */
typedef struct exp_utf8 {
  unsigned char need, lo, hi;
} exp_utf8;

/* Checks n more bytes of the text; 0, or -1 at the first invalid byte.  The
 * text is whole and valid once the last piece returned 0 with need 0. */
int exp_utf8_feed(exp_utf8 *u, const unsigned char *p, size_t n);

/* Whether p[0..n) is whole, valid UTF-8. */
int exp_utf8_valid(const unsigned char *p, size_t n);

#endif
