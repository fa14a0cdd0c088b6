/*
 * version.c: the library's version at run time, from the same macros
 * programs compile against.
 */
#include "common.h"

unsigned exp_version(void) {
  return EXP_VERSION_NUMBER;
}

const char *exp_version_string(void) {
  return EXP_VERSION_STRING;
}
