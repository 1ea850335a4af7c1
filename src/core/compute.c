/* Compute contexts (thread counts), the default count hftc_set_threads sets, and the row-major GEMM wrapper
 * that hands a context's count to OpenBLAS (the OpenMP build). */
#include "core/compute.h"

#include "hftc.h"

#include "core/log.h"

#include <cblas.h>
#include <limits.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>

// The default is the calling thread's OpenMP count: OMP_NUM_THREADS sets it too, and each thread of a
// program has its own.
void hftc_set_threads(int n) { omp_set_num_threads(compute_context_of(n).threads); }

/* More threads than cores only take turns on them: a few per core may hide a stall, thousands cost a stack
 * each and time at every barrier (--threads 100000 was taken as it stood). */
#define MAX_THREADS_PER_CORE 4

compute_context compute_context_of(int threads)
{
    int cores = omp_get_num_procs(),
        cap = cores > INT_MAX / MAX_THREADS_PER_CORE ? INT_MAX : MAX_THREADS_PER_CORE * cores;
    if (threads > cap) {
        log_warn("%d threads asked for, %d cores: using %d (%d per core)", threads, cores, cap, MAX_THREADS_PER_CORE);
        threads = cap;
    }
    return (compute_context){threads > 0 ? threads : cores};
}

compute_context compute_context_default(void) { return (compute_context){omp_get_max_threads()}; }

const char *hftc_blas_kernels(void) { return openblas_get_corename(); }

const char *hftc_blas_better_kernels(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (strcasecmp(openblas_get_corename(), "Prescott"))
        return NULL;
    __builtin_cpu_init();
    // (the checks include the operating system's support of the registers)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}

void compute_check_blas(void)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    const char *better = hftc_blas_better_kernels();
    if (better && !getenv("OPENBLAS_CORETYPE") && !atomic_flag_test_and_set(&warned))
        log_warn("OpenBLAS runs its generic %s kernels on this CPU, which runs its %s ones (several times faster): "
                 "set OPENBLAS_CORETYPE=%s in the environment before the program starts",
                 hftc_blas_kernels(), better, better);
}

static void blas_product(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha, const float *A,
                         size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
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

void compute_blas_serial(void) { omp_set_num_threads(1); }

void gemm(const compute_context *cc, bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha,
          const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    if (M == 0 || N == 0)
        return;
    // OpenBLAS's OpenMP build runs a product on the calling thread's OpenMP count, read at every call (one
    // thread inside a parallel region): the context's count for this call, the caller's again after it.
    int before = omp_get_max_threads();
    if (before != cc->threads)
        omp_set_num_threads(cc->threads);
    blas_product(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (before != cc->threads)
        omp_set_num_threads(before);
}

void add_column_sums(float *restrict dst, const float *restrict m, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++)
#pragma omp simd
        for (size_t j = 0; j < cols; j++)
            dst[j] += m[i * cols + j];
}
