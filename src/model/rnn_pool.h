/* The pooling of a recurrent encoder's states (encoder_onlstm.c, encoder_bilstm.c; --rnn-pool): states (B, T, D)
 * over each document's valid positions t < L into features (B, D), and back. Kinds: the final state (columns
 * [0, forward) at t = L-1, a forward direction's last step; the others at t = 0, a backward direction's), the
 * per-column maximum (its position kept in argmax (B, D)) or the mean. An empty document's features are zero. */
#ifndef HFTC_MODEL_RNN_POOL_H
#define HFTC_MODEL_RNN_POOL_H

#include "model/network.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

void rnn_pool_forward(float *features, uint32_t *argmax, const float *states, const size_t *lengths, rnn_pool_kind kind,
                      size_t B, size_t T, size_t D, size_t forward);

// Sets dstates (B, T, D) to what dfeatures (B, D) sends back: zero where no feature came from.
void rnn_pool_backward(float *dstates, const float *dfeatures, const uint32_t *argmax, const size_t *lengths,
                       rnn_pool_kind kind, size_t B, size_t T, size_t D, size_t forward);

// The model file's config entry "rnn_pool": written; read back into c->rnn_pool ("last" when absent, as files
// before it), NULL or the key when it is not a pooling's name.
void rnn_pool_to_json(const network_config *c, json_t *j);
const char *rnn_pool_from_json(const json_t *j, network_config *c);

#endif
