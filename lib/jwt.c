/* jwt.c: compact HS256 tokens: base64url(header).base64url(claims).mac */
#include "jwt.h"

#include <stdio.h>

#include "base64.h"
#include "common.h"
#include "crypto.h"

/* base64url of {"alg":"HS256","typ":"JWT"}, the only header we send. */
static const char header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

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
                 int64_t iat, const char *key, char **out, char *msg,
                 size_t msg_size) {
  unsigned char mac[32];
  char *claims, *tok;
  size_t hlen = sizeof(header_b64) - 1, clen, n;
  int r;

  *out = NULL;
  claims = claims_json(uuid, type, allow_pairing, iat);
  if (claims == NULL)
    goto nomem;
  clen = strlen(claims);
  tok = exp_malloc(hlen + 1 + EXP_BASE64_ROOM(clen) + EXP_BASE64_ROOM(32));
  if (tok == NULL) {
    exp_free(claims);
    goto nomem;
  }
  memcpy(tok, header_b64, hlen);
  tok[hlen] = '.';
  n = hlen + 1;
  n += exp_base64(tok + n, claims, clen, 1);
  exp_free(claims);
  r = exp_hmac_sha256(key, strlen(key), tok, n, mac, msg, msg_size);
  if (r != 0) {
    exp_free(tok);
    return r;
  }
  tok[n++] = '.';
  exp_base64(tok + n, mac, sizeof(mac), 1);
  *out = tok;
  return 0;
nomem:
  if (msg != NULL && msg_size > 0)
    snprintf(msg, msg_size, "out of memory");
  return EXP_ENOMEM;
}
