/*
 * fuzz_json_scan.c: the JSON checker, skipper and splitter on any bytes.
 * What the checker accepts within cJSON's nesting limit cJSON must parse;
 * a member's span must lie inside the input and skip to its own length;
 * a key must decode or be refused cleanly.
 *
 * Input: a byte of nesting limit, a byte of node cap (0: none), the text.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "json_scan.h"

typedef struct bounds {
  const char *p;
  size_t n;
} bounds;

static int on_member(void *ud, const exp_json_member *m) {
  const bounds *b = ud;
  char key[64];
  size_t end;
  FUZZ_CHECK(m->value >= b->p && m->value + m->value_len <= b->p + b->n);
  FUZZ_CHECK(exp_json_skip(m->value, m->value_len, &end) == 0 &&
             end == m->value_len);
  if (m->key != NULL) {
    FUZZ_CHECK(m->key > b->p && m->key + m->key_len < b->p + b->n);
    int r = exp_json_unescape(m->key, m->key_len, key, sizeof(key), &end);
    FUZZ_CHECK(r == EXP_JSON_OK || r == EXP_JSON_INVALID ||
               r == EXP_JSON_TOO_LONG);
    if (r == EXP_JSON_OK)
      FUZZ_CHECK(end == strlen(key));
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in in = {data, size};
  size_t depth = fuzz_u8(&in), nodes = fuzz_u8(&in), end;
  const char *text = (const char *)in.p;
  bounds b = {text, in.n};
  exp_json_info info;
  int r = exp_json_check(text, in.n, depth, nodes, &info);

  FUZZ_CHECK(r >= EXP_JSON_OK && r <= EXP_JSON_TOO_MANY);
  FUZZ_CHECK(info.error_at <= in.n);
  FUZZ_CHECK(nodes == 0 || info.nodes <= nodes);
  if (r == EXP_JSON_OK) {
    cJSON *j = cJSON_ParseWithLength(text, in.n);
    FUZZ_CHECK(info.depth <= (depth == 0 ? EXP_JSON_MAX_DEPTH : depth));
    if (info.depth <= CJSON_NESTING_LIMIT)
      FUZZ_CHECK(j != NULL);
    cJSON_Delete(j);
    FUZZ_CHECK(exp_json_skip(text, in.n, &end) == 0);
  }
  r = exp_json_members(text, in.n, on_member, &b);
  FUZZ_CHECK(r == EXP_JSON_OK || r == EXP_JSON_INVALID);
  return 0;
}
