/* Bidirectional GRU, one layer, batch-major: exactly torch.nn.GRU(E, H, bidirectional=True,
 * batch_first=True) run on pack_padded_sequence input. Per direction, PyTorch's equations and layout:
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 * weight_ih (3H, E) and weight_hh (3H, H) hold the r, z, n rows in that order; bias_ih, bias_hh (3H).
 * Document b of length L: the forward direction runs t = 0 .. L-1, the backward one t = L-1 .. 0, both
 * from h = 0; out[b, t] = [h_fwd | h_bwd] (2H) for t < L and zero for t >= L, so padding never changes
 * a result.
 *
 * The input projections of all timesteps are one GEMM per direction; only the recurrent product
 * (rows, H) x (H, 3H) stays in the time loop. The two directions, and slices of the batch when there
 * are more threads, run the recurrence in parallel: call from outside an OpenMP parallel region. */
#ifndef HFTC_NN_GRU_H
#define HFTC_NN_GRU_H

#include "core/compute.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const float *w_ih, *w_hh, *b_ih, *b_hh;
} gru_weights;

typedef struct {
    float *w_ih, *w_hh, *b_ih, *b_hh; /* any may be NULL: that gradient is not computed */
} gru_grads;

// floats of scratch gru_forward needs (training: and gru_backward); floats of the cache a training
// pass keeps.
size_t gru_scratch_size(size_t B, size_t T, size_t H, bool training);
size_t gru_cache_size(size_t B, size_t T, size_t H);

// inp is (B,T,E), lengths (B) with lengths[b] <= T, w[0] the forward and w[1] the backward direction.
// Writes out (B,T,2H). cache: NULL for inference, else gru_cache_size floats the backward pass reads.
// projected: NULL, or the input projections already computed (nn/word_cache.h): projected[b*T + t] is
// [W_ih x of the forward direction | of the backward one] (6H, no bias) for t < lengths[b], and inp is
// not read.
void gru_forward(const compute_context *cc, float *out, float *cache, float *scratch, const float *inp,
                 const float *const *projected, const size_t *lengths, const gru_weights w[2], size_t B, size_t T,
                 size_t E, size_t H);

// dout is (B,T,2H), out and cache as the forward pass left them. Adds into dinp (B,T,E) (NULL: skip)
// and the gradients g[0], g[1].
void gru_backward(const compute_context *cc, float *dinp, const gru_grads g[2], const float *dout, const float *out,
                  const float *cache, float *scratch, const float *inp, const size_t *lengths, const gru_weights w[2],
                  size_t B, size_t T, size_t E, size_t H);

#endif
