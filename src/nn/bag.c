/* Bag of rows: the mean of a document's word vectors and hashed bigram rows, forward and backward. */
#include "nn/bag.h"

#include "core/rng.h"
#include "nn/params.h"

#include <string.h>

uint32_t bag_bigram_bucket(uint32_t a, uint32_t b, size_t n_buckets)
{
    return (uint32_t)(rng_hash_pair(a, b) % (uint64_t)n_buckets);
}

void bag_bigrams(uint32_t *ids, const uint32_t *tokens, const size_t *lengths, size_t B, size_t T, size_t n_buckets)
{
    for (size_t b = 0; b < B; b++) {
        const uint32_t *tok = tokens + b * T;
        for (size_t t = 0; t + 1 < lengths[b] && t + 1 < T; t++)
            ids[b * T + t] = bag_bigram_bucket(tok[t], tok[t + 1], n_buckets);
    }
}

// The rows a document of L words averages: its words and its bigrams.
static inline float bag_size(size_t L) { return (float)(2 * L - 1); }

void bag_forward(const compute_context *cc, float *out, const float *words, const uint32_t *ids, const size_t *lengths,
                 const float *table, size_t B, size_t T, size_t E)
{
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b] < T ? lengths[b] : T;
        float *o = out + b * E;
        memset(o, 0, E * sizeof(float));
        if (L == 0)
            continue;
        for (size_t t = 0; t < L; t++) {
            const float *w = words + (b * T + t) * E;
#pragma omp simd
            for (size_t e = 0; e < E; e++)
                o[e] += w[e];
        }
        for (size_t t = 0; t + 1 < L; t++) {
            const float *w = table + (size_t)ids[b * T + t] * E;
#pragma omp simd
            for (size_t e = 0; e < E; e++)
                o[e] += w[e];
        }
        float n = bag_size(L);
#pragma omp simd
        for (size_t e = 0; e < E; e++)
            o[e] /= n;
    }
}

// The merged row list is as long as the gradient's room, the rows one batch can touch.
size_t bag_scratch_size(size_t B, size_t T, size_t n_buckets)
{
    return 3 * B * T + 1 + (n_buckets < B * T ? n_buckets : B * T);
}

// Sorts the m positions of pos by their bucket ids[pos[i]], radix 256 from the lowest byte (stable: a bucket's
// positions stay in order), alternating with tmp; returns the array that holds the result.
static uint32_t *sort_by_bucket(uint32_t *pos, uint32_t *tmp, size_t m, const uint32_t *ids, size_t n_buckets)
{
    for (unsigned shift = 0; shift < 32 && (uint64_t)(n_buckets - 1) >> shift; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < m; i++)
            count[(ids[pos[i]] >> shift & 255) + 1]++;
        for (size_t d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < m; i++)
            tmp[count[ids[pos[i]] >> shift & 255]++] = pos[i];
        uint32_t *sorted = tmp;
        tmp = pos;
        pos = sorted;
    }
    return pos;
}

void bag_backward(const compute_context *cc, float *dwords, float *dtable, uint32_t *rows, size_t *n_rows,
                  uint32_t *scratch, const float *dout, const uint32_t *ids, const size_t *lengths, size_t B, size_t T,
                  size_t E, size_t n_buckets)
{
    if (dwords) {
#pragma omp parallel for schedule(static) num_threads(cc->threads)
        for (size_t b = 0; b < B; b++) {
            size_t L = lengths[b] < T ? lengths[b] : T;
            const float *d = dout + b * E;
            float size = L ? bag_size(L) : 1.0f;
            for (size_t t = 0; t < L; t++) {
                float *dw = dwords + (b * T + t) * E;
#pragma omp simd
                for (size_t e = 0; e < E; e++)
                    dw[e] += d[e] / size;
            }
        }
    }
    if (!dtable)
        return;
    uint32_t *pos = scratch, *tmp = pos + B * T, *start = tmp + B * T, *merged = start + B * T + 1;
    size_t m = 0;
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t + 1 < lengths[b] && t + 1 < T; t++)
            pos[m++] = (uint32_t)(b * T + t);
    const uint32_t *sorted = sort_by_bucket(pos, tmp, m, ids, n_buckets);
    // Group g is sorted[start[g] .. start[g + 1]), the positions of one bucket, whose gradient is row slot[g] (in
    // the sort's other array, free now); the buckets merge into the earlier rows in one pass.
    uint32_t *slot = sorted == pos ? tmp : pos;
    size_t groups = 0, n = 0, old = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t row = ids[sorted[i]];
        if (i > 0 && row == ids[sorted[i - 1]])
            continue;
        while (old < *n_rows && rows[old] < row)
            merged[n++] = rows[old++];
        old += old < *n_rows && rows[old] == row;
        slot[groups] = (uint32_t)n;
        start[groups++] = (uint32_t)i;
        merged[n++] = row;
    }
    start[groups] = (uint32_t)m;
    while (old < *n_rows)
        merged[n++] = rows[old++];
    row_grads_merge(dtable, E, rows, *n_rows, merged, n);
#pragma omp parallel for schedule(dynamic, 64) num_threads(cc->threads)
    for (size_t g = 0; g < groups; g++) {
        float *dw = dtable + (size_t)slot[g] * E;
        for (uint32_t j = start[g]; j < start[g + 1]; j++) {
            size_t b = sorted[j] / T, L = lengths[b] < T ? lengths[b] : T;
            const float *d = dout + b * E;
            float size = bag_size(L);
#pragma omp simd
            for (size_t e = 0; e < E; e++)
                dw[e] += d[e] / size;
        }
    }
    memcpy(rows, merged, n * sizeof(uint32_t));
    *n_rows = n;
}
