/* base64.c: RFC 4648 base64 encoding (base64.h). */
#include "base64.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t exp_base64(char *dst, const void *src, size_t n, int url) {
  const char *a = url ? url_alphabet : std_alphabet;
  const unsigned char *s = src;
  char *o = dst;
  for (; n >= 3; n -= 3, s += 3) {
    unsigned long v = (unsigned long)s[0] << 16 | (unsigned)s[1] << 8 | s[2];
    *o++ = a[v >> 18];
    *o++ = a[(v >> 12) & 63];
    *o++ = a[(v >> 6) & 63];
    *o++ = a[v & 63];
  }
  if (n > 0) {
    unsigned long v = (unsigned long)s[0] << 16 | (n == 2 ? s[1] << 8 : 0);
    *o++ = a[v >> 18];
    *o++ = a[(v >> 12) & 63];
    if (n == 2)
      *o++ = a[(v >> 6) & 63];
    if (!url) {
      if (n == 1)
        *o++ = '=';
      *o++ = '=';
    }
  }
  *o = '\0';
  return (size_t)(o - dst);
}
