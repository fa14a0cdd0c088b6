/*
 * dl.h: a shared library's functions, looked up by name into a table
 * (internal).
 *
 * The SDK links none of mbedtls: libmbedtls is loaded with the first TLS
 * configuration (tls_lib.h), libmbedcrypto for each hash it computes
 * (crypto.h).  Both load through here, so that a missing or broken
 * library reads the same way wherever it is met.
 */
#ifndef EXP_DL_H
#define EXP_DL_H

#include <stddef.h>

/* A function of the library and where its address goes in the table. */
typedef struct exp_dl_symbol {
  const char *name;
  size_t offset;
} exp_dl_symbol;

/* For a function list X(f) whose functions are declared in scope: the
 * table's members (X(EXP_DL_TABLE_MEMBER) in its struct) and its symbol
 * list's entries (through a one-argument wrapper of EXP_DL_SYMBOL). */
#define EXP_DL_TABLE_MEMBER(f) __typeof__(f) *f;
#define EXP_DL_SYMBOL(type, f) {#f, offsetof(type, f)},

/* Opens soname (RTLD_NOW | RTLD_LOCAL) and stores each symbol's address
 * in table.  Returns the handle for dlclose, or NULL with *err set to
 * EXP_ENOMEM (the loader ran out of memory) or EXP_ETLS and msg naming
 * what ("the TLS library"), soname and why. */
void *exp_dl_open(const char *what, const char *soname,
                  const exp_dl_symbol *symbols, size_t n, void *table, int *err,
                  char *msg, size_t msg_size);

#endif
