/*
 * bench_receive.c: the C SDK's cost per received broadcast, driven by
 * run.js.  An application on its own loop: it starts as a device, listens
 * with a callback, and counts.
 *
 *   bench_receive HOST UUID SECRET CHANNEL EVENT WARMUP TOTAL EXTRA TIMEOUT_MS
 *
 * EXTRA more listeners listen on the same channel for other event names
 * (they must receive nothing).  Prints {"ready": "<wire id>"} once every
 * listener listens, then one result line when TOTAL broadcasts of EVENT
 * arrived or TIMEOUT_MS passed: CPU time (user + system) from the WARMUP-th
 * broadcast to the last, and the resident set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <exp.h>

#include "bench_util.h"

typedef struct bench {
  exp_sdk *sdk;
  exp_channel *ch;
  const char *event;
  long warmup;
  long total;
  long extra;
  long listening;
  long received;
  long stray;
  long checksum;
  int failed;
  bench_cpu cpu_start;
  bench_cpu cpu_end;
  long rss_kb;
  int done;
  const char *channel;
  exp_listener **listeners;
  uv_timer_t timeout;
} bench;

/* Once: after exp_stop, pending listens still complete (cancelled). */
static void finish(bench *b) {
  if (b->done)
    return;
  b->done = 1;
  uv_timer_stop(&b->timeout);
  uv_close((uv_handle_t *)&b->timeout, NULL);
  for (long i = 0; i < b->listening; i++)
    exp_listener_cancel(b->listeners[i]);
  exp_channel_free(b->ch);
  b->ch = NULL;
  exp_stop(b->sdk);
}

static void on_message(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                       void *ud) {
  bench *b = ud;
  const cJSON *n =
      cJSON_GetObjectItemCaseSensitive(exp_message_payload(msg), "n");
  (void)sdk;
  (void)l;
  /* Reading the payload keeps the work an application does in the
   * measurement, as the bare loop and the JS listener do. */
  if (cJSON_IsNumber(n))
    b->checksum += n->valueint;
  exp_message_free(msg);
  if (++b->received == b->warmup)
    b->cpu_start = bench_cpu_now();
  if (b->received == b->total) {
    b->cpu_end = bench_cpu_now();
    b->rss_kb = bench_status_kb("VmRSS:");
    finish(b);
  }
}

static void on_stray(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                     void *ud) {
  bench *b = ud;
  (void)sdk;
  (void)l;
  b->stray++;
  exp_message_free(msg);
}

static void on_listening(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  bench *b = ud;
  (void)sdk;
  if (b->done) {
    exp_listener_cancel(l);
    return;
  }
  if (status != 0) {
    fprintf(stderr, "listen: %s\n", exp_strerror(status));
    b->failed = 1;
    finish(b);
    return;
  }
  b->listeners[b->listening++] = l;
  if (b->listening == b->extra + 1) {
    printf("{\"ready\":\"%s\"}\n", exp_channel_id(b->ch));
    fflush(stdout);
  }
}

static void on_started(exp_sdk *sdk, int status, void *ud) {
  bench *b = ud;
  char name[32];
  int rc = 0;

  if (status != 0) {
    fprintf(stderr, "start: %s\n", exp_last_error(sdk)->message);
    b->failed = 1;
    finish(b);
    return;
  }
  b->ch = exp_get_channel(sdk, b->channel, 0);
  if (b->ch == NULL) {
    fprintf(stderr, "channel: %s\n", exp_last_error(sdk)->message);
    b->failed = 1;
    finish(b);
    return;
  }
  for (long i = 0; i < b->extra && rc == 0; i++) {
    snprintf(name, sizeof(name), "other-%ld", i);
    rc = exp_listen(b->ch, name, NULL, on_stray, b, on_listening, b);
  }
  if (rc == 0)
    rc = exp_listen(b->ch, b->event, NULL, on_message, b, on_listening, b);
  if (rc != 0) {
    fprintf(stderr, "listen: %s\n", exp_last_error(sdk)->message);
    b->failed = 1;
    finish(b);
  }
}

static void on_timeout(uv_timer_t *t) {
  bench *b = t->data;
  fprintf(stderr, "timed out after %ld broadcasts\n", b->received);
  b->failed = 1;
  finish(b);
}

int main(int argc, char **argv) {
  bench b = {0};
  uv_loop_t loop;
  int rc;

  if (argc != 10) {
    fprintf(stderr, "usage: bench_receive HOST UUID SECRET CHANNEL EVENT "
                    "WARMUP TOTAL EXTRA TIMEOUT_MS\n");
    return 2;
  }
  b.channel = argv[4];
  b.event = argv[5];
  b.warmup = atol(argv[6]);
  b.total = atol(argv[7]);
  b.extra = atol(argv[8]);
  if (b.warmup < 1 || b.total <= b.warmup || b.extra < 0)
    return 2;
  b.listeners = calloc((size_t)b.extra + 1, sizeof(*b.listeners));
  if (b.listeners == NULL || uv_loop_init(&loop) != 0)
    return 1;
  b.sdk = exp_new(&loop);
  if (b.sdk == NULL)
    return 1;
  exp_set_log(b.sdk, EXP_LOG_ERROR, NULL, NULL);
  exp_set_str(b.sdk, EXP_OPT_HOST, argv[1]);
  exp_set_str(b.sdk, EXP_OPT_UUID, argv[2]);
  exp_set_str(b.sdk, EXP_OPT_SECRET, argv[3]);
  uv_timer_init(&loop, &b.timeout);
  b.timeout.data = &b;
  uv_timer_start(&b.timeout, on_timeout, strtoull(argv[9], NULL, 10), 0);
  if ((rc = exp_start(b.sdk, on_started, &b)) != 0) {
    fprintf(stderr, "start: %s\n", exp_strerror(rc));
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&loop);
  bench_print_result("c", b.received, b.stray, b.checksum, b.total - b.warmup,
                     b.cpu_start, b.cpu_end, b.rss_kb);
  free(b.listeners);
  return b.failed || rc != 0 || b.received != b.total || b.stray != 0;
}
