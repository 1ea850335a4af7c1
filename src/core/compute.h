/* Threading and BLAS: the one place that talks to OpenMP and OpenBLAS directly. */
#ifndef HFTC_CORE_COMPUTE_H
#define HFTC_CORE_COMPUTE_H

#include <stdbool.h>
#include <stddef.h>

/* Data-parallel training (flat and level models under MPI): the documents of a batch this process computes,
 * [first, first + its B) of the batch's total documents, the others' on the other processes. */
typedef struct {
    size_t first, total;
} batch_share;

/* How many threads a computation runs on, as ggml's CPU backend holds its thread count: every OpenMP
 * parallel region of the layers takes its team size from it (num_threads), and gemm gives it to OpenBLAS.
 * The model carries one for prediction, the training configuration one for training (train_config), and
 * callers pass it down to the network's passes and the layers (a layer's first argument, a method's after
 * its object: network_predict(net, cc, ...)); nothing reads a process-wide count.
 * The BLAS kernels are not part of it: OpenBLAS chooses them once for the process, when it is loaded
 * (compute_check_blas). */
typedef struct {
    int threads; /* at least 1 */
    /* The thread count the recurrent layers slice a batch for (nn/recurrent.h), which decides how their
     * products round; 0: threads. Node classifiers run on one thread each yet slice for the training's
     * count, as they did when the count was OpenMP's ambient one: a node model trained on n threads stays
     * bit for bit what it was (AVX2 kernels round the slices' products differently). */
    int slicing;
    /* This process's share of a training batch; NULL: the whole batch here. Dropout draws document b's mask from the
     * stream of its place in the whole batch (first + b), the loss is a mean over the total, and batch norm's
     * statistics are summed across the processes. */
    const batch_share *share;
} compute_context;

/* threads, or every core for threads <= 0 (the options' 0); more than 4 per core is capped there, with a
 * warning through the log. */
compute_context compute_context_of(int threads);
/* The default of the calling thread for contexts nobody chose (a model as hftc_model_load makes it): the
 * count hftc_set_threads set on this thread, else OpenMP's (OMP_NUM_THREADS, else every core). */
compute_context compute_context_default(void);

/* Makes the calling thread's BLAS calls from outside gemm (a library's, such as liblinear's vector products)
 * run on that thread alone, inside a parallel region of one thread too: their sums then do not depend on the
 * thread count. */
void compute_blas_serial(void);

/* Warns once (the log) when hftc_blas_better_kernels names better kernels and OPENBLAS_CORETYPE is not set. */
void compute_check_blas(void);

/* Row-major C = alpha * op(A) * op(B) + beta * C, op(A) is (M, K), op(B) is (K, N), C is (M, N), on
 * cc->threads threads (one inside an OpenMP parallel region). M = 1 runs as a matrix-vector product (sgemv). */
void gemm(const compute_context *cc, bool trans_a, bool trans_b, size_t M, size_t N, size_t K, float alpha,
          const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* dst (cols) += the column sums of m (rows, cols): the gradient of a bias added to every row. */
void add_column_sums(float *restrict dst, const float *restrict m, size_t rows, size_t cols);

#endif
