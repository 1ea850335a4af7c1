/* SGD: one multiply-add per touched element. */
#include "nn/sgd.h"

static void sgd_dense(const compute_context *cc, float *value, float *grad, size_t n, float rate)
{
#pragma omp parallel for simd schedule(static) num_threads(cc->threads)
    for (size_t i = 0; i < n; i++) {
        value[i] -= rate * grad[i];
        grad[i] = 0.0f;
    }
}

static void sgd_sparse(const compute_context *cc, tensor *t, float rate)
{
    size_t row = t->size / t->shape[0];
#pragma omp parallel for schedule(static) num_threads(cc->threads)
    for (size_t j = 0; j < t->n_touched; j++) {
        float *value = t->value + (size_t)t->touched_rows[j] * row, *grad = t->grad + j * row;
        if (t->changed)
            t->changed[t->touched_rows[j]] = 1;
#pragma omp simd
        for (size_t i = 0; i < row; i++) {
            value[i] -= rate * grad[i];
            grad[i] = 0.0f;
        }
    }
    t->n_touched = 0;
}

void sgd_step(const param_group *groups, size_t n_groups, const compute_context *cc, param_set *ps, float scale)
{
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        const param_group *g = &groups[t->group < n_groups ? t->group : 0];
        if (g->frozen || t->buffer)
            tensor_zero_grad(t);
        else if (t->row_sparse)
            sgd_sparse(cc, t, g->lr * scale);
        else
            sgd_dense(cc, t->value, t->grad, t->size, g->lr * scale);
    }
}
