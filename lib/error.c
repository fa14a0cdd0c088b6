/* error.c: names and messages of exp_errno, from the one list in exp.h. */
#include "common.h"

const char *exp_strerror(int err) {
  switch (err) {
  case EXP_OK:
    return "success";
#define XX(name, value, msg)                                                   \
  case EXP_E##name:                                                            \
    return msg;
    EXP_ERRNO_MAP(XX)
#undef XX
  default:
    return "unknown error";
  }
}

const char *exp_err_name(int err) {
  switch (err) {
  case EXP_OK:
    return "EXP_OK";
#define XX(name, value, msg)                                                   \
  case EXP_E##name:                                                            \
    return "EXP_E" #name;
    EXP_ERRNO_MAP(XX)
#undef XX
  default:
    return "EXP_EUNKNOWN";
  }
}

char *exp_strndup(const char *s, size_t n) {
  char *d;
  if (s == NULL)
    return NULL;
  d = exp_malloc(n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *exp_strdup(const char *s) {
  return s == NULL ? NULL : exp_strndup(s, strlen(s));
}
