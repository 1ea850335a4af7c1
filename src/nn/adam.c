/* Adam: dense tensors follow torch.optim.Adam (eps added to the bias-corrected sqrt(v)); row-sparse
 * tensors follow torch.optim.SparseAdam (moments and values change only in touched rows, eps added
 * to the uncorrected sqrt(v)), so each has an exact PyTorch reference. The float operations are
 * written in PyTorch's order so that results agree to rounding. */
#include "nn/adam.h"

#include <math.h>
#include <string.h>

void adam_init(adam *opt, float lr)
{
    *opt = (adam){.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = 0, .n_groups = 1};
    opt->groups[0] = (param_group){.lr = lr, .frozen = false};
}

/* adam_dense and adam_sparse share out their elements or rows among the threads of the parallel region adam_step runs
 * them in (worksharing without a barrier: each element and row belongs to one thread). */

// value, grad, m, v are (n); step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t).
static void adam_dense(float *value, float *grad, float *m, float *v, size_t n, float beta1, float beta2, float eps,
                       float step_size, float bc2_sqrt)
{
    float a1 = 1.0f - beta1, a2 = 1.0f - beta2;
#pragma omp for simd schedule(static) nowait
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        m[i] = m[i] * beta1 + a1 * g;
        v[i] = v[i] * beta2 + a2 * (g * g);
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        value[i] = value[i] + -step_size * (m[i] / denom);
        grad[i] = 0.0f;
    }
}

// The touched rows of a (rows, row) tensor; step_size = lr * sqrt(1 - beta2^t) / (1 - beta1^t).
static void adam_sparse(tensor *t, float beta1, float beta2, float eps, float step_size)
{
    size_t row = t->size / t->shape[0];
    float a1 = 1.0f - beta1, a2 = 1.0f - beta2;
#pragma omp for schedule(static) nowait
    for (size_t j = 0; j < t->n_touched; j++) {
        size_t base = (size_t)t->touched_rows[j] * row;
        float *value = t->value + base, *grad = t->grad + j * row, *m = t->adam_m + base, *v = t->adam_v + base;
        if (t->changed)
            t->changed[t->touched_rows[j]] = 1;
#pragma omp simd
        for (size_t i = 0; i < row; i++) {
            float g = grad[i];
            float dm = (g - m[i]) * a1, dv = (g * g - v[i]) * a2;
            float numer = dm + m[i], second = dv + v[i];
            m[i] += dm;
            v[i] += dv;
            value[i] = value[i] + -step_size * (numer / (sqrtf(second) + eps));
            grad[i] = 0.0f;
        }
    }
}

void adam_step(adam *opt, const compute_context *cc, param_set *ps)
{
    opt->step++;
    // PyTorch computes the bias corrections in double (Python floats) and rounds them once.
    double bc1 = 1.0 - pow(opt->beta1, (double)opt->step);
    double bc2 = 1.0 - pow(opt->beta2, (double)opt->step);
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        const param_group *g = &opt->groups[t->group < opt->n_groups ? t->group : 0];
        if (g->frozen || t->buffer) /* left as they are, but their gradient is consumed: a group unfrozen
                                     * later does not start from stale gradients */
            tensor_zero_grad(t);
    }
    // One parallel region for all the tensors: a region each cost a start and a join per tensor (nine a step for
    // Kim's CNN, where a step at 13 words takes milliseconds).
#pragma omp parallel num_threads(cc->threads)
    for (size_t i = 0; i < ps->n_tensors; i++) {
        tensor *t = &ps->tensors[i];
        const param_group *g = &opt->groups[t->group < opt->n_groups ? t->group : 0];
        if (g->frozen || t->buffer)
            continue;
        if (t->row_sparse)
            adam_sparse(t, opt->beta1, opt->beta2, opt->eps, (float)(g->lr * sqrt(bc2) / bc1));
        else
            adam_dense(t->value, t->grad, t->adam_m, t->adam_v, t->size, opt->beta1, opt->beta2, opt->eps,
                       (float)(g->lr / bc1), (float)sqrt(bc2));
    }
    for (size_t i = 0; i < ps->n_tensors; i++)
        if (ps->tensors[i].row_sparse)
            ps->tensors[i].n_touched = 0;
}
