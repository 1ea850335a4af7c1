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
/* The next 64 bits. Inline: dropout draws one for every four elements, 100,000 a step of Kim's CNN at 13 words. */
static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5, result = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}
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
/* A hash of the pair (hi, lo): splitmix64's output for the state hi * 2^32 + lo (z = state + 0x9e3779b97f4a7c15;
 * z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9; z = (z ^ z >> 27) * 0x94d049bb133111eb; z ^ z >> 31, all modulo 2^64):
 * well mixed, and the same on every platform. */
uint64_t rng_hash_pair(uint32_t hi, uint32_t lo);

#endif
