/*
 * bench_util.h: what every C benchmark program measures and prints, so the
 * SDK and the bare loop are measured the same way.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

/* The one result line run.js reads; the CPU figures are from start to
 * end, over measured operations. */
static inline void bench_print_result(const char *who, long received,
                                      long stray, long checksum, long measured,
                                      bench_cpu start, bench_cpu end,
                                      long rss_kb) {
  double user = end.user_us - start.user_us, sys = end.sys_us - start.sys_us;
  double per = measured > 0 ? 1.0 / (double)measured : 0.0;
  printf("{\"who\":\"%s\",\"received\":%ld,\"stray\":%ld,\"checksum\":%ld,"
         "\"measured\":%ld,\"cpu_us\":%.0f,\"per_op_us\":%.3f,"
         "\"per_op_user_us\":%.3f,\"rss_kb\":%ld,\"peak_rss_kb\":%ld}\n",
         who, received, stray, checksum, measured, user + sys,
         (user + sys) * per, user * per, rss_kb, bench_status_kb("VmHWM:"));
  fflush(stdout);
}

#endif
