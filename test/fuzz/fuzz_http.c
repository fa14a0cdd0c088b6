/*
 * fuzz_http.c: the HTTP response parser on any bytes, cut into chunks
 * anywhere, in normal, HEAD and upgrade modes, with pipelined responses and
 * a small body cap.  Every outcome is checked against the same input fed in
 * one piece: the cuts must not change what the parser sees.
 *
 * Input: flags byte, cuts (fuzz.h), then the bytes from the server.
 */
#include <string.h>

#include "fuzz.h"
#include "http.h"

#define MAX_RESPONSES 8

static const size_t caps[] = {0, 16, 256, 4096};

static const char *const names[] = {
    "Content-Length", "Connection",           "Upgrade",
    "Content-Type",   "Sec-WebSocket-Accept", "Transfer-Encoding"};

static uint64_t mix(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 1099511628211u;
  return h;
}

static uint64_t mix_int(uint64_t h, long long v) {
  return mix(h, &v, sizeof(v));
}

/* Checks what the parser reports once a response is over and folds it into
 * h, with end, where a complete response ended in the input. */
static uint64_t record(const exp_http_parser *p, int result, size_t cap,
                       size_t end, uint64_t h) {
  size_t len;
  const char *body = exp_http_parser_body(p, &len);
  int status = exp_http_parser_status(p);

  FUZZ_CHECK(body != NULL && body[len] == '\0');
  FUZZ_CHECK(len <= cap);
  FUZZ_CHECK(status >= 0 && status <= 999);
  if (result < 0)
    FUZZ_CHECK(exp_http_parser_message(p)[0] != '\0');
  h = mix_int(h, result);
  h = mix_int(h, status);
  if (result == EXP_HTTP_DONE) {
    h = mix_int(h, (long long)end);
    h = mix_int(h, exp_http_parser_keep_alive(p));
    h = mix(h, body, len);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
      const char *v = exp_http_parser_header(p, names[i]);
      size_t n = v != NULL ? strlen(v) : 0;
      if (n > 0)
        FUZZ_CHECK(v[n - 1] != ' ' && v[n - 1] != '\t');
      h = mix_int(h, v != NULL);
      h = mix(h, v, n);
    }
  }
  return h;
}

/* Feeds data in the chunks c says, parsing responses one after the other
 * while the connection stays reusable; then the end of the stream.  Returns
 * a digest of everything observed. */
static uint64_t run(const char *data, size_t len, const fuzz_cuts *c,
                    size_t cap, unsigned flags, int eof) {
  exp_http_parser *p = exp_http_parser_new(cap, flags);
  uint64_t h = 14695981039346656037u;
  size_t pos = 0, i, left = len, consumed, responses = 0;
  int r = EXP_HTTP_MORE;

  FUZZ_CHECK(p != NULL);
  for (i = 0; r >= 0 && responses < MAX_RESPONSES; i++) {
    size_t n = fuzz_chunk(c, i, left), end = pos + n;
    while (r >= 0 && responses < MAX_RESPONSES) {
      r = exp_http_parser_feed(p, data + pos, end - pos, &consumed);
      FUZZ_CHECK(consumed <= end - pos);
      if (r == EXP_HTTP_MORE) {
        FUZZ_CHECK(consumed == end - pos);
        pos = end;
        break;
      }
      pos += consumed;
      h = record(p, r, cap, pos, h);
      responses++;
      /* Done or failed: the parser says the same again. */
      FUZZ_CHECK(exp_http_parser_feed(p, data + pos, end - pos, &consumed) ==
                 r);
      FUZZ_CHECK(consumed == 0);
      if (r != EXP_HTTP_DONE || !exp_http_parser_keep_alive(p))
        r = -1;
      else
        exp_http_parser_reset(p, flags);
    }
    left = len - end;
    if (i >= c->k)
      break;
  }
  if (r == EXP_HTTP_MORE && eof)
    h = record(p, exp_http_parser_eof(p), cap, pos, h);
  exp_http_parser_free(p);
  return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in in = {data, size};
  uint8_t f = fuzz_u8(&in);
  unsigned flags = f & 3;
  size_t cap = caps[(f >> 2) & 3];
  int eof = (f >> 4) & 1;
  fuzz_cuts c, whole = {0};

  fuzz_take_cuts(&in, &c);
  FUZZ_CHECK(run((const char *)in.p, in.n, &c, cap, flags, eof) ==
             run((const char *)in.p, in.n, &whole, cap, flags, eof));
  return 0;
}
