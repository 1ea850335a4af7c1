/* Bidirectional LSTM, one layer, batch-major: exactly torch.nn.LSTM(E, H, bidirectional=True,
 * batch_first=True) run on pack_padded_sequence input. Per direction, PyTorch's equations and layout:
 *   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      f = sigmoid(W_if x + b_if + W_hf h + b_hf)
 *   g = tanh(W_ig x + b_ig + W_hg h + b_hg)         o = sigmoid(W_io x + b_io + W_ho h + b_ho)
 *   c' = f * c + i * g,  h' = o * tanh(c')
 * weight_ih (4H, E) and weight_hh (4H, H) hold the i, f, g, o rows in that order; bias_ih, bias_hh (4H).
 * (An ON-LSTM whose master gates are all 1 is this cell: src/nn/onlstm.h.)
 * Document b of length L: the forward direction runs t = 0 .. L-1, the backward one t = L-1 .. 0, both
 * from h = c = 0; out[b, t] = [h_fwd | h_bwd] (2H) for t < L and zero for t >= L, so padding never
 * changes a result (the final states are out[b, L-1] forward and out[b, 0] backward).
 *
 * As the BiGRU (gru.h): the input projections of all timesteps are one GEMM per direction, only the
 * recurrent product (rows, H) x (H, 4H) stays in the time loop, and the two directions and slices of
 * the batch run the recurrence in parallel: call from outside an OpenMP parallel region. */
#ifndef HFTC_NN_LSTM_H
#define HFTC_NN_LSTM_H

#include "core/compute.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const float *w_ih, *w_hh, *b_ih, *b_hh;
} lstm_weights;

typedef struct {
    float *w_ih, *w_hh, *b_ih, *b_hh; /* any may be NULL: that gradient is not computed */
} lstm_grads;

// floats of scratch lstm_forward needs (training: and lstm_backward); floats of the cache a training
// pass keeps.
size_t lstm_scratch_size(size_t B, size_t T, size_t H, bool training);
size_t lstm_cache_size(size_t B, size_t T, size_t H);

// inp is (B,T,E), lengths (B) with lengths[b] <= T, w[0] the forward and w[1] the backward direction.
// Writes out (B,T,2H). cache: NULL for inference, else lstm_cache_size floats the backward pass reads.
// projected: NULL, or the input projections already computed (nn/word_cache.h): projected[b*T + t] is
// [W_ih x of the forward direction | of the backward one] (8H, no bias) for t < lengths[b], and inp is
// not read.
void lstm_forward(const compute_context *cc, float *out, float *cache, float *scratch, const float *inp,
                  const float *const *projected, const size_t *lengths, const lstm_weights w[2], size_t B, size_t T,
                  size_t E, size_t H);

// dout is (B,T,2H), out and cache as the forward pass left them. Adds into dinp (B,T,E) (NULL: skip)
// and the gradients g[0], g[1].
void lstm_backward(const compute_context *cc, float *dinp, const lstm_grads g[2], const float *dout, const float *out,
                   const float *cache, float *scratch, const float *inp, const size_t *lengths, const lstm_weights w[2],
                   size_t B, size_t T, size_t E, size_t H);

#endif
