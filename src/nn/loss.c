/* Sigmoid + BCE and softmax + cross-entropy, with their gradients. Sums run in double, in a fixed
 * order, so the loss does not depend on the thread count. */
#include "nn/loss.h"

#include "core/compute.h"

#include <math.h>

// Rows are taken in chunks of LOSS_ROWS: each chunk's rows in parallel, each row's terms summed in double in the
// order of its columns, then the chunk's row sums added in row order. The sums are the same for any thread count.
#define LOSS_ROWS 256
#define LOSS_PARALLEL_TERMS 4096 /* below this many terms a chunk runs on one thread */

// The weight of column c's term for target y: pos_weight[c] on a positive, 1 on a negative (BCEWithLogitsLoss's).
static inline double bce_weight(const float *pos_weight, size_t c, double y)
{
    return pos_weight ? 1.0 + ((double)pos_weight[c] - 1.0) * y : 1.0;
}

// The terms of row b: probs, dlogits (if not NULL) and, with targets, the row's share of the loss. Columns a chunk
// at a time: exp and log1p are libm's scalar calls, and the divisions between them run on vectors (each an IEEE
// division: the same bits as one at a time; a scalar double division took as long as the exp).
static double sigmoid_bce_row(float *probs, float *dlogits, const float *logits, const float *targets,
                              const float *pos_weight, size_t b, size_t C, double inv_n)
{
    enum { chunk = 64 };
    double total = 0.0;
    for (size_t c0 = 0; c0 < C; c0 += chunk) {
        size_t n = C - c0 < chunk ? C - c0 : chunk, i0 = b * C + c0;
        const float *x = logits + i0;
        double e[chunk];
        // sigmoid(x) and sigmoid(-x) both from exp(-|x|): neither overflows nor cancels.
        for (size_t j = 0; j < n; j++)
            e[j] = exp(-fabs((double)x[j]));
#pragma omp simd
        for (size_t j = 0; j < n; j++)
            probs[i0 + j] = (float)(x[j] >= 0.0f ? 1.0 / (1.0 + e[j]) : e[j] / (1.0 + e[j]));
        if (targets && dlogits) {
            const float *y = targets + i0;
#pragma omp simd
            for (size_t j = 0; j < n; j++) {
                double s_neg = x[j] >= 0.0f ? e[j] / (1.0 + e[j]) : 1.0 / (1.0 + e[j]);
                dlogits[i0 + j] = (float)(((1.0 - y[j]) - bce_weight(pos_weight, c0 + j, y[j]) * s_neg) * inv_n);
            }
        }
        for (size_t j = 0; targets && j < n; j++) {
            double xj = x[j], y = targets[i0 + j], w = bce_weight(pos_weight, c0 + j, y);
            total += (1.0 - y) * xj + w * ((xj < 0.0 ? -xj : 0.0) + log1p(e[j])); // w softplus(-x)
        }
    }
    return total;
}

float loss_sigmoid_bce(const compute_context *cc, float *probs, float *dlogits, const float *logits,
                       const float *targets, const float *pos_weight, size_t B, size_t C, size_t B_mean)
{
    double total = 0.0, inv_n = 1.0 / (double)(B_mean * C), row_total[LOSS_ROWS];
    for (size_t b0 = 0; b0 < B; b0 += LOSS_ROWS) {
        size_t nb = B - b0 < LOSS_ROWS ? B - b0 : LOSS_ROWS;
#pragma omp parallel for schedule(static) num_threads(cc->threads) if (nb * C >= LOSS_PARALLEL_TERMS)
        for (size_t j = 0; j < nb; j++)
            row_total[j] = sigmoid_bce_row(probs, dlogits, logits, targets, pos_weight, b0 + j, C, inv_n);
        for (size_t j = 0; j < nb; j++)
            total += row_total[j];
    }
    return targets ? (float)(total * inv_n) : 0.0f;
}

// Row b of the softmax: probs, dlogits (if not NULL) and, with targets, the row's cross-entropy.
static double softmax_ce_row(float *probs, float *dlogits, const float *logits, const float *targets, size_t b,
                             size_t C, size_t B_mean)
{
    const float *x = logits + b * C;
    double max = x[0], sum = 0.0, total = 0.0, mass = 0.0;
    for (size_t c = 1; c < C; c++)
        max = x[c] > max ? x[c] : max;
    for (size_t c = 0; c < C; c++)
        sum += exp(x[c] - max);
    double lse = max + log(sum);
    for (size_t c = 0; c < C; c++) {
        probs[b * C + c] = (float)(exp(x[c] - max) / sum);
        if (targets) {
            total -= targets[b * C + c] * (x[c] - lse);
            mass += targets[b * C + c];
        }
    }
    if (targets && dlogits)
        for (size_t c = 0; c < C; c++)
            dlogits[b * C + c] = (float)((exp(x[c] - max) / sum * mass - targets[b * C + c]) / (double)B_mean);
    return total;
}

float loss_softmax_ce(const compute_context *cc, float *probs, float *dlogits, const float *logits,
                      const float *targets, size_t B, size_t C, size_t B_mean)
{
    double total = 0.0, row_total[LOSS_ROWS];
    for (size_t b0 = 0; b0 < B; b0 += LOSS_ROWS) {
        size_t nb = B - b0 < LOSS_ROWS ? B - b0 : LOSS_ROWS;
#pragma omp parallel for schedule(static) num_threads(cc->threads) if (nb * C >= LOSS_PARALLEL_TERMS)
        for (size_t j = 0; j < nb; j++)
            row_total[j] = softmax_ce_row(probs, dlogits, logits, targets, b0 + j, C, B_mean);
        for (size_t j = 0; j < nb; j++)
            total += row_total[j];
    }
    return targets ? (float)(total / (double)B_mean) : 0.0f;
}
