/* Adam (Kingma & Ba) with parameter groups, matching torch.optim.Adam for dense tensors.
 * Row-sparse tensors (embeddings) are updated lazily, only in the rows a batch touched,
 * like torch.optim.SparseAdam. Gradients are zeroed as they are consumed. */
#ifndef HFTC_NN_ADAM_H
#define HFTC_NN_ADAM_H

#include "core/compute.h"
#include "nn/params.h"

#define ADAM_MAX_GROUPS 8

typedef struct {
    float lr; /* learning rate; 0 with frozen = true means no update and no gradient needed */
    bool frozen;
} param_group;

typedef struct {
    float beta1, beta2, eps;
    size_t step;
    param_group groups[ADAM_MAX_GROUPS];
    size_t n_groups;
} adam;

/* beta1 0.9, beta2 0.999, eps 1e-8, one group with learning rate lr. */
void adam_init(adam *opt, float lr);
void adam_step(adam *opt, const compute_context *cc, param_set *ps);

#endif
