/* hftc train: options (preset defaults, then overrides), output path checked up front, progress. */
#include "args.h"
#include "commands.h"

#include "hftc.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    bool tty;
    size_t last_width;
    double last_draw; /* seconds into the epoch of the last redraw: at most 10 a second */
} progress_state;

static void format_duration(char *buf, size_t size, double s)
{
    unsigned long t = s > 0 ? (unsigned long)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%lu:%02lu", t / 60, t % 60);
}

/* On a terminal: a bar redrawn in place with docs/s and ETA; otherwise one line per epoch. */
static void show_progress(const hftc_progress *p, void *user)
{
    progress_state *ps = user;
    bool level = p->part && strcmp(p->part, "flat"); /* name the level being trained */
    double rate = p->seconds > 0 ? (double)p->docs_done / p->seconds : 0.0;
    if (p->epoch_end) {
        if (ps->tty)
            fprintf(stderr, "\r%*s\r", (int)ps->last_width, "");
        bool accuracy = p->valid_accuracy >= 0.0f; /* the criterion: accuracy for single-label heads */
        fprintf(stderr, "%s%sepoch %zu/%zu  train_loss %.5f  valid_loss %.5f  %s %.4f  %.1f s  %.0f docs/s%s\n",
                level ? p->part : "", level ? " " : "", p->epoch, p->epochs, (double)p->train_loss,
                (double)p->valid_loss, accuracy ? "valid_accuracy" : "valid_micro_f1",
                (double)(accuracy ? p->valid_accuracy : p->valid_micro_f1), p->seconds, rate, p->improved ? "  *" : "");
        return;
    }
    if (!ps->tty || (p->seconds - ps->last_draw < 0.1 && p->seconds >= ps->last_draw))
        return;
    ps->last_draw = p->seconds;
    enum { BAR = 30 };
    size_t filled = p->docs_total ? p->docs_done * BAR / p->docs_total : 0;
    char bar[BAR + 1], eta[32];
    for (size_t i = 0; i < BAR; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR] = '\0';
    format_duration(eta, sizeof eta, rate > 0 ? (double)(p->docs_total - p->docs_done) / rate : 0.0);
    int n = fprintf(stderr, "\r%s%sepoch %zu/%zu [%s] %3zu%%  %.0f docs/s  ETA %s  loss %.5f", level ? p->part : "",
                    level ? " " : "", p->epoch, p->epochs, bar, p->docs_total ? 100 * p->docs_done / p->docs_total : 0,
                    rate, eta, (double)p->train_loss);
    ps->last_width = n > 0 ? (size_t)n : 0;
}

/* Fails early, before training, if the model could not be written where asked. */
static bool output_writable(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "hftc train: %s is a directory\n", path);
        return false;
    }
    char *copy = strdup(path);
    const char *dir = copy ? dirname(copy) : ".";
    bool ok = access(dir, W_OK) == 0;
    if (!ok)
        fprintf(stderr, "hftc train: cannot write to directory %s: %s\n", dir, strerror(errno));
    free(copy);
    return ok;
}

int cmd_train(int argc, char **argv)
{
    hftc_train_options o;
    const char *preset = args_find(argc, argv, "--preset");
    if (hftc_train_options_init(&o, preset) != HFTC_STATUS_OK)
        return cli_fail("train");
    const char *output = NULL, *preset_arg = o.preset;
    int verbose = 1, quiet = 0;
    const arg_spec specs[] = {
        {"--train", ARG_STRING, &o.train_path, 0, "training data (tsv, fasttext or jsonl; - for stdin)"},
        {"--valid", ARG_STRING, &o.valid_path, 0, "validation data; none: hold out --valid-fraction of --train"},
        {"--valid-fraction", ARG_FLOAT, &o.valid_fraction, 0, "fraction of --train held out when no --valid"},
        {"--output", ARG_STRING, &output, 0, "model file to write"},
        {"--preset", ARG_STRING, &preset_arg, 0,
         "defaults to start from: flat-cnn, woft-cnn, hft-cnn, xml-cnn, gru-att, gru-att-cw, htrans, gru-att-multi, "
         "hft-onlstm, woft-onlstm, hft-onlstm-nojoint"},
        {"--format", ARG_STRING, &o.format, 0, "data format: auto, tsv, fasttext, jsonl"},
        {"--taxonomy", ARG_STRING, &o.taxonomy_path, 0, "label taxonomy (parent<TAB>children lines or HFT-CNN .tree)"},
        {"--taxonomy-format", ARG_STRING, &o.taxonomy_format, 0, "auto, parent-children, tree"},
        {"--add-unknown-labels", ARG_BOOL, &o.add_unknown_labels, 0,
         "labels missing from the taxonomy go under the root"},
        {"--embeddings", ARG_STRING, &o.embeddings_path, 0, "word vectors (.vec, GloVe .txt, word2vec .bin)"},
        {"--embeddings-format", ARG_STRING, &o.embeddings_format, 0, "auto, vec, glove, bin"},
        {"--freeze-embeddings", ARG_BOOL, &o.freeze_embeddings, 0, "keep the embeddings fixed (static)"},
        CLI_TOKENIZER_SPECS(o),
        {"--max-len", ARG_SIZE, &o.max_len, 0, "tokens kept per document"},
        {"--min-count", ARG_SIZE, &o.min_count, 0, "minimum count of a word in the vocabulary"},
        {"--max-vocab", ARG_SIZE, &o.max_vocab, 0, "most frequent words kept (0 = all)"},
        {"--skip-bad-lines", ARG_BOOL, &o.skip_bad_lines, 0, "skip malformed lines with a warning instead of failing"},
        {"--encoder", ARG_CHARS, o.encoder, sizeof o.encoder, "encoder: cnn, bigru-att or onlstm"},
        {"--head", ARG_CHARS, o.head, sizeof o.head, "output: sigmoid (multi-label) or softmax (single-label)"},
        {"--strategy", ARG_CHARS, o.strategy, sizeof o.strategy,
         "flat (one model), level (one per taxonomy level) or node (one binary model per category)"},
        {"--transfer", ARG_CHARS, o.transfer, sizeof o.transfer,
         "none, or finetune: a level (node) starts from the level above (its parent)"},
        {"--transfer-layers", ARG_CHARS, o.transfer_layers, sizeof o.transfer_layers,
         "layers finetune copies (embedding, conv, fc1, out, gru, attention, onlstm, bn)"},
        {"--transfer-lr", ARG_FLOAT, &o.transfer_lr, 0, "learning rate of transferred layers (0 = --lr)"},
        {"--freeze-child-embeddings", ARG_BOOL, &o.freeze_child_embeddings, 0,
         "node + finetune: below the top level, read the parent's embedding, frozen"},
        {"--node-docs", ARG_CHARS, o.node_docs, sizeof o.node_docs,
         "documents a node classifier trains on: all, or parent (those of its parent)"},
        {"--node-valid-fraction", ARG_FLOAT, &o.node_valid_fraction, 0,
         "each node classifier's stratified validation split"},
        {"--class-weights", ARG_FLOAT_LIST, o.class_weights, HFTC_MAX_CLASS_WEIGHTS,
         "positive-class weights tried per node classifier (best validation F1 kept)", &o.n_class_weights},
        {"--class-weights-from", ARG_STRING, &o.class_weights_from, 0,
         "node model whose per-category weights become the BCE positive weights"},
        {"--checkpoint", ARG_STRING, &o.checkpoint_path, 0,
         "save the work done to this file about once a minute (node strategy: the classifier runs done; flat and "
         "level: the levels done and the epoch reached); if it exists, continue from it (same data and options); "
         "removed once the model is saved"},
        {"--time-limit", ARG_FLOAT, &o.time_limit, 0,
         "with --checkpoint: start no classifier run (epoch) after this many seconds, save the checkpoint and exit "
         "with status 3 (0 = none)"},
        {"--reuse-runs", ARG_STRING, &o.reuse_runs_from, 0,
         "node strategy: take from this node model (same data, vectors, seed and options but transfer and the class "
         "weights, its list the start of --class-weights) the runs of the classifiers that start from scratch in "
         "both (top level; all without transfer) instead of repeating them: the same model"},
        {"--dim", ARG_SIZE, &o.dim, 0, "embedding size (from the vectors when --embeddings is given)"},
        {"--windows", ARG_SIZE_LIST, o.windows, 0, "CNN window sizes", &o.n_windows},
        {"--filters", ARG_SIZE, &o.filters, 0, "feature maps per window size"},
        {"--pool-chunks", ARG_SIZE, &o.pool_chunks, 0, "max pooling chunks per feature map (1 = Kim, > 1 = XML-CNN)"},
        {"--rnn-hidden", ARG_SIZE, &o.rnn_hidden, 0, "bigru-att: GRU units per direction; onlstm: units"},
        {"--onlstm-chunk", ARG_SIZE, &o.onlstm_chunk, 0, "onlstm: units per master-gate value (1 = the equations)"},
        {"--rnn-pool", ARG_CHARS, o.rnn_pool, sizeof o.rnn_pool, "onlstm: the last state or max over the words"},
        {"--joint-embedding", ARG_BOOL, &o.joint_embedding, 0,
         "level + softmax: read the parent category's name before the text (levels below the top)"},
        {"--label-names", ARG_STRING, &o.label_names_path, 0,
         "label names for the joint embedding (label<TAB>name or label: name lines; default: the label split)"},
        {"--attention-dim", ARG_SIZE, &o.attention_dim, 0, "bigru-att: attention size (0 = 2 x --rnn-hidden)"},
        {"--rnn-dropout", ARG_FLOAT, &o.rnn_dropout, 0, "dropout on the GRU outputs (onlstm: on the pooled state)"},
        {"--hidden", ARG_SIZE, &o.hidden, 0, "hidden fully connected units (0 = none)"},
        {"--hidden-activation", ARG_CHARS, o.hidden_activation, sizeof o.hidden_activation,
         "of the hidden layer: relu or tanh"},
        {"--batchnorm", ARG_BOOL, &o.batchnorm, 0, "batch normalisation after the hidden layer's dropout"},
        {"--embed-dropout", ARG_FLOAT, &o.embed_dropout, 0, "dropout after the embedding"},
        {"--hidden-dropout", ARG_FLOAT, &o.hidden_dropout, 0, "dropout after the hidden layer"},
        {"--epochs", ARG_SIZE, &o.epochs, 0, "most epochs (early stopping may end sooner)"},
        {"--batch", ARG_SIZE, &o.batch, 0, "documents per mini-batch"},
        {"--lr", ARG_FLOAT, &o.lr, 0, "Adam learning rate"},
        {"--patience", ARG_SIZE, &o.patience, 0, "epochs without improvement before stopping"},
        {"--early-stop", ARG_CHARS, o.early_stop, sizeof o.early_stop,
         "validation criterion: loss, micro-f1 (at the best threshold with --tune-threshold) or accuracy (softmax)"},
        {"--lr-patience", ARG_SIZE, &o.lr_patience, 0,
         "epochs without improvement after which the learning rate is multiplied by --lr-decay (0 = never)"},
        {"--lr-decay", ARG_FLOAT, &o.lr_decay, 0, "learning-rate factor of --lr-patience"},
        {"--pos-weight", ARG_FLOAT, &o.pos_weight, 0, "weight of positive targets in the loss (sigmoid head)"},
        {"--scoring", ARG_CHARS, o.scoring, sizeof o.scoring,
         "scoring stored in the model: independent, bsf (kept only if the parent is), msf (x ancestors); "
         "softmax levels: top-down (best child of the category above), argmax (best of each level)"},
        {"--threshold", ARG_FLOAT, &o.threshold, 0, "decision threshold stored in the model"},
        {"--tune-threshold", ARG_BOOL, &o.tune_threshold, 0,
         "store the threshold with the best validation micro-F1 (of the model's scoring)"},
        {"--tune-label-thresholds", ARG_BOOL, &o.tune_label_thresholds, 0,
         "also store one threshold per label, each the best for its validation F1 (parents first); test and "
         "predict use them unless given --threshold"},
        {"--seed", ARG_U64, &o.seed, 0, "random seed (runs repeat for a given seed and thread count)"},
        {"--threads", ARG_INT, &o.threads, 0, "threads (0 = all cores)"},
        {"--quiet", ARG_FLAG, &quiet, 0, "no progress or information messages"},
    };
    int rc = args_parse("train", "--train F [--valid F] --output MODEL [--preset NAME] [options]", specs,
                        sizeof specs / sizeof *specs, argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    if (!output) {
        fprintf(stderr, "hftc train: --output MODEL is required\n");
        return 2;
    }
    const char *problem = hftc_train_options_check(&o);
    if (problem) {
        fprintf(stderr, "hftc train: %s\n", problem);
        return 2;
    }
    if (o.checkpoint_path && !strcmp(o.checkpoint_path, output)) {
        fprintf(stderr, "hftc train: --checkpoint must be another file than --output (it is removed at the end)\n");
        return 2;
    }
    if (!output_writable(output) || (o.checkpoint_path && !output_writable(o.checkpoint_path)))
        return 1;
    verbose = !quiet;
    cli_setup_log(verbose);
    progress_state ps = {.tty = isatty(STDERR_FILENO)};
    if (verbose) {
        o.progress = show_progress;
        o.progress_user = &ps;
    }
    hftc_model *m;
    hftc_status st = hftc_train(&o, &m);
    if (st == HFTC_STATUS_INCOMPLETE) {
        fprintf(stderr, "hftc train: %s\n", hftc_last_error());
        return 3;
    }
    if (st != HFTC_STATUS_OK)
        return cli_fail("train");
    if (hftc_model_save(m, output) != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return cli_fail("train");
    }
    if (verbose)
        fprintf(stderr, "saved %s (%zu labels)\n", output, hftc_model_num_labels(m));
    if (o.checkpoint_path && unlink(o.checkpoint_path) != 0 && errno != ENOENT)
        fprintf(stderr, "hftc train: warning: cannot remove the checkpoint %s: %s\n", o.checkpoint_path,
                strerror(errno));
    hftc_model_free(m);
    return 0;
}
