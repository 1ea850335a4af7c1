/* Sigmoid + BCE and softmax + cross-entropy, with their gradients. Sums run in double, in a fixed
 * order, so the loss does not depend on the thread count. */
#include "nn/loss.h"

#include <math.h>

float loss_sigmoid_bce(float *probs, float *dlogits, const float *logits, const float *targets, const float *pos_weight,
                       size_t B, size_t C, size_t B_mean)
{
    double total = 0.0, inv_n = 1.0 / (double)(B_mean * C);
    for (size_t i = 0; i < B * C; i++) {
        double x = logits[i];
        // sigmoid(x) and sigmoid(-x) both from exp(-|x|): neither overflows nor cancels.
        double e = exp(-fabs(x)), small = e / (1.0 + e), large = 1.0 / (1.0 + e);
        double s = x >= 0.0 ? large : small, s_neg = x >= 0.0 ? small : large;
        probs[i] = (float)s;
        if (!targets)
            continue;
        double y = targets[i], w = pos_weight ? 1.0 + ((double)pos_weight[i % C] - 1.0) * y : 1.0;
        total += (1.0 - y) * x + w * ((x < 0.0 ? -x : 0.0) + log1p(e)); // w softplus(-x)
        if (dlogits)
            dlogits[i] = (float)(((1.0 - y) - w * s_neg) * inv_n);
    }
    return (float)(total * inv_n);
}

float loss_softmax_ce(float *probs, float *dlogits, const float *logits, const float *targets, size_t B, size_t C,
                      size_t B_mean)
{
    double total = 0.0;
    for (size_t b = 0; b < B; b++) {
        const float *x = logits + b * C;
        double max = x[0], sum = 0.0;
        for (size_t c = 1; c < C; c++)
            max = x[c] > max ? x[c] : max;
        for (size_t c = 0; c < C; c++)
            sum += exp(x[c] - max);
        double lse = max + log(sum), mass = 0.0;
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
    }
    return targets ? (float)(total / (double)B_mean) : 0.0f;
}
