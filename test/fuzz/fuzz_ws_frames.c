/*
 * fuzz_ws_frames.c: the websocket client once open: any bytes as the
 * server's frames (text, fragments, control frames, close, bad masks and
 * lengths, invalid UTF-8), cut into chunks anywhere and compared with the
 * same bytes fed whole.  A message starting with 's', 'c' or 'x' makes the
 * application echo it, close, or fail from the callback.
 *
 * Input: options byte (fuzz_ws.h), cuts (fuzz.h), the server's frames.
 */
#include "fuzz_ws.h"

static const char handshake[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                "Upgrade: websocket\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: " FUZZ_ACCEPT "\r\n"
                                "\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_in in = {data, size};
  fuzz_ws_opts o = fuzz_ws_take_opts(&in);
  fuzz_cuts c, whole = {0};

  fuzz_take_cuts(&in, &c);
  FUZZ_CHECK(fuzz_ws_run(&o, handshake, (const char *)in.p, in.n, &c) ==
             fuzz_ws_run(&o, handshake, (const char *)in.p, in.n, &whole));
  return 0;
}
