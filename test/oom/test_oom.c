/*
 * test_oom.c: the failure sweep.  A fixed scenario (start as a device, a
 * REST call, a listen, a broadcast to itself, the wait for it, stop) runs
 * once with every allocation counted, then again for every N with the N-th
 * allocation failing: the SDK's, cJSON's and libuv's through
 * exp_set_allocator, wslay's, mbedtls's and libc's through fail_alloc.c.
 * Each run must end in success or a clean failure (EXP_ENOMEM, or what an
 * allocation failure in the socket explains), with the loop closed and
 * every byte allocated through the hook freed.
 *
 * Usage: test_oom NODE MAIN_JS http|tls [STRIDE [EVERY]]
 * Every N up to EVERY runs (over TLS: reading the CA file, the sessions'
 * setup, the first handshake steps), then every STRIDE-th (mbedtls's
 * handshakes make about 48,000 allocations, mostly alike bignum work);
 * EXP_OOM_STRIDE overrides STRIDE, 1 runs them all.  EXP_OOM_N=N replays
 * the run with allocation N failing, logging at DEBUG; FAIL_ALLOC_TRACE=1
 * prints where that allocation is.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "count_alloc.h"
#include "exp.h"
#include "fail_alloc.h"
#include "refserver.h"
#include "testlib.h"
#include "tls_certs.h"

/* -------------------------------------------------------------- scenario */

typedef struct outcome {
  int step;        /* the step that failed, 0 when all succeeded */
  int err;         /* its result */
  int reconnected; /* the socket went offline during the run */
  uint64_t dropped;
  char message[200]; /* exp_last_error's */
} outcome;

static const char *const step_names[] = {
    "",       "exp_new", "options",   "start", "REST call",  "channel",
    "listen", "payload", "broadcast", "wait",  "the message"};

static refserver srv;
static char ca_file[128];
static int use_tls;
static int only_start; /* the scenario ends once started */
static int verbose;    /* a replayed run logs everything */

static void on_offline(exp_sdk *sdk, exp_event ev, const cJSON *data,
                       void *ud) {
  (void)sdk;
  (void)ev;
  (void)data;
  ((outcome *)ud)->reconnected = 1;
}

#define STEP(n, expr)                                                          \
  do {                                                                         \
    int r_ = (expr);                                                           \
    if (r_ != 0) {                                                             \
      o->step = (n);                                                           \
      o->err = r_;                                                             \
      goto done;                                                               \
    }                                                                          \
  } while (0)

static void scenario(uv_loop_t *loop, long n, outcome *o) {
  exp_sdk *sdk;
  exp_channel *ch = NULL;
  exp_listener *l = NULL;
  exp_message *msg = NULL;
  cJSON *doc = NULL, *payload = NULL, *got;

  memset(o, 0, sizeof(*o));
  sdk = exp_new(loop);
  if (sdk == NULL) {
    o->step = 1;
    o->err = EXP_ENOMEM;
    return;
  }
  exp_on(sdk, EXP_EVENT_OFFLINE, on_offline, o);
  if (verbose)
    exp_set_log(sdk, EXP_LOG_DEBUG, NULL, NULL);
  STEP(2, exp_set_options(sdk, "host", srv.origin, "uuid", "test-uuid",
                          "secret", "test-secret", "reconnect_min_ms", "10",
                          "reconnect_max_ms", "50", NULL));
  if (use_tls)
    STEP(2, exp_set_str(sdk, EXP_OPT_CA_FILE, ca_file));
  STEP(3, exp_start_wait(sdk, 10000));
  if (only_start)
    goto done;
  STEP(4, exp_get_wait(sdk, "/api/devices/test-uuid", NULL, &doc));
  ch = exp_get_channel(sdk, "oom", 0);
  STEP(5, ch == NULL ? exp_last_error(sdk)->code : 0);
  STEP(6, exp_listen_wait(ch, "hello", NULL, NULL, NULL, &l));
  payload = cJSON_CreateNumber((double)n);
  STEP(7, payload == NULL ? EXP_ENOMEM : 0);
  STEP(8, exp_broadcast_wait(ch, "hello", payload, 0, NULL));
  STEP(9, exp_listener_wait(l, 1000, &msg));
  got = exp_message_payload(msg);
  STEP(10, got == NULL                              ? EXP_ENOMEM
           : cJSON_GetNumberValue(got) != (double)n ? EXP_EPROTOCOL
                                                    : 0);
done:
  if (o->step != 0)
    snprintf(o->message, sizeof(o->message), "%s",
             exp_last_error(sdk)->message);
  if (l != NULL)
    o->dropped = exp_listener_dropped(l);
  exp_message_free(msg);
  exp_listener_cancel(l);
  exp_channel_free(ch);
  cJSON_Delete(payload);
  cJSON_Delete(doc);
  exp_stop(sdk);
}

/* Whether a failed run failed cleanly.  A failed allocation is EXP_ENOMEM
 * where it happens; in the socket it may also drop the connection, which
 * the SDK then reports as its other failures. */
static int clean(const outcome *o) {
  if (o->step == 0 || o->err == EXP_ENOMEM)
    return 1;
  if (o->message[0] == '\0')
    return 0;
  /* A broadcast lost to memory is counted as dropped, or went with the
   * socket, which memory running out while reading it drops. */
  if (o->step == 9 && o->err == EXP_ETIMEOUT &&
      (o->dropped > 0 || o->reconnected))
    return 1;
  return 0;
}

/* One run with allocation n failing (0: none); returns how many
 * allocations it counted, -1 on a failed check. */
static long run(long n, outcome *o) {
  uv_loop_t loop;
  long before = count_alloc_blocks(), count;
  uint64_t t0, t1;
  int ok = 1;
  CHECK_INT(uv_loop_init(&loop), 0);
  t0 = uv_hrtime();
  fail_alloc_arm(n);
  scenario(&loop, n, o);
  t1 = uv_hrtime();
  /* The steps wait up to 10 s for what never comes: a run that long is
   * something left hanging until a timeout. */
  if (t1 - t0 > 5000000000u) {
    fprintf(stderr, "N=%ld: the run took %.1f s\n", n, (double)(t1 - t0) / 1e9);
    ok = 0;
  }
  t0 = uv_hrtime();
  /* exp_stop has closed the SDK's handles; their callbacks run here, and
   * nothing may be left waiting. */
  uv_run(&loop, UV_RUN_DEFAULT);
  t1 = uv_hrtime();
  count = fail_alloc_disarm();
  if (t1 - t0 > 1000000000u) {
    fprintf(stderr, "N=%ld: the loop ran %.1f s after exp_stop\n", n,
            (double)(t1 - t0) / 1e9);
    ok = 0;
  }
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "N=%ld: the loop does not close\n", n);
    ok = 0;
  }
  if (count_alloc_blocks() != before) {
    fprintf(stderr, "N=%ld: %ld blocks leaked\n", n,
            count_alloc_blocks() - before);
    ok = 0;
  }
  if (!clean(o)) {
    fprintf(stderr, "N=%ld: %s failed with %s: %s\n", n, step_names[o->step],
            exp_err_name(o->err), o->message);
    ok = 0;
  }
  CHECK(ok);
  return ok ? count : -1;
}

/* ------------------------------------------------------------------ TLS */

static char tls_dir[64] = "/tmp/exp-oom-tls-XXXXXX";
static char cert_file[128], key_file[128];

static int write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fputs(text, f);
  return fclose(f);
}

static int tls_files(void) {
  if (mkdtemp(tls_dir) == NULL)
    return -1;
  snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", tls_dir);
  snprintf(cert_file, sizeof(cert_file), "%s/cert.pem", tls_dir);
  snprintf(key_file, sizeof(key_file), "%s/key.pem", tls_dir);
  return write_file(ca_file, TEST_CA_PEM) |
         write_file(cert_file, TEST_SERVER_CERT_PEM) |
         write_file(key_file, TEST_SERVER_KEY_PEM);
}

static void tls_files_remove(void) {
  unlink(ca_file);
  unlink(cert_file);
  unlink(key_file);
  rmdir(tls_dir);
}

/* ---------------------------------------------------------------- sweep */

static void sweep(long stride, long every, long first, int only) {
  outcome o;
  long total, n, runs = 0, failed = 0, ok = 0, calls, setup;
  long by_step[11] = {0};
  uint64_t t0 = uv_hrtime();

  /* The login and the socket's setup (connections, handshakes): the
   * allocations of a run that stops once started. */
  only_start = 1;
  setup = run(0, &o);
  only_start = 0;
  calls = count_alloc_calls();
  if (every > 0 && every < setup)
    setup = every;
  total = run(0, &o);
  calls = count_alloc_calls() - calls;
  CHECK_INT(o.step, 0);
  if (o.step != 0) {
    fprintf(stderr, "the scenario fails without a failing allocation: %s %s\n",
            step_names[o.step], o.message);
    return;
  }
  for (n = first; n <= total; n++) {
    if (stride > 1 && n > setup && n % stride != 0)
      continue;
    if (only && n != first)
      break;
    if (only)
      printf("N=%ld: ", n);
    verbose = only;
    runs++;
    if (run(n, &o) < 0)
      failed++;
    if (only)
      printf("%s %s: %s\n", step_names[o.step], exp_err_name(o.err), o.message);
    if (o.step == 0)
      ok++;
    by_step[o.step]++;
    if (!fail_alloc_failed())
      break; /* the run took another path and never reached allocation n */
  }
  printf("%s: %ld allocations (%ld through exp_set_allocator's hook in the "
         "run without failures); %ld runs (every one to %ld, then every "
         "%ld-th) "
         "in %.1f s: %ld succeeded anyway, %ld failed checks\n",
         use_tls ? "tls" : "http", total, calls, runs, setup, stride,
         (double)(uv_hrtime() - t0) / 1e9, ok, failed);
  for (size_t i = 1; i < (sizeof(step_names) / sizeof(step_names[0])); i++)
    if (by_step[i] > 0)
      printf("  ended at %s: %ld\n", step_names[i], by_step[i]);
}

int main(int argc, char **argv) {
  const char *extra[] = {"--tls-cert", cert_file, "--tls-key", key_file, NULL};
  const char *env = getenv("EXP_OOM_STRIDE");
  long stride;

  if (argc < 4) {
    fprintf(stderr, "usage: %s NODE MAIN_JS http|tls [STRIDE [EVERY]]\n",
            argv[0]);
    return 2;
  }
  use_tls = strcmp(argv[3], "tls") == 0;
  stride = env != NULL ? atol(env) : argc > 4 ? atol(argv[4]) : 1;
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* Before anything allocates through libuv or cJSON. */
  if (exp_set_allocator(count_malloc, count_realloc, count_calloc,
                        count_free) != 0)
    return 1;
  if (use_tls && tls_files() != 0) {
    fprintf(stderr, "cannot write the test certificates\n");
    return 1;
  }
  if (refserver_start(&srv, argv[1], argv[2], use_tls ? extra : NULL) != 0) {
    fprintf(stderr, "the reference server did not start\n");
    return 1;
  }
  /* EXP_OOM_N=N replays the run with allocation N failing. */
  env = getenv("EXP_OOM_N");
  sweep(stride < 1 ? 1 : stride, argc > 5 ? atol(argv[5]) : 0,
        env != NULL ? atol(env) : 1, env != NULL);
  refserver_stop(&srv);
  if (use_tls)
    tls_files_remove();
  return t_done();
}
