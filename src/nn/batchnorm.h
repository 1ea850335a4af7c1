/* Batch normalisation over the batch dimension of (B, N) features, exactly torch.nn.BatchNorm1d(N)
 * (eps 1e-5, momentum 0.1):
 *   training:  y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta, var_B the biased batch variance;
 *              running_mean += momentum * (mean_B - running_mean), running_var likewise with the
 *              unbiased variance var_B * B / (B - 1)
 *   inference: the same with running_mean and running_var.
 * A training batch of one document normalises to beta (its variance is 0) and leaves the running
 * statistics as they are (PyTorch refuses such a batch).
 * In a data-parallel share of a batch (cc->share) the statistics are the whole batch's: every process sums its
 * share's and the sums are added across the processes (a share may be empty, B = 0: it still takes part), so each
 * process normalises and updates the running statistics as one process would with the whole batch. sums: room for
 * 2N doubles, the statistics' scratch. */
#ifndef HFTC_NN_BATCHNORM_H
#define HFTC_NN_BATCHNORM_H

#include "core/compute.h"

#include <stddef.h>

#define BATCHNORM_EPS 1e-5f
#define BATCHNORM_MOMENTUM 0.1f

// x, y (B, N); y may be x. Keeps xhat (B, N) and inv_std (N) for the backward pass.
void batchnorm_forward_train(const compute_context *cc, float *y, float *xhat, float *inv_std, float *running_mean,
                             float *running_var, const float *x, const float *gamma, const float *beta, size_t B,
                             size_t N, double *sums);

// x, y (B, N); y may be x.
void batchnorm_forward_infer(float *y, const float *x, const float *gamma, const float *beta, const float *running_mean,
                             const float *running_var, size_t B, size_t N);

// Writes dx (B, N) (may be dy); adds into dgamma, dbeta (N) unless NULL (a share's: its own documents' part).
void batchnorm_backward(const compute_context *cc, float *dx, float *dgamma, float *dbeta, const float *dy,
                        const float *xhat, const float *inv_std, const float *gamma, size_t B, size_t N, double *sums);

#endif
