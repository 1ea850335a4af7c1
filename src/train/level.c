/* The flat and level strategies: the model's networks (one, or one per taxonomy level) trained in
 * order, a level's network possibly starting from the one before (HFT-CNN's fine-tuning), continued from
 * a checkpoint at the level and epoch it reached. Under MPI every rank trains each network together
 * (data-parallel: trainer.c), all from the same checkpoint; rank 0 decides the time limit and writes the
 * checkpoint. */
#include "core/distributed.h"
#include "core/error.h"
#include "core/log.h"
#include "model/safetensors.h"
#include "model/transfer.h"
#include "train/checkpoint.h"
#include "train/data_parallel.h"
#include "train/level_docs.h"
#include "train/strategy.h"
#include "train/trainer.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static hftc_status init_embeddings(const train_config *cfg, hftc_model *m, network *net, rng *r)
{
    const hftc_train_options *o = cfg->o;
    tensor *emb = params_find(network_params(net), "embedding.weight"); /* NULL: it reads the shared table */
    if (!o->embeddings_path || !emb)
        return HFTC_STATUS_OK;
    size_t found;
    TRY(wordvec_load(o->embeddings_path, cfg->vectors_format, &m->vocab, m->net_config.embed_dim, emb->value, r,
                     &found));
    log_info("%s: vectors for %zu of %zu vocabulary words (%.1f%%)", o->embeddings_path, found, vocab_size(&m->vocab),
             100.0 * (double)found / (double)vocab_size(&m->vocab));
    return HFTC_STATUS_OK;
}

/* The joint embedding's prefix for a part of level (> 1): every document's true category at level - 1. */
static hftc_status true_parents(const hftc_model *m, const dataset *ds, size_t level, uint32_t **out)
{
    uint32_t *parent = mem_alloc(ds->n_docs ? ds->n_docs : 1, sizeof *parent);
    if (!parent)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t d = 0; d < ds->n_docs; d++)
        parent[d] = model_label_at_level(m, ds, d, level - 1);
    *out = parent;
    return HFTC_STATUS_OK;
}

/* Whether part p of m needs no training: a parent part's softmax over one child is 1 whatever it reads. */
static bool constant_part(const hftc_model *m, size_t p)
{
    return m->parts[p].of_node && m->parts[p].n_outputs == 1 && m->net_config.head == HEAD_SOFTMAX;
}

/* The part whose network part p starts from with --transfer finetune: a level's, the level before; a parent part's,
 * the part whose outputs hold its node (the nearest above it that trained: a constant part's values are its
 * initial ones); MODEL_NO_PART for none. */
static size_t transfer_source(const hftc_model *m, size_t p)
{
    if (!m->parts[p].of_node)
        return p > 0 ? p - 1 : MODEL_NO_PART;
    size_t from = m->parts[p].parent_part;
    while (from != MODEL_NO_PART && constant_part(m, from))
        from = m->parts[from].parent_part;
    return from;
}

/* The documents part trains (*part_tr) and is validated on (*part_va) among tr and va, recorded in part_record. A
 * parent part deep in the taxonomy may have no validation document: then some of its training documents validate
 * it (level_docs_hold_out), or with fewer than two to spare, all of them (said, and recorded). */
static hftc_status part_splits(const train_config *cfg, const hftc_model *m, const model_part *part, split *tr,
                               split *va, json_t *part_record, split *part_tr, split *part_va)
{
    const hftc_train_options *o = cfg->o;
    bool single = m->net_config.head == HEAD_SOFTMAX;
    hftc_status st = level_docs_split(cfg->level_docs, single, &m->tax, part, tr, "training", part_tr);
    if (st == HFTC_STATUS_OK)
        st = level_docs_split(cfg->level_docs, single, &m->tax, part, va, "validation", part_va);
    if (st == HFTC_STATUS_OK && (part_tr->n == 0 || (part_va->n == 0 && !part->of_node)))
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: no training or no validation documents", part->name);
    size_t held = 0;
    if (st == HFTC_STATUS_OK)
        st = level_docs_hold_out(&m->tax, part, o->valid_fraction, o->seed, part_tr, part_va, &held);
    if (held) {
        log_warn("%s: no validation document has a label among its %zu outputs, so early stopping would watch "
                 "nothing but the loss of all-negative answers: %zu of its training documents validate it instead",
                 part->name, part->n_outputs, held);
        json_object_set_new(part_record, "valid_held_out", json_integer((json_int_t)held));
    }
    if (st == HFTC_STATUS_OK && part_va->n == 0) {
        log_warn("%s: no validation document, and %zu training document%s: %s validate%s it", part->name, part_tr->n,
                 part_tr->n == 1 ? "" : "s", part_tr->n == 1 ? "it" : "they", part_tr->n == 1 ? "s" : "");
        free(part_va->idx);
        part_va->idx = mem_alloc(part_tr->n, sizeof *part_va->idx);
        if (!part_va->idx)
            return HFTC_STATUS_OUT_OF_MEMORY;
        memcpy(part_va->idx, part_tr->idx, part_tr->n * sizeof *part_va->idx);
        *part_va = (split){part_tr->ds, part_va->idx, part_tr->n, NULL};
        json_object_set_new(part_record, "valid_on_training", json_true());
    }
    json_object_set_new(part_record, "train_docs", json_integer((json_int_t)part_tr->n));
    json_object_set_new(part_record, "valid_docs", json_integer((json_int_t)part_va->n));
    return st;
}

/* Trains part p of the model (a level after the first may start from the one before, a parent part from its
 * node's); appends its record to parts. hooks: NULL, or how its epochs continue a checkpoint and save to it. */
static hftc_status train_part(const train_config *cfg, hftc_model *m, size_t p, const float *label_weights, split *tr,
                              split *va, json_t *parts, const epoch_hooks *hooks)
{
    const hftc_train_options *o = cfg->o;
    model_part *part = &m->parts[p];
    rng r;
    rng_seed(&r, o->seed, 0x1417 + p);
    network_init(part->net, &r);
    json_t *part_record = json_object();
    json_array_append_new(parts, part_record);
    json_object_set_new(part_record, "part", json_string(part->name));
    json_object_set_new(part_record, "outputs", json_integer((json_int_t)part->n_outputs));
    if (constant_part(m, p)) {
        log_info("%s: one output, whose softmax is 1 whatever the document: not trained", part->name);
        json_object_set_new(part_record, "not_trained", json_string("one output: its softmax is always 1"));
        return HFTC_STATUS_OK;
    }
    size_t from = cfg->transfer == TRANSFER_FINETUNE ? transfer_source(m, p) : MODEL_NO_PART;
    if (from != MODEL_NO_PART) {
        size_t n = transfer_with_groups(cfg, part->net, m->parts[from].net);
        log_info("%s starts from %s: %zu tensors (%s)", part->name, m->parts[from].name, n, o->transfer_layers);
        json_object_set_new(part_record, "starts_from", json_string(m->parts[from].name));
    }
    /* an embedding the level above does not hand down starts from the word vectors, as the first level's */
    if (from == MODEL_NO_PART || !transfer_layer_listed("embedding.weight", cfg->transfer_layers))
        TRY(init_embeddings(cfg, m, part->net, &r));
    trainer t = {0};
    // Gradients, moments and backward buffers exist for one part at a time: memory grows with the
    // taxonomy only by the parameter values of the parts already trained.
    // The level trains and validates on the documents level_docs_split chooses (--level-docs; a
    // single-label head: those with a label among its outputs; a parent part: its node's). Each level shuffles
    // its own copy of them: its batches do not depend on the levels before it (nor on whether they were trained
    // in this call or came with a checkpoint).
    split part_tr = {0}, part_va = {0};
    hftc_status st = part_splits(cfg, m, part, tr, va, part_record, &part_tr, &part_va);
    // The joint embedding: below the top level, each document is read after its true parent's words.
    uint32_t *train_prefix = NULL, *valid_prefix = NULL;
    if (st == HFTC_STATUS_OK && m->joint_embedding && part->level > 1) {
        st = true_parents(m, part_tr.ds, part->level, &train_prefix);
        if (st == HFTC_STATUS_OK && part_va.ds != part_tr.ds)
            st = true_parents(m, part_va.ds, part->level, &valid_prefix);
        part_tr.prefix = train_prefix;
        part_va.prefix = valid_prefix ? valid_prefix : train_prefix;
    }
    if (st == HFTC_STATUS_OK)
        st = network_set_mode(part->net, NETWORK_TRAINING);
    if (st == HFTC_STATUS_OK)
        st = trainer_init(&t, cfg, m, part, &part_va, true);
    if (st == HFTC_STATUS_OK && label_weights)
        st = trainer_set_label_weights(&t, label_weights);
    if (st == HFTC_STATUS_OK)
        st = run_training(&t, &part_tr, &part_va, part_record, hooks);
    if (st == HFTC_STATUS_OK)
        st = dp_check_same_weights(network_params(part->net), part->name);
    trainer_free(&t);
    free(train_prefix), free(valid_prefix), free(part_tr.idx), free(part_va.idx);
    return st;
}

/* The level strategy's checkpoint: what the training depends on (with the word vectors' file), and the checkpoint's
 * record of the levels when it continues one (*done: one entry per part: the record of each level trained, then
 * possibly {"in_progress": ...} for the level in training, then nulls; NULL without a checkpoint file). */
static hftc_status level_checkpoint_start(const train_config *cfg, hftc_model *m, const split *tr, const split *va,
                                          checkpoint *ck, json_t **done)
{
    const hftc_train_options *o = cfg->o;
    *done = NULL;
    const split *splits[] = {tr, va};
    hftc_status st = checkpoint_init(ck, cfg, m, splits, 2, NULL); /* the vectors' bytes, not their table */
    if (st == HFTC_STATUS_OK)
        st = checkpoint_resume(ck, m, done);
    bool gap = false; /* levels train in order: the trained ones come first */
    for (size_t p = 0; st == HFTC_STATUS_OK && p < json_array_size(*done); p++) {
        json_t *entry = json_array_get(*done, p);
        bool in_progress = json_is_object(json_object_get(entry, "in_progress"));
        if ((!json_is_object(entry) && !json_is_null(entry)) || (gap && json_is_object(entry)))
            st = error_set(HFTC_STATUS_MODEL,
                           "checkpoint %s cannot be continued (remove it to start over): its record of the levels "
                           "does not match",
                           o->checkpoint_path);
        gap = gap || json_is_null(entry) || in_progress;
    }
    if (st != HFTC_STATUS_OK) {
        json_decref(*done);
        *done = NULL;
    }
    return st;
}

/* Saves the level checkpoint: the model, the records of the n_done levels trained (parts' first entries),
 * the level in training's (in_progress: NULL when none) and nulls for the others, with n_state
 * training-state tensors. */
static hftc_status level_checkpoint_save(checkpoint *ck, const hftc_model *m, const json_t *parts, size_t n_done,
                                         json_t *in_progress, const st_tensor *state, size_t n_state)
{
    if (hftc_distributed_rank() != 0) /* under MPI every rank holds the same training: rank 0 writes it */
        return HFTC_STATUS_OK;
    json_t *entries = json_array();
    for (size_t p = 0; entries && p < n_done; p++)
        json_array_append(entries, json_array_get(parts, p));
    if (entries && in_progress)
        json_array_append_new(entries, json_pack("{s:O}", "in_progress", in_progress));
    while (entries && json_array_size(entries) < m->n_parts)
        json_array_append_new(entries, json_null());
    json_t *partial = in_progress && n_done < m->n_parts ? json_pack("{s:s, s:O}", "part", m->parts[n_done].name,
                                                                     "epochs", json_object_get(in_progress, "epoch"))
                                                         : json_null();
    json_t *summary = json_pack("{s:s, s:I, s:I, s:o}", "units", "levels", "done", (json_int_t)n_done, "total",
                                (json_int_t)m->n_parts, "in_progress", partial);
    hftc_status st = entries ? checkpoint_save(ck, m, entries, summary, state, n_state)
                             : error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory encoding the checkpoint");
    json_decref(entries);
    return st;
}

#define STATE_BEST_VALUES MODEL_EXTRA_TENSOR_PREFIX "best_values"
#define STATE_ADAM_MOMENTS MODEL_EXTRA_TENSOR_PREFIX "adam_moments"

/* A level's epochs under a checkpoint: continued from the checkpoint's state of the level, saved about
 * once a minute, stopped at the time limit. */
typedef struct {
    checkpoint *ck;
    const hftc_model *m;
    const json_t *parts; /* the records of the levels before it (then its own, in the making) */
    size_t part;
    const json_t *resume; /* the checkpoint's in_progress record of the level, or NULL */
    const void *values;   /* with resume: the level's network values in the checkpoint */
    size_t epochs_done;   /* when it stopped at the time limit */
    bool stopped;
    double call_start;
} level_epochs;

static hftc_status level_epochs_start(trainer *t, epoch_state *s, void *user)
{
    level_epochs *le = user;
    const json_t *r = le->resume;
    if (!r)
        return HFTC_STATUS_OK;
    param_set *ps = network_params(t->part->net);
    const json_t *lr = json_object_get(r, "lr"), *epochs = json_object_get(r, "epochs"),
                 *best = json_object_get(r, "best");
    json_int_t epoch = json_integer_value(json_object_get(r, "epoch"));
    json_int_t step = json_integer_value(json_object_get(r, "adam_step"));
    json_int_t best_epoch = json_integer_value(json_object_get(r, "best_epoch"));
    if (epoch < 1 || (size_t)epoch >= t->cfg->o->epochs || step < 1 || best_epoch < 0 || best_epoch > epoch ||
        !json_is_array(epochs) || json_array_size(epochs) != (size_t)epoch || json_array_size(lr) != t->opt.n_groups ||
        !(json_is_number(best) || json_is_null(best)) || !json_is_number(json_object_get(r, "seconds")))
        return error_set(HFTC_STATUS_MODEL,
                         "checkpoint %s cannot be continued (remove it to start over): its record of %s in training "
                         "does not match",
                         t->cfg->o->checkpoint_path, t->part->name);
    TRY(checkpoint_read_state(le->ck, STATE_BEST_VALUES, t->best_values.base, ps->values.used));
    if (t->cfg->optimizer == OPTIMIZER_ADAM) /* SGD keeps no moments */
        TRY(checkpoint_read_state(le->ck, STATE_ADAM_MOMENTS, ps->moments.base, ps->moments.used));
    memcpy(ps->values.base, le->values, ps->values.used);
    for (size_t g = 0; g < t->opt.n_groups; g++)
        t->opt.groups[g].lr = (float)json_number_value(json_array_get(lr, g));
    t->opt.step = (size_t)step;
    s->epoch = (size_t)epoch;
    s->best = json_is_null(best) ? INFINITY : json_number_value(best);
    s->best_epoch = (size_t)best_epoch;
    s->since_best = (size_t)json_integer_value(json_object_get(r, "since_best"));
    s->since_lr = (size_t)json_integer_value(json_object_get(r, "since_lr"));
    s->seconds = json_number_value(json_object_get(r, "seconds"));
    json_array_extend(s->epochs, (json_t *)epochs);
    log_info("%s continues from %s after epoch %zu", t->part->name, t->cfg->o->checkpoint_path, s->epoch);
    return HFTC_STATUS_OK;
}

static hftc_status level_epochs_after(trainer *t, const epoch_state *s, void *user)
{
    level_epochs *le = user;
    bool up = dist_rank0_decides(checkpoint_time_up(le->ck)); /* every rank stops at the same epoch */
    if (!up && !(hftc_distributed_rank() == 0 && checkpoint_due(le->ck)))
        return HFTC_STATUS_OK;
    param_set *ps = network_params(t->part->net);
    json_t *lr = json_array();
    for (size_t g = 0; g < t->opt.n_groups; g++)
        json_array_append_new(lr, json_real(t->opt.groups[g].lr));
    json_t *record = json_pack("{s:I, s:o, s:I, s:I, s:I, s:f, s:o, s:I, s:O}", "epoch", (json_int_t)s->epoch, "best",
                               isfinite(s->best) ? json_real(s->best) : json_null(), "best_epoch",
                               (json_int_t)s->best_epoch, "since_best", (json_int_t)s->since_best, "since_lr",
                               (json_int_t)s->since_lr, "seconds", s->seconds + (now_seconds() - le->call_start), "lr",
                               lr, "adam_step", (json_int_t)t->opt.step, "epochs", s->epochs);
    const st_tensor state[] = {{.name = STATE_BEST_VALUES,
                                .ndim = 1,
                                .shape = {ps->values.used / sizeof(float)},
                                .data = (const float *)t->best_values.base},
                               {.name = STATE_ADAM_MOMENTS,
                                .ndim = 1,
                                .shape = {ps->moments.used / sizeof(float)},
                                .data = (const float *)ps->moments.base}};
    size_t n_state = t->cfg->optimizer == OPTIMIZER_ADAM ? 2 : 1;
    hftc_status st = record ? level_checkpoint_save(le->ck, le->m, le->parts, le->part, record, state, n_state)
                            : error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory encoding the checkpoint");
    json_decref(record);
    TRY(st);
    if (!up)
        return HFTC_STATUS_OK;
    le->stopped = true, le->epochs_done = s->epoch;
    return HFTC_STATUS_INCOMPLETE;
}

/* The training split and the validation split (a seeded hold-out when no file is given). */
hftc_status levels_split(const train_config *cfg, dataset *train, dataset *valid, split *tr, split *va)
{
    const hftc_train_options *o = cfg->o;
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

/* Each level's validation documents, chosen before any level trains: a level left without any (a small
 * validation split under --level-docs reach, or no single-label document at its level) stops the training
 * before the levels above it have spent their time. */
static hftc_status check_valid_docs(const train_config *cfg, const hftc_model *m, const split *va)
{
    bool single = m->net_config.head == HEAD_SOFTMAX;
    for (size_t p = 0; p < m->n_parts; p++) {
        if (m->parts[p].of_node) /* a parent part without any is validated on its training documents */
            continue;
        split chosen;
        TRY(level_docs_split(cfg->level_docs, single, &m->tax, &m->parts[p], va, "validation", &chosen));
        free(chosen.idx);
        if (chosen.n == 0)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: no validation document %s", m->parts[p].name,
                             single ? "has a label at its level"
                                    : "has a category at its level or the one above (--level-docs reach; all "
                                      "takes every document)");
    }
    return HFTC_STATUS_OK;
}

/* Trains m's parts in order on tr, validated on va (label_weights: the BCE positive weight of each label, or
 * NULL); continues from the checkpoint when it exists, at the level and epoch it reached, and saves the work
 * done there after each level and about once a minute. */
static hftc_status train_level_parts(const train_config *cfg, hftc_model *m, const float *label_weights, split *tr,
                                     split *va, json_t *record)
{
    const hftc_train_options *o = cfg->o;
    json_t *parts = json_array(), *done;
    json_object_set_new(record, "parts", parts);
    checkpoint ck;
    TRY(check_valid_docs(cfg, m, va));
    if (m->shared_embedding) /* parent parts reading one frozen table (a checkpoint holds the same values) */
        TRY(embedding_start_table(cfg, m, m->shared_embedding));
    TRY(level_checkpoint_start(cfg, m, tr, va, &ck, &done));
    hftc_status same = checkpoint_same_on_every_rank(&ck, done);
    if (same != HFTC_STATUS_OK) {
        json_decref(done);
        return same;
    }
    size_t trained_now = 0, from_checkpoint = 0;
    hftc_status st = HFTC_STATUS_OK;
    for (size_t p = 0; p < m->n_parts && st == HFTC_STATUS_OK; p++) {
        json_t *entry = json_array_get(done, p), *in_progress = json_object_get(entry, "in_progress");
        bool finished = json_is_object(entry) && !in_progress;
        if (finished) { /* its network came with the checkpoint */
            json_array_append(parts, entry);
            from_checkpoint++;
        } else if (trained_now > 0 && dist_rank0_decides(checkpoint_time_up(&ck))) {
            st = level_checkpoint_save(&ck, m, parts, p, NULL, NULL, 0);
            if (st == HFTC_STATUS_OK)
                st = checkpoint_incomplete(&ck, p, m->n_parts, "levels", NULL);
            break;
        } else {
            param_set *ps = network_params(m->parts[p].net);
            level_epochs le = {
                .ck = &ck, .m = m, .parts = parts, .part = p, .resume = in_progress, .call_start = now_seconds()};
            void *values = in_progress ? malloc(ps->values.used) : NULL; /* restored, before the level starts */
            if (values)
                memcpy(values, ps->values.base, ps->values.used);
            le.values = values;
            epoch_hooks hooks = {level_epochs_start, level_epochs_after, &le};
            st = in_progress && !values
                     ? HFTC_STATUS_OUT_OF_MEMORY
                     : train_part(cfg, m, p, label_weights, tr, va, parts, o->checkpoint_path ? &hooks : NULL);
            free(values);
            if (le.stopped) {
                char where[96];
                snprintf(where, sizeof where, "%s at epoch %zu", m->parts[p].name, le.epochs_done);
                st = m->n_parts == 1 ? checkpoint_incomplete(&ck, le.epochs_done, o->epochs, "epochs", NULL)
                                     : checkpoint_incomplete(&ck, p, m->n_parts, "levels", where);
                break;
            }
            trained_now++;
        }
        if (st == HFTC_STATUS_OK)
            st = network_set_mode(m->parts[p].net, NETWORK_INFERENCE);
        if (st == HFTC_STATUS_OK)
            st = model_share_part_workspace(m, p);
        if (st == HFTC_STATUS_OK && o->checkpoint_path && !finished)
            st = level_checkpoint_save(&ck, m, parts, p + 1, NULL, NULL, 0);
    }
    json_decref(done);
    TRY(st);
    double seconds = checkpoint_seconds(&ck);
    json_object_set_new(record, "train_seconds", json_real(seconds));
    if (from_checkpoint)
        json_object_set_new(record, "levels_from_checkpoint", json_integer((json_int_t)from_checkpoint));
    if (m->n_parts > 1)
        log_info("%zu %s models trained in %.1f s in all", m->n_parts,
                 m->strategy == STRATEGY_PARENT ? "parent" : "level", seconds);
    return HFTC_STATUS_OK;
}

const strategy_ops strategy_levels_ops = {.split = levels_split, .train = train_level_parts};
