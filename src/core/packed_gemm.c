/* The packed product: panels of 32 columns, a 12 x 32 AVX-512 kernel (24 accumulators), the rows of A read where
 * they lie (a step's states, rows T positions apart). */
#include "core/packed_gemm.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HFTC_PACKED_AVX512 1
#include <immintrin.h>
#else
#define HFTC_PACKED_AVX512 0
#endif

enum { PANEL = 32, TILE_ROWS = 12, ROW_BLOCK = 240, ALIGN_FLOATS = 16 };

// OpenBLAS 0.3.21's k blocking on one thread (driver/level3: GEMM_Q 320, GEMM_UNROLL_M 16 for Cooper Lake): the
// length of the next block when left of k remain.
static size_t k_block(size_t left)
{
    const size_t q = 320, unroll = 16;
    if (left >= 2 * q)
        return q;
    if (left > q)
        return (left / 2 + unroll - 1) / unroll * unroll;
    return left;
}

bool packed_gemm_native(void)
{
#if HFTC_PACKED_AVX512
    const char *setting = getenv("HFTC_PACKED_GEMM");
    return !(setting && strcmp(setting, "0") == 0) && __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

static size_t panel_count(size_t N) { return (N + PANEL - 1) / PANEL; }

size_t packed_matrix_floats(size_t K, size_t N)
{
    return packed_gemm_native() ? panel_count(N) * PANEL * K + ALIGN_FLOATS : 0;
}

// Panel p of op(B): element (k, j) at k * PANEL + j, columns past N zero.
static void pack_panel(float *panel, const float *B, size_t ldb, bool trans, size_t K, size_t N, size_t p)
{
    size_t n0 = p * PANEL, width = N - n0 < PANEL ? N - n0 : PANEL;
    if (trans) {
        for (size_t j = 0; j < width; j++)
            for (size_t k = 0; k < K; k++)
                panel[k * PANEL + j] = B[(n0 + j) * ldb + k];
        for (size_t j = width; j < PANEL; j++)
            for (size_t k = 0; k < K; k++)
                panel[k * PANEL + j] = 0.0f;
        return;
    }
    for (size_t k = 0; k < K; k++) {
        memcpy(panel + k * PANEL, B + k * ldb + n0, width * sizeof(float));
        memset(panel + k * PANEL + width, 0, (PANEL - width) * sizeof(float));
    }
}

packed_matrix packed_matrix_unpacked(const float *B, size_t ldb, bool trans_b, size_t K, size_t N)
{
    return (packed_matrix){.source = B, .ldb = ldb, .K = K, .N = N, .trans = trans_b, .panels = NULL};
}

packed_matrix pack_matrix(const compute_context *cc, float *storage, const float *B, size_t ldb, bool trans_b, size_t K,
                          size_t N)
{
    packed_matrix m = packed_matrix_unpacked(B, ldb, trans_b, K, N);
    if (!packed_gemm_native() || !storage)
        return m;
    m.panels = storage + (ALIGN_FLOATS - (uintptr_t)storage / sizeof(float) % ALIGN_FLOATS) % ALIGN_FLOATS;
    size_t panels = panel_count(N);
    int threads = omp_in_parallel() ? 1 : cc->threads;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (size_t p = 0; p < panels; p++)
        pack_panel(m.panels + p * PANEL * K, B, ldb, trans_b, K, N, p);
    return m;
}

#if HFTC_PACKED_AVX512
// C (rows, width <= 32) = S + A (rows, kc) x the panel's block (kc, 32), S the rows of from at a stride of ldfrom
// (C itself, or a bias row with ldfrom 0) or zero (from NULL): each element's sum over the block one chain of FMAs
// from zero, then added to S (OpenBLAS's kernels store alpha * sum + C, alpha 1, the same). A's row i is A + i lda, or
// a_rows[i] + a_offset where a_rows is not NULL.
__attribute__((target("avx512f"), always_inline)) static inline void
kernel(int rows, size_t kc, const float *A, size_t lda, const float *const *a_rows, size_t a_offset, const float *panel,
       const float *from, size_t ldfrom, float *C, size_t ldc, size_t width)
{
    __m512 acc[TILE_ROWS][2];
#pragma GCC unroll 12
    for (int i = 0; i < TILE_ROWS; i++)
        if (i < rows)
            acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (size_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(panel + k * PANEL), b1 = _mm512_load_ps(panel + k * PANEL + 16);
#pragma GCC unroll 12
        for (int i = 0; i < TILE_ROWS; i++)
            if (i < rows) {
                __m512 a = _mm512_set1_ps(a_rows ? a_rows[i][a_offset + k] : A[(size_t)i * lda + k]);
                acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
            }
    }
    __mmask16 m0 = width >= 16 ? 0xffff : (__mmask16)((1u << width) - 1);
    __mmask16 m1 = width >= 32 ? 0xffff : width <= 16 ? 0 : (__mmask16)((1u << (width - 16)) - 1);
#pragma GCC unroll 12
    for (int i = 0; i < TILE_ROWS; i++)
        if (i < rows) {
            float *c = C + (size_t)i * ldc;
            const float *f = from ? from + (size_t)i * ldfrom : NULL;
            __m512 c0 = f ? _mm512_maskz_loadu_ps(m0, f) : _mm512_setzero_ps();
            __m512 c1 = f ? _mm512_maskz_loadu_ps(m1, f + 16) : _mm512_setzero_ps();
            _mm512_mask_storeu_ps(c, m0, _mm512_add_ps(c0, acc[i][0]));
            _mm512_mask_storeu_ps(c + 16, m1, _mm512_add_ps(c1, acc[i][1]));
        }
}

// The kernel compiled for each row count of a tile (its accumulators stay in registers only at a constant count),
// and for A's rows at a stride or by pointer.
__attribute__((target("avx512f"))) static void kernel_rows(int rows, size_t kc, const float *A, size_t lda,
                                                           const float *const *a_rows, size_t a_offset,
                                                           const float *panel, const float *from, size_t ldfrom,
                                                           float *C, size_t ldc, size_t width)
{
    switch (rows) {
#define HFTC_KERNEL_CASE(r)                                                                                            \
    case r:                                                                                                            \
        if (a_rows)                                                                                                    \
            kernel(r, kc, NULL, 0, a_rows, a_offset, panel, from, ldfrom, C, ldc, width);                              \
        else                                                                                                           \
            kernel(r, kc, A, lda, NULL, 0, panel, from, ldfrom, C, ldc, width);                                        \
        break;
        HFTC_KERNEL_CASE(1)
        HFTC_KERNEL_CASE(2)
        HFTC_KERNEL_CASE(3)
        HFTC_KERNEL_CASE(4)
        HFTC_KERNEL_CASE(5)
        HFTC_KERNEL_CASE(6)
        HFTC_KERNEL_CASE(7)
        HFTC_KERNEL_CASE(8)
        HFTC_KERNEL_CASE(9)
        HFTC_KERNEL_CASE(10)
        HFTC_KERNEL_CASE(11)
        HFTC_KERNEL_CASE(12)
#undef HFTC_KERNEL_CASE
    default:
        break;
    }
}

// Panel p's columns of C: for each block of k, every tile of rows (the rows split evenly into tiles of at most 12,
// so 50 rows run as 5 x 10, not 4 x 12 + 2), while the block of the panel stays in the core's cache. The first block
// adds onto row (N) in every row, or onto C (add), or onto zero. A's rows: A at a stride of lda, or a_rows.
static void product_panel(size_t M, const float *A, size_t lda, const float *const *a_rows, const packed_matrix *B,
                          const float *row, bool add, float *C, size_t ldc, size_t p)
{
    size_t K = B->K, width = B->N - p * PANEL < PANEL ? B->N - p * PANEL : PANEL,
           tiles = (M + TILE_ROWS - 1) / TILE_ROWS;
    const float *panel = B->panels + p * PANEL * K;
    for (size_t k0 = 0, kc; k0 < K; k0 += kc) {
        kc = k_block(K - k0);
        for (size_t t = 0; t < tiles; t++) {
            size_t r0 = M * t / tiles, r1 = M * (t + 1) / tiles;
            float *tile = C + r0 * ldc + p * PANEL;
            const float *from = k0 > 0 || (add && !row) ? tile : row ? row + p * PANEL : NULL;
            kernel_rows((int)(r1 - r0), kc, a_rows ? NULL : A + r0 * lda + k0, lda, a_rows ? a_rows + r0 : NULL, k0,
                        panel + k0 * PANEL, from, k0 > 0 || !row ? ldc : 0, tile, ldc, width);
        }
    }
}
#endif

// C = (row in every row, or beta C) + A x op(B): the packed kernel, or OpenBLAS where there is none (every row, the
// wanted ones among them). A's rows at a stride, or by pointer (copied into gather for OpenBLAS).
typedef struct {
    const float *at;
    size_t ld;
    const float *const *rows;
    float *gather;
} operand_a;

#if HFTC_PACKED_AVX512
// The packed product's work, shared out among the threads of the team that runs it: rows in blocks (of whole groups)
// that stay in a core's cache while every panel reads them (a long text's 25,600 rows would otherwise come from memory
// once per panel); each thread takes its panels of every block, with no barrier.
static void product_team(size_t M, const operand_a *a, const packed_matrix *B, const float *row, bool add, float *C,
                         size_t ldc, const wanted_rows *wanted)
{
    size_t panels = panel_count(B->N), group = wanted ? wanted->group_rows : ROW_BLOCK;
    size_t block = ROW_BLOCK > group ? ROW_BLOCK / group * group : group;
    for (size_t m0 = 0; m0 < M; m0 += block) {
        size_t m = M - m0 < block ? M - m0 : block;
#pragma omp for schedule(static) nowait
        for (size_t p = 0; p < panels; p++)
            for (size_t g0 = m0; g0 < m0 + m; g0 += group) {
                size_t lo = 0, hi = m0 + m - g0 < group ? m0 + m - g0 : group, first = g0;
                if (wanted)
                    wanted->rows(wanted->ctx, g0 / group, p * PANEL,
                                 B->N - p * PANEL < PANEL ? B->N : p * PANEL + PANEL, &lo, &hi);
                first += lo;
                if (lo < hi)
                    product_panel(hi - lo, a->rows ? NULL : a->at + first * a->ld, a->ld,
                                  a->rows ? a->rows + first : NULL, B, row, add, C + first * ldc, ldc, p);
            }
    }
}
#endif

static void product(const compute_context *cc, size_t M, const operand_a *a, const packed_matrix *B, const float *row,
                    float beta, float *C, size_t ldc, const wanted_rows *wanted)
{
    if (M == 0 || B->N == 0)
        return;
#if HFTC_PACKED_AVX512
    if (B->panels && M > 1 && B->K > 0) {
        int threads = omp_in_parallel() ? 1 : cc->threads;
#pragma omp parallel num_threads(threads) if (threads > 1)
        product_team(M, a, B, row, beta != 0.0f, C, ldc, wanted);
        return;
    }
#endif
    const float *A = a->at;
    size_t lda = a->ld;
    if (a->rows) { /* OpenBLAS reads rows at a stride */
        A = M == 1 ? a->rows[0] : a->gather;
        lda = B->K;
        for (size_t i = 0; M > 1 && i < M; i++)
            memcpy(a->gather + i * B->K, a->rows[i], B->K * sizeof(float));
    }
    if (row)
        for (size_t i = 0; i < M; i++)
            memcpy(C + i * ldc, row, B->N * sizeof(float));
    gemm(cc, false, B->trans, M, B->N, B->K, 1.0f, A, lda, B->source, B->ldb, row ? 1.0f : beta, C, ldc);
}

void gemm_packed(const compute_context *cc, size_t M, const float *A, size_t lda, const packed_matrix *B, float beta,
                 float *C, size_t ldc)
{
    product(cc, M, &(operand_a){.at = A, .ld = lda}, B, NULL, beta, C, ldc, NULL);
}

void gemm_packed_rows(const compute_context *cc, size_t M, const float *const *a_rows, float *gather,
                      const packed_matrix *B, float beta, float *C, size_t ldc)
{
    product(cc, M, &(operand_a){.rows = a_rows, .gather = gather}, B, NULL, beta, C, ldc, NULL);
}

void gemm_packed_wanted(const compute_context *cc, size_t M, const float *A, size_t lda, const packed_matrix *B,
                        float beta, float *C, size_t ldc, const wanted_rows *wanted)
{
    product(cc, M, &(operand_a){.at = A, .ld = lda}, B, NULL, beta, C, ldc, wanted);
}

void gemm_packed_wanted_team(size_t M, const float *A, size_t lda, const packed_matrix *B, float beta, float *C,
                             size_t ldc, const wanted_rows *wanted)
{
#if HFTC_PACKED_AVX512
    if (B->panels && M > 0 && B->N > 0 && B->K > 0)
        product_team(M, &(operand_a){.at = A, .ld = lda}, B, NULL, beta != 0.0f, C, ldc, wanted);
#endif
#pragma omp barrier
}

void gemm_packed_onto_row(const compute_context *cc, size_t M, const float *A, size_t lda, const packed_matrix *B,
                          const float *row, float *C, size_t ldc)
{
    product(cc, M, &(operand_a){.at = A, .ld = lda}, B, row, 1.0f, C, ldc, NULL);
}
