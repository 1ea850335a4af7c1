/* hftc: hierarchical multi-label text classification (HFT-CNN, HTrans, HFT-ONLSTM).
 * The public API. The library never exits and prints only through the log callback. */
#ifndef HFTC_H
#define HFTC_H

#include <stddef.h>

/* Marks the library's API: the shared library exports these names and hides every other. */
#if defined(__GNUC__) || defined(__clang__)
#define HFTC_API __attribute__((visibility("default")))
#else
#define HFTC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HFTC_STATUS_OK = 0,
    HFTC_STATUS_INVALID_ARGUMENT, /* an option or argument out of range */
    HFTC_STATUS_IO,               /* a file could not be opened, read or written */
    HFTC_STATUS_FORMAT,           /* malformed input: data, word vectors, taxonomy */
    HFTC_STATUS_MODEL,            /* a model file that is truncated, corrupted or incompatible */
    HFTC_STATUS_OUT_OF_MEMORY,
    HFTC_STATUS_INCOMPLETE, /* training stopped at its time limit; its checkpoint holds the work done */
} hftc_status;

/* The message of the last error on this thread ("" if none). */
HFTC_API const char *hftc_last_error(void);

typedef enum { HFTC_LOG_ERROR, HFTC_LOG_WARN, HFTC_LOG_INFO, HFTC_LOG_DEBUG } hftc_log_level;
typedef void (*hftc_log_fn)(hftc_log_level level, const char *message, void *user);
/* Route library messages; NULL silences them. The default writes WARN and above to stderr. */
HFTC_API void hftc_set_log(hftc_log_fn fn, hftc_log_level max_level, void *user);

/* The default thread count (OpenMP and OpenBLAS) of the models the calling thread loads afterwards; 0 = all
 * cores. A model keeps the count it was loaded with until hftc_model_set_threads changes it, whichever thread
 * predicts with it; a training uses hftc_train_options.threads, and the model it returns keeps that count.
 * The default is the calling thread's OpenMP count (as omp_set_num_threads; without this call,
 * OMP_NUM_THREADS or all cores). Here, in hftc_model_set_threads and in a training, a count above 4 per core
 * is capped there, with a warning through the log. */
HFTC_API void hftc_set_threads(int n);

/* OpenBLAS's GEMM kernels: the name of those in use, and that of better ones this CPU runs when OpenBLAS
 * fell back to its generic Prescott kernels, or NULL. Debian 12's OpenBLAS (0.3.21) falls back so on CPUs
 * newer than itself (Intel's Emerald Rapids: GEMM 4-7x slower than with its AVX-512 kernels). OpenBLAS
 * reads OPENBLAS_CORETYPE once, when it is loaded: a program sets it to the better name in its
 * environment before it starts (the hftc command starts itself again so; training and loading a model
 * warn while OPENBLAS_CORETYPE is not set). */
HFTC_API const char *hftc_blas_kernels(void);
HFTC_API const char *hftc_blas_better_kernels(void);

/* ---- Processes: training across an MPI job -------------------------------------------------- */

/* Under an MPI launcher (mpirun -np N hftc train ...), every process runs the same training: a node
 * model's classifier runs are spread over them, a flat or level network's batches split among them
 * (data-parallel); rank 0 keeps the results, writes the checkpoint, and alone is to save the model (the
 * others' models are the same). hftc_distributed_init joins the job this process
 * was started in by the launcher (mpirun, srun), once, from the main thread, before any training; in a
 * process started otherwise, or a library built without MPI, it does nothing and the process trains alone
 * (rank 0 of 1). */
HFTC_API hftc_status hftc_distributed_init(void);
/* This process's rank in the job (0 .. size - 1) and the job's process count: 0 and 1 outside a job. */
HFTC_API int hftc_distributed_rank(void);
HFTC_API int hftc_distributed_size(void);
/* Leaves the job. With failed (this process met an error the others may not share, and they may be waiting
 * for it), ends every process of the job (MPI_Abort with exit_code) instead. */
HFTC_API void hftc_distributed_end(int failed, int exit_code);
/* The MPI library compiled in ("Open MPI v4.1.4"), or NULL when hftc was built without MPI. */
HFTC_API const char *hftc_mpi_library(void);

/* ---- Option values ------------------------------------------------------------------------- */

/* The types of the option values the library and the command line read from text. */
typedef enum { HFTC_VALUE_SIZE, HFTC_VALUE_INT, HFTC_VALUE_U64, HFTC_VALUE_FLOAT, HFTC_VALUE_BOOL } hftc_value_type;
/* Parses text strictly as type into *out (size_t, int, unsigned long long, float; int 0 or 1 for a
 * boolean): integers are digits alone (no sign or space, nothing after; an int at most INT_MAX), floats
 * finite numbers, booleans 1/0, true/false, yes/no. Returns 1, or 0 with *out unchanged. The parser of
 * hftc_train_options_set, for a program's own options too. */
HFTC_API int hftc_parse_value(hftc_value_type type, const char *text, void *out);

/* ---- Training ---------------------------------------------------------------------------- */

#define HFTC_MAX_WINDOWS 8
#define HFTC_MAX_CLASS_WEIGHTS 16

typedef struct {
    const char *part;             /* the network being trained: "flat", "level3", ... */
    size_t epoch, epochs;         /* 1-based current epoch, upper bound */
    size_t docs_done, docs_total; /* within the epoch */
    double seconds;               /* since the epoch started */
    float train_loss;             /* running mean over the epoch */
    int epoch_end;                /* 1 when the validation results below are set */
    float valid_loss, valid_micro_f1;
    float valid_accuracy; /* single-label heads stopping on accuracy (--early-stop accuracy); else -1 */
    int improved;         /* the early-stopping criterion improved this epoch */
} hftc_progress;

typedef void (*hftc_progress_fn)(const hftc_progress *p, void *user);

typedef struct {
    /* data */
    const char *train_path; /* required */
    const char *valid_path; /* NULL: hold out valid_fraction of the training data */
    float valid_fraction;
    const char *format;            /* "auto", "tsv", "fasttext", "jsonl" */
    const char *taxonomy_path;     /* NULL: flat, every label a top-level category */
    const char *taxonomy_format;   /* "auto", "parent-children", "tree" */
    int add_unknown_labels;        /* labels missing from the taxonomy go under the root, not an error */
    const char *embeddings_path;   /* word vectors, or NULL for uniform(-0.25, 0.25) */
    const char *embeddings_format; /* "auto", "vec", "glove", "bin" */
    int lowercase;
    int split_punct;
    int drop_punct;   /* punctuation separates words but is not a token */
    size_t max_len;   /* tokens kept per document */
    size_t min_count; /* vocabulary minimum count */
    size_t max_vocab; /* 0 = no cap */
    int skip_bad_lines;
    /* model */
    char preset[32];
    int auto_choice;             /* --preset auto: linear, linear SVM, ngram and hft-cnn members trained on the data
                                  * with their own presets (of these options: the files, formats, vectors, seed,
                                  * threads, time limit), ensembled, and the best on validation kept */
    char auto_settings[256];     /* auto: settings over members' presets, "member:name=value name=value;member:..."
                                  * (members: linear, linear-svm, ngram, hft-cnn) */
    char family[16];             /* "neural": networks (the encoder below); "linear": linear classifiers over
                                  * TF-IDF features, trained by liblinear */
    char encoder[16];            /* "cnn", "bigru-att", "onlstm", "ngram", "bilstm" */
    char head[16];               /* "sigmoid", "softmax" */
    char strategy[16];           /* "flat": one model over all labels; "level": one per taxonomy level;
                                  * "node": one binary model per category (HTrans) */
    char transfer[16];           /* "none", or "finetune": a level (node) starts from the level above's (its
                                  * parent's) trained layers */
    char transfer_layers[64];    /* the layers finetune copies: "embedding,conv" (also "fc1", "out", "gru",
                                  * "attention", "onlstm", "ngram", "bn") */
    float transfer_lr;           /* learning rate of the transferred layers; 0 = lr */
    int freeze_child_embeddings; /* node + finetune: below the top level, the parent's embedding, frozen */
    size_t dim;                  /* embedding size (taken from the vectors when given) */
    size_t n_windows, windows[HFTC_MAX_WINDOWS];
    size_t filters;
    size_t pool_chunks;           /* max pooling chunks per feature map: 1 = 1-max (Kim), p > 1 = XML-CNN's dynamic */
    size_t conv_stride;           /* words between window starts: 1 (Kim, XML-CNN), 2 (XML-CNN(2)) */
    size_t hidden;                /* 0 = no hidden layer; XML-CNN's bottleneck; HFT-ONLSTM's MLP */
    char hidden_activation[8];    /* of the hidden layer: "relu", "tanh" */
    int batchnorm;                /* batch normalisation after the hidden layer's dropout */
    size_t rnn_hidden;            /* bigru-att, bilstm: units per direction; onlstm: units */
    size_t attention_dim;         /* bigru-att: attention size; 0 = 2 x rnn_hidden */
    float rnn_dropout;            /* bigru-att: on the GRU outputs; onlstm, bilstm: on the pooled state */
    size_t onlstm_chunk;          /* onlstm: units per master-gate value (1 = the paper's equations) */
    char rnn_pool[8];             /* onlstm, bilstm: the "last" state(s), or "max" or "mean" over the words */
    size_t buckets;               /* ngram: rows of the table the word bigrams hash to (fastText's -bucket) */
    int joint_embedding;          /* level + softmax: below the top level, the parent category's name words are
                                   * read before the text (true parent in training, predicted at inference) */
    const char *label_names_path; /* joint embedding: "label<TAB>name" or "label: name" lines; labels it does
                                   * not name are split on non-alphanumerics */
    float embed_dropout, hidden_dropout;
    int freeze_embeddings; /* static embeddings */
    /* level strategy */
    char level_docs[16]; /* "all": every level model on every document; "reach": level k's on those with a
                          * category at level k or k - 1 (the HFT-CNN authors' code) */
    /* linear family */
    char linear_loss[16];    /* "logreg": L2-regularised logistic regression; "svm": L2-loss linear SVM, its
                              * decision values turned into probabilities by a sigmoid fitted on validation */
    char linear_sigmoid[16]; /* svm: "global", one sigmoid for every output, or "label", one per output */
    char linear_start[16];   /* a classifier trained from nothing starts at "bias", the optimum of its bias alone
                              * (faster; the same optimum, to the tolerance), or "zero" (liblinear's and
                              * scikit-learn's start: their solutions, to the last digits) */
    size_t n_linear_c;       /* the regularisation values C tried; the best validation micro-F1 is kept */
    float linear_c[HFTC_MAX_CLASS_WEIGHTS];
    float linear_tolerance; /* liblinear's stopping tolerance (its -e) */
    size_t ngrams;          /* word n-grams as features: 1 (words) or 2 (words and bigrams) */
    size_t min_df;          /* a feature of fewer training documents is left out */
    int sublinear_tf;       /* 1 + ln(tf) instead of the term count */
    /* node strategy */
    char node_docs[16];        /* "all": every document (positives and negatives); "parent": those of its parent */
    float node_valid_fraction; /* each classifier's validation split, stratified, from all labelled documents */
    size_t n_class_weights;    /* positive-class weights tried per classifier; the best validation F1 is kept */
    float class_weights[HFTC_MAX_CLASS_WEIGHTS];
    const char *class_weights_from; /* a node model: each label's chosen weight as its BCE positive weight */
    const char *checkpoint_path;    /* node and level strategies: the work done is saved here (a model file with a
                                     * "checkpoint" record): the finished (classifier, weight) runs about once a
                                     * minute, each level as it ends, and at a time-limit stop. When the file
                                     * exists, training continues from it, the result the same as without the
                                     * interruption (it must be the same data and options: the thread count may
                                     * differ). The caller removes it once the model is saved. */
    float time_limit;               /* with checkpoint_path: seconds after which no new classifier run (level)
                                     * starts; those under way finish, the checkpoint is saved and hftc_train
                                     * returns HFTC_STATUS_INCOMPLETE. 0 = none */
    const char *reuse_runs_from;    /* node strategy: a node model trained on the same data, vocabulary, vectors
                                     * and seed with the same options, except how children start (transfer) and
                                     * the class weights, whose list must begin this one's: the classifiers that
                                     * start from scratch in both (the top level's; all without transfer) take
                                     * its runs instead of repeating them, the result the same as without it
                                     * (gru-att -> gru-att-cw -> htrans). NULL = none */
    /* optimisation */
    size_t epochs, batch, patience;
    size_t lr_patience; /* epochs without improvement after which the learning rates are multiplied by
                         * lr_decay (Keras' ReduceLROnPlateau; the counter restarts); 0 = never */
    float lr_decay;
    float lr;
    char optimizer[8];   /* "adam", or "sgd" (fastText's: lr is the step per document of the loss summed over
                          * the outputs, decaying linearly to 0 over the epochs' batches) */
    char early_stop[16]; /* "loss", "micro-f1", "weighted-f1" (the labels' F1 weighted by their support) or
                          * "accuracy" (single-label heads: the best output is the label) on the validation
                          * split (the F1s with tune_threshold: at each epoch's best threshold, since the
                          * final one is not known yet) */
    float pos_weight;    /* sigmoid head: BCE weight of positive targets (PyTorch's pos_weight), 1 = none */
    char scoring[16];    /* stored in the model: "independent", "bsf", "msf" (HFT-CNN's Boolean/multiplicative:
                          * each label's own probability thresholded, ranked by its path's product),
                          * "product" (that product thresholded); softmax levels: "top-down" (restricted to
                          * the chosen parent's children), "argmax"; single-path data: "leaf", "leaf-product" (the
                          * leaf of the best path product) */
    float threshold;     /* decision threshold stored in the model, on the values that scoring decides on */
    int tune_threshold;  /* instead, the threshold (0.05 steps) with the best validation micro-F1 */
    /* One threshold per label besides (0.05 steps), each the best for that label's validation F1, parents
     * first (bsf, product: a label is kept only with a kept parent), for the flat and level strategies with the
     * sigmoid head and independent, bsf, msf or product scoring; test and predict use them unless given a
     * threshold. */
    int tune_label_thresholds;
    int tune_scoring; /* single-path training data (each document one leaf and its ancestors): the leaf
                       * decision instead when its validation micro-F1 is better (after the tuning above) */
    unsigned long long seed;
    int threads; /* 0 = all cores */
    /* The last members: bindings that hold the struct as hftc_train_options_size() bytes, set by name, find
     * them from its end (python/hftc.py). */
    hftc_progress_fn progress;
    void *progress_user;
} hftc_train_options;

/* sizeof(hftc_train_options), for bindings that allocate it without its layout. */
HFTC_API size_t hftc_train_options_size(void);

/* The name of preset i (0, 1, ...), NULL past the last. */
HFTC_API const char *hftc_preset_name(size_t i);
/* Fills o with the defaults of preset (NULL = "flat-cnn"); unknown preset -> INVALID_ARGUMENT. */
HFTC_API hftc_status hftc_train_options_init(hftc_train_options *o, const char *preset);

/* The options by name, as the command line names them without "--" ("epochs", "class-weights"): one table
 * in the library gives the command line, the presets, the training record and the checkpoint's fingerprint.
 * hftc_train_options_set parses value as that option's type (strict: "1x" is no number; lists are
 * comma-separated, "none" is an empty list; booleans 1/0, true/false, yes/no) and returns INVALID_ARGUMENT
 * with a message for an unknown name or a bad value. A string option (a file) keeps the pointer value: the
 * caller keeps the string alive while o is in use. The preset is not settable: hftc_train_options_init
 * chooses it, and the other options start from its defaults. */
HFTC_API hftc_status hftc_train_options_set(hftc_train_options *o, const char *name, const char *value);
/* The value of option name as text (the form hftc_train_options_set reads; "none" for no file). */
HFTC_API hftc_status hftc_train_options_get(const hftc_train_options *o, const char *name, char *buf, size_t size);
/* The options' names (i = 0 .. count - 1; NULL past the last) and an option's help line (NULL: unknown). */
HFTC_API size_t hftc_train_option_count(void);
HFTC_API const char *hftc_train_option_name(size_t i);
HFTC_API const char *hftc_train_option_help(const char *name);
/* Checks an options struct; returns an error message or NULL (liblinear's check_parameter). A message that
 * lists what the library knows (encoders, scorings, layers) lives until the next check on the same thread. */
HFTC_API const char *hftc_train_options_check(const hftc_train_options *o);
/* Checks, before a training, the files it will write: its model at output (NULL: none) and its checkpoint
 * (o->checkpoint_path, if set; hftc_train checks it so). Each must have a name, be in a directory that can
 * be written, not exist as anything but a regular file or a symbolic link (a directory, a FIFO, a device:
 * hftc_model_save refuses them; a link is replaced, never followed), and be none of the training's input
 * files (by name or as the same file) nor, for the checkpoint, output. INVALID_ARGUMENT for an empty name
 * or one naming an input file, IO for the rest. */
HFTC_API hftc_status hftc_train_outputs_check(const hftc_train_options *o, const char *output);

typedef struct hftc_model hftc_model;

HFTC_API hftc_status hftc_train(const hftc_train_options *o, hftc_model **out);
/* Written atomically: a new temporary file in the same directory (.<name>.hftc-tmp.XXXXXX, created
 * exclusively: never through a link; any of path's an hour old, left by a killed writer, removed), then
 * renamed over path. A path that exists as anything but a regular file (a directory, a FIFO, a device) is
 * refused (IO); a symbolic link at path is replaced by the file, never followed. */
HFTC_API hftc_status hftc_model_save(const hftc_model *m, const char *path);
/* A path that is not a regular file (a FIFO, a directory, a device) is refused at once (IO), never waited on. */
HFTC_API hftc_status hftc_model_load(hftc_model **out, const char *path);
HFTC_API void hftc_model_free(hftc_model *m);

/* Inference caches the projection of each word by the first layer of the networks that own their
 * embedding (the CNN's window products, the recurrent layers' input products): a word's products are
 * computed once, when a batch first uses it, instead of at every occurrence. The cache takes memory
 * for the rows of the words seen, at most vocabulary x (9 F | 6 H | gate rows) floats per network; it
 * is on when those tables together are at most max_bytes, off for 0. hftc_model_load turns it on
 * with HFTC_WORD_CACHE_DEFAULT_BYTES. */
#define HFTC_WORD_CACHE_DEFAULT_BYTES ((size_t)2 << 30)
HFTC_API hftc_status hftc_model_set_word_cache(hftc_model *m, size_t max_bytes);
/* The threads m's predictions run on (0 = all cores): every prediction, evaluation and explanation with m,
 * from any thread. hftc_model_load gives a model the loading thread's default (hftc_set_threads). Batches of
 * fewer than 8 documents run on one thread whatever the count (waking the others costs more than they save). */
HFTC_API void hftc_model_set_threads(hftc_model *m, int n);

HFTC_API size_t hftc_model_num_labels(const hftc_model *m);
HFTC_API const char *hftc_model_label(const hftc_model *m, size_t i);
/* Label i's parents in the model's taxonomy (label ids), the first max of them into parents; returns how many
 * it has (0: a top-level label, under the root; a taxonomy that is not a tree gives a label several). */
HFTC_API size_t hftc_model_label_parents(const hftc_model *m, size_t i, size_t *parents, size_t max);
HFTC_API float hftc_model_threshold(const hftc_model *m);
/* The per-label thresholds (hftc_train_options.tune_label_thresholds), one per label; NULL: none. */
HFTC_API const float *hftc_model_label_thresholds(const hftc_model *m);
/* The scoring the model applies when hftc_input_options.scoring is NULL (hftc_train_options.scoring). */
HFTC_API const char *hftc_model_scoring(const hftc_model *m);
/* An ensemble's members (0 for a model of one strategy), and member k (from 0; NULL past the last) as a model of its
 * own: its probabilities and its own decision rule. The member belongs to the ensemble: valid while m is, never
 * freed by the caller. */
HFTC_API size_t hftc_model_num_members(const hftc_model *m);
HFTC_API hftc_model *hftc_model_member(hftc_model *m, size_t k);
/* Member k's name ("member 2", or the one it was given: --preset auto's "linear", "ngram", ...); NULL past the last. */
HFTC_API const char *hftc_model_member_name(const hftc_model *m, size_t k);
/* A JSON description of the model (preset, sizes, vocabulary and labels counts, parameters,
 * training record); the caller frees it with free(). */
HFTC_API char *hftc_model_describe(const hftc_model *m);

/* ---- Ensembles ----------------------------------------------------------------------------- */

#define HFTC_MAX_ENSEMBLE 16

typedef struct {
    const char *const *models; /* the members' model files: trained over the same taxonomy, reading text alike */
    size_t n_models;           /* 2 to HFTC_MAX_ENSEMBLE */
    const char *valid_path;    /* labelled data the weights and the decision rule are chosen on: not a member's
                                * training data (refused, INVALID_ARGUMENT) */
    const char *format;        /* of valid_path: "auto", "tsv", "fasttext", "jsonl" */
    int skip_bad_lines;
    const char *scoring; /* the ensemble's scoring (hftc_train_options.scoring); NULL: the first member's */
    /* Per-label thresholds besides the threshold (scorings that threshold): 1 yes, 0 no, -1 where a member has
     * them (the default). */
    int label_thresholds;
    size_t weight_steps; /* the weights are multiples of 1 / weight_steps (default 10): every such mix for up to
                          * 4 members, a coordinate search beyond */
    int threads;         /* 0 = all cores */
} hftc_ensemble_options;

/* The defaults: no members, no validation data, "auto" format, the first member's scoring, per-label
 * thresholds where a member has them, 10 weight steps, all cores. */
HFTC_API void hftc_ensemble_options_init(hftc_ensemble_options *o);
/* hftc_train_outputs_check's checks of output for an ensemble: writable, and none of its input files (a member,
 * the validation data). */
HFTC_API hftc_status hftc_ensemble_outputs_check(const hftc_ensemble_options *o, const char *output);
/* One model of the members (read once into it, kept whole): its probabilities the weighted mean of theirs. The
 * weights, the threshold (0.05 steps) and the per-label thresholds are those with the best micro-F1 on
 * o->valid_path under the ensemble's scoring; the model's training record holds each member's validation
 * figures alone (its own decision rule, and under the ensemble's), the ensemble's and the weights
 * (hftc_model_describe). Members that disagree on the taxonomy are refused with the first difference named
 * (INVALID_ARGUMENT). */
HFTC_API hftc_status hftc_ensemble(const hftc_ensemble_options *o, hftc_model **out);

/* ---- A model's life after training -------------------------------------------------------- */

typedef struct {
    const char *model_path;      /* the trained model (a neural model without the joint embedding) */
    const char *taxonomy_path;   /* the new taxonomy: the model's categories and those to add */
    const char *taxonomy_format; /* "auto", "parent-children", "tree" */
    const char *train_path;      /* labelled documents (labels from the new taxonomy) the new categories learn from */
    const char *valid_path;      /* NULL: as the model's training validated (node: each classifier's own split;
                                  * flat and level: a held-out fraction of train_path) */
    const char *format;          /* of train_path and valid_path: "auto", "tsv", "fasttext", "jsonl" */
    int skip_bad_lines;
    int allow_removal; /* a category of the model that the new taxonomy lacks or puts under other parents is
                        * dropped (a moved one trains anew under its new parents) instead of refused */
    int tune_head;     /* flat and level models: grow the level's network by the new output rows (as grow_rows) and
                        * train its whole head (fully connected layers, batch norm, output) with them */
    int threads;       /* 0 = all cores */
    int grow_rows;     /* flat and level models: the new categories get output rows in their level's network, which
                        * alone train on its frozen features, instead of a branch: a network of their own per level,
                        * started from the level's (transfer) and reading its embedding. A softmax head always grows
                        * by rows (its outputs share one normalisation). */
} hftc_extend_options;

/* No files, "auto" formats, nothing removed, branches for flat and level models, all cores. */
HFTC_API void hftc_extend_options_init(hftc_extend_options *o);
/* The model at o->model_path with the categories of o->taxonomy_path it lacks: node models train a classifier per
 * new category as their training did (from its parent's with HTrans transfer, with the class-weight search), every
 * other classifier bit for bit the model's; flat and level models give each level's new categories a branch, a network
 * of their own started from the level's (or with grow_rows grow the level's output layer by their rows, which train
 * while every other weight keeps its value); every tensor of the model stays bit for bit. The options are those of the
 * model's training record; the model's vocabulary, labels' thresholds and label order stay (new labels after the
 * model's); the new labels' thresholds are tuned on o->valid_path as the training tuned them. The record grows a
 * "history" entry: what was added and removed, from which files (path and fingerprint), when. A removed or moved
 * category without allow_removal: INVALID_ARGUMENT naming it. */
HFTC_API hftc_status hftc_extend(const hftc_extend_options *o, hftc_model **out);

typedef struct {
    const char *model_path;      /* the trained model (not an ensemble, not a joint-embedding model) */
    const char *train_path;      /* new labelled documents, corrected labels included */
    const char *valid_path;      /* NULL: as the model's training validated (node: each classifier's own split; flat,
                                  * level and linear: a held-out fraction of train_path) */
    const char *format;          /* of train_path and valid_path: "auto", "tsv", "fasttext", "jsonl" */
    const char *taxonomy_path;   /* NULL: a label the model lacks is an error; else the model is first extended with
                                  * this taxonomy (hftc_extend, on train_path and valid_path) */
    const char *taxonomy_format; /* "auto", "parent-children", "tree" */
    size_t epochs;               /* neural models: epochs of the continued training; 0: the model's --epochs */
    float lr;                    /* neural models: learning rate; 0: the model's --lr */
    float replay;                /* in [0, 1]: this fraction of the model's training documents (a seeded sample) trains
                                  * too, against forgetting; the file is the one its record names, refused if its bytes
                                  * changed since (the record's fingerprint) */
    int skip_bad_lines;
    int threads; /* 0 = all cores */
} hftc_learn_options;

/* No files, "auto" formats, the model's epochs and learning rate, no replay, all cores. */
HFTC_API void hftc_learn_options_init(hftc_learn_options *o);
/* The model at o->model_path trained on from its weights on o->train_path (with the replayed sample): neural flat
 * and level networks fine-tuned whole; node classifiers each fine-tuned at its own class weight on its own split of
 * the documents (one with too few documents stays as it is); linear classifiers retrained by liblinear starting from
 * their weights (its initial solution, over the model's TF-IDF features: the objective is convex, so the result is
 * the optimum for the documents given, the start only saving iterations: without replay the old documents are
 * forgotten). The thresholds are tuned again as the training tuned them. The record grows a "history" entry: the
 * files (path and fingerprint), epochs, learning rate, replay, when. A label the model lacks without
 * o->taxonomy_path: FORMAT, naming it. */
HFTC_API hftc_status hftc_learn(const hftc_learn_options *o, hftc_model **out);

/* ---- Inference and evaluation -------------------------------------------------------------- */

/* Probabilities (n x num_labels) for raw texts. */
HFTC_API hftc_status hftc_predict_texts(hftc_model *m, const char *const *texts, size_t n, float *probs);

typedef struct {
    const char *path;    /* "-" = stdin */
    const char *format;  /* "auto", "tsv", "fasttext", "jsonl", "text" (predict only) */
    const char *scoring; /* as hftc_train_options.scoring: how ancestors' scores combine; NULL: the model's */
    float threshold;     /* in [0, 1]; -1: the model's (any other value: INVALID_ARGUMENT) */
    int skip_bad_lines;
    /* Node models (one classifier per label) under bsf or product scoring: run a label's classifier only on
     * the documents whose parents can pass the threshold (a label scores at most its best parent). The
     * decisions are those of running every classifier; the probabilities of skipped labels read 0, so
     * rankings past the decided labels (P@k, nDCG@k, hftc_predict_file's k) are not a full run's, and
     * hftc_evaluate leaves out the accuracy given the true parent. Ignored for other models. */
    int prune;
    int per_label; /* hftc_evaluate: also each label's counts (hftc_evaluation.per_label) */
    /* Predictions of bigru-att models (HTrans, GRU-Att): the this-many words each selected label's
     * classifier attended to most (hftc_prediction.words); 0: none. Turns prune off. */
    size_t explain;
    int sibling_confusions; /* hftc_evaluate: also the sibling pairs confused (hftc_evaluation.confusions) */
    int threshold_curve;    /* hftc_evaluate: also the micro figures at each threshold (hftc_evaluation.curve); turns
                             * prune off */
    int doc_counts;         /* hftc_evaluate: also each document's counts (hftc_evaluation.doc_counts) */
} hftc_input_options;

#define HFTC_MAX_K 5

#define HFTC_MAX_LEVELS 32

typedef struct {
    size_t labels; /* the level's labels occurring in the gold set */
    double micro_f1, macro_f1;
    double accuracy; /* documents whose label set at this level is exactly right */
    /* Accuracy given the true parent (the HFT-ONLSTM paper's l1, l2, ...): of the documents with one label
     * at this level, those whose label is the one chosen among its true parent's children (argmax scoring:
     * among the whole level), the joint embedding reading the true parent's words. */
    double accuracy_given_parent;
    size_t docs_given_parent;
} hftc_level_metrics;

/* One label over the evaluated documents. */
typedef struct {
    char *label;      /* its name */
    size_t level;     /* its taxonomy level (1: top); 0: a gold label the model does not know */
    size_t support;   /* documents with the label */
    size_t predicted; /* documents it was predicted for */
    size_t correct;   /* both */
    double precision, recall, f1;
} hftc_label_metrics;

/* A gold label missed while a sibling of it (a label sharing one of its parents, the root included) that the
 * document does not have was predicted. */
typedef struct {
    char *gold, *predicted; /* the labels' names */
    size_t count;           /* documents */
} hftc_confusion;

/* The threshold curve's points: 0, 0.05, ..., 1. */
#define HFTC_CURVE_POINTS 21

/* The micro figures of one threshold for every label under the evaluation's scoring (the model's per-label
 * thresholds not used). */
typedef struct {
    double threshold, precision, recall, f1;
} hftc_curve_point;

typedef struct {
    size_t docs, labels;   /* labels: occurring in the gold set */
    size_t unknown_labels; /* gold labels the model does not know (counted as misses) */
    double micro_precision, micro_recall, micro_f1, macro_f1, exact_match;
    double weighted_f1; /* the gold labels' F1, weighted by their support (scikit-learn's average="weighted") */
    /* Hierarchical precision, recall and F1 (Kiritchenko et al. 2005): the micro figures with every
     * predicted label's ancestors added to the prediction, as the gold sets have them; the same as the
     * micro figures when the scoring predicts a label only with its parents (bsf, product, top-down). */
    double hierarchical_precision, hierarchical_recall, hierarchical_f1;
    double overall_accuracy; /* the HFT-ONLSTM paper's "overall": documents whose last-level labels (gold labels
                              * at the deepest level they reach) are predicted, parents predicted, not given */
    double precision_at[HFTC_MAX_K + 1], ndcg_at[HFTC_MAX_K + 1]; /* index k = 1..5 */
    double seconds, docs_per_second;
    int label_thresholds; /* decided with the model's per-label thresholds (no threshold given) */
    size_t n_levels;      /* levels 1 .. n_levels (at most HFTC_MAX_LEVELS) below the root */
    hftc_level_metrics level[HFTC_MAX_LEVELS];
    /* With hftc_input_options.per_label: every label in the gold set or predicted, in the model's label
     * order (unknown gold labels last); NULL otherwise. Freed by hftc_evaluation_free. */
    hftc_label_metrics *per_label;
    size_t n_per_label;
    /* With hftc_input_options.sibling_confusions: every pair confused at least once, most documents first (ties:
     * by the gold label's name, then the predicted one's); NULL otherwise. Freed by hftc_evaluation_free. */
    hftc_confusion *confusions;
    size_t n_confusions;
    /* With hftc_input_options.threshold_curve, for a scoring that uses a threshold: curve[i] at threshold
     * i / (HFTC_CURVE_POINTS - 1); n_curve is HFTC_CURVE_POINTS then, 0 otherwise. */
    hftc_curve_point curve[HFTC_CURVE_POINTS];
    size_t n_curve;
    /* With hftc_input_options.doc_counts: per document (docs x 3, in input order) its labels predicted and right,
     * predicted, and gold (ancestors included, as the micro figures count them): micro-F1 over any sample of
     * documents is 2 x right / (predicted + gold) summed over it (a paired bootstrap); NULL otherwise. Freed by
     * hftc_evaluation_free. */
    size_t *doc_counts;
} hftc_evaluation;

/* Evaluates m on the labelled file in->path; *out is set only on success. */
HFTC_API hftc_status hftc_evaluate(hftc_model *m, const hftc_input_options *in, hftc_evaluation *out);
/* Frees what hftc_evaluate allocated in e (per_label, confusions); e's numbers stay. */
HFTC_API void hftc_evaluation_free(hftc_evaluation *e);

/* One predicted document: labels above the threshold (best first), and the k best overall. */
typedef struct {
    size_t index; /* 0-based document number in the input */
    size_t n_selected;
    const size_t *selected; /* label ids */
    size_t n_ranked;
    const size_t *ranked; /* label ids, best first */
    const float *probs;   /* num_labels scores under the scoring (independent: the probabilities) */
    int batch_end;        /* every document read so far is answered: a caller writing to a pipe flushes here */
    /* With hftc_input_options.explain = n_words: for each selected label (row i: selected[i]), the n_words
     * words its classifier attended to most, best first, and their attention weights ("" and 0 past the
     * document's words). A multi-label network has one attention: every label's row is the same. */
    size_t n_words;
    const char *const *words;
    const float *word_weights;
} hftc_prediction;

typedef hftc_status (*hftc_prediction_fn)(const hftc_prediction *p, void *user);

/* Streams predictions for every document of the input, in input order, ranking k labels. Documents are
 * read and decided in batches of up to 256 (memory does not grow with the input); a batch ends early when
 * the input has no further line ready, so a program writing one document at a time into a pipe gets each
 * answer without closing the pipe. A malformed line stops the reading with an error naming its file and
 * line, after the predictions of the documents before it. */
HFTC_API hftc_status hftc_predict_file(hftc_model *m, const hftc_input_options *in, size_t k, hftc_prediction_fn fn,
                                       void *user);
/* The same for n raw texts (in: threshold, scoring and prune; path, format and skip_bad_lines unused):
 * one call of fn per text, in order (batch_end set every 256 texts and on the last). */
HFTC_API hftc_status hftc_predict_documents(hftc_model *m, const char *const *texts, size_t n,
                                            const hftc_input_options *in, size_t k, hftc_prediction_fn fn, void *user);

/* ---- Tokens -------------------------------------------------------------------------------- */

/* One document's tokens (index: 0-based document number in the input). */
typedef hftc_status (*hftc_tokens_fn)(size_t index, const char *const *tokens, size_t n, void *user);

/* Calls fn for every document of path ("-" = stdin) with the words hftc_train would read from it under o's
 * format, lowercase, split_punct, drop_punct, max_len (0 = every token) and skip_bad_lines: for example to
 * train in-domain word vectors on the training text (scripts/make-word-vectors --text). Labels are read but
 * not checked, and may be absent (the text format). fn returning an error stops the reading. The input is
 * read in batches (memory grows with its vocabulary, not its length): a malformed line stops the reading
 * with an error naming it, after the documents of the batches before its own. */
HFTC_API hftc_status hftc_tokenize_file(const char *path, const hftc_train_options *o, hftc_tokens_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
