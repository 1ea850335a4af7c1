/* The training options inside the library: the option table (options_table.c), the presets over it
 * (options_presets.c) and their checks (options.c). */
#ifndef HFTC_TRAIN_OPTIONS_H
#define HFTC_TRAIN_OPTIONS_H

#include "hftc.h"

#include "core/compute.h"
#include "data/dataset.h"
#include "data/taxonomy.h"
#include "hier/scoring.h"
#include "model/model.h"
#include "model/network.h"
#include "text/tokenizer.h"
#include "text/wordvec.h"

#include <jansson.h>
#include <stdbool.h>

/* What an option is, beside its value (the table's flags). */
enum {
    OPTION_INCIDENTAL = 1,  /* does not change what a training computes: threads, file names and formats (what
                             * was read from them is fingerprinted), checkpointing */
    OPTION_FIXED = 2,       /* set by hftc_train_options_init alone: the preset */
    OPTION_RUN_NEUTRAL = 4, /* does not change a node classifier that starts from scratch: the preset's name, the
                             * scoring stored for inference, how children start, the class weights (--reuse-runs
                             * compares their list on its own) */
};

/* Every option at its value before any preset. */
void train_options_reset(hftc_train_options *o);
/* Applies "name=value name=value" settings (a preset's row); no string (file) options. */
hftc_status train_options_apply(hftc_train_options *o, const char *settings);
/* Every option as the training record keeps it: {"max_len": 13, ...} (the option's name, '_' for '-'). */
json_t *train_options_json(const hftc_train_options *o);
/* Deletes from train_options_json's object the options with any of flags. */
void train_options_drop(json_t *options, unsigned flags);
/* The options a training record holds (train_options_json's object) into o: its preset's defaults, then every
 * recorded value (an option the record lacks keeps its default). String options point into options: keep it alive
 * while o is in use. HFTC_STATUS_MODEL for a record without options or with a value of the wrong type. */
hftc_status train_options_from_json(hftc_train_options *o, const json_t *options);

typedef enum { TRANSFER_NONE, TRANSFER_FINETUNE } transfer_kind;
typedef enum { NODE_DOCS_ALL, NODE_DOCS_PARENT } node_docs_kind;
typedef enum { LEVEL_DOCS_ALL, LEVEL_DOCS_REACH } level_docs_kind;
typedef enum { OPTIMIZER_ADAM, OPTIMIZER_SGD } optimizer_kind;
typedef enum { EARLY_STOP_LOSS, EARLY_STOP_MICRO_F1, EARLY_STOP_ACCURACY, EARLY_STOP_WEIGHTED_F1 } early_stop_kind;

bool transfer_parse(const char *name, transfer_kind *out);

/* A training's options resolved once: every name parsed into its kind, the network's configuration (all
 * but the sizes the data and the word vectors decide) and the tokeniser's options. The strategies, the
 * trainer and the checkpoint read these, never the option strings. */
typedef struct {
    const hftc_train_options *o; /* the numbers and files, as given */
    data_format data_format;
    taxonomy_format taxonomy_format;
    wordvec_format vectors_format; /* auto until hftc_train probes the file */
    strategy_kind strategy;
    model_family family;
    bool linear_svm;               /* linear: the L2-loss SVM (else logistic regression) */
    bool linear_zero_start;        /* linear: a classifier from nothing starts at zeros (else at its bias's optimum) */
    bool linear_sigmoid_per_label; /* linear SVM: a sigmoid per output (else one for all) */
    transfer_kind transfer;
    uint64_t transfer_layers; /* the layers finetune copies (model/transfer.h) */
    node_docs_kind node_docs;
    level_docs_kind level_docs;
    early_stop_kind early_stop;
    optimizer_kind optimizer;
    scoring_kind scoring;
    node_embedding_kind node_embedding; /* how node classifiers hold their embedding */
    network_config net;                 /* vocab_size, embed_dim and n_classes: once the data is read */
    tokenizer_options tokenizer;
    compute_context compute; /* the training's threads (o->threads; 0: every core) */
} train_config;

/* Checks o (hftc_train_options_check) and resolves it into c, which keeps a pointer to o. */
hftc_status train_config_resolve(const hftc_train_options *o, train_config *c);

#endif
