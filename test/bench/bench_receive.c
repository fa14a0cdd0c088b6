/*
 * bench_receive.c: the C SDK as a receiver, driven by run.js.  An
 * application on its own loop: it starts as a device, listens on a channel
 * and goes through run.js's phases of broadcasts (bench_util.h).
 *
 *   bench_receive CONFIG_JSON
 *
 * Configuration: host, uuid, secret, channel, event, phases, timeout_ms,
 * and
 *   mode      "callback" (an on_message callback) or "queue" (on_message
 *             NULL, broadcasts taken with exp_listener_next, each one's
 *             callback asking for the next)
 *   extra     more listeners on the same channel for other event names
 *             (they must get nothing): dispatch scaling
 *   channels  more listeners, each on a channel of its own, listened to
 *             once the first is ready: the ready line then tells the heap
 *             and resident set per extra listener
 * In a phase with "hold", a queue listener takes nothing until the whole
 * phase is queued, and then reports the heap per queued broadcast and how
 * long taking them all took.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exp.h>

#include "bench_util.h"

typedef struct bench {
  exp_sdk *sdk;
  exp_channel *ch;
  exp_channel **others;
  exp_listener *main;
  exp_listener **listeners;
  long nlisteners;
  char host[128], uuid[128], secret[128], channel[128], event[64];
  int queue;
  long extra;
  long channels;
  long listening;
  long others_listening;
  long heap_listening; /* before the listeners on other channels */
  long rss_listening;
  long hold_heap;
  uint64_t hold_ns;
  int holding;
  int failed;
  int done;
  bench_run run;
  uv_timer_t timeout;
  uv_timer_t poll;
} bench;

static void on_next(exp_sdk *sdk, int status, exp_message *msg, void *ud);
static void on_poll(uv_timer_t *t);

static void finish(bench *b, int failed) {
  if (b->done)
    return;
  b->done = 1;
  b->failed |= failed;
  uv_close((uv_handle_t *)&b->timeout, NULL);
  uv_close((uv_handle_t *)&b->poll, NULL);
  for (long i = 0; i < b->nlisteners; i++)
    exp_listener_cancel(b->listeners[i]);
  exp_channel_free(b->ch);
  for (long i = 0; b->others != NULL && i < b->channels; i++)
    exp_channel_free(b->others[i]);
  b->ch = NULL;
  exp_stop(b->sdk);
}

/* Counts msg; in a queue, asks for the next unless a hold begins. */
static void take(bench *b, exp_message *msg) {
  int last = bench_got(&b->run, exp_message_payload(msg));
  exp_message_free(msg);
  if (last) {
    finish(b, 0);
    return;
  }
  if (!b->queue)
    return;
  if (b->run.phases[b->run.phase].hold && b->run.got == 0 && !b->holding) {
    b->holding = 1;
    b->hold_heap = count_alloc_live();
    uv_timer_start(&b->poll, on_poll, 1, 1);
    return;
  }
  if (exp_listener_next(b->main, 600000, on_next, b) != 0)
    finish(b, 1);
}

static void on_message(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                       void *ud) {
  (void)sdk;
  (void)l;
  take(ud, msg);
}

static void on_next(exp_sdk *sdk, int status, exp_message *msg, void *ud) {
  bench *b = ud;
  (void)sdk;
  if (b->done) {
    exp_message_free(msg);
    return;
  }
  if (status != 0) {
    fprintf(stderr, "next: %s\n", exp_strerror(status));
    finish(b, 1);
    return;
  }
  take(b, msg);
}

/* While holding: once the phase is queued, reports and takes them. */
static void on_poll(uv_timer_t *t) {
  bench *b = t->data;
  long n = b->run.phases[b->run.phase].count;
  if ((long)exp_listener_queued(b->main) < n)
    return;
  uv_timer_stop(t);
  printf("{\"held\":%ld,\"heap_per_queued\":%.1f}\n", n,
         (double)(count_alloc_live() - b->hold_heap) / (double)n);
  fflush(stdout);
  b->holding = 0;
  if (exp_listener_next(b->main, 600000, on_next, b) != 0)
    finish(b, 1);
}

static void on_stray(exp_sdk *sdk, exp_listener *l, exp_message *msg,
                     void *ud) {
  bench *b = ud;
  (void)sdk;
  (void)l;
  b->run.stray++;
  exp_message_free(msg);
}

static void ready(bench *b) {
  char extra[160] = "";
  if (b->channels > 0)
    snprintf(extra, sizeof(extra),
             "\"heap_listening\":%ld,\"rss_listening_kb\":%ld,"
             "\"heap_per_listener\":%.1f,\"rss_per_listener_kb\":%.2f",
             b->heap_listening, b->rss_listening,
             (double)(count_alloc_live() - b->heap_listening) /
                 (double)b->channels,
             (double)(bench_status_kb("VmRSS:") - b->rss_listening) /
                 (double)b->channels);
  bench_ready(extra[0] != '\0' ? extra : NULL);
  bench_run_start(&b->run);
  if (b->run.nphases == 0)
    finish(b, 0);
  else if (b->queue && exp_listener_next(b->main, 600000, on_next, b) != 0)
    finish(b, 1);
}

static void on_listening(exp_sdk *sdk, int status, exp_listener *l, void *ud);

/* Once every listener of the main channel listens. */
static void listen_others(bench *b) {
  char name[160];
  b->heap_listening = count_alloc_live();
  b->rss_listening = bench_status_kb("VmRSS:");
  if (b->channels == 0) {
    ready(b);
    return;
  }
  for (long i = 0; i < b->channels; i++) {
    snprintf(name, sizeof(name), "%s-other-%ld", b->channel, i);
    b->others[i] = exp_get_channel(b->sdk, name, 0);
    if (b->others[i] == NULL || exp_listen(b->others[i], b->event, NULL,
                                           on_stray, b, on_listening, b) != 0) {
      fprintf(stderr, "listen: %s\n", exp_last_error(b->sdk)->message);
      finish(b, 1);
      return;
    }
  }
}

static void on_listening(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  bench *b = ud;
  (void)sdk;
  if (b->done) {
    if (l != NULL)
      exp_listener_cancel(l);
    return;
  }
  if (status != 0) {
    fprintf(stderr, "listen: %s\n", exp_strerror(status));
    finish(b, 1);
    return;
  }
  b->listeners[b->nlisteners++] = l;
  if (b->listening < b->extra + 1) {
    if (++b->listening == b->extra + 1) {
      /* The main listener was asked for last. */
      b->main = l;
      listen_others(b);
    }
  } else if (++b->others_listening == b->channels) {
    ready(b);
  }
}

static void on_started(exp_sdk *sdk, int status, void *ud) {
  bench *b = ud;
  exp_listen_opts opts = {0};
  char name[32];
  int rc = 0;

  if (status != 0) {
    fprintf(stderr, "start: %s\n", exp_last_error(sdk)->message);
    finish(b, 1);
    return;
  }
  b->ch = exp_get_channel(sdk, b->channel, 0);
  if (b->ch == NULL) {
    fprintf(stderr, "channel: %s\n", exp_last_error(sdk)->message);
    finish(b, 1);
    return;
  }
  for (long i = 0; i < b->extra && rc == 0; i++) {
    snprintf(name, sizeof(name), "other-%ld", i);
    rc = exp_listen(b->ch, name, NULL, on_stray, b, on_listening, b);
  }
  /* A drained burst may queue more than the default 1000 at once. */
  opts.queue_max = 1000000;
  if (rc == 0)
    rc =
        b->queue
            ? exp_listen(b->ch, b->event, &opts, NULL, NULL, on_listening, b)
            : exp_listen(b->ch, b->event, NULL, on_message, b, on_listening, b);
  if (rc != 0) {
    fprintf(stderr, "listen: %s\n", exp_last_error(sdk)->message);
    finish(b, 1);
  }
}

static void on_timeout(uv_timer_t *t) {
  bench *b = t->data;
  fprintf(stderr, "timed out in phase %d after %ld broadcasts\n", b->run.phase,
          b->run.got);
  finish(b, 1);
}

int main(int argc, char **argv) {
  static bench b;
  uv_loop_t loop;
  cJSON *config;
  uint64_t timeout;
  int rc;

  if (exp_set_allocator(count_malloc, count_realloc, count_calloc,
                        count_free) != 0 ||
      (config = bench_config(argc, argv)) == NULL)
    return 2;
  snprintf(b.host, sizeof(b.host), "%s", bench_str(config, "host"));
  snprintf(b.uuid, sizeof(b.uuid), "%s", bench_str(config, "uuid"));
  snprintf(b.secret, sizeof(b.secret), "%s", bench_str(config, "secret"));
  snprintf(b.channel, sizeof(b.channel), "%s", bench_str(config, "channel"));
  snprintf(b.event, sizeof(b.event), "%s", bench_str(config, "event"));
  b.queue = strcmp(bench_str(config, "mode"), "queue") == 0;
  b.extra = bench_num(config, "extra");
  b.channels = bench_num(config, "channels");
  timeout = (uint64_t)bench_num(config, "timeout_ms");
  rc = bench_run_init(&b.run, config);
  cJSON_Delete(config);
  if (rc != 0 || b.extra < 0 || b.channels < 0)
    return 2;
  /* The program's own bookkeeping stays out of the heap figures. */
  b.listeners = calloc((size_t)(b.extra + 1 + b.channels), sizeof(void *));
  b.others = calloc((size_t)b.channels + 1, sizeof(void *));
  if (b.listeners == NULL || b.others == NULL || uv_loop_init(&loop) != 0)
    return 1;
  b.sdk = exp_new(&loop);
  if (b.sdk == NULL)
    return 1;
  exp_set_log(b.sdk, EXP_LOG_ERROR, NULL, NULL);
  exp_set_str(b.sdk, EXP_OPT_HOST, b.host);
  exp_set_str(b.sdk, EXP_OPT_UUID, b.uuid);
  exp_set_str(b.sdk, EXP_OPT_SECRET, b.secret);
  uv_timer_init(&loop, &b.timeout);
  uv_timer_init(&loop, &b.poll);
  b.timeout.data = b.poll.data = &b;
  uv_timer_start(&b.timeout, on_timeout, timeout, 0);
  if ((rc = exp_start(b.sdk, on_started, &b)) != 0) {
    fprintf(stderr, "start: %s\n", exp_strerror(rc));
    return 1;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&loop);
  bench_done(&b.run, b.failed || rc != 0);
  bench_run_free(&b.run);
  free(b.listeners);
  free(b.others);
  return b.failed || rc != 0 || b.run.stray != 0;
}
