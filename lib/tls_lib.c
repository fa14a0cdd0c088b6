/* tls_lib.c: loads libmbedtls (and with it libmbedx509) on first use. */
#define EXP_TLS_LIB_IMPL
#include "tls_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

exp_tls_lib exp_tls_lib_fns;

/* Loops may run on several threads, and their first TLS configurations
 * with them. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int loaded;

static const struct {
  const char *name;
  size_t offset;
} symbols[] = {
#define EXP_TLS_LIB_SYMBOL(f) {#f, offsetof(exp_tls_lib, f)},
    EXP_TLS_LIB_FUNCTIONS(EXP_TLS_LIB_SYMBOL)
#undef EXP_TLS_LIB_SYMBOL
};

/* Opens the library and fills fns.  0 or an EXP_ code with msg set. */
static int load(exp_tls_lib *fns, char *msg, size_t msg_size) {
  const char *e;
  void *h;
  if (msg == NULL)
    msg_size = 0;
  /* RTLD_LOCAL: the functions are reached through fns only; their own
   * libmbedcrypto is the one already loaded for libexpsdk. */
  errno = 0;
  h = dlopen(EXP_TLS_LIB_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    int oom = errno == ENOMEM;
    size_t n = strlen(EXP_TLS_LIB_SONAME);
    e = dlerror();
    if (e == NULL)
      e = "cannot be loaded";
    /* dlerror names the library when it can; msg always does. */
    if (strncmp(e, EXP_TLS_LIB_SONAME ": ", n + 2) == 0)
      e += n + 2;
    snprintf(msg, msg_size, "loading the TLS library %s (mbedtls 2.28): %s",
             EXP_TLS_LIB_SONAME, e);
    return oom ? EXP_ENOMEM : EXP_ETLS;
  }
  for (size_t i = 0; i < EXP_ARRAY_SIZE(symbols); i++) {
    void *p = dlsym(h, symbols[i].name);
    if (p == NULL) {
      snprintf(msg, msg_size, "the TLS library %s has no %s",
               EXP_TLS_LIB_SONAME, symbols[i].name);
      dlclose(h);
      return EXP_ETLS;
    }
    /* POSIX: dlsym's result converts to the function's pointer type. */
    memcpy((char *)fns + symbols[i].offset, &p, sizeof(p));
  }
  /* The handle stays open for the process's lifetime. */
  return 0;
}

int exp_tls_lib_load(char *msg, size_t msg_size) {
  exp_tls_lib fns;
  int r = 0;
  pthread_mutex_lock(&lock);
  if (!loaded && (r = load(&fns, msg, msg_size)) == 0) {
    exp_tls_lib_fns = fns;
    loaded = 1;
  }
  pthread_mutex_unlock(&lock);
  return r;
}
