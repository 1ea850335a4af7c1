/* Output losses, each fused with its output non-linearity:
 * - sigmoid + binary cross-entropy, exactly torch.nn.BCEWithLogitsLoss(pos_weight, reduction='mean'):
 *   mean over B*C of (1 - y) x + (1 + (w - 1) y) softplus(-x), computed without overflow;
 * - softmax + cross-entropy with target distributions: mean over B of -sum_c y_c log softmax(x)_c
 *   (torch.nn.CrossEntropyLoss with one-hot or probability targets). */
#ifndef HFTC_NN_LOSS_H
#define HFTC_NN_LOSS_H

#include "core/compute.h"

#include <stddef.h>

// The loss is a mean over B_mean documents (B, or a data-parallel batch's total of which these B are a share):
// the shares' losses and gradients then sum to the whole batch's.
// logits, targets, probs, dlogits are (B,C); pos_weight is (C) or NULL (all 1).
// Rows run on cc's threads; the loss is the same for any thread count.
// Writes probs = sigmoid(logits) and, if dlogits is not NULL, d(loss)/d(logits). Returns the loss;
// with targets NULL only probs are computed and 0 is returned.
float loss_sigmoid_bce(const compute_context *cc, float *probs, float *dlogits, const float *logits,
                       const float *targets, const float *pos_weight, size_t B, size_t C, size_t B_mean);

// logits, targets, probs, dlogits are (B,C); each target row is a distribution (one-hot for
// single-label data). Writes probs = softmax(logits) and, if dlogits is not NULL, d(loss)/d(logits).
// Returns the loss; with targets NULL only probs are computed and 0 is returned.
float loss_softmax_ce(const compute_context *cc, float *probs, float *dlogits, const float *logits,
                      const float *targets, size_t B, size_t C, size_t B_mean);

#endif
