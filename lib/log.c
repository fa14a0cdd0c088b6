/* log.c: formats a line and hands it to the callback or stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void exp_logger_init(exp_logger *l) {
  l->min = EXP_LOG_WARN;
  l->cb = NULL;
  l->ud = NULL;
}

void exp_logf(const exp_logger *l, exp_log_level level, const char *fmt, ...) {
  char line[512];
  va_list ap;

  if (level < l->min || level >= EXP_LOG_NONE)
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (l->cb != NULL)
    l->cb(level, line, l->ud);
  else
    fprintf(stderr, "exp: %s: %s\n", level_names[level], line);
}
