/*
 * soak.c: the long run of issue 8 item 6.  Not a test: it prints figures
 * (README, "Soak").
 *
 * A reference server on a private database with tokens of TTL seconds
 * (renewed at half-life), restarted on its port every RESTART seconds by a
 * thread of its own; a device listening on one channel, a user
 * broadcasting there RATE times a second over REST (network off), and the
 * device making a REST call every 20 ms, all on one loop.  It prints:
 * - the broadcasts sent while the device was subscribed (online, its
 *   channel acknowledged, from before the call until its answer) and how
 *   many of them arrived, once or more;
 * - the REST calls (the device's and the broadcasts) that failed outside
 *   the restart windows (from the server's stop until GRACE_MS after it
 *   listens again);
 * - halfway between restarts, the heap and RSS as they go;
 * - the process's resident memory once warmed up (30 s in, or a tenth of a
 *   shorter run, and past the first restart) and at the end, and the
 *   heap the SDK, cJSON and libuv hold then (test/bench/count_alloc.h).
 *
 * Usage: soak_run NODE test/server/main.js [SECONDS [TTL [RATE [RESTART]]]]
 *   defaults 600 s, tokens of 4 s, 200 broadcasts/s, restart every 60 s
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "count_alloc.h"
#include "exp.h"
#include "refserver.h"

enum {
  CALL_MS = 20,      /* a device REST call this often */
  GRACE_MS = 2000,   /* after a restart, for the next connection */
  MAX_INFLIGHT = 400 /* broadcasts in flight, past which the run is late */
};

static const char *node_bin, *main_js;
static const char *extra[5]; /* the server's arguments */

/* ------------------------------------------------ the restarting thread */

typedef struct window {
  uint64_t from, to; /* ms, uv_hrtime's clock; to 0: still down */
} window;

static struct {
  uv_mutex_t lock;
  refserver srv;
  int port;
  long seconds, every;
  int quit;
  window w[256];
  int nw;
  int failed_restart;
} rs;

static uint64_t now_ms(void) {
  return uv_hrtime() / 1000000;
}

static void restarter(void *arg) {
  uint64_t next = now_ms() + (uint64_t)rs.every * 1000;
  (void)arg;
  for (;;) {
    int quit;
    uv_mutex_lock(&rs.lock);
    quit = rs.quit;
    uv_mutex_unlock(&rs.lock);
    if (quit)
      return;
    if (now_ms() < next) {
      uv_sleep(50);
      continue;
    }
    next += (uint64_t)rs.every * 1000;
    uv_mutex_lock(&rs.lock);
    if (rs.nw < 256)
      rs.w[rs.nw++].from = now_ms();
    uv_mutex_unlock(&rs.lock);
    refserver_stop(&rs.srv);
    if (refserver_start_on(&rs.srv, node_bin, main_js, extra, rs.port) != 0) {
      rs.failed_restart = 1;
      return;
    }
    uv_mutex_lock(&rs.lock);
    rs.w[rs.nw - 1].to = now_ms() + GRACE_MS;
    uv_mutex_unlock(&rs.lock);
  }
}

/* 1 when [from, to] meets a restart window. */
static int in_window(uint64_t from, uint64_t to) {
  int in = 0;
  uv_mutex_lock(&rs.lock);
  for (int i = 0; i < rs.nw && !in; i++)
    in = from <= (rs.w[i].to != 0 ? rs.w[i].to : UINT64_MAX) &&
         to >= rs.w[i].from;
  uv_mutex_unlock(&rs.lock);
  return in;
}

/* 1 once the first restart is over: warmed up, every path (and the
 * restarting thread's malloc arena) has been through once. */
static int restarted(void) {
  int done;
  uv_mutex_lock(&rs.lock);
  done = rs.nw > 0 && rs.w[0].to != 0 && now_ms() >= rs.w[0].to;
  uv_mutex_unlock(&rs.lock);
  return done;
}

/* ------------------------------------------------------------ the run */

static struct {
  exp_channel *ch;
  long rate, total, next;
  uint64_t begin;
  unsigned char *seen;    /* per broadcast: times received */
  unsigned char *counted; /* per broadcast: sent while subscribed */
  long sent, counted_n, inflight;
  long bc_failed, bc_failed_outside;
  long calls, calls_failed, calls_failed_outside, calls_inflight;
  long received, twice, offline, online, renewals, subscribed_n;
  int subscribed;     /* online and the channel acknowledged */
  long offline_epoch; /* OFFLINE events so far, to see one in between */
} run;

typedef struct call {
  long n; /* the broadcast's number, -1 for a device call */
  uint64_t at;
  long epoch;
  int subscribed;
} call;

static void on_log(exp_log_level level, const char *msg, void *ud) {
  (void)ud;
  if (level >= EXP_LOG_WARN)
    fprintf(stderr, "  %s: %s\n", level == EXP_LOG_WARN ? "warn" : "error",
            msg);
  if (level == EXP_LOG_DEBUG && strncmp(msg, "channel ", 8) == 0 &&
      strstr(msg, " subscribed") != NULL && !run.subscribed) {
    run.subscribed = 1;
    run.subscribed_n++;
  }
}

static void on_event(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  (void)sdk;
  (void)data;
  (void)ud;
  if (ev == EXP_EVENT_OFFLINE) {
    run.offline++;
    run.offline_epoch++;
    run.subscribed = 0;
  } else if (ev == EXP_EVENT_ONLINE) {
    run.online++;
  } else if (ev == EXP_EVENT_UPDATE) {
    run.renewals++;
  }
}

static void on_message(exp_sdk *sdk, exp_listener *l, exp_message *m,
                       void *ud) {
  const cJSON *n = cJSON_GetObjectItem(exp_message_payload(m), "n");
  (void)sdk;
  (void)l;
  (void)ud;
  if (cJSON_IsNumber(n) && n->valueint >= 0 && n->valueint < run.total) {
    if (run.seen[n->valueint]++ == 0)
      run.received++;
    else
      run.twice++;
  }
  exp_message_free(m);
}

static call *new_call(long n) {
  call *c = malloc(sizeof(*c));
  c->n = n;
  c->at = now_ms();
  c->epoch = run.offline_epoch;
  c->subscribed = run.subscribed;
  return c;
}

static void on_sent(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  call *c = ud;
  (void)sdk;
  cJSON_Delete(result);
  run.inflight--;
  if (status == 0) {
    run.sent++;
    if (c->subscribed && run.subscribed && c->epoch == run.offline_epoch) {
      run.counted[c->n] = 1;
      run.counted_n++;
    }
  } else {
    run.bc_failed++;
    if (!in_window(c->at, now_ms())) {
      run.bc_failed_outside++;
      fprintf(stderr, "  broadcast %ld failed outside a restart: %s\n", c->n,
              exp_last_error(sdk)->message);
    }
  }
  free(c);
}

static void on_called(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  call *c = ud;
  cJSON_Delete(result);
  run.calls_inflight--;
  if (status != 0) {
    run.calls_failed++;
    if (!in_window(c->at, now_ms())) {
      run.calls_failed_outside++;
      fprintf(stderr, "  REST call failed outside a restart: %s\n",
              exp_last_error(sdk)->message);
    }
  }
  free(c);
}

/* Broadcasts as many as are due by now (the timer may fire late). */
static void on_broadcast_tick(uv_timer_t *t) {
  long due = (long)((now_ms() - run.begin) * (uint64_t)run.rate / 1000);
  (void)t;
  if (due > run.total)
    due = run.total;
  while (run.next < due && run.inflight < MAX_INFLIGHT) {
    cJSON *p = cJSON_CreateObject();
    call *c = new_call(run.next);
    cJSON_AddNumberToObject(p, "n", (double)run.next++);
    run.inflight++;
    if (exp_broadcast(run.ch, "b", p, 0, on_sent, c) != 0) {
      run.inflight--;
      run.bc_failed++;
      run.bc_failed_outside++;
      free(c);
    }
    cJSON_Delete(p);
  }
}

static void on_call_tick(uv_timer_t *t) {
  exp_sdk *dev = t->data;
  call *c = new_call(-1);
  run.calls++;
  run.calls_inflight++;
  if (exp_get(dev, "/api/devices/test-uuid", NULL, on_called, c) != 0) {
    run.calls_inflight--;
    run.calls_failed++;
    run.calls_failed_outside++;
    free(c);
  }
}

/* The resident set, in KiB: its anonymous part (heap, stacks) and all of
 * it (with the file-backed pages of the program and its libraries). */
static void rss_kb(long *anon, long *all) {
  char line[128];
  FILE *f = fopen("/proc/self/status", "r");
  *anon = *all = 0;
  while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, "RssAnon:", 8) == 0)
      *anon = atol(line + 8);
    else if (strncmp(line, "VmRSS:", 6) == 0)
      *all = atol(line + 6);
  }
  if (f != NULL)
    fclose(f);
}

static double pct(long from, long to) {
  return from > 0 ? 100.0 * (double)(to - from) / (double)from : 0.0;
}

static void die(const char *what, exp_sdk *sdk) {
  fprintf(stderr, "soak: %s: %s\n", what,
          sdk != NULL ? exp_last_error(sdk)->message : "");
  exit(1);
}

static void on_started(exp_sdk *sdk, int status, void *ud) {
  if (status != 0)
    die("start", sdk);
  ++*(int *)ud;
}

static void on_listen(exp_sdk *sdk, int status, exp_listener *l, void *ud) {
  if (status != 0)
    die("listen", sdk);
  *(exp_listener **)ud = l;
}

static exp_sdk *make(uv_loop_t *loop, const char *origin, cred c) {
  exp_sdk *sdk = exp_new(loop);
  refserver_credentials(sdk, c);
  exp_set_str(sdk, EXP_OPT_HOST, origin);
  exp_set_int(sdk, EXP_OPT_RECONNECT_MIN_MS, 200);
  exp_set_int(sdk, EXP_OPT_RECONNECT_MAX_MS, 1000);
  exp_set_log(sdk, EXP_LOG_DEBUG, on_log, NULL);
  return sdk;
}

int main(int argc, char **argv) {
  char dir[64] = "/tmp/exp-soak-XXXXXX", db[128], path[160];
  const char *ttl;
  uv_loop_t loop;
  uv_timer_t bt, ct;
  uv_thread_t thread;
  exp_sdk *dev, *user;
  exp_channel *dch;
  exp_listener *l = NULL;
  long seconds, warm_rss = 0, end_rss, warm_anon = 0, end_anon, warm_heap = 0,
                end_heap, warm_peak = 0, lost = 0;
  uint64_t warm_at, end_at, drain, report_at;
  int started = 0, warm = 0;

  if (argc < 3) {
    fprintf(stderr, "usage: %s NODE MAIN_JS [SECONDS [TTL [RATE [RESTART]]]]\n",
            argv[0]);
    return 2;
  }
  exp_set_allocator(count_malloc, count_realloc, count_calloc, count_free);
  node_bin = argv[1];
  main_js = argv[2];
  seconds = argc > 3 ? atol(argv[3]) : 600;
  ttl = argc > 4 ? argv[4] : "4";
  run.rate = argc > 5 ? atol(argv[5]) : 200;
  rs.every = argc > 6 ? atol(argv[6]) : 60;
  if (seconds < 10 || run.rate < 1 || rs.every < 5)
    die("SECONDS >= 10, RATE >= 1 and RESTART >= 5, please", NULL);
  if (mkdtemp(dir) == NULL)
    die("mkdtemp", NULL);
  snprintf(db, sizeof(db), "%s/exp.db", dir);
  extra[0] = "--db";
  extra[1] = db;
  extra[2] = "--token-ttl";
  extra[3] = ttl;
  if (refserver_start(&rs.srv, node_bin, main_js, extra) != 0)
    die("the server did not start", NULL);
  rs.port = rs.srv.port;
  run.total = run.rate * seconds + 1;
  run.seen = malloc((size_t)run.total);
  run.counted = malloc((size_t)run.total);
  /* Touched now, so that their pages are in the RSS from the start. */
  memset(run.seen, 0, (size_t)run.total);
  memset(run.counted, 0, (size_t)run.total);

  uv_loop_init(&loop);
  dev = make(&loop, rs.srv.origin, DEVICE);
  user = make(&loop, rs.srv.origin, USER);
  exp_set_int(user, EXP_OPT_ENABLE_NETWORK, 0);
  exp_on(dev, EXP_EVENT_OFFLINE, on_event, NULL);
  exp_on(dev, EXP_EVENT_ONLINE, on_event, NULL);
  exp_on(dev, EXP_EVENT_UPDATE, on_event, NULL);
  exp_start(dev, on_started, &started);
  exp_start(user, on_started, &started);
  while (started < 2)
    uv_run(&loop, UV_RUN_ONCE);
  dch = exp_get_channel(dev, "soak", 0);
  if (dch == NULL ||
      exp_listen(dch, "b", NULL, on_message, NULL, on_listen, &l))
    die("listen", dev);
  while (l == NULL)
    uv_run(&loop, UV_RUN_ONCE);
  run.ch = exp_get_channel(user, "soak", 0);

  uv_mutex_init(&rs.lock);
  if (uv_thread_create(&thread, restarter, NULL) != 0)
    die("thread", NULL);
  run.begin = now_ms();
  warm_at = run.begin + (uint64_t)(seconds < 100 ? seconds / 10 : 30) * 1000;
  end_at = run.begin + (uint64_t)seconds * 1000;
  /* Halfway between restarts: the heap and RSS as they go. */
  report_at = run.begin + (uint64_t)rs.every * 500;
  uv_timer_init(&loop, &bt);
  uv_timer_start(&bt, on_broadcast_tick, 5, 5);
  uv_timer_init(&loop, &ct);
  ct.data = dev;
  uv_timer_start(&ct, on_call_tick, CALL_MS, CALL_MS);
  printf("soak: %ld s, tokens of %s s, %ld broadcasts/s, a REST call every "
         "%d ms, the server restarted every %ld s\n",
         seconds, ttl, run.rate, CALL_MS, rs.every);
  fflush(stdout);
  while (now_ms() < end_at && !rs.failed_restart) {
    uv_run(&loop, UV_RUN_ONCE);
    if (now_ms() >= report_at) {
      long anon, all;
      rss_kb(&anon, &all);
      printf("  %3llu s: heap %ld bytes, RSS %ld KiB (anonymous %ld KiB)\n",
             (unsigned long long)((now_ms() - run.begin) / 1000),
             count_alloc_live(), all, anon);
      fflush(stdout);
      report_at += (uint64_t)rs.every * 1000;
    }
    if (!warm && now_ms() >= warm_at && (rs.every >= seconds || restarted())) {
      warm = 1;
      rss_kb(&warm_anon, &warm_rss);
      warm_heap = count_alloc_live();
      warm_peak = count_alloc_peak();
      count_reset_peak();
    }
  }
  uv_timer_stop(&bt);
  uv_timer_stop(&ct);
  uv_mutex_lock(&rs.lock);
  rs.quit = 1;
  uv_mutex_unlock(&rs.lock);
  /* The last answers and broadcasts. */
  drain = now_ms() + 5000;
  while ((run.inflight > 0 || run.calls_inflight > 0) && now_ms() < drain)
    uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(2);
  drain = now_ms() + 2000;
  while (now_ms() < drain)
    uv_run(&loop, UV_RUN_NOWAIT), uv_sleep(2);
  rss_kb(&end_anon, &end_rss);
  end_heap = count_alloc_live();
  for (long i = 0; i < run.next; i++)
    lost += run.counted[i] && !run.seen[i];
  uv_thread_join(&thread);
  if (rs.failed_restart)
    fprintf(stderr, "soak: the server did not restart\n");

  printf("broadcasts: %ld accepted, %ld of them while subscribed; received "
         "%ld of those (%ld lost), %ld twice; %ld refused in restarts\n",
         run.sent, run.counted_n, run.counted_n - lost, lost, run.twice,
         run.bc_failed - run.bc_failed_outside);
  printf("failed calls outside restart windows: %ld (%ld broadcasts, %ld of "
         "%ld device calls); %ld failed in restarts\n",
         run.bc_failed_outside + run.calls_failed_outside,
         run.bc_failed_outside, run.calls_failed_outside, run.calls,
         run.bc_failed + run.calls_failed - run.bc_failed_outside -
             run.calls_failed_outside);
  printf("restarts %d, token updates %ld, OFFLINE %ld, ONLINE %ld\n", rs.nw,
         run.renewals, run.offline, run.online);
  printf("RSS: %ld KiB warmed up, %ld KiB at the end (%+.1f %%); of it "
         "anonymous: %ld KiB, %ld KiB (%+.1f %%)\n",
         warm_rss, end_rss, pct(warm_rss, end_rss), warm_anon, end_anon,
         pct(warm_anon, end_anon));
  printf("heap of the SDK, cJSON and libuv: %ld bytes warmed up, %ld at the "
         "end; its peak %ld bytes until the warm-up, %ld after\n",
         warm_heap, end_heap, warm_peak, count_alloc_peak());

  uv_close((uv_handle_t *)&bt, NULL);
  uv_close((uv_handle_t *)&ct, NULL);
  exp_listener_cancel(l);
  exp_channel_free(dch);
  exp_channel_free(run.ch);
  exp_stop(dev);
  exp_stop(user);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (!rs.failed_restart)
    refserver_stop(&rs.srv);
  uv_mutex_destroy(&rs.lock);
  free(run.seen);
  free(run.counted);
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof(path), "%s%s", db,
             (const char *[]){"", "-wal", "-shm"}[i]);
    unlink(path);
  }
  rmdir(dir);
  return lost == 0 && run.bc_failed_outside + run.calls_failed_outside == 0 ? 0
                                                                            : 1;
}
