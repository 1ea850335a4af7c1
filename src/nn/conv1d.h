/* 1-D convolution over word windows fused with masked max-over-time pooling (Kim 2014), and its
 * dynamic (chunked) variant from XML-CNN (Liu et al. 2017).
 *
 * The input is a (B*T, E) row-major matrix of word vectors, so the K-word window starting at row r
 * is the contiguous span of K*E floats at row r. BLAS refuses a leading dimension (E) smaller than
 * the row length (K*E), so the windows are not handed to sgemm as one overlapping matrix; instead the
 * convolution is factored by the K shifts: one GEMM per window size computes, for every row r,
 * y[r, k*F + f] = x[r] . W[f, k*E : (k+1)*E], and conv[r, f] = sum_k y[r + k, k*F + f] is formed on
 * the fly by the pooling pass (same FLOPs, no copy of the input, one large well-shaped GEMM).
 *
 * Pooling for document b of length L (clamped to T) runs over the window starts
 * t = 0, s, 2s, ... below max(L - K + 1, 1) (s: the stride, 1 in Kim's CNN, 2 in XML-CNN(2); n of them,
 * torch.nn.Conv1d(stride=s)'s output length): windows never reach past the document when L >= K, and a
 * document shorter than K has its single window at t = 0 over its zero-padded rows. The n positions
 * are split into p chunks as torch.nn.AdaptiveMaxPool1d(p) does (chunk c is
 * [floor(c n / p), ceil((c + 1) n / p))), each max-pooled; p = 1 is 1-max pooling. The bias is added
 * after pooling (max commutes with adding a constant). Ties keep the earliest window. */
#ifndef HFTC_NN_CONV1D_H
#define HFTC_NN_CONV1D_H

#include "core/compute.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// floats of conv1d_forward's products (B*T rows of K*F) and of its slices of the weight (K*F rows of E, then the same
// packed for the product).
size_t conv1d_products_size(size_t B, size_t T, size_t F, size_t K);
size_t conv1d_slices_size(size_t E, size_t F, size_t K);

// inp is (B,T,E) with T >= K, lengths is (B), weight is (F,K*E) (weight[f, k*E + e] multiplies word k
// of the window, feature e), bias is (F).
// out is (B, F*p) at row stride ld (element f*p + c is filter f, chunk c), argmax likewise: the window
// start t that won (a multiple of stride). Runs the GEMM through BLAS: do not call inside an OpenMP parallel region.
// products: conv1d_products_size floats. With the packed kernel (packed_gemm_native()) it holds a block of
// documents' products at a time, any content on entry and after (kept_zero is not read). Through OpenBLAS it holds
// the batch's: with kept_zero, it must be all zero on entry and is all zero again on return: the GEMM adds onto it
// (beta 1, which OpenBLAS runs without its pass that clears the output first: 6 MB a step at T=13) and the pooling
// pass clears each document's rows once it has read them, while they are in its core's cache; only for a buffer no
// one else writes, zeroed once (calloc, a fresh arena). Without kept_zero, any content (OpenBLAS clears it).
// slices: conv1d_slices_size floats, any content.
// projected: NULL, or the products already computed (nn/word_cache.h): projected[b*T + t] + column +
// k*F + f is word t's product with filter f's slice k (zeros past the document), and inp, weight,
// products and slices are not read.
void conv1d_forward(const compute_context *cc, float *out, uint32_t *argmax, size_t ld, float *products, bool kept_zero,
                    float *slices, const float *inp, const float *const *projected, size_t column,
                    const size_t *lengths, const float *weight, const float *bias, size_t B, size_t T, size_t E,
                    size_t F, size_t K, size_t p, size_t stride);

// The products' layout: wk (K*F, E) with row k*F + f = weight[f, k*E : (k+1)*E], the slice of filter f
// that meets word k of the window.
void conv1d_slices(float *wk, const float *weight, size_t E, size_t F, size_t K);

// uint64_t words of conv1d_backward's window_bits.
size_t conv1d_window_bits_size(size_t B, size_t T, size_t F, size_t p);

// dout and argmax are (B, F*p) at row stride ld. Adds into dinp (B,T,E), dweight (F,K*E), dbias (F);
// any of them may be NULL to skip it. Only the winning windows receive gradient, so the cost is
// B*F*p*K*E rather than a dense GEMM. window_bits: conv1d_window_bits_size words, any content (NULL without dinp).
void conv1d_backward(const compute_context *cc, float *dinp, uint64_t *window_bits, float *dweight, float *dbias,
                     const float *dout, const uint32_t *argmax, size_t ld, const float *inp, const float *weight,
                     size_t B, size_t T, size_t E, size_t F, size_t K, size_t p);

#endif
