/*
 * log.h: the SDK's level-filtered log (internal).
 *
 * Messages are formatted by the caller from ordinary values only: no
 * token, secret, password or API key is ever passed here.
 */
#ifndef EXP_LOG_H
#define EXP_LOG_H

#include "exp.h"

typedef struct exp_logger {
  exp_log_level min;
  exp_log_cb cb; /* NULL: stderr */
  void *ud;
} exp_logger;

/* Warnings and errors to stderr. */
void exp_logger_init(exp_logger *l);

void exp_logf(const exp_logger *l, exp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
