/* Attention + max + mean pooling. The cache holds u (B*T, A) then a (B*T); the scratch holds the
 * gradient of the pre-activation W s_t + b (B*T, A) and of the scores (B*T). */
#include "nn/attention.h"

#include "core/compute.h"
#include "nn/activation.h"

#include <math.h>
#include <string.h>

size_t attention_scratch_size(size_t B, size_t T, size_t A) { return B * T * (A + 1); }

size_t attention_cache_size(size_t B, size_t T, size_t A) { return B * T * (A + 1); }

void attention_forward(const compute_context *cc, float *out, size_t ld, uint32_t *argmax, float *cache,
                       const float *inp, const size_t *lengths, const float *weight, const float *bias,
                       const float *context, size_t B, size_t T, size_t D, size_t A)
{
    size_t BT = B * T;
    float *u = cache, *alpha = cache + BT * A;
    for (size_t i = 0; i < BT; i++)
        memcpy(u + i * A, bias, A * sizeof(float));
    gemm(cc, false, true, BT, A, D, 1.0f, inp, D, weight, D, 1.0f, u, A);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b];
        float *o = out + b * ld, *a = alpha + b * T;
        memset(o, 0, 3 * D * sizeof(float));
        memset(a, 0, T * sizeof(float));
        memset(argmax + b * D, 0, D * sizeof(uint32_t));
        if (L == 0)
            continue;
        float top = -INFINITY;
        for (size_t t = 0; t < L; t++) {
            float *ut = u + (b * T + t) * A, e = 0.0f;
#pragma omp simd reduction(+ : e)
            for (size_t k = 0; k < A; k++) {
                ut[k] = act_tanh(ut[k]);
                e += ut[k] * context[k];
            }
            a[t] = e;
            top = e > top ? e : top;
        }
        float sum = 0.0f;
        for (size_t t = 0; t < L; t++) {
            a[t] = expf(a[t] - top);
            sum += a[t];
        }
        const float *s0 = inp + b * T * D;
        float *att = o, *mx = o + D, *mean = o + 2 * D;
        memcpy(mx, s0, D * sizeof(float));
        for (size_t t = 0; t < L; t++) {
            const float *s = inp + (b * T + t) * D;
            a[t] /= sum;
            for (size_t k = 0; k < D; k++) {
                att[k] += a[t] * s[k];
                mean[k] += s[k];
                if (s[k] > mx[k]) {
                    mx[k] = s[k];
                    argmax[b * D + k] = (uint32_t)t;
                }
            }
        }
        for (size_t k = 0; k < D; k++)
            mean[k] /= (float)L;
    }
}

void attention_backward(const compute_context *cc, float *dinp, float *dweight, float *dbias, float *dcontext,
                        const float *dout, size_t ld, const uint32_t *argmax, const float *cache, float *scratch,
                        const float *inp, const size_t *lengths, const float *weight, const float *context, size_t B,
                        size_t T, size_t D, size_t A)
{
    size_t BT = B * T;
    const float *u = cache, *alpha = cache + BT * A;
    float *dpre = scratch, *dscore = scratch + BT * A;
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b];
        const float *datt = dout + b * ld, *dmax = datt + D, *dmean = datt + 2 * D;
        const float *a = alpha + b * T;
        float *de = dscore + b * T, weighted = 0.0f;
        for (size_t t = 0; t < L; t++) {
            const float *s = inp + (b * T + t) * D;
            float *ds = dinp + (b * T + t) * D, da = 0.0f;
            for (size_t k = 0; k < D; k++) {
                da += datt[k] * s[k];
                ds[k] += a[t] * datt[k] + dmean[k] / (float)L;
            }
            de[t] = da; /* d loss / d a_t for now */
            weighted += a[t] * da;
        }
        for (size_t k = 0; k < D && L > 0; k++)
            dinp[(b * T + argmax[b * D + k]) * D + k] += dmax[k];
        for (size_t t = 0; t < T; t++) {
            float *dp = dpre + (b * T + t) * A;
            if (t >= L) {
                de[t] = 0.0f;
                memset(dp, 0, A * sizeof(float));
                continue;
            }
            de[t] = a[t] * (de[t] - weighted); /* softmax backward: d loss / d score_t */
            const float *ut = u + (b * T + t) * A;
            for (size_t k = 0; k < A; k++)
                dp[k] = de[t] * context[k] * (1.0f - ut[k] * ut[k]);
        }
    }
    if (dcontext) // dc = sum_{b,t} dscore[b,t] u[b,t]
        gemm(cc, true, false, A, 1, BT, 1.0f, u, A, dscore, 1, 1.0f, dcontext, 1);
    if (dweight)
        gemm(cc, true, false, A, D, BT, 1.0f, dpre, A, inp, D, 1.0f, dweight, D);
    if (dbias)
        add_column_sums(dbias, dpre, BT, A);
    gemm(cc, false, false, BT, D, A, 1.0f, dpre, A, weight, D, 1.0f, dinp, D);
}
