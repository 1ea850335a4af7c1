/* The checks of a training's options (liblinear's check_parameter: an error message or NULL) and their
 * resolution into a train_config: the one place that reads the options' names. */
#include "train/options.h"

#include "core/bounds.h"
#include "core/error.h"
#include "core/names.h"
#include "data/dataset.h"
#include "data/taxonomy.h"
#include "hier/scoring.h"
#include "model/network.h"
#include "model/transfer.h"
#include "text/wordvec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A limit's value in a message. */
#define STRINGIFY(x) #x
#define TEXT_OF(x) STRINGIFY(x)

static const char *const transfer_names[] = {"none", "finetune"}; /* by transfer_kind */
static const char *const node_docs_names[] = {"all", "parent"};
static const char *const level_docs_names[] = {"all", "reach"};                                /* by level_docs_kind */
static const char *const optimizer_names[] = {"adam", "sgd"};                                  /* by optimizer_kind */
static const char *const early_stop_names[] = {"loss", "micro-f1", "accuracy", "weighted-f1"}; /* by early_stop_kind */

/* Sets *kind to name's place in names, or returns false. */
static bool kind_parse(const char *const *names, size_t n, const char *name, int *kind)
{
    size_t i;
    if (!name || !names_find(names, n, name, &i))
        return false;
    *kind = (int)i;
    return true;
}

static const char *const linear_loss_names[] = {"logreg", "svm"};
static const char *const linear_sigmoid_names[] = {"global", "label"};
static const char *const linear_start_names[] = {"bias", "zero"};

/* The family and the linear family's options into c; the first problem's message, or NULL. */
static const char *check_linear(const hftc_train_options *o, train_config *c)
{
    if (!model_family_parse(o->family, &c->family))
        return "--family must be neural or linear";
    int kind;
    if (!kind_parse(linear_loss_names, NAMES_COUNT(linear_loss_names), o->linear_loss, &kind))
        return "--linear-loss must be logreg or svm";
    c->linear_svm = kind == 1;
    if (!kind_parse(linear_sigmoid_names, NAMES_COUNT(linear_sigmoid_names), o->linear_sigmoid, &kind))
        return "--linear-sigmoid must be global or label";
    c->linear_sigmoid_per_label = kind == 1;
    if (!kind_parse(linear_start_names, NAMES_COUNT(linear_start_names), o->linear_start, &kind))
        return "--linear-start must be bias or zero";
    c->linear_zero_start = kind == 1;
    if (o->n_linear_c < 1 || o->n_linear_c > HFTC_MAX_CLASS_WEIGHTS)
        return "--linear-c lists 1 to " TEXT_OF(HFTC_MAX_CLASS_WEIGHTS) " values";
    for (size_t i = 0; i < o->n_linear_c; i++)
        if (!(o->linear_c[i] > 0.0f && o->linear_c[i] <= 1e6f))
            return "--linear-c values must be in (0, 1e6]";
    if (!(o->linear_tolerance > 0.0f && o->linear_tolerance <= 1.0f))
        return "--linear-tolerance must be in (0, 1]";
    if (o->ngrams < 1 || o->ngrams > 2)
        return "--ngrams must be 1 or 2";
    if (o->min_df < 1)
        return "--min-df must be at least 1";
    if (c->family != FAMILY_LINEAR)
        return NULL;
    if (o->embeddings_path)
        return "the linear family reads TF-IDF features, not word vectors: leave out --embeddings";
    if (!strcmp(o->head, "softmax") || o->joint_embedding)
        return "the linear family trains binary one-vs-rest classifiers: --head sigmoid, no --joint-embedding";
    if (o->checkpoint_path || o->time_limit > 0.0f || o->reuse_runs_from)
        return "--checkpoint, --time-limit and --reuse-runs apply to the neural family (a linear model trains in "
               "minutes)";
    if (o->n_class_weights > 1 || o->class_weights_from)
        return "--class-weights and --class-weights-from apply to the neural family (use --pos-weight)";
    return NULL;
}

/* Checks o and parses its choices into c's kinds as it goes (the one reading of the names); returns the first
 * problem's message, or NULL. */
static const char *check_choices(const hftc_train_options *o, train_config *c)
{
    *c = (train_config){.o = o, .vectors_format = WORDVEC_AUTO, .taxonomy_format = TAXONOMY_FORMAT_AUTO};
    if (!o->train_path)
        return "a training file is required (--train)";
    if (!data_format_parse(o->format, &c->data_format) || c->data_format == DATA_FORMAT_TEXT)
        return "--format must be auto, tsv, fasttext or jsonl";
    if (o->taxonomy_path && !taxonomy_format_parse(o->taxonomy_format, &c->taxonomy_format))
        return "--taxonomy-format must be auto, parent-children or tree";
    if (o->embeddings_path && !wordvec_format_parse(o->embeddings_format, &c->vectors_format))
        return "--embeddings-format must be auto, vec, glove or bin";
    /* messages naming what the registries hold are written here: valid until the next check on this thread */
    static _Thread_local char message[256];
    if (!encoder_parse(o->encoder, &c->net.encoder)) {
        int used = snprintf(message, sizeof message, "unknown encoder (known: ");
        used += (int)encoder_names_list(message + used, sizeof message - (size_t)used - 1);
        snprintf(message + used, sizeof message - (size_t)used, ")");
        return message;
    }
    encoder_kind encoder = c->net.encoder;
    bool cnn = encoder == ENCODER_CNN, onlstm = encoder == ENCODER_ONLSTM;
    if (!activation_parse(o->hidden_activation, &c->net.hidden_activation))
        return "unknown --hidden-activation (known: relu, tanh)";
    if (o->batchnorm && !o->hidden)
        return "--batchnorm needs a hidden layer (--hidden)";
    if (!rnn_pool_parse(o->rnn_pool, &c->net.rnn_pool))
        return "unknown --rnn-pool (known: last, max, mean)";
    if (onlstm && (o->onlstm_chunk < 1 || o->rnn_hidden % o->onlstm_chunk))
        return "--onlstm-chunk must divide --rnn-hidden";
    if (!head_parse(o->head, &c->net.head))
        return "unknown head (known: sigmoid, softmax)";
    bool softmax = c->net.head == HEAD_SOFTMAX;
    if (cnn && (o->n_windows < 1 || o->n_windows > NETWORK_MAX_WINDOWS))
        return "between 1 and " TEXT_OF(HFTC_MAX_WINDOWS) " window sizes are needed";
    for (size_t i = 0; cnn && i < o->n_windows; i++)
        if (o->windows[i] < 1 || o->windows[i] > o->max_len)
            return "window sizes must be between 1 and --max-len";
    bool recurrent = encoder == ENCODER_BIGRU_ATT || encoder == ENCODER_BILSTM || onlstm;
    if (recurrent && (o->rnn_hidden < 1 || o->rnn_hidden > BOUNDS_MAX_RNN || o->attention_dim > BOUNDS_MAX_RNN))
        return "--rnn-hidden must be between 1 and " TEXT_OF(BOUNDS_MAX_RNN) " and --attention-dim at most " TEXT_OF(
            BOUNDS_MAX_RNN);
    if (!bounds_dropout_ok(o->rnn_dropout))
        return "dropout rates must be in [0, 1)";
    if (o->max_len < 1 || o->max_len > BOUNDS_MAX_LEN)
        return "--max-len must be between 1 and " TEXT_OF(BOUNDS_MAX_LEN);
    if (o->dim < 1 || o->dim > BOUNDS_MAX_DIM)
        return "--dim must be between 1 and " TEXT_OF(BOUNDS_MAX_DIM);
    if (o->filters < 1 || o->filters > BOUNDS_MAX_FILTERS || o->hidden > BOUNDS_MAX_HIDDEN)
        return "--filters must be between 1 and " TEXT_OF(BOUNDS_MAX_FILTERS) " and --hidden at most " TEXT_OF(
            BOUNDS_MAX_HIDDEN);
    if (o->conv_stride < 1 || o->conv_stride > NETWORK_MAX_STRIDE)
        return "--conv-stride must be in [1, " TEXT_OF(NETWORK_MAX_STRIDE) "]";
    if (o->pool_chunks < 1 || o->pool_chunks > NETWORK_MAX_CHUNKS)
        return "--pool-chunks must be between 1 and " TEXT_OF(NETWORK_MAX_CHUNKS);
    if (o->buckets < 1 || o->buckets > NETWORK_MAX_BUCKETS)
        return "--buckets must be between 1 and " TEXT_OF(NETWORK_MAX_BUCKETS);
    if (o->batch < 1 || o->batch > 65536)
        return "--batch must be between 1 and 65536";
    if (o->epochs < 1)
        return "--epochs must be at least 1";
    if (!(o->lr > 0.0f) || o->lr > 10.0f)
        return "--lr must be in (0, 10]";
    if (!bounds_dropout_ok(o->embed_dropout) || !bounds_dropout_ok(o->hidden_dropout))
        return "dropout rates must be in [0, 1)";
    if (!bounds_threshold_ok(o->threshold))
        return "--threshold must be in [0, 1]";
    if (!o->valid_path && !(o->valid_fraction > 0.0f && o->valid_fraction < 1.0f))
        return "--valid-fraction must be in (0, 1) when no --valid file is given";
    if (!strategy_parse(o->strategy, &c->strategy))
        return "--strategy must be flat, level, node or parent";
    bool node = c->strategy == STRATEGY_NODE;
    const char *linear_problem = check_linear(o, c);
    if (linear_problem)
        return linear_problem;
    if (node && softmax)
        return "the node strategy trains binary classifiers: --head sigmoid";
    if (node && c->family == FAMILY_NEURAL && (o->tune_threshold || o->tune_label_thresholds || o->tune_scoring))
        return "--tune-threshold, --tune-label-thresholds and --tune-scoring are not available with the node strategy "
               "(each "
               "classifier decides at --threshold)";
    if (!scoring_parse(o->scoring, &c->scoring)) {
        int used = snprintf(message, sizeof message, "--scoring must be one of: ");
        scoring_names_list(message + used, sizeof message - (size_t)used);
        return message;
    }
    /* a parent part's probabilities are its children's given the node: only a path's product (or its top-down
     * choice) is a category's probability */
    bool path_scoring =
        c->scoring == SCORING_TOP_DOWN || c->scoring == SCORING_LEAF_PRODUCT || scoring_bounded_by_parent(c->scoring);
    if (c->strategy == STRATEGY_PARENT && (!path_scoring || o->tune_scoring))
        return "the parent strategy gives each category's probability given its parent: --scoring top-down (HDLTex's "
               "decision), product, bsf or leaf-product, without --tune-scoring";
    if (o->tune_label_thresholds && (softmax || !scoring_uses_threshold(c->scoring)))
        return "--tune-label-thresholds needs the sigmoid head and independent, bsf, msf or product scoring";
    int kind;
    if (!kind_parse(node_docs_names, NAMES_COUNT(node_docs_names), o->node_docs, &kind))
        return "--node-docs must be all or parent";
    c->node_docs = (node_docs_kind)kind;
    if (!kind_parse(level_docs_names, NAMES_COUNT(level_docs_names), o->level_docs, &kind))
        return "--level-docs must be all or reach";
    c->level_docs = (level_docs_kind)kind;
    if (c->level_docs == LEVEL_DOCS_REACH && (c->strategy != STRATEGY_LEVEL || c->family != FAMILY_NEURAL))
        return "--level-docs reach chooses each level network's documents: it needs --strategy level and the neural "
               "family";
    if (!(o->node_valid_fraction > 0.0f && o->node_valid_fraction < 1.0f))
        return "--node-valid-fraction must be in (0, 1)";
    if (o->n_class_weights < 1 || o->n_class_weights > HFTC_MAX_CLASS_WEIGHTS)
        return "--class-weights lists 1 to " TEXT_OF(HFTC_MAX_CLASS_WEIGHTS) " weights";
    for (size_t i = 0; i < o->n_class_weights; i++)
        if (!bounds_weight_ok(o->class_weights[i]))
            return "--class-weights must be in (0, " TEXT_OF(BOUNDS_MAX_WEIGHT) "]";
    if (o->n_class_weights > 1 && !node)
        return "--class-weights searches per classifier: it needs the node strategy";
    if (o->class_weights_from && (node || softmax))
        return "--class-weights-from applies to the flat, level and parent strategies with the sigmoid head";
    if (!(o->time_limit >= 0.0f && o->time_limit <= 1e9f))
        return "--time-limit must be in [0, 1e9] seconds (0 = none)";
    if (o->reuse_runs_from && !node)
        return "--reuse-runs takes the classifier runs of a node model: it needs the node strategy";
    if (o->time_limit > 0.0f && !o->checkpoint_path)
        return "--time-limit keeps the work done in a checkpoint: give --checkpoint FILE";
    if (!(o->transfer_lr >= 0.0f && o->transfer_lr <= 10.0f))
        return "--transfer-lr must be in [0, 10] (0 = --lr)";
    if (!transfer_parse(o->transfer, &c->transfer))
        return "--transfer must be none or finetune";
    if (!transfer_layers_parse(o->transfer_layers, &c->transfer_layers)) {
        int used = snprintf(message, sizeof message, "--transfer-layers lists layers from: ");
        encoder_layers_list(message + used, sizeof message - (size_t)used);
        return message;
    }
    if (!bounds_weight_ok(o->pos_weight))
        return "--pos-weight must be in (0, " TEXT_OF(BOUNDS_MAX_WEIGHT) "]";
    if (o->pos_weight != 1.0f && softmax)
        return "--pos-weight applies to the sigmoid head";
    if (!kind_parse(early_stop_names, NAMES_COUNT(early_stop_names), o->early_stop, &kind))
        return "--early-stop must be loss, micro-f1, weighted-f1 or accuracy";
    c->early_stop = (early_stop_kind)kind;
    if (c->early_stop == EARLY_STOP_ACCURACY && !softmax)
        return "--early-stop accuracy needs a single-label head (--head softmax)";
    if (!kind_parse(optimizer_names, NAMES_COUNT(optimizer_names), o->optimizer, &kind))
        return "--optimizer must be adam or sgd";
    c->optimizer = (optimizer_kind)kind;
    if (!(o->lr_decay > 0.0f && o->lr_decay <= 1.0f))
        return "--lr-decay must be in (0, 1]";
    if (o->min_count < 1)
        return "--min-count must be at least 1";
    if (o->joint_embedding && (c->strategy != STRATEGY_LEVEL || !softmax))
        return "--joint-embedding reads one parent category per document: it needs --strategy level --head softmax";
    if (o->label_names_path && !o->joint_embedding)
        return "--label-names names the parents' words of the joint embedding: add --joint-embedding";
    return NULL;
}

const char *hftc_train_options_check(const hftc_train_options *o)
{
    train_config unused;
    return check_choices(o, &unused);
}

bool transfer_parse(const char *name, transfer_kind *out)
{
    int kind;
    if (!kind_parse(transfer_names, NAMES_COUNT(transfer_names), name, &kind))
        return false;
    *out = (transfer_kind)kind;
    return true;
}

hftc_status train_config_resolve(const hftc_train_options *o, train_config *c)
{
    const char *problem = check_choices(o, c);
    if (problem)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s", problem);
    c->net.rnn_hidden = o->rnn_hidden, c->net.attention_dim = o->attention_dim, c->net.rnn_dropout = o->rnn_dropout;
    c->net.onlstm_chunk = o->onlstm_chunk, c->net.hidden_batchnorm = o->batchnorm;
    c->net.n_windows = o->n_windows, c->net.n_filters = o->filters, c->net.pool_chunks = o->pool_chunks;
    c->net.conv_stride = o->conv_stride;
    c->net.buckets = o->buckets;
    memcpy(c->net.windows, o->windows, sizeof o->windows);
    c->net.hidden = o->hidden, c->net.embed_dropout = o->embed_dropout, c->net.hidden_dropout = o->hidden_dropout;
    c->net.embed_dim = o->dim;
    c->tokenizer = (tokenizer_options){
        .lowercase = o->lowercase, .split_punct = o->split_punct, .drop_punct = o->drop_punct, .max_len = o->max_len};
    bool inherit = c->transfer == TRANSFER_FINETUNE && transfer_layer_listed("embedding", c->transfer_layers) &&
                   o->freeze_child_embeddings;
    c->node_embedding = o->freeze_embeddings ? NODE_EMBEDDING_SHARED
                        : inherit            ? NODE_EMBEDDING_INHERITED
                                             : NODE_EMBEDDING_OWN;
    c->compute = compute_context_of(o->threads);
    return HFTC_STATUS_OK;
}
