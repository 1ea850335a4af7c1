/* Inverted dropout with per-document random streams. */
#include "nn/dropout.h"

#include "core/rng.h"

#include <math.h>
#include <string.h>

void dropout_forward(const compute_context *cc, float *out, uint8_t *mask, const float *inp, const size_t *n_valid,
                     size_t B, size_t N, float p, uint64_t seed)
{
    float scale = 1.0f / (1.0f - p);
    // Each 64-bit draw decides four elements, 16 bits each: p is rounded to a multiple of 2^-16.
    uint32_t threshold = (uint32_t)lrintf(p * 65536.0f);
    size_t first = cc->share ? cc->share->first : 0; /* a data-parallel share: its documents' places in the batch */
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t b = 0; b < B; b++) {
        size_t n = n_valid && n_valid[b] < N ? n_valid[b] : N;
        float *o = out + b * N;
        const float *x = inp + b * N;
        uint8_t *m = mask + b * N;
        rng r;
        rng_seed(&r, seed, first + b);
        for (size_t i = 0; i < n; i += 4) {
            uint64_t bits = rng_next(&r);
            for (size_t j = i; j < i + 4 && j < n; j++, bits >>= 16)
                m[j] = (bits & 0xffff) >= threshold;
        }
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            o[i] = m[i] ? x[i] * scale : 0.0f;
        memset(o + n, 0, (N - n) * sizeof(float));
    }
}

void dropout_backward(const compute_context *cc, float *dinp, const float *dout, const uint8_t *mask,
                      const size_t *n_valid, size_t B, size_t N, float p)
{
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t b = 0; b < B; b++) {
        size_t n = n_valid && n_valid[b] < N ? n_valid[b] : N;
#pragma omp simd
        for (size_t i = b * N; i < b * N + n; i++)
            dinp[i] = mask[i] ? dout[i] * scale : 0.0f;
        memset(dinp + b * N + n, 0, (N - n) * sizeof(float));
    }
}

uint64_t dropout_layer_seed(uint64_t seed, size_t index) { return seed ^ ((uint64_t)index * 0x9e3779b97f4a7c15ULL); }
