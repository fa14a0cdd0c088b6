/* The SDK through a fault-injection proxy (test/faults/proxy.js) in front
 * of the reference server: a start, REST calls and a receiving listener
 * under delays, cuts mid-response, truncations, one-byte writes, bit flips,
 * stalls and a black hole.  Every call ends with a clear error code by its
 * own deadline, the SDK recovers once the fault ends, and no connection
 * is left open behind it (issue 8 item 6).
 * Usage: test_faults NODE test/server/main.js test/faults/proxy.js */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "refserver.h"
#include "testlib.h"

enum {
  REQUEST_MS = 800, /* request_timeout_ms of the SDK under test */
  STALL_MS = 1000,  /* its stall_timeout_ms */
  SLACK_MS = 4000   /* what a deadline may be late by on a busy machine */
};

static const char *node_bin, *main_js, *proxy_js;
static refserver srv, proxy;
static uv_loop_t loop;
static int verbose;

static void on_log(exp_log_level level, const char *msg, void *ud) {
  EXP_UNUSED(ud);
  if (verbose)
    fprintf(stderr, "  log %d: %s\n", (int)level, msg);
}

static uint64_t now_ms(void) {
  return uv_hrtime() / 1000000;
}

static void on_tick(uv_timer_t *t) {
  EXP_UNUSED(t);
}

/* Runs the loop until *flag >= want or ms passed; 1 when it got there. */
static int run_until(const int *flag, int want, uint64_t ms) {
  static uv_timer_t tick; /* wakes the loop to look at the clock */
  uint64_t end = now_ms() + ms;
  uv_timer_init(&loop, &tick);
  uv_timer_start(&tick, on_tick, 10, 10);
  while (*flag < want && now_ms() < end)
    uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  return *flag >= want;
}

static void run_for(uint64_t ms) {
  int never = 0;
  run_until(&never, 1, ms);
}

/* Sets the proxy's fault. */
static void fault(const char *what) {
  char path[128];
  snprintf(path, sizeof(path), "/_fault/%s", what);
  CHECK_INT(refserver_post(&proxy, path), 200);
}

/* No relayed connection is left open once the SDKs let go of theirs. */
static void check_none_open(void) {
  uint64_t end = now_ms() + 3000;
  int status;
  while ((status = refserver_post(&proxy, "/_fault/open?expect=0")) != 200 &&
         now_ms() < end)
    uv_sleep(20);
  CHECK_INT(status, 200);
}

static exp_sdk *make(const char *origin, cred c, int network) {
  exp_sdk *sdk = exp_new(&loop);
  CHECK(sdk != NULL);
  exp_set_log(sdk, EXP_LOG_DEBUG, on_log, NULL);
  CHECK_INT(exp_set_str(sdk, EXP_OPT_HOST, origin), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_ENABLE_NETWORK, network), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_REQUEST_TIMEOUT_MS, REQUEST_MS), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_STALL_TIMEOUT_MS, STALL_MS), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_RECONNECT_MIN_MS, 100), 0);
  CHECK_INT(exp_set_int(sdk, EXP_OPT_RECONNECT_MAX_MS, 500), 0);
  refserver_credentials(sdk, c);
  return sdk;
}

/* A completion: counted, with its status. */
typedef struct done {
  int n, status;
} done;

static void on_done(exp_sdk *sdk, int status, void *ud) {
  done *d = ud;
  EXP_UNUSED(sdk);
  d->n++;
  d->status = status;
}

static void on_json(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  on_done(sdk, status, ud);
  cJSON_Delete(result);
}

/* Starts sdk; the start's status, or 1 when it did not end in time (then
 * sdk is stopped). */
static int start(exp_sdk *sdk, uint64_t ms) {
  done d = {0, 0};
  CHECK_INT(exp_start(sdk, on_done, &d), 0);
  if (!run_until(&d.n, 1, ms)) {
    exp_stop(sdk); /* completes the start with EXP_ECANCELLED */
    run_until(&d.n, 1, 1000);
    return 1;
  }
  return d.status;
}

/* Stops sdk and lets its loop close what it held. */
static void stop(exp_sdk *sdk) {
  exp_stop(sdk);
  run_for(50);
}

/* A fault, whether a call goes through it untouched (clean: it only
 * slows), and the statuses a call may end with under it. */
typedef struct fault_case {
  const char *fault;
  int clean;
  int ok[4]; /* ended by 1 */
} fault_case;

static const fault_case cases[] = {
    {"delay?ms=150", 1, {0, 1}},
    {"bytewise", 1, {0, 1}},
    {"cut?after=0", 0, {EXP_ENETWORK, 1}},
    {"cut?after=60", 0, {EXP_ENETWORK, 1}},
    {"cut?after=200", 0, {EXP_ENETWORK, 1}},
    {"truncate?after=60", 0, {EXP_ENETWORK, 1}},
    {"truncate?after=200", 0, {EXP_ENETWORK, 1}},
    /* "HTTP/1.1 2xx" becomes "HTTP/1.1 6xx" */
    {"flip?from=9", 0, {EXP_EAPI, EXP_EPROTOCOL, EXP_ENETWORK, 1}},
    /* the headers', the body's or the frames' bytes */
    {"flip?from=150&every=7&mask=1",
     0,
     {0, EXP_EAPI, EXP_EPROTOCOL, EXP_ENETWORK}},
    {"stall", 0, {EXP_ETIMEOUT, 1}},
    {"blackhole", 0, {EXP_ETIMEOUT, 1}},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static int allowed(const fault_case *c, int status) {
  for (size_t i = 0; i < 4 && c->ok[i] != 1; i++)
    if (c->ok[i] == status)
      return 1;
  return 0;
}

static void check_status(const fault_case *c, int status) {
  if (!allowed(c, status)) {
    fprintf(stderr, "under %s: %s\n", c->fault, exp_err_name(status));
    CHECK(!"a status outside those the fault allows");
  }
}

/* ------------------------------------------------------------- start */

/* A start (a device's login, then its socket) under each fault ends by the
 * request deadline with the fault's code or succeeds through it; once the
 * fault ends, the next start succeeds. */
static void test_start(void) {
  for (size_t i = 0; i < NCASES; i++) {
    const fault_case *c = &cases[i];
    exp_sdk *sdk = make(proxy.origin, DEVICE, 1);
    int status;

    fault(c->fault);
    status = start(sdk, 2 * REQUEST_MS + SLACK_MS);
    if (status == 1) {
      fprintf(stderr, "under %s: the start did not end in time\n", c->fault);
      CHECK(!"a start went past its deadline");
    } else {
      check_status(c, status);
      stop(sdk);
    }
    fault("none");
    check_none_open();
    sdk = make(proxy.origin, DEVICE, 1);
    CHECK_INT(start(sdk, 10000), 0);
    CHECK(exp_is_connected(sdk));
    stop(sdk);
    check_none_open();
  }
}

/* -------------------------------------------------------------- REST */

/* REST calls on a started handle (network off: only REST crosses the
 * proxy) under each fault, its keep-alive connection open when the fault
 * starts: each ends by its deadline with the fault's code or succeeds, and
 * the call after the fault ends succeeds on the same handle. */
static void test_rest(void) {
  exp_sdk *sdk = make(proxy.origin, DEVICE, 0);
  CHECK_INT(start(sdk, 10000), 0);
  for (size_t i = 0; i < NCASES; i++) {
    const fault_case *c = &cases[i];
    done d = {0, 0};

    CHECK_INT(exp_get(sdk, "/api/devices/test-uuid", NULL, on_json, &d), 0);
    CHECK(run_until(&d.n, 1, 10000));
    CHECK_INT(d.status, 0);
    /* A stall takes only new connections: the kept one goes first. */
    if (strcmp(c->fault, "stall") == 0)
      fault("cut?after=0");
    fault(c->fault);
    d.n = 0;
    CHECK_INT(exp_get(sdk, "/api/devices/test-uuid", NULL, on_json, &d), 0);
    /* A 401 or a lost answer may be tried once more: two deadlines. */
    if (!run_until(&d.n, 1, 2 * REQUEST_MS + SLACK_MS)) {
      fprintf(stderr, "under %s: the call did not end in time\n", c->fault);
      CHECK(!"a REST call went past its deadline");
      run_until(&d.n, 1, 30000);
    }
    check_status(c, d.status);
    fault("none");
    d.n = 0;
    CHECK_INT(exp_get(sdk, "/api/devices/test-uuid", NULL, on_json, &d), 0);
    CHECK(run_until(&d.n, 1, 10000));
    if (d.status != 0)
      fprintf(stderr, "after %s: %s: %s\n", c->fault, exp_err_name(d.status),
              exp_last_error(sdk)->message);
    CHECK_INT(d.status, 0);
  }
  stop(sdk);
  check_none_open();
}

/* ------------------------------------------------------------- cuts */

/* Answers cut every few bytes, by a reset (RST) and by a clean close
 * (FIN): a call that did not get its answer whole ends as EXP_ENETWORK
 * either way (issue 9: the same cut used to give EXP_EPROTOCOL 83 times in
 * 98).  EXP_EPROTOCOL is for bytes that break the protocol, and a cut
 * breaks nothing it let through.  Swept: a REST call on a started handle,
 * and a start (the login's answer, then the socket's upgrade, Engine.IO
 * open and namespace connect). */
static int cut_call(int rest, exp_sdk *rest_sdk) {
  done d = {0, 0};
  exp_sdk *sdk;
  int status;
  if (rest) {
    CHECK_INT(exp_get(rest_sdk, "/api/devices/test-uuid", NULL, on_json, &d),
              0);
    if (!run_until(&d.n, 1, 2 * REQUEST_MS + SLACK_MS)) {
      CHECK(!"a REST call went past its deadline");
      run_until(&d.n, 1, 30000);
    }
    return d.status;
  }
  sdk = make(proxy.origin, DEVICE, 1);
  status = start(sdk, 2 * REQUEST_MS + SLACK_MS);
  CHECK(status != 1);
  stop(sdk);
  return status;
}

static void test_cuts(void) {
  static const char *const modes[] = {"cut", "truncate"};
  static const struct {
    const char *what;
    int step, max;
  } sweeps[] = {{"start", 16, 1600}, {"REST call", 4, 800}};
  exp_sdk *sdk = make(proxy.origin, DEVICE, 0);
  CHECK_INT(start(sdk, 10000), 0);
  for (int w = 0; w < 2; w++)
    for (int m = 0; m < 2; m++) {
      int ok = 0, network = 0, other = 0;
      for (int after = 0; after < sweeps[w].max; after += sweeps[w].step) {
        char what[64];
        int status;
        snprintf(what, sizeof(what), "%s?after=%d", modes[m], after);
        fault(what);
        status = cut_call(w == 1, sdk);
        if (status == 0) {
          ok++;
        } else if (status == EXP_ENETWORK) {
          network++;
        } else {
          other++;
          fprintf(stderr, "%s under %s: %s: %s\n", sweeps[w].what, what,
                  exp_err_name(status), exp_last_error(sdk)->message);
        }
      }
      fault("none");
      printf("# %s, %s every %d bytes to %d: %d succeeded, %d EXP_ENETWORK, "
             "%d other\n",
             sweeps[w].what, modes[m], sweeps[w].step, sweeps[w].max, ok,
             network, other);
      CHECK_INT(other, 0);
      /* The sweep cuts inside the answers and reaches past them. */
      CHECK(ok > 0 && network > 0);
    }
  stop(sdk);
  check_none_open();
}

/* ---------------------------------------------------------- listener */

enum { BURST = 5, MAX_N = 10000 };

typedef struct rx {
  int received, twice, offline, online;
  unsigned char seen[MAX_N];
} rx;

static void on_message(exp_sdk *sdk, exp_listener *l, exp_message *m,
                       void *ud) {
  rx *r = ud;
  const cJSON *n = cJSON_GetObjectItem(exp_message_payload(m), "n");
  EXP_UNUSED(sdk);
  EXP_UNUSED(l);
  if (cJSON_IsNumber(n) && n->valueint >= 0 && n->valueint < MAX_N) {
    if (r->seen[n->valueint]++ == 0)
      r->received++;
    else
      r->twice++;
  }
  exp_message_free(m);
}

static void on_event(exp_sdk *sdk, exp_event ev, const cJSON *data, void *ud) {
  rx *r = ud;
  EXP_UNUSED(sdk);
  EXP_UNUSED(data);
  if (ev == EXP_EVENT_OFFLINE)
    r->offline++;
  else if (ev == EXP_EVENT_ONLINE)
    r->online++;
}

/* Broadcasts {"n": n} from the user (straight to the server); 1 when the
 * server took it. */
static int send_n(exp_channel *uch, int n) {
  done d = {0, 0};
  cJSON *p = cJSON_CreateObject();
  cJSON_AddNumberToObject(p, "n", n);
  CHECK_INT(exp_broadcast(uch, "f", p, 0, on_json, &d), 0);
  cJSON_Delete(p);
  CHECK(run_until(&d.n, 1, 10000));
  return d.status == 0;
}

/* A device listening through the proxy, a user broadcasting to it from
 * outside, under each fault set while the socket is up: a burst of
 * broadcasts, then the fault ends and probes go out until one arrives.
 * Delays and one-byte writes lose nothing and keep the socket; the other
 * faults cost the socket, which the SDK notices (the black hole within
 * stall_timeout_ms) and reconnects within its backoff. */
static void test_listener(void) {
  static rx r;
  exp_sdk *user = make(srv.origin, USER, 0), *device;
  exp_channel *uch, *dch;
  exp_listener *l = NULL;
  exp_handler *h[2];
  int n = 0;

  memset(&r, 0, sizeof(r));
  CHECK_INT(start(user, 10000), 0);
  device = make(proxy.origin, DEVICE, 1);
  h[0] = exp_on(device, EXP_EVENT_OFFLINE, on_event, &r);
  h[1] = exp_on(device, EXP_EVENT_ONLINE, on_event, &r);
  CHECK_INT(start(device, 10000), 0);
  uch = exp_get_channel(user, "faults", 0);
  dch = exp_get_channel(device, "faults", 0);
  CHECK_INT(exp_listen_wait(dch, "f", NULL, on_message, &r, &l), 0);

  for (size_t i = 0; i < NCASES; i++) {
    const fault_case *c = &cases[i];
    int first = n, offline = r.offline, got = 0, sent = 0;
    uint64_t end;

    fault(c->fault);
    for (int k = 0; k < BURST; k++) {
      sent += send_n(uch, n++);
      run_for(100);
    }
    if (strcmp(c->fault, "blackhole") == 0) {
      /* Noticed within stall_timeout_ms of the last byte. */
      CHECK(run_until(&r.offline, offline + 1, STALL_MS + SLACK_MS));
    }
    run_for(c->clean ? 1000 : 300);
    if (c->clean) {
      for (int k = first; k < n; k++)
        got += r.seen[k];
      if (got != sent || r.offline != offline)
        fprintf(stderr, "under %s: %d of %d, %d offline\n", c->fault, got, sent,
                r.offline - offline);
      CHECK_INT(got, sent);
      CHECK_INT(r.offline, offline);
    }
    fault("none");
    end = now_ms() + 15000;
    for (;;) {
      int probe = n++;
      if (send_n(uch, probe)) {
        run_until(&r.received, r.received + 1, 1000);
        if (r.seen[probe])
          break;
      }
      if (now_ms() > end) {
        fprintf(stderr, "after %s: nothing arrives\n", c->fault);
        CHECK(!"the listener did not recover");
        break;
      }
    }
    CHECK(exp_is_connected(device));
  }
  CHECK_INT(r.twice, 0);
  CHECK(r.offline >= 3);
  CHECK_INT(r.online, r.offline + 1);
  exp_off(h[0]);
  exp_off(h[1]);
  exp_listener_cancel(l);
  exp_channel_free(uch);
  exp_channel_free(dch);
  stop(device);
  stop(user);
  check_none_open();
}

int main(int argc, char **argv) {
  char target[160];
  const char *extra[] = {"--target", target, NULL};
  int rc;

  if (argc < 4) {
    fprintf(stderr, "usage: %s NODE MAIN_JS PROXY_JS\n", argv[0]);
    return 2;
  }
  node_bin = argv[1];
  main_js = argv[2];
  proxy_js = argv[3];
  verbose = getenv("EXP_TEST_VERBOSE") != NULL;
  if (refserver_start(&srv, node_bin, main_js, NULL) != 0) {
    fprintf(stderr, "the reference server did not start\n");
    return 1;
  }
  snprintf(target, sizeof(target), "%s", srv.origin);
  if (refserver_start(&proxy, node_bin, proxy_js, extra) != 0) {
    fprintf(stderr, "the proxy did not start\n");
    refserver_stop(&srv);
    return 1;
  }
  uv_loop_init(&loop);
  RUN(test_start);
  RUN(test_rest);
  RUN(test_cuts);
  RUN(test_listener);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_INT(uv_loop_close(&loop), 0);
  refserver_stop(&proxy);
  refserver_stop(&srv);
  rc = t_done();
  return rc;
}
