/* Word attention (Yang et al. 2016) with max and mean pooling over time, concatenated: for the states
 * s_t (D) of document b of length L,
 *   u_t = tanh(W s_t + b),  a = softmax_{t < L}(u_t . c),  Att = sum_t a_t s_t,
 *   Max = max_{t < L} s_t,  Mean = (1 / L) sum_{t < L} s_t,   out = [Att | Max | Mean] (3D).
 * W is (A, D) as nn.Linear(D, A), c (A) is the context vector. Positions t >= L take no part, so
 * padding never changes a result; a document of length 0 gets zeros. Max-pooling ties keep the
 * earliest position. */
#ifndef HFTC_NN_ATTENTION_H
#define HFTC_NN_ATTENTION_H

#include "core/compute.h"

#include <stddef.h>
#include <stdint.h>

// floats of scratch attention_backward needs, and of the cache the forward pass fills.
size_t attention_scratch_size(size_t B, size_t T, size_t A);
size_t attention_cache_size(size_t B, size_t T, size_t A);

// inp is (B,T,D), lengths (B) with lengths[b] <= T. Writes out (B, 3D) at row stride ld, argmax (B, D)
// (the winning position of each feature) and the cache (u and a). Uses BLAS: not inside an OpenMP region.
void attention_forward(const compute_context *cc, float *out, size_t ld, uint32_t *argmax, float *cache,
                       const float *inp, const size_t *lengths, const float *weight, const float *bias,
                       const float *context, size_t B, size_t T, size_t D, size_t A);

// dout is (B, 3D) at row stride ld. Adds into dinp (B,T,D), dweight (A,D), dbias (A), dcontext (A);
// dinp must be given, the others may be NULL to skip them.
void attention_backward(const compute_context *cc, float *dinp, float *dweight, float *dbias, float *dcontext,
                        const float *dout, size_t ld, const uint32_t *argmax, const float *cache, float *scratch,
                        const float *inp, const size_t *lengths, const float *weight, const float *context, size_t B,
                        size_t T, size_t D, size_t A);

#endif
