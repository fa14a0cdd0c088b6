/* URLs: parsing, percent-encoding, query strings from JSON. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "testlib.h"
#include "url.h"

static void check_url(const char *s, int tls, const char *host, int port,
                      const char *authority, const char *target,
                      const char *origin) {
  exp_url u;
  char msg[128] = "";
  int r = exp_url_parse(s, &u, msg, sizeof(msg));
  CHECK_INT(r, 0);
  if (r != 0) {
    fprintf(stderr, "  %s: %s\n", s, msg);
    return;
  }
  CHECK_INT(u.tls, tls);
  CHECK_STR(u.host, host);
  CHECK_INT(u.port, port);
  CHECK_STR(u.authority, authority);
  CHECK_STR(u.target, target);
  CHECK_STR(u.origin, origin);
  exp_url_free(&u);
}

static void test_parse_good(void) {
  check_url("https://api.goexp.io", 1, "api.goexp.io", 443, "api.goexp.io", "/",
            "https://api.goexp.io:443");
  check_url("http://Example.COM/a/b?x=1&y=%20", 0, "example.com", 80,
            "example.com", "/a/b?x=1&y=%20", "http://example.com:80");
  check_url("HTTPS://h:8443/p#frag", 1, "h", 8443, "h:8443", "/p",
            "https://h:8443");
  check_url("http://127.0.0.1:3000?q=1", 0, "127.0.0.1", 3000, "127.0.0.1:3000",
            "/?q=1", "http://127.0.0.1:3000");
  check_url("http://[::1]:8080/x", 0, "::1", 8080, "[::1]:8080", "/x",
            "http://[::1]:8080");
  check_url("https://[2001:DB8::1]/", 1, "2001:db8::1", 443, "[2001:db8::1]",
            "/", "https://[2001:db8::1]:443");
  check_url("http://h:80", 0, "h", 80, "h", "/", "http://h:80");
  check_url("http://h:65535/", 0, "h", 65535, "h:65535", "/", "http://h:65535");
}

static void check_bad(const char *s, const char *word) {
  exp_url u;
  char msg[128] = "";
  CHECK_INT(exp_url_parse(s, &u, msg, sizeof(msg)), EXP_EOPTIONS);
  if (strstr(msg, word) == NULL) {
    CHECK(strstr(msg, word) != NULL);
    fprintf(stderr, "  %s: \"%s\" lacks \"%s\"\n", s ? s : "NULL", msg, word);
  }
}

static void test_parse_bad(void) {
  check_bad(NULL, "no URL");
  check_bad("", "http");
  check_bad("ftp://h/", "http");
  check_bad("ws://h/", "http");
  check_bad("/relative", "http");
  check_bad("http//h", "http");
  check_bad("http://", "no host");
  check_bad("http:///path", "no host");
  check_bad("http://:80/", "no host");
  check_bad("http://h:/", "port");
  check_bad("http://h:0/", "port");
  check_bad("http://h:65536/", "port");
  check_bad("http://h:99999999999999999999/", "port");
  check_bad("http://h:8a/", "port");
  check_bad("http://user:pw@h/", "credentials");
  check_bad("http://h o/", "space");
  check_bad("http://h/\r\nX: y", "control");
  check_bad("http://[::1/", "IPv6");
  check_bad("http://[zz::1]/", "IPv6");
  check_bad("http://[::1]x/", "port");
  check_bad("http://h%41/", "host");
  check_bad("http://h_!/", "host");
}

static void check_enc(const char *in, const char *comp, const char *path) {
  char *a = exp_url_encode_component(in), *b = exp_url_encode_path(in);
  CHECK_STR(a, comp);
  CHECK_STR(b, path);
  free(a);
  free(b);
}

static void test_encode(void) {
  check_enc("", "", "");
  check_enc("AZaz09-._~", "AZaz09-._~", "AZaz09-._~");
  check_enc("a b/c", "a%20b%2Fc", "a%20b/c");
  check_enc(":/?#[]@!$&'()*+,;=%",
            "%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A"
            "%2B%2C%3B%3D%25",
            "%3A/%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25");
  check_enc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
            "caf%C3%A9%20%E2%82%AC%20%F0%9F%98%80",
            "caf%C3%A9%20%E2%82%AC%20%F0%9F%98%80");
  check_enc("\x01\x7f\xff", "%01%7F%FF", "%01%7F%FF");
}

static void check_query(const char *path, const char *json, const char *want) {
  cJSON *q = json ? cJSON_Parse(json) : NULL;
  char *out = NULL, msg[128];
  int r = exp_url_with_query(path, q, &out, msg, sizeof(msg));
  CHECK_INT(r, 0);
  CHECK_STR(out, want);
  free(out);
  cJSON_Delete(q);
}

static void test_query(void) {
  check_query("/api/x", NULL, "/api/x");
  check_query("/api/x", "{}", "/api/x");
  check_query("/api/x", "{\"a\":\"b c\",\"n\":42,\"t\":true,\"f\":false}",
              "/api/x?a=b%20c&n=42&t=true&f=false");
  check_query("/x?k=1", "{\"a&b\":\"=?/\"}", "/x?k=1&a%26b=%3D%3F%2F");
  check_query("/",
              "{\"neg\":-7,\"big\":9007199254740991,\"f\":1.5,"
              "\"tenth\":0.1,\"e\":1e300,\"z\":0}",
              "/?neg=-7&big=9007199254740991&f=1.5&tenth=0.1&e=1e%2B300&z=0");
  check_query("/", "{\"third\":0.3333333333333333}",
              "/?third=0.3333333333333333");
  check_query("/", "{\"u\":\"\xc3\xa9\"}", "/?u=%C3%A9");
  check_query("/", "{\"empty\":\"\"}", "/?empty=");
  {
    /* Precision: the value reads back to the same double. */
    cJSON *q = cJSON_CreateObject();
    char *out = NULL, msg[64];
    cJSON_AddNumberToObject(q, "x", 0.1 + 0.2);
    CHECK_INT(exp_url_with_query("/", q, &out, msg, sizeof(msg)), 0);
    CHECK(out != NULL && strtod(out + 4, NULL) == 0.1 + 0.2);
    free(out);
    cJSON_Delete(q);
  }
}

static void check_query_bad(const char *json) {
  cJSON *q = cJSON_Parse(json);
  char *out = (char *)"x", msg[128] = "";
  CHECK(q != NULL);
  CHECK_INT(exp_url_with_query("/", q, &out, msg, sizeof(msg)), EXP_EOPTIONS);
  CHECK(out == NULL);
  CHECK(strstr(msg, "query") != NULL);
  cJSON_Delete(q);
}

static void test_query_bad(void) {
  check_query_bad("{\"a\":{\"b\":1}}");
  check_query_bad("{\"a\":[1]}");
  check_query_bad("{\"a\":null}");
  check_query_bad("{\"a\":1,\"b\":[]}");
  check_query_bad("[1,2]");
  check_query_bad("\"str\"");
  {
    cJSON *q = cJSON_CreateObject();
    char *out, msg[64];
    cJSON_AddNumberToObject(q, "inf", 1e308 * 10);
    CHECK_INT(exp_url_with_query("/", q, &out, msg, sizeof(msg)), EXP_EOPTIONS);
    cJSON_Delete(q);
  }
}

int main(void) {
  RUN(test_parse_good);
  RUN(test_parse_bad);
  RUN(test_encode);
  RUN(test_query);
  RUN(test_query_bad);
  return t_done();
}
