/* json_scan.c: JSON checked and split without building it. */
#include "json_scan.h"

#include <stdint.h>
#include <string.h>

/* cJSON reads a number through a 64-byte buffer: a longer one fails it. */
#define MAX_NUMBER 63

typedef const unsigned char *bytes;

static int is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(bytes p, size_t len, size_t i) {
  while (i < len && is_ws(p[i]))
    i++;
  return i;
}

static int hex_digit(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The four hex digits of a \u escape at p[i] (just past the 'u'). */
static int hex4(bytes p, size_t len, size_t i, unsigned *cp) {
  unsigned v = 0;
  if (len - i < 4)
    return 0;
  for (size_t k = 0; k < 4; k++) {
    int d = hex_digit(p[i + k]);
    if (d < 0)
      return 0;
    v = v << 4 | (unsigned)d;
  }
  *cp = v;
  return 1;
}

/* The code point of the \u escape at p[i] (the backslash), a surrogate
 * pair taken together; *i moves past it.  0 when it is not one cJSON
 * takes: a bad digit or an unpaired surrogate. */
static int unicode_escape(bytes p, size_t len, size_t *i, unsigned *cp) {
  unsigned hi, lo;
  if (!hex4(p, len, *i + 2, &hi) || (hi >= 0xDC00 && hi <= 0xDFFF))
    return 0;
  *i += 6;
  if (hi < 0xD800 || hi > 0xDBFF) {
    *cp = hi;
    return 1;
  }
  if (len - *i < 2 || p[*i] != '\\' || p[*i + 1] != 'u' ||
      !hex4(p, len, *i + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
    return 0;
  *i += 6;
  *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
  return 1;
}

static int simple_escape(unsigned char c) {
  return c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
         c == 'n' || c == 'r' || c == 't';
}

/* A string whose opening quote is at p[*i]; *i moves past its closing
 * quote, or to the byte that is wrong. */
/* Whether one of the 8 bytes at p is a quote, a backslash or below 0x20:
 * plain text goes 8 bytes a step (perf, issue 14: a 4 KB payload was
 * 39k instructions byte by byte). */
static int word_special(bytes p) {
  const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
  uint64_t w, q, b;
  memcpy(&w, p, sizeof(w));
  q = w ^ (ones * '"');
  b = w ^ (ones * '\\');
  return ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) &
          high) != 0;
}

static int check_string(bytes p, size_t len, size_t *i) {
  size_t k = *i + 1;
  unsigned cp;
  while (k < len) {
    unsigned char c;
    if (len - k >= 8 && !word_special(p + k)) {
      k += 8;
      continue;
    }
    c = p[k];
    if (c == '"') {
      *i = k + 1;
      return EXP_JSON_OK;
    }
    if (c < 0x20)
      break;
    if (c != '\\') {
      k++;
    } else if (k + 1 < len && p[k + 1] == 'u') {
      if (!unicode_escape(p, len, &k, &cp))
        break;
    } else if (k + 1 < len && simple_escape(p[k + 1])) {
      k += 2;
    } else {
      break;
    }
  }
  *i = k;
  return EXP_JSON_INVALID;
}

static int is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

static size_t digits(bytes p, size_t len, size_t i) {
  while (i < len && is_digit(p[i]))
    i++;
  return i;
}

static int check_number(bytes p, size_t len, size_t *i) {
  size_t k = *i, start = *i;
  if (k < len && p[k] == '-')
    k++;
  if (k < len && p[k] == '0')
    k++;
  else if (k < len && is_digit(p[k]))
    k = digits(p, len, k);
  else
    goto bad;
  if (k < len && p[k] == '.') {
    if (k + 1 >= len || !is_digit(p[k + 1]))
      goto bad;
    k = digits(p, len, k + 1);
  }
  if (k < len && (p[k] == 'e' || p[k] == 'E')) {
    k++;
    if (k < len && (p[k] == '+' || p[k] == '-'))
      k++;
    if (k >= len || !is_digit(p[k]))
      goto bad;
    k = digits(p, len, k);
  }
  if (k - start > MAX_NUMBER)
    goto bad;
  *i = k;
  return EXP_JSON_OK;
bad:
  *i = k;
  return EXP_JSON_INVALID;
}

static int check_literal(bytes p, size_t len, size_t *i) {
  static const char *const words[] = {"true", "false", "null"};
  for (size_t w = 0; w < 3; w++) {
    size_t n = strlen(words[w]);
    if (len - *i >= n && memcmp(p + *i, words[w], n) == 0) {
      *i += n;
      return EXP_JSON_OK;
    }
  }
  return EXP_JSON_INVALID;
}

/* What the checker expects next. */
enum { VALUE, KEY, AFTER };

int exp_json_check(const char *text, size_t len, size_t max_depth,
                   size_t max_nodes, exp_json_info *info) {
  bytes p = (bytes)text;
  /* Bit d is set when the container at depth d is an object. */
  unsigned char objects[EXP_JSON_MAX_DEPTH / 8];
  size_t i = 0, depth = 0, deepest = 0, nodes = 0;
  int r = EXP_JSON_INVALID, want = VALUE, obj, bad;

  if (max_depth == 0 || max_depth > EXP_JSON_MAX_DEPTH)
    max_depth = EXP_JSON_MAX_DEPTH;
  for (;;) {
    i = skip_ws(p, len, i);
    if (want == AFTER && depth == 0) {
      r = i == len ? EXP_JSON_OK : EXP_JSON_INVALID;
      break;
    }
    if (i >= len)
      break;
    if (want == KEY) {
      if (p[i] != '"' || check_string(p, len, &i) != 0)
        break;
      i = skip_ws(p, len, i);
      if (i >= len || p[i] != ':')
        break;
      i++;
      want = VALUE;
      continue;
    }
    if (want == AFTER) {
      obj = objects[(depth - 1) / 8] >> ((depth - 1) % 8) & 1;
      if (p[i] == ',') {
        i++;
        want = obj ? KEY : VALUE;
      } else if (p[i] == (obj ? '}' : ']')) {
        i++;
        depth--;
      } else {
        break;
      }
      continue;
    }
    if (max_nodes != 0 && nodes >= max_nodes) {
      r = EXP_JSON_TOO_MANY;
      break;
    }
    nodes++;
    if (p[i] == '{' || p[i] == '[') {
      if (depth == max_depth) {
        r = EXP_JSON_DEEP;
        break;
      }
      obj = p[i] == '{';
      if (obj)
        objects[depth / 8] |= (unsigned char)(1u << depth % 8);
      else
        objects[depth / 8] &= (unsigned char)~(1u << depth % 8);
      if (++depth > deepest)
        deepest = depth;
      i = skip_ws(p, len, i + 1);
      if (i < len && p[i] == (obj ? '}' : ']')) {
        i++;
        depth--;
        want = AFTER;
      } else {
        want = obj ? KEY : VALUE;
      }
      continue;
    }
    if (p[i] == '"')
      bad = check_string(p, len, &i);
    else if (p[i] == '-' || is_digit(p[i]))
      bad = check_number(p, len, &i);
    else
      bad = check_literal(p, len, &i);
    if (bad)
      break;
    want = AFTER;
  }
  if (info != NULL) {
    info->nodes = nodes;
    info->depth = deepest;
    info->error_at = r == EXP_JSON_OK ? 0 : i;
  }
  return r;
}

/* Past the closing quote of the string whose opening quote is at p[i], by
 * structure only; len when it does not close. */
static size_t skip_string(bytes p, size_t len, size_t i) {
  /* memchr for the quote, then for a backslash before it (perf). */
  for (i++; i < len;) {
    bytes q = memchr(p + i, '"', len - i), b;
    if (q == NULL)
      return len + 1;
    b = memchr(p + i, '\\', (size_t)(q - (p + i)));
    if (b == NULL)
      return (size_t)(q - p) + 1;
    i = (size_t)(b - p) + 2;
  }
  return len + 1;
}

static int is_delimiter(unsigned char c) {
  return is_ws(c) || c == ',' || c == ':' || c == ']' || c == '}';
}

int exp_json_skip(const char *text, size_t len, size_t *end) {
  bytes p = (bytes)text;
  size_t i = skip_ws(p, len, 0), depth = 0;

  if (i >= len || is_delimiter(p[i]))
    return EXP_JSON_INVALID;
  if (p[i] == '"') {
    i = skip_string(p, len, i);
  } else if (p[i] == '{' || p[i] == '[') {
    for (; i < len; i++) {
      if (p[i] == '"') {
        i = skip_string(p, len, i) - 1;
      } else if (p[i] == '{' || p[i] == '[') {
        depth++;
      } else if ((p[i] == '}' || p[i] == ']') && --depth == 0) {
        i++;
        break;
      }
    }
    if (depth != 0)
      return EXP_JSON_INVALID;
  } else {
    while (i < len && !is_delimiter(p[i]))
      i++;
  }
  if (i > len)
    return EXP_JSON_INVALID;
  *end = i;
  return EXP_JSON_OK;
}

int exp_json_members(const char *text, size_t len,
                     int (*cb)(void *ud, const exp_json_member *m), void *ud) {
  bytes p = (bytes)text;
  size_t i = skip_ws(p, len, 0), end;
  int obj, r;
  unsigned char close;

  if (i >= len || (p[i] != '{' && p[i] != '['))
    return EXP_JSON_INVALID;
  obj = p[i] == '{';
  close = obj ? '}' : ']';
  i = skip_ws(p, len, i + 1);
  if (i < len && p[i] == close) {
    i++;
  } else {
    for (;;) {
      exp_json_member m = {NULL, 0, NULL, 0};
      if (obj) {
        if (i >= len || p[i] != '"' || (end = skip_string(p, len, i)) > len)
          return EXP_JSON_INVALID;
        m.key = text + i + 1;
        m.key_len = end - i - 2;
        i = skip_ws(p, len, end);
        if (i >= len || p[i] != ':')
          return EXP_JSON_INVALID;
        i = skip_ws(p, len, i + 1);
      }
      if (exp_json_skip(text + i, len - i, &end) != 0)
        return EXP_JSON_INVALID;
      m.value = text + i;
      m.value_len = end;
      if ((r = cb(ud, &m)) != 0)
        return r;
      i = skip_ws(p, len, i + end);
      if (i < len && p[i] == ',') {
        i = skip_ws(p, len, i + 1);
        continue;
      }
      if (i < len && p[i] == close) {
        i++;
        break;
      }
      return EXP_JSON_INVALID;
    }
  }
  return skip_ws(p, len, i) == len ? EXP_JSON_OK : EXP_JSON_INVALID;
}

int exp_json_unescape(const char *raw, size_t raw_len, char *out,
                      size_t out_size, size_t *out_len) {
  bytes p = (bytes)raw;
  size_t i = 0, o = 0;

  while (i < raw_len) {
    unsigned char c = p[i], utf8[4];
    unsigned cp;
    size_t n = 1;
    if (c == '"' || c < 0x20)
      return EXP_JSON_INVALID;
    if (c != '\\') {
      utf8[0] = c;
      i++;
    } else if (i + 1 < raw_len && p[i + 1] == 'u') {
      if (!unicode_escape(p, raw_len, &i, &cp) || cp == 0)
        return EXP_JSON_INVALID;
      if (cp < 0x80) {
        utf8[0] = (unsigned char)cp;
      } else if (cp < 0x800) {
        utf8[0] = (unsigned char)(0xC0 | cp >> 6);
        utf8[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
      } else if (cp < 0x10000) {
        utf8[0] = (unsigned char)(0xE0 | cp >> 12);
        utf8[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        utf8[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
      } else {
        utf8[0] = (unsigned char)(0xF0 | cp >> 18);
        utf8[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        utf8[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        utf8[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
      }
    } else if (i + 1 < raw_len && simple_escape(p[i + 1])) {
      static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
      utf8[0] = (unsigned char)to[strchr(from, p[i + 1]) - from];
      i += 2;
    } else {
      return EXP_JSON_INVALID;
    }
    if (out_size - o <= n)
      return EXP_JSON_TOO_LONG;
    memcpy(out + o, utf8, n);
    o += n;
  }
  if (out_size == 0)
    return EXP_JSON_TOO_LONG;
  out[o] = '\0';
  if (out_len != NULL)
    *out_len = o;
  return EXP_JSON_OK;
}

int exp_json_is_string(const char *value, size_t len) {
  return len >= 2 && value[0] == '"' && value[len - 1] == '"';
}
