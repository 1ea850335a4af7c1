/* Plain stochastic gradient descent, the optimiser of fastText (Joulin et al. 2017): value -= rate x grad,
 * row-sparse tensors (embeddings, ngram's buckets) only in the rows a batch touched. It keeps no state: no
 * moments are written, so their memory is never touched (a 1M-bucket table costs its value and gradient
 * only). Gradients are zeroed as they are consumed, as adam_step does. */
#ifndef HFTC_NN_SGD_H
#define HFTC_NN_SGD_H

#include "core/compute.h"
#include "nn/adam.h"
#include "nn/params.h"

/* One step over ps with Adam's parameter groups (their learning rates and frozen flags; a tensor's group
 * beyond n_groups is group 0): each tensor moves by -(its group's lr x scale) x grad. scale carries the
 * schedule and the loss's normalisation (train/trainer.c). */
void sgd_step(const param_group *groups, size_t n_groups, const compute_context *cc, param_set *ps, float scale);

/* The factor that makes a batch's mean loss (over its B documents, and its C outputs where the loss averages
 * over them too, as the sigmoid head's BCE does) the sum fastText steps by: each document's loss summed over
 * its outputs, summed over the batch. */
static inline double sgd_sum_scale(size_t B, size_t C, bool mean_over_outputs)
{
    return (double)B * (mean_over_outputs ? (double)C : 1.0);
}

#endif
