/* dl.c: loading a library's function table (dl.h). */
#include "dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

void *exp_dl_open(const char *what, const char *soname,
                  const exp_dl_symbol *symbols, size_t n, void *table, int *err,
                  char *msg, size_t msg_size) {
  size_t len = strlen(soname);
  const char *e;
  void *h;
  if (msg == NULL)
    msg_size = 0;
  /* RTLD_LOCAL: the functions are reached through the table only. */
  errno = 0;
  h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    *err = errno == ENOMEM ? EXP_ENOMEM : EXP_ETLS;
    e = dlerror();
    if (e == NULL)
      e = "cannot be loaded";
    /* dlerror names the library when it can; msg always does. */
    if (strncmp(e, soname, len) == 0 && strncmp(e + len, ": ", 2) == 0)
      e += len + 2;
    snprintf(msg, msg_size, "loading %s %s (mbedtls 2.28): %s", what, soname,
             e);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    void *p = dlsym(h, symbols[i].name);
    if (p == NULL) {
      snprintf(msg, msg_size, "%s %s has no %s", what, soname, symbols[i].name);
      dlclose(h);
      *err = EXP_ETLS;
      return NULL;
    }
    /* POSIX: dlsym's result converts to the function's pointer type. */
    memcpy((char *)table + symbols[i].offset, &p, sizeof(p));
  }
  return h;
}
