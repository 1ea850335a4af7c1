/* Inverted dropout: kept elements are scaled by 1 / (1 - p) during training, so inference is the
 * identity. The mask of document b comes from its own stream rng_seed(seed, b), drawn in element
 * order, so it depends neither on the thread count nor on how much padding follows the document; in a
 * data-parallel share of a batch (cc->share), b counts from the share's first document, so that the masks are
 * those of the whole batch in one process. */
#ifndef HFTC_NN_DROPOUT_H
#define HFTC_NN_DROPOUT_H

#include "core/compute.h"

#include <stddef.h>
#include <stdint.h>

// inp, out are (B,N), mask is (B,N) (1 = kept), n_valid is (B) or NULL (all N).
// Only the first n_valid[b] elements of row b are drawn; the rest of the row is written as zero.
// 0 <= p < 1, used rounded to a multiple of 2^-16. out may be inp.
void dropout_forward(const compute_context *cc, float *out, uint8_t *mask, const float *inp, const size_t *n_valid,
                     size_t B, size_t N, float p, uint64_t seed);

// dout, dinp are (B,N). Writes (does not add) dinp = dout * mask / (1 - p), zero past n_valid[b],
// so that it can run in place (dinp == dout) like the forward pass.
void dropout_backward(const compute_context *cc, float *dinp, const float *dout, const uint8_t *mask,
                      const size_t *n_valid, size_t B, size_t N, float p);

// The seed of the index-th dropout layer of a network from the seed of a training step, so that the
// layers' masks are independent.
uint64_t dropout_layer_seed(uint64_t seed, size_t index);

#endif
