/* OpenMP thread count, shared with OpenBLAS (the OpenMP build), and the row-major GEMM wrapper. */
#include "core/compute.h"

#include "hftc.h"

#include <cblas.h>
#include <omp.h>

void hftc_set_threads(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int compute_threads(void) { return omp_get_max_threads(); }

int compute_single_thread(void)
{
    int n = omp_get_max_threads();
    omp_set_num_threads(1);
    return n;
}

void compute_restore_threads(int n) { omp_set_num_threads(n); }

void gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
          const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    if (M == 0 || N == 0)
        return;
    // One row (a batch of one document: the recurrent steps and dense layers of batch-1 inference) is a
    // matrix-vector product: GEMM would pack all of B for it, 4-6x slower for the ON-LSTM's (500, 2100)
    // recurrent weight. op(A)'s row is A's first row, or its first column with trans_a.
    if (M == 1) {
        cblas_sgemv(CblasRowMajor, trans_b ? CblasNoTrans : CblasTrans, (int)(trans_b ? N : K), (int)(trans_b ? K : N),
                    alpha, B, (int)ldb, A, trans_a ? (int)lda : 1, beta, C, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

void add_column_sums(float *restrict dst, const float *restrict m, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++)
#pragma omp simd
        for (size_t j = 0; j < cols; j++)
            dst[j] += m[i * cols + j];
}
