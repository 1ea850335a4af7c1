/* Embedding lookup: token ids to rows of a (V, E) table. The backward pass is row-sparse and
 * deterministic: positions are bucketed by token id (a counting sort), then each touched row sums
 * its positions in order, one thread per row, into a compact gradient of the touched rows alone.
 * Row 0 (<pad>) never receives a gradient. */
#ifndef HFTC_NN_EMBEDDING_H
#define HFTC_NN_EMBEDDING_H

#include "core/compute.h"

#include <stddef.h>
#include <stdint.h>

// out is (B,T,E), tokens is (B,T) with ids < V, lengths is (B), weight is (V,E).
// Rows at t >= lengths[b] are written as zeros whatever their token, so padding never matters.
void embedding_forward(const compute_context *cc, float *out, const uint32_t *tokens, const size_t *lengths,
                       const float *weight, size_t B, size_t T, size_t E);

// uint32 elements of scratch that embedding_backward needs.
size_t embedding_scratch_size(size_t B, size_t T, size_t V);

// dout is (B,T,E), tokens is (B,T), lengths is (B); dweight is a row-sparse gradient (nn/params.h) of a (V,E)
// table: its row j the gradient of row rows[j].
// Adds the gradient of every position t < lengths[b] with a token other than 0 into its row's gradient.
// rows/n_rows is the sorted, unique list of rows holding gradient: on entry the rows touched by earlier calls
// since the gradient was last consumed, on return their union with the rows of this batch (earlier rows'
// gradients moved to their new places), which dweight and rows must have room for (min(V, B x T) when the
// gradient was consumed).
void embedding_backward(const compute_context *cc, float *dweight, uint32_t *rows, size_t *n_rows, uint32_t *scratch,
                        const float *dout, const uint32_t *tokens, const size_t *lengths, size_t B, size_t T, size_t E,
                        size_t V);

#endif
