/*
 * bench_bare.c: the baseline for bench_receive, a bare libuv + wslay +
 * cJSON client of the reference server's socket.io endpoint with none of
 * the SDK's code, so that the ratio SDK / bare measures what the SDK adds.
 *
 *   bench_bare CONFIG_JSON
 *
 * Configuration: port, token, channel_id, event, phases, timeout_ms.  It
 * opens an Engine.IO 4 websocket on 127.0.0.1:port, answers pings,
 * connects the socket.io namespace, subscribes channel_id, and parses each
 * broadcast with cJSON.  Output as bench_receive's (bench_util.h); libuv
 * and cJSON allocate through the same counting allocator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "bench_util.h"

typedef struct bare {
  uv_loop_t loop;
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_timer_t timeout;
  wslay_event_context_ptr ws;
  char request[2048];
  char channel_id[256];
  char event[64];
  /* The handshake answer until its blank line, then unused. */
  char head[4096];
  size_t head_len;
  int upgraded;
  /* What the last read brought, for wslay's recv callback. */
  const char *in;
  size_t in_len;
  bench_run run;
  int failed;
  int done;
} bare;

typedef struct write_req {
  uv_write_t req;
  char data[];
} write_req;

static void finish(bare *b, int failed) {
  if (b->done)
    return;
  b->done = 1;
  b->failed |= failed;
  uv_close((uv_handle_t *)&b->tcp, NULL);
  uv_close((uv_handle_t *)&b->timeout, NULL);
}

static void on_written(uv_write_t *req, int status) {
  (void)status;
  count_free(req);
}

static int send_bytes(bare *b, const void *data, size_t len) {
  write_req *w = count_malloc(sizeof(*w) + len);
  uv_buf_t buf;
  if (w == NULL)
    return -1;
  memcpy(w->data, data, len);
  buf = uv_buf_init(w->data, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&b->tcp, &buf, 1, on_written) != 0) {
    count_free(w);
    return -1;
  }
  return 0;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data,
                       size_t len, int flags, void *ud) {
  (void)flags;
  if (send_bytes(ud, data, len) != 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)len;
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                       int flags, void *ud) {
  bare *b = ud;
  (void)flags;
  if (b->in_len == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (len > b->in_len)
    len = b->in_len;
  memcpy(buf, b->in, len);
  b->in += len;
  b->in_len -= len;
  return (ssize_t)len;
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                      void *ud) {
  (void)ctx;
  (void)ud;
  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t)rand();
  return 0;
}

static void send_text(bare *b, const char *text) {
  struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text,
                                strlen(text)};
  if (wslay_event_queue_msg(b->ws, &msg) != 0)
    finish(b, 1);
}

static void on_event(bare *b, const char *json, size_t len) {
  cJSON *ev = cJSON_ParseWithLength(json, len);
  const cJSON *name = cJSON_GetArrayItem(ev, 0);
  const cJSON *data = cJSON_GetArrayItem(ev, 1);

  if (cJSON_IsString(name) && strcmp(name->valuestring, "broadcast") == 0) {
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(data, "name");
    if (!cJSON_IsString(event) || strcmp(event->valuestring, b->event) != 0)
      b->run.stray++;
    else if (bench_got(&b->run,
                       cJSON_GetObjectItemCaseSensitive(data, "payload")))
      finish(b, 0);
  } else if (cJSON_IsString(name) &&
             strcmp(name->valuestring, "subscribed") == 0) {
    bench_ready(NULL);
    bench_run_start(&b->run);
    if (b->run.nphases == 0)
      finish(b, 0);
  } else if (ev == NULL) {
    finish(b, 1);
  }
  cJSON_Delete(ev);
}

/* Engine.IO 4 packets, and in its messages ('4') socket.io packets. */
static void on_ws_message(wslay_event_context_ptr ctx,
                          const struct wslay_event_on_msg_recv_arg *arg,
                          void *ud) {
  bare *b = ud;
  const char *p = (const char *)arg->msg;
  char subscribe[1024];
  (void)ctx;

  if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
    finish(b, 1);
    return;
  }
  if (arg->opcode != WSLAY_TEXT_FRAME || arg->msg_length == 0)
    return;
  if (p[0] == '0') {
    send_text(b, "40");
  } else if (p[0] == '2') {
    send_text(b, "3");
  } else if (p[0] == '4' && arg->msg_length >= 2) {
    if (p[1] == '0') {
      snprintf(subscribe, sizeof(subscribe), "42[\"subscribe\",[\"%s\"]]",
               b->channel_id);
      send_text(b, subscribe);
    } else if (p[1] == '2') {
      on_event(b, p + 2, arg->msg_length - 2);
    } else if (p[1] == '4') {
      fprintf(stderr, "connect error: %.*s\n", (int)arg->msg_length, p);
      finish(b, 1);
    }
  }
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char slab[65536];
  (void)h;
  (void)size;
  *buf = uv_buf_init(slab, sizeof(slab));
}

/* Keeps what follows the handshake's blank line in b->in. */
static int read_head(bare *b, const char *data, size_t len) {
  const char *end;
  size_t take = sizeof(b->head) - 1 - b->head_len;
  if (take > len)
    take = len;
  memcpy(b->head + b->head_len, data, take);
  b->head_len += take;
  b->head[b->head_len] = '\0';
  end = strstr(b->head, "\r\n\r\n");
  if (end == NULL)
    return b->head_len < sizeof(b->head) - 1 ? 0 : -1;
  if (strncmp(b->head, "HTTP/1.1 101", 12) != 0)
    return -1;
  b->upgraded = 1;
  /* The bytes after the head within this read. */
  b->in = data + (size_t)(end + 4 - b->head) - (b->head_len - take);
  b->in_len = len - (size_t)(b->in - data);
  return 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  bare *b = s->data;
  if (n < 0) {
    finish(b, 1);
    return;
  }
  b->in = buf->base;
  b->in_len = (size_t)n;
  if (!b->upgraded) {
    b->in_len = 0;
    if (read_head(b, buf->base, (size_t)n) != 0) {
      fprintf(stderr, "handshake: %s\n", b->head);
      finish(b, 1);
      return;
    }
  }
  if (b->upgraded &&
      (wslay_event_recv(b->ws) != 0 || wslay_event_send(b->ws) != 0))
    finish(b, 1);
}

static void on_connect(uv_connect_t *req, int status) {
  bare *b = req->data;
  if (status != 0 || send_bytes(b, b->request, strlen(b->request)) != 0 ||
      uv_read_start((uv_stream_t *)&b->tcp, on_alloc, on_read) != 0) {
    fprintf(stderr, "connect: %s\n", uv_strerror(status));
    finish(b, 1);
  }
}

static void on_timeout(uv_timer_t *t) {
  bare *b = t->data;
  fprintf(stderr, "timed out in phase %d after %ld broadcasts\n", b->run.phase,
          b->run.got);
  finish(b, 1);
}

int main(int argc, char **argv) {
  static const struct wslay_event_callbacks callbacks = {
      ws_recv, ws_send, ws_genmask, NULL, NULL, NULL, on_ws_message};
  cJSON_Hooks hooks = {count_malloc, count_free};
  struct sockaddr_in addr;
  cJSON *config;
  uint64_t timeout;
  int port, rc;
  bare *b;

  if (uv_replace_allocator(count_malloc, count_realloc, count_calloc,
                           count_free) != 0)
    return 2;
  cJSON_InitHooks(&hooks);
  if ((config = bench_config(argc, argv)) == NULL)
    return 2;
  /* Its state is on the counted heap, as the SDK's is. */
  b = count_calloc(1, sizeof(*b));
  if (b == NULL)
    return 1;
  snprintf(b->channel_id, sizeof(b->channel_id), "%s",
           bench_str(config, "channel_id"));
  snprintf(b->event, sizeof(b->event), "%s", bench_str(config, "event"));
  port = (int)bench_num(config, "port");
  timeout = (uint64_t)bench_num(config, "timeout_ms");
  snprintf(b->request, sizeof(b->request),
           "GET /socket.io/?EIO=4&transport=websocket&token=%s HTTP/1.1\r\n"
           "Host: 127.0.0.1:%d\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Key: YmFyZSBsb29wIGJlbmNoIQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n",
           bench_str(config, "token"), port);
  rc = bench_run_init(&b->run, config);
  cJSON_Delete(config);
  if (rc != 0)
    return 2;
  if (uv_loop_init(&b->loop) != 0 ||
      wslay_event_context_client_init(&b->ws, &callbacks, b) != 0)
    return 1;
  uv_tcp_init(&b->loop, &b->tcp);
  uv_tcp_nodelay(&b->tcp, 1);
  b->tcp.data = b;
  uv_timer_init(&b->loop, &b->timeout);
  b->timeout.data = b;
  uv_timer_start(&b->timeout, on_timeout, timeout, 0);
  uv_ip4_addr("127.0.0.1", port, &addr);
  b->connect.data = b;
  if (uv_tcp_connect(&b->connect, &b->tcp, (const struct sockaddr *)&addr,
                     on_connect) != 0)
    return 1;
  uv_run(&b->loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&b->loop);
  wslay_event_context_free(b->ws);
  bench_done(&b->run, b->failed || rc != 0);
  rc = b->failed || rc != 0 || b->run.stray != 0;
  bench_run_free(&b->run);
  count_free(b);
  return rc;
}
