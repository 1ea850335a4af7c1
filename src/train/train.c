/* hftc_train: reads the data, builds the vocabulary and taxonomy, creates the model's parts (one
 * network, one per level, or one per category), hands them to their strategy (level.c: flat and level;
 * node.c) and tunes the thresholds the model stores (thresholds.c). */
#include "core/arena.h"
#include "core/compute.h"
#include "core/error.h"
#include "core/log.h"
#include "text/vocab.h"
#include "model/model.h"
#include "nn/adam.h"
#include "text/wordvec.h"
#include "train/auto.h"
#include "train/checkpoint.h"
#include "train/options.h"
#include "train/strategy.h"
#include "train/thresholds.h"
#include "train/trainer.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Training data a model can learn little from trains as any other, but the user hears why the result is poor:
 * documents that all have the same text (the labels' frequencies are all there is to learn), and labels with one
 * document (their outputs learn from it alone). */
static void warn_degenerate_data(const dataset *ds, const taxonomy *tax, const char *path)
{
    bool same = ds->n_docs > 1;
    size_t first_len = ds->token_start[1] - ds->token_start[0];
    for (size_t d = 1; same && d < ds->n_docs; d++)
        same = ds->token_start[d + 1] - ds->token_start[d] == first_len &&
               !memcmp(ds->tokens + ds->token_start[d], ds->tokens, first_len * sizeof *ds->tokens);
    if (same)
        log_warn("%s: all %zu documents have the same text: a model can learn no more than how often each label "
                 "occurs",
                 path, ds->n_docs);
    size_t *count = mem_calloc(tax->n_nodes + 1, sizeof *count), single = 0, example = 0;
    for (size_t j = 0; count && j < ds->label_start[ds->n_docs]; j++)
        if (ds->labels[j] < tax->n_nodes)
            count[ds->labels[j]]++;
    for (size_t l = 0; count && l < tax->n_nodes; l++)
        if (count[l] == 1 && single++ == 0)
            example = l;
    if (single)
        log_warn("%s: %zu label%s one training document (\"%s\"%s): %s from it alone", path, single,
                 single == 1 ? " has" : "s have", strmap_string(&tax->names, (uint32_t)example),
                 single == 1 ? "" : " among them", single == 1 ? "its output learns" : "their outputs learn");
    free(count);
}

static hftc_status read_training_data(const train_config *cfg, hftc_model *m, dataset *train, dataset *valid)
{
    const hftc_train_options *o = cfg->o;
    dataset_options opt = {.tokenizer = m->tokenizer,
                           .format = cfg->data_format,
                           .labels_required = true,
                           .skip_bad_lines = o->skip_bad_lines};
    taxonomy *tax = &m->tax;
    if (o->taxonomy_path)
        TRY(taxonomy_load(tax, o->taxonomy_path, cfg->taxonomy_format));
    TRY(dataset_read(train, o->train_path, &opt, &m->vocab, true, &tax->names));
    if (train->n_docs == 0)
        return error_set(HFTC_STATUS_FORMAT, "%s: no documents", o->train_path);
    /* Without a taxonomy every label is a top-level node; with one, labels are completed with their
     * ancestors. The outputs are the nodes; labels first seen in validation data get ids past them. */
    size_t added;
    TRY(taxonomy_complete_dataset(
        tax, train, o->train_path,
        !o->taxonomy_path || o->add_unknown_labels ? TAXONOMY_UNKNOWN_ADD : TAXONOMY_UNKNOWN_ERROR, &added));
    if (o->taxonomy_path && added)
        log_warn("%s: %zu labels not in %s added under the root", o->train_path, added, o->taxonomy_path);
    m->net_config.n_classes = tax->n_nodes;
    if (o->joint_embedding) { /* the label words join the vocabulary, at least min_count times each */
        if (!tax->is_tree)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "the joint embedding reads each document's parent category: it needs a tree taxonomy");
        TRY(label_words_read(&m->label_words, &tax->names, o->label_names_path, &m->tokenizer));
        TRY(label_words_count(&m->label_words, &m->vocab, o->min_count));
        m->joint_embedding = true;
    }
    uint32_t *remap;
    TRY(vocab_finalize(&m->vocab, o->min_count, o->max_vocab, &remap));
    dataset_remap_tokens(train, remap);
    free(remap);
    if (o->joint_embedding) {
        size_t unknown;
        TRY(label_words_lookup(&m->label_words, &m->vocab, &unknown));
        if (unknown)
            log_warn("%zu label-name words fell out of the vocabulary (--max-vocab) and read as <unk>", unknown);
        log_info("joint embedding: label names of up to %zu words before the text", m->label_words.longest);
    }
    warn_degenerate_data(train, tax, o->train_path);
    log_info("%s: %zu documents, %zu labels, vocabulary %zu (min count %zu), %zu truncated to %zu tokens",
             o->train_path, train->n_docs, tax->n_nodes, vocab_size(&m->vocab), o->min_count, train->n_truncated,
             o->max_len);
    if (o->valid_path) {
        TRY(dataset_read(valid, o->valid_path, &opt, &m->vocab, false, &tax->names));
        if (valid->n_docs == 0)
            return error_set(HFTC_STATUS_FORMAT, "%s: no documents", o->valid_path);
        /* A label no output stands for: with a taxonomy, a label outside it (as in --train, an error); without
         * one, a label in no training document, which a random split gives rare labels (kept, said). */
        size_t doc;
        uint32_t label;
        size_t unknown = taxonomy_unknown_labels(tax, valid, &doc, &label);
        if (unknown && o->taxonomy_path && !o->add_unknown_labels)
            return error_set(HFTC_STATUS_FORMAT, "%s:%zu: label \"%s\" is not in the taxonomy", o->valid_path,
                             valid->line[doc], strmap_string(&tax->names, label));
        if (unknown)
            log_warn("%s: %zu label%s in no training document (the first, \"%s\", on line %zu): kept in the gold "
                     "sets, where no output can predict them",
                     o->valid_path, unknown, unknown == 1 ? "" : "s", strmap_string(&tax->names, label),
                     valid->line[doc]);
        TRY(taxonomy_complete_dataset(tax, valid, o->valid_path, TAXONOMY_UNKNOWN_KEEP, NULL));
    }
    return HFTC_STATUS_OK;
}

/* Each label's BCE positive weight from a node model's class weights (1 for labels it lacks). */
hftc_status class_weights_read(const char *path, const taxonomy *tax, float **out)
{
    hftc_model *from;
    TRY(hftc_model_load(&from, path));
    size_t n = strmap_count(&tax->names), matched = 0;
    float *w = mem_alloc(n ? n : 1, sizeof *w);
    hftc_status st = w ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK && from->strategy != STRATEGY_NODE)
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: class weights come from a node model (htrans, gru-att-cw)",
                       path);
    for (size_t l = 0; st == HFTC_STATUS_OK && l < n; l++)
        w[l] = 1.0f;
    for (size_t p = 0; st == HFTC_STATUS_OK && p < from->n_parts; p++) {
        const char *label = strmap_string(&from->tax.names, from->parts[p].nodes[0]);
        size_t id = strmap_find(&tax->names, label, strlen(label));
        if (id != STRMAP_NONE && id < n) {
            w[id] = from->parts[p].class_weight;
            matched++;
        }
    }
    hftc_model_free(from);
    if (st != HFTC_STATUS_OK) {
        free(w);
        return st;
    }
    log_info("%s: class weights for %zu of %zu labels", path, matched, n);
    *out = w;
    return HFTC_STATUS_OK;
}

/* Creates the parts with an output for every label the training split has. */
static hftc_status build_parts_for(hftc_model *m, const split *tr)
{
    size_t C = m->net_config.n_classes, seen = 0;
    bool *has_output = mem_calloc(C, sizeof *has_output);
    if (!has_output)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < tr->n; i++)
        for (size_t j = tr->ds->label_start[tr->idx[i]]; j < tr->ds->label_start[tr->idx[i] + 1]; j++)
            if (tr->ds->labels[j] < C && !has_output[tr->ds->labels[j]]) {
                has_output[tr->ds->labels[j]] = true;
                seen++;
            }
    if (seen < C)
        log_info("%zu of %zu labels occur in the training split and get an output; the others score 0", seen, C);
    hftc_status st = model_build_parts(m, has_output);
    free(has_output);
    return st;
}

const strategy_ops *strategy_ops_of(strategy_kind kind)
{
    static const strategy_ops *const strategies[] = {[STRATEGY_FLAT] = &strategy_levels_ops,
                                                     [STRATEGY_LEVEL] = &strategy_levels_ops,
                                                     [STRATEGY_NODE] = &strategy_node_ops,
                                                     [STRATEGY_PARENT] = &strategy_levels_ops};
    return strategies[kind];
}

hftc_status hftc_train(const hftc_train_options *o, hftc_model **out)
{
    if (o->auto_choice)
        return train_auto(o, out);
    train_config cfg;
    TRY(train_config_resolve(o, &cfg));
    TRY(hftc_train_outputs_check(o, NULL));
    compute_check_blas();
    if (o->embeddings_path)
        TRY(wordvec_probe(o->embeddings_path, cfg.vectors_format, &cfg.vectors_format, &cfg.net.embed_dim));
    /* The vocabulary and labels are read first; the networks are created once their sizes are known. */
    hftc_model *m;
    TRY(model_create(&m));
    m->tokenizer = cfg.tokenizer;
    m->strategy = cfg.strategy;
    m->family = cfg.family;
    m->compute = cfg.compute;
    dataset train = {0}, valid = {0};
    split tr = {0}, va = {0};
    json_t *record = json_object();
    const strategy_ops *strategy = cfg.family == FAMILY_LINEAR ? &strategy_linear_ops : strategy_ops_of(cfg.strategy);
    float *label_weights = NULL;
    hftc_status st = read_training_data(&cfg, m, &train, &valid);
    if (st == HFTC_STATUS_OK)
        st = strategy->split(&cfg, &train, &valid, &tr, &va);
    if (st == HFTC_STATUS_OK && o->class_weights_from)
        st = class_weights_read(o->class_weights_from, &m->tax, &label_weights);
    if (st == HFTC_STATUS_OK) {
        size_t C = m->net_config.n_classes;
        m->net_config = cfg.net;
        m->net_config.vocab_size = vocab_size(&m->vocab);
        m->net_config.n_classes = C;
        m->batch_capacity = o->batch; /* validation runs in training-sized batches: no larger buffers */
        m->threshold = o->threshold;
        m->scoring = cfg.scoring;
        snprintf(m->preset, sizeof m->preset, "%s", o->preset);
        m->node_embedding = cfg.node_embedding;
        st = build_parts_for(m, &tr);
    }
    if (st == HFTC_STATUS_OK)
        st = strategy->train(&cfg, m, label_weights, &tr, &va, record);
    if (st == HFTC_STATUS_OK && (o->tune_threshold || o->tune_label_thresholds)) {
        float *probs = NULL, *scores = NULL;
        gold_sets gold = {0};
        st = valid_scores(m, &va, &probs, &scores, &gold);
        if (st == HFTC_STATUS_OK && o->tune_threshold)
            st = tune_threshold(m, probs, scores, &gold, record);
        if (st == HFTC_STATUS_OK && o->tune_label_thresholds)
            st = tune_label_thresholds(m, probs, scores, &gold, record);
        free(probs), free(scores), free((void *)gold.start), free((void *)gold.labels);
    }
    if (st == HFTC_STATUS_OK && o->tune_scoring && taxonomy_single_path(&m->tax, tr.ds, tr.idx, tr.n))
        st = tune_scoring(m, &va, record);
    if (st == HFTC_STATUS_OK) {
        /* Drop label names that only the validation data used: the model has no output for them. */
        st = taxonomy_forget_pending(&m->tax);
        // the training file's bytes, which hftc learn --replay checks before it reads them again
        char fingerprint[17];
        if (strcmp(o->train_path, "-") && file_fingerprint(o->train_path, fingerprint) == HFTC_STATUS_OK)
            json_object_set_new(record, "train_fingerprint", json_string(fingerprint));
        json_object_set_new(record, "train_docs", json_integer((json_int_t)tr.n));
        json_object_set_new(record, "valid_docs", json_integer((json_int_t)va.n));
        json_t *options = train_options_json(o);
        json_object_set_new(options, "threads", json_integer(cfg.compute.threads)); /* the count used, not 0 */
        json_object_set_new(record, "options", options);
        json_object_set_new(record, "processes", json_integer(hftc_distributed_size()));
        m->training_json = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(7));
    }
    json_decref(record);
    free(tr.idx), free(va.idx), free(label_weights);
    dataset_free(&train), dataset_free(&valid);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}
