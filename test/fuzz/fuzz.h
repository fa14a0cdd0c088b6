/*
 * fuzz.h: what the libFuzzer targets share: the entry point's prototype, a
 * reader that takes control bytes off the front of the input, and a check
 * that stops the run when an invariant of the code under test is broken.
 */
#ifndef EXP_FUZZ_H
#define EXP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input not yet taken.  Taking past the end gives zeros, so every input
 * is a valid script. */
typedef struct fuzz_in {
  const uint8_t *p;
  size_t n;
} fuzz_in;

static inline uint8_t fuzz_u8(fuzz_in *in) {
  uint8_t b = 0;
  if (in->n > 0) {
    b = in->p[0];
    in->p++;
    in->n--;
  }
  return b;
}

static inline uint16_t fuzz_u16(fuzz_in *in) {
  uint16_t hi = fuzz_u8(in);
  return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* How to cut a message into the chunks it arrives in: up to FUZZ_MAX_CUTS
 * cuts, each a fraction (in 256ths) of what is left after the previous one,
 * so that the fuzzer explores every split, empty chunks included. */
#define FUZZ_MAX_CUTS 8

typedef struct fuzz_cuts {
  size_t k;
  uint8_t frac[FUZZ_MAX_CUTS];
} fuzz_cuts;

static inline void fuzz_take_cuts(fuzz_in *in, fuzz_cuts *c) {
  c->k = fuzz_u8(in) % (FUZZ_MAX_CUTS + 1);
  for (size_t i = 0; i < c->k; i++)
    c->frac[i] = fuzz_u8(in);
}

/* The length of chunk i when left bytes remain; the last chunk takes them
 * all. */
static inline size_t fuzz_chunk(const fuzz_cuts *c, size_t i, size_t left) {
  return i < c->k ? left * c->frac[i] / 256 : left;
}

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#endif
