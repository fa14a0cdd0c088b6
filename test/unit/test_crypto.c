/* The hashes through a libmbedcrypto opened for each call (lib/crypto.c)
 * and the SDK's own base64 (lib/base64.c).  Built twice, neither linking
 * mbedtls: unit_test_crypto opens the real library, unit_test_crypto_missing
 * is built with EXP_CRYPTO_LIB_SONAME naming one that does not exist. */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "crypto.h"
#include "exp.h"
#include "fail_alloc.h"
#include "jwt.h"
#include "testlib.h"
#include "ws.h"

static char msg[200];

static void hex(char *dst, const unsigned char *src, size_t n) {
  for (size_t i = 0; i < n; i++)
    sprintf(dst + 2 * i, "%02x", src[i]);
}

static int sha1_hex(const char *s, char out[41]) {
  unsigned char d[20];
  int r = exp_sha1(s, strlen(s), d, msg, sizeof(msg));
  if (r == 0)
    hex(out, d, sizeof(d));
  return r;
}

static int hmac_hex(const char *key, const char *s, char out[65]) {
  unsigned char d[32];
  int r = exp_hmac_sha256(key, strlen(key), s, strlen(s), d, msg, sizeof(msg));
  if (r == 0)
    hex(out, d, sizeof(d));
  return r;
}

/* RFC 4648 section 10, both alphabets, and the bytes where they differ. */
static void test_base64(void) {
  static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  static const char *std[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                              "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  static const char *url[] = {"",       "Zg",      "Zm8",     "Zm9v",
                              "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  static const unsigned char odd[] = {0xfb, 0xff, 0xbf};
  char out[EXP_BASE64_ROOM(8) + 1];
  for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
    memset(out, '#', sizeof(out));
    CHECK_INT(exp_base64(out, in[i], strlen(in[i]), 0), strlen(std[i]));
    CHECK_STR(out, std[i]);
    CHECK(strlen(std[i]) + 1 <= EXP_BASE64_ROOM(strlen(in[i])));
    CHECK_INT(exp_base64(out, in[i], strlen(in[i]), 1), strlen(url[i]));
    CHECK_STR(out, url[i]);
  }
  exp_base64(out, odd, 3, 0);
  CHECK_STR(out, "+/+/");
  exp_base64(out, odd, 3, 1);
  CHECK_STR(out, "-_-_");
  exp_base64(out, odd, 2, 0);
  CHECK_STR(out, "+/8=");
  exp_base64(out, odd, 2, 1);
  CHECK_STR(out, "-_8");
}

#ifdef TEST_MISSING

/* A clear EXP_ETLS naming the library, from the hashes, from what signs
 * or keys with them, and from a start over plain http, every time. */
static void test_missing(void) {
  char out[65], *tok = NULL;
  exp_ws_config cfg = {0};
  exp_ws *ws = NULL;
  exp_sdk *sdk;
  for (int i = 0; i < 2; i++) {
    CHECK_INT(sha1_hex("abc", out), EXP_ETLS);
    CHECK(strstr(msg, "loading the crypto library " EXP_CRYPTO_LIB_SONAME) !=
          NULL);
    CHECK_INT(hmac_hex("k", "abc", out), EXP_ETLS);
    CHECK(strstr(msg, EXP_CRYPTO_LIB_SONAME) != NULL);
  }
  printf("  %s\n", msg);
  CHECK_INT(exp_sha1("abc", 3, (unsigned char *)out, NULL, 0), EXP_ETLS);
  CHECK_INT(exp_jwt_sign("u", "device", 0, 1, "s", &tok, msg, sizeof(msg)),
            EXP_ETLS);
  CHECK(tok == NULL);
  cfg.host = "127.0.0.1";
  cfg.target = "/socket.io/?EIO=4&transport=websocket";
  CHECK_INT(exp_ws_new(&cfg, &ws, msg, sizeof(msg)), EXP_ETLS);
  CHECK(ws == NULL && strstr(msg, EXP_CRYPTO_LIB_SONAME) != NULL);

  sdk = exp_new(NULL);
  CHECK(sdk != NULL);
  exp_set_log(sdk, EXP_LOG_ERROR, NULL, NULL);
  CHECK_INT(exp_set_options(sdk, "host", "http://127.0.0.1:9", "uuid", "u",
                            "secret", "s", "enable_network", "0", NULL),
            0);
  CHECK_INT(exp_start_wait(sdk, 10000), EXP_ETLS);
  CHECK(strstr(exp_last_error(sdk)->message, EXP_CRYPTO_LIB_SONAME) != NULL);
  printf("  %s\n", exp_last_error(sdk)->message);
  exp_stop(sdk);
}

#else

static int find_one(struct dl_phdr_info *info, size_t size, void *name) {
  (void)size;
  return strstr(info->dlpi_name, name) != NULL;
}

/* Whether libmbedcrypto is mapped. */
static int crypto_loaded(void) {
  return dl_iterate_phdr(find_one, "libmbedcrypto.so");
}

/* FIPS 180 and RFC 4231 vectors; the library is closed after each call. */
static void test_hashes(void) {
  char out[65];
  CHECK(!crypto_loaded());
  CHECK_INT(sha1_hex("abc", out), 0);
  CHECK_STR(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK_INT(sha1_hex("", out), 0);
  CHECK_STR(out, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK_INT(hmac_hex("Jefe", "what do ya want for nothing?", out), 0);
  CHECK_STR(out,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(!crypto_loaded());
}

/* Each allocation failing in turn, dlopen's among them: EXP_ENOMEM or the
 * right hash, never a crash, and the library is never left open. */
static void test_hashes_oom(void) {
  long n, nomem = 0;
  for (n = 1;; n++) {
    char s[41], h[65];
    int r1, r2;
    fail_alloc_arm(n);
    r1 = sha1_hex("abc", s);
    r2 = hmac_hex("Jefe", "what do ya want for nothing?", h);
    fail_alloc_disarm();
    CHECK(r1 == 0 || r1 == EXP_ENOMEM);
    CHECK(r2 == 0 || r2 == EXP_ENOMEM);
    if (r1 == 0)
      CHECK_STR(s, "a9993e364706816aba3e25717850c26c9cd0d89d");
    if (r2 == 0)
      CHECK_STR(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
                   "64ec3843");
    nomem += r1 != 0 || r2 != 0;
    CHECK(!crypto_loaded());
    if (!fail_alloc_failed())
      break;
  }
  CHECK(nomem > 0);
}

#endif

int main(void) {
  RUN(test_base64);
#ifdef TEST_MISSING
  RUN(test_missing);
#else
  RUN(test_hashes);
  if (fail_alloc_active())
    RUN(test_hashes_oom);
#endif
  return t_done();
}
