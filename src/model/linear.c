/* Linear classifiers over sparse features (linear.h): building the by-feature layout from weights by
 * output and back, checking one read from a file, and scoring documents. */
#include "model/linear.h"

#include "core/arena.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t linear_nnz(const linear_classifier *lc) { return lc->row_start[lc->n_features]; }

hftc_status linear_create(linear_classifier **out, size_t n_features, size_t n_outputs, size_t nnz)
{
    if (nnz > UINT32_MAX || n_features >= UINT32_MAX || n_outputs >= UINT32_MAX)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "a linear classifier of %zu weights (%zu features, %zu outputs) is past the 2^32 its layout "
                         "holds: raise --min-df or use the level or node strategy",
                         nnz, n_features, n_outputs);
    linear_classifier *lc = mem_calloc(1, sizeof *lc);
    if (!lc)
        return HFTC_STATUS_OUT_OF_MEMORY;
    *lc = (linear_classifier){n_features,
                              n_outputs,
                              mem_calloc(n_features + 1, sizeof *lc->row_start),
                              mem_alloc(nnz ? nnz : 1, sizeof *lc->output),
                              mem_alloc(nnz ? nnz : 1, sizeof *lc->weight),
                              mem_calloc(n_outputs ? n_outputs : 1, sizeof *lc->bias),
                              mem_alloc(n_outputs ? 2 * n_outputs : 1, sizeof *lc->sigmoid)};
    if (!lc->row_start || !lc->output || !lc->weight || !lc->bias || !lc->sigmoid) {
        linear_free(lc);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    lc->row_start[n_features] = (uint32_t)nnz;
    for (size_t j = 0; j < n_outputs; j++)
        lc->sigmoid[2 * j] = 1.0f, lc->sigmoid[2 * j + 1] = 0.0f;
    *out = lc;
    return HFTC_STATUS_OK;
}

/* The by-feature layout of w's weights (counted in lc->row_start's room) by `blocks` threads, each taking a run of
 * outputs: each counts its outputs' weights per feature, then writes them after the runs before it, so that each
 * feature's weights come in output order whatever the number of runs. */
static hftc_status lay_out_by_feature(linear_classifier *lc, const sparse_rows *w, size_t blocks)
{
    size_t F = lc->n_features, J = w->n_rows;
    uint32_t *next = mem_calloc(blocks * F + 1, sizeof *next); /* per block: its count, then its next slot */
    if (!next)
        return HFTC_STATUS_OUT_OF_MEMORY;
#pragma omp parallel num_threads((int)blocks)
    {
#pragma omp for schedule(static, 1)
        for (size_t t = 0; t < blocks; t++) {
            uint32_t *count = next + t * F;
            for (size_t j = J * t / blocks; j < J * (t + 1) / blocks; j++)
                for (size_t e = w->start[j]; e < w->start[j + 1]; e++)
                    count[w->index[e]] += w->value[e] != 0.0f;
        }
#pragma omp single
        {
            uint32_t at = 0;
            for (size_t f = 0; f < F; f++) {
                lc->row_start[f] = at;
                for (size_t t = 0; t < blocks; t++) {
                    uint32_t n = next[t * F + f];
                    next[t * F + f] = at, at += n;
                }
            }
            lc->row_start[F] = at;
        }
#pragma omp for schedule(static, 1)
        for (size_t t = 0; t < blocks; t++) {
            uint32_t *slot = next + t * F;
            for (size_t j = J * t / blocks; j < J * (t + 1) / blocks; j++)
                for (size_t e = w->start[j]; e < w->start[j + 1]; e++)
                    if (w->value[e] != 0.0f) {
                        uint32_t at = slot[w->index[e]]++;
                        lc->output[at] = (uint32_t)j, lc->weight[at] = w->value[e];
                    }
        }
    }
    free(next);
    return HFTC_STATUS_OK;
}

hftc_status linear_from_outputs(linear_classifier **out, size_t n_features, const sparse_rows *w, const float *bias,
                                const float *sigmoid, int threads)
{
    size_t nnz = 0, total = w->start[w->n_rows];
#pragma omp parallel for num_threads(threads) reduction(+ : nnz) schedule(static)
    for (size_t e = 0; e < total; e++)
        nnz += w->value[e] != 0.0f;
    linear_classifier *lc;
    TRY(linear_create(&lc, n_features, w->n_rows, nnz));
    /* a run of outputs per thread, where each has enough to pay for its pass over the features */
    size_t blocks = threads > 1 ? (size_t)threads : 1;
    while (blocks > 1 && total / blocks < 4 * n_features)
        blocks--;
    hftc_status st = lay_out_by_feature(lc, w, blocks);
    if (st != HFTC_STATUS_OK) {
        linear_free(lc);
        return st;
    }
    memcpy(lc->bias, bias, w->n_rows * sizeof *bias);
    if (sigmoid)
        memcpy(lc->sigmoid, sigmoid, 2 * w->n_rows * sizeof *sigmoid);
    *out = lc;
    return HFTC_STATUS_OK;
}

hftc_status linear_to_outputs(const linear_classifier *lc, sparse_rows *w)
{
    size_t nnz = linear_nnz(lc), J = lc->n_outputs;
    *w = (sparse_rows){.n_rows = J,
                       .start = mem_calloc(J + 1, sizeof *w->start),
                       .index = mem_alloc(nnz ? nnz : 1, sizeof *w->index),
                       .value = mem_alloc(nnz ? nnz : 1, sizeof *w->value)};
    size_t *next = mem_alloc(J ? J : 1, sizeof *next);
    if (!w->start || !w->index || !w->value || !next) {
        free(next);
        sparse_rows_free(w);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t e = 0; e < nnz; e++)
        w->start[lc->output[e] + 1]++;
    for (size_t j = 0; j < J; j++)
        w->start[j + 1] += w->start[j];
    memcpy(next, w->start, J * sizeof *next);
    for (size_t f = 0; f < lc->n_features; f++) /* features in increasing order within each output */
        for (size_t e = lc->row_start[f]; e < lc->row_start[f + 1]; e++) {
            size_t at = next[lc->output[e]]++;
            w->index[at] = (uint32_t)f, w->value[at] = lc->weight[e];
        }
    free(next);
    return HFTC_STATUS_OK;
}

const char *linear_check(const linear_classifier *lc)
{
    size_t nnz = linear_nnz(lc);
    if (lc->row_start[0] != 0)
        return "its weights do not start at feature 0";
    for (size_t f = 0; f < lc->n_features; f++)
        if (lc->row_start[f + 1] < lc->row_start[f])
            return "its feature offsets decrease";
    for (size_t e = 0; e < nnz; e++)
        if (lc->output[e] >= lc->n_outputs)
            return "a weight's output is out of range";
    for (size_t e = 0; e < nnz; e++)
        if (!isfinite(lc->weight[e]))
            return "a weight is not finite";
    for (size_t j = 0; j < lc->n_outputs; j++)
        if (!isfinite(lc->bias[j]) || !isfinite(lc->sigmoid[2 * j]) || !isfinite(lc->sigmoid[2 * j + 1]))
            return "a bias or sigmoid is not finite";
    return NULL;
}

void linear_free(linear_classifier *lc)
{
    if (!lc)
        return;
    free(lc->row_start), free(lc->output), free(lc->weight), free(lc->bias), free(lc->sigmoid);
    free(lc);
}

void linear_decisions(const linear_classifier *lc, const sparse_rows *x, float *values)
{
    size_t J = lc->n_outputs;
    for (size_t r = 0; r < x->n_rows; r++) {
        float *v = values + r * J;
        memcpy(v, lc->bias, J * sizeof *v);
        for (size_t k = x->start[r]; k < x->start[r + 1]; k++) {
            uint32_t f = x->index[k];
            if (f >= lc->n_features)
                continue;
            float xv = x->value[k];
            for (size_t e = lc->row_start[f]; e < lc->row_start[f + 1]; e++)
                v[lc->output[e]] += lc->weight[e] * xv;
        }
    }
}

void linear_probabilities(const linear_classifier *lc, const sparse_rows *x, float *probs)
{
    size_t J = lc->n_outputs;
    linear_decisions(lc, x, probs);
    for (size_t r = 0; r < x->n_rows; r++)
        for (size_t j = 0; j < J; j++) {
            float z = lc->sigmoid[2 * j] * probs[r * J + j] + lc->sigmoid[2 * j + 1];
            probs[r * J + j] = 1.0f / (1.0f + expf(-z));
        }
}
