/* Products with a matrix packed once and read many times: the recurrent layers' W_hh, multiplied by one step's states
 * at every one of a batch's time steps. OpenBLAS packs its operand again at every call (it has no pre-packed API), a
 * sixth of the ON-LSTM's training step; here the weight is packed once a pass and an AVX-512 kernel of our own reads
 * it. Where the CPU has no AVX-512, the products are gemm's (OpenBLAS), as before.
 *
 * The numbers: each element of a product is one chain of fused multiply-adds over k, started from zero, in the
 * blocks of k that OpenBLAS 0.3.21's Cooper Lake kernels use on one thread (320, or a longer remainder halved up to a
 * multiple of 16), each block's sum added to the element (beta 0: to zero). On such a CPU a product is the same bits
 * as OpenBLAS's one-thread sgemm, and at any thread count the same bits as on one thread (the threads split the
 * columns, never k). */
#ifndef HFTC_CORE_PACKED_GEMM_H
#define HFTC_CORE_PACKED_GEMM_H

#include "core/compute.h"

#include <stdbool.h>
#include <stddef.h>

/* op(B) (K, N) ready for gemm_packed: its columns in panels of 32, each panel k-major (zero past N), or, where the
 * kernel is not available, the source itself (panels NULL). The source must outlive it. */
typedef struct {
    const float *source;
    size_t ldb, K, N;
    bool trans;
    float *panels;
} packed_matrix;

/* op(B) left as it is: products with it are gemm's (a caller with one path for packed and unpacked weights). */
packed_matrix packed_matrix_unpacked(const float *B, size_t ldb, bool trans_b, size_t K, size_t N);

/* Whether this CPU runs the packed kernel (AVX-512F) and HFTC_PACKED_GEMM=0 is not in the environment (the tests run
 * the OpenBLAS path so on this machine too); when not, packed products are OpenBLAS's. Read the same for a process's
 * life: it sizes scratch buffers that pack_matrix later fills. */
bool packed_gemm_native(void);

/* Floats of storage pack_matrix needs for a (K, N) matrix, its alignment included (0 without the kernel). */
size_t packed_matrix_floats(size_t K, size_t N);

/* op(B) (K, N) (trans_b: B is (N, K), rows of ldb) packed into storage (packed_matrix_floats(K, N) floats), on
 * cc->threads threads (one inside a parallel region). */
packed_matrix pack_matrix(const compute_context *cc, float *storage, const float *B, size_t ldb, bool trans_b, size_t K,
                          size_t N);

/* Row-major C (M, N) = A (M, K; rows of lda) x op(B) + beta C, beta 0 or 1, on cc->threads threads (one inside a
 * parallel region). M = 1 runs as gemm's matrix-vector product. */
void gemm_packed(const compute_context *cc, size_t M, const float *A, size_t lda, const packed_matrix *B, float beta,
                 float *C, size_t ldc);

/* The same with A's row i at a_rows[i] (K floats each), read where it lies (a word's vector in an embedding table).
 * gather: M x K floats the rows are copied into for OpenBLAS where the kernel is not available (NULL where
 * packed_gemm_native()). */
void gemm_packed_rows(const compute_context *cc, size_t M, const float *const *a_rows, float *gather,
                      const packed_matrix *B, float beta, float *C, size_t ldc);

/* gemm_packed with C = row (N) + A x op(B) in every row (a dense layer's bias): the sums of copying row into C and
 * adding the product (beta 1), without the copy. */
void gemm_packed_onto_row(const compute_context *cc, size_t M, const float *A, size_t lda, const packed_matrix *B,
                          const float *row, float *C, size_t ldc);

/* Which rows of a product are read afterwards: the rows come in groups of group_rows (a batch's documents), and of
 * group g, columns [col_begin, col_end) (a panel), rows(ctx, g, col_begin, col_end, &lo, &hi) narrows the rows
 * [0, group_rows) it is called with to [lo, hi). A convolution's products with its weight's slices: word k of a
 * window meets slice k, so a slice's products are read only in the rows a window reaches with it. */
typedef struct {
    size_t group_rows;
    void (*rows)(const void *ctx, size_t group, size_t col_begin, size_t col_end, size_t *lo, size_t *hi);
    const void *ctx;
} wanted_rows;

/* gemm_packed computing only the wanted rows of each panel (the same bits in them; the others left as they were).
 * M is a multiple of wanted->group_rows. Without the kernel, every row (OpenBLAS's product). */
void gemm_packed_wanted(const compute_context *cc, size_t M, const float *A, size_t lda, const packed_matrix *B,
                        float beta, float *C, size_t ldc, const wanted_rows *wanted);

/* gemm_packed_wanted's work shared out among the threads of the parallel region that calls it (every thread calls it,
 * with the same arguments; each takes its panels), returning when all of them have finished (a barrier). B must be
 * packed (packed_gemm_native()). */
void gemm_packed_wanted_team(size_t M, const float *A, size_t lda, const packed_matrix *B, float beta, float *C,
                             size_t ldc, const wanted_rows *wanted);

#endif
