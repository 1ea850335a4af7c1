/* The classifier a user trains, saves and loads: vocabulary, taxonomy, text options and its
 * networks ("parts"), plus the record of how it was trained. Behind the public hftc_model handle.
 * The strategy decides the parts: flat = one network over all labels; level = one network per
 * taxonomy level over that level's labels; node = one binary network per label (HTrans), parents
 * before children. Only labels the training data has get an output (a label without positive
 * examples cannot be learnt): the others score 0. The parts run one at a time at inference, so they
 * share one activation arena. */
#ifndef HFTC_MODEL_MODEL_H
#define HFTC_MODEL_MODEL_H

#include "data/dataset.h"
#include "data/taxonomy.h"
#include "hier/scoring.h"
#include "model/network.h"
#include "text/label_words.h"
#include "text/vocab.h"

#define MODEL_FORMAT_NAME "hftc"
#define MODEL_FORMAT_VERSION 1

typedef enum { STRATEGY_FLAT, STRATEGY_LEVEL, STRATEGY_NODE } strategy_kind;

/* Where node classifiers take their embedding table from: each its own (trained with it); one table
 * of the model's, frozen, for all; or (HTrans) top-level classifiers own theirs and every classifier
 * below reads its parent's, frozen. */
typedef enum { NODE_EMBEDDING_OWN, NODE_EMBEDDING_SHARED, NODE_EMBEDDING_INHERITED } node_embedding_kind;

#define MODEL_NO_PART SIZE_MAX

typedef struct {
    size_t level;    /* taxonomy level of its labels; 0 for flat */
    char name[64];   /* "flat", "level3" or "node CCAT" */
    char prefix[40]; /* of its tensor names in the model file: "" (flat), "level3." or "node17." */
    network *net;    /* sized for batch_capacity x tokenizer.max_len */
    uint32_t *nodes; /* output j -> taxonomy node */
    size_t n_outputs;
    size_t parent_part; /* node: the part of the label's parent (MODEL_NO_PART: none, top level) */
    float class_weight; /* node: BCE weight of the positive class it was trained with */
} model_part;

struct hftc_model {
    char preset[32];
    vocab vocab;
    taxonomy tax; /* the labels are its nodes; without a taxonomy file all are top level */
    tokenizer_options tokenizer;
    network_config net_config; /* n_classes: all labels (taxonomy nodes); each part has its own */
    strategy_kind strategy;
    node_embedding_kind node_embedding;
    float *shared_embedding; /* NODE_EMBEDDING_SHARED: the (V, E) table every node part reads */
    model_part *parts;
    size_t n_parts;
    /* The joint embedding (HFT-ONLSTM): a level part below the top reads the words of the document's
     * parent category (the true one in training, the one chosen above at inference) before the text. */
    bool joint_embedding;
    label_words label_words; /* joint_embedding: every label's words */
    scoring_kind scoring;    /* how ancestors' probabilities combine when none is asked for */
    float threshold;         /* on the scores of that scoring */
    float *label_thresholds; /* n_classes thresholds replacing threshold, or NULL */
    size_t batch_capacity;
    char *training_json;   /* the options and the training record, as JSON; may be NULL */
    char *checkpoint_json; /* loaded from a training checkpoint: its record (train/checkpoint.h); else NULL */
    arena workspace;       /* the activations the parts share at inference */
};

/* Tensors a model file may hold besides the model's, which loading skips: a training checkpoint's state
 * ("checkpoint.best_values", ...); and the metadata entry of a checkpoint's record. */
#define MODEL_EXTRA_TENSOR_PREFIX "checkpoint."
#define MODEL_CHECKPOINT_KEY "checkpoint"

typedef struct st_tensor st_tensor;
/* hftc_model_save with one more metadata entry (extra_key NULL: none), such as a training checkpoint's
 * record, and n_extra more tensors (named with MODEL_EXTRA_TENSOR_PREFIX). */
hftc_status model_save_with(const hftc_model *m, const char *path, const char *extra_key, const char *extra_value,
                            const st_tensor *extra, size_t n_extra);
/* A copy (caller frees) of metadata entry key of the model file at path; missing: HFTC_STATUS_MODEL. */
hftc_status model_read_metadata(const char *path, const char *key, char **value);
/* An empty model: vocabulary with <pad> and <unk>, empty taxonomy, no parts. */
hftc_status model_create(hftc_model **out);
/* Creates the parts' networks for m->strategy over the finalised m->tax, with m->net_config's sizes,
 * giving an output to the labels with has_output[label] (NULL: every label); a level none of whose
 * labels has an output gets no part. Node parts come level by level (parents first), each borrowing
 * its embedding as m->node_embedding says (SHARED: allocates m->shared_embedding). */
hftc_status model_build_parts(hftc_model *m, const bool *has_output);
/* Points the part's network (in inference mode) at the model's shared activation arena, growing the
 * arena when it is the first part or needs more (then every part is pointed at the new one). */
hftc_status model_share_workspace(hftc_model *m);
/* The embedding table part p reads: its own, its parent's, or the model's shared one. */
const float *model_part_embedding(const hftc_model *m, size_t p);
bool node_embedding_parse(const char *name, node_embedding_kind *out);
const char *node_embedding_name(node_embedding_kind kind);
bool strategy_parse(const char *name, strategy_kind *out);
const char *strategy_name(strategy_kind kind);

/* The words put before the documents of a batch: label[b] (UINT32_MAX: none) for document b. */
typedef struct {
    const label_words *words;
    const uint32_t *label;
} batch_prefix;

/* Padded batch of documents idx[0..B) of ds: tokens (B, T), each row the prefix's words (prefix NULL:
 * none) then the document's first max_len tokens, T the longest row but at least min_len; returns T. */
size_t batch_fill(const dataset *ds, const size_t *idx, size_t B, size_t max_len, size_t min_len,
                  const batch_prefix *prefix, uint32_t *tokens, size_t *lengths);
/* Targets (B, n_outputs) 0/1 for documents idx: label l sets output output_of[l] unless that is
 * UINT32_MAX or l >= n_labels (labels outside this part). */
void batch_targets(const dataset *ds, const size_t *idx, size_t B, const uint32_t *output_of, size_t n_labels,
                   size_t n_outputs, float *targets);

/* The window size below which documents are padded. */
size_t model_min_len(const network_config *cfg);
/* The longest input a network reads: the text's max_len plus, with the joint embedding, the longest
 * label name. */
size_t model_input_len(const hftc_model *m);

/* Document doc's (first) label at the taxonomy level, or UINT32_MAX. */
uint32_t model_label_at_level(const hftc_model *m, const dataset *ds, size_t doc, size_t level);

/* Where the joint embedding takes a document's parent category from at inference: the category the
 * scoring's decisions choose at the level above (top-down: the greedy path's; argmax: that level's
 * best), or, with gold, the document's own label at that level (accuracy given the true parent). */
typedef struct {
    scoring_kind scoring;
    bool gold;
} parent_source;

/* Skipping classifiers whose decision is known (node models, BSF or MSF scoring): a category's
 * classifier runs only on the documents whose parent bound (scoring_parent_bound) reaches threshold,
 * the others get probability 0. The decisions at that threshold are those of running every classifier
 * (a probability may differ in its last bits, as between batch compositions); scores below it, and
 * so rankings past the decided labels, are not. */
typedef struct {
    scoring_kind scoring;
    float threshold;
    const float *thresholds; /* per node, replacing threshold; NULL: none */
} prune_rule;

/* Whether prune changes how m predicts: a node model, BSF or MSF, a threshold above 0. */
bool model_prunes(const hftc_model *m, const prune_rule *prune);

/* The documents of raw texts (no labels), tokenised and mapped as the model reads them (keep_unknown: as
 * dataset_options.keep_unknown). */
hftc_status model_texts_dataset(const hftc_model *m, const char *const *texts, size_t n, bool keep_unknown,
                                dataset *ds);

/* The words a bigru-att model attended to most: for each of n documents and each part, the n_words
 * positions with the most attention, best first, as positions in the document's tokens and attention
 * weights (n x n_parts x n_words each; UINT32_MAX and 0 past the document's length). */
typedef struct {
    size_t n_words;
    uint32_t *positions;
    float *weights;
} attention_words;

/* Probabilities (n x all labels) for documents idx[0..n) of ds (idx NULL: documents 0..n), every
 * part in batches of the model's capacity, each part's outputs placed at its labels. parents: as
 * above for a joint-embedding model (NULL: predicted by the model's scoring); ignored otherwise.
 * prune: NULL, or the rule above (ignored where model_prunes says no). explain: NULL, or (bigru-att
 * models, no pruning) filled with the words each part attended to most. */
hftc_status model_predict_dataset(hftc_model *m, const dataset *ds, const size_t *idx, size_t n,
                                  const parent_source *parents, const prune_rule *prune, float *probs,
                                  attention_words *explain);

#endif
