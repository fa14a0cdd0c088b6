/* Channel ids against vectors computed with node:
 * Buffer.from(JSON.stringify([org, name, s, c])).toString("base64"). */
#include <stdlib.h>

#include <mbedtls/base64.h>

#include "channel_id.h"
#include "exp.h"
#include "testlib.h"

static void check_id(const char *org, const char *name, int sys, int cons,
                     const char *want) {
  char *id = (char *)"unset";
  CHECK_INT(exp_channel_id_encode(org, name, sys, cons, &id), 0);
  CHECK_STR(id, want);
  free(id);
}

static void test_ascii(void) {
  check_id("scala", "test", 0, 0, "WyJzY2FsYSIsInRlc3QiLDAsMF0=");
  check_id("", "", 0, 0, "WyIiLCIiLDAsMF0=");
  /* JSON lengths 14 and 15: both padding forms and none. */
  check_id("ab", "c", 0, 0, "WyJhYiIsImMiLDAsMF0=");
  check_id("abc", "c", 0, 0, "WyJhYmMiLCJjIiwwLDBd");
  check_id("pairing:ABC123", "pairing", 1, 0,
           "WyJwYWlyaW5nOkFCQzEyMyIsInBhaXJpbmciLDEsMF0=");
}

static void test_flags(void) {
  check_id("scala", "organization", 1, 1,
           "WyJzY2FsYSIsIm9yZ2FuaXphdGlvbiIsMSwxXQ==");
  /* Any non-zero int is a set flag. */
  check_id("scala", "organization", 7, -1,
           "WyJzY2FsYSIsIm9yZ2FuaXphdGlvbiIsMSwxXQ==");
  check_id("scala", "test", 0, 1, "WyJzY2FsYSIsInRlc3QiLDAsMV0=");
}

static void test_non_ascii(void) {
  check_id("scala", "tëst 🎉", 1, 0, "WyJzY2FsYSIsInTDq3N0IPCfjokiLDEsMF0=");
  check_id("日本", "<>&\x02\x7f", 0, 0, "WyLml6XmnKwiLCI8PiZcdTAwMDJ/IiwwLDBd");
  /* U+2028 and U+2029 stay raw, as JSON.stringify writes them. */
  check_id("scala", "x\xe2\x80\xa8y\xe2\x80\xa9z", 0, 0,
           "WyJzY2FsYSIsInjigKh54oCpeiIsMCwwXQ==");
}

static void test_escapes(void) {
  check_id("o\"rg", "a\\b\n\t\r\b\f\x01\x1f\x7f/", 0, 1,
           "WyJvXCJyZyIsImFcXGJcblx0XHJcYlxmXHUwMDAxXHUwMDFmfy8iLDAsMV0=");
}

/* A name longer than the on-stack JSON buffer: the id decodes back to the
 * JSON node writes for it. */
static void test_long(void) {
  char name[602], json[700], back[700];
  char *id = NULL;
  size_t n;
  memset(name, 'n', 600);
  name[600] = '"';
  name[601] = '\0';
  snprintf(json, sizeof(json), "[\"scala\",\"%.600s\\\"\",0,1]", name);
  CHECK_INT(strlen(json), 618);
  CHECK_INT(exp_channel_id_encode("scala", name, 0, 1, &id), 0);
  CHECK(id != NULL);
  if (id == NULL)
    return;
  CHECK_INT(strlen(id), 824);
  CHECK(strncmp(id, "WyJzY2FsYSIsIm5ubm5u", 20) == 0);
  CHECK_STR(id + strlen(id) - 16, "bm5ublwiIiwwLDFd");
  CHECK_INT(mbedtls_base64_decode((unsigned char *)back, sizeof(back), &n,
                                  (const unsigned char *)id, strlen(id)),
            0);
  CHECK_INT(n, 618);
  CHECK(memcmp(back, json, 618) == 0);
  free(id);
}

static void check_bad(const char *org, const char *name) {
  char *id = (char *)"unset";
  CHECK_INT(exp_channel_id_encode(org, name, 0, 0, &id), EXP_EOPTIONS);
  CHECK(id == NULL);
}

static void test_invalid(void) {
  check_bad(NULL, "x");
  check_bad("x", NULL);
  check_bad("\xff", "x");
  check_bad("x", "\x80");             /* lone continuation byte */
  check_bad("x", "\xc0\x80");         /* overlong NUL */
  check_bad("x", "\xc1\xbf");         /* overlong */
  check_bad("x", "\xe0\x80\xaf");     /* overlong '/' */
  check_bad("x", "\xed\xa0\x80");     /* surrogate U+D800 */
  check_bad("x", "\xf4\x90\x80\x80"); /* above U+10FFFF */
  check_bad("x", "\xf5\x80\x80\x80");
  check_bad("x", "ab\xe2\x82");   /* truncated at the end */
  check_bad("x", "\xe2\x82x");    /* truncated in the middle */
  check_bad("x", "\xf0\x9f\x8e"); /* truncated 4-byte sequence */
  /* The edges that are valid: U+D7FF, U+E000, U+10FFFF, U+0080. */
  check_id("x", "\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\xc2\x80", 0, 0,
           "WyJ4Iiwi7Z+/7oCA9I+/v8KAIiwwLDBd");
}

int main(void) {
  RUN(test_ascii);
  RUN(test_flags);
  RUN(test_non_ascii);
  RUN(test_escapes);
  RUN(test_long);
  RUN(test_invalid);
  return t_done();
}
