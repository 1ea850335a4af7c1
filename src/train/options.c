/* The checks of a training's options: liblinear's check_parameter, an error message or NULL. */
#include "core/error.h"
#include "data/dataset.h"
#include "data/taxonomy.h"
#include "hier/scoring.h"
#include "model/network.h"
#include "text/wordvec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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
