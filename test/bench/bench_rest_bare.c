/*
 * bench_rest_bare.c: the baseline for bench_rest, a bare libuv + llhttp +
 * cJSON client with none of the SDK's code, so that the ratio SDK / bare
 * measures what the SDK adds per call.
 *
 *   bench_rest_bare CONFIG_JSON
 *
 * Configuration: port, token, path, user_agent, phases (as bench_rest's).
 * It connects once to 127.0.0.1:port and sends sequential GETs of path on
 * that connection, the same bytes the SDK sends (Host, Authorization,
 * Accept, Connection: keep-alive, User-Agent, in its order); the request is
 * written once and sent as is each time.  llhttp parses each answer, whose
 * body is kept in one buffer reused across calls and parsed with cJSON, as
 * the SDK hands a cJSON document to its caller.  Output as bench_rest's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <llhttp.h>
#include <uv.h>

#include "bench_util.h"

typedef struct bare {
  uv_loop_t loop;
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  llhttp_t parser;
  llhttp_settings_t settings;
  char request[2048];
  size_t request_len;
  char *body;
  size_t body_len;
  size_t body_cap;
  int status;
  bench_run run;
  uint64_t sent_ns;
  int failed;
  int over;
} bare;

static void finish(bare *b, int failed) {
  b->failed |= failed;
  if (!uv_is_closing((uv_handle_t *)&b->tcp))
    uv_close((uv_handle_t *)&b->tcp, NULL);
}

static void on_written(uv_write_t *req, int status) {
  if (status != 0)
    finish(req->data, 1);
}

static void send_request(bare *b) {
  uv_buf_t buf = uv_buf_init(b->request, (unsigned)b->request_len);
  b->sent_ns = uv_hrtime();
  b->write.data = b;
  if (uv_write(&b->write, (uv_stream_t *)&b->tcp, &buf, 1, on_written) != 0)
    finish(b, 1);
}

static int on_begin(llhttp_t *p) {
  bare *b = p->data;
  b->body_len = 0;
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  bare *b = p->data;
  if (b->body_len + len > b->body_cap) {
    size_t cap = (b->body_len + len) * 2;
    char *n = count_realloc(b->body, cap);
    if (n == NULL)
      return -1;
    b->body = n;
    b->body_cap = cap;
  }
  memcpy(b->body + b->body_len, at, len);
  b->body_len += len;
  return 0;
}

static int on_complete(llhttp_t *p) {
  bare *b = p->data;
  cJSON *doc;
  const cJSON *index;
  if (p->status_code != 200) {
    fprintf(stderr, "GET answered %d\n", p->status_code);
    return -1;
  }
  doc = cJSON_ParseWithLength(b->body, b->body_len);
  if (doc == NULL)
    return -1;
  index = cJSON_GetObjectItemCaseSensitive(doc, "index");
  b->over = bench_op(&b->run, b->run.phase, cJSON_IsNumber(index) ? 1 : 0,
                     (double)b->sent_ns);
  cJSON_Delete(doc);
  if (b->over)
    finish(b, 0);
  else
    send_request(b);
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  static char slab[65536];
  (void)h;
  (void)size;
  *buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  bare *b = s->data;
  if (n < 0) {
    fprintf(stderr, "read: %s\n", uv_strerror((int)n));
    finish(b, 1);
    return;
  }
  if (n > 0 && llhttp_execute(&b->parser, buf->base, (size_t)n) != HPE_OK &&
      !b->over) {
    fprintf(stderr, "parse: %s\n", llhttp_get_error_reason(&b->parser));
    finish(b, 1);
  }
}

static void on_connect(uv_connect_t *req, int status) {
  bare *b = req->data;
  if (status != 0 ||
      uv_read_start((uv_stream_t *)&b->tcp, on_alloc, on_read) != 0) {
    fprintf(stderr, "connect: %s\n", uv_strerror(status));
    finish(b, 1);
    return;
  }
  bench_ready(NULL);
  bench_run_start(&b->run);
  send_request(b);
}

int main(int argc, char **argv) {
  cJSON_Hooks hooks = {count_malloc, count_free};
  struct sockaddr_in addr;
  cJSON *config;
  int port, rc;
  bare *b;

  if (uv_replace_allocator(count_malloc, count_realloc, count_calloc,
                           count_free) != 0)
    return 2;
  cJSON_InitHooks(&hooks);
  if ((config = bench_config(argc, argv)) == NULL)
    return 2;
  b = count_calloc(1, sizeof(*b));
  if (b == NULL)
    return 1;
  port = (int)bench_num(config, "port");
  rc = snprintf(b->request, sizeof(b->request),
                "GET %s HTTP/1.1\r\n"
                "Host: 127.0.0.1:%d\r\n"
                "Authorization: Bearer %s\r\n"
                "Accept: application/json\r\n"
                "Connection: keep-alive\r\n"
                "User-Agent: %s\r\n\r\n",
                bench_str(config, "path"), port, bench_str(config, "token"),
                bench_str(config, "user_agent"));
  if (rc < 0 || (size_t)rc >= sizeof(b->request) ||
      bench_run_init(&b->run, config) != 0 || b->run.nphases == 0)
    return 2;
  b->request_len = (size_t)rc;
  cJSON_Delete(config);
  llhttp_settings_init(&b->settings);
  b->settings.on_message_begin = on_begin;
  b->settings.on_body = on_body;
  b->settings.on_message_complete = on_complete;
  llhttp_init(&b->parser, HTTP_RESPONSE, &b->settings);
  b->parser.data = b;
  if (uv_loop_init(&b->loop) != 0)
    return 1;
  uv_tcp_init(&b->loop, &b->tcp);
  uv_tcp_nodelay(&b->tcp, 1);
  b->tcp.data = b;
  uv_ip4_addr("127.0.0.1", port, &addr);
  b->connect.data = b;
  if (uv_tcp_connect(&b->connect, &b->tcp, (const struct sockaddr *)&addr,
                     on_connect) != 0)
    return 1;
  uv_run(&b->loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&b->loop);
  bench_done(&b->run, b->failed || rc != 0 || !b->over);
  rc = b->failed || rc != 0 || !b->over;
  bench_run_free(&b->run);
  count_free(b->body);
  count_free(b);
  return rc;
}
