/* The Engine.IO / Socket.IO session: packets of both versions, heartbeats
 * on an injected clock, builders, and bad input. */
#include <stdint.h>
#include <stdlib.h>

#include "eio.h"
#include "exp.h"
#include "testlib.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char OPEN4[] =
    "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":25000,"
    "\"pingTimeout\":20000,\"maxPayload\":1000000}";
static const char OPEN3[] =
    "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":25000,"
    "\"pingTimeout\":5000}";

/* Feeds a heap copy of exactly the frame's bytes (no NUL after them), so
 * that reading past the end or keeping a pointer into it shows under ASan. */
/* The frame is copied to a block of its exact size, so that reading past
 * it shows under ASan; the copy lives until the next feed, as out->arg
 * points into it. */
static char *fed;

static int feed_n(exp_eio *s, const char *frame, size_t n, uint64_t now,
                  exp_eio_out *out) {
  free(fed);
  fed = malloc(n > 0 ? n : 1);
  if (fed == NULL)
    return EXP_ENOMEM;
  memcpy(fed, frame, n);
  return exp_eio_feed(s, fed, n, now, out);
}

static int feed(exp_eio *s, const char *frame, uint64_t now, exp_eio_out *out) {
  return feed_n(s, frame, strlen(frame), now, out);
}

static void check_send(const exp_eio_out *out, const char *want) {
  if (want == NULL) {
    CHECK(out->send == NULL);
    return;
  }
  CHECK(out->send != NULL);
  if (out->send != NULL) {
    CHECK_INT(out->send_len, strlen(want));
    CHECK(memcmp(out->send, want, out->send_len) == 0);
  }
}

/* A session of the given version, opened and connected at time 0. */
static void connected(exp_eio *s, int version) {
  exp_eio_out out;
  exp_eio_init(s, version, 0, 20000);
  CHECK_INT(feed(s, version == 4 ? OPEN4 : OPEN3, 0, &out), 0);
  CHECK_INT(feed(s, version == 4 ? "40{\"sid\":\"x\"}" : "40", 0, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_CONNECTED);
}

static void test_v4_handshake(void) {
  exp_eio s;
  exp_eio_out out;
  exp_eio_init(&s, 4, 1000, 20000);
  CHECK_INT(exp_eio_deadline(&s), 21000);
  CHECK(!exp_eio_connected(&s));
  CHECK_INT(feed(&s, OPEN4, 1000, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  check_send(&out, "40");
  CHECK_INT(exp_eio_max_payload(&s), 1000000);
  /* The connect bound is earlier than the first ping's. */
  CHECK_INT(exp_eio_deadline(&s), 21000);
  CHECK_INT(feed(&s, "40{\"sid\":\"xyz\"}", 1500, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_CONNECTED);
  check_send(&out, NULL);
  CHECK(exp_eio_connected(&s));
  CHECK_INT(exp_eio_deadline(&s), 1000 + 45000);
  CHECK_STR(exp_eio_message(&s), "");
  /* The server pings; we answer and the deadline moves. */
  CHECK_INT(feed(&s, "2", 30000, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  check_send(&out, "3");
  CHECK_INT(exp_eio_deadline(&s), 75000);
  CHECK_INT(exp_eio_tick(&s, 74999, &out), 0);
  check_send(&out, NULL);
  CHECK(exp_eio_connected(&s));
  /* A second CONNECT changes nothing. */
  CHECK_INT(feed(&s, "40{\"sid\":\"xyz\"}", 74000, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  CHECK_INT(exp_eio_tick(&s, 75000, &out), EXP_ETIMEOUT);
  CHECK_STR(exp_eio_message(&s), "no ping from the server for 45000 ms");
  CHECK(!exp_eio_connected(&s));
  CHECK_INT(exp_eio_deadline(&s), 0);
  CHECK_INT(feed(&s, "2", 75001, &out), EXP_ERUNTIME);
  exp_eio_cleanup(&s);
}

static void test_v4_ping_before_connect(void) {
  exp_eio s;
  exp_eio_out out;
  exp_eio_init(&s, 4, 0, 0);
  CHECK_INT(exp_eio_deadline(&s), 0);
  CHECK_INT(feed(&s, OPEN4, 0, &out), 0);
  CHECK_INT(exp_eio_deadline(&s), 45000);
  CHECK_INT(feed(&s, "2", 40000, &out), 0);
  check_send(&out, "3");
  CHECK_INT(exp_eio_deadline(&s), 85000);
  /* Engine.IO 4 servers send pongs only to probes: ignored. */
  CHECK_INT(feed(&s, "3probe", 40000, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  check_send(&out, NULL);
  CHECK_INT(feed(&s, "6", 40000, &out), 0);
  CHECK_INT(feed(&s, "5", 40000, &out), 0);
  CHECK_INT(exp_eio_tick(&s, 84999, &out), 0);
  CHECK_INT(exp_eio_tick(&s, 85000, &out), EXP_ETIMEOUT);
  exp_eio_cleanup(&s);
}

static void test_v3_heartbeat(void) {
  exp_eio s;
  exp_eio_out out;
  exp_eio_init(&s, 3, 100, 20000);
  CHECK_INT(feed(&s, OPEN3, 100, &out), 0);
  check_send(&out, NULL); /* EIO 3: the server connects the namespace */
  CHECK_INT(exp_eio_deadline(&s), 20100);
  CHECK_INT(feed(&s, "40", 200, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_CONNECTED);
  CHECK_INT(exp_eio_deadline(&s), 25100);
  CHECK_INT(exp_eio_tick(&s, 25099, &out), 0);
  check_send(&out, NULL);
  CHECK_INT(exp_eio_tick(&s, 25100, &out), 0);
  check_send(&out, "2");
  CHECK_INT(exp_eio_deadline(&s), 30100);
  /* A late tick sends no second ping while one is out. */
  CHECK_INT(exp_eio_tick(&s, 26000, &out), 0);
  check_send(&out, NULL);
  CHECK_INT(feed(&s, "3", 27000, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  check_send(&out, NULL);
  CHECK_INT(exp_eio_deadline(&s), 52000);
  /* A pong nobody asked for changes nothing. */
  CHECK_INT(feed(&s, "3", 28000, &out), 0);
  CHECK_INT(exp_eio_deadline(&s), 52000);
  CHECK_INT(exp_eio_tick(&s, 52000, &out), 0);
  check_send(&out, "2");
  CHECK_INT(exp_eio_tick(&s, 56999, &out), 0);
  check_send(&out, NULL);
  CHECK(exp_eio_connected(&s));
  CHECK_INT(exp_eio_tick(&s, 57000, &out), EXP_ETIMEOUT);
  CHECK_STR(exp_eio_message(&s), "no pong from the server within 5000 ms");
  CHECK_INT(exp_eio_deadline(&s), 0);
  /* Ticks after the end do nothing. */
  CHECK_INT(exp_eio_tick(&s, 60000, &out), 0);
  check_send(&out, NULL);
  exp_eio_cleanup(&s);
}

static void test_v3_server_ping(void) {
  exp_eio s;
  exp_eio_out out;
  connected(&s, 3);
  CHECK_INT(feed(&s, "2", 10, &out), EXP_EPROTOCOL);
  check_send(&out, NULL);
  exp_eio_cleanup(&s);
}

/* A Socket.IO 2 server answers EIO=4 with Engine.IO 3 and a bare 40. */
static void test_v4_finds_v3(void) {
  exp_eio s;
  exp_eio_out out;
  exp_eio_init(&s, 4, 0, 20000);
  CHECK_INT(feed(&s, OPEN3, 0, &out), 0);
  check_send(&out, "40");
  CHECK(!exp_eio_server_is_v3(&s));
  CHECK_INT(feed(&s, "40", 0, &out), EXP_EPROTOCOL);
  CHECK(exp_eio_server_is_v3(&s));
  CHECK(!exp_eio_connected(&s));
  exp_eio_cleanup(&s);
  connected(&s, 3);
  CHECK(!exp_eio_server_is_v3(&s));
  exp_eio_cleanup(&s);
}

static void test_connect_timeout(void) {
  exp_eio s;
  exp_eio_out out;
  exp_eio_init(&s, 4, 0, 5000);
  CHECK_INT(exp_eio_tick(&s, 4999, &out), 0);
  CHECK_INT(exp_eio_tick(&s, 5000, &out), EXP_ETIMEOUT);
  CHECK_STR(exp_eio_message(&s), "Socket.IO did not connect in time");
  exp_eio_cleanup(&s);
  exp_eio_init(&s, 3, 0, 5000);
  CHECK_INT(feed(&s, OPEN3, 0, &out), 0);
  CHECK_INT(exp_eio_tick(&s, 5000, &out), EXP_ETIMEOUT);
  exp_eio_cleanup(&s);
}

/* Whether out's argument is exactly the text want (NULL: none). */
static int arg_is(const exp_eio_out *out, const char *want) {
  if (want == NULL)
    return out->arg == NULL && out->arg_len == 0;
  return out->arg != NULL && out->arg_len == strlen(want) &&
         memcmp(out->arg, want, out->arg_len) == 0;
}

static void test_events(void) {
  exp_eio s;
  exp_eio_out out;
  connected(&s, 4);
  CHECK_INT(feed(&s,
                 "42[\"broadcast\",{\"id\":\"1\",\"name\":\"hi\","
                 "\"channel\":\"c\",\"payload\":{\"a\":[1,2]}}]",
                 1, &out),
            0);
  CHECK_INT(out.kind, EXP_EIO_EVENT);
  CHECK_STR(out.name, "broadcast");
  CHECK(arg_is(&out, "{\"id\":\"1\",\"name\":\"hi\",\"channel\":\"c\","
                     "\"payload\":{\"a\":[1,2]}}"));

  CHECK_INT(feed(&s, "42[\"subscribed\",[\"a\",\"b\"]]", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_EVENT);
  CHECK_STR(out.name, "subscribed");
  CHECK(arg_is(&out, "[\"a\",\"b\"]"));

  /* No argument; more than one (the first counts); an ack id; the default
   * namespace written out; whitespace around the JSON. */
  CHECK_INT(feed(&s, "42[\"x\"]", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_EVENT);
  CHECK_STR(out.name, "x");
  CHECK(arg_is(&out, NULL));
  CHECK_INT(feed(&s, "42[\"y\",1,2]", 1, &out), 0);
  CHECK_STR(out.name, "y");
  CHECK(arg_is(&out, "1"));
  CHECK_INT(feed(&s, "4212[\"z\",\"v\"]", 1, &out), 0);
  CHECK_STR(out.name, "z");
  CHECK(arg_is(&out, "\"v\""));
  CHECK_INT(feed(&s, "42/,[\"d\"]", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_EVENT);
  CHECK_STR(out.name, "d");
  CHECK_INT(feed(&s, "42 [\"w\",null] \n", 1, &out), 0);
  CHECK_STR(out.name, "w");
  CHECK(arg_is(&out, "null"));
  CHECK_INT(feed(&s, "42[\"tëst 🎉\",\"é\"]", 1, &out), 0);
  CHECK_STR(out.name, "tëst 🎉");
  CHECK_INT(feed(&s, "42[\"\\u0062c\\n\"]", 1, &out), 0);
  CHECK_STR(out.name, "bc\n");

  /* Other namespaces are not ours: dropped, even when malformed. */
  CHECK_INT(feed(&s, "42/admin,[\"x\"]", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  CHECK_INT(feed(&s, "42/admin,12[\"x\"]", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  CHECK_INT(feed(&s, "41/admin,", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  CHECK_INT(feed(&s, "40/admin", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  CHECK_INT(feed(&s, "42/admin,garbage", 1, &out), 0);
  CHECK(exp_eio_connected(&s));

  /* ACKs are checked and dropped. */
  CHECK_INT(feed(&s, "43[\"x\"]", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  CHECK_INT(feed(&s, "4317[]", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  exp_eio_cleanup(&s);
}

/* The argument is found by structure only: an odd payload inside a sound
 * frame is the receiver's to judge, a frame that does not hold together
 * ends the session. */
static void test_raw_arg(void) {
  exp_eio s;
  exp_eio_out out;
  char *deep = malloc(20000), name[80];
  connected(&s, 4);
  CHECK_INT(feed(&s, "42[\"e\",{\"payload\":{\"a\":tru}},3]", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_EVENT);
  CHECK(arg_is(&out, "{\"payload\":{\"a\":tru}}"));
  strcpy(deep, "42[\"e\",");
  memset(deep + 7, '[', 5000);
  memset(deep + 5007, ']', 5000);
  strcpy(deep + 10007, "]");
  CHECK_INT(feed(&s, deep, 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_EVENT);
  CHECK_INT(out.arg_len, 10000);
  /* A name too long for anyone to listen to: nobody's event. */
  memset(name, 'n', sizeof(name));
  snprintf(deep, 20000, "42[\"%.*s\",1]", (int)sizeof(name), name);
  CHECK_INT(feed(&s, deep, 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_NOTHING);
  CHECK(exp_eio_connected(&s));
  CHECK_INT(feed(&s, "42[\"e\",{\"a\":[}]", 1, &out), EXP_EPROTOCOL);
  exp_eio_cleanup(&s);
  connected(&s, 4);
  CHECK_INT(feed(&s, "42[\"\\u0000\"]", 1, &out), EXP_EPROTOCOL);
  exp_eio_cleanup(&s);
  connected(&s, 4);
  CHECK_INT(feed(&s, "42{\"e\":1}", 1, &out), EXP_EPROTOCOL);
  exp_eio_cleanup(&s);
  free(deep);
}

static void test_connect_error(void) {
  exp_eio s;
  exp_eio_out out;
  exp_eio_init(&s, 4, 0, 20000);
  CHECK_INT(feed(&s, OPEN4, 0, &out), 0);
  CHECK_INT(feed(&s, "44{\"message\":\"Not authorized\",\"data\":{\"x\":1}}", 1,
                 &out),
            0);
  CHECK_INT(out.kind, EXP_EIO_CONNECT_ERROR);
  CHECK_STR(out.message, "Not authorized");
  CHECK_STR(exp_eio_message(&s), "Not authorized");
  CHECK_INT(exp_eio_deadline(&s), 0);
  CHECK_INT(feed(&s, "40{\"sid\":\"x\"}", 1, &out), EXP_ERUNTIME);
  exp_eio_cleanup(&s);

  /* Socket.IO 2: a string, or the middleware's data, or nothing. */
  exp_eio_init(&s, 3, 0, 20000);
  CHECK_INT(feed(&s, OPEN3, 0, &out), 0);
  CHECK_INT(feed(&s, "44\"Authentication error\"", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_CONNECT_ERROR);
  CHECK_STR(out.message, "Authentication error");
  exp_eio_cleanup(&s);
  connected(&s, 3);
  CHECK_INT(feed(&s, "44{\"code\":1}", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_CONNECT_ERROR);
  CHECK_STR(out.message, "the server refused the connection");
  exp_eio_cleanup(&s);
  /* An empty message would read as "still running" (eio.h). */
  connected(&s, 4);
  CHECK_INT(feed(&s, "44{\"message\":\"\"}", 1, &out), 0);
  CHECK_STR(out.message, "the server refused the connection");
  CHECK_STR(exp_eio_message(&s), "the server refused the connection");
  exp_eio_cleanup(&s);
  connected(&s, 3);
  CHECK_INT(feed(&s, "44", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_CONNECT_ERROR);
  CHECK_INT(feed(&s, "44", 1, &out), EXP_ERUNTIME);
  exp_eio_cleanup(&s);
}

static void test_close(void) {
  exp_eio s;
  exp_eio_out out;
  connected(&s, 4);
  CHECK_INT(feed(&s, "1", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_CLOSED);
  CHECK_STR(out.message, "the server closed the Engine.IO session");
  CHECK(!exp_eio_connected(&s));
  CHECK_INT(exp_eio_deadline(&s), 0);
  exp_eio_cleanup(&s);
  connected(&s, 3);
  CHECK_INT(feed(&s, "41", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_CLOSED);
  CHECK_STR(out.message, "the server disconnected the socket");
  CHECK_INT(feed(&s, "42[\"x\"]", 1, &out), EXP_ERUNTIME);
  exp_eio_cleanup(&s);
  /* A close before the namespace connected. */
  exp_eio_init(&s, 4, 0, 1000);
  CHECK_INT(feed(&s, OPEN4, 0, &out), 0);
  CHECK_INT(feed(&s, "1", 1, &out), 0);
  CHECK_INT(out.kind, EXP_EIO_CLOSED);
  exp_eio_cleanup(&s);
}

/* Frames that end a fresh session (opened when open is set, connected when
 * connect is set) with EXP_EPROTOCOL. */
static void check_bad(int version, int open, int connect, const char *frame) {
  exp_eio s;
  exp_eio_out out;
  int r;
  if (connect) {
    connected(&s, version);
  } else {
    exp_eio_init(&s, version, 0, 20000);
    if (open)
      CHECK_INT(feed(&s, version == 4 ? OPEN4 : OPEN3, 0, &out), 0);
  }
  r = feed(&s, frame, 1, &out);
  if (r != EXP_EPROTOCOL)
    fprintf(stderr, "frame %s gave %d\n", frame, r);
  CHECK_INT(r, EXP_EPROTOCOL);
  CHECK(exp_eio_message(&s)[0] != '\0');
  CHECK_INT(exp_eio_deadline(&s), 0);
  CHECK_INT(feed(&s, "6", 1, &out), EXP_ERUNTIME);
  exp_eio_cleanup(&s);
}

static void test_bad_open(void) {
  static const char *const bad[] = {
      "0",
      "0[]",
      "0\"sid\"",
      "0{\"sid\":\"a\",\"pingInterval\":25000}",
      "0{\"pingInterval\":25000,\"pingTimeout\":5000}",
      "0{\"sid\":\"\",\"pingInterval\":25000,\"pingTimeout\":5000}",
      "0{\"sid\":7,\"pingInterval\":25000,\"pingTimeout\":5000}",
      "0{\"sid\":\"a\",\"pingInterval\":0,\"pingTimeout\":5000}",
      "0{\"sid\":\"a\",\"pingInterval\":-1,\"pingTimeout\":5000}",
      "0{\"sid\":\"a\",\"pingInterval\":\"25000\",\"pingTimeout\":5000}",
      "0{\"sid\":\"a\",\"pingInterval\":25000,\"pingTimeout\":3e9}",
      "0{\"sid\":\"a\",\"pingInterval\":25000,\"pingTimeout\":5000,"
      "\"upgrades\":\"websocket\"}",
      "0{\"sid\":\"a\",\"pingInterval\":25000,\"pingTimeout\":5000,"
      "\"maxPayload\":-5}",
      "0{\"sid\":\"a\",\"pingInterval\":25000,\"pingTimeout\":5000}x",
      "0{\"sid\":\"a\",\"pingInterval\":25000,\"pingTimeout\":5000",
      "0{\"sid\":\"a\",\"pingInterval\":25000,\"pingTimeout\":5000}{}",
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    check_bad(4, 0, 0, bad[i]);
    check_bad(3, 0, 0, bad[i]);
  }
  check_bad(4, 1, 0, OPEN4); /* a second open */
  check_bad(4, 1, 1, OPEN4);
}

static void test_bad_packets(void) {
  static const char *const bad_connected[] = {
      "7",          "9",
      "b4AAA",      "4",
      "47",         "4a",
      "45-",        "451-[\"x\",{\"_placeholder\":true,\"num\":0}]",
      "46-0[]",     "42",
      "42[]",       "42{}",
      "42[1]",      "42[\"x\"",
      "42[\"x\"]]", "42x",
      "43{}",       "43",
      "42[null]",   "42\"name\"",
      "4212",
  };
  static const char *const bad_connecting[] = {
      "42[\"x\"]",
      "40[]",
      "40\"sid\"",
      "40{",
  };
  for (size_t i = 0; i < COUNT(bad_connected); i++) {
    check_bad(4, 1, 1, bad_connected[i]);
    check_bad(3, 1, 1, bad_connected[i]);
  }
  for (size_t i = 0; i < COUNT(bad_connecting); i++) {
    check_bad(4, 1, 0, bad_connecting[i]);
    check_bad(3, 1, 0, bad_connecting[i]);
  }
  /* Anything but open before the open packet. */
  check_bad(4, 0, 0, "40{\"sid\":\"x\"}");
  check_bad(4, 0, 0, "2");
  check_bad(3, 0, 0, "3");
  check_bad(4, 0, 0, "6");
  check_bad(4, 0, 0, "");
  check_bad(4, 1, 1, "");
}

/* Every prefix of good frames, on a fresh connected session: no crash, no
 * leak, and either a result or EXP_EPROTOCOL. */
static void test_truncated(void) {
  static const char *const frames[] = {
      OPEN4,
      "40{\"sid\":\"xyz\"}",
      "42[\"broadcast\",{\"id\":\"1\",\"payload\":{\"a\":[1,2.5e3,true]}}]",
      "4212[\"z\",\"v\"]",
      "42/admin,7[\"x\"]",
      "44{\"message\":\"Not authorized\"}",
      "43[\"x\"]",
  };
  for (size_t f = 0; f < COUNT(frames); f++) {
    size_t n = strlen(frames[f]);
    for (size_t k = 0; k <= n; k++) {
      for (int v = 3; v <= 4; v++) {
        exp_eio s;
        exp_eio_out out;
        int r;
        connected(&s, v);
        r = feed_n(&s, frames[f], k, 1, &out);
        CHECK(r == 0 || r == EXP_EPROTOCOL);
        exp_eio_cleanup(&s);
      }
    }
  }
}

/* Random bytes and random mixes of packet characters. */
static void test_garbage(void) {
  static const char alphabet[] = "0123456789/,[]{}\"\\:x -.e";
  uint32_t seed = 12345;
  exp_eio s;
  connected(&s, 4);
  for (int i = 0; i < 4000; i++) {
    char buf[40];
    size_t n;
    exp_eio_out out;
    int r;
    seed = seed * 1103515245u + 12345u;
    n = (seed >> 16) % sizeof(buf);
    for (size_t k = 0; k < n; k++) {
      seed = seed * 1103515245u + 12345u;
      buf[k] = i % 2 ? (char)(seed >> 16)
                     : alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
    }
    if (n > 0 && i % 4 < 2)
      buf[0] = '4';
    r = feed_n(&s, buf, n, 1, &out);
    CHECK(r == 0 || r == EXP_EPROTOCOL);
    if (r != 0 || !exp_eio_connected(&s)) {
      exp_eio_cleanup(&s);
      connected(&s, i % 3 ? 4 : 3);
    }
  }
  exp_eio_cleanup(&s);
}

static void test_path(void) {
  char *p = exp_eio_path(4, "eyJh.b-c_d~e");
  CHECK_STR(p, "/socket.io/?EIO=4&transport=websocket&token=eyJh.b-c_d~e");
  free(p);
  p = exp_eio_path(3, "a b+c/d=é&");
  CHECK_STR(p, "/socket.io/?EIO=3&transport=websocket&token="
               "a%20b%2Bc%2Fd%3D%C3%A9%26");
  free(p);
  p = exp_eio_path(3, NULL);
  CHECK_STR(p, "/socket.io/?EIO=3&transport=websocket");
  free(p);
  p = exp_eio_path(4, "");
  CHECK_STR(p, "/socket.io/?EIO=4&transport=websocket&token=");
  free(p);
}

static void check_frame(int r, char *frame, size_t len, const char *want) {
  CHECK_INT(r, 0);
  CHECK_STR(frame, want);
  CHECK_INT(len, frame ? strlen(frame) : 0);
  free(frame);
}

static void test_event_frame(void) {
  char *f = NULL;
  size_t n = 0;
  cJSON *arg = cJSON_Parse("{\"a\":[1,\"x\"],\"b\":null}");
  int r = exp_eio_event_frame("ev", arg, &f, &n);
  check_frame(r, f, n, "42[\"ev\",{\"a\":[1,\"x\"],\"b\":null}]");
  /* arg is only borrowed. */
  CHECK(cJSON_GetObjectItem(arg, "a") != NULL);
  cJSON_Delete(arg);
  r = exp_eio_event_frame("q\"\n", NULL, &f, &n);
  check_frame(r, f, n, "42[\"q\\\"\\n\"]");
  arg = cJSON_CreateString("s");
  r = exp_eio_event_frame("e", arg, &f, &n);
  check_frame(r, f, n, "42[\"e\",\"s\"]");
  cJSON_Delete(arg);
  CHECK_INT(exp_eio_event_frame(NULL, NULL, &f, &n), EXP_EOPTIONS);
  CHECK(f == NULL);
}

static void test_subscribe_frame(void) {
  const char *ids[] = {"WyJzY2FsYSIsInRlc3QiLDAsMF0=", "a+/b", ""};
  const char *bad[] = {"ok", "q\"uote"};
  const char *bs[] = {"back\\slash"};
  const char *ctl[] = {"nl\n"};
  const char *nul[] = {NULL};
  char *f = NULL;
  size_t n = 0;
  int r = exp_eio_subscribe_frame(ids, 3, &f, &n);
  check_frame(r, f, n,
              "42[\"subscribe\",[\"WyJzY2FsYSIsInRlc3QiLDAsMF0=\",\"a+/b\","
              "\"\"]]");
  r = exp_eio_subscribe_frame(ids, 1, &f, &n);
  check_frame(r, f, n, "42[\"subscribe\",[\"WyJzY2FsYSIsInRlc3QiLDAsMF0=\"]]");
  r = exp_eio_subscribe_frame(NULL, 0, &f, &n);
  check_frame(r, f, n, "42[\"subscribe\",[]]");
  CHECK_INT(exp_eio_subscribe_frame(bad, 2, &f, &n), EXP_EOPTIONS);
  CHECK(f == NULL);
  CHECK_INT(exp_eio_subscribe_frame(bs, 1, &f, &n), EXP_EOPTIONS);
  CHECK_INT(exp_eio_subscribe_frame(ctl, 1, &f, &n), EXP_EOPTIONS);
  CHECK_INT(exp_eio_subscribe_frame(nul, 1, &f, &n), EXP_EOPTIONS);
  CHECK_INT(exp_eio_subscribe_frame(NULL, 1, &f, &n), EXP_EOPTIONS);
}

static int refused(int status, const char *body) {
  return exp_eio_version_refused(status, body, body ? strlen(body) : 0);
}

static void test_version_refused(void) {
  /* What engine.io 6 writes on a websocket upgrade, and on polling. */
  CHECK(refused(400, "Unsupported protocol version"));
  CHECK(refused(400, "{\"code\":5,\"message\":\"Unsupported protocol "
                     "version\"}"));
  CHECK(refused(400, " \r\n{\"code\":5}\n"));
  CHECK(!refused(200, "Unsupported protocol version"));
  CHECK(!refused(403, "{\"code\":5}"));
  CHECK(!refused(400, "{\"code\":3,\"message\":\"Bad request\"}"));
  CHECK(!refused(400, "{\"code\":\"5\"}"));
  CHECK(!refused(400, "Bad request"));
  CHECK(!refused(400, "Transport unknown"));
  CHECK(!refused(400, "{\"code\":5"));
  CHECK(!refused(400, "Unsupported protocol versions"));
  CHECK(!refused(400, ""));
  CHECK(!refused(400, NULL));
}

int main(void) {
  RUN(test_v4_handshake);
  RUN(test_v4_ping_before_connect);
  RUN(test_v3_heartbeat);
  RUN(test_v3_server_ping);
  RUN(test_v4_finds_v3);
  RUN(test_connect_timeout);
  RUN(test_events);
  RUN(test_raw_arg);
  RUN(test_connect_error);
  RUN(test_close);
  RUN(test_bad_open);
  RUN(test_bad_packets);
  RUN(test_truncated);
  RUN(test_garbage);
  RUN(test_path);
  RUN(test_event_frame);
  RUN(test_subscribe_frame);
  RUN(test_version_refused);
  free(fed);
  return t_done();
}
