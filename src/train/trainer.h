/* The training loop shared by the strategies (level.c: flat and level; node.c: one binary classifier
 * per category): a trainer holds everything one network's epochs need, allocated once (trainer.c). */
#ifndef HFTC_TRAIN_TRAINER_H
#define HFTC_TRAIN_TRAINER_H

#include "core/clock.h"
#include "hier/metrics.h"
#include "model/batch.h"
#include "model/model.h"
#include "nn/adam.h"
#include "text/wordvec.h"
#include "train/options.h"

#include <jansson.h>

/* Optimiser groups: transferred layers may learn at their own rate (HTrans: 5e-4 against 1e-3). */
enum { GROUP_DEFAULT, GROUP_EMBEDDING, GROUP_TRANSFERRED };

/* A view of documents idx[0..n) of ds: the training and validation splits. */
typedef struct {
    const dataset *ds;
    size_t *idx;
    size_t n;
    const uint32_t *prefix; /* joint embedding: per document of ds, the label whose words go before its text
                             * (UINT32_MAX: none); NULL: no words before any text */
} split;

/* Everything the epoch loop needs, allocated once before it starts. */
typedef struct {
    const train_config *cfg;
    hftc_model *m;
    model_part *part;    /* the network being trained */
    uint32_t *output_of; /* label id -> the part's output, UINT32_MAX for labels outside it */
    adam opt;            /* Adam's state; SGD uses its groups and step count alone */
    bool frozen[ADAM_MAX_GROUPS];
    uint32_t *tokens;
    size_t *lengths;
    uint32_t *prefix_label; /* of the batch's documents, from the split's prefix */
    float *targets;
    float *valid_probs;
    float *pos_weight;        /* (n_outputs) BCE weight of positive targets; NULL = 1 */
    arena best_values;        /* parameter values of the best epoch: a copy of the parameter arena */
    bool backup_synced;       /* best_values equals the values but in the rows the optimiser marked changed */
    size_t *valid_gold_start; /* gold label sets of the validation split (CSR) */
    uint32_t *valid_gold;
    size_t n_labels;         /* label ids in use, including those only in validation data */
    uint64_t seed;           /* of the batch order and dropout: o->seed, or one per node classifier */
    compute_context compute; /* the threads its passes run on: the training's, or one (node classifiers) */
    bool quiet;              /* no progress callbacks and per-part information (concurrent node classifiers) */
    size_t *first_order;     /* SGD: the training split's order before the first epoch, to restart from */
    float first_loss;        /* the first batch's loss, at the starting weights (a diverging epoch's mark) */
    /* Data-parallel (flat and level models): each process of an MPI job computes its share of every batch and of
     * the validation documents (train/data_parallel.c); with one process, the whole of them. */
    bool data_parallel;
    size_t *rank_counts;              /* data-parallel: a gather's count per rank */
    uint64_t step_bytes, valid_bytes; /* data-parallel: bytes sent by the steps and by the validations */
    size_t steps, validations;
    hftc_status step_status; /* data-parallel: a failed sum of the shares (the loss is then NaN) */
    bool from_trained;       /* the weights were trained before (hftc learn): the first batch's loss is already low,
                              * no mark of divergence (a non-finite loss still is) */
    /* An extension (extend.c): after every step the values in these ranges go back to keep_values's, so that
     * only the rest trains. Pairs (first float, count) of the values arena; NULL: none. */
    const float *keep_values;
    const size_t *keep_ranges;
    size_t n_keep_ranges;
} trainer;

/* The trainer of part (its network in training mode); va: the split it is validated on. The BCE
 * positive weight is o->pos_weight for every output until trainer_set_label_weights. data_parallel: spread every
 * batch over the processes of the MPI job (all of them train this network together). */
hftc_status trainer_init(trainer *t, const train_config *cfg, hftc_model *m, model_part *part, const split *va,
                         bool data_parallel);
/* The BCE positive weight of each output: label_weights[label] (indexed by label id). */
hftc_status trainer_set_label_weights(trainer *t, const float *label_weights);
/* One BCE positive weight for every output. */
hftc_status trainer_set_pos_weight(trainer *t, float weight);
void trainer_free(trainer *t);
/* Where a training stands between epochs: with the trainer's network, best values and optimiser, what
 * continuing it needs. */
typedef struct {
    size_t epoch;      /* epochs done */
    double best;       /* the best epoch's validation score (lower is better) */
    size_t best_epoch; /* 0: none yet */
    size_t since_best, since_lr;
    double seconds; /* training seconds of the epochs done in earlier calls */
    json_t *epochs; /* the epochs' records */
} epoch_state;

/* A training that can stop between epochs and continue later (checkpoints). */
typedef struct {
    /* Before the first epoch: may set the state, and the trainer's network, best values and optimiser, to
     * continue a training from its state after some epochs. */
    hftc_status (*start)(trainer *t, epoch_state *s, void *user);
    /* After each epoch that does not end the training: HFTC_STATUS_INCOMPLETE stops it there. */
    hftc_status (*after_epoch)(trainer *t, const epoch_state *s, void *user);
    void *user;
} epoch_hooks;

/* One optimisation step on documents tr->idx[start .. start + B) in epoch (1-based): the batch's forward and
 * backward passes, then the optimiser's update (Adam or SGD); returns the batch's mean loss. Dropout masks depend on
 * the seed, the epoch and start alone. Data-parallel: this process's share of the batch, the shares' gradients
 * summed across the processes before the update (collective). */
float trainer_step(trainer *t, const split *tr, size_t start, size_t B, size_t epoch);
/* Epochs with validation and early stopping; leaves the best epoch's weights; appends to record. hooks:
 * NULL, or a training that may continue an earlier one and stop between epochs. */
hftc_status run_training(trainer *t, split *tr, split *va, json_t *record, const epoch_hooks *hooks);
/* Probabilities of the validation split into t->valid_probs; returns the mean loss. Data-parallel: each process
 * predicts its share of the documents, and every process gets them all (collective). */
float valid_predict(trainer *t, const split *va);
/* The metrics of t->valid_probs at threshold (one output: micro-F1 is the F1 of its class). */
hftc_status valid_metrics(trainer *t, const split *va, float threshold, metrics *mt);
/* Starts dst from src's listed layers (model/transfer.c); the copied tensors learn at o->transfer_lr
 * when it is set. Returns the number of tensors copied. */
size_t transfer_with_groups(const train_config *cfg, network *dst, network *src);
/* Sets up t's optimiser groups for part p's network after transfer_with_groups. */
void trainer_groups(trainer *t);

#endif
