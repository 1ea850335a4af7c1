/* What the linear family's training (linear.c) and its spreading over an MPI job's processes (linear_share.c)
 * share. */
#ifndef HFTC_TRAIN_LINEAR_INTERNAL_H
#define HFTC_TRAIN_LINEAR_INTERNAL_H

#include "train/trainer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One binary classifier's weights (features increasing) and bias. */
typedef struct {
    uint32_t *index;
    float *value;
    size_t nnz;
    float bias;
    bool trained;
} unit_weights;

/* One binary classifier: output j of part p. */
typedef struct {
    size_t part, output;
    size_t parent_unit; /* the unit of its label's first parent in an earlier part (transfer), or SIZE_MAX */
    size_t docs_of;     /* the unit whose label's documents it trains on (--node-docs parent), or SIZE_MAX */
    size_t twin; /* an earlier unit of the same problem, whose solution it copies (linear_twins.c), or SIZE_MAX */
} unit;

typedef struct {
    const train_config *cfg;
    hftc_model *m;
    const split *tr, *va;
    size_t n_features;
    struct feature_node *nodes; /* every training document's features, bias, terminator */
    struct feature_node **x;    /* (tr->n) each document's first node */
    bool every_feature_seen;    /* every feature occurs in a training document (not so in a continued training) */
    unit *units;
    size_t n_units;
    unit_weights *w; /* (n_units) the solutions at the C in training, then the starts of the next */
    hftc_status status;
} linear_context;

/* Scratch room of one thread's units: its documents (tr->n pointers, labels), a dense start (n_features + 1,
 * the bias last) and the features its documents have (n_features flags, left all false). */
typedef struct {
    struct feature_node **docs;
    double *y, *start;
    bool *present;
} unit_scratch;

void unit_weights_free(unit_weights *w);
/* sc's room for ctx's units, all of it or none (OUT_OF_MEMORY). */
hftc_status unit_scratch_init(const linear_context *ctx, unit_scratch *sc);
void unit_scratch_free(unit_scratch *sc);
/* What unit u starts from: its own solution at the C before, else its parent's at this C (transfer), else NULL
 * (zeros). */
const unit_weights *unit_from(const linear_context *ctx, size_t u);
/* Trains unit u at C from the weights from (NULL: zeros) into out (which may be from), with sc's room. */
hftc_status train_unit(linear_context *ctx, size_t u, double C, const unit_weights *from, unit_scratch *sc,
                       unit_weights *out);
/* The units of taxonomy level `level` at C (train_wave's work) spread over the processes of an MPI job: handed out
 * one at a time to whichever thread asks (dist_queue), each result back to rank 0, then every result of the level
 * broadcast to every rank, so that each holds every unit's weights for the next level and the next C. Each unit's
 * weights depend on its documents and its start alone: the same, bit for bit, whatever the process count. Errors
 * into ctx->status on every rank. */
void linear_wave_spread(linear_context *ctx, size_t level, double C);

/* Sets each unit's twin (the first earlier unit of the same level with the same documents, labels and start; none
 * for a continued training, whose units start from their own weights); *n_twins: how many have one. */
hftc_status linear_find_twins(linear_context *ctx, size_t *n_twins);
/* Each unit of taxonomy level `level` that has a twin gets a copy of its twin's weights (the wave trained the twin). */
hftc_status linear_copy_twins(linear_context *ctx, size_t level);
/* The taxonomy node of unit u's output. */
static inline uint32_t unit_label(const linear_context *ctx, size_t u)
{
    return ctx->m->parts[ctx->units[u].part].nodes[ctx->units[u].output];
}
/* Whether unit u is trained by the wave of `level` (of that level, and the first of its problem). */
static inline bool unit_in_wave(const linear_context *ctx, size_t u, size_t level)
{
    return ctx->m->parts[ctx->units[u].part].level == level && ctx->units[u].twin == SIZE_MAX;
}

#endif
