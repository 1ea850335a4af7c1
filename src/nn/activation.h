/* Element-wise activations.
 *
 * act_exp, act_sigmoid and act_tanh are inline, branch-free single-precision versions that the
 * compiler vectorises inside the recurrent and attention loops (glibc's expf/tanhf are scalar calls:
 * tanhf alone was a quarter of the BiGRU's training time). Cephes' polynomials; test_activation
 * measures them against double precision: act_exp within 1 ulp on [-87, 87] (0 below, finite above, NaN for NaN),
 * act_sigmoid within 2.4 ulp, act_tanh within 8e-8 absolute (1 ulp below 0.625). */
#ifndef HFTC_NN_ACTIVATION_H
#define HFTC_NN_ACTIVATION_H

#include "core/compute.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline float act_exp(float x)
{
    float in = x;
    x = x == x ? x : 0.0f; /* a NaN comes back as it went in (below), never converted to an int */
    x = x < -87.33f ? -87.33f : x;
    x = x > 88.37f ? 88.37f : x;
    // x = n ln2 + r, |r| <= ln2 / 2; n rounded to nearest by adding and removing 1.5 * 2^23.
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f; /* ln2 in two parts: exact n * first part */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) * (1 << 23); /* 2^n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return in == in ? p * scale : in;
}

static inline float act_sigmoid(float x) { return 1.0f / (1.0f + act_exp(-x)); }

static inline float act_tanh(float x)
{
    float a = x < 0.0f ? -x : x;
    // Small |x|: odd polynomial (no cancellation); otherwise 1 - 2 / (e^2|x| + 1), sign restored.
    float z = x * x;
    float small =
        ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
         3.33332819422e-1f) *
            z * x +
        x;
    float large = 1.0f - 2.0f / (act_exp(2.0f * a) + 1.0f);
    large = x < 0.0f ? -large : large;
    return a < 0.625f ? small : large;
}

// inp, out are (N); out may be inp.
void relu_forward(const compute_context *cc, float *out, const float *inp, size_t N);

// out is the forward output, dout, dinp are (N). Writes (does not add) dinp = dout where out > 0, else
// 0, so that it can run in place (dinp == dout).
void relu_backward(const compute_context *cc, float *dinp, const float *dout, const float *out, size_t N);

// inp, out are (N); out may be inp.
void tanh_forward(const compute_context *cc, float *out, const float *inp, size_t N);

// out is the forward output; writes dinp = dout * (1 - out^2); may run in place (dinp == dout).
void tanh_backward(const compute_context *cc, float *dinp, const float *dout, const float *out, size_t N);

#endif
