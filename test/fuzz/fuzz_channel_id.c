/*
 * fuzz_channel_id.c: channel ids from any organization and name bytes,
 * invalid UTF-8 included.  An id must be refused exactly when a string is
 * not valid UTF-8 (checked here by decoding code points), and otherwise be
 * base64 of a JSON array that reads back to the same four values.
 *
 * Input: a flags byte (system, consumer), then the organization and the
 * name, separated by the first NUL byte.
 */
#include <string.h>

#include <cjson/cJSON.h>
#include <mbedtls/base64.h>

#include "channel_id.h"
#include "fuzz.h"

#include "exp.h"

/* Whether s is UTF-8 as RFC 3629 defines it: the shortest form of a code
 * point up to U+10FFFF that is not a surrogate. */
static int valid_utf8(const unsigned char *s) {
  while (*s != '\0') {
    unsigned cp, need, min;
    if (*s < 0x80) {
      s++;
      continue;
    }
    if ((*s & 0xe0) == 0xc0) {
      cp = *s & 0x1f;
      need = 1;
      min = 0x80;
    } else if ((*s & 0xf0) == 0xe0) {
      cp = *s & 0x0f;
      need = 2;
      min = 0x800;
    } else if ((*s & 0xf8) == 0xf0) {
      cp = *s & 0x07;
      need = 3;
      min = 0x10000;
    } else {
      return 0;
    }
    for (s++; need > 0; need--, s++) {
      if ((*s & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (*s & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
  }
  return 1;
}

static void check_id(const char *id, const char *org, const char *name,
                     int system, int consumer) {
  size_t n = strlen(id), len;
  unsigned char *json = malloc(n + 1);
  cJSON *a;

  FUZZ_CHECK(json != NULL && n % 4 == 0);
  FUZZ_CHECK(mbedtls_base64_decode(json, n + 1, &len, (const unsigned char *)id,
                                   n) == 0);
  a = cJSON_ParseWithLength((const char *)json, len);
  FUZZ_CHECK(cJSON_IsArray(a) && cJSON_GetArraySize(a) == 4);
  FUZZ_CHECK(strcmp(cJSON_GetArrayItem(a, 0)->valuestring, org) == 0);
  FUZZ_CHECK(strcmp(cJSON_GetArrayItem(a, 1)->valuestring, name) == 0);
  FUZZ_CHECK(cJSON_GetArrayItem(a, 2)->valuedouble == system);
  FUZZ_CHECK(cJSON_GetArrayItem(a, 3)->valuedouble == consumer);
  cJSON_Delete(a);
  free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in in = {data, size};
  uint8_t f = fuzz_u8(&in);
  const uint8_t *nul = memchr(in.p, '\0', in.n);
  size_t ol = nul != NULL ? (size_t)(nul - in.p) : in.n;
  size_t nl = nul != NULL ? in.n - ol - 1 : 0;
  char *org = malloc(ol + 1), *name = malloc(nl + 1), *id = NULL;
  int system = f & 1, consumer = (f >> 1) & 1, r;

  FUZZ_CHECK(org != NULL && name != NULL);
  memcpy(org, in.p, ol);
  org[ol] = '\0';
  if (nl > 0)
    memcpy(name, nul + 1, nl);
  name[nl] = '\0';
  r = exp_channel_id_encode(org, name, system, consumer, &id);
  if (valid_utf8((unsigned char *)org) && valid_utf8((unsigned char *)name)) {
    FUZZ_CHECK(r == 0 && id != NULL);
    check_id(id, org, name, system, consumer);
  } else {
    FUZZ_CHECK(r == EXP_EOPTIONS);
  }
  free(id);
  free(org);
  free(name);
  return 0;
}
