/* Named parameter tensors. Values, gradients and Adam moments each live in one arena,
 * carved into the tensors in registration order (llm.c style); gradients and moments only
 * while the set trains. */
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
    bool row_sparse;        /* gradient lives only in touched_rows (embeddings, ngram's buckets) */
    bool buffer;            /* a running statistic (batch norm): saved and copied, never optimised */
    uint32_t *touched_rows; /* row_sparse: the rows the last backward wrote, sorted, unique */
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
} param_set;

/* Registration phase: declare every tensor (shape given as ndim sizes), then allocate. */
tensor *params_declare(param_set *ps, const char *name, size_t ndim, const size_t *shape);
/* Allocates the values (zeroed) and points every tensor into them. */
hftc_status params_allocate(param_set *ps);
/* Allocates gradients and Adam moments (zeroed) for training, and the touched_rows of row_sparse tensors (room
 * for every row); a no-op if they exist. */
hftc_status params_allocate_training(param_set *ps);
/* Frees gradients and moments: the values stay (a trained set kept for inference). */
void params_free_training(param_set *ps);
void params_free(param_set *ps);
tensor *params_find(param_set *ps, const char *name);
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
