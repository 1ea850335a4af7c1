/* Threading and BLAS: the one place that talks to OpenMP and OpenBLAS directly. */
#ifndef HFTC_CORE_COMPUTE_H
#define HFTC_CORE_COMPUTE_H

#include <stdbool.h>
#include <stddef.h>

/* Warns once (the log) when hftc_blas_better_kernels names better kernels and OPENBLAS_CORETYPE is not set. */
void compute_check_blas(void);

int compute_threads(void);
/* Puts the calling thread's following work on one thread (OpenMP, and OpenBLAS, which follows OpenMP's
 * count) and returns the count compute_restore_threads restores: for work too small to share, where
 * waking the other threads costs more than they save (predicting one document). */
int compute_single_thread(void);
void compute_restore_threads(int n);

/* Row-major C = alpha * op(A) * op(B) + beta * C, op(A) is (M, K), op(B) is (K, N), C is (M, N).
 * M = 1 runs as a matrix-vector product (sgemv). */
void gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
          const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* dst (cols) += the column sums of m (rows, cols): the gradient of a bias added to every row. */
void add_column_sums(float *restrict dst, const float *restrict m, size_t rows, size_t cols);

#endif
