/* Data-parallel training: the sums and gathers of the shares (see data_parallel.h). */
#include "train/data_parallel.h"

#include "core/arena.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

static int compare_rows(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

// The union of the rows every share touched, t's gradient re-laid on it (zero in the rows this share did not
// touch), then summed over the shares in just those rows.
static hftc_status sum_row_sparse(tensor *t, size_t *rank_counts)
{
    size_t width = t->size / t->shape[0];
    uint32_t *rows;
    TRY(dist_gather(t->touched_rows, t->n_touched * sizeof *rows, (void **)&rows, rank_counts));
    size_t all = 0, n = 0;
    for (int r = 0; r < hftc_distributed_size(); r++)
        all += rank_counts[r] / sizeof *rows;
    if (all)
        qsort(rows, all, sizeof *rows, compare_rows);
    for (size_t i = 0; i < all; i++)
        if (n == 0 || rows[i] != rows[n - 1])
            rows[n++] = rows[i];
    /* every row is among the whole batch's, which one process's gradient has room for: the same on every rank */
    if (n > t->grad_rows) {
        free(rows);
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: the batch's shares touch %zu rows, more than its %zu",
                         t->name, n, t->grad_rows);
    }
    row_grads_merge(t->grad, width, t->touched_rows, t->n_touched, rows, n);
    if (n)
        memcpy(t->touched_rows, rows, n * sizeof *rows);
    t->n_touched = n;
    free(rows);
    dist_sum_floats(t->grad, n * width);
    return HFTC_STATUS_OK;
}

hftc_status dp_sum_gradients(param_set *ps, size_t *rank_counts, float *loss)
{
    if (hftc_distributed_size() == 1)
        return HFTC_STATUS_OK;
    double batch_loss = *loss;
    dist_sum_doubles(&batch_loss, 1);
    *loss = (float)batch_loss;
    dist_sum_floats((float *)ps->grads.base, ps->dense_grads);
    for (size_t i = 0; i < ps->n_tensors; i++)
        if (ps->tensors[i].row_sparse)
            TRY(sum_row_sparse(&ps->tensors[i], rank_counts));
    return HFTC_STATUS_OK;
}

hftc_status dp_gather_rows(float *probs, size_t first, size_t n, size_t width, size_t *rank_counts)
{
    if (hftc_distributed_size() == 1)
        return HFTC_STATUS_OK;
    float *all;
    TRY(dist_gather(probs + first * width, n * width * sizeof *probs, (void **)&all, rank_counts));
    size_t bytes = 0;
    for (int r = 0; r < hftc_distributed_size(); r++)
        bytes += rank_counts[r];
    if (bytes) /* the shares in rank order: the rows in order */
        memcpy(probs, all, bytes);
    free(all);
    return HFTC_STATUS_OK;
}

hftc_status dp_first_differing_rank(uint64_t value, int *rank)
{
    *rank = 0;
    int ranks = hftc_distributed_size();
    if (ranks == 1)
        return HFTC_STATUS_OK;
    size_t *counts = mem_alloc((size_t)ranks, sizeof *counts);
    if (!counts) /* the others wait in the gather: the job ends (cli) */
        return HFTC_STATUS_OUT_OF_MEMORY;
    uint64_t *each = NULL;
    hftc_status st = dist_gather(&value, sizeof value, (void **)&each, counts);
    for (int r = 1; st == HFTC_STATUS_OK && r < ranks && !*rank; r++)
        *rank = each[r] != each[0] ? r : 0;
    free(each), free(counts);
    return st;
}

hftc_status dp_check_same_weights(const param_set *ps, const char *name)
{
    int other;
    TRY(dp_first_differing_rank(fnv1a(FNV1A_START, ps->values.base, ps->values.used), &other));
    return other ? error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "%s: rank %d's weights differ from rank 0's after data-parallel training: the MPI "
                             "library's sums are not the same on every rank",
                             name, other)
                 : HFTC_STATUS_OK;
}
