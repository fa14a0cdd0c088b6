/* test_json_scan.c: the JSON checker, skipper and splitter on valid,
 * split and garbage input, against cJSON where they must agree. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common.h"
#include "json_scan.h"
#include "testlib.h"

static int check(const char *s) {
  return exp_json_check(s, strlen(s), 0, 0, NULL);
}

/* cJSON parses exactly s (nothing left over). */
static int cjson_takes(const char *s, size_t len) {
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
  int ok = j != NULL;
  if (ok) {
    while (end < s + len && strchr(" \t\r\n", *end) != NULL && *end != '\0')
      end++;
    ok = end == s + len;
  }
  cJSON_Delete(j);
  return ok;
}

static const char *const valid[] = {
    "0",
    "-0",
    "-12.5e+3",
    "1E-2",
    "true",
    " null ",
    "false",
    "\"\"",
    "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\"",
    "\"\\u00e9\\uD83D\\uDE00\"",
    "\"caf\xc3\xa9\"",
    "[]",
    "{}",
    "[ ]",
    "{ }",
    "[1,2,[3,[4]],{\"a\":{}}]",
    "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
    "\t{\r\n\"k\" : [ 1 , \"x\" ] }\n",
};

static const char *const invalid[] = {
    "",
    " ",
    "01",
    "1.",
    ".5",
    "+1",
    "1e",
    "1e+",
    "-",
    "tru",
    "truex",
    "nul",
    "\"abc",
    "\"a\nb\"",
    "\"\\x\"",
    "\"\\u12\"",
    "\"\\uDE00\"",
    "\"\\uD83D\"",
    "\"\\uD83Dx\"",
    "[",
    "[1,]",
    "[,1]",
    "[1 2]",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "{1:2}",
    "{\"a\":1]",
    "[1}",
    "[] []",
    "{}x",
    "]",
    "1111111111111111111111111111111111111111111111111111111111111111",
};

static void test_valid_and_invalid(void) {
  for (size_t i = 0; i < EXP_ARRAY_SIZE(valid); i++) {
    CHECK_INT(check(valid[i]), EXP_JSON_OK);
    CHECK(cjson_takes(valid[i], strlen(valid[i])));
  }
  for (size_t i = 0; i < EXP_ARRAY_SIZE(invalid); i++) {
    if (check(invalid[i]) != EXP_JSON_INVALID)
      fprintf(stderr, "accepted: %s\n", invalid[i]);
    CHECK_INT(check(invalid[i]), EXP_JSON_INVALID);
  }
}

/* Nesting: cJSON's own limit is where both stop. */
static void test_depth(void) {
  size_t n = CJSON_NESTING_LIMIT + 1;
  char *s = malloc(2 * n + 1);
  exp_json_info info;

  for (size_t d = CJSON_NESTING_LIMIT; d <= n; d++) {
    memset(s, '[', d);
    memset(s + d, ']', d);
    s[2 * d] = '\0';
    CHECK_INT(exp_json_check(s, 2 * d, CJSON_NESTING_LIMIT, 0, &info),
              d <= CJSON_NESTING_LIMIT ? EXP_JSON_OK : EXP_JSON_DEEP);
    CHECK_INT(cjson_takes(s, 2 * d), d <= CJSON_NESTING_LIMIT);
  }
  CHECK_INT(info.depth, CJSON_NESTING_LIMIT);
  /* Objects and arrays mixed: the bit stack tells them apart. */
  CHECK_INT(exp_json_check("[{\"a\":[{\"b\":[]}]}]", 18, 5, 0, &info),
            EXP_JSON_OK);
  CHECK_INT(info.depth, 5);
  CHECK_INT(exp_json_check("[{\"a\":[{\"b\":[]}]}]", 18, 4, 0, NULL),
            EXP_JSON_DEEP);
  CHECK_INT(check("[{\"a\":[{\"b\":[}]}]}]"), EXP_JSON_INVALID);
  free(s);
}

/* One value per cJSON item. */
static void test_nodes(void) {
  const char *s = "[1,{\"a\":[true,null]},\"s\"]";
  exp_json_info info;
  CHECK_INT(exp_json_check(s, strlen(s), 0, 0, &info), EXP_JSON_OK);
  CHECK_INT(info.nodes, 7);
  CHECK_INT(exp_json_check(s, strlen(s), 0, 7, NULL), EXP_JSON_OK);
  CHECK_INT(exp_json_check(s, strlen(s), 0, 6, &info), EXP_JSON_TOO_MANY);
  CHECK_INT(info.nodes, 6);
}

/* Every proper prefix of a text that ends in a bracket is refused, and
 * the scan reads nothing past the length it was given (ASan). */
static void test_split(void) {
  static const char *const texts[] = {
      "{\"a\":[1,2.5e3,{\"b\":\"c\\u00e9\\\"\"}],\"d\":null}",
      "[\"\\uD83D\\uDE00\",true,false,[[]],{}]",
  };
  for (size_t t = 0; t < EXP_ARRAY_SIZE(texts); t++) {
    size_t len = strlen(texts[t]);
    for (size_t k = 0; k < len; k++) {
      char *p = malloc(k + 1);
      size_t end;
      memcpy(p, texts[t], k);
      CHECK_INT(exp_json_check(p, k, 0, 0, NULL), EXP_JSON_INVALID);
      CHECK_INT(exp_json_skip(p, k, &end), EXP_JSON_INVALID);
      free(p);
    }
    CHECK_INT(exp_json_check(texts[t], len, 0, 0, NULL), EXP_JSON_OK);
  }
}

/* Random bytes drawn from JSON's alphabet: no crash, and what the checker
 * takes cJSON takes. */
static void test_garbage(void) {
  static const char alphabet[] = "{}[],:\"\\u0123456789abcdefeEtrulsn.-+ \n";
  unsigned seed = 12345;
  size_t accepted = 0;
  char buf[24];
  for (int round = 0; round < 200000; round++) {
    size_t len = (size_t)(round % (int)sizeof(buf)), end;
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
    }
    if (exp_json_check(buf, len, 0, 0, NULL) == EXP_JSON_OK) {
      accepted++;
      CHECK(cjson_takes(buf, len));
      CHECK_INT(exp_json_skip(buf, len, &end), 0);
    }
  }
  CHECK(accepted > 0);
}

static void test_skip(void) {
  size_t end = 0;
  CHECK_INT(exp_json_skip("  {\"a\":\"}\\\"\"} , 1", 17, &end), 0);
  CHECK_INT(end, 13);
  CHECK_INT(exp_json_skip("\"ab\\\"c\" x", 9, &end), 0);
  CHECK_INT(end, 7);
  CHECK_INT(exp_json_skip("123,4", 5, &end), 0);
  CHECK_INT(end, 3);
  CHECK_INT(exp_json_skip("tru]", 4, &end), 0);
  CHECK_INT(end, 3);
  /* Structure only: the brackets balance, so it ends. */
  CHECK_INT(exp_json_skip("{]", 2, &end), 0);
  CHECK_INT(end, 2);
  CHECK_INT(exp_json_skip("[[\"]\"]", 6, &end), EXP_JSON_INVALID);
  CHECK_INT(exp_json_skip("\"abc", 4, &end), EXP_JSON_INVALID);
  CHECK_INT(exp_json_skip("\"abc\\\"", 6, &end), EXP_JSON_INVALID);
  CHECK_INT(exp_json_skip(" ,", 2, &end), EXP_JSON_INVALID);
  CHECK_INT(exp_json_skip("", 0, &end), EXP_JSON_INVALID);
}

typedef struct seen {
  int n, stop_at;
  char keys[8][16];
  char values[8][32];
} seen;

static int collect(void *ud, const exp_json_member *m) {
  seen *s = ud;
  if (s->n < 8) {
    snprintf(s->keys[s->n], 16, "%.*s", m->key != NULL ? (int)m->key_len : 1,
             m->key != NULL ? m->key : "-");
    snprintf(s->values[s->n], 32, "%.*s", (int)m->value_len, m->value);
  }
  s->n++;
  return s->n == s->stop_at ? 99 : 0;
}

/* Long strings are checked and skipped 8 bytes a step: a quote, an escape
 * or a control byte must be found wherever it falls in a word. */
static void test_long_strings(void) {
  for (size_t at = 0; at < 40; at++) {
    char s[64];
    size_t end = 0;
    memset(s, 'a', sizeof(s));
    s[0] = '"';
    s[42] = '"';
    s[43] = '\0';
    CHECK_INT(exp_json_check(s, 43, 0, 0, NULL), EXP_JSON_OK);
    s[1 + at] = '\x01';
    CHECK_INT(exp_json_check(s, 43, 0, 0, NULL), EXP_JSON_INVALID);
    s[1 + at] = '\xc3'; /* UTF-8 is not judged here */
    CHECK_INT(exp_json_check(s, 43, 0, 0, NULL), EXP_JSON_OK);
    s[1 + at] = '\\';
    s[2 + at] = '"'; /* an escaped quote does not end it */
    CHECK_INT(exp_json_check(s, 43, 0, 0, NULL), EXP_JSON_OK);
    CHECK_INT(exp_json_skip(s, 43, &end), EXP_JSON_OK);
    CHECK_INT(end, 43);
    s[1 + at] = 'a';
    CHECK_INT(exp_json_skip(s, 43, &end), EXP_JSON_OK);
    CHECK_INT(end, 3 + at); /* the quote now closes it */
    CHECK_INT(exp_json_check(s, 43, 0, 0, NULL), EXP_JSON_INVALID);
  }
}

static void test_members(void) {
  const char *obj = " {\"id\" : \"x\\\"y\", \"n\":[1, {\"a\":2}] ,\"e\":{}} ";
  const char *arr = "[ \"a\" ,2,null ]";
  seen s;

  memset(&s, 0, sizeof(s));
  CHECK_INT(exp_json_members(obj, strlen(obj), collect, &s), 0);
  CHECK_INT(s.n, 3);
  CHECK_STR(s.keys[0], "id");
  CHECK_STR(s.values[0], "\"x\\\"y\"");
  CHECK_STR(s.keys[1], "n");
  CHECK_STR(s.values[1], "[1, {\"a\":2}]");
  CHECK_STR(s.values[2], "{}");

  memset(&s, 0, sizeof(s));
  CHECK_INT(exp_json_members(arr, strlen(arr), collect, &s), 0);
  CHECK_INT(s.n, 3);
  CHECK_STR(s.keys[0], "-");
  CHECK_STR(s.values[0], "\"a\"");
  CHECK_STR(s.values[2], "null");

  memset(&s, 0, sizeof(s));
  s.stop_at = 2;
  CHECK_INT(exp_json_members(arr, strlen(arr), collect, &s), 99);
  CHECK_INT(s.n, 2);

  memset(&s, 0, sizeof(s));
  CHECK_INT(exp_json_members("[]", 2, collect, &s), 0);
  CHECK_INT(exp_json_members(" { } ", 5, collect, &s), 0);
  CHECK_INT(s.n, 0);
  CHECK_INT(exp_json_members("1", 1, collect, &s), EXP_JSON_INVALID);
  CHECK_INT(exp_json_members("[1,]", 4, collect, &s), EXP_JSON_INVALID);
  CHECK_INT(exp_json_members("[1 2]", 5, collect, &s), EXP_JSON_INVALID);
  CHECK_INT(exp_json_members("{\"a\" 1}", 7, collect, &s), EXP_JSON_INVALID);
  CHECK_INT(exp_json_members("{a:1}", 5, collect, &s), EXP_JSON_INVALID);
  CHECK_INT(exp_json_members("[1] x", 5, collect, &s), EXP_JSON_INVALID);
  CHECK_INT(exp_json_members("{\"a\":[1}", 8, collect, &s), EXP_JSON_INVALID);
  /* Every prefix of a valid object breaks before its end. */
  for (size_t k = 0; k < strlen(obj) - 1; k++) {
    char *p = malloc(k + 1);
    memcpy(p, obj, k);
    memset(&s, 0, sizeof(s));
    CHECK_INT(exp_json_members(p, k, collect, &s), EXP_JSON_INVALID);
    free(p);
  }
}

static void test_string(void) {
  char out[16];
  size_t n = 0;
  CHECK_INT(exp_json_unescape("a\\\"\\\\\\/\\n\\t", 11, out, sizeof(out), &n),
            0);
  CHECK_STR(out, "a\"\\/\n\t");
  CHECK_INT(n, 6);
  CHECK_INT(exp_json_unescape("\\u00e9\\u20AC", 12, out, sizeof(out), &n), 0);
  CHECK_STR(out, "\xc3\xa9\xe2\x82\xac");
  CHECK_INT(exp_json_unescape("\\uD83D\\uDE00", 12, out, sizeof(out), &n), 0);
  CHECK_STR(out, "\xf0\x9f\x98\x80");
  CHECK_INT(exp_json_unescape("", 0, out, sizeof(out), &n), 0);
  CHECK_STR(out, "");
  CHECK_INT(exp_json_unescape("\\uD83D", 6, out, sizeof(out), &n),
            EXP_JSON_INVALID);
  CHECK_INT(exp_json_unescape("\\u0000", 6, out, sizeof(out), &n),
            EXP_JSON_INVALID);
  CHECK_INT(exp_json_unescape("\\q", 2, out, sizeof(out), &n),
            EXP_JSON_INVALID);
  CHECK_INT(exp_json_unescape("\\", 1, out, sizeof(out), &n), EXP_JSON_INVALID);
  CHECK_INT(exp_json_unescape("a\"", 2, out, sizeof(out), &n),
            EXP_JSON_INVALID);
  CHECK_INT(exp_json_unescape("abcd", 4, out, 4, &n), EXP_JSON_TOO_LONG);
  CHECK_INT(exp_json_unescape("abc", 3, out, 4, &n), 0);
  CHECK_INT(exp_json_unescape("", 0, out, 0, &n), EXP_JSON_TOO_LONG);
  CHECK(exp_json_is_string("\"a\"", 3));
  CHECK(!exp_json_is_string("1", 1));
}

int main(void) {
  RUN(test_valid_and_invalid);
  RUN(test_depth);
  RUN(test_nodes);
  RUN(test_split);
  RUN(test_garbage);
  RUN(test_skip);
  RUN(test_long_strings);
  RUN(test_members);
  RUN(test_string);
  return t_done();
}
