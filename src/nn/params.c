/* Named parameter tensors carved from three arenas: values, gradients (compact for row-sparse tensors, plus
 * their touched-row lists) and Adam moments. The last two exist only while a set is being trained. */
#include "nn/params.h"

#include "core/error.h"

#include <string.h>

tensor *params_declare(param_set *ps, const char *name, size_t ndim, const size_t *shape)
{
    if (ps->n_tensors == PARAMS_MAX_TENSORS || ndim == 0 || ndim > TENSOR_MAX_DIMS || strlen(name) >= TENSOR_NAME_MAX)
        return NULL;
    tensor *t = &ps->tensors[ps->n_tensors++];
    *t = (tensor){0};
    strcpy(t->name, name);
    t->ndim = ndim;
    t->size = 1;
    for (size_t i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->size *= shape[i];
    }
    return t;
}

void tensor_set_row_sparse(tensor *t, size_t max_rows)
{
    t->row_sparse = true;
    t->grad_rows = max_rows < t->shape[0] ? max_rows : t->shape[0];
}

// Each carve runs twice: on an unsized arena to count bytes, then on the allocated one to hand out pointers.
static void params_carve_values(param_set *ps)
{
    for (size_t i = 0; i < ps->n_tensors; i++)
        ps->tensors[i].value = arena_floats(&ps->values, ps->tensors[i].size);
}

// The dense tensors' gradients first, back to back (one reduction sums them in data-parallel training), then the
// row-sparse ones with their row lists.
static void params_carve_training(param_set *ps)
{
    for (size_t i = 0; i < ps->n_tensors; i++)
        if (!ps->tensors[i].row_sparse)
            ps->tensors[i].grad = arena_floats(&ps->grads, ps->tensors[i].size);
    ps->dense_grads = ps->grads.used / sizeof(float); /* with the alignment's gaps, which stay zero */
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        if (t->row_sparse) {
            t->grad = arena_floats(&ps->grads, t->grad_rows * (t->size / t->shape[0]));
            t->touched_rows = arena_alloc(&ps->grads, t->grad_rows, sizeof(uint32_t));
            t->changed = arena_alloc(&ps->grads, t->shape[0], sizeof(uint8_t));
        } else {
            t->touched_rows = NULL, t->changed = NULL;
        }
        t->n_touched = 0;
    }
    for (size_t i = 0; i < ps->n_tensors; i++)
        ps->tensors[i].adam_m = arena_floats(&ps->moments, ps->tensors[i].size);
    for (size_t i = 0; i < ps->n_tensors; i++)
        ps->tensors[i].adam_v = arena_floats(&ps->moments, ps->tensors[i].size);
}

hftc_status params_allocate(param_set *ps)
{
    ps->values = ps->grads = ps->moments = (arena){0};
    ps->total = 0;
    for (size_t i = 0; i < ps->n_tensors; i++)
        ps->total += ps->tensors[i].size;
    params_carve_values(ps);
    TRY(arena_init(&ps->values, ps->values.used));
    params_carve_values(ps);
    return HFTC_STATUS_OK;
}

hftc_status params_allocate_training(param_set *ps)
{
    if (ps->grads.base)
        return HFTC_STATUS_OK;
    ps->grads = ps->moments = (arena){0};
    params_carve_training(ps);
    arena plan[2] = {ps->grads, ps->moments};
    hftc_status st = arena_init(&ps->grads, plan[0].used);
    if (st == HFTC_STATUS_OK)
        st = arena_init(&ps->moments, plan[1].used);
    if (st != HFTC_STATUS_OK) {
        params_free_training(ps);
        return st;
    }
    params_carve_training(ps);
    return HFTC_STATUS_OK;
}

void params_free_training(param_set *ps)
{
    arena_free(&ps->grads);
    arena_free(&ps->moments);
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        t->grad = t->adam_m = t->adam_v = NULL;
        t->touched_rows = NULL;
        t->changed = NULL;
        t->n_touched = 0;
    }
}

void params_free(param_set *ps)
{
    params_free_training(ps);
    arena_free(&ps->values);
    for (size_t i = 0; i < ps->n_tensors; i++)
        ps->tensors[i].value = NULL;
}

tensor *params_find(param_set *ps, const char *name)
{
    for (size_t i = 0; i < ps->n_tensors; i++)
        if (strcmp(ps->tensors[i].name, name) == 0)
            return &ps->tensors[i];
    return NULL;
}

const float *tensor_grad_row(const tensor *t, size_t r)
{
    size_t row = t->size / t->shape[0], lo = 0, hi = t->n_touched;
    if (!t->row_sparse)
        return t->grad + r * row;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->touched_rows[mid] < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n_touched && t->touched_rows[lo] == r ? t->grad + lo * row : NULL;
}

// From the last place down: a row's place in merged is at or after its place in rows, so no row is overwritten
// before it moves, and once the places left are as many as the old rows left, those are in place. The rows past
// n_rows are zero (the invariant the optimisers and tensor_zero_grad keep): only a new row placed below n_rows,
// where an old row was, needs zeroing.
void row_grads_merge(float *grad, size_t width, const uint32_t *rows, size_t n_rows, const uint32_t *merged, size_t n)
{
    for (size_t left = n, old = n_rows; left > old;) {
        size_t i = --left;
        if (old > 0 && merged[i] == rows[old - 1])
            memcpy(grad + i * width, grad + --old * width, width * sizeof(float));
        else if (i < n_rows)
            memset(grad + i * width, 0, width * sizeof(float));
    }
}

// A row-sparse gradient is non-zero only in its first n_touched rows (the invariant kept by the backward passes
// and the optimisers), so only those are cleared.
void tensor_zero_grad(tensor *t)
{
    size_t n = t->row_sparse ? t->n_touched * (t->size / t->shape[0]) : t->size;
    memset(t->grad, 0, n * sizeof(float));
    t->n_touched = 0;
}

void params_zero_grad(param_set *ps)
{
    for (size_t i = 0; i < ps->n_tensors; i++)
        tensor_zero_grad(&ps->tensors[i]);
}

void params_sync_backup(param_set *ps, float *backup, bool restore, bool all)
{
    float *base = (float *)ps->values.base;
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        float *copy = backup + (t->value - base), *to = restore ? t->value : copy, *from = restore ? copy : t->value;
        if (all || !t->changed) {
            memcpy(to, from, t->size * sizeof(float));
        } else {
            size_t row = t->size / t->shape[0];
            for (size_t r = 0; r < t->shape[0]; r++)
                if (t->changed[r])
                    memcpy(to + r * row, from + r * row, row * sizeof(float));
        }
        if (t->changed)
            memset(t->changed, 0, t->shape[0]);
    }
}

size_t params_copy_matching(param_set *dst, const param_set *src, bool (*select)(const char *name))
{
    size_t copied = 0;
    for (size_t i = 0; i < dst->n_tensors; i++) {
        tensor *d = &dst->tensors[i];
        if (select && !select(d->name))
            continue;
        for (size_t j = 0; j < src->n_tensors; j++) {
            const tensor *s = &src->tensors[j];
            if (strcmp(s->name, d->name) != 0)
                continue;
            if (s->ndim == d->ndim && memcmp(s->shape, d->shape, d->ndim * sizeof(size_t)) == 0) {
                memcpy(d->value, s->value, d->size * sizeof(float));
                copied++;
            }
            break;
        }
    }
    return copied;
}
