/* Gradients whole, for tests that compare them with dense references: a row-sparse gradient (nn/params.h: row j
 * the gradient of row rows[j]) spread over its table's rows, the rows it lacks zero. */
#ifndef HFTC_TESTS_GRADS_H
#define HFTC_TESTS_GRADS_H

#include "nn/params.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// dense (n_dense rows of width floats) from compact, whose row j is row rows[j] (j < n).
static inline void grad_spread(float *dense, const float *compact, const uint32_t *rows, size_t n, size_t n_dense,
                               size_t width)
{
    memset(dense, 0, n_dense * width * sizeof *dense);
    for (size_t j = 0; j < n; j++)
        memcpy(dense + (size_t)rows[j] * width, compact + j * width, width * sizeof *dense);
}

// t's gradient as t->size floats, row by row through tensor_grad_row (malloc'ed: the caller frees it).
static inline float *grad_dense(const tensor *t)
{
    size_t width = t->size / t->shape[0];
    float *g = malloc(t->size * sizeof *g);
    for (size_t r = 0; g && r < t->shape[0]; r++) {
        const float *row = tensor_grad_row(t, r);
        if (row)
            memcpy(g + r * width, row, width * sizeof *g);
        else
            memset(g + r * width, 0, width * sizeof *g);
    }
    return g;
}

// The floats t's gradient holds: a row-sparse one's room (grad_rows rows), else t->size.
static inline size_t grad_floats(const tensor *t)
{
    return t->row_sparse ? t->grad_rows * (t->size / t->shape[0]) : t->size;
}

#endif
