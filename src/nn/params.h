/* Named parameter tensors. Values, gradients and Adam moments each live in one arena,
 * carved into the tensors in registration order (llm.c style); gradients and moments only
 * while the set trains.
 *
 * A row-sparse tensor (the embedding, ngram's buckets: tables a batch touches a few rows of) has a compact
 * gradient: room for grad_rows rows of its width (the most one batch can touch: its positions, or the table's
 * rows if fewer), row j the gradient of row touched_rows[j] for j < n_touched, the rest zero. Its values and
 * moments are whole; a 1M x 100 table trains with a gradient of one batch's rows, not of 400 MB. The backward
 * passes that add into it keep touched_rows sorted, moving earlier rows to make room for new ones; the rows
 * touched between two consumptions (an optimiser step, tensor_zero_grad) must fit in grad_rows. */
#ifndef HFTC_NN_PARAMS_H
#define HFTC_NN_PARAMS_H

#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TENSOR_NAME_MAX 64
#define TENSOR_MAX_DIMS 4

typedef struct {
    char name[TENSOR_NAME_MAX]; /* e.g. "embedding.weight", "conv.2.weight", "fc1.bias" */
    size_t ndim, shape[TENSOR_MAX_DIMS], size;
    float *value, *grad, *adam_m, *adam_v;
    size_t group;           /* optimiser parameter group */
    bool row_sparse;        /* compact gradient (above); set by tensor_set_row_sparse */
    bool buffer;            /* a running statistic (batch norm): saved and copied, never optimised */
    size_t grad_rows;       /* row_sparse: the rows its gradient has room for */
    uint32_t *touched_rows; /* row_sparse: the rows holding gradient (grad's rows in order), sorted, unique */
    size_t n_touched;
    uint8_t *changed; /* row_sparse, training: 1 for each row an optimiser step moved since the last
                       * params_sync_backup */
} tensor;

#define PARAMS_MAX_TENSORS 64

typedef struct {
    tensor tensors[PARAMS_MAX_TENSORS];
    size_t n_tensors;
    size_t total;                 /* elements over all tensors */
    arena values, grads, moments; /* moments holds adam_m then adam_v */
    size_t dense_grads;           /* training: the dense tensors' gradients (and the zeros between them) are the first
                                   * dense_grads floats of grads */
} param_set;

/* Registration phase: declare every tensor (shape given as ndim sizes), then allocate. */
tensor *params_declare(param_set *ps, const char *name, size_t ndim, const size_t *shape);
/* Makes t row-sparse with a gradient of room for max_rows rows (at most its own), before training allocates. */
void tensor_set_row_sparse(tensor *t, size_t max_rows);
/* Allocates the values (zeroed) and points every tensor into them. */
hftc_status params_allocate(param_set *ps);
/* Allocates gradients and Adam moments (zeroed) for training, and the touched_rows of row_sparse tensors (room
 * for grad_rows); a no-op if they exist. */
hftc_status params_allocate_training(param_set *ps);
/* Frees gradients and moments: the values stay (a trained set kept for inference). */
void params_free_training(param_set *ps);
void params_free(param_set *ps);
tensor *params_find(param_set *ps, const char *name);
/* The gradient of row r of a training tensor (of its first dimension): a row-sparse one's only where r is among its
 * touched rows, else NULL. */
const float *tensor_grad_row(const tensor *t, size_t r);
/* A row-sparse gradient of rows (width floats) listed in rows[0 .. n_rows) (sorted) re-laid for merged[0 .. n),
 * a sorted list holding every row of rows: each row's gradient moves to its place in merged, the new rows
 * zeroed. grad has room for n rows. */
void row_grads_merge(float *grad, size_t width, const uint32_t *rows, size_t n_rows, const uint32_t *merged, size_t n);
/* Zeroes t's gradient (a row-sparse one in its touched rows, which it then forgets). */
void tensor_zero_grad(tensor *t);
void params_zero_grad(param_set *ps);
/* Makes backup (room for the values arena) equal to the values (restore: the values equal to backup): dense
 * tensors whole, row-sparse ones only in their changed rows unless all is set; then no row is marked changed.
 * Without all, the two must have been equal outside the changed rows (a 1M-row table whose epoch moved a tenth
 * of its rows costs a tenth of the copy). */
void params_sync_backup(param_set *ps, float *backup, bool restore, bool all);
/* Copies values of tensors with equal names and shapes from src (transfer between models). */
size_t params_copy_matching(param_set *dst, const param_set *src, bool (*select)(const char *name));

#endif
