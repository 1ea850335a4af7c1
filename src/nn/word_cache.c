/* Per-word input projections: rows computed on first use, by GEMM over the batch's new words. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, madvise */
#include "nn/word_cache.h"

#include "core/arena.h" /* mem_alloc */
#include "core/compute.h"
#include "core/fault.h"
#include "core/packed_gemm.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct word_cache {
    size_t V, E, N, max_positions, filled;
    const float *embedding; /* (V, E), the network's */
    float *proj;            /* (N, E) */
    float *proj_storage;    /* proj^T packed once (core/packed_gemm.h): every batch's product reads it as it is */
    packed_matrix proj_t;
    float *table;          /* (V, N): the row of the i-th word computed is row i; rows past filled are zero */
    size_t table_bytes;    /* of its mapping */
    uint32_t *slot;        /* (V): 1 + the row of word v in the table, 0 while it has none */
    float *zero;           /* (N) */
    const float **rows;    /* (max_positions) the row of each position of the last batch */
    uint32_t *pending;     /* (max_positions) words of the batch not in the table yet */
    const float **vectors; /* (max_positions) their vectors' rows in the embedding */
    float *gathered;       /* (max_positions, E) the vectors copied, for OpenBLAS (without the packed kernel) */
};

size_t word_cache_table_bytes(size_t V, size_t N) { return V * N * sizeof(float); }

void word_cache_free(word_cache *c)
{
    if (!c)
        return;
    if (c->table)
        munmap(c->table, c->table_bytes);
    free(c->proj), free(c->proj_storage), free(c->slot), free(c->zero);
    free(c->rows), free(c->pending), free(c->vectors), free(c->gathered);
    free(c);
}

hftc_status word_cache_create(word_cache **out, const float *embedding, size_t V, size_t E, const float *proj, size_t N,
                              size_t max_positions)
{
    *out = NULL;
    word_cache *c = mem_calloc(1, sizeof *c);
    if (!c)
        return HFTC_STATUS_OUT_OF_MEMORY;
    *c = (word_cache){.V = V, .E = E, .N = N, .max_positions = max_positions, .embedding = embedding};
    // The system commits the table's pages as rows are written, and rows are written in the order words are first
    // met: the committed part is the rows in use. (Huge pages advised made a cold start slower here, 0.14 -> 0.17-0.27
    // s in bench_network's T=13 inference: the system time of finding them.)
    // Mapped (fresh pages read as zero), so a batch's new rows are zero and its GEMM adds onto them.
    c->table_bytes = word_cache_table_bytes(V, N);
    void *table = fault_allocation() || !c->table_bytes ? MAP_FAILED
                                                        : mmap(NULL, c->table_bytes, PROT_READ | PROT_WRITE,
                                                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    c->table = table == MAP_FAILED ? NULL : table;
    c->proj = mem_alloc(N * E, sizeof(float));
    c->slot = mem_calloc(V, sizeof *c->slot);
    c->zero = mem_calloc(N, sizeof(float));
    c->rows = mem_alloc(max_positions, sizeof *c->rows);
    c->pending = mem_alloc(max_positions, sizeof *c->pending);
    c->vectors = mem_alloc(max_positions, sizeof *c->vectors);
    c->gathered = packed_gemm_native() ? NULL : mem_alloc(max_positions * E, sizeof(float));
    if (!c->table || !c->proj || !c->slot || !c->zero || !c->rows || !c->pending || !c->vectors ||
        (!packed_gemm_native() && !c->gathered)) {
        word_cache_free(c);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    memcpy(c->proj, proj, N * E * sizeof(float));
    size_t packed = packed_matrix_floats(E, N);
    c->proj_storage = packed ? mem_alloc(packed, sizeof(float)) : NULL;
    if (packed && !c->proj_storage) {
        word_cache_free(c);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    compute_context one = compute_context_of(1);
    c->proj_t = pack_matrix(&one, c->proj_storage, c->proj, E, true, E, N);
    *out = c;
    return HFTC_STATUS_OK;
}

static float *table_row(const word_cache *c, size_t row) { return c->table + row * c->N; }

// The rows of the n new words: one GEMM that reads their vectors where they lie in the embedding, straight into the
// table's next n rows, as the uncached path computes W x for a whole batch.
static void project_words(const compute_context *cc, word_cache *c, const uint32_t *words, size_t n)
{
    size_t E = c->E, N = c->N;
    for (size_t i = 0; i < n; i++)
        c->vectors[i] = c->embedding + (size_t)words[i] * E;
    // The new rows' pages faulted in by one call per thread (where the kernel has MADV_POPULATE_WRITE, Linux 5.14;
    // the kernel clears each page, work the threads share): the product reads each row before it writes it, which
    // would take two faults a page. They are zero, so it adds onto them (beta 1).
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), begin = (uintptr_t)table_row(c, c->filled),
              end = (uintptr_t)table_row(c, c->filled + n);
    begin &= ~(page - 1);
    size_t pages = (end - begin + page - 1) / page, parts = (size_t)cc->threads;
#pragma omp parallel for schedule(static) num_threads(cc->threads) if (pages >= 64)
    for (size_t k = 0; k < parts; k++) {
        uintptr_t from = begin + pages * k / parts * page, to = begin + pages * (k + 1) / parts * page;
        if (to > from)
            madvise((void *)from, to - from, MADV_POPULATE_WRITE);
    }
    gemm_packed_rows(cc, n, c->vectors, c->gathered, &c->proj_t, 1.0f, table_row(c, c->filled), N);
}

const float *const *word_cache_rows(word_cache *c, const compute_context *cc, const uint32_t *tokens,
                                    const size_t *lengths, size_t B, size_t T)
{
    size_t n_new = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < lengths[b]; t++) {
            uint32_t v = tokens[b * T + t];
            if (!c->slot[v]) {
                c->slot[v] = (uint32_t)(c->filled + n_new + 1);
                c->pending[n_new++] = v;
            }
        }
    if (n_new)
        project_words(cc, c, c->pending, n_new);
    c->filled += n_new;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++)
            c->rows[b * T + t] = t < lengths[b] ? table_row(c, c->slot[tokens[b * T + t]] - 1) : c->zero;
    return c->rows;
}

size_t word_cache_filled(const word_cache *c) { return c->filled; }
