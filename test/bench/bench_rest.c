/*
 * bench_rest.c: the C SDK's client-side cost per REST call, driven by
 * run.js.  It starts as a device (online, as an application would be) and
 * makes sequential GETs of one device over the SDK's kept-alive
 * connection.
 *
 *   bench_rest CONFIG_JSON
 *
 * Configuration: host, uuid, secret, mode, phases (a phase is a number of
 * calls; the first is the warm-up).  Mode wait: exp_get_wait in a loop;
 * async: each exp_get's callback starts the next.  Output as
 * bench_receive's (bench_util.h); the latency is each call's round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exp.h>

#include "bench_util.h"

typedef struct bench {
  char path[256];
  bench_run run;
  uint64_t sent_ns;
  long n;
  int failed;
  int over;
} bench;

/* The work a caller does with the answer: read a field, free it. */
static void take(bench *b, cJSON *doc) {
  const cJSON *index = cJSON_GetObjectItemCaseSensitive(doc, "index");
  cJSON_Delete(doc);
  b->over = bench_op(&b->run, b->run.phase, cJSON_IsNumber(index) ? 1 : 0,
                     (double)b->sent_ns);
}

static void on_got(exp_sdk *sdk, int status, cJSON *result, void *ud) {
  bench *b = ud;
  if (status != 0) {
    fprintf(stderr, "get: %s\n", exp_last_error(sdk)->message);
    b->failed = 1;
    cJSON_Delete(result);
    return;
  }
  take(b, result);
  b->sent_ns = uv_hrtime();
  if (!b->over && exp_get(sdk, b->path, NULL, on_got, b) != 0) {
    fprintf(stderr, "get: %s\n", exp_last_error(sdk)->message);
    b->failed = 1;
  }
}

int main(int argc, char **argv) {
  static bench b;
  char host[128], uuid[128], secret[128], mode[16];
  exp_sdk *sdk;
  cJSON *config;
  int rc;

  if (exp_set_allocator(count_malloc, count_realloc, count_calloc,
                        count_free) != 0 ||
      (config = bench_config(argc, argv)) == NULL)
    return 2;
  snprintf(host, sizeof(host), "%s", bench_str(config, "host"));
  snprintf(uuid, sizeof(uuid), "%s", bench_str(config, "uuid"));
  snprintf(secret, sizeof(secret), "%s", bench_str(config, "secret"));
  snprintf(mode, sizeof(mode), "%s", bench_str(config, "mode"));
  rc = bench_run_init(&b.run, config);
  cJSON_Delete(config);
  if (rc != 0 || b.run.nphases == 0)
    return 2;
  snprintf(b.path, sizeof(b.path), "/api/devices/%s", uuid);
  sdk = exp_new(NULL);
  if (sdk == NULL)
    return 1;
  exp_set_log(sdk, EXP_LOG_ERROR, NULL, NULL);
  exp_set_str(sdk, EXP_OPT_HOST, host);
  exp_set_str(sdk, EXP_OPT_UUID, uuid);
  exp_set_str(sdk, EXP_OPT_SECRET, secret);
  if ((rc = exp_start_wait(sdk, 10000)) != 0) {
    fprintf(stderr, "start: %s\n", exp_last_error(sdk)->message);
    exp_stop(sdk);
    return 1;
  }
  bench_ready(NULL);
  bench_run_start(&b.run);
  if (strcmp(mode, "wait") == 0) {
    cJSON *doc = NULL;
    while (rc == 0 && !b.over) {
      b.sent_ns = uv_hrtime();
      rc = exp_get_wait(sdk, b.path, NULL, &doc);
      if (rc == 0)
        take(&b, doc);
    }
  } else if (strcmp(mode, "async") == 0) {
    b.sent_ns = uv_hrtime();
    rc = exp_get(sdk, b.path, NULL, on_got, &b);
    /* The loop runs in 10 ms slices until the chain ends, 120 s at most. */
    for (int t = 0; rc == 0 && !b.failed && !b.over && t < 12000; t++)
      rc = exp_sleep(sdk, 10);
  } else {
    rc = EXP_EOPTIONS;
  }
  if (rc != 0)
    fprintf(stderr, "get: %s\n", exp_last_error(sdk)->message);
  exp_stop(sdk);
  bench_done(&b.run, rc != 0 || b.failed || !b.over);
  bench_run_free(&b.run);
  return rc != 0 || b.failed || !b.over;
}
