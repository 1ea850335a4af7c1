/* Convolution over word windows with masked (dynamic) max pooling: one GEMM forward, sparse backward. */
#include "nn/conv1d.h"

#include "core/compute.h"
#include "core/packed_gemm.h"

#include <math.h>
#include <string.h>

#define CONV1D_BLOCK 128
#define CONV1D_PREFETCH 4
#define CONV1D_GROUP 32

// Documents whose products the packed path computes and pools at a time: about 240 rows (the packed product's row
// block), and at least 8 documents, so that the threads share out the pooling.
static size_t conv1d_block_docs(size_t B, size_t T)
{
    size_t docs = 240 / T > 8 ? 240 / T : 8;
    return docs < B ? docs : B;
}

size_t conv1d_products_size(size_t B, size_t T, size_t F, size_t K)
{
    return (packed_gemm_native() ? conv1d_block_docs(B, T) : B) * T * K * F;
}

size_t conv1d_slices_size(size_t E, size_t F, size_t K) { return K * F * E + packed_matrix_floats(E, K * F); }

void conv1d_slices(float *wk, const float *weight, size_t E, size_t F, size_t K)
{
    for (size_t k = 0; k < K; k++)
        for (size_t f = 0; f < F; f++)
            for (size_t e = 0; e < E; e++)
                wk[(k * F + f) * E + e] = weight[f * K * E + k * E + e];
}

// The windows of a document of `length` words in T: they start at 0, stride, 2 stride, ...; a document shorter than K
// has one, over its words and the zeros after them.
static size_t conv1d_window_count(size_t length, size_t T, size_t K, size_t stride)
{
    size_t L = length < T ? length : T;
    return L >= K ? (L - K) / stride + 1 : 1;
}

// The rows of one document that pooling reads in columns [col_begin, col_end) of the products (slices k_first to
// k_last): slice k is read in rows t + k of the windows t = 0, stride, ..., (n - 1) stride.
typedef struct {
    const size_t *lengths;
    size_t T, F, K, stride;
} conv1d_windows;

static void conv1d_wanted_rows(const void *ctx, size_t b, size_t col_begin, size_t col_end, size_t *lo, size_t *hi)
{
    const conv1d_windows *w = ctx;
    size_t n = conv1d_window_count(w->lengths[b], w->T, w->K, w->stride), last = col_end / w->F - (col_end % w->F == 0);
    *lo = col_begin / w->F;
    *hi = last + (n - 1) * w->stride + 1 < w->T ? last + (n - 1) * w->stride + 1 : w->T;
}

// Document b's windows max-pooled in p chunks: out and argmax at b * ld; its products at yb (rows of K*F), or the
// word cache's projected rows.
static void conv1d_pool_document(float *out, uint32_t *argmax, size_t ld, const float *yb,
                                 const float *const *projected, size_t column, const size_t *lengths, const float *bias,
                                 size_t b, size_t T, size_t F, size_t K, size_t p, size_t stride)
{
    size_t KF = K * F, n = conv1d_window_count(lengths[b], T, K, stride);
    for (size_t c = 0; c < p; c++) {
        size_t begin = c * n / p, end = ((c + 1) * n + p - 1) / p;
        // Filters in blocks that fit on the stack, so the sums and the running max vectorise.
        for (size_t f0 = 0; f0 < F; f0 += CONV1D_BLOCK) {
            size_t nf = F - f0 < CONV1D_BLOCK ? F - f0 : CONV1D_BLOCK;
            float best[CONV1D_BLOCK], sum[CONV1D_BLOCK];
            uint32_t arg[CONV1D_BLOCK];
            for (size_t j = 0; j < nf; j++) {
                best[j] = -INFINITY;
                arg[j] = (uint32_t)(begin * stride);
            }
            for (size_t s = begin; s < end; s++) {
                size_t t = s * stride;
                // Projected rows are scattered over the word cache's table: fetch the row this loop
                // meets CONV1D_PREFETCH windows later ahead of time.
                size_t ahead = t + K - 1 + CONV1D_PREFETCH * stride;
                if (projected && ahead < T)
                    for (size_t i = 0; i < nf; i += 16)
                        for (size_t k = 0; k < K; k++)
                            __builtin_prefetch(projected[b * T + ahead] + column + k * F + f0 + i);
                // Window t of filter f is y[t + k, k*F + f] summed over k.
                const float *yt = projected ? projected[b * T + t] + column + f0 : yb + t * KF + f0;
                // The first two words' terms in one pass (a copy of the first alone became a memcpy call).
                const float *y1 = K < 2       ? NULL
                                  : projected ? projected[b * T + t + 1] + column + F + f0
                                              : yb + (t + 1) * KF + F + f0;
                if (y1) {
#pragma omp simd
                    for (size_t j = 0; j < nf; j++)
                        sum[j] = yt[j] + y1[j];
                } else {
#pragma omp simd
                    for (size_t j = 0; j < nf; j++)
                        sum[j] = yt[j];
                }
                for (size_t k = 2; k < K; k++) {
                    const float *yk =
                        projected ? projected[b * T + t + k] + column + k * F + f0 : yb + (t + k) * KF + k * F + f0;
#pragma omp simd
                    for (size_t j = 0; j < nf; j++)
                        sum[j] += yk[j];
                }
#pragma omp simd
                for (size_t j = 0; j < nf; j++) {
                    arg[j] = sum[j] > best[j] ? (uint32_t)t : arg[j];
                    best[j] = sum[j] > best[j] ? sum[j] : best[j];
                }
            }
            for (size_t j = 0; j < nf; j++) {
                out[b * ld + (f0 + j) * p + c] = best[j] + bias[f0 + j];
                argmax[b * ld + (f0 + j) * p + c] = arg[j];
            }
        }
    }
}

void conv1d_forward(const compute_context *cc, float *out, uint32_t *argmax, size_t ld, float *products, bool kept_zero,
                    float *slices, const float *inp, const float *const *projected, size_t column,
                    const size_t *lengths, const float *weight, const float *bias, size_t B, size_t T, size_t E,
                    size_t F, size_t K, size_t p, size_t stride)
{
    size_t KF = K * F;
    float *y = products;
    // With the slices as rows of wk, for a fixed k the F products of a row are contiguous in y and the
    // pooling pass vectorises over f. The slices are packed for the product (core/packed_gemm.h), which reads the
    // input's rows where they lie (OpenBLAS packed the whole input again for each window's product), and computes
    // only the rows pooling reads: at 13 words a sixth of the products (and a padded document's rows) are not.
    packed_matrix wk = {0};
    if (!projected) {
        conv1d_slices(slices, weight, E, F, K);
        wk = pack_matrix(cc, slices + KF * E, slices, E, true, E, KF);
    }
    if (wk.panels) {
        // A block of documents at a time: their products, then their pooling, while the products (a few hundred KB)
        // are in the cores' caches; one block's buffer instead of the batch's (118 MB at 256 words, written,
        // read and cleared again at every step).
        size_t docs = conv1d_block_docs(B, T);
#pragma omp parallel num_threads(cc->threads)
        for (size_t b0 = 0; b0 < B; b0 += docs) {
            size_t m = B - b0 < docs ? B - b0 : docs;
            conv1d_windows windows = {lengths + b0, T, F, K, stride};
            wanted_rows wanted = {T, conv1d_wanted_rows, &windows};
            gemm_packed_wanted_team(m * T, inp + b0 * T * E, E, &wk, 0.0f, y, KF, &wanted);
#pragma omp for schedule(static)
            for (size_t b = b0; b < b0 + m; b++)
                conv1d_pool_document(out, argmax, ld, y + (b - b0) * T * KF, NULL, 0, lengths, bias, b, T, F, K, p,
                                     stride);
        }
        return;
    }
    // OpenBLAS (no AVX-512) or the word cache's rows: the batch's products at once. A y kept zero takes OpenBLAS's
    // product added onto it (beta 1: the same bits, without its pass that clears the output first).
    if (!projected) {
        conv1d_windows windows = {lengths, T, F, K, stride};
        wanted_rows wanted = {T, conv1d_wanted_rows, &windows};
        gemm_packed_wanted(cc, B * T, inp, E, &wk, kept_zero ? 1.0f : 0.0f, y, KF, &wanted);
    }
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t b = 0; b < B; b++) {
        conv1d_pool_document(out, argmax, ld, projected ? NULL : y + b * T * KF, projected, column, lengths, bias, b, T,
                             F, K, p, stride);
        if (kept_zero && !projected) /* the document's rows, read for the last time: zero for the next product */
            memset(y + b * T * KF, 0, T * KF * sizeof(float));
    }
}

/* Sixteen floats as one value (a GNU C vector: gcc and clang map it to the widest registers the target has), so
 * that sums over many terms stay in registers; read and written in place at any float's alignment. */
typedef float conv1d_vec __attribute__((vector_size(64), aligned(4), may_alias));

// dw[0 .. n_cols) += sum over j of g[j] inp[offset[j] .. + n_cols), the terms added in the order of j.
static void conv1d_add_windows(float *dw, size_t n_cols, const float *g, const size_t *offset, size_t n,
                               const float *inp)
{
    size_t i = 0;
    for (; i + 8 * 16 <= n_cols; i += 8 * 16) { /* eight named sums: an array of them would live in memory */
        conv1d_vec *d = (conv1d_vec *)(dw + i);
        conv1d_vec a0 = d[0], a1 = d[1], a2 = d[2], a3 = d[3], a4 = d[4], a5 = d[5], a6 = d[6], a7 = d[7];
        for (size_t j = 0; j < n; j++) {
            const conv1d_vec *x = (const conv1d_vec *)(inp + offset[j] + i);
            float s = g[j];
            a0 += s * x[0];
            a1 += s * x[1];
            a2 += s * x[2];
            a3 += s * x[3];
            a4 += s * x[4];
            a5 += s * x[5];
            a6 += s * x[6];
            a7 += s * x[7];
        }
        d[0] = a0, d[1] = a1, d[2] = a2, d[3] = a3, d[4] = a4, d[5] = a5, d[6] = a6, d[7] = a7;
    }
    // The columns left a vector at a time, the last one ending at the row's end: its first lanes, already written, are
    // recomputed and dropped (a term's loop over the few columns left took as long as a band's).
    for (; i < n_cols && n_cols >= 16; i += 16) {
        size_t at = i + 16 <= n_cols ? i : n_cols - 16;
        conv1d_vec a = *(const conv1d_vec *)(dw + at);
        for (size_t j = 0; j < n; j++)
            a += g[j] * *(const conv1d_vec *)(inp + offset[j] + at);
        if (at == i) {
            *(conv1d_vec *)(dw + i) = a;
        } else {
            float lanes[16];
            memcpy(lanes, &a, sizeof lanes);
            memcpy(dw + i, lanes + (i - at), (n_cols - i) * sizeof(float));
        }
    }
    for (size_t j = 0; i < n_cols && j < n; j++) {
        const float *x = inp + offset[j];
#pragma omp simd
        for (size_t k = i; k < n_cols; k++)
            dw[k] += g[j] * x[k];
    }
}

// uint64_t words a window start's bits take: one bit per (filter, chunk) entry.
static size_t conv1d_bit_words(size_t F, size_t p) { return (F * p + 63) / 64; }

size_t conv1d_window_bits_size(size_t B, size_t T, size_t F, size_t p) { return B * T * conv1d_bit_words(F, p); }

void conv1d_backward(const compute_context *cc, float *dinp, uint64_t *window_bits, float *dweight, float *dbias,
                     const float *dout, const uint32_t *argmax, size_t ld, const float *inp, const float *weight,
                     size_t B, size_t T, size_t E, size_t F, size_t K, size_t p)
{
    size_t KE = K * E;
    // Filters own their rows of dweight and documents their rows of dinp, so each loop is race-free
    // and sums in a fixed order whatever the thread count.
    if (dweight || dbias) {
        // Documents a group at a time (the rows of their windows stay in L2), and in each group every filter: their
        // non-zero gradients and their windows' offsets in inp, then the filter's row of dweight in bands summed in
        // registers over the group. Each element gets its terms in the order of b and c, without a load and a store
        // of dw per term and a branch per term. The static schedule gives a filter the same thread in every group.
#pragma omp parallel num_threads(cc->threads)
        for (size_t i0 = 0; i0 < B * p; i0 += CONV1D_GROUP) {
            size_t i1 = B * p - i0 < CONV1D_GROUP ? B * p : i0 + CONV1D_GROUP;
#pragma omp for schedule(static) nowait
            for (size_t f = 0; f < F; f++) {
                float g[CONV1D_GROUP];
                size_t offset[CONV1D_GROUP], n = 0;
                for (size_t i = i0; i < i1; i++) {
                    size_t b = i / p, c = i % p;
                    g[n] = dout[b * ld + f * p + c];
                    offset[n] = (b * T + argmax[b * ld + f * p + c]) * E;
                    n += g[n] != 0.0f;
                }
                for (size_t j = 0; dbias && j < n; j++)
                    dbias[f] += g[j];
                if (dweight)
                    conv1d_add_windows(dweight + f * KE, KE, g, offset, n, inp);
            }
        }
    }
    if (dinp) {
        // A document's rows one at a time, each summed in registers over the windows that cover it (20 to 39 at 13
        // words, windows of 2 to 4 words of 128 filters), loaded and stored once: adding each window's weights into
        // the rows it covers loaded and stored a row once per window. window_bits marks, per window start, the (filter,
        // chunk) entries that won there, so a row's windows are found in the order of f and c, the order the terms
        // were always added in.
        size_t Fp = F * p, words = conv1d_bit_words(F, p);
#pragma omp parallel for schedule(static) num_threads(cc->threads)
        for (size_t b = 0; b < B; b++) {
            uint64_t *bits = window_bits + b * T * words;
            const float *gb = dout + b * ld;
            const uint32_t *start = argmax + b * ld;
            memset(bits, 0, T * words * sizeof *bits);
            for (size_t i = 0; i < Fp; i++)
                if (gb[i] != 0.0f)
                    bits[start[i] * words + i / 64] |= (uint64_t)1 << (i % 64);
            for (size_t r = 0; r < T; r++) {
                float g[CONV1D_GROUP];
                size_t offset[CONV1D_GROUP], n = 0, first = r + 1 >= K ? r + 1 - K : 0;
                float *dx = dinp + (b * T + r) * E;
                for (size_t w = 0; w < words; w++) {
                    uint64_t covering = 0;
                    for (size_t t = first; t <= r; t++)
                        covering |= bits[t * words + w];
                    for (; covering; covering &= covering - 1) {
                        size_t i = w * 64 + (size_t)__builtin_ctzll(covering);
                        g[n] = gb[i];
                        offset[n] = i / p * KE + (r - start[i]) * E;
                        if (++n == CONV1D_GROUP) {
                            conv1d_add_windows(dx, E, g, offset, n, weight);
                            n = 0;
                        }
                    }
                }
                if (n)
                    conv1d_add_windows(dx, E, g, offset, n, weight);
            }
        }
    }
}
