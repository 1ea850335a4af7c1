/* hftc_train: reads the data, builds the vocabulary and taxonomy, creates the model's parts (one
 * network, one per level, or one per category) and hands them to their strategy (level.c: flat and
 * level; node.c); and the trainer they share: mini-batches, validation every epoch, early stopping
 * that keeps the best weights. */
#include "core/arena.h"
#include "core/compute.h"
#include "core/error.h"
#include "core/log.h"
#include "eval/evaluate.h"
#include "hier/transfer.h"
#include "text/vocab.h"
#include "model/model.h"
#include "model/model_predict.h"
#include "nn/adam.h"
#include "text/wordvec.h"
#include "train/trainer.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static hftc_status read_training_data(const hftc_train_options *o, hftc_model *m, dataset *train, dataset *valid)
{
    dataset_options opt = {.tokenizer = m->tokenizer, .labels_required = true, .skip_bad_lines = o->skip_bad_lines};
    data_format_parse(o->format, &opt.format);
    taxonomy *tax = &m->tax;
    if (o->taxonomy_path) {
        taxonomy_format fmt;
        taxonomy_format_parse(o->taxonomy_format, &fmt);
        TRY(taxonomy_load(tax, o->taxonomy_path, fmt));
    }
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
    log_info("%s: %zu documents, %zu labels, vocabulary %zu (min count %zu), %zu truncated to %zu tokens",
             o->train_path, train->n_docs, tax->n_nodes, vocab_size(&m->vocab), o->min_count, train->n_truncated,
             o->max_len);
    if (o->valid_path) {
        TRY(dataset_read(valid, o->valid_path, &opt, &m->vocab, false, &tax->names));
        if (valid->n_docs == 0)
            return error_set(HFTC_STATUS_FORMAT, "%s: no documents", o->valid_path);
        TRY(taxonomy_complete_dataset(tax, valid, o->valid_path, TAXONOMY_UNKNOWN_KEEP, NULL));
    }
    return HFTC_STATUS_OK;
}

/* The training split and the validation split (a seeded hold-out when no file is given). */
static hftc_status make_splits(const hftc_train_options *o, const dataset *train, const dataset *valid, split *tr,
                               split *va)
{
    tr->ds = train;
    tr->idx = mem_alloc(train->n_docs, sizeof *tr->idx);
    va->ds = valid->n_docs ? valid : train;
    va->idx = mem_alloc(valid->n_docs ? valid->n_docs : train->n_docs, sizeof *va->idx);
    if (!tr->idx || !va->idx)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < train->n_docs; i++)
        tr->idx[i] = i;
    tr->n = train->n_docs;
    if (valid->n_docs) {
        for (size_t i = 0; i < valid->n_docs; i++)
            va->idx[i] = i;
        va->n = valid->n_docs;
        return HFTC_STATUS_OK;
    }
    rng r;
    rng_seed(&r, o->seed, 0x5eed5917);
    rng_shuffle(&r, tr->idx, tr->n);
    va->n = (size_t)((double)train->n_docs * (double)o->valid_fraction);
    if (va->n == 0 || va->n == train->n_docs)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: too few documents (%zu) to hold out a validation split",
                         o->train_path, train->n_docs);
    tr->n -= va->n;
    memcpy(va->idx, tr->idx + tr->n, va->n * sizeof *va->idx);
    /* keep file order inside each split, so batches do not depend on the hold-out shuffle */
    return HFTC_STATUS_OK;
}

// Batches documents s->idx[start .. start + B) into t->tokens, each after its prefix words when the split
// has them; returns T.
static size_t trainer_fill(trainer *t, const split *s, size_t start, size_t B)
{
    batch_prefix prefix = {&t->m->label_words, t->prefix_label};
    for (size_t b = 0; s->prefix && b < B; b++)
        t->prefix_label[b] = s->prefix[s->idx[start + b]];
    return batch_fill(s->ds, s->idx + start, B, t->o->max_len, model_min_len(&t->m->net_config),
                      s->prefix ? &prefix : NULL, t->tokens, t->lengths);
}

float valid_predict(trainer *t, const split *va)
{
    hftc_model *m = t->m;
    size_t C = t->part->n_outputs, cap = m->batch_capacity;
    double loss_sum = 0;
    for (size_t start = 0; start < va->n; start += cap) {
        size_t B = va->n - start < cap ? va->n - start : cap;
        size_t T = trainer_fill(t, va, start, B);
        batch_targets(va->ds, va->idx + start, B, t->output_of, t->n_labels, C, t->targets);
        loss_sum += (double)network_predict(t->part->net, t->tokens, t->lengths, B, T, t->targets, t->pos_weight,
                                            t->valid_probs + start * C) *
                    (double)B;
    }
    return (float)(loss_sum / (double)va->n);
}

/* Validation gold label sets (CSR over n documents, ids below n_labels) to score decisions against. */
typedef struct {
    size_t n, n_labels;
    const size_t *start;
    const uint32_t *labels;
} gold_sets;

/* The metrics of the decisions pred (CSR over gold's documents) against gold; frees the decisions. */
static hftc_status score_decisions(const gold_sets *gold, size_t *pred_start, uint32_t *pred, metrics *mt)
{
    metrics_input mi = {.n_docs = gold->n,
                        .n_labels = gold->n_labels,
                        .gold_start = gold->start,
                        .gold = gold->labels,
                        .pred_start = pred_start,
                        .pred = pred};
    hftc_status st = metrics_compute(mt, &mi);
    free(pred_start), free(pred);
    return st;
}

/* The metrics of scores (gold->n x C) thresholded at threshold. */
static hftc_status metrics_at(const float *scores, size_t C, const gold_sets *gold, float threshold, metrics *mt)
{
    size_t *pred_start;
    uint32_t *pred;
    TRY(decisions_build(scores, gold->n, C, threshold, 0, &pred_start, &pred, NULL));
    return score_decisions(gold, pred_start, pred, mt);
}

/* Micro-F1 of scores (gold->n x C) thresholded at threshold. */
static hftc_status micro_f1_at(const float *scores, size_t C, const gold_sets *gold, float threshold, double *micro_f1)
{
    metrics mt;
    TRY(metrics_at(scores, C, gold, threshold, &mt));
    *micro_f1 = mt.micro_f1;
    return HFTC_STATUS_OK;
}

#define THRESHOLD_STEPS 19 /* the thresholds tried: 0.05, 0.10, ..., 0.95 */

/* The threshold step with the best micro-F1 (ties: the one closest to 0.5). */
static hftc_status best_threshold(const float *scores, size_t C, const gold_sets *gold, float *threshold,
                                  double *micro_f1)
{
    *threshold = 0.5f;
    *micro_f1 = -1.0;
    for (int step = 1; step <= THRESHOLD_STEPS; step++) {
        float candidate = 0.05f * (float)step;
        double f1;
        TRY(micro_f1_at(scores, C, gold, candidate, &f1));
        if (f1 > *micro_f1 + 1e-12 || (f1 > *micro_f1 - 1e-12 && fabsf(candidate - 0.5f) < fabsf(*threshold - 0.5f))) {
            *micro_f1 = f1;
            *threshold = candidate;
        }
    }
    return HFTC_STATUS_OK;
}

hftc_status valid_metrics(trainer *t, const split *va, float threshold, metrics *mt)
{
    gold_sets gold = {va->n, t->part->n_outputs, t->valid_gold_start, t->valid_gold};
    return metrics_at(t->valid_probs, t->part->n_outputs, &gold, threshold, mt);
}

hftc_status valid_micro_f1(trainer *t, const split *va, float threshold, double *micro_f1)
{
    metrics mt;
    TRY(valid_metrics(t, va, threshold, &mt));
    *micro_f1 = mt.micro_f1;
    return HFTC_STATUS_OK;
}

/* The validation split's gold label sets in the part's output ids, gathered once (CSR); labels
 * outside the part (other levels, labels only validation data has) are left out. */
static hftc_status valid_gather_gold(trainer *t, const split *va)
{
    t->valid_gold_start = mem_alloc(va->n + 1, sizeof *t->valid_gold_start);
    size_t total = va->ds->label_start[va->ds->n_docs];
    t->valid_gold = mem_alloc(total, sizeof *t->valid_gold);
    if (!t->valid_gold_start || !t->valid_gold)
        return HFTC_STATUS_OUT_OF_MEMORY;
    size_t n = 0;
    t->valid_gold_start[0] = 0;
    for (size_t i = 0; i < va->n; i++) {
        for (size_t j = va->ds->label_start[va->idx[i]]; j < va->ds->label_start[va->idx[i] + 1]; j++) {
            uint32_t label = va->ds->labels[j];
            if (label < t->n_labels && t->output_of[label] != UINT32_MAX)
                t->valid_gold[n++] = t->output_of[label];
        }
        t->valid_gold_start[i + 1] = n;
    }
    return HFTC_STATUS_OK;
}

static float train_epoch(trainer *t, const split *tr, size_t epoch, rng *order_rng)
{
    const hftc_train_options *o = t->o;
    size_t C = t->part->n_outputs;
    param_set *ps = network_params(t->part->net);
    rng_shuffle(order_rng, tr->idx, tr->n);
    double loss_sum = 0, t0 = now_seconds();
    size_t done = 0;
    for (size_t start = 0; start < tr->n; start += o->batch) {
        size_t B = tr->n - start < o->batch ? tr->n - start : o->batch;
        size_t T = trainer_fill(t, tr, start, B);
        batch_targets(tr->ds, tr->idx + start, B, t->output_of, t->n_labels, C, t->targets);
        uint64_t dropout_seed = t->seed * 0x9e3779b97f4a7c15ULL + epoch * 1000003ULL + start;
        float loss = network_train_batch(t->part->net, t->tokens, t->lengths, B, T, t->targets, t->pos_weight,
                                         t->frozen, dropout_seed);
        adam_step(&t->opt, ps);
        loss_sum += (double)loss * (double)B;
        done += B;
        if (o->progress && !t->quiet) {
            hftc_progress p = {.part = t->part->name,
                               .epoch = epoch,
                               .epochs = o->epochs,
                               .docs_done = done,
                               .docs_total = tr->n,
                               .seconds = now_seconds() - t0,
                               .train_loss = (float)(loss_sum / (double)done)};
            o->progress(&p, o->progress_user);
        }
    }
    return (float)(loss_sum / (double)tr->n);
}

hftc_status trainer_init(trainer *t, const hftc_train_options *o, hftc_model *m, model_part *part, const split *va)
{
    *t = (trainer){.o = o, .m = m, .part = part, .n_labels = strmap_count(&m->tax.names), .seed = o->seed};
    size_t C = part->n_outputs, cap = m->batch_capacity;
    param_set *ps = network_params(part->net);
    t->output_of = mem_alloc(t->n_labels, sizeof *t->output_of);
    if (!t->output_of)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t l = 0; l < t->n_labels; l++)
        t->output_of[l] = UINT32_MAX;
    for (size_t j = 0; j < C; j++)
        t->output_of[part->nodes[j]] = (uint32_t)j;
    // Groups: the embedding (frozen or not), and the layers transfer_with_groups copied (their own rate).
    float transfer_lr = o->transfer_lr > 0.0f ? o->transfer_lr : o->lr;
    tensor *emb = params_find(ps, "embedding.weight"); /* NULL when borrowed */
    adam_init(&t->opt, o->lr);
    t->opt.n_groups = 3;
    t->opt.groups[GROUP_EMBEDDING] = (param_group){.lr = emb && emb->group == GROUP_TRANSFERRED ? transfer_lr : o->lr,
                                                   .frozen = o->freeze_embeddings != 0};
    t->opt.groups[GROUP_TRANSFERRED] = (param_group){.lr = transfer_lr, .frozen = false};
    t->frozen[GROUP_EMBEDDING] = t->opt.groups[GROUP_EMBEDDING].frozen;
    if (emb)
        emb->group = GROUP_EMBEDDING;
    t->tokens = mem_alloc(cap * model_input_len(m), sizeof *t->tokens);
    t->lengths = mem_alloc(cap, sizeof *t->lengths);
    t->prefix_label = mem_alloc(cap, sizeof *t->prefix_label);
    t->targets = mem_alloc(cap * C, sizeof *t->targets);
    t->valid_probs = mem_alloc(va->n * C, sizeof *t->valid_probs);
    hftc_status best = arena_init(&t->best_values, ps->values.used);
    bool weighted = o->pos_weight != 1.0f;
    t->pos_weight = weighted ? mem_alloc(C, sizeof *t->pos_weight) : NULL;
    if (!t->tokens || !t->lengths || !t->prefix_label || !t->targets || !t->valid_probs || best != HFTC_STATUS_OK ||
        (weighted && !t->pos_weight))
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t j = 0; weighted && j < C; j++)
        t->pos_weight[j] = o->pos_weight;
    TRY(valid_gather_gold(t, va));
    return HFTC_STATUS_OK;
}

// The BCE positive weight of output j: label_weights[label of j], or weight when label_weights is NULL.
static hftc_status trainer_set_weights(trainer *t, const float *label_weights, float weight)
{
    size_t C = t->part->n_outputs;
    if (!t->pos_weight && !(t->pos_weight = mem_alloc(C, sizeof *t->pos_weight)))
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t j = 0; j < C; j++)
        t->pos_weight[j] = label_weights ? label_weights[t->part->nodes[j]] : weight;
    return HFTC_STATUS_OK;
}

hftc_status trainer_set_label_weights(trainer *t, const float *label_weights)
{
    return trainer_set_weights(t, label_weights, 1.0f);
}

hftc_status trainer_set_pos_weight(trainer *t, float weight) { return trainer_set_weights(t, NULL, weight); }

size_t transfer_with_groups(const hftc_train_options *o, network *dst, network *src)
{
    size_t n = transfer_layers(dst, src, o->transfer_layers);
    param_set *d = network_params(dst), *s = network_params(src);
    for (size_t i = 0; i < d->n_tensors; i++)
        if (transfer_layer_listed(d->tensors[i].name, o->transfer_layers) && params_find(s, d->tensors[i].name))
            d->tensors[i].group = GROUP_TRANSFERRED;
    return n;
}

void trainer_free(trainer *t)
{
    free(t->tokens), free(t->lengths), free(t->prefix_label), free(t->targets), free(t->valid_probs);
    arena_free(&t->best_values);
    free(t->pos_weight);
    free(t->valid_gold_start), free(t->valid_gold), free(t->output_of);
    *t = (trainer){0};
}

/* Copies all parameter values (they are one contiguous arena) to or from the best-epoch backup. */
static void params_backup(param_set *ps, float *backup, bool restore)
{
    float *values = (float *)ps->values.base;
    size_t n = ps->values.used / sizeof(float);
    if (restore)
        memcpy(values, backup, n * sizeof(float));
    else
        memcpy(backup, values, n * sizeof(float));
}

// The share of validation documents whose best output is their (one) label: a single-label head's
// accuracy.
static double valid_accuracy(const trainer *t, const split *va)
{
    size_t C = t->part->n_outputs, right = 0;
    for (size_t i = 0; i < va->n; i++) {
        const float *p = t->valid_probs + i * C;
        size_t best = 0;
        for (size_t c = 1; c < C; c++)
            best = p[c] > p[best] ? c : best;
        right += t->valid_gold_start[i + 1] - t->valid_gold_start[i] == 1 &&
                 t->valid_gold[t->valid_gold_start[i]] == (uint32_t)best;
    }
    return va->n ? (double)right / (double)va->n : 0.0;
}

hftc_status run_training(trainer *t, split *tr, split *va, json_t *record, const epoch_hooks *hooks)
{
    const hftc_train_options *o = t->o;
    param_set *ps = network_params(t->part->net);
    bool by_loss = strcmp(o->early_stop, "loss") == 0, by_accuracy = strcmp(o->early_stop, "accuracy") == 0;
    double total_start = now_seconds();
    epoch_state s = {.best = INFINITY, .epochs = json_array()};
    json_object_set_new(record, "epochs", s.epochs);
    if (hooks && hooks->start)
        TRY(hooks->start(t, &s, hooks->user));
    rng order_rng;
    rng_seed(&order_rng, t->seed, 0x0bdec);
    for (size_t e = 0; e < s.epoch; e++) /* the batch orders of the epochs done, which the next one continues */
        rng_shuffle(&order_rng, tr->idx, tr->n);
    bool stop = false;
    while (!stop && s.epoch < o->epochs) {
        size_t epoch = ++s.epoch;
        double t0 = now_seconds();
        float train_loss = train_epoch(t, tr, epoch, &order_rng);
        float valid_loss = valid_predict(t, va);
        double valid_f1;
        TRY(valid_micro_f1(t, va, o->threshold, &valid_f1));
        if (o->tune_threshold) { /* the final threshold is not known yet: each epoch is judged at its best */
            gold_sets gold = {va->n, t->part->n_outputs, t->valid_gold_start, t->valid_gold};
            float unused;
            TRY(best_threshold(t->valid_probs, t->part->n_outputs, &gold, &unused, &valid_f1));
        }
        double accuracy = by_accuracy ? valid_accuracy(t, va) : 0.0;
        double score = by_loss ? (double)valid_loss : by_accuracy ? -accuracy : -valid_f1;
        bool improved = score < s.best;
        double lr = t->opt.groups[GROUP_DEFAULT].lr;
        if (improved) {
            s.best = score, s.best_epoch = epoch, s.since_best = s.since_lr = 0;
            params_backup(ps, (float *)t->best_values.base, false);
        } else {
            s.since_best++, s.since_lr++;
        }
        double seconds = now_seconds() - t0;
        json_t *e =
            json_pack("{s:I, s:f, s:f, s:f, s:f, s:f}", "epoch", (json_int_t)epoch, "train_loss", (double)train_loss,
                      "valid_loss", (double)valid_loss, "valid_micro_f1", valid_f1, "lr", lr, "seconds", seconds);
        if (by_accuracy)
            json_object_set_new(e, "valid_accuracy", json_real(accuracy));
        json_array_append_new(s.epochs, e);
        if (o->lr_patience && s.since_lr >= o->lr_patience) { /* ReduceLROnPlateau, Keras' counting */
            for (size_t g = 0; g < t->opt.n_groups; g++)
                t->opt.groups[g].lr *= o->lr_decay;
            s.since_lr = 0;
            if (!t->quiet)
                log_info("%s: no improvement in %zu epochs: learning rate x %g", t->part->name, o->lr_patience,
                         (double)o->lr_decay);
        }
        if (o->progress && !t->quiet) {
            hftc_progress p = {.part = t->part->name,
                               .epoch = epoch,
                               .epochs = o->epochs,
                               .docs_done = tr->n,
                               .docs_total = tr->n,
                               .seconds = seconds,
                               .train_loss = train_loss,
                               .epoch_end = 1,
                               .valid_loss = valid_loss,
                               .valid_micro_f1 = (float)valid_f1,
                               .valid_accuracy = by_accuracy ? (float)accuracy : -1.0f,
                               .improved = improved};
            o->progress(&p, o->progress_user);
        }
        if (!isfinite(train_loss))
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "training diverged at epoch %zu (loss %g): lower --lr",
                             epoch, (double)train_loss);
        stop = s.since_best >= o->patience;
        if (!stop && s.epoch < o->epochs && hooks && hooks->after_epoch)
            TRY(hooks->after_epoch(t, &s, hooks->user));
    }
    params_backup(ps, (float *)t->best_values.base, true);
    double total = s.seconds + (now_seconds() - total_start);
    json_object_set_new(record, "epochs_run", json_integer((json_int_t)s.epoch));
    json_object_set_new(record, "best_epoch", json_integer((json_int_t)s.best_epoch));
    json_object_set_new(record, "train_seconds", json_real(total));
    if (!t->quiet)
        log_info("%s, %zu labels: trained %zu epochs in %.1f s; best epoch %zu", t->part->name, t->part->n_outputs,
                 s.epoch, total, s.best_epoch);
    return HFTC_STATUS_OK;
}

/* The validation split's scores under the model's scoring (va->n x C, caller frees) and gold label sets. */
static hftc_status valid_scores(hftc_model *m, const split *va, float **scores, gold_sets *gold)
{
    size_t C = m->net_config.n_classes, n_gold = 0;
    *scores = mem_alloc(va->n * C, sizeof **scores);
    size_t *gold_start = mem_alloc(va->n + 1, sizeof *gold_start);
    uint32_t *gold_labels = mem_alloc(va->ds->label_start[va->ds->n_docs] + 1, sizeof *gold_labels);
    *gold = (gold_sets){va->n, strmap_count(&m->tax.names), gold_start, gold_labels};
    hftc_status st = *scores && gold_start && gold_labels ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK)
        st = model_predict_dataset(m, va->ds, va->idx, va->n, NULL, NULL, *scores, NULL);
    if (st == HFTC_STATUS_OK) {
        scoring_apply(m->scoring, &m->tax, *scores, *scores, va->n);
        gold_start[0] = 0;
        for (size_t i = 0; i < va->n; i++) {
            for (size_t j = va->ds->label_start[va->idx[i]]; j < va->ds->label_start[va->idx[i] + 1]; j++)
                gold_labels[n_gold++] = va->ds->labels[j];
            gold_start[i + 1] = n_gold;
        }
    }
    return st;
}

/* The threshold in 0.05 steps with the best validation micro-F1 of the whole model's decisions (all
 * parts, the model's scoring, every label); ties go to the one closest to 0.5. */
static hftc_status tune_threshold(hftc_model *m, const float *scores, const gold_sets *gold, json_t *record)
{
    float threshold = m->threshold;
    double best_f1 = 0.0;
    TRY(best_threshold(scores, m->net_config.n_classes, gold, &threshold, &best_f1));
    m->threshold = threshold;
    log_info("threshold %.2f maximises validation micro-F1 (%.4f, %s scoring)", (double)threshold, best_f1,
             scoring_name(m->scoring));
    json_object_set_new(record, "tuned_threshold", json_real(threshold));
    json_object_set_new(record, "tuned_valid_micro_f1", json_real(best_f1));
    return HFTC_STATUS_OK;
}

/* The validation metrics of the decisions keep (gold->n x C, over scores). */
static hftc_status metrics_of_mask(const float *scores, const bool *keep, size_t C, const gold_sets *gold, metrics *mt)
{
    size_t *pred_start;
    uint32_t *pred;
    TRY(decisions_from_mask(scores, keep, gold->n, C, 0, &pred_start, &pred, NULL));
    return score_decisions(gold, pred_start, pred, mt);
}

/* One threshold per label (0.05 steps) from the validation scores, parents first: each label's gives the
 * best F1 of its validation decisions, given its parents' (bsf, msf: a label is kept only with a kept
 * parent); ties, and labels no threshold gives an F1 above 0, keep the model's threshold. */
static hftc_status tune_label_thresholds(hftc_model *m, const float *scores, const gold_sets *gold, json_t *record)
{
    const taxonomy *t = &m->tax;
    size_t C = m->net_config.n_classes, n = gold->n;
    bool bounded = m->scoring == SCORING_BSF || m->scoring == SCORING_MSF;
    bool *is_gold = mem_calloc(n * C + 1, sizeof *is_gold), *keep = mem_calloc(n * C + 1, sizeof *keep);
    bool *eligible = mem_alloc(n + 1, sizeof *eligible);
    float *thresholds = mem_alloc(C + 1, sizeof *thresholds);
    if (!is_gold || !keep || !eligible || !thresholds) {
        free(is_gold), free(keep), free(eligible), free(thresholds);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = gold->start[i]; j < gold->start[i + 1]; j++)
            if (gold->labels[j] < C)
                is_gold[i * C + gold->labels[j]] = true;
    for (size_t o = 0; o < C; o++) {
        uint32_t c = t->order[o];
        for (size_t i = 0; i < n; i++)
            eligible[i] = !bounded || scoring_parent_kept(t, keep + i * C, c);
        float best = m->threshold;
        double best_f1 = -1.0;
        for (int step = 0; step <= THRESHOLD_STEPS; step++) { /* step 0: the model's threshold */
            float candidate = step ? 0.05f * (float)step : m->threshold;
            size_t tp = 0, fp = 0, fn = 0;
            for (size_t i = 0; i < n; i++) {
                bool predicted = eligible[i] && scores[i * C + c] >= candidate, truth = is_gold[i * C + c];
                tp += predicted && truth, fp += predicted && !truth, fn += !predicted && truth;
            }
            double f1 = tp ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 0.0;
            if (f1 > best_f1 + 1e-12 ||
                (f1 > best_f1 - 1e-12 && fabsf(candidate - m->threshold) < fabsf(best - m->threshold))) {
                best_f1 = f1;
                best = candidate;
            }
        }
        thresholds[c] = best;
        for (size_t i = 0; i < n; i++)
            keep[i * C + c] = eligible[i] && scores[i * C + c] >= best;
    }
    metrics per_label, one;
    hftc_status st = metrics_of_mask(scores, keep, C, gold, &per_label);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < n * C; i++)
        keep[i] = false;
    if (st == HFTC_STATUS_OK) {
        scoring_select(m->scoring, t, scores, m->threshold, NULL, keep, n);
        st = metrics_of_mask(scores, keep, C, gold, &one);
    }
    if (st == HFTC_STATUS_OK) {
        free(m->label_thresholds);
        m->label_thresholds = thresholds, thresholds = NULL;
        log_info("per-label thresholds: validation micro-F1 %.4f, macro-F1 %.4f (one threshold, %.2f: %.4f, %.4f)",
                 per_label.micro_f1, per_label.macro_f1, (double)m->threshold, one.micro_f1, one.macro_f1);
        json_object_set_new(record, "label_thresholds_valid_micro_f1", json_real(per_label.micro_f1));
        json_object_set_new(record, "label_thresholds_valid_macro_f1", json_real(per_label.macro_f1));
    }
    free(is_gold), free(keep), free(eligible), free(thresholds);
    return st;
}

json_t *train_options_json(const hftc_train_options *o)
{
    json_t *windows = json_array(), *weights = json_array();
    for (size_t i = 0; i < o->n_windows; i++)
        json_array_append_new(windows, json_integer((json_int_t)o->windows[i]));
    for (size_t i = 0; i < o->n_class_weights; i++)
        json_array_append_new(weights, json_real(o->class_weights[i]));
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b, s:f, s:s?, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, "
        "s:f, s:f, s:b, s:I, s:I, "
        "s:I, s:f, s:s, s:f, s:s, s:f, s:b, s:I, s:i, s:b, s:b, s:b}",
        "preset", o->preset, "strategy", o->strategy, "transfer", o->transfer, "transfer_layers", o->transfer_layers,
        "train", o->train_path, "valid", o->valid_path, "taxonomy", o->taxonomy_path, "add_unknown_labels",
        o->add_unknown_labels, "valid_fraction", (double)o->valid_fraction, "embeddings", o->embeddings_path, "max_len",
        (json_int_t)o->max_len, "min_count", (json_int_t)o->min_count, "max_vocab", (json_int_t)o->max_vocab, "dim",
        (json_int_t)o->dim, "windows", windows, "filters", (json_int_t)o->filters, "pool_chunks",
        (json_int_t)o->pool_chunks, "hidden", (json_int_t)o->hidden, "embed_dropout", (double)o->embed_dropout,
        "hidden_dropout", (double)o->hidden_dropout, "freeze_embeddings", o->freeze_embeddings, "epochs",
        (json_int_t)o->epochs, "batch", (json_int_t)o->batch, "patience", (json_int_t)o->patience, "lr", (double)o->lr,
        "early_stop", o->early_stop, "pos_weight", (double)o->pos_weight, "scoring", o->scoring, "threshold",
        (double)o->threshold, "tune_threshold", o->tune_threshold, "seed", (json_int_t)o->seed, "threads",
        compute_threads(), "lowercase", o->lowercase, "split_punct", o->split_punct, "drop_punct", o->drop_punct);
    json_t *more = json_pack("{s:s, s:I, s:I, s:f, s:f, s:b, s:s, s:f, s:o, s:s?}", "encoder", o->encoder, "rnn_hidden",
                             (json_int_t)o->rnn_hidden, "attention_dim", (json_int_t)o->attention_dim, "rnn_dropout",
                             (double)o->rnn_dropout, "transfer_lr", (double)o->transfer_lr, "freeze_child_embeddings",
                             o->freeze_child_embeddings, "node_docs", o->node_docs, "node_valid_fraction",
                             (double)o->node_valid_fraction, "class_weights", weights, "class_weights_from",
                             o->class_weights_from);
    json_object_update(j, more);
    json_decref(more);
    more = json_pack("{s:I, s:s, s:s, s:b, s:I, s:f, s:b, s:s?}", "onlstm_chunk", (json_int_t)o->onlstm_chunk,
                     "rnn_pool", o->rnn_pool, "hidden_activation", o->hidden_activation, "batchnorm", o->batchnorm,
                     "lr_patience", (json_int_t)o->lr_patience, "lr_decay", (double)o->lr_decay, "joint_embedding",
                     o->joint_embedding, "label_names", o->label_names_path);
    json_object_update(j, more);
    json_decref(more);
    json_object_set_new(j, "tune_label_thresholds", json_boolean(o->tune_label_thresholds));
    if (o->reuse_runs_from)
        json_object_set_new(j, "reuse_runs", json_string(o->reuse_runs_from));
    return j;
}

void train_options_drop_incidental(json_t *options)
{
    static const char *const incidental[] = {"threads",    "train",       "valid",     "taxonomy",
                                             "embeddings", "label_names", "reuse_runs"};
    for (size_t i = 0; i < sizeof incidental / sizeof *incidental; i++)
        json_object_del(options, incidental[i]);
}

/* The node strategy's pool: every labelled document (the validation file's appended to the training
 * file's); each classifier takes its own stratified validation split from it. */
static hftc_status node_pool(dataset *train, dataset *valid, split *pool)
{
    if (valid->n_docs) {
        TRY(dataset_append(train, valid));
        dataset_free(valid);
    }
    pool->ds = train;
    pool->n = train->n_docs;
    pool->idx = mem_alloc(pool->n, sizeof *pool->idx);
    if (!pool->idx)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < pool->n; i++)
        pool->idx[i] = i;
    return HFTC_STATUS_OK;
}

/* The embedding table node classifiers start from: the word vectors (uniform(-0.25, 0.25) for words
 * without one) or uniform(-0.25, 0.25); row 0 (<pad>) zero. A shared table is this one, frozen. */
hftc_status initial_embedding_table(const hftc_train_options *o, wordvec_format fmt, hftc_model *m, float **out)
{
    size_t V = vocab_size(&m->vocab), E = m->net_config.embed_dim;
    float *table = mem_alloc(V * E, sizeof *table);
    if (!table)
        return HFTC_STATUS_OUT_OF_MEMORY;
    rng r;
    rng_seed(&r, o->seed, 0xe3bed);
    for (size_t i = 0; i < V * E; i++)
        table[i] = rng_uniform(&r, -0.25f, 0.25f);
    memset(table, 0, E * sizeof *table);
    hftc_status st = HFTC_STATUS_OK;
    if (o->embeddings_path) {
        size_t found;
        st = wordvec_load(o->embeddings_path, fmt, &m->vocab, E, table, &r, &found);
        if (st == HFTC_STATUS_OK)
            log_info("%s: vectors for %zu of %zu vocabulary words (%.1f%%)", o->embeddings_path, found, V,
                     100.0 * (double)found / (double)V);
    }
    if (st == HFTC_STATUS_OK && m->shared_embedding)
        memcpy(m->shared_embedding, table, V * E * sizeof *table);
    if (st != HFTC_STATUS_OK) {
        free(table);
        return st;
    }
    *out = table;
    return HFTC_STATUS_OK;
}

/* Each label's BCE positive weight from a node model's class weights (1 for labels it lacks). */
static hftc_status read_class_weights(const char *path, const taxonomy *tax, float **out)
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

hftc_status hftc_train(const hftc_train_options *o, hftc_model **out)
{
    const char *problem = hftc_train_options_check(o);
    if (problem)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s", problem);
    hftc_set_threads(o->threads);
    compute_check_blas();
    size_t dim = o->dim;
    wordvec_format vectors_format = WORDVEC_AUTO;
    if (o->embeddings_path) {
        wordvec_format_parse(o->embeddings_format, &vectors_format);
        TRY(wordvec_probe(o->embeddings_path, vectors_format, &vectors_format, &dim));
    }
    /* The vocabulary and labels are read first; the networks are created once their sizes are known. */
    hftc_model *m;
    TRY(model_create(&m));
    m->tokenizer = (tokenizer_options){
        .lowercase = o->lowercase, .split_punct = o->split_punct, .drop_punct = o->drop_punct, .max_len = o->max_len};
    strategy_parse(o->strategy, &m->strategy);
    dataset train = {0}, valid = {0};
    split tr = {0}, va = {0};
    json_t *record = json_object();
    bool node = m->strategy == STRATEGY_NODE;
    float *label_weights = NULL, *initial_embedding = NULL;
    hftc_status st = read_training_data(o, m, &train, &valid);
    if (st == HFTC_STATUS_OK && node) /* node classifiers split all labelled documents themselves */
        st = node_pool(&train, &valid, &tr);
    else if (st == HFTC_STATUS_OK)
        st = make_splits(o, &train, &valid, &tr, &va);
    if (st == HFTC_STATUS_OK && o->class_weights_from)
        st = read_class_weights(o->class_weights_from, &m->tax, &label_weights);
    if (st == HFTC_STATUS_OK) {
        size_t C = m->net_config.n_classes;
        encoder_kind encoder = !strcmp(o->encoder, "cnn")      ? ENCODER_CNN
                               : !strcmp(o->encoder, "onlstm") ? ENCODER_ONLSTM
                                                               : ENCODER_BIGRU_ATT;
        m->net_config = (network_config){.encoder = encoder,
                                         .rnn_hidden = o->rnn_hidden,
                                         .attention_dim = o->attention_dim,
                                         .rnn_dropout = o->rnn_dropout,
                                         .onlstm_chunk = o->onlstm_chunk,
                                         .rnn_pool = strcmp(o->rnn_pool, "max") ? RNN_POOL_LAST : RNN_POOL_MAX,
                                         .hidden_activation =
                                             strcmp(o->hidden_activation, "tanh") ? ACTIVATION_RELU : ACTIVATION_TANH,
                                         .hidden_batchnorm = o->batchnorm,
                                         .head = strcmp(o->head, "softmax") ? HEAD_SIGMOID : HEAD_SOFTMAX,
                                         .vocab_size = vocab_size(&m->vocab),
                                         .embed_dim = dim,
                                         .n_windows = o->n_windows,
                                         .n_filters = o->filters,
                                         .pool_chunks = o->pool_chunks,
                                         .hidden = o->hidden,
                                         .n_classes = C,
                                         .embed_dropout = o->embed_dropout,
                                         .hidden_dropout = o->hidden_dropout};
        memcpy(m->net_config.windows, o->windows, sizeof o->windows);
        m->batch_capacity = o->batch; /* validation runs in training-sized batches: no larger buffers */
        m->threshold = o->threshold;
        scoring_parse(o->scoring, &m->scoring);
        snprintf(m->preset, sizeof m->preset, "%s", o->preset);
        bool inherit = !strcmp(o->transfer, "finetune") && transfer_layer_listed("embedding", o->transfer_layers) &&
                       o->freeze_child_embeddings;
        m->node_embedding = o->freeze_embeddings ? NODE_EMBEDDING_SHARED
                            : inherit            ? NODE_EMBEDDING_INHERITED
                                                 : NODE_EMBEDDING_OWN;
        st = build_parts_for(m, &tr);
    }
    if (st == HFTC_STATUS_OK && node)
        st = initial_embedding_table(o, vectors_format, m, &initial_embedding);
    if (st == HFTC_STATUS_OK && node)
        st = train_node_parts(o, m, initial_embedding, &tr, record);
    else if (st == HFTC_STATUS_OK)
        st = train_level_parts(o, m, vectors_format, label_weights, &tr, &va, record);
    if (st == HFTC_STATUS_OK && (o->tune_threshold || o->tune_label_thresholds)) {
        float *scores = NULL;
        gold_sets gold = {0};
        st = valid_scores(m, &va, &scores, &gold);
        if (st == HFTC_STATUS_OK && o->tune_threshold)
            st = tune_threshold(m, scores, &gold, record);
        if (st == HFTC_STATUS_OK && o->tune_label_thresholds)
            st = tune_label_thresholds(m, scores, &gold, record);
        free(scores), free((void *)gold.start), free((void *)gold.labels);
    }
    if (st == HFTC_STATUS_OK) {
        /* Drop label names that only the validation data used: the model has no output for them. */
        st = taxonomy_forget_pending(&m->tax);
        json_object_set_new(record, "train_docs", json_integer((json_int_t)tr.n));
        json_object_set_new(record, "valid_docs", json_integer((json_int_t)va.n));
        json_object_set_new(record, "options", train_options_json(o));
        m->training_json = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(7));
    }
    json_decref(record);
    free(tr.idx), free(va.idx), free(label_weights), free(initial_embedding);
    dataset_free(&train), dataset_free(&valid);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}
