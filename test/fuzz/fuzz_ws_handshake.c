/*
 * fuzz_ws_handshake.c: the websocket client from its upgrade request on:
 * the server's answer (101, a refusal with a body, garbage) and whatever
 * follows it, cut into chunks anywhere and compared with the same bytes fed
 * whole.  "@ACCEPT@" in the input stands for the Sec-WebSocket-Accept value
 * the client expects, so that the fuzzer can write a valid answer.
 *
 * Input: options byte (fuzz_ws.h), cuts (fuzz.h), the server's bytes.
 */
#include "fuzz_ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in in = {data, size};
  fuzz_ws_opts o = fuzz_ws_take_opts(&in);
  fuzz_cuts c, whole = {0};

  fuzz_take_cuts(&in, &c);
  FUZZ_CHECK(fuzz_ws_run(&o, NULL, (const char *)in.p, in.n, &c) ==
             fuzz_ws_run(&o, NULL, (const char *)in.p, in.n, &whole));
  return 0;
}
