/*
 * options.h: the values set with exp_set_str/exp_set_int and their check
 * at exp_start (internal, no I/O).
 */
#ifndef EXP_OPTIONS_H
#define EXP_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "exp.h"

#define EXP_DEFAULT_HOST "https://api.goexp.io"

typedef struct exp_options {
  char *str[EXP_OPT_COUNT_];   /* string options; NULL when unset */
  int64_t num[EXP_OPT_COUNT_]; /* integer options, defaults filled in */
} exp_options;

void exp_options_init(exp_options *o);
void exp_options_free(exp_options *o);

/* EXP_EOPTIONS for an unknown option or one of the other type (msg says
 * which), EXP_ENOMEM.  NULL or "" clears a string option. */
int exp_options_set_str(exp_options *o, int opt, const char *value, char *msg,
                        size_t msg_size);
int exp_options_set_int(exp_options *o, int opt, int64_t value, char *msg,
                        size_t msg_size);

/* The option named key (EXP_OPTION_MAP's middle column); an integer's
 * value is its decimal text.  Errors as above, and EXP_EOPTIONS for an
 * unknown key or a value that is not an integer. */
int exp_options_set_key(exp_options *o, const char *key, const char *value,
                        char *msg, size_t msg_size);

/* The host option without trailing slashes, or the default. */
const char *exp_options_host(const exp_options *o);

/* Checks every value and the credentials, and says which credentials to
 * log in with (pointing into o).  EXP_EOPTIONS with msg naming the option,
 * e.g. "password: required for a user login". */
int exp_options_check(const exp_options *o, exp_auth_credentials *creds,
                      char *msg, size_t msg_size);

#endif
