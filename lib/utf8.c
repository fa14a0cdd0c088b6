/* utf8.c: see utf8.h. */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

int exp_utf8_feed(exp_utf8 *u, const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (u->need > 0) {
      if (c < u->lo || c > u->hi)
        return -1;
      u->need--;
      u->lo = 0x80;
      u->hi = 0xbf;
      i++;
      continue;
    }
    /* ASCII runs, a word at a time. */
    while (n - i >= 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080u)
        break;
      i += 8;
    }
    if (i == n)
      break;
    c = p[i++];
    if (c < 0x80)
      continue;
    u->lo = 0x80;
    u->hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      u->need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      u->need = 2;
      if (c == 0xe0)
        u->lo = 0xa0;
      else if (c == 0xed)
        u->hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      u->need = 3;
      if (c == 0xf0)
        u->lo = 0x90;
      else if (c == 0xf4)
        u->hi = 0x8f;
    } else {
      return -1;
    }
  }
  return 0;
}

int exp_utf8_valid(const unsigned char *p, size_t n) {
  exp_utf8 u = {0, 0, 0};
  return exp_utf8_feed(&u, p, n) == 0 && u.need == 0;
}
