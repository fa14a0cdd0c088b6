/* refserver.c: see refserver.h. */
#include "refserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  refserver *s = p->data;
  (void)status;
  (void)sig;
  s->exited = 1;
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b) {
  refserver *s = h->data;
  (void)size;
  *b = uv_buf_init(s->line + s->len, (unsigned)(sizeof(s->line) - 1 - s->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  refserver *s = st->data;
  (void)b;
  if (n < 0) {
    uv_read_stop(st);
    return;
  }
  s->len += (size_t)n;
  s->line[s->len] = '\0';
}

int refserver_start(refserver *s, const char *node, const char *main_js,
                    const char *const *extra) {
  return refserver_start_on(s, node, main_js, extra, 0);
}

int refserver_start_on(refserver *s, const char *node, const char *main_js,
                       const char *const *extra, int port) {
  char port_arg[16];
  char *args[16];
  size_t n = 0;
  uv_stdio_container_t stdio[3];
  uv_process_options_t opt;
  char *nl;

  memset(s, 0, sizeof(*s));
  args[n++] = (char *)node;
  args[n++] = (char *)main_js;
  snprintf(port_arg, sizeof(port_arg), "%d", port);
  args[n++] = "--port";
  args[n++] = port_arg;
  for (; extra != NULL && *extra != NULL && n < 15; extra++)
    args[n++] = (char *)*extra;
  args[n] = NULL;

  uv_loop_init(&s->loop);
  uv_pipe_init(&s->loop, &s->out, 0);
  s->out.data = s;
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&s->out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  memset(&opt, 0, sizeof(opt));
  opt.file = node;
  opt.args = args;
  opt.exit_cb = on_exit_cb;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  s->proc.data = s;
  if (uv_spawn(&s->loop, &s->proc, &opt) != 0) {
    uv_close((uv_handle_t *)&s->out, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    return -1;
  }
  uv_read_start((uv_stream_t *)&s->out, on_alloc, on_read);
  while (strchr(s->line, '\n') == NULL && !s->exited &&
         s->len < sizeof(s->line) - 1)
    uv_run(&s->loop, UV_RUN_ONCE);
  uv_read_stop((uv_stream_t *)&s->out);
  nl = strchr(s->line, '\n');
  if (nl == NULL || strncmp(s->line, "listening ", 10) != 0) {
    fprintf(stderr, "refserver: no \"listening\" line: %s\n", s->line);
    refserver_stop(s);
    return -1;
  }
  *nl = '\0';
  snprintf(s->origin, sizeof(s->origin), "%s", s->line + 10);
  s->port = atoi(strrchr(s->origin, ':') + 1);
  return 0;
}

void refserver_stop(refserver *s) {
  if (!s->exited)
    uv_process_kill(&s->proc, SIGTERM);
  while (!s->exited)
    uv_run(&s->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&s->proc, NULL);
  uv_close((uv_handle_t *)&s->out, NULL);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&s->loop) != 0)
    fprintf(stderr, "refserver: loop still busy\n");
}

int refserver_post(const refserver *s, const char *path) {
  struct sockaddr_in a;
  char buf[512];
  int fd, n, status = -1;
  ssize_t got;

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)s->port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  n = snprintf(buf, sizeof(buf),
               "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Content-Length: 0\r\nConnection: close\r\n\r\n",
               path, s->port);
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      write(fd, buf, (size_t)n) == n) {
    got = read(fd, buf, sizeof(buf) - 1);
    if (got > 12) {
      buf[got] = '\0';
      status = atoi(buf + 9); /* "HTTP/1.1 200" */
    }
  }
  close(fd);
  return status;
}

void refserver_credentials(exp_sdk *sdk, cred c) {
  switch (c) {
  case USER:
    exp_set_str(sdk, EXP_OPT_USERNAME, "test@goexp.io");
    exp_set_str(sdk, EXP_OPT_PASSWORD, "test-Password1");
    exp_set_str(sdk, EXP_OPT_ORGANIZATION, "scala");
    break;
  case DEVICE:
    exp_set_str(sdk, EXP_OPT_UUID, "test-uuid");
    exp_set_str(sdk, EXP_OPT_SECRET, "test-secret");
    break;
  case CONSUMER:
    exp_set_str(sdk, EXP_OPT_UUID, "test-uuid");
    exp_set_str(sdk, EXP_OPT_API_KEY, "test-api-key");
    break;
  case PAIRING:
    exp_set_int(sdk, EXP_OPT_ALLOW_PAIRING, 1);
    break;
  }
}
