/* tls_lib.c: loads libmbedtls (and with it libmbedx509 and libmbedcrypto)
 * on first use. */
#define EXP_TLS_LIB_IMPL
#include "tls_lib.h"

#include <pthread.h>

#include "common.h"

exp_tls_lib exp_tls_lib_fns;

/* Loops may run on several threads, and their first TLS configurations
 * with them. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded;

#define SYMBOL(f) EXP_DL_SYMBOL(exp_tls_lib, f)
static const exp_dl_symbol symbols[] = {EXP_TLS_LIB_FUNCTIONS(SYMBOL)};

int exp_tls_lib_load(char *msg, size_t msg_size) {
  exp_tls_lib fns;
  int r = 0;
  pthread_mutex_lock(&lock);
  /* The handle stays open for the process's lifetime. */
  if (!loaded &&
      exp_dl_open("the TLS library", EXP_TLS_LIB_SONAME, symbols,
                  EXP_ARRAY_SIZE(symbols), &fns, &r, msg, msg_size) != NULL) {
    exp_tls_lib_fns = fns;
    loaded = 1;
  }
  pthread_mutex_unlock(&lock);
  return r;
}
