/* Embedding forward (gather) and row-sparse, deterministic backward. */
#include "nn/embedding.h"

#include "nn/params.h"

#include <stdbool.h>
#include <string.h>

void embedding_forward(const compute_context *cc, float *out, const uint32_t *tokens, const size_t *lengths,
                       const float *weight, size_t B, size_t T, size_t E)
{
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b] < T ? lengths[b] : T;
        for (size_t t = 0; t < L; t++)
            memcpy(out + (b * T + t) * E, weight + (size_t)tokens[b * T + t] * E, E * sizeof(float));
        memset(out + (b * T + L) * E, 0, (T - L) * E * sizeof(float));
    }
}

size_t embedding_scratch_size(size_t B, size_t T, size_t V) { return (V + 1) + B * T + V; }

void embedding_backward(const compute_context *cc, float *dweight, uint32_t *rows, size_t *n_rows, uint32_t *scratch,
                        const float *dout, const uint32_t *tokens, const size_t *lengths, size_t B, size_t T, size_t E,
                        size_t V)
{
    // start[v] .. start[v + 1] will bracket the positions of token v in order (a stable counting sort).
    uint32_t *start = scratch, *order = scratch + V + 1, *merged = order + B * T;
    memset(start, 0, (V + 1) * sizeof(uint32_t));
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b] < T ? lengths[b] : T;
        for (size_t t = 0; t < L; t++)
            if (tokens[b * T + t] != 0)
                start[tokens[b * T + t] + 1]++;
    }
    // The union of the earlier rows and this batch's rows, merged in one pass over the vocabulary.
    size_t n = 0, old = 0;
    for (size_t v = 1; v < V; v++) {
        bool earlier = old < *n_rows && rows[old] == v;
        old += earlier;
        if (earlier || start[v + 1])
            merged[n++] = (uint32_t)v;
        start[v + 1] += start[v];
    }
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b] < T ? lengths[b] : T;
        for (size_t t = 0; t < L; t++) {
            uint32_t tok = tokens[b * T + t];
            if (tok != 0)
                order[start[tok]++] = (uint32_t)(b * T + t);
        }
    }
    // After the scatter start[v] is where bucket v ends, i.e. where bucket v + 1 begins.
    row_grads_merge(dweight, E, rows, *n_rows, merged, n);
#pragma omp parallel for schedule(dynamic, 64) num_threads(cc->threads)
    for (size_t i = 0; i < n; i++) {
        uint32_t v = merged[i];
        float *dw = dweight + i * E;
        for (uint32_t j = start[v - 1]; j < start[v]; j++) {
            const float *g = dout + (size_t)order[j] * E;
#pragma omp simd
            for (size_t e = 0; e < E; e++)
                dw[e] += g[e];
        }
    }
    memcpy(rows, merged, n * sizeof(uint32_t));
    *n_rows = n;
}
