/* JWT: tokens equal to ones made independently with node's crypto
 * (createHmac('sha256', key), base64url, JSON.stringify claims). */
#include <stdlib.h>

#include "exp.h"
#include "jwt.h"
#include "testlib.h"

static void check(const char *uuid, const char *type, int pairing, int64_t iat,
                  const char *key, const char *want) {
  char *tok = NULL;
  CHECK_INT(exp_jwt_sign(uuid, type, pairing, iat, key, &tok, NULL, 0), 0);
  CHECK_STR(tok, want);
  free(tok);
}

static void test_device_pairing(void) {
  check("test-uuid", "device", 1, 1700000000, "test-secret",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJ1dWlkIjoidGVzdC11dWlkIiwidHlwZSI6ImRldmljZSIsImFsbG93UGFpcmluZyI6dH"
        "J1ZSwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwODY0MDB9."
        "XpoXBGDvwUQasPZ7PZLpamomPwXgSXB6cYJqkyg8spE");
}

static void test_consumer_app(void) {
  check("test-uuid", "consumerApp", 0, 1700000000, "test-api-key",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJ1dWlkIjoidGVzdC11dWlkIiwidHlwZSI6ImNvbnN1bWVyQXBwIiwiaWF0IjoxNzAwMD"
        "AwMDAwLCJleHAiOjE3MDAwODY0MDB9."
        "ipru0rRpEFUJSVN3RiBaEXC2lXM6pIqyOQmrwf1tXes");
}

/* Non-ASCII and a quote in the uuid; a hex-looking key used as text. */
static void test_escaping(void) {
  check(
      "\xc3\xa9\"x", "device", 0, 1, "0123abcd",
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJ1dWlkIjoiw6lcIngiLCJ0eXBlIjoiZGV2aWNlIiwiaWF0IjoxLCJleHAiOjg2NDAxfQ."
      "_8Au1eOFmFvJ1zgoekA_WflfF4dJ6VnPCoDBQh1UhCc");
}

int main(void) {
  RUN(test_device_pairing);
  RUN(test_consumer_app);
  RUN(test_escaping);
  return t_done();
}
