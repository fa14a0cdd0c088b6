/*
 * bench_util.h: what every C benchmark program measures and prints, so the
 * SDK and the bare clients are measured the same way (bench_js_util.js is
 * its JavaScript twin).
 *
 * A program gets its configuration as one JSON argument from run.js and
 * prints JSON lines: one "ready" line once it listens (or, for a REST
 * client, once it is online), one line per phase of broadcasts, and a last
 * "done" line.  A receiver goes through the configured phases in order:
 * phase i is `count` broadcasts whose payload has "p": i; run.js sends a
 * phase only once every receiver reported the one before, so the phases
 * never overlap.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "count_alloc.h"

/* CPU time of this process in microseconds, user and system apart: the
 * system part is mostly the same syscalls for every client. */
typedef struct bench_cpu {
  double user_us;
  double sys_us;
} bench_cpu;

static inline bench_cpu bench_cpu_now(void) {
  struct rusage ru;
  bench_cpu c;
  getrusage(RUSAGE_SELF, &ru);
  c.user_us = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec;
  c.sys_us = (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
  return c;
}

/* A field of /proc/self/status in KiB ("VmRSS:" now, "VmHWM:" the peak;
 * not getrusage's ru_maxrss, which also keeps the peak of the image
 * replaced by exec, forked from the driver); -1 when absent. */
static inline long bench_status_kb(const char *field) {
  char line[128];
  size_t len = strlen(field);
  long kb = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, field, len) == 0) {
      kb = atol(line + len);
      break;
    }
  fclose(f);
  return kb;
}

/* The memory figures of a ready or done line: heap is what went through
 * the counting allocator (the SDK, cJSON, libuv); malloc is every byte in
 * use in malloc's arenas, also mbedtls's and wslay's, which have no hook. */
static inline void bench_print_memory(void) {
  struct mallinfo2 mi = mallinfo2();
  printf("\"rss_kb\":%ld,\"peak_rss_kb\":%ld,\"heap\":%ld,\"malloc\":%zu",
         bench_status_kb("VmRSS:"), bench_status_kb("VmHWM:"),
         count_alloc_live(), mi.uordblks + mi.hblkhd);
}

/* The configuration argument; NULL (and a message) when it is not JSON. */
static inline cJSON *bench_config(int argc, char **argv) {
  cJSON *c = argc == 2 ? cJSON_Parse(argv[1]) : NULL;
  if (c == NULL)
    fprintf(stderr, "usage: %s CONFIG_JSON (run.js writes it)\n", argv[0]);
  return c;
}

static inline const char *bench_str(const cJSON *c, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static inline long bench_num(const cJSON *c, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
  return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

enum { BENCH_PHASES_MAX = 16 };

/* A receiver's progress through its phases. */
typedef struct bench_run {
  int nphases;
  struct {
    long count;
    int hold; /* queue listeners keep them queued before taking them */
  } phases[BENCH_PHASES_MAX];
  int phase;     /* current; nphases once all are done */
  long got;      /* of the current phase */
  long stray;    /* broadcasts of no current phase */
  long checksum; /* of the payloads' "n", as a reader would use them */
  double *latency_us;
  bench_cpu mark; /* at the previous phase's end */
  long allocs_mark;
  uint64_t first_ns;
  uint64_t last_ns;
} bench_run;

static inline int bench_run_init(bench_run *r, const cJSON *config) {
  const cJSON *p;
  long most = 1;
  memset(r, 0, sizeof(*r));
  cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(config, "phases")) {
    if (r->nphases == BENCH_PHASES_MAX)
      return -1;
    r->phases[r->nphases].count = bench_num(p, "count");
    r->phases[r->nphases].hold = cJSON_IsTrue(cJSON_GetObjectItem(p, "hold"));
    if (r->phases[r->nphases].count < 1)
      return -1;
    if (r->phases[r->nphases].count > most)
      most = r->phases[r->nphases].count;
    r->nphases++;
  }
  r->latency_us = malloc((size_t)most * sizeof(double));
  return r->latency_us != NULL ? 0 : -1;
}

static inline void bench_run_free(bench_run *r) {
  free(r->latency_us);
}

/* After the ready line: from here the first phase's CPU counts. */
static inline void bench_run_start(bench_run *r) {
  r->mark = bench_cpu_now();
  r->allocs_mark = count_alloc_calls();
}

static int bench_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile of n sorted values (nearest rank). */
static inline double bench_quantile(const double *v, long n, double q) {
  double x = q * (double)n;
  long i = (long)x;
  i -= (double)i >= x; /* ceil(x) - 1 */
  return v[i < 0 ? 0 : i];
}

/* Prints a phase's line: CPU and allocations per broadcast from the
 * previous phase's end to its last broadcast, first-to-last time, and the
 * latency from the sender's clock in the payload ("t", uv_hrtime's
 * nanoseconds, which is node's process.hrtime). */
static inline void bench_phase_end(bench_run *r) {
  bench_cpu now = bench_cpu_now();
  long n = r->phases[r->phase].count;
  double user = now.user_us - r->mark.user_us,
         sys = now.sys_us - r->mark.sys_us;
  qsort(r->latency_us, (size_t)n, sizeof(double), bench_cmp);
  printf("{\"phase\":%d,\"received\":%ld,\"per_op_us\":%.3f,"
         "\"per_op_user_us\":%.3f,\"allocs_per_op\":%.3f,"
         "\"first_to_last_us\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,",
         r->phase, n, (user + sys) / (double)n, user / (double)n,
         (double)(count_alloc_calls() - r->allocs_mark) / (double)n,
         (double)(r->last_ns - r->first_ns) / 1e3,
         bench_quantile(r->latency_us, n, 0.5),
         bench_quantile(r->latency_us, n, 0.99));
  bench_print_memory();
  printf("}\n");
  fflush(stdout);
  r->phase++;
  r->got = 0;
  r->mark = bench_cpu_now();
  r->allocs_mark = count_alloc_calls();
}

/* Counts an operation of phase p started at t (uv_hrtime's nanoseconds);
 * 1 once the last phase ended. */
static inline int bench_op(bench_run *r, int p, long n, double t) {
  uint64_t now = uv_hrtime();
  if (r->phase >= r->nphases || p != r->phase) {
    r->stray++;
    return 0;
  }
  r->checksum += n;
  if (r->got == 0)
    r->first_ns = now;
  r->last_ns = now;
  r->latency_us[r->got] = ((double)now - t) / 1e3;
  if (++r->got == r->phases[r->phase].count)
    bench_phase_end(r);
  return r->phase == r->nphases;
}

/* Counts one broadcast's payload: {"p": phase, "n": index, "t": the
 * sender's uv_hrtime, ...}. */
static inline int bench_got(bench_run *r, const cJSON *payload) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(payload, "p");
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(payload, "n");
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(payload, "t");
  if (!cJSON_IsNumber(p) || !cJSON_IsNumber(t)) {
    r->stray++;
    return 0;
  }
  return bench_op(r, (int)p->valuedouble,
                  cJSON_IsNumber(n) ? (long)n->valuedouble : 0, t->valuedouble);
}

/* The ready line: start to online is timed by run.js from the spawn; the
 * CPU to get there (process start included) and the memory are ours. */
static inline void bench_ready(const char *extra) {
  bench_cpu c = bench_cpu_now();
  printf("{\"ready\":true,\"cpu_online_us\":%.0f,%s%s", c.user_us + c.sys_us,
         extra != NULL ? extra : "", extra != NULL ? "," : "");
  bench_print_memory();
  printf("}\n");
  fflush(stdout);
}

/* The last line. */
static inline void bench_done(const bench_run *r, int failed) {
  printf("{\"done\":true,\"failed\":%d,\"stray\":%ld,\"checksum\":%ld,", failed,
         r != NULL ? r->stray : 0, r != NULL ? r->checksum : 0);
  bench_print_memory();
  printf("}\n");
  fflush(stdout);
}

#endif
