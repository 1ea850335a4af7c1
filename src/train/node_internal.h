/* What the node strategy's files share (node.c: the training; node_reuse.c: --reuse-runs). */
#ifndef HFTC_TRAIN_NODE_INTERNAL_H
#define HFTC_TRAIN_NODE_INTERNAL_H

#include "train/checkpoint.h"
#include "train/trainer.h"

#define PROGRESS_SECONDS 60.0

/* A classifier's documents: its training and validation splits. */
typedef struct {
    size_t *train_idx, n_train, *valid_idx, n_valid;
    size_t positives_train, positives_valid;
    size_t docs_of; /* the part whose category's documents it trains on (its parent's or an ancestor's);
                       MODEL_NO_PART: all documents */
} node_split;

/* What the level's runs share, read-only but for the work queue's calls (under its lock, on rank 0). */
typedef struct {
    const train_config *cfg;
    hftc_model *m;
    const float *initial_embedding; /* (V, E) start of every classifier that owns its embedding */
    const dataset *ds;
    node_split *splits; /* per part */
    double *best_f1;    /* per part */
    size_t *best_weight;
    json_t **runs; /* per part: one record per weight (null: not run yet) */
    hftc_status status;
    char error[512];
    bool halt;                      /* set on an error or at the time limit: no new run starts */
    bool timed_out;                 /* the time limit halted this call */
    size_t runs_now;                /* runs finished in this call */
    size_t *jobs, n_jobs, next_job; /* the level's runs not done yet (part * weights + weight index) */
    size_t *runs_by_rank;           /* runs finished in this call by each rank of the job (on rank 0) */
    checkpoint ck;
    char data_fingerprint[17]; /* training_fingerprint's, recorded in the model for --reuse-runs */
    json_t *const *kept; /* an extension or a continued training (hftc_extend, hftc_learn): per part, the record of a
                          * classifier the model had (NULL: none); NULL: a training */
    bool continued;      /* hftc_learn: each classifier with a record trains on from its own weights at its own class
                          * weight, and stays as it is where its documents are too few; else those with a record stay */
    bool *kept_now;      /* per part: it stays as it is */
    /* progress of the level being trained, logged about every PROGRESS_SECONDS */
    size_t level, level_done;
    double level_start, last_progress;
} node_context;

/* Rank 0's results of parts [first, end) to every other rank, so that each holds the networks the next level
 * starts from: the status (an error, or the time limit), and per part its best weight and F1, its runs'
 * records and its best network; *restored (if not NULL): how many runs the checkpoint held. */
hftc_status node_share(node_context *ctx, size_t first, size_t end, size_t *restored);

/* --reuse-runs: every classifier that starts from scratch here and in that model (the top level's; all when
 * neither transfers), and has no run from the checkpoint, takes that model's runs (records, best weight and
 * network) instead of repeating them; the runs of the further weights follow as usual. */
hftc_status node_reuse(node_context *ctx);
/* The runs taken with --reuse-runs: by this call or, before a checkpoint, by an earlier one. */
size_t runs_reused(const node_context *ctx, size_t n_parts);

#endif
