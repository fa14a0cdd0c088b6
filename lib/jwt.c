/* jwt.c: compact HS256 tokens: base64url(header).base64url(claims).mac */
#include "jwt.h"

#include <mbedtls/base64.h>
#include <mbedtls/md.h>

#include "common.h"

/* base64url of {"alg":"HS256","typ":"JWT"}, the only header we send. */
static const char header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/* Writes base64url without padding at dst (room for 4*ceil(n/3)+1 bytes);
 * returns the length written. */
static size_t b64url(char *dst, size_t room, const unsigned char *src,
                     size_t n) {
  size_t len = 0;
  mbedtls_base64_encode((unsigned char *)dst, room, &len, src, n);
  while (len > 0 && dst[len - 1] == '=')
    len--;
  for (size_t i = 0; i < len; i++) {
    if (dst[i] == '+')
      dst[i] = '-';
    else if (dst[i] == '/')
      dst[i] = '_';
  }
  dst[len] = '\0';
  return len;
}

static size_t b64_room(size_t n) {
  return (n + 2) / 3 * 4 + 1;
}

static char *claims_json(const char *uuid, const char *type, int allow_pairing,
                         int64_t iat) {
  cJSON *c = cJSON_CreateObject();
  char *s = NULL;
  if (c != NULL && cJSON_AddStringToObject(c, "uuid", uuid) != NULL &&
      cJSON_AddStringToObject(c, "type", type) != NULL &&
      (!allow_pairing || cJSON_AddTrueToObject(c, "allowPairing") != NULL) &&
      cJSON_AddNumberToObject(c, "iat", (double)iat) != NULL &&
      cJSON_AddNumberToObject(c, "exp", (double)(iat + EXP_JWT_LIFETIME_S)) !=
          NULL)
    s = cJSON_PrintUnformatted(c);
  cJSON_Delete(c);
  return s;
}

int exp_jwt_sign(const char *uuid, const char *type, int allow_pairing,
                 int64_t iat, const char *key, char **out) {
  unsigned char mac[32];
  char *claims, *tok;
  size_t hlen = sizeof(header_b64) - 1, clen, room, n;
  const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

  *out = NULL;
  claims = claims_json(uuid, type, allow_pairing, iat);
  if (claims == NULL)
    return EXP_ENOMEM;
  clen = strlen(claims);
  room = hlen + 1 + b64_room(clen) + 1 + b64_room(sizeof(mac));
  tok = exp_malloc(room);
  if (tok == NULL) {
    exp_free(claims);
    return EXP_ENOMEM;
  }
  memcpy(tok, header_b64, hlen);
  tok[hlen] = '.';
  n = hlen + 1;
  n += b64url(tok + n, room - n, (const unsigned char *)claims, clen);
  exp_free(claims);
  if (mbedtls_md_hmac(md, (const unsigned char *)key, strlen(key),
                      (const unsigned char *)tok, n, mac) != 0) {
    exp_free(tok);
    return EXP_ENOMEM;
  }
  tok[n++] = '.';
  b64url(tok + n, room - n, mac, sizeof(mac));
  *out = tok;
  return 0;
}
