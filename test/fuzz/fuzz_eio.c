/*
 * fuzz_eio.c: an Engine.IO 3 or 4 / Socket.IO session fed any frames at
 * fuzzed times, with its timer fired at fuzzed times or at its deadline.
 * An event's argument must lie inside the frame; when it is JSON, the
 * event is written again with exp_eio_event_frame and read back by a
 * second session, which must find the same name and argument.
 *
 * Input: a version byte (odd: 3), a connect timeout byte (seconds, 0:
 * none), then one record per line: an op byte ('T': tick, 'D': tick at the
 * deadline, else feed), a byte of time passing (half seconds; 255: about
 * 35 years), the frame.
 */
#include <string.h>

#include "eio.h"
#include "fuzz.h"

#include "exp.h"

/* A second session, connected, that reads back a frame we wrote. */
static void read_back(int version, const char *frame, size_t len,
                      const char *name, const cJSON *arg) {
  static const char open4[] =
      "0{\"sid\":\"s\",\"upgrades\":[],\"pingInterval\":25000,"
      "\"pingTimeout\":20000,\"maxPayload\":1000000}";
  exp_eio s;
  exp_eio_out out;
  char *a = NULL, *b = NULL;

  exp_eio_init(&s, version, 0, 0);
  FUZZ_CHECK(exp_eio_feed(&s, open4, sizeof(open4) - 1, 0, &out) == 0);
  FUZZ_CHECK(exp_eio_feed(&s, "40{\"sid\":\"x\"}", 13, 0, &out) == 0);
  FUZZ_CHECK(out.kind == EXP_EIO_CONNECTED);
  FUZZ_CHECK(exp_eio_feed(&s, frame, len, 0, &out) == 0);
  FUZZ_CHECK(out.kind == EXP_EIO_EVENT && strcmp(out.name, name) == 0);
  FUZZ_CHECK((out.arg == NULL) == (arg == NULL));
  if (arg != NULL) {
    cJSON *back = cJSON_ParseWithLength(out.arg, out.arg_len);
    a = cJSON_PrintUnformatted(arg);
    b = cJSON_PrintUnformatted(back);
    FUZZ_CHECK(a != NULL && b != NULL && strcmp(a, b) == 0);
    cJSON_Delete(back);
  }
  free(a);
  free(b);
  exp_eio_cleanup(&s);
}

static void check_out(const exp_eio *s, const exp_eio_out *out) {
  if (out->send != NULL)
    FUZZ_CHECK(out->send_len == strlen(out->send));
  switch (out->kind) {
  case EXP_EIO_CONNECTED:
    FUZZ_CHECK(exp_eio_connected(s));
    break;
  case EXP_EIO_EVENT:
    FUZZ_CHECK(out->name != NULL);
    break;
  case EXP_EIO_CONNECT_ERROR:
  case EXP_EIO_CLOSED:
    FUZZ_CHECK(out->message != NULL && !exp_eio_connected(s));
    break;
  default:
    break;
  }
}

/* Writes the event just received again and reads it back, when its
 * argument is JSON (the session checks only its extent). */
static void round_trip(exp_eio *s, const exp_eio_out *out, const char *fed,
                       size_t fed_len) {
  cJSON *arg = NULL;
  char *frame;
  size_t len;
  if (out->arg != NULL) {
    FUZZ_CHECK(out->arg >= fed && out->arg + out->arg_len <= fed + fed_len);
    if ((arg = cJSON_ParseWithLength(out->arg, out->arg_len)) == NULL)
      return;
  }
  FUZZ_CHECK(exp_eio_event_frame(out->name, arg, &frame, &len) == 0);
  FUZZ_CHECK(len == strlen(frame));
  read_back(s->version, frame, len, out->name, arg);
  free(frame);
  cJSON_Delete(arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in in = {data, size};
  int version = fuzz_u8(&in) & 1 ? 3 : 4, over = 0, r;
  uint64_t now = 1000, timeout = fuzz_u8(&in) * 1000u;
  exp_eio s;
  exp_eio_out out;

  exp_eio_init(&s, version, now, timeout);
  while (in.n > 0) {
    const uint8_t *nl = memchr(in.p, '\n', in.n);
    size_t line = nl != NULL ? (size_t)(nl - in.p) : in.n;
    fuzz_in rec = {in.p, line};
    uint8_t op = fuzz_u8(&rec), dt = fuzz_u8(&rec);

    in.p += line + (nl != NULL);
    in.n -= line + (nl != NULL);
    now += dt == 255 ? (uint64_t)1 << 40 : dt * 500u;
    if (op == 'T' || op == 'D') {
      uint64_t d = exp_eio_deadline(&s);
      if (op == 'D' && d > now)
        now = d;
      r = exp_eio_tick(&s, now, &out);
      FUZZ_CHECK(r == 0 || r == EXP_ETIMEOUT);
      if (r == 0 && !over) {
        check_out(&s, &out);
        d = exp_eio_deadline(&s);
        /* Else the timer would fire again at once, for ever. */
        FUZZ_CHECK(d == 0 || d > now);
      }
    } else {
      r = exp_eio_feed(&s, (const char *)rec.p, rec.n, now, &out);
      if (over)
        FUZZ_CHECK(r == EXP_ERUNTIME);
      if (r == 0) {
        check_out(&s, &out);
        if (out.kind == EXP_EIO_EVENT)
          round_trip(&s, &out, (const char *)rec.p, rec.n);
        if (out.kind == EXP_EIO_CONNECT_ERROR || out.kind == EXP_EIO_CLOSED)
          over = 1;
      }
    }
    if (r != 0) {
      /* Not after EXP_ERUNTIME: a CONNECT_ERROR may have ended the session
       * with the server's own message, which can be empty. */
      if (r != EXP_ERUNTIME)
        FUZZ_CHECK(exp_eio_message(&s)[0] != '\0');
      FUZZ_CHECK(!exp_eio_connected(&s) && exp_eio_deadline(&s) == 0);
      over = 1;
    }
    if (exp_eio_server_is_v3(&s))
      FUZZ_CHECK(version == 4 && over);
  }
  exp_eio_cleanup(&s);
  return 0;
}
