/* The trainer the strategies share (level.c: flat and level; node.c): mini-batches (trainer_step, one
 * optimisation step), validation every epoch, early stopping that keeps the best epoch's weights, the
 * learning-rate schedule, and the optimiser groups of transferred layers. */
#include "train/trainer.h"

#include "core/arena.h"
#include "core/clock.h"
#include "core/distributed.h"
#include "core/error.h"
#include "core/log.h"
#include "hier/threshold_search.h"
#include "model/transfer.h"
#include "nn/adam.h"
#include "nn/sgd.h"
#include "train/data_parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Batches documents s->idx[start .. start + B) into t->tokens, each after its prefix words when the split
// has them; returns T.
static size_t trainer_fill(trainer *t, const split *s, size_t start, size_t B)
{
    batch_prefix prefix = {&t->m->label_words, t->prefix_label};
    for (size_t b = 0; s->prefix && b < B; b++)
        t->prefix_label[b] = s->prefix[s->idx[start + b]];
    return batch_fill(s->ds, s->idx + start, B, t->m->tokenizer.max_len, model_min_len(&t->m->net_config),
                      s->prefix ? &prefix : NULL, t->tokens, t->lengths);
}

float valid_predict(trainer *t, const split *va)
{
    hftc_model *m = t->m;
    size_t C = t->part->n_outputs, cap = m->batch_capacity, first = 0, n = va->n;
    if (t->data_parallel)
        dist_share(va->n, &first, &n);
    uint64_t sent = dist_traffic();
    double loss_sum = 0;
    for (size_t start = first; start < first + n; start += cap) {
        size_t B = first + n - start < cap ? first + n - start : cap;
        size_t T = trainer_fill(t, va, start, B);
        batch_targets(va->ds, va->idx + start, B, t->output_of, t->n_labels, C, t->targets);
        loss_sum += (double)network_predict(t->part->net, &t->compute, t->tokens, t->lengths, B, T, t->targets,
                                            t->pos_weight, t->valid_probs + start * C) *
                    (double)B;
    }
    if (t->data_parallel) {
        dist_sum_doubles(&loss_sum, 1);
        hftc_status st = dp_gather_rows(t->valid_probs, first, n, C, t->rank_counts);
        t->valid_bytes += dist_traffic() - sent, t->validations++;
        if (st != HFTC_STATUS_OK)
            return NAN;
    }
    return (float)(loss_sum / (double)va->n);
}

hftc_status valid_metrics(trainer *t, const split *va, float threshold, metrics *mt)
{
    gold_sets gold = {va->n, t->part->n_outputs, t->valid_gold_start, t->valid_gold};
    return decisions_metrics_at(t->valid_probs, t->part->n_outputs, &gold, threshold, mt);
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

// Batches of an epoch over tr: the unit of SGD's schedule.
static size_t batches_per_epoch(const trainer *t, const split *tr)
{
    return (tr->n + t->cfg->o->batch - 1) / t->cfg->o->batch;
}

// The batch order (tr's, shuffled in place by each epoch) after epochs epochs, from tr's order before the first.
static void order_after(const trainer *t, split *tr, rng *order_rng, size_t epochs)
{
    rng_seed(order_rng, t->seed, 0x0bdec);
    for (size_t e = 0; e < epochs; e++)
        rng_shuffle(order_rng, tr->idx, tr->n);
}

// An extension's fixed weights back to their values: the optimiser's step (and batch norm's running statistics)
// moved them with the rest.
static void keep_fixed_values(trainer *t)
{
    float *values = (float *)network_params(t->part->net)->values.base;
    for (size_t r = 0; r < t->n_keep_ranges; r++)
        memcpy(values + t->keep_ranges[2 * r], t->keep_values + t->keep_ranges[2 * r],
               t->keep_ranges[2 * r + 1] * sizeof *values);
}

float trainer_step(trainer *t, const split *tr, size_t start, size_t B, size_t epoch)
{
    // Data-parallel: this process's share of the batch, its place in the batch for the dropout masks and the batch's
    // size for the loss's mean; the optimiser then steps on the shares' gradients summed.
    compute_context cc = t->compute;
    batch_share share = {0, B};
    size_t n = B, T = 0;
    if (t->data_parallel) {
        dist_share(B, &share.first, &n);
        cc.share = &share;
    }
    if (n) {
        T = trainer_fill(t, tr, start + share.first, n);
        batch_targets(tr->ds, tr->idx + start + share.first, n, t->output_of, t->n_labels, t->part->n_outputs,
                      t->targets);
    }
    uint64_t dropout_seed = t->seed * 0x9e3779b97f4a7c15ULL + epoch * 1000003ULL + start;
    float loss = network_train_batch(t->part->net, &cc, t->tokens, t->lengths, n, T, t->targets, t->pos_weight,
                                     t->frozen, dropout_seed);
    param_set *ps = network_params(t->part->net);
    if (t->data_parallel) {
        uint64_t sent = dist_traffic();
        hftc_status st = dp_sum_gradients(ps, t->rank_counts, &loss);
        t->step_bytes += dist_traffic() - sent, t->steps++;
        if (st != HFTC_STATUS_OK && t->step_status == HFTC_STATUS_OK)
            t->step_status = st;
        if (st != HFTC_STATUS_OK)
            loss = NAN;
    }
    if (t->cfg->optimizer == OPTIMIZER_ADAM) {
        adam_step(&t->opt, &t->compute, ps);
        keep_fixed_values(t);
        return loss;
    }
    /* SGD, fastText's schedule: the rate falls linearly from lr to 0 over every batch of the planned epochs
     * (early stopping may end sooner). The loss is a mean (over B x C for the sigmoid head, B for softmax);
     * fastText steps by each document's loss summed over the outputs, so the gradient is scaled back to that
     * sum over the batch. */
    double left = 1.0 - (double)t->opt.step / (double)(batches_per_epoch(t, tr) * t->cfg->o->epochs);
    double sum_scale = sgd_sum_scale(B, t->part->n_outputs, t->m->net_config.head == HEAD_SIGMOID);
    sgd_step(t->opt.groups, t->opt.n_groups, &t->compute, ps, (float)((left > 0.0 ? left : 0.0) * sum_scale));
    t->opt.step++;
    keep_fixed_values(t);
    return loss;
}

/* Restarts of a diverging SGD training before it gives up (each halves the rate: 1/1024 of it at the end). */
#define MAX_RESTARTS 10

static float train_epoch(trainer *t, const split *tr, size_t epoch, rng *order_rng)
{
    const hftc_train_options *o = t->cfg->o;
    rng_shuffle(order_rng, tr->idx, tr->n);
    double loss_sum = 0, t0 = now_seconds();
    size_t done = 0;
    for (size_t start = 0; start < tr->n; start += o->batch) {
        size_t B = tr->n - start < o->batch ? tr->n - start : o->batch;
        float loss = trainer_step(t, tr, start, B, epoch);
        if (epoch == 1 && start == 0 && !t->from_trained)
            t->first_loss = loss;
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

hftc_status trainer_init(trainer *t, const train_config *cfg, hftc_model *m, model_part *part, const split *va,
                         bool data_parallel)
{
    const hftc_train_options *o = cfg->o;
    *t = (trainer){.cfg = cfg,
                   .m = m,
                   .part = part,
                   .n_labels = strmap_count(&m->tax.names),
                   .seed = o->seed,
                   .data_parallel = data_parallel};
    t->compute = cfg->compute;
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
    t->rank_counts = mem_alloc((size_t)hftc_distributed_size(), sizeof *t->rank_counts);
    hftc_status best = arena_init(&t->best_values, ps->values.used);
    bool weighted = o->pos_weight != 1.0f;
    t->pos_weight = weighted ? mem_alloc(C, sizeof *t->pos_weight) : NULL;
    if (!t->tokens || !t->lengths || !t->prefix_label || !t->targets || !t->valid_probs || !t->rank_counts ||
        best != HFTC_STATUS_OK || (weighted && !t->pos_weight))
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

size_t transfer_with_groups(const train_config *cfg, network *dst, network *src)
{
    size_t n = transfer_layers(dst, src, cfg->transfer_layers);
    param_set *d = network_params(dst), *s = network_params(src);
    for (size_t i = 0; i < d->n_tensors; i++)
        if (transfer_layer_listed(d->tensors[i].name, cfg->transfer_layers) && params_find(s, d->tensors[i].name))
            d->tensors[i].group = GROUP_TRANSFERRED;
    return n;
}

void trainer_free(trainer *t)
{
    free(t->tokens), free(t->lengths), free(t->prefix_label), free(t->targets), free(t->valid_probs);
    arena_free(&t->best_values);
    free(t->pos_weight);
    free(t->valid_gold_start), free(t->valid_gold), free(t->output_of), free(t->first_order), free(t->rank_counts);
    *t = (trainer){0};
}

/* Copies the parameter values to or from the best-epoch backup: all of them until the two are known equal outside
 * the rows the optimiser marks (params_sync_backup), then only what moved. */
static void params_backup(trainer *t, bool restore)
{
    params_sync_backup(network_params(t->part->net), (float *)t->best_values.base, restore, !t->backup_synced);
    t->backup_synced = true;
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

/* A diverging SGD epoch (a non-finite training or validation loss, or a training loss above the first batch's
 * at the starting weights: the rate is too high for the data, as fastText's one-vs-all loss over thousands of
 * outputs finds at rates that suit tens) goes back to the best epoch, or to the start, with the batch orders
 * from there and every rate halved, the restart recorded. */
static void diverged_restart(trainer *t, split *tr, epoch_state *s, rng *order_rng, json_t *restarts)
{
    size_t diverged = s->epoch;
    params_backup(t, true);
    s->epoch = s->best_epoch, s->since_best = s->since_lr = 0;
    t->opt.step = s->epoch * batches_per_epoch(t, tr);
    while (json_array_size(s->epochs) > s->epoch)
        json_array_remove(s->epochs, json_array_size(s->epochs) - 1);
    memcpy(tr->idx, t->first_order, tr->n * sizeof *tr->idx);
    order_after(t, tr, order_rng, s->epoch);
    for (size_t g = 0; g < t->opt.n_groups; g++)
        t->opt.groups[g].lr *= 0.5f;
    json_array_append_new(restarts,
                          json_pack("{s:I, s:I, s:f}", "diverged_in_epoch", (json_int_t)diverged, "from_epoch",
                                    (json_int_t)s->epoch, "lr", (double)t->opt.groups[GROUP_DEFAULT].lr));
    if (!t->quiet)
        log_info("%s: training diverged in epoch %zu: from epoch %zu again at learning rate %g", t->part->name,
                 diverged, s->epoch, (double)t->opt.groups[GROUP_DEFAULT].lr);
}

hftc_status run_training(trainer *t, split *tr, split *va, json_t *record, const epoch_hooks *hooks)
{
    const hftc_train_options *o = t->cfg->o;
    bool by_loss = t->cfg->early_stop == EARLY_STOP_LOSS, by_accuracy = t->cfg->early_stop == EARLY_STOP_ACCURACY;
    bool by_weighted = t->cfg->early_stop == EARLY_STOP_WEIGHTED_F1;
    double total_start = now_seconds();
    epoch_state s = {.best = INFINITY, .epochs = json_array()};
    json_object_set_new(record, "epochs", s.epochs);
    t->backup_synced = false; /* whatever set the values (a transfer, a checkpoint) marked no rows */
    if (hooks && hooks->start)
        TRY(hooks->start(t, &s, hooks->user));
    /* SGD recovers from a diverging epoch (below): it goes back to the best epoch's weights, the start's until
     * one is done, which the backup then holds, and to the batch order from there. */
    bool recovers = t->cfg->optimizer == OPTIMIZER_SGD;
    free(t->first_order);
    t->first_order = recovers ? mem_alloc(tr->n, sizeof *t->first_order) : NULL;
    if (recovers && !t->first_order)
        return HFTC_STATUS_OUT_OF_MEMORY;
    t->first_loss = NAN; /* until the first batch (a continued training: never) */
    if (recovers) {
        memcpy(t->first_order, tr->idx, tr->n * sizeof *t->first_order);
        if (s.best_epoch == 0)
            params_backup(t, false);
    }
    json_t *restarts = recovers ? json_array() : NULL;
    if (recovers)
        json_object_set_new(record, "restarts", restarts);
    rng order_rng;
    order_after(t, tr, &order_rng, s.epoch); /* the batch orders of the epochs done, which the next one continues */
    bool stop = false;
    while (!stop && s.epoch < o->epochs) {
        size_t epoch = ++s.epoch;
        double t0 = now_seconds();
        float train_loss = train_epoch(t, tr, epoch, &order_rng);
        float valid_loss = valid_predict(t, va);
        TRY(t->step_status); /* a failed sum of the shares: the same on every process */
        bool diverged = !(isfinite(train_loss) && isfinite(valid_loss) && !(train_loss > t->first_loss));
        if (recovers && diverged && json_array_size(restarts) < MAX_RESTARTS) {
            diverged_restart(t, tr, &s, &order_rng, restarts);
            continue;
        }
        metrics mt;
        TRY(valid_metrics(t, va, o->threshold, &mt));
        double valid_f1 = mt.micro_f1, weighted_f1 = mt.weighted_f1;
        if (o->tune_threshold) { /* the final threshold is not known yet: each epoch is judged at its best */
            gold_sets gold = {va->n, t->part->n_outputs, t->valid_gold_start, t->valid_gold};
            float unused;
            TRY(threshold_search_best(t->valid_probs, t->part->n_outputs, &gold, false, &unused, &valid_f1));
            if (by_weighted)
                TRY(threshold_search_best(t->valid_probs, t->part->n_outputs, &gold, true, &unused, &weighted_f1));
        }
        double accuracy = by_accuracy ? valid_accuracy(t, va) : 0.0;
        double score = by_loss ? (double)valid_loss : by_accuracy ? -accuracy : by_weighted ? -weighted_f1 : -valid_f1;
        bool improved = score < s.best;
        double lr = t->opt.groups[GROUP_DEFAULT].lr;
        if (improved) {
            s.best = score, s.best_epoch = epoch, s.since_best = s.since_lr = 0;
            params_backup(t, false);
        } else {
            s.since_best++, s.since_lr++;
        }
        double seconds = now_seconds() - t0;
        json_t *e =
            json_pack("{s:I, s:f, s:f, s:f, s:f, s:f}", "epoch", (json_int_t)epoch, "train_loss", (double)train_loss,
                      "valid_loss", (double)valid_loss, "valid_micro_f1", valid_f1, "lr", lr, "seconds", seconds);
        if (by_accuracy)
            json_object_set_new(e, "valid_accuracy", json_real(accuracy));
        if (by_weighted)
            json_object_set_new(e, "valid_weighted_f1", json_real(weighted_f1));
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
    params_backup(t, true);
    double total = s.seconds + (now_seconds() - total_start);
    json_object_set_new(record, "epochs_run", json_integer((json_int_t)s.epoch));
    json_object_set_new(record, "best_epoch", json_integer((json_int_t)s.best_epoch));
    json_object_set_new(record, "train_seconds", json_real(total));
    if (!t->quiet)
        log_info("%s, %zu labels: trained %zu epochs in %.1f s; best epoch %zu", t->part->name, t->part->n_outputs,
                 s.epoch, total, s.best_epoch);
    if (t->data_parallel && hftc_distributed_size() > 1 && hftc_distributed_rank() == 0 && t->steps && t->validations)
        log_info("%s: MPI: %.3f MB a training step (%zu steps), %.3f MB a validation, summed and gathered across %d "
                 "ranks",
                 t->part->name, (double)t->step_bytes / (double)t->steps / 1e6, t->steps,
                 (double)t->valid_bytes / (double)t->validations / 1e6, hftc_distributed_size());
    return HFTC_STATUS_OK;
}
