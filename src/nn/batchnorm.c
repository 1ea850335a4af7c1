/* Batch normalisation (torch.nn.BatchNorm1d): statistics per feature, summed in double over the batch
 * in a fixed order, so results do not depend on the thread count; over every process's share of a batch in
 * data-parallel training (core/distributed.c sums them). */
#include "nn/batchnorm.h"

#include "core/distributed.h"

#include <math.h>

// A data-parallel share (cc->share): the batch's sums are those of every process's share added up, its size the
// whole batch's. Alone: the sums stay, and the size is B.
static size_t batch_total(const compute_context *cc, double *sums, size_t n, size_t B)
{
    if (!cc->share)
        return B;
    dist_sum_doubles(sums, n);
    return cc->share->total;
}

void batchnorm_forward_train(const compute_context *cc, float *y, float *xhat, float *inv_std, float *running_mean,
                             float *running_var, const float *x, const float *gamma, const float *beta, size_t B,
                             size_t N, double *sums)
{
    double *sum = sums, *sq = sums + N;
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t j = 0; j < N; j++) {
        sum[j] = 0.0;
        for (size_t b = 0; b < B; b++)
            sum[j] += x[b * N + j];
    }
    size_t total = batch_total(cc, sum, N, B);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t j = 0; j < N; j++) {
        double mean = sum[j] / (double)total;
        sq[j] = 0.0;
        for (size_t b = 0; b < B; b++)
            sq[j] += (x[b * N + j] - mean) * (x[b * N + j] - mean);
    }
    batch_total(cc, sq, N, B);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t j = 0; j < N; j++) {
        double mean = sum[j] / (double)total, var = sq[j] / (double)total;
        float is = (float)(1.0 / sqrt(var + BATCHNORM_EPS));
        inv_std[j] = is;
        for (size_t b = 0; b < B; b++) {
            float h = (float)(x[b * N + j] - mean) * is;
            xhat[b * N + j] = h;
            y[b * N + j] = gamma[j] * h + beta[j];
        }
        if (total > 1) {
            running_mean[j] += BATCHNORM_MOMENTUM * ((float)mean - running_mean[j]);
            running_var[j] += BATCHNORM_MOMENTUM * ((float)(sq[j] / (double)(total - 1)) - running_var[j]);
        }
    }
}

void batchnorm_forward_infer(float *y, const float *x, const float *gamma, const float *beta, const float *running_mean,
                             const float *running_var, size_t B, size_t N)
{
    for (size_t b = 0; b < B; b++)
        for (size_t j = 0; j < N; j++)
            y[b * N + j] =
                gamma[j] * (x[b * N + j] - running_mean[j]) / sqrtf(running_var[j] + BATCHNORM_EPS) + beta[j];
}

void batchnorm_backward(const compute_context *cc, float *dx, float *dgamma, float *dbeta, const float *dy,
                        const float *xhat, const float *inv_std, const float *gamma, size_t B, size_t N, double *sums)
{
    double *sum_dy = sums, *sum_dy_xhat = sums + N; /* adjacent: one reduction sums both */
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t j = 0; j < N; j++) {
        sum_dy[j] = sum_dy_xhat[j] = 0.0;
        for (size_t b = 0; b < B; b++) {
            sum_dy[j] += dy[b * N + j];
            sum_dy_xhat[j] += dy[b * N + j] * xhat[b * N + j];
        }
        // The share's own sums: the gradients' reduction adds the other shares'.
        if (dgamma)
            dgamma[j] += (float)sum_dy_xhat[j];
        if (dbeta)
            dbeta[j] += (float)sum_dy[j];
    }
    size_t total = batch_total(cc, sums, 2 * N, B);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t j = 0; j < N; j++) {
        // dx = gamma / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat))
        float scale = gamma[j] * inv_std[j], mean_dy = (float)(sum_dy[j] / (double)total);
        float mean_dy_xhat = (float)(sum_dy_xhat[j] / (double)total);
        for (size_t b = 0; b < B; b++)
            dx[b * N + j] = scale * (dy[b * N + j] - mean_dy - xhat[b * N + j] * mean_dy_xhat);
    }
}
