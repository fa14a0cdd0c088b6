/* crypto.c: SHA-1 and HMAC-SHA256 through a libmbedcrypto opened for the
 * call (crypto.h). */
#include "crypto.h"

#include <dlfcn.h>
#include <stdio.h>

#include <mbedtls/md.h>
#include <mbedtls/sha1.h>

#include "common.h"
#include "dl.h"

#define FUNCTIONS(X)                                                           \
  X(mbedtls_md_hmac)                                                           \
  X(mbedtls_md_info_from_type)                                                 \
  X(mbedtls_sha1_ret)

typedef struct crypto_lib {
  FUNCTIONS(EXP_DL_TABLE_MEMBER)
} crypto_lib;

#define SYMBOL(f) EXP_DL_SYMBOL(crypto_lib, f)
static const exp_dl_symbol symbols[] = {FUNCTIONS(SYMBOL)};

static void *open_lib(crypto_lib *lib, int *err, char *msg, size_t msg_size) {
  return exp_dl_open("the crypto library", EXP_CRYPTO_LIB_SONAME, symbols,
                     EXP_ARRAY_SIZE(symbols), lib, err, msg, msg_size);
}

int exp_sha1(const void *data, size_t n, unsigned char out[20], char *msg,
             size_t msg_size) {
  crypto_lib lib;
  int r;
  void *h = open_lib(&lib, &r, msg, msg_size);
  if (h == NULL)
    return r;
  /* Only a hardware accelerator's failure fails it. */
  r = lib.mbedtls_sha1_ret(data, n, out);
  dlclose(h);
  if (r != 0 && msg != NULL && msg_size > 0)
    snprintf(msg, msg_size, "SHA-1 failed (mbedtls -0x%04x)", (unsigned)-r);
  return r != 0 ? EXP_ETLS : 0;
}

int exp_hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
                    unsigned char out[32], char *msg, size_t msg_size) {
  crypto_lib lib;
  int r;
  void *h = open_lib(&lib, &r, msg, msg_size);
  if (h == NULL)
    return r;
  /* Fails when allocating its context does, or in a library built
   * without SHA-256. */
  r = lib.mbedtls_md_hmac(lib.mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key,
                          key_len, data, n, out);
  dlclose(h);
  if (r == 0)
    return 0;
  if (r == MBEDTLS_ERR_MD_ALLOC_FAILED) {
    if (msg != NULL && msg_size > 0)
      snprintf(msg, msg_size, "HMAC-SHA256: out of memory");
    return EXP_ENOMEM;
  }
  if (msg != NULL && msg_size > 0)
    snprintf(msg, msg_size, "HMAC-SHA256 failed (mbedtls -0x%04x)",
             (unsigned)-r);
  return EXP_ETLS;
}
