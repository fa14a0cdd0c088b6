/*
 * bench_rest.c: the C SDK's client-side cost per REST call, driven by
 * run.js.  It starts as a device (online, as an application would be) and
 * makes sequential GETs of one device.
 *
 *   bench_rest HOST UUID SECRET MODE WARMUP COUNT
 *
 * MODE wait: exp_get_wait in a loop; async: each exp_get's callback starts
 * the next.  CPU time (user + system) is counted over the COUNT calls that
 * follow WARMUP calls; output as bench_receive's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <exp.h>

#include "bench_util.h"

typedef struct bench {
  char path[256];
  long warmup;
  long total;
  long done;
  long checksum;
  int failed;
  bench_cpu cpu_start;
  bench_cpu cpu_end;
} bench;

/* The work a caller does with the answer: read a field, free it. */
static void take(bench *b, cJSON *doc) {
  const cJSON *index = cJSON_GetObjectItemCaseSensitive(doc, "index");
  if (cJSON_IsNumber(index))
    b->checksum += index->valueint;
  cJSON_Delete(doc);
  if (++b->done == b->warmup)
    b->cpu_start = bench_cpu_now();
  if (b->done == b->total)
    b->cpu_end = bench_cpu_now();
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
  if (b->done < b->total && exp_get(sdk, b->path, NULL, on_got, b) != 0) {
    fprintf(stderr, "get: %s\n", exp_last_error(sdk)->message);
    b->failed = 1;
  }
}

int main(int argc, char **argv) {
  bench b = {0};
  exp_sdk *sdk;
  long rss_kb;
  int rc;

  if (argc != 7) {
    fprintf(stderr, "usage: bench_rest HOST UUID SECRET MODE WARMUP COUNT\n");
    return 2;
  }
  b.warmup = atol(argv[5]);
  b.total = b.warmup + atol(argv[6]);
  if (b.warmup < 1 || b.total <= b.warmup)
    return 2;
  snprintf(b.path, sizeof(b.path), "/api/devices/%s", argv[2]);
  sdk = exp_new(NULL);
  if (sdk == NULL)
    return 1;
  exp_set_log(sdk, EXP_LOG_ERROR, NULL, NULL);
  exp_set_str(sdk, EXP_OPT_HOST, argv[1]);
  exp_set_str(sdk, EXP_OPT_UUID, argv[2]);
  exp_set_str(sdk, EXP_OPT_SECRET, argv[3]);
  if ((rc = exp_start_wait(sdk, 10000)) != 0) {
    fprintf(stderr, "start: %s\n", exp_last_error(sdk)->message);
    exp_stop(sdk);
    return 1;
  }
  if (strcmp(argv[4], "wait") == 0) {
    cJSON *doc = NULL;
    while (rc == 0 && b.done < b.total) {
      rc = exp_get_wait(sdk, b.path, NULL, &doc);
      if (rc == 0)
        take(&b, doc);
    }
  } else if (strcmp(argv[4], "async") == 0) {
    rc = exp_get(sdk, b.path, NULL, on_got, &b);
    /* The loop runs in 10 ms slices until the chain ends, 60 s at most. */
    for (int t = 0; rc == 0 && !b.failed && b.done < b.total && t < 6000; t++)
      rc = exp_sleep(sdk, 10);
  } else {
    rc = EXP_EOPTIONS;
  }
  if (rc != 0)
    fprintf(stderr, "get: %s\n", exp_last_error(sdk)->message);
  rss_kb = bench_status_kb("VmRSS:");
  exp_stop(sdk);
  bench_print_result(argv[4], b.done, 0, b.checksum, b.total - b.warmup,
                     b.cpu_start, b.cpu_end, rss_kb);
  return rc != 0 || b.failed || b.done != b.total;
}
