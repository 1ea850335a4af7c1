/* Fully connected layer through sgemm. */
#include "nn/dense.h"

#include "core/compute.h"

void dense_forward_packed(const compute_context *cc, float *out, const float *inp, const packed_matrix *weight_t,
                          const float *bias, size_t B)
{
    gemm_packed_onto_row(cc, B, inp, weight_t->K, weight_t, bias, out, weight_t->N);
}

void dense_forward(const compute_context *cc, float *out, const float *inp, const float *weight, const float *bias,
                   size_t B, size_t I, size_t O)
{
    packed_matrix weight_t = packed_matrix_unpacked(weight, I, true, I, O);
    dense_forward_packed(cc, out, inp, &weight_t, bias, B);
}

void dense_backward(const compute_context *cc, float *dinp, float *dweight, float *dbias, const float *dout,
                    const float *inp, const float *weight, size_t B, size_t I, size_t O)
{
    if (dinp)
        gemm(cc, false, false, B, I, O, 1.0f, dout, O, weight, I, 1.0f, dinp, I);
    if (dweight)
        gemm(cc, true, false, O, I, B, 1.0f, dout, O, inp, I, 1.0f, dweight, I);
    if (dbias)
        add_column_sums(dbias, dout, B, O);
}
