/* Batch normalisation (torch.nn.BatchNorm1d): statistics per feature, summed in double over the batch
 * in a fixed order, so results do not depend on the thread count. */
#include "nn/batchnorm.h"

#include <math.h>

void batchnorm_forward_train(const compute_context *cc, float *y, float *xhat, float *inv_std, float *running_mean,
                             float *running_var, const float *x, const float *gamma, const float *beta, size_t B,
                             size_t N)
{
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t j = 0; j < N; j++) {
        double sum = 0.0, sq = 0.0;
        for (size_t b = 0; b < B; b++)
            sum += x[b * N + j];
        double mean = sum / (double)B;
        for (size_t b = 0; b < B; b++)
            sq += (x[b * N + j] - mean) * (x[b * N + j] - mean);
        double var = sq / (double)B;
        float is = (float)(1.0 / sqrt(var + BATCHNORM_EPS));
        inv_std[j] = is;
        for (size_t b = 0; b < B; b++) {
            float h = (float)(x[b * N + j] - mean) * is;
            xhat[b * N + j] = h;
            y[b * N + j] = gamma[j] * h + beta[j];
        }
        if (B > 1) {
            running_mean[j] += BATCHNORM_MOMENTUM * ((float)mean - running_mean[j]);
            running_var[j] += BATCHNORM_MOMENTUM * ((float)(sq / (double)(B - 1)) - running_var[j]);
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
                        const float *xhat, const float *inv_std, const float *gamma, size_t B, size_t N)
{
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t j = 0; j < N; j++) {
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (size_t b = 0; b < B; b++) {
            sum_dy += dy[b * N + j];
            sum_dy_xhat += dy[b * N + j] * xhat[b * N + j];
        }
        if (dgamma)
            dgamma[j] += (float)sum_dy_xhat;
        if (dbeta)
            dbeta[j] += (float)sum_dy;
        // dx = gamma / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat))
        float scale = gamma[j] * inv_std[j], mean_dy = (float)(sum_dy / (double)B);
        float mean_dy_xhat = (float)(sum_dy_xhat / (double)B);
        for (size_t b = 0; b < B; b++)
            dx[b * N + j] = scale * (dy[b * N + j] - mean_dy - xhat[b * N + j] * mean_dy_xhat);
    }
}
