/* Fully connected layer y = x W^T + b, with W stored (out, in) as in PyTorch's nn.Linear. */
#ifndef HFTC_NN_DENSE_H
#define HFTC_NN_DENSE_H

#include "core/compute.h"
#include "core/packed_gemm.h"

#include <stddef.h>

// out is (B,O), inp is (B,I), weight is (O,I), bias is (O). Uses BLAS: not inside an OpenMP region.
void dense_forward(const compute_context *cc, float *out, const float *inp, const float *weight, const float *bias,
                   size_t B, size_t I, size_t O);
// The same with W^T (I, O) packed (core/packed_gemm.h), for weights that stay fixed over many batches.
void dense_forward_packed(const compute_context *cc, float *out, const float *inp, const packed_matrix *weight_t,
                          const float *bias, size_t B);

// dout is (B,O). Adds into dinp (B,I), dweight (O,I), dbias (O); any may be NULL to skip it.
void dense_backward(const compute_context *cc, float *dinp, float *dweight, float *dbias, const float *dout,
                    const float *inp, const float *weight, size_t B, size_t I, size_t O);

#endif
