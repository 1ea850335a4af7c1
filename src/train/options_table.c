/* The training options as one table: each option's name, type, place in hftc_train_options, default and
 * help. Setting an option by name (the command line, the presets, Python), printing its value (--help),
 * the training record's options, the checkpoint's fingerprint and --reuse-runs's comparison all read this
 * table, so an option cannot be missing from one of them (fastText's Args is the precedent). */
#include "train/options.h"

#include "core/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef enum {
    OPTION_STRING,     /* const char *, the caller's string (NULL: none) */
    OPTION_CHARS,      /* char[size]: an enumerated name */
    OPTION_SIZE,       /* size_t */
    OPTION_INT,        /* int */
    OPTION_U64,        /* unsigned long long */
    OPTION_FLOAT,      /* float */
    OPTION_BOOL,       /* int: 1/0, true/false, yes/no */
    OPTION_SIZE_LIST,  /* size_t[size], its count at count_offset: "2,3,4" ("none": no items) */
    OPTION_FLOAT_LIST, /* float[size], its count at count_offset: "1,2,3.5" */
} option_type;

typedef struct {
    const char *name; /* "max-len": the command line's --max-len; the record's key is "max_len" */
    option_type type;
    size_t offset, size, count_offset;
    unsigned flags;
    const char *fallback; /* the value before any preset (NULL: none, zero) */
    const char *help;
} option_spec;

#define COUNT_OF(a) (sizeof(a) / sizeof *(a))
/* An option's place: offset, size (a list: its capacity) and the offset of a list's count. */
#define FIELD(f) offsetof(hftc_train_options, f), sizeof((hftc_train_options *)0)->f, 0
#define LIST(f, n)                                                                                                     \
    offsetof(hftc_train_options, f), COUNT_OF(((hftc_train_options *)0)->f), offsetof(hftc_train_options, n)

static const option_spec option_table[] = {
    /* data */
    {"train", OPTION_STRING, FIELD(train_path), OPTION_INCIDENTAL, NULL,
     "training data (tsv, fasttext or jsonl; - for stdin)"},
    {"valid", OPTION_STRING, FIELD(valid_path), OPTION_INCIDENTAL, NULL,
     "validation data; none: hold out --valid-fraction of --train"},
    {"valid-fraction", OPTION_FLOAT, FIELD(valid_fraction), 0, "0.1", "fraction of --train held out when no --valid"},
    {"format", OPTION_STRING, FIELD(format), OPTION_INCIDENTAL, "auto", "data format: auto, tsv, fasttext, jsonl"},
    {"taxonomy", OPTION_STRING, FIELD(taxonomy_path), OPTION_INCIDENTAL, NULL,
     "label taxonomy (parent<TAB>children lines or HFT-CNN .tree)"},
    {"taxonomy-format", OPTION_STRING, FIELD(taxonomy_format), OPTION_INCIDENTAL, "auto",
     "auto, parent-children, tree"},
    {"add-unknown-labels", OPTION_BOOL, FIELD(add_unknown_labels), 0, NULL,
     "labels missing from the taxonomy go under the root"},
    {"embeddings", OPTION_STRING, FIELD(embeddings_path), OPTION_INCIDENTAL, NULL,
     "word vectors (.vec, GloVe .txt, word2vec .bin)"},
    {"embeddings-format", OPTION_STRING, FIELD(embeddings_format), OPTION_INCIDENTAL, "auto", "auto, vec, glove, bin"},
    {"freeze-embeddings", OPTION_BOOL, FIELD(freeze_embeddings), 0, NULL, "keep the embeddings fixed (static)"},
    {"lowercase", OPTION_BOOL, FIELD(lowercase), 0, "1", "lower-case the text"},
    {"split-punct", OPTION_BOOL, FIELD(split_punct), 0, "1", "make each punctuation mark a token"},
    {"drop-punct", OPTION_BOOL, FIELD(drop_punct), 0, "1", "punctuation separates words but is not a token"},
    {"max-len", OPTION_SIZE, FIELD(max_len), 0, "13", "tokens kept per document"},
    {"min-count", OPTION_SIZE, FIELD(min_count), 0, "1", "minimum count of a word in the vocabulary"},
    {"max-vocab", OPTION_SIZE, FIELD(max_vocab), 0, NULL, "most frequent words kept (0 = all)"},
    {"skip-bad-lines", OPTION_BOOL, FIELD(skip_bad_lines), OPTION_INCIDENTAL, NULL,
     "skip malformed lines with a warning instead of failing"},
    /* model */
    {"preset", OPTION_CHARS, FIELD(preset), OPTION_FIXED | OPTION_RUN_NEUTRAL, NULL,
     "the preset whose defaults the options start from"},
    {"auto", OPTION_BOOL, FIELD(auto_choice), 0, NULL,
     "train linear, linear SVM, ngram and hft-cnn members, ensemble them, keep the best on validation (--preset auto)"},
    {"auto-settings", OPTION_CHARS, FIELD(auto_settings), 0, NULL,
     "auto: settings over members' presets, \"member:name=value ...;member:...\" (linear, linear-svm, ngram, "
     "hft-cnn)"},
    {"family", OPTION_CHARS, FIELD(family), 0, "neural",
     "neural (networks) or linear (linear classifiers over TF-IDF features, trained by liblinear)"},
    {"encoder", OPTION_CHARS, FIELD(encoder), 0, "cnn", "encoder: cnn, bigru-att, onlstm, ngram or bilstm"},
    {"head", OPTION_CHARS, FIELD(head), 0, "sigmoid", "output: sigmoid (multi-label) or softmax (single-label)"},
    {"strategy", OPTION_CHARS, FIELD(strategy), 0, "flat",
     "flat (one model), level (one per taxonomy level), node (one binary model per category) or parent (one per "
     "category with children, over its children, on its documents: HDLTex)"},
    {"transfer", OPTION_CHARS, FIELD(transfer), OPTION_RUN_NEUTRAL, "none",
     "none, or finetune: a level (node) starts from the level above (its parent); parent: a node's model from the "
     "model whose outputs hold the node"},
    {"transfer-layers", OPTION_CHARS, FIELD(transfer_layers), OPTION_RUN_NEUTRAL, "embedding,conv",
     "layers finetune copies (embedding, conv, fc1, out, gru, attention, onlstm, ngram, lstm, bn)"},
    {"transfer-lr", OPTION_FLOAT, FIELD(transfer_lr), OPTION_RUN_NEUTRAL, NULL,
     "learning rate of transferred layers (0 = --lr)"},
    {"freeze-child-embeddings", OPTION_BOOL, FIELD(freeze_child_embeddings), OPTION_RUN_NEUTRAL, NULL,
     "node + finetune: below the top level, read the parent's embedding, frozen"},
    {"linear-loss", OPTION_CHARS, FIELD(linear_loss), 0, "logreg",
     "linear: logreg (logistic regression) or svm (L2-loss SVM with a sigmoid fitted on validation)"},
    {"linear-sigmoid", OPTION_CHARS, FIELD(linear_sigmoid), 0, "global",
     "linear svm: one sigmoid for all outputs (global) or one per output (label), fitted on validation"},
    {"linear-start", OPTION_CHARS, FIELD(linear_start), 0, "bias",
     "linear: a classifier trained from nothing starts at bias (the optimum of its bias alone: faster) or zero "
     "(liblinear's and scikit-learn's start)"},
    {"linear-c", OPTION_FLOAT_LIST, LIST(linear_c, n_linear_c), 0, "1,10,100",
     "linear: the regularisation values C tried (the best validation micro-F1 is kept)"},
    {"linear-tolerance", OPTION_FLOAT, FIELD(linear_tolerance), 0, "0.01", "linear: liblinear's stopping tolerance"},
    {"ngrams", OPTION_SIZE, FIELD(ngrams), 0, "2", "linear: word n-grams as features, 1 (words) or 2 (and bigrams)"},
    {"min-df", OPTION_SIZE, FIELD(min_df), 0, "2", "linear: a feature of fewer training documents is left out"},
    {"sublinear-tf", OPTION_BOOL, FIELD(sublinear_tf), 0, "1", "linear: 1 + ln(tf) instead of the term count"},
    {"node-docs", OPTION_CHARS, FIELD(node_docs), 0, "all",
     "documents a node classifier trains on: all, or parent (those of its parent)"},
    {"level-docs", OPTION_CHARS, FIELD(level_docs), OPTION_RUN_NEUTRAL, "all",
     "documents a level model trains and validates on: all, or reach (those with a category at its level or the "
     "level above, as the HFT-CNN authors' code); softmax heads: those with a label at its level, either way"},
    {"node-valid-fraction", OPTION_FLOAT, FIELD(node_valid_fraction), 0, "0.15",
     "each node classifier's stratified validation split"},
    {"class-weights", OPTION_FLOAT_LIST, LIST(class_weights, n_class_weights), OPTION_RUN_NEUTRAL, "1",
     "positive-class weights tried per node classifier (best validation F1 kept)"},
    {"class-weights-from", OPTION_STRING, FIELD(class_weights_from), 0, NULL,
     "node model whose per-category weights become the BCE positive weights"},
    {"checkpoint", OPTION_STRING, FIELD(checkpoint_path), OPTION_INCIDENTAL, NULL,
     "save the work done to this file about once a minute (node strategy: the classifier runs done; flat and "
     "level: the levels done and the epoch reached); if it exists, continue from it (same data and options); "
     "removed once the model is saved"},
    {"time-limit", OPTION_FLOAT, FIELD(time_limit), OPTION_INCIDENTAL, NULL,
     "with --checkpoint: start no classifier run (epoch) after this many seconds, save the checkpoint and exit "
     "with status 3 (0 = none)"},
    {"reuse-runs", OPTION_STRING, FIELD(reuse_runs_from), OPTION_INCIDENTAL, NULL,
     "node strategy: take from this node model (same data, vectors, seed and options but transfer and the class "
     "weights, its list the start of --class-weights) the runs of the classifiers that start from scratch in "
     "both (top level; all without transfer) instead of repeating them: the same model"},
    {"dim", OPTION_SIZE, FIELD(dim), 0, "300", "embedding size (from the vectors when --embeddings is given)"},
    {"windows", OPTION_SIZE_LIST, LIST(windows, n_windows), 0, "2,3,4", "CNN window sizes"},
    {"filters", OPTION_SIZE, FIELD(filters), 0, "128", "feature maps per window size"},
    {"pool-chunks", OPTION_SIZE, FIELD(pool_chunks), 0, "1",
     "max pooling chunks per feature map (1 = Kim, > 1 = XML-CNN)"},
    {"conv-stride", OPTION_SIZE, FIELD(conv_stride), 0, "1",
     "words between the convolution's window starts (1 = every word; XML-CNN(2): 2)"},
    {"rnn-hidden", OPTION_SIZE, FIELD(rnn_hidden), 0, "96", "bigru-att, bilstm: units per direction; onlstm: units"},
    {"onlstm-chunk", OPTION_SIZE, FIELD(onlstm_chunk), 0, "1",
     "onlstm: units per master-gate value (1 = the equations)"},
    {"rnn-pool", OPTION_CHARS, FIELD(rnn_pool), 0, "last",
     "onlstm, bilstm: the final state (last) or max or mean over the words"},
    {"buckets", OPTION_SIZE, FIELD(buckets), 0, "1000000",
     "ngram: rows of the table the word bigrams hash to (fastText's -bucket)"},
    {"joint-embedding", OPTION_BOOL, FIELD(joint_embedding), 0, NULL,
     "level + softmax: read the parent category's name before the text (levels below the top)"},
    {"label-names", OPTION_STRING, FIELD(label_names_path), OPTION_INCIDENTAL, NULL,
     "label names for the joint embedding (label<TAB>name or label: name lines; default: the label split)"},
    {"attention-dim", OPTION_SIZE, FIELD(attention_dim), 0, NULL, "bigru-att: attention size (0 = 2 x --rnn-hidden)"},
    {"rnn-dropout", OPTION_FLOAT, FIELD(rnn_dropout), 0, "0.4",
     "dropout on the GRU outputs (onlstm, bilstm: on the pooled state)"},
    {"hidden", OPTION_SIZE, FIELD(hidden), 0, "1024", "hidden fully connected units (0 = none)"},
    {"hidden-activation", OPTION_CHARS, FIELD(hidden_activation), 0, "relu", "of the hidden layer: relu or tanh"},
    {"batchnorm", OPTION_BOOL, FIELD(batchnorm), 0, NULL, "batch normalisation after the hidden layer's dropout"},
    {"embed-dropout", OPTION_FLOAT, FIELD(embed_dropout), 0, "0.25", "dropout after the embedding"},
    {"hidden-dropout", OPTION_FLOAT, FIELD(hidden_dropout), 0, "0.5", "dropout after the hidden layer"},
    /* optimisation */
    {"epochs", OPTION_SIZE, FIELD(epochs), 0, "40", "most epochs (early stopping may end sooner)"},
    {"batch", OPTION_SIZE, FIELD(batch), 0, "100", "documents per mini-batch"},
    {"lr", OPTION_FLOAT, FIELD(lr), 0, "0.001", "learning rate (of --optimizer)"},
    {"optimizer", OPTION_CHARS, FIELD(optimizer), 0, "adam",
     "adam, or sgd (fastText's: --lr is the step per document of the loss summed over the outputs, decaying "
     "linearly to 0 over the epochs' batches; no moments kept)"},
    {"patience", OPTION_SIZE, FIELD(patience), 0, "3", "epochs without improvement before stopping"},
    {"early-stop", OPTION_CHARS, FIELD(early_stop), 0, "loss",
     "validation criterion: loss, micro-f1, weighted-f1 (per-label F1 weighted by support; both at the best "
     "threshold with --tune-threshold) or accuracy (softmax)"},
    {"lr-patience", OPTION_SIZE, FIELD(lr_patience), 0, NULL,
     "epochs without improvement after which the learning rate is multiplied by --lr-decay (0 = never)"},
    {"lr-decay", OPTION_FLOAT, FIELD(lr_decay), 0, "0.1", "learning-rate factor of --lr-patience"},
    {"pos-weight", OPTION_FLOAT, FIELD(pos_weight), 0, "1", "weight of positive targets in the loss (sigmoid head)"},
    {"scoring", OPTION_CHARS, FIELD(scoring), OPTION_RUN_NEUTRAL, "independent",
     "scoring stored in the model: independent, bsf (kept only if the parent is), msf (own probability, ranked by "
     "the product with its ancestors'), product (that product thresholded); "
     "softmax levels: top-down (best child of the category above), argmax (best of each level); single-path "
     "data: leaf (the best leaf and its ancestors), leaf-product (the leaf of the best path product: node "
     "classifiers on their parent's documents)"},
    {"threshold", OPTION_FLOAT, FIELD(threshold), 0, "0.5", "decision threshold stored in the model"},
    {"tune-threshold", OPTION_BOOL, FIELD(tune_threshold), 0, NULL,
     "store the threshold with the best validation micro-F1 (of the model's scoring)"},
    {"tune-label-thresholds", OPTION_BOOL, FIELD(tune_label_thresholds), 0, NULL,
     "also store one threshold per label, each the best for its validation F1 (parents first); test and "
     "predict use them unless given --threshold"},
    {"tune-scoring", OPTION_BOOL, FIELD(tune_scoring), 0, NULL,
     "single-path training data: keep the leaf or leaf-product decision when its validation micro-F1 is better"},
    {"seed", OPTION_U64, FIELD(seed), 0, "1", "random seed (runs repeat for a given seed and thread count)"},
    {"threads", OPTION_INT, FIELD(threads), OPTION_INCIDENTAL, NULL, "threads (0 = all cores)"},
};

#define N_OPTIONS COUNT_OF(option_table)

static const option_spec *option_find(const char *name)
{
    for (size_t i = 0; name && i < N_OPTIONS; i++)
        if (!strcmp(option_table[i].name, name))
            return &option_table[i];
    return NULL;
}

/* A comma-separated list of at most capacity items into items (item i at byte i * item_size); "none" is
 * no items, for the options a preset leaves empty (windows of the recurrent encoders). */
static bool parse_list(const char *s, bool floats, void *items, size_t capacity, size_t *count)
{
    size_t n = 0;
    if (strcmp(s, "none")) {
        for (const char *item = s;; item++) {
            char buf[64];
            size_t len = strcspn(item, ",");
            if (n == capacity || len == 0 || len >= sizeof buf)
                return false;
            memcpy(buf, item, len);
            buf[len] = '\0';
            bool ok = floats ? hftc_parse_value(HFTC_VALUE_FLOAT, buf, (float *)items + n)
                             : hftc_parse_value(HFTC_VALUE_SIZE, buf, (size_t *)items + n);
            if (!ok)
                return false;
            n++;
            item += len;
            if (!*item)
                break;
        }
    }
    *count = n;
    return true;
}

static bool parse_value(const option_spec *spec, hftc_train_options *o, const char *s)
{
    void *field = (char *)o + spec->offset;
    switch (spec->type) {
    case OPTION_STRING:
        *(const char **)field = s;
        return true;
    case OPTION_CHARS:
        if (strlen(s) >= spec->size)
            return false;
        memcpy(field, s, strlen(s) + 1);
        return true;
    case OPTION_SIZE:
        return hftc_parse_value(HFTC_VALUE_SIZE, s, field);
    case OPTION_INT:
        return hftc_parse_value(HFTC_VALUE_INT, s, field);
    case OPTION_U64:
        return hftc_parse_value(HFTC_VALUE_U64, s, field);
    case OPTION_FLOAT:
        return hftc_parse_value(HFTC_VALUE_FLOAT, s, field);
    case OPTION_BOOL:
        return hftc_parse_value(HFTC_VALUE_BOOL, s, field);
    case OPTION_SIZE_LIST:
    case OPTION_FLOAT_LIST:
        return parse_list(s, spec->type == OPTION_FLOAT_LIST, field, spec->size,
                          (size_t *)((char *)o + spec->count_offset));
    }
    return false;
}

static hftc_status option_set(const option_spec *spec, hftc_train_options *o, const char *value)
{
    if (!value)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "option %s: no value", spec->name);
    if (!parse_value(spec, o, value))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "invalid value '%s' for %s (%s)", value, spec->name, spec->help);
    return HFTC_STATUS_OK;
}

void train_options_reset(hftc_train_options *o)
{
    *o = (hftc_train_options){0};
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (option_table[i].fallback)
            parse_value(&option_table[i], o, option_table[i].fallback);
}

hftc_status train_options_apply(hftc_train_options *o, const char *settings)
{
    for (const char *item = settings; *item;) {
        char name[64];
        size_t len = strcspn(item, " "), name_len = strcspn(item, "=");
        if (name_len >= len || name_len >= sizeof name)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "preset setting '%.*s' is not name=value", (int)len, item);
        memcpy(name, item, name_len);
        name[name_len] = '\0';
        char value[128];
        snprintf(value, sizeof value, "%.*s", (int)(len - name_len - 1), item + name_len + 1);
        const option_spec *spec = option_find(name);
        if (!spec || spec->type == OPTION_STRING) /* a preset names no file: its strings would not outlive it */
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "preset setting of an unknown option '%s'", name);
        TRY(option_set(spec, o, value));
        item += len;
        item += strspn(item, " ");
    }
    return HFTC_STATUS_OK;
}

/* Python finds progress and progress_user two pointers from the end of an opaque buffer. */
_Static_assert(offsetof(hftc_train_options, progress) + 2 * sizeof(void *) == sizeof(hftc_train_options) &&
                   offsetof(hftc_train_options, progress_user) ==
                       offsetof(hftc_train_options, progress) + sizeof(void *),
               "progress and progress_user must stay the last members of hftc_train_options");

size_t hftc_train_options_size(void) { return sizeof(hftc_train_options); }

size_t hftc_train_option_count(void) { return N_OPTIONS; }

const char *hftc_train_option_name(size_t i) { return i < N_OPTIONS ? option_table[i].name : NULL; }

const char *hftc_train_option_help(const char *name)
{
    const option_spec *spec = option_find(name);
    return spec ? spec->help : NULL;
}

hftc_status hftc_train_options_set(hftc_train_options *o, const char *name, const char *value)
{
    const option_spec *spec = option_find(name);
    if (!spec)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown training option '%s'", name ? name : "(null)");
    if (spec->flags & OPTION_FIXED)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "the preset is chosen by hftc_train_options_init: its defaults are where the other options "
                         "start");
    return option_set(spec, o, value);
}

hftc_status hftc_train_options_get(const hftc_train_options *o, const char *name, char *buf, size_t size)
{
    const option_spec *spec = option_find(name);
    if (!spec)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown training option '%s'", name ? name : "(null)");
    if (size == 0)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "option %s: no room for its value", name);
    const void *field = (const char *)o + spec->offset;
    size_t used = 0, n = spec->count_offset ? *(const size_t *)((const char *)o + spec->count_offset) : 0;
    buf[0] = '\0';
    switch (spec->type) {
    case OPTION_STRING:
        used = (size_t)snprintf(buf, size, "%s", *(const char *const *)field ? *(const char *const *)field : "none");
        break;
    case OPTION_CHARS:
        used = (size_t)snprintf(buf, size, "%s", (const char *)field);
        break;
    case OPTION_SIZE:
        used = (size_t)snprintf(buf, size, "%zu", *(const size_t *)field);
        break;
    case OPTION_INT:
    case OPTION_BOOL:
        used = (size_t)snprintf(buf, size, "%d", *(const int *)field);
        break;
    case OPTION_U64:
        used = (size_t)snprintf(buf, size, "%llu", *(const unsigned long long *)field);
        break;
    case OPTION_FLOAT:
        used = (size_t)snprintf(buf, size, "%g", (double)*(const float *)field);
        break;
    case OPTION_SIZE_LIST:
    case OPTION_FLOAT_LIST:
        if (n == 0)
            used = (size_t)snprintf(buf, size, "none");
        for (size_t i = 0; i < n && used < size; i++)
            used +=
                spec->type == OPTION_SIZE_LIST
                    ? (size_t)snprintf(buf + used, size - used, i ? ",%zu" : "%zu", ((const size_t *)field)[i])
                    : (size_t)snprintf(buf + used, size - used, i ? ",%g" : "%g", (double)((const float *)field)[i]);
        break;
    }
    if (used >= size)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "option %s: its value needs more than %zu bytes", name, size);
    return HFTC_STATUS_OK;
}

/* The record's key of an option: its name with '_' for '-'. */
static void record_key(const option_spec *spec, char *key, size_t size)
{
    snprintf(key, size, "%s", spec->name);
    for (char *c = key; *c; c++)
        *c = *c == '-' ? '_' : *c;
}

static json_t *option_json(const option_spec *spec, const hftc_train_options *o)
{
    const void *field = (const char *)o + spec->offset;
    size_t n = spec->count_offset ? *(const size_t *)((const char *)o + spec->count_offset) : 0;
    json_t *list;
    switch (spec->type) {
    case OPTION_STRING:
        return *(const char *const *)field ? json_string(*(const char *const *)field) : json_null();
    case OPTION_CHARS:
        return json_string(field);
    case OPTION_SIZE:
        return json_integer((json_int_t) * (const size_t *)field);
    case OPTION_INT:
        return json_integer(*(const int *)field);
    case OPTION_U64:
        return json_integer((json_int_t) * (const unsigned long long *)field);
    case OPTION_FLOAT:
        return json_real(*(const float *)field);
    case OPTION_BOOL:
        return json_boolean(*(const int *)field);
    case OPTION_SIZE_LIST:
    case OPTION_FLOAT_LIST:
        list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, spec->type == OPTION_SIZE_LIST
                                            ? json_integer((json_int_t)((const size_t *)field)[i])
                                            : json_real(((const float *)field)[i]));
        return list;
    }
    return json_null();
}

json_t *train_options_json(const hftc_train_options *o)
{
    json_t *j = json_object();
    for (size_t i = 0; i < N_OPTIONS; i++) {
        char key[64];
        record_key(&option_table[i], key, sizeof key);
        json_object_set_new(j, key, option_json(&option_table[i], o));
    }
    return j;
}

void train_options_drop(json_t *options, unsigned flags)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        char key[64];
        record_key(&option_table[i], key, sizeof key);
        if (option_table[i].flags & flags)
            json_object_del(options, key);
    }
}

hftc_status train_options_from_json(hftc_train_options *o, const json_t *options)
{
    if (!json_is_object(options))
        return error_set(HFTC_STATUS_MODEL, "the model's training record has no options");
    const char *preset = json_string_value(json_object_get(options, "preset"));
    if (hftc_train_options_init(o, preset ? preset : "") != HFTC_STATUS_OK)
        train_options_reset(o); /* a preset this hftc lacks: every recorded value is set below */
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option_spec *spec = &option_table[i];
        char key[64];
        record_key(spec, key, sizeof key);
        const json_t *v = json_object_get(options, key);
        void *field = (char *)o + spec->offset;
        if (!v) /* recorded before the option existed: its value before any preset */
            continue;
        bool ok = true;
        switch (spec->type) {
        case OPTION_STRING:
            ok = json_is_string(v) || json_is_null(v);
            if (ok)
                *(const char **)field = json_string_value(v);
            break;
        case OPTION_CHARS:
            ok = json_is_string(v) && strlen(json_string_value(v)) < spec->size;
            if (ok)
                memcpy(field, json_string_value(v), strlen(json_string_value(v)) + 1);
            break;
        case OPTION_SIZE:
        case OPTION_U64:
            ok = json_is_integer(v) && json_integer_value(v) >= 0;
            if (ok && spec->type == OPTION_SIZE)
                *(size_t *)field = (size_t)json_integer_value(v);
            else if (ok)
                *(unsigned long long *)field = (unsigned long long)json_integer_value(v);
            break;
        case OPTION_INT:
        case OPTION_BOOL:
            ok = json_is_integer(v) || json_is_boolean(v);
            if (ok)
                *(int *)field = json_is_boolean(v) ? json_is_true(v) : (int)json_integer_value(v);
            break;
        case OPTION_FLOAT:
            ok = json_is_number(v);
            if (ok)
                *(float *)field = (float)json_number_value(v);
            break;
        case OPTION_SIZE_LIST:
        case OPTION_FLOAT_LIST:
            ok = json_is_array(v) && json_array_size(v) <= spec->size;
            for (size_t k = 0; ok && k < json_array_size(v); k++) {
                const json_t *item = json_array_get(v, k);
                ok = spec->type == OPTION_FLOAT_LIST ? json_is_number(item) : json_is_integer(item);
                if (ok && spec->type == OPTION_FLOAT_LIST)
                    ((float *)field)[k] = (float)json_number_value(item);
                else if (ok)
                    ((size_t *)field)[k] = (size_t)json_integer_value(item);
            }
            if (ok)
                *(size_t *)((char *)o + spec->count_offset) = json_array_size(v);
            break;
        }
        if (!ok)
            return error_set(HFTC_STATUS_MODEL, "the model's training record has an invalid value of option %s",
                             spec->name);
    }
    return HFTC_STATUS_OK;
}
