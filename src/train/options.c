/* Presets: each is a set of defaults over hftc_train_options (DESIGN section 1). */
#include "core/error.h"
#include "data/dataset.h"
#include "data/taxonomy.h"
#include "hier/scoring.h"
#include "model/network.h"
#include "text/wordvec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *const hftc_presets[] = {"flat-cnn",           "woft-cnn", "hft-cnn",       "xml-cnn",    "gru-att",
                                    "gru-att-cw",         "htrans",   "gru-att-multi", "hft-onlstm", "woft-onlstm",
                                    "hft-onlstm-nojoint", NULL};

/* The HTrans paper's settings (Banerjee et al. 2019): 100-d embeddings, BiGRU 96 per direction with
 * word attention, max and mean pooling, dropout .4 on the GRU outputs, batch 128, the first 100 words,
 * at most 10 epochs with early stopping (patience 3), Adam 1e-3, threshold 0.5.
 *   gru-att        one binary classifier per category (all documents), trained from scratch (GRU-Att-basic)
 *   gru-att-cw     the same with the class-weight search {1,2,3,5,10,30,50} on each validation split
 *   htrans         + transfer: a child starts from its parent's whole model, output layer re-initialised,
 *                  lr 5e-4 for the transferred layers, 1e-3 for the output layer, the embedding frozen
 *                  below the top level
 *   gru-att-multi  one multi-label model over all categories (per-class weights from an htrans model
 *                  with --class-weights-from), selected on validation micro-F1 */
static void gru_preset(hftc_train_options *o, const char *preset)
{
    static const float searched[] = {1, 2, 3, 5, 10, 30, 50};
    snprintf(o->encoder, sizeof o->encoder, "bigru-att");
    snprintf(o->strategy, sizeof o->strategy, "%s", strcmp(preset, "gru-att-multi") ? "node" : "flat");
    snprintf(o->transfer_layers, sizeof o->transfer_layers, "embedding,gru,attention");
    o->dim = 100;
    o->max_len = 100;
    o->batch = 128;
    o->epochs = 10;
    o->hidden = 0;
    o->embed_dropout = 0.0f;
    o->hidden_dropout = 0.0f;
    o->n_windows = 0;
    if (!strcmp(preset, "gru-att-multi"))
        snprintf(o->early_stop, sizeof o->early_stop, "micro-f1");
    if (!strcmp(preset, "gru-att-cw") || !strcmp(preset, "htrans")) {
        o->n_class_weights = sizeof searched / sizeof *searched;
        memcpy(o->class_weights, searched, sizeof searched);
    }
    if (!strcmp(preset, "htrans")) {
        snprintf(o->transfer, sizeof o->transfer, "finetune");
        o->transfer_lr = 5e-4f;
        o->freeze_child_embeddings = 1;
    }
}

/* The HFT-ONLSTM paper's settings (Gao et al.; WOS): pretrained 300-d vectors, not trained (pass them
 * with --embeddings), dropout .25 after them, an ON-LSTM of 500 units (chunk 10, the reference code's
 * default; the paper does not say) with dropout .25 on its last state, the MLP head (fc1 500 tanh,
 * dropout .5, batch norm), one softmax per level, Adam 1e-3 x 0.1 after 3 epochs without a gain in
 * validation accuracy, early stopping on it (patience 6, at most 30 epochs), batch 64, the first 100
 * words, top-down decisions (each level among the children of the category chosen above).
 *   hft-onlstm          the joint embedding (below the top level the parent category's name words go
 *                       before the text) and fine-tuning: level k's embedding and ON-LSTM start from
 *                       level k-1's, the head fresh
 *   woft-onlstm         the joint embedding, each level trained from scratch (the paper's ablation)
 *   hft-onlstm-nojoint  fine-tuning without the parent's words (the paper's other ablation) */
static void onlstm_preset(hftc_train_options *o, const char *preset)
{
    snprintf(o->encoder, sizeof o->encoder, "onlstm");
    snprintf(o->head, sizeof o->head, "softmax");
    snprintf(o->strategy, sizeof o->strategy, "level");
    snprintf(o->transfer, sizeof o->transfer, "%s", strcmp(preset, "woft-onlstm") ? "finetune" : "none");
    snprintf(o->transfer_layers, sizeof o->transfer_layers, "embedding,onlstm");
    o->joint_embedding = strcmp(preset, "hft-onlstm-nojoint") != 0;
    snprintf(o->hidden_activation, sizeof o->hidden_activation, "tanh");
    snprintf(o->rnn_pool, sizeof o->rnn_pool, "last");
    snprintf(o->scoring, sizeof o->scoring, "top-down");
    snprintf(o->early_stop, sizeof o->early_stop, "accuracy");
    o->batchnorm = 1;
    o->freeze_embeddings = 1;
    o->dim = 300;
    o->rnn_hidden = 500;
    o->onlstm_chunk = 10;
    o->rnn_dropout = 0.25f;
    o->hidden = 500;
    o->embed_dropout = 0.25f;
    o->hidden_dropout = 0.5f;
    o->max_len = 100;
    o->batch = 64;
    o->epochs = 30;
    o->patience = 6;
    o->lr_patience = 3;
    o->lr_decay = 0.1f;
    o->n_windows = 0;
}

hftc_status hftc_train_options_init(hftc_train_options *o, const char *preset)
{
    if (!preset)
        preset = "flat-cnn";
    bool known = false;
    char list[256] = "";
    for (size_t i = 0; hftc_presets[i]; i++) {
        known = known || !strcmp(preset, hftc_presets[i]);
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", hftc_presets[i]);
    }
    if (!known)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown preset \"%s\" (known: %s)", preset, list);
    bool xml = !strcmp(preset, "xml-cnn"), hft = !strcmp(preset, "hft-cnn"), woft = !strcmp(preset, "woft-cnn");
    /* woft-cnn and hft-cnn: the paper's per-level models, without and with fine-tuning (level k's
     * embedding and convolutions start from level k-1's trained ones; the dense layers start fresh). */
    /* flat-cnn: the HFT-CNN paper's Table 2 Flat baseline, Kim CNN over short text.
     * xml-cnn: the same paper's XML-CNN comparison (Liu et al. 2017), as its Chainer code builds it
     * (ShimShim46/HFT-CNN, xml_cnn_model.py, train.py): the same embedding, windows, filters, dropouts and
     * optimisation, a 512-unit bottleneck, and dynamic max pooling. That code convolves with stride 2 and
     * keeps the max of each 2 neighbouring outputs: at 13 words, 5, 5 and 4 maxima per feature map for
     * windows 2, 3, 4, the i-th over window starts 2i and 2i + 2. Over stride-1 windows, 5 chunks keep 5 maxima
     * over about the same spans (exactly the same for window 3). */
    *o = (hftc_train_options){
        .valid_fraction = 0.1f,
        .format = "auto",
        .taxonomy_format = "auto",
        .embeddings_format = "auto",
        .lowercase = 1,
        .split_punct = 1,
        .drop_punct = 1, /* the paper kept only nouns, verbs and adjectives */
        .max_len = 13,
        .min_count = 1,
        .encoder = "cnn",
        .head = "sigmoid",
        .strategy = "flat",
        .transfer = "none",
        .transfer_layers = "embedding,conv",
        .dim = 300,
        .n_windows = 3,
        .windows = {2, 3, 4},
        .filters = 128,
        .pool_chunks = xml ? 5 : 1,
        .hidden = xml ? 512 : 1024,
        .embed_dropout = 0.25f,
        .hidden_dropout = 0.5f,
        .epochs = 40,
        .batch = 100,
        .patience = 3,
        .lr = 1e-3f,
        .early_stop = "loss",
        .lr_decay = 0.1f,
        .pos_weight = 1.0f,
        .scoring = "independent",
        .threshold = 0.5f,
        .seed = 1,
        .hidden_activation = "relu",
        .rnn_pool = "last",
        .onlstm_chunk = 1,
        .rnn_hidden = 96,
        .rnn_dropout = 0.4f,
        .node_docs = "all",
        .node_valid_fraction = 0.15f,
        .n_class_weights = 1,
        .class_weights = {1.0f},
    };
    if (hft || woft) { /* the paper's HFT(B) and WoFT(B): Boolean scoring over the level models */
        snprintf(o->strategy, sizeof o->strategy, "level");
        snprintf(o->scoring, sizeof o->scoring, "bsf");
    }
    if (hft)
        snprintf(o->transfer, sizeof o->transfer, "finetune");
    if (!strncmp(preset, "gru-att", 7) || !strcmp(preset, "htrans"))
        gru_preset(o, preset);
    if (strstr(preset, "-onlstm"))
        onlstm_preset(o, preset);
    snprintf(o->preset, sizeof o->preset, "%s", preset);
    return HFTC_STATUS_OK;
}

const char *hftc_train_options_check(const hftc_train_options *o)
{
    if (!o->train_path)
        return "a training file is required (--train)";
    data_format data;
    if (!data_format_parse(o->format, &data) || data == DATA_FORMAT_TEXT)
        return "--format must be auto, tsv, fasttext or jsonl";
    taxonomy_format tax;
    if (o->taxonomy_path && !taxonomy_format_parse(o->taxonomy_format, &tax))
        return "--taxonomy-format must be auto, parent-children or tree";
    wordvec_format vectors;
    if (o->embeddings_path && !wordvec_format_parse(o->embeddings_format, &vectors))
        return "--embeddings-format must be auto, vec, glove or bin";
    bool cnn = !strcmp(o->encoder, "cnn"), onlstm = !strcmp(o->encoder, "onlstm");
    if (!cnn && !onlstm && strcmp(o->encoder, "bigru-att"))
        return "unknown encoder (known: cnn, bigru-att, onlstm)";
    if (strcmp(o->hidden_activation, "relu") && strcmp(o->hidden_activation, "tanh"))
        return "unknown --hidden-activation (known: relu, tanh)";
    if (o->batchnorm && !o->hidden)
        return "--batchnorm needs a hidden layer (--hidden)";
    if (strcmp(o->rnn_pool, "last") && strcmp(o->rnn_pool, "max"))
        return "unknown --rnn-pool (known: last, max)";
    if (onlstm && (o->onlstm_chunk < 1 || o->rnn_hidden % o->onlstm_chunk))
        return "--onlstm-chunk must divide --rnn-hidden";
    if (strcmp(o->head, "sigmoid") && strcmp(o->head, "softmax"))
        return "unknown head (known: sigmoid, softmax)";
    if (cnn && (o->n_windows < 1 || o->n_windows > NETWORK_MAX_WINDOWS))
        return "between 1 and 8 window sizes are needed";
    for (size_t i = 0; cnn && i < o->n_windows; i++)
        if (o->windows[i] < 1 || o->windows[i] > o->max_len)
            return "window sizes must be between 1 and --max-len";
    if (!cnn && (o->rnn_hidden < 1 || o->rnn_hidden > 4096 || o->attention_dim > 4096))
        return "--rnn-hidden must be between 1 and 4096 and --attention-dim at most 4096";
    if (!(o->rnn_dropout >= 0.0f && o->rnn_dropout < 1.0f))
        return "dropout rates must be in [0, 1)";
    if (o->max_len < 1 || o->max_len > 100000)
        return "--max-len must be between 1 and 100000";
    if (o->dim < 1 || o->dim > 4096)
        return "--dim must be between 1 and 4096";
    if (o->filters < 1 || o->hidden > 65536)
        return "--filters must be positive and --hidden at most 65536";
    if (o->pool_chunks < 1 || o->pool_chunks > NETWORK_MAX_CHUNKS)
        return "--pool-chunks must be between 1 and 1024";
    if (o->batch < 1 || o->batch > 65536)
        return "--batch must be between 1 and 65536";
    if (o->epochs < 1)
        return "--epochs must be at least 1";
    if (!(o->lr > 0.0f) || o->lr > 10.0f)
        return "--lr must be in (0, 10]";
    if (!(o->embed_dropout >= 0.0f && o->embed_dropout < 1.0f) ||
        !(o->hidden_dropout >= 0.0f && o->hidden_dropout < 1.0f))
        return "dropout rates must be in [0, 1)";
    if (!(o->threshold >= 0.0f && o->threshold <= 1.0f))
        return "--threshold must be in [0, 1]";
    if (!o->valid_path && !(o->valid_fraction > 0.0f && o->valid_fraction < 1.0f))
        return "--valid-fraction must be in (0, 1) when no --valid file is given";
    bool node = !strcmp(o->strategy, "node");
    if (strcmp(o->strategy, "flat") && strcmp(o->strategy, "level") && !node)
        return "--strategy must be flat, level or node";
    if (node && strcmp(o->head, "sigmoid"))
        return "the node strategy trains binary classifiers: --head sigmoid";
    if (node && (o->tune_threshold || o->tune_label_thresholds))
        return "--tune-threshold and --tune-label-thresholds are not available with the node strategy (each "
               "classifier decides at --threshold)";
    if (o->tune_label_thresholds &&
        (strcmp(o->head, "sigmoid") || !strcmp(o->scoring, "top-down") || !strcmp(o->scoring, "argmax")))
        return "--tune-label-thresholds needs the sigmoid head and independent, bsf or msf scoring";
    if (strcmp(o->node_docs, "all") && strcmp(o->node_docs, "parent"))
        return "--node-docs must be all or parent";
    if (!(o->node_valid_fraction > 0.0f && o->node_valid_fraction < 1.0f))
        return "--node-valid-fraction must be in (0, 1)";
    if (o->n_class_weights < 1 || o->n_class_weights > HFTC_MAX_CLASS_WEIGHTS)
        return "--class-weights lists 1 to 16 weights";
    for (size_t i = 0; i < o->n_class_weights; i++)
        if (!(o->class_weights[i] > 0.0f && o->class_weights[i] <= 1e6f))
            return "--class-weights must be in (0, 1e6]";
    if (o->n_class_weights > 1 && !node)
        return "--class-weights searches per classifier: it needs the node strategy";
    if (o->class_weights_from && (node || strcmp(o->head, "sigmoid")))
        return "--class-weights-from applies to the flat and level strategies with the sigmoid head";
    if (!(o->time_limit >= 0.0f && o->time_limit <= 1e9f))
        return "--time-limit must be in [0, 1e9] seconds (0 = none)";
    if (o->reuse_runs_from && !node)
        return "--reuse-runs takes the classifier runs of a node model: it needs the node strategy";
    if (o->time_limit > 0.0f && !o->checkpoint_path)
        return "--time-limit keeps the work done in a checkpoint: give --checkpoint FILE";
    if (!(o->transfer_lr >= 0.0f && o->transfer_lr <= 10.0f))
        return "--transfer-lr must be in [0, 10] (0 = --lr)";
    if (strcmp(o->transfer, "none") && strcmp(o->transfer, "finetune"))
        return "--transfer must be none or finetune";
    for (const char *item = o->transfer_layers; *item;) {
        size_t n = strcspn(item, ",");
        static const char *const layers[] = {"embedding", "conv", "fc1", "out", "gru", "attention", "onlstm", "bn"};
        bool known = false;
        for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
            known = known || (n == strlen(layers[i]) && !strncmp(item, layers[i], n));
        if (!known)
            return "--transfer-layers lists layers from: embedding, conv, fc1, out, gru, attention, onlstm, bn";
        item += n + (item[n] == ',');
    }
    if (!(o->pos_weight > 0.0f && o->pos_weight <= 1e6f))
        return "--pos-weight must be in (0, 1e6]";
    if (o->pos_weight != 1.0f && !strcmp(o->head, "softmax"))
        return "--pos-weight applies to the sigmoid head";
    scoring_kind scoring;
    if (!scoring_parse(o->scoring, &scoring))
        return "--scoring must be independent, bsf, msf, top-down or argmax";
    if (strcmp(o->early_stop, "loss") && strcmp(o->early_stop, "micro-f1") && strcmp(o->early_stop, "accuracy"))
        return "--early-stop must be loss, micro-f1 or accuracy";
    if (!strcmp(o->early_stop, "accuracy") && strcmp(o->head, "softmax"))
        return "--early-stop accuracy needs a single-label head (--head softmax)";
    if (!(o->lr_decay > 0.0f && o->lr_decay <= 1.0f))
        return "--lr-decay must be in (0, 1]";
    if (o->min_count < 1)
        return "--min-count must be at least 1";
    if (o->joint_embedding && (strcmp(o->strategy, "level") || strcmp(o->head, "softmax")))
        return "--joint-embedding reads one parent category per document: it needs --strategy level --head softmax";
    if (o->label_names_path && !o->joint_embedding)
        return "--label-names names the parents' words of the joint embedding: add --joint-embedding";
    return NULL;
}
