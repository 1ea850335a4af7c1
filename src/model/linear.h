/* A linear classifier over sparse features (linear.c): one weight vector and bias per output, the
 * decision value w . x + b turned into a probability by a sigmoid sigma(a (w . x + b) + c): a = 1, c = 0
 * for logistic regression; fitted on validation data for an SVM (Platt scaling). The weights are held by
 * feature (CSR: each feature's nonzero weights with their outputs), as scoring a sparse document reads
 * them: its cost is the weights of the document's features, not of the model. */
#ifndef HFTC_MODEL_LINEAR_H
#define HFTC_MODEL_LINEAR_H

#include "model/tfidf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t n_features, n_outputs;
    uint32_t *row_start; /* (n_features + 1) feature f's weights: entries [row_start[f], row_start[f + 1]) */
    uint32_t *output;    /* (nnz) the output of each entry */
    float *weight;       /* (nnz) */
    float *bias;         /* (n_outputs) */
    float *sigmoid;      /* (n_outputs, 2) a and c of each output's probability */
} linear_classifier;

size_t linear_nnz(const linear_classifier *lc);
/* A classifier with room for nnz weights (row_start, output and weight to fill; bias 0, sigmoid (1, 0)). */
hftc_status linear_create(linear_classifier **out, size_t n_features, size_t n_outputs, size_t nnz);
/* The classifier of weights given by output (w: rows = outputs, indices = features < n_features; zeros
 * are left out), bias (n_outputs) and sigmoid (n_outputs x 2, NULL: (1, 0)), laid out on `threads` threads (the same
 * layout whatever their number). */
hftc_status linear_from_outputs(linear_classifier **out, size_t n_features, const sparse_rows *w, const float *bias,
                                const float *sigmoid, int threads);
/* The weights by output (rows = outputs), features increasing: what linear_from_outputs takes. */
hftc_status linear_to_outputs(const linear_classifier *lc, sparse_rows *w);
/* Checks a classifier read from a file: row_start increasing to nnz, outputs in range, every value
 * finite. NULL: sound; else what is wrong. */
const char *linear_check(const linear_classifier *lc);
void linear_free(linear_classifier *lc);
/* Decision values (x->n_rows x n_outputs) of rows x; features past n_features are ignored. */
void linear_decisions(const linear_classifier *lc, const sparse_rows *x, float *values);
/* Probabilities (x->n_rows x n_outputs) of rows x. */
void linear_probabilities(const linear_classifier *lc, const sparse_rows *x, float *probs);

#endif
