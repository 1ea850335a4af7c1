/* ReLU and tanh, forward and backward. */
#include "nn/activation.h"

void relu_forward(const compute_context *cc, float *out, const float *inp, size_t N)
{
#pragma omp parallel for simd schedule(static) num_threads(cc->threads)
    for (size_t i = 0; i < N; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void relu_backward(const compute_context *cc, float *dinp, const float *dout, const float *out, size_t N)
{
#pragma omp parallel for simd schedule(static) num_threads(cc->threads)
    for (size_t i = 0; i < N; i++)
        dinp[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

void tanh_forward(const compute_context *cc, float *out, const float *inp, size_t N)
{
#pragma omp parallel for simd schedule(static) num_threads(cc->threads)
    for (size_t i = 0; i < N; i++)
        out[i] = act_tanh(inp[i]);
}

void tanh_backward(const compute_context *cc, float *dinp, const float *dout, const float *out, size_t N)
{
#pragma omp parallel for simd schedule(static) num_threads(cc->threads)
    for (size_t i = 0; i < N; i++)
        dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
}
