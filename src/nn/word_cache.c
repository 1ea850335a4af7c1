/* Per-word input projections: rows computed on first use, by GEMM over the batch's new words. */
#include "nn/word_cache.h"

#include "core/arena.h"
#include "core/compute.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

// New words are projected in chunks of this many: one GEMM of (WORD_CACHE_CHUNK, E) x (E, N) each.
#define WORD_CACHE_CHUNK 512

struct word_cache {
    size_t V, E, N, max_positions, filled;
    const float *embedding;     /* (V, E), the network's */
    float *proj;                /* (N, E) */
    float *table;               /* (V, N): row v valid where ready[v] */
    uint8_t *ready;             /* (V) */
    float *zero;                /* (N) */
    const float **rows;         /* (max_positions) the row of each position of the last batch */
    uint32_t *pending;          /* (max_positions) words of the batch not in the table yet */
    float *gathered, *computed; /* (WORD_CACHE_CHUNK, E), (WORD_CACHE_CHUNK, N) */
};

size_t word_cache_table_bytes(size_t V, size_t N) { return V * N * sizeof(float); }

void word_cache_free(word_cache *c)
{
    if (!c)
        return;
    free(c->proj), free(c->table), free(c->ready), free(c->zero);
    free(c->rows), free(c->pending), free(c->gathered), free(c->computed);
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
    c->proj = mem_alloc(N * E, sizeof(float));
    c->table = mem_alloc(V * N, sizeof(float)); /* pages are committed as rows are written */
    c->ready = mem_calloc(V, 1);
    c->zero = mem_calloc(N, sizeof(float));
    c->rows = mem_alloc(max_positions, sizeof *c->rows);
    c->pending = mem_alloc(max_positions, sizeof *c->pending);
    c->gathered = mem_alloc(WORD_CACHE_CHUNK * E, sizeof(float));
    c->computed = mem_alloc(WORD_CACHE_CHUNK * N, sizeof(float));
    if (!c->proj || !c->table || !c->ready || !c->zero || !c->rows || !c->pending || !c->gathered || !c->computed) {
        word_cache_free(c);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    memcpy(c->proj, proj, N * E * sizeof(float));
    *out = c;
    return HFTC_STATUS_OK;
}

// The rows of words[0 .. n): their vectors gathered, then one GEMM, as the uncached path computes W x for
// a whole batch.
static void project_words(const compute_context *cc, word_cache *c, const uint32_t *words, size_t n)
{
    size_t E = c->E, N = c->N;
    for (size_t i = 0; i < n; i++)
        memcpy(c->gathered + i * E, c->embedding + (size_t)words[i] * E, E * sizeof(float));
    gemm(cc, false, true, n, N, E, 1.0f, c->gathered, E, c->proj, E, 0.0f, c->computed, N);
    for (size_t i = 0; i < n; i++)
        memcpy(c->table + (size_t)words[i] * N, c->computed + i * N, N * sizeof(float));
}

const float *const *word_cache_rows(word_cache *c, const compute_context *cc, const uint32_t *tokens,
                                    const size_t *lengths, size_t B, size_t T)
{
    size_t n_new = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < lengths[b]; t++) {
            uint32_t v = tokens[b * T + t];
            if (!c->ready[v]) {
                c->ready[v] = 1;
                c->pending[n_new++] = v;
            }
        }
    for (size_t i = 0; i < n_new; i += WORD_CACHE_CHUNK)
        project_words(cc, c, c->pending + i, n_new - i < WORD_CACHE_CHUNK ? n_new - i : WORD_CACHE_CHUNK);
    c->filled += n_new;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++)
            c->rows[b * T + t] = t < lengths[b] ? c->table + (size_t)tokens[b * T + t] * c->N : c->zero;
    return c->rows;
}

size_t word_cache_filled(const word_cache *c) { return c->filled; }
