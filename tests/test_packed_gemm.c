/* The packed product (core/packed_gemm.h): with the AVX-512 kernel, every element the documented chain of fused
 * multiply-adds (blocks of k as OpenBLAS's one-thread Cooper Lake kernels) bit for bit, for both layouts of B, beta 0
 * and 1 and onto a bias row, rows at a stride, tiles, blocks of rows and panels cut anywhere, the same bits on 1, 2
 * and 3 threads, only the wanted rows computed where a caller names them, A's rows read by pointer; without the kernel,
 * OpenBLAS's product within rounding. Either way within rounding of a double-precision sum. */
#include "core/packed_gemm.h"
#include "test.h"

#include <math.h>
#include <stdbool.h>

// The blocks of k the kernel documents: 320, or a remainder under 640 halved up to a multiple of 16.
static size_t reference_block(size_t left)
{
    if (left >= 640)
        return 320;
    if (left > 320)
        return (left / 2 + 15) / 16 * 16;
    return left;
}

static float b_at(const float *B, size_t ldb, bool trans, size_t k, size_t n)
{
    return trans ? B[n * ldb + k] : B[k * ldb + n];
}

// The operands' values: fixed, spread over [-1, 1], every product's rounding exercised.
static void fill_a(float *A, size_t n)
{
    for (size_t i = 0; i < n; i++)
        A[i] = (float)((i * 7919) % 1001) / 500.0f - 1.0f;
}

static void fill_b(float *B, size_t n)
{
    for (size_t i = 0; i < n; i++)
        B[i] = (float)((i * 104729) % 997) / 498.0f - 1.0f;
}

// init 0: C = A op(B) (beta 0); 1: C += A op(B) (beta 1); 2: C = row + A op(B) (gemm_packed_onto_row).
static void check_shape(size_t M, size_t N, size_t K, bool trans, int init)
{
    size_t lda = K + 3, ldc = N + 5, ldb = (trans ? K : N) + 2, rows_b = trans ? N : K;
    float *A = malloc((M * lda + 1) * sizeof(float)), *B = malloc((rows_b * ldb + 1) * sizeof(float));
    float *C0 = malloc((M * ldc + 1) * sizeof(float)), *C = malloc((M * ldc + 1) * sizeof(float));
    float *want = malloc((M * ldc + 1) * sizeof(float)), *row = malloc((N + 1) * sizeof(float));
    for (size_t n = 0; n < N; n++)
        row[n] = 0.125f * (float)(n % 7) - 0.25f;
    fill_a(A, M * lda);
    fill_b(B, rows_b * ldb);
    for (size_t i = 0; i < M * ldc; i++)
        C0[i] = (float)(i % 13) - 6.0f;
    double worst = 0.0;
    bool exact = true;
    for (size_t i = 0; i < M; i++)
        for (size_t n = 0; n < N; n++) {
            float c = init == 1 ? C0[i * ldc + n] : init == 2 ? row[n] : 0.0f;
            double sum = c;
            for (size_t k0 = 0, kc; k0 < K; k0 += kc) {
                kc = reference_block(K - k0);
                float chain = 0.0f;
                for (size_t k = k0; k < k0 + kc; k++) {
                    chain = fmaf(A[i * lda + k], b_at(B, ldb, trans, k, n), chain);
                    sum += (double)A[i * lda + k] * b_at(B, ldb, trans, k, n);
                }
                c = c + chain;
            }
            want[i * ldc + n] = c;
            double off = fabs(sum - c);
            worst = off > worst ? off : worst;
        }
    float *storage = malloc((packed_matrix_floats(K, N) + 1) * sizeof(float));
    for (int threads = 1; threads <= 3; threads++) {
        compute_context cc = compute_context_of(threads);
        // storage + 1: the panels align themselves whatever the storage's alignment.
        packed_matrix P = pack_matrix(&cc, storage + 1, B, ldb, trans, K, N);
        memcpy(C, C0, M * ldc * sizeof(float));
        if (init == 2)
            gemm_packed_onto_row(&cc, M, A, lda, &P, row, C, ldc);
        else
            gemm_packed(&cc, M, A, lda, &P, init == 1 ? 1.0f : 0.0f, C, ldc);
        for (size_t i = 0; i < M; i++) {
            for (size_t n = 0; n < N; n++) {
                exact = exact && memcmp(&C[i * ldc + n], &want[i * ldc + n], sizeof(float)) == 0;
                double d = fabs((double)C[i * ldc + n] - want[i * ldc + n]);
                worst = d > worst ? d : worst;
            }
            for (size_t n = N; n < ldc && i * ldc + n < M * ldc; n++) /* the gaps between rows untouched */
                exact = exact && C[i * ldc + n] == C0[i * ldc + n];
        }
    }
    if (packed_gemm_native() && M > 1)
        CHECK_MSG(exact, "M %zu N %zu K %zu trans %d init %d: not the documented sums", M, N, K, trans, init);
    CHECK_MSG(worst <= 1e-5 * (double)(K + 1), "M %zu N %zu K %zu trans %d init %d: off by %g", M, N, K, trans, init,
              worst);
    free(A), free(B), free(C0), free(C), free(want), free(row), free(storage);
}

static void test_shapes(void)
{
    const size_t Ms[] = {1, 2, 5, 12, 13, 25, 50, 250}, Ns[] = {1, 17, 32, 33, 70},
                 Ks[] = {1, 7, 320, 321, 500, 700, 1100};
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++)
                for (int trans = 0; trans < 2; trans++)
                    check_shape(Ms[a], Ns[b], Ks[c], trans, (int)((a + b + c + (size_t)trans) % 3));
}

// A product with no k: beta 0 clears C, beta 1 keeps it.
static void test_empty_k(void)
{
    float A[1] = {0}, B[1] = {0}, C[6] = {1, 2, 3, 4, 5, 6}, storage[32];
    packed_matrix P = pack_matrix(test_compute, packed_matrix_floats(0, 3) ? storage : NULL, B, 3, false, 0, 3);
    gemm_packed(test_compute, 2, A, 1, &P, 1.0f, C, 3);
    CHECK(C[0] == 1 && C[5] == 6);
    gemm_packed(test_compute, 2, A, 1, &P, 0.0f, C, 3);
    CHECK(C[0] == 0 && C[5] == 0);
}

// gemm_packed_wanted's rows: group g, panel's columns from col_begin, rows [lo, hi) (empty in some groups).
typedef struct {
    size_t group_rows;
} wanted_test;

static _Atomic int odd_calls; /* calls not as documented (counted: the threads call it) */

static void test_rows(const void *ctx, size_t g, size_t col_begin, size_t col_end, size_t *lo, size_t *hi)
{
    const wanted_test *w = ctx;
    odd_calls += !(*lo == 0 && *hi == w->group_rows && col_end > col_begin && col_end - col_begin <= 32);
    *lo = (g + col_begin / 32) % 4;
    *hi = w->group_rows - g % 3 * (w->group_rows / 2);
}

// Only the wanted rows of each panel are computed, with the same bits as gemm_packed's in them, the others left as
// they were (with the kernel), on 1 to 3 threads; groups of 13 rows (many in a block of rows) and of 300 (one).
static void test_wanted(void)
{
    const size_t group_sizes[] = {13, 300};
    for (size_t s = 0; s < 2; s++) {
        size_t G = 7, R = group_sizes[s], M = G * R, N = 70, K = 300, ldc = N + 1;
        float *A = malloc(M * K * sizeof(float)), *B = malloc(K * N * sizeof(float));
        float *full = malloc(M * ldc * sizeof(float)), *C = malloc(M * ldc * sizeof(float));
        float *storage = malloc((packed_matrix_floats(K, N) + 1) * sizeof(float));
        fill_a(A, M * K);
        fill_b(B, K * N);
        wanted_test ctx = {R};
        wanted_rows wanted = {R, test_rows, &ctx};
        for (int threads = 1; threads <= 3; threads++) {
            compute_context cc = compute_context_of(threads);
            packed_matrix P = pack_matrix(&cc, storage, B, N, false, K, N);
            for (float beta = 0.0f; beta <= 1.0f; beta += 1.0f) {
                for (size_t i = 0; i < M * ldc; i++)
                    full[i] = C[i] = (float)(i % 11) - 5.0f;
                gemm_packed(&cc, M, A, K, &P, beta, full, ldc);
                gemm_packed_wanted(&cc, M, A, K, &P, beta, C, ldc, &wanted);
                bool same = true, untouched = true;
                for (size_t i = 0; i < M; i++)
                    for (size_t n = 0; n < N; n++) {
                        size_t g = i / R, r = i % R, lo = (g + n / 32) % 4, hi = R - g % 3 * (R / 2);
                        if (r >= lo && r < hi)
                            same = same && memcmp(&C[i * ldc + n], &full[i * ldc + n], sizeof(float)) == 0;
                        else
                            untouched = untouched && C[i * ldc + n] == (float)((i * ldc + n) % 11) - 5.0f;
                    }
                CHECK_MSG(same, "groups of %zu, %d threads, beta %g: wanted rows differ", R, threads, beta);
                CHECK_MSG(untouched || !packed_gemm_native(), "groups of %zu: a row not wanted was written", R);
            }
        }
        free(A), free(B), free(full), free(C), free(storage);
    }
    CHECK(odd_calls == 0);
}

// gemm_packed_rows reads A's rows by pointer (out of order, one of them twice): the same bits as gemm_packed on the
// rows copied into a matrix, on 1 to 3 threads, with the kernel and through OpenBLAS (the rows gathered).
static void test_rows_by_pointer(void)
{
    const size_t Ms[] = {1, 13, 250};
    enum { V = 300, N = 70, K = 300 };
    float *table = malloc(V * K * sizeof(float)), *B = malloc(K * N * sizeof(float));
    float *storage = malloc((packed_matrix_floats(K, N) + 1) * sizeof(float));
    fill_a(table, V * K);
    fill_b(B, K * N);
    for (size_t s = 0; s < 3; s++) {
        size_t M = Ms[s];
        const float **rows = malloc(M * sizeof *rows);
        float *A = malloc(M * K * sizeof(float)), *gather = malloc(M * K * sizeof(float));
        float *want = malloc(M * N * sizeof(float)), *C = malloc(M * N * sizeof(float));
        for (size_t i = 0; i < M; i++) {
            rows[i] = table + (i * 37 + 11) % V * K;
            memcpy(A + i * K, rows[i], K * sizeof(float));
        }
        if (M > 2)
            rows[M - 1] = rows[0], memcpy(A + (M - 1) * K, rows[0], K * sizeof(float));
        for (int threads = 1; threads <= 3; threads++) {
            compute_context cc = compute_context_of(threads);
            packed_matrix P = pack_matrix(&cc, storage, B, N, false, K, N);
            for (size_t i = 0; i < M * N; i++)
                want[i] = C[i] = (float)(i % 5);
            gemm_packed(&cc, M, A, K, &P, 1.0f, want, N);
            gemm_packed_rows(&cc, M, rows, packed_gemm_native() ? NULL : gather, &P, 1.0f, C, N);
            CHECK_MSG(memcmp(C, want, M * N * sizeof(float)) == 0, "M %zu, %d threads: rows by pointer differ", M,
                      threads);
        }
        free(rows), free(A), free(gather), free(want), free(C);
    }
    free(table), free(B), free(storage);
}

int main(void)
{
    printf("packed kernel on this CPU: %s\n", packed_gemm_native() ? "yes (AVX-512F)" : "no (OpenBLAS)");
    test_shapes();
    test_empty_k();
    test_wanted();
    test_rows_by_pointer();
    TEST_MAIN_END();
}
