/* Sigmoid + BCE and softmax + cross-entropy, with their gradients. Sums run in double, in a fixed
 * order, so the loss does not depend on the thread count. */
#include "nn/loss.h"

#include "core/compute.h"

#include <math.h>

// Rows are taken in chunks of LOSS_ROWS: each chunk's rows in parallel, each row's terms summed in double in the
// order of its columns, then the chunk's row sums added in row order. The sums are the same for any thread count.
#define LOSS_ROWS 256
#define LOSS_PARALLEL_TERMS 4096 /* below this many terms a chunk runs on one thread */

// The terms of row b: probs, dlogits (if not NULL) and, with targets, the row's share of the loss.
static double sigmoid_bce_row(float *probs, float *dlogits, const float *logits, const float *targets,
                              const float *pos_weight, size_t b, size_t C, double inv_n)
{
    double total = 0.0;
    for (size_t c = 0; c < C; c++) {
        size_t i = b * C + c;
        double x = logits[i];
        // sigmoid(x) and sigmoid(-x) both from exp(-|x|): neither overflows nor cancels.
        double e = exp(-fabs(x)), small = e / (1.0 + e), large = 1.0 / (1.0 + e);
        double s = x >= 0.0 ? large : small, s_neg = x >= 0.0 ? small : large;
        probs[i] = (float)s;
        if (!targets)
            continue;
        double y = targets[i], w = pos_weight ? 1.0 + ((double)pos_weight[c] - 1.0) * y : 1.0;
        total += (1.0 - y) * x + w * ((x < 0.0 ? -x : 0.0) + log1p(e)); // w softplus(-x)
        if (dlogits)
            dlogits[i] = (float)(((1.0 - y) - w * s_neg) * inv_n);
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
