/* HTTP writer and response parser: every split point, garbage, caps. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "http.h"
#include "testlib.h"

typedef struct expect {
  const char *raw;
  size_t raw_len; /* 0: strlen(raw) */
  unsigned flags;
  int needs_eof; /* the response ends only when the peer closes */
  int status;
  const char *body; /* expected body */
  size_t body_len;  /* 0: strlen(body) */
  int keep_alive;
  size_t used;       /* bytes of raw that belong to the response; 0: all */
  const char *hname; /* a header to look up, and its value */
  const char *hvalue;
} expect;

/* Feeds raw in pieces ending at cut1 and cut2, then EOF when needed, and
 * checks the outcome.  Returns the bytes the response consumed. */
static void run_split(const expect *e, size_t cut1, size_t cut2, int step) {
  size_t len = e->raw_len ? e->raw_len : strlen(e->raw);
  size_t used = e->used ? e->used : len;
  size_t pos = 0, c;
  int r = EXP_HTTP_MORE;
  exp_http_parser *p = exp_http_parser_new(1 << 20, e->flags);
  CHECK(p != NULL);
  if (p == NULL)
    return;
  while (pos < len && r == EXP_HTTP_MORE) {
    size_t end = step ? pos + 1 : pos < cut1 ? cut1 : pos < cut2 ? cut2 : len;
    r = exp_http_parser_feed(p, e->raw + pos, end - pos, &c);
    CHECK(c <= end - pos);
    pos += c;
    if (r == EXP_HTTP_MORE)
      CHECK_INT(c, end - pos + c);
  }
  if (e->needs_eof) {
    CHECK_INT(r, EXP_HTTP_MORE);
    r = exp_http_parser_eof(p);
  }
  CHECK_INT(r, EXP_HTTP_DONE);
  if (r != EXP_HTTP_DONE)
    fprintf(stderr, "  split %zu/%zu step %d: %s\n", cut1, cut2, step,
            exp_http_parser_message(p));
  CHECK_INT(pos, used);
  CHECK_INT(exp_http_parser_status(p), e->status);
  {
    size_t bl;
    const char *b = exp_http_parser_body(p, &bl);
    size_t want = e->body_len ? e->body_len : strlen(e->body);
    CHECK_INT(bl, want);
    CHECK(memcmp(b, e->body, want) == 0);
    CHECK_INT(b[bl], 0);
  }
  CHECK_INT(exp_http_parser_keep_alive(p), e->keep_alive);
  if (e->hname != NULL)
    CHECK_STR(exp_http_parser_header(p, e->hname), e->hvalue);
  /* Done stays done. */
  CHECK_INT(exp_http_parser_feed(p, "x", 1, &c), EXP_HTTP_DONE);
  CHECK_INT(c, 0);
  exp_http_parser_free(p);
}

static void run_all(const expect *e) {
  size_t len = e->raw_len ? e->raw_len : strlen(e->raw);
  int before = t_failures;
  for (size_t i = 0; i <= len && t_failures == before; i++)
    run_split(e, i, len, 0);
  /* Three pieces on short inputs, byte by byte on all. */
  if (len < 200)
    for (size_t i = 0; i <= len && t_failures == before; i++)
      for (size_t j = i; j <= len && t_failures == before; j++)
        run_split(e, i, j, 0);
  run_split(e, 0, 0, 1);
}

static void test_content_length(void) {
  expect e = {.raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: 13\r\nX-Empty:\r\nX-Pad:  a b  \r\n\r\n"
                     "{\"a\":[1,2,3]}",
              .status = 200,
              .body = "{\"a\":[1,2,3]}",
              .keep_alive = 1,
              .hname = "content-type",
              .hvalue = "application/json"};
  run_all(&e);
  e.hname = "x-empty";
  e.hvalue = "";
  run_split(&e, 5, 60, 0);
  e.hname = "X-PAD";
  e.hvalue = "a b";
  run_split(&e, 5, 60, 0);
  e.hname = "missing";
  e.hvalue = NULL;
  run_split(&e, 5, 60, 0);
}

/* A caller that reads no header (REST) still gets the framing llhttp reads
 * from them: lengths, chunks, Connection. */
static void test_headless(void) {
  expect e = {.raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: 13\r\n\r\n{\"a\":[1,2,3]}",
              .flags = EXP_HTTP_PARSE_NO_HEADERS,
              .status = 200,
              .body = "{\"a\":[1,2,3]}",
              .keep_alive = 1,
              .hname = "content-type",
              .hvalue = NULL};
  expect chunked = {.raw = "HTTP/1.1 201 Created\r\nTransfer-Encoding: "
                           "chunked\r\nConnection: close\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
                    .flags = EXP_HTTP_PARSE_NO_HEADERS,
                    .status = 201,
                    .body = "abcde",
                    .keep_alive = 0,
                    .hname = "connection",
                    .hvalue = NULL};
  run_all(&e);
  run_all(&chunked);
}

static void test_binary_body(void) {
  static const char raw[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
                            "a\0\r\n";
  expect e = {.raw = raw,
              .raw_len = sizeof(raw) - 1,
              .status = 200,
              .body = "a\0\r\n",
              .body_len = 4,
              .keep_alive = 1};
  run_all(&e);
}

static void test_chunked(void) {
  expect e = {.raw = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: keep-alive\r\n\r\n"
                     "5;name=value\r\nhello\r\n1;flag\r\n \r\n"
                     "a;q=\"s;t\"\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
              .status = 201,
              .body = "hello 0123456789",
              .keep_alive = 1,
              .hname = "connection",
              .hvalue = "keep-alive"};
  run_all(&e);
}

static void test_eof_body(void) {
  expect e = {.raw = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                     "until the end\r\nof the stream",
              .needs_eof = 1,
              .status = 200,
              .body = "until the end\r\nof the stream",
              .keep_alive = 0};
  run_all(&e);
}

static void test_close_and_http10(void) {
  expect e = {.raw = "HTTP/1.1 404 Not Found\r\nConnection: close\r\n"
                     "Content-Length: 2\r\n\r\nno",
              .status = 404,
              .body = "no",
              .keep_alive = 0};
  run_all(&e);
  e.raw = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
  e.status = 200;
  e.body = "ok";
  run_all(&e);
}

static void test_no_body(void) {
  expect e = {.raw = "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
              .status = 204,
              .body = "",
              .keep_alive = 1,
              .hname = "x-a",
              .hvalue = "1"};
  run_all(&e);
  e.raw = "HTTP/1.1 304 Not Modified\r\n\r\n";
  e.status = 304;
  e.hname = NULL;
  run_all(&e);
  e.raw = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  e.status = 200;
  run_all(&e);
  /* A HEAD answer announces a length but carries no body. */
  e.raw = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n";
  e.flags = EXP_HTTP_PARSE_HEAD;
  run_all(&e);
}

static void test_interim(void) {
  expect e = {.raw = "HTTP/1.1 100 Continue\r\nX-A: interim\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nX-B: final\r\nContent-Length: 1\r\n"
                     "\r\nz",
              .status = 200,
              .body = "z",
              .keep_alive = 1,
              .hname = "x-b",
              .hvalue = "final"};
  run_all(&e);
  e.hname = "x-a";
  e.hvalue = NULL;
  run_split(&e, 0, 0, 1);
}

static void test_upgrade(void) {
  static const char head[] =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  static const char raw[] =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
      "\x81\x05hello";
  expect e = {.raw = raw,
              .raw_len = sizeof(raw) - 1,
              .flags = EXP_HTTP_PARSE_UPGRADE,
              .status = 101,
              .body = "",
              .keep_alive = 0,
              .used = sizeof(head) - 1,
              .hname = "sec-websocket-accept",
              .hvalue = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="};
  exp_http_parser *p;
  size_t c;
  run_all(&e);
  /* Headers only, nothing after them. */
  e.raw = head;
  e.raw_len = sizeof(head) - 1;
  run_all(&e);
  /* Without the flag a 101 is not acceptable. */
  p = exp_http_parser_new(100, 0);
  CHECK_INT(exp_http_parser_feed(p, raw, sizeof(raw) - 1, &c), EXP_EPROTOCOL);
  CHECK(strstr(exp_http_parser_message(p), "101") != NULL);
  /* A refused upgrade is an ordinary response. */
  exp_http_parser_reset(p, EXP_HTTP_PARSE_UPGRADE);
  CHECK_INT(exp_http_parser_feed(
                p, "HTTP/1.1 400 Bad\r\nContent-Length: 1\r\n\r\nx", 40, &c),
            EXP_HTTP_DONE);
  CHECK_INT(exp_http_parser_status(p), 400);
  CHECK_INT(c, 40);
  exp_http_parser_free(p);
}

static void test_reuse(void) {
  /* Two responses back to back on one connection (one parser). */
  static const char two[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                            "\r\n3\r\ntwo\r\n0\r\n\r\n";
  exp_http_parser *p = exp_http_parser_new(100, 0);
  size_t c, len = sizeof(two) - 1, bl;
  CHECK_INT(exp_http_parser_feed(p, two, len, &c), EXP_HTTP_DONE);
  CHECK_STR(exp_http_parser_body(p, &bl), "one");
  exp_http_parser_reset(p, 0);
  CHECK_INT(exp_http_parser_status(p), 0);
  CHECK_STR(exp_http_parser_body(p, &bl), "");
  CHECK_INT(exp_http_parser_feed(p, two + c, len - c, &c), EXP_HTTP_DONE);
  CHECK_STR(exp_http_parser_body(p, &bl), "two");
  CHECK(exp_http_parser_keep_alive(p));
  exp_http_parser_free(p);
}

static int feed_all(exp_http_parser *p, const char *s, size_t len) {
  size_t c;
  return exp_http_parser_feed(p, s, len, &c);
}

static void test_cap(void) {
  static const char cl[] = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
  static const char ch[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                           "\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n";
  static const char eof[] = "HTTP/1.1 200 OK\r\n\r\n0123456789a";
  exp_http_parser *p = exp_http_parser_new(10, 0);
  /* Refused from the announced length, before any body byte. */
  CHECK_INT(feed_all(p, cl, sizeof(cl) - 1), EXP_ETOOBIG);
  CHECK(strstr(exp_http_parser_message(p), "cap") != NULL);
  CHECK_INT(exp_http_parser_eof(p), EXP_ETOOBIG);
  exp_http_parser_reset(p, 0);
  CHECK_INT(feed_all(p, ch, sizeof(ch) - 1), EXP_ETOOBIG);
  exp_http_parser_reset(p, 0);
  CHECK_INT(feed_all(p, eof, sizeof(eof) - 1), EXP_ETOOBIG);
  /* Exactly at the cap is fine. */
  exp_http_parser_reset(p, 0);
  CHECK_INT(feed_all(p, eof, sizeof(eof) - 2), EXP_HTTP_MORE);
  CHECK_INT(exp_http_parser_eof(p), EXP_HTTP_DONE);
  exp_http_parser_free(p);
}

static void test_garbage(void) {
  static const char *bad[] = {
      "garbage\r\n\r\n",
      "HTTP/1.1 abc OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
      "GET / HTTP/1.1\r\n\r\n",
  };
  exp_http_parser *p = exp_http_parser_new(100, 0);
  for (size_t i = 0; i < EXP_ARRAY_SIZE(bad); i++) {
    exp_http_parser_reset(p, 0);
    CHECK_INT(feed_all(p, bad[i], strlen(bad[i])), EXP_EPROTOCOL);
    CHECK(strstr(exp_http_parser_message(p), "malformed") != NULL);
  }
  /* Truncated responses are network errors at EOF, as a reset would be. */
  exp_http_parser_reset(p, 0);
  CHECK_INT(exp_http_parser_eof(p), EXP_ENETWORK);
  CHECK(strstr(exp_http_parser_message(p), "before") != NULL);
  exp_http_parser_reset(p, 0);
  CHECK_INT(feed_all(p, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 40),
            EXP_HTTP_MORE);
  CHECK_INT(exp_http_parser_eof(p), EXP_ENETWORK);
  exp_http_parser_reset(p, 0);
  CHECK_INT(feed_all(p, "HTTP/1.1 200 O", 14), EXP_HTTP_MORE);
  CHECK_INT(exp_http_parser_eof(p), EXP_ENETWORK);
  exp_http_parser_free(p);
}

static void test_huge_headers(void) {
  size_t n = 70 * 1024;
  char *raw = malloc(n);
  exp_http_parser *p = exp_http_parser_new(100, 0);
  memcpy(raw, "HTTP/1.1 200 OK\r\nX-Big: ", 24);
  memset(raw + 24, 'a', n - 24);
  CHECK_INT(feed_all(p, raw, n), EXP_EPROTOCOL);
  CHECK(strstr(exp_http_parser_message(p), "headers") != NULL);
  exp_http_parser_free(p);
  free(raw);
}

static void test_pseudo_random(void) {
  /* Random bytes after a valid prefix never crash or leak. */
  unsigned seed = 12345;
  char buf[256];
  exp_http_parser *p = exp_http_parser_new(1000, 0);
  for (int round = 0; round < 2000; round++) {
    size_t c, n = 17 + (size_t)(round % 200);
    int r;
    memcpy(buf, "HTTP/1.1 200 OK\r\n", 17);
    for (size_t i = 17; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = (char)(seed >> 16);
    }
    exp_http_parser_reset(p, round & 1 ? EXP_HTTP_PARSE_UPGRADE : 0);
    r = exp_http_parser_feed(p, buf, n, &c);
    CHECK(r == EXP_HTTP_MORE || r == EXP_HTTP_DONE || r == EXP_EPROTOCOL ||
          r == EXP_ETOOBIG);
    if (r == EXP_HTTP_MORE)
      r = exp_http_parser_eof(p);
    CHECK(r == EXP_HTTP_DONE || r == EXP_EPROTOCOL || r == EXP_ENETWORK ||
          r == EXP_ETOOBIG);
  }
  exp_http_parser_free(p);
}

static void test_write(void) {
  const char *h[] = {"Accept: application/json", "X-Empty:", NULL};
  char *out, msg[100];
  size_t len;
  CHECK_INT(exp_http_write_request("POST", "/api/x?a=1", "example.com:8080", h,
                                   "{}", 2, &out, &len, msg, sizeof(msg)),
            0);
  {
    const char want[] = "POST /api/x?a=1 HTTP/1.1\r\nHost: example.com:8080\r\n"
                        "Accept: application/json\r\nX-Empty:\r\n"
                        "Content-Length: 2\r\n\r\n{}";
    CHECK_INT(len, sizeof(want) - 1);
    CHECK(memcmp(out, want, len) == 0);
  }
  free(out);
  CHECK_INT(exp_http_write_request("GET", "/", "h", NULL, NULL, 0, &out, &len,
                                   msg, sizeof(msg)),
            0);
  CHECK_INT(len, strlen("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  CHECK(memcmp(out, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", len) == 0);
  free(out);
  /* An empty but present body still says Content-Length: 0. */
  CHECK_INT(exp_http_write_request("PUT", "/", "h", NULL, "", 0, &out, &len,
                                   msg, sizeof(msg)),
            0);
  {
    /* The output is not NUL-terminated: compare its end. */
    const char tail[] = "Content-Length: 0\r\n\r\n";
    CHECK(len >= sizeof(tail) - 1 &&
          memcmp(out + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0);
  }
  free(out);
  {
    const char *inj[] = {"X: a\r\nY: b", NULL};
    const char *noc[] = {"NoColon", NULL};
    const char *badn[] = {"Bad Name: v", NULL};
    CHECK_INT(exp_http_write_request("GET", "/", "h", inj, NULL, 0, &out, &len,
                                     msg, sizeof(msg)),
              EXP_EOPTIONS);
    CHECK(strstr(msg, "header") != NULL);
    CHECK_INT(exp_http_write_request("GET", "/", "h", noc, NULL, 0, &out, &len,
                                     msg, sizeof(msg)),
              EXP_EOPTIONS);
    CHECK_INT(exp_http_write_request("GET", "/", "h", badn, NULL, 0, &out, &len,
                                     msg, sizeof(msg)),
              EXP_EOPTIONS);
  }
  CHECK_INT(exp_http_write_request("GE T", "/", "h", NULL, NULL, 0, &out, &len,
                                   msg, sizeof(msg)),
            EXP_EOPTIONS);
  CHECK_INT(exp_http_write_request("GET", "/a b", "h", NULL, NULL, 0, &out,
                                   &len, msg, sizeof(msg)),
            EXP_EOPTIONS);
  CHECK_INT(exp_http_write_request("GET", "/", "h\r\nX: y", NULL, NULL, 0, &out,
                                   &len, msg, sizeof(msg)),
            EXP_EOPTIONS);
  CHECK_INT(exp_http_write_request("GET", "", "h", NULL, NULL, 0, &out, &len,
                                   msg, sizeof(msg)),
            EXP_EOPTIONS);
}

/* Trusted lines are written after the checked ones without a check of
 * their own; the checked ones still are. */
static void test_write_trusted(void) {
  const char *h[] = {"Accept: a", NULL};
  const char *t[] = {"Authorization: Bearer x y", "X-Raw: \x01", NULL};
  const char *inj[] = {"X: a\rb", NULL};
  char *out, msg[100];
  size_t len;
  const char want[] = "GET /p HTTP/1.1\r\nHost: h\r\nAccept: a\r\n"
                      "Authorization: Bearer x y\r\nX-Raw: \x01\r\n\r\n";
  CHECK_INT(exp_http_write_request_trusted("GET", "/p", "h", h, t, NULL, 0,
                                           &out, &len, msg, sizeof(msg)),
            0);
  CHECK_INT(len, sizeof(want) - 1);
  CHECK(memcmp(out, want, len) == 0);
  free(out);
  CHECK_INT(exp_http_write_request_trusted("GET", "/p", "h", inj, t, NULL, 0,
                                           &out, &len, msg, sizeof(msg)),
            EXP_EOPTIONS);
  CHECK_INT(exp_http_write_request_trusted("GET", "/p", "h", NULL, NULL, "b", 1,
                                           &out, &len, msg, sizeof(msg)),
            0);
  CHECK_INT(len, strlen("GET /p HTTP/1.1\r\nHost: h\r\n"
                        "Content-Length: 1\r\n\r\nb"));
  free(out);

  CHECK(exp_http_header_valid("Authorization: Bearer a.b-c_d~"));
  CHECK(exp_http_header_valid("X-Utf8: caf\xc3\xa9\t!"));
  CHECK(exp_http_header_valid("X-Empty:"));
  CHECK(!exp_http_header_valid("Authorization: Bearer a\r\nX: y"));
  CHECK(!exp_http_header_valid("Authorization: Bearer a\nb"));
  CHECK(!exp_http_header_valid("Authorization: Bearer \x7f"));
  CHECK(!exp_http_header_valid("Authorization: Bearer \x1b"));
  CHECK(!exp_http_header_valid("No colon"));
  CHECK(!exp_http_header_valid(": no name"));
  CHECK(!exp_http_header_valid("Bad(name): v"));
}

static void test_tokens(void) {
  CHECK(exp_http_has_token("Upgrade", "upgrade"));
  CHECK(exp_http_has_token("keep-alive, Upgrade", "upgrade"));
  CHECK(exp_http_has_token(" upgrade ,close", "close"));
  CHECK(!exp_http_has_token("upgraded", "upgrade"));
  CHECK(!exp_http_has_token("", "upgrade"));
  CHECK(!exp_http_has_token(NULL, "upgrade"));
  CHECK(!exp_http_has_token("x-upgrade", "upgrade"));
}

int main(void) {
  RUN(test_content_length);
  RUN(test_headless);
  RUN(test_binary_body);
  RUN(test_chunked);
  RUN(test_eof_body);
  RUN(test_close_and_http10);
  RUN(test_no_body);
  RUN(test_interim);
  RUN(test_upgrade);
  RUN(test_reuse);
  RUN(test_cap);
  RUN(test_garbage);
  RUN(test_huge_headers);
  RUN(test_pseudo_random);
  RUN(test_write);
  RUN(test_write_trusted);
  RUN(test_tokens);
  return t_done();
}
