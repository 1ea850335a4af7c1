/* Deterministic random numbers (xoshiro256**, seeded by splitmix64). Independent streams for
 * threads or documents come from rng_seed(seed, stream), so results do not depend on scheduling. */
#ifndef HFTC_CORE_RNG_H
#define HFTC_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng;

void rng_seed(rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(rng *r);
/* Uniform in [0, 1) with 24 random bits. */
float rng_float(rng *r);
/* Uniform in [lo, hi). */
float rng_uniform(rng *r, float lo, float hi);
/* Standard normal (Box-Muller). */
float rng_normal(rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
size_t rng_below(rng *r, size_t n);
/* Fisher-Yates shuffle of n indices. */
void rng_shuffle(rng *r, size_t *items, size_t n);

#endif
