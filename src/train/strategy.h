/* Training strategies: how a model's parts are trained from the documents. Each is a file (level.c: flat,
 * one network, and level, one per taxonomy level; node.c: one binary classifier per category) and a line
 * in strategy_ops_of's table (train.c). The parts' layout, which loading a model needs too, is the model's
 * (model_build_parts); each strategy writes its checkpoint's record and summary (checkpoint_save). */
#ifndef HFTC_TRAIN_STRATEGY_H
#define HFTC_TRAIN_STRATEGY_H

#include "train/trainer.h"

typedef struct {
    /* The splits the parts train on (tr) and are validated on (va) from the training and validation
     * files' documents; a strategy may merge valid into train and leave va empty (node classifiers split
     * all labelled documents themselves). */
    hftc_status (*split)(const train_config *cfg, dataset *train, dataset *valid, split *tr, split *va);
    /* Trains every part of m (label_weights: each label's BCE positive weight, or NULL), continuing from
     * the checkpoint when there is one; appends its records to record. */
    hftc_status (*train)(const train_config *cfg, hftc_model *m, const float *label_weights, split *tr, split *va,
                         json_t *record);
} strategy_ops;

extern const strategy_ops strategy_levels_ops, strategy_node_ops;
/* The linear family's training (linear.c), whatever the strategy: its parts are the strategy's layout. */
extern const strategy_ops strategy_linear_ops;
/* The linear family's continued training (hftc_learn): every classifier of m trains on tr from its own weights (the
 * solver's initial solution; the objective is convex, so the optimum is tr's whatever the start: the start only
 * saves iterations) over m's features, at each C of the options. */
hftc_status linear_train_warm(const train_config *cfg, hftc_model *m, split *tr, split *va, json_t *record);

/* The training file's documents and the validation file's (a seeded hold-out of --valid-fraction without
 * one): the flat and level strategies' split, and the linear family's. */
hftc_status levels_split(const train_config *cfg, dataset *train, dataset *valid, split *tr, split *va);

/* The node training of an extension or a continued training (hftc_extend, hftc_learn), on the documents of train
 * and valid: the parts with a record in kept (per part; NULL: none) stay as they are, or with continued train on from
 * their own weights at their own class weight (those whose documents are too few stay); the others train as the node
 * strategy trains them, parents first. */
hftc_status node_train_partial(const train_config *cfg, hftc_model *m, json_t *const *kept, bool continued,
                               dataset *train, dataset *valid, json_t *record);

/* Each label of tax's BCE positive weight (*out, tax's names; the caller frees): the class weight of its classifier
 * in the node model at path (--class-weights-from), 1 for a label that model lacks. */
hftc_status class_weights_read(const char *path, const taxonomy *tax, float **out);

/* Fills table (V, E) with the embedding the parts of m start from, or read frozen when they share one
 * (m->shared_embedding): uniform(-0.25, 0.25) from a stream of the seed, row 0 (<pad>) zero, then the word vectors of
 * --embeddings where a word has one. */
hftc_status embedding_start_table(const train_config *cfg, const hftc_model *m, float *table);

/* The strategy of kind. */
const strategy_ops *strategy_ops_of(strategy_kind kind);

#endif
