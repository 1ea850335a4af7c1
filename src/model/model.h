/* The classifier a user trains, saves and loads: vocabulary, taxonomy, text options and its
 * networks ("parts"), plus the record of how it was trained. Behind the public hftc_model handle.
 * The strategy decides the parts: flat = one network over all labels; level = one network per
 * taxonomy level over that level's labels; node = one binary network per label (HTrans), parents
 * before children; parent = one network per node over its children (HDLTex), the top level's first, parents
 * before children. Only labels the training data has get an output (a label without positive
 * examples cannot be learnt): the others score 0. The parts run one at a time at inference, so they
 * share one activation arena. Batching is declared in batch.h, prediction in model_predict.h, the model
 * file in model_file.h. */
#ifndef HFTC_MODEL_MODEL_H
#define HFTC_MODEL_MODEL_H

#include "core/compute.h"
#include "data/taxonomy.h"
#include "hier/scoring.h"
#include "model/linear.h"
#include "model/network.h"
#include "model/tfidf.h"
#include "text/label_words.h"
#include "text/vocab.h"

typedef enum { STRATEGY_FLAT, STRATEGY_LEVEL, STRATEGY_NODE, STRATEGY_PARENT } strategy_kind;

/* What a part is: a network (embedding, encoder, head) trained by the trainer, or a linear classifier over
 * TF-IDF features trained by liblinear (train/linear.c). Every strategy, scoring and threshold applies to
 * both. */
typedef enum { FAMILY_NEURAL, FAMILY_LINEAR } model_family;

/* Where node classifiers take their embedding table from: each its own (trained with it); one table
 * of the model's, frozen, for all; or (HTrans) top-level classifiers own theirs and every classifier
 * below reads its parent's, frozen. */
typedef enum { NODE_EMBEDDING_OWN, NODE_EMBEDDING_SHARED, NODE_EMBEDDING_INHERITED } node_embedding_kind;

#define MODEL_NO_PART SIZE_MAX
#define MODEL_MAX_BRANCH 255

typedef struct {
    size_t level;    /* taxonomy level of its labels; 0 for flat; parent: its node's part's + 1 (1: the top) */
    char name[64];   /* "flat", "level3", "node CCAT", "parent CCAT" or "parent (top)" */
    char prefix[40]; /* of its tensor names: "" (flat), "level3.", "node17.", "parent17.", "parent_top." */
    network *net;    /* neural: sized for batch_capacity x tokenizer.max_len; linear: NULL */
    linear_classifier *linear; /* linear: its classifier (NULL until trained); neural: NULL */
    uint32_t *nodes;           /* output j -> taxonomy node */
    size_t n_outputs;
    size_t parent_part; /* node: the part of the label's parent (MODEL_NO_PART: none, top level); parent: the part
                         * whose outputs hold its node (MODEL_NO_PART: the top level's part); a branch: its level's
                         * own part, whose embedding it reads */
    bool of_node;       /* parent: its outputs are the children of one node (model_part_node), whose documents it
                         * trains on */
    unsigned branch;    /* flat and level: 0, the level's own network; k > 0, the k-th network hftc extend added to
                         * the level for categories the model lacked ("level2 branch 1") */
    float class_weight; /* node: BCE weight of the positive class it was trained with */
} model_part;

struct hftc_model {
    char preset[32];
    vocab vocab;
    taxonomy tax; /* the labels are its nodes; without a taxonomy file all are top level */
    tokenizer_options tokenizer;
    network_config net_config; /* n_classes: all labels (taxonomy nodes); each part has its own */
    strategy_kind strategy;
    model_family family;
    tfidf features; /* linear: the documents' features */
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
    uint8_t *label_branch;   /* flat and level: n_classes, the branch whose network gives a label's output (0: its
                              * level's own); NULL: every label's is its level's own */
    size_t batch_capacity;
    char *training_json;      /* the options and the training record, as JSON; may be NULL */
    char *checkpoint_summary; /* loaded from a training checkpoint: the summary its training wrote; else NULL */
    bool unchecked_file;      /* loaded from a file without checksums (written before hftc kept them) */
    arena workspace;          /* the activations the parts share at inference */
    compute_context compute;  /* the threads prediction runs on (hftc_model_set_threads) */
    /* An ensemble (model/ensemble.h): its members predict, this model has no parts of its own; NULL for a
     * model of one strategy. */
    struct ensemble *ensemble;
};

/* An empty model: vocabulary with <pad> and <unk>, empty taxonomy, no parts, the calling thread's default
 * compute context. */
hftc_status model_create(hftc_model **out);
/* Creates the parts' networks for m->strategy over the finalised m->tax, with m->net_config's sizes,
 * giving an output to the labels with has_output[label] (NULL: every label); a level none of whose
 * labels has an output gets no part. Flat and level: each level's part, then its branches (m->label_branch), each
 * reading its level part's embedding. Node parts come level by level (parents first), each borrowing
 * its embedding as m->node_embedding says (SHARED: allocates m->shared_embedding). Parent parts: the top
 * level's, then each node's in taxonomy order (parents first) over its children with an output whose first
 * parent it is, a node without such children having none; with m->node_embedding SHARED they all read
 * m->shared_embedding (frozen word vectors: one table, not one per part). */
hftc_status model_build_parts(hftc_model *m, const bool *has_output);
/* Points every part's network (each in inference mode) at the model's shared activation arena, growing the
 * arena to the largest part's need. */
hftc_status model_share_workspace(hftc_model *m);
/* The same for part p alone (back in inference mode after its training): constant work in the number of
 * parts, so a model of thousands of levels shares level by level in linear time; when p needs a larger
 * arena, every part moves to the new one (model_share_workspace). */
hftc_status model_share_part_workspace(hftc_model *m, size_t p);
/* The node whose children a part of the parent strategy (of_node) has as outputs: the first parent of its first
 * output (TAXONOMY_ROOT: the top level's part). */
uint32_t model_part_node(const taxonomy *t, const model_part *part);
/* The embedding table part p reads: its own, its parent's, or the model's shared one. */
const float *model_part_embedding(const hftc_model *m, size_t p);
bool node_embedding_parse(const char *name, node_embedding_kind *out);
const char *node_embedding_name(node_embedding_kind kind);
bool strategy_parse(const char *name, strategy_kind *out);
const char *strategy_name(strategy_kind kind);
bool model_family_parse(const char *name, model_family *out);
const char *model_family_name(model_family kind);

/* The longest input a network reads: the text's max_len plus, with the joint embedding, the longest
 * label name. */
size_t model_input_len(const hftc_model *m);

#endif
