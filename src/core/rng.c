/* xoshiro256** by Blackman and Vigna; splitmix64 seeding. */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t rng_hash_pair(uint32_t hi, uint32_t lo)
{
    uint64_t x = (uint64_t)hi << 32 | lo;
    return splitmix64(&x);
}

void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

float rng_float(rng *r) { return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f); }

float rng_uniform(rng *r, float lo, float hi) { return lo + (hi - lo) * rng_float(r); }

float rng_normal(rng *r)
{
    double u1 = ((double)(rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

size_t rng_below(rng *r, size_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = rng_next(r);
    while (x >= limit);
    return (size_t)(x % n);
}

void rng_shuffle(rng *r, size_t *items, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(r, i);
        size_t t = items[i - 1];
        items[i - 1] = items[j];
        items[j] = t;
    }
}
