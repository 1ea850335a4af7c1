/* Ordered-neurons LSTM (Shen et al. 2019), one layer, batch-major, with the reference code's layout
 * (yikangshen/Ordered-Neurons, ONLSTMCell). H units in K = H / chunk chunks; G = 2K + 4H gate rows:
 *   g = W_ih x + b_ih + W_hh h + b_hh, rows [m_i (K) | m_f (K) | o | c^ | i | f (H each)]
 *   mi = 1 - cumax(m_i), mf = cumax(m_f), cumax(x) = cumsum(softmax(x))     (per chunk)
 *   o, i, f = sigmoid(.), c^ = tanh(.)
 *   w = mf * mi,  F = f * w + mf - w,  I = i * w + mi - w    (chunk values broadcast to its units)
 *   c' = F * c + I * c^,  h' = o * tanh(c')
 * which is the HFT-ONLSTM paper's equations (1)-(11); chunk 1 gives K = H, one master gate per unit.
 * Document b of length L runs t = 0 .. L-1 from h = c = 0; out[b, t] = h_t for t < L and zero for
 * t >= L, so padding never changes a result (the last state is out[b, L-1]).
 *
 * The input projection of all timesteps is one GEMM; only the recurrent product (rows, H) x (H, G)
 * stays in the time loop, and slices of the batch run the recurrence in parallel: call from outside
 * an OpenMP parallel region. */
#ifndef HFTC_NN_ONLSTM_H
#define HFTC_NN_ONLSTM_H

#include "core/compute.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const float *w_ih, *w_hh, *b_ih, *b_hh; /* (G, E), (G, H), (G), (G) */
} onlstm_weights;

typedef struct {
    float *w_ih, *w_hh, *b_ih, *b_hh; /* any may be NULL: that gradient is not computed */
} onlstm_grads;

// Gate rows: 2 H / chunk + 4 H.
size_t onlstm_gates(size_t H, size_t chunk);
// Whether a batch too small to slice splits each step's recurrent product over the threads: its weights are at least
// 1 MiB (H = 500: 4.2 MB), so two cores reading halves beat one reading all, two barriers a step included.
bool onlstm_splits_steps(size_t H, size_t chunk);

// floats of scratch onlstm_forward needs (training: and onlstm_backward); floats of the cache a
// training pass keeps.
size_t onlstm_scratch_size(size_t B, size_t T, size_t H, size_t chunk, bool training);
size_t onlstm_cache_size(size_t B, size_t T, size_t H, size_t chunk);

// inp is (B,T,E), lengths (B) with lengths[b] <= T; H a multiple of chunk. Writes out (B,T,H).
// cache: NULL for inference, else onlstm_cache_size floats the backward pass reads.
// projected: NULL, or the input products already computed (nn/word_cache.h): projected[b*T + t] is
// W_ih x (G, without b_ih) for t < lengths[b], and inp is not read.
void onlstm_forward(const compute_context *cc, float *out, float *cache, float *scratch, const float *inp,
                    const float *const *projected, const size_t *lengths, const onlstm_weights *w, size_t B, size_t T,
                    size_t E, size_t H, size_t chunk);

// dout is (B,T,H), out and cache as the forward pass left them. Adds into dinp (B,T,E) (NULL: skip)
// and the gradients g.
void onlstm_backward(const compute_context *cc, float *dinp, const onlstm_grads *g, const float *dout, const float *out,
                     const float *cache, float *scratch, const float *inp, const size_t *lengths,
                     const onlstm_weights *w, size_t B, size_t T, size_t E, size_t H, size_t chunk);

#endif
