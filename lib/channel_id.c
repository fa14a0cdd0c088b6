/* channel_id.c: base64 of the JSON.stringify form of a channel's identity. */
#include "channel_id.h"

#include <stdint.h>

#include "base64.h"
#include "common.h"
#include "utf8.h"

/* The bytes JSON.stringify writes for the ASCII character c inside a
 * string: 1 (raw), 2 (\n and friends) or 6 (\u00XX). */
static size_t escaped_size(unsigned char c) {
  switch (c) {
  case '"':
  case '\\':
  case '\b':
  case '\f':
  case '\n':
  case '\r':
  case '\t':
    return 2;
  default:
    return c < 0x20 ? 6 : 1;
  }
}

/* Size of s's escaped form (without quotes), or SIZE_MAX when s is not
 * valid UTF-8.  Bytes of multi-byte sequences are written as they are. */
static size_t escaped_len(const char *s) {
  size_t len = strlen(s), n = 0;
  if (!exp_utf8_valid((const unsigned char *)s, len))
    return SIZE_MAX;
  for (size_t i = 0; i < len; i++)
    n += escaped_size((unsigned char)s[i]);
  return n;
}

static char *write_escaped(char *o, const char *s) {
  static const char hex[] = "0123456789abcdef";
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    unsigned char c = *p;
    char e = 0;
    switch (c) {
    case '"':
      e = '"';
      break;
    case '\\':
      e = '\\';
      break;
    case '\b':
      e = 'b';
      break;
    case '\f':
      e = 'f';
      break;
    case '\n':
      e = 'n';
      break;
    case '\r':
      e = 'r';
      break;
    case '\t':
      e = 't';
      break;
    default:
      break;
    }
    if (e != 0) {
      *o++ = '\\';
      *o++ = e;
    } else if (c < 0x20) {
      memcpy(o, "\\u00", 4);
      o[4] = hex[c >> 4];
      o[5] = hex[c & 0xf];
      o += 6;
    } else {
      *o++ = (char)c;
    }
  }
  return o;
}

int exp_channel_id_encode(const char *organization, const char *name,
                          int system, int consumer, char **out) {
  char stack[512], *json = stack, *o, *id;
  size_t org_len, name_len, json_len;
  *out = NULL;
  if (organization == NULL || name == NULL)
    return EXP_EOPTIONS;
  org_len = escaped_len(organization);
  name_len = escaped_len(name);
  if (org_len == SIZE_MAX || name_len == SIZE_MAX)
    return EXP_EOPTIONS;
  /* ["org","name",S,C] adds 11 bytes; each escape is at most 6 bytes per
   * input byte, so the sum cannot wrap for strings that fit in memory. */
  json_len = org_len + name_len + 11;
  if (json_len > SIZE_MAX / 2)
    return EXP_ENOMEM;
  id = exp_malloc(EXP_BASE64_ROOM(json_len));
  if (id == NULL)
    return EXP_ENOMEM;
  if (json_len > sizeof(stack)) {
    json = exp_malloc(json_len);
    if (json == NULL) {
      exp_free(id);
      return EXP_ENOMEM;
    }
  }
  o = json;
  *o++ = '[';
  *o++ = '"';
  o = write_escaped(o, organization);
  memcpy(o, "\",\"", 3);
  o = write_escaped(o + 3, name);
  *o++ = '"';
  *o++ = ',';
  *o++ = system ? '1' : '0';
  *o++ = ',';
  *o++ = consumer ? '1' : '0';
  *o++ = ']';
  exp_base64(id, json, json_len, 0);
  if (json != stack)
    exp_free(json);
  *out = id;
  return 0;
}
