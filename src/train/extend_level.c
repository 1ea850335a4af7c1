/* hftc_extend's flat and level networks. A level's new labels get a branch: a network of their own, started from
 * the level's (every tensor but the output layer: transfer) and reading its embedding, which trains whole while the
 * level's network stays as it was. Or (--grow-rows) the level's network grows by their output rows, which train
 * while every other weight keeps its value (the trainer puts them back after every step: keep_ranges), or with
 * --tune-head the whole head trains. A level the model lacked trains whole, as the level strategy trains it. */
#include "core/error.h"
#include "core/log.h"
#include "model/transfer.h"
#include "train/lifecycle.h"
#include "train/level_docs.h"
#include "train/strategy.h"

#include <stdlib.h>
#include <string.h>

static bool is_head(const char *name)
{
    return !strncmp(name, "fc1.", 4) || !strncmp(name, "bn.", 3) || !strncmp(name, "out.", 4);
}

// Part's values from the old part's: every tensor of the same size, and the output rows of the labels the model
// had (is_new[j]: output j is a new label's, which keeps its initial values). False when a tensor other than the
// output layer has no counterpart of its size (the networks do not match).
static bool copy_old_values(const hftc_model *old, const model_part *op, hftc_model *m, model_part *part,
                            const bool *is_new)
{
    param_set *to = network_params(part->net), *from = network_params(op->net);
    bool matched = true;
    for (size_t i = 0; i < to->n_tensors; i++) {
        tensor *t = &to->tensors[i];
        const tensor *s = params_find(from, t->name);
        bool rows = !strcmp(t->name, "out.weight") || !strcmp(t->name, "out.bias");
        if (s && !rows && s->size == t->size)
            memcpy(t->value, s->value, t->size * sizeof(float));
        else if (!rows)
            matched = false;
        size_t width = rows ? t->size / part->n_outputs : 0;
        for (size_t j = 0; s && rows && j < part->n_outputs; j++) {
            const char *label = strmap_string(&m->tax.names, part->nodes[j]);
            for (size_t k = 0; !is_new[j] && k < op->n_outputs; k++)
                if (!strcmp(label, strmap_string(&old->tax.names, op->nodes[k])))
                    memcpy(t->value + j * width, s->value + k * width, width * sizeof(float));
        }
    }
    return matched;
}

// The ranges of part's values that stay (pairs: first float, count), into *out; the embedding is frozen instead.
static hftc_status keep_ranges(trainer *t, const model_part *part, const bool *is_new, bool tune_head, size_t **out,
                               size_t *n)
{
    param_set *ps = network_params(part->net);
    const float *base = (const float *)ps->values.base;
    size_t cap = 2 * (ps->n_tensors + 2 * part->n_outputs + 1), *r = mem_alloc(cap, sizeof *r), k = 0;
    if (!r)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < ps->n_tensors; i++) {
        const tensor *x = &ps->tensors[i];
        size_t at = (size_t)(x->value - base);
        bool rows = !strcmp(x->name, "out.weight") || !strcmp(x->name, "out.bias");
        if (!strcmp(x->name, "embedding.weight")) {
            t->opt.groups[x->group].frozen = t->frozen[x->group] = true; /* no gradient, no step */
        } else if (!is_head(x->name) || (!tune_head && !rows)) {
            r[k++] = at, r[k++] = x->size;
        } else if (!tune_head) { /* the old rows of the output layer */
            size_t width = x->size / part->n_outputs;
            for (size_t j = 0; j < part->n_outputs; j++)
                if (!is_new[j]) {
                    if (k && r[k - 2] + r[k - 1] == at + j * width)
                        r[k - 1] += width;
                    else
                        r[k++] = at + j * width, r[k++] = width;
                }
        }
    }
    *out = r, *n = k / 2;
    return HFTC_STATUS_OK;
}

hftc_status level_part_train(const train_config *cfg, hftc_model *m, size_t p, const float *label_weights,
                             const bool *is_new, bool tune_head, bool from_trained, split *tr, split *va, json_t *parts)
{
    const hftc_train_options *o = cfg->o;
    model_part *part = &m->parts[p];
    bool single = m->net_config.head == HEAD_SOFTMAX;
    split part_tr = {0}, part_va = {0};
    hftc_status st = level_docs_split(cfg->level_docs, single, &m->tax, part, tr, "training", &part_tr);
    if (st == HFTC_STATUS_OK)
        st = level_docs_split(cfg->level_docs, single, &m->tax, part, va, "validation", &part_va);
    size_t held = 0;
    if (st == HFTC_STATUS_OK)
        st = level_docs_hold_out(&m->tax, part, o->valid_fraction, o->seed, &part_tr, &part_va, &held);
    if (st == HFTC_STATUS_OK && (part_tr.n == 0 || part_va.n == 0))
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: no training or no validation documents", part->name);
    json_t *record = json_pack("{s:s, s:I, s:I, s:I}", "part", part->name, "outputs", (json_int_t)part->n_outputs,
                               "train_docs", (json_int_t)part_tr.n, "valid_docs", (json_int_t)part_va.n);
    json_array_append_new(parts, record);
    trainer t = {0};
    size_t *ranges = NULL, n_ranges = 0;
    float *keep = NULL;
    param_set *ps = network_params(part->net);
    if (st == HFTC_STATUS_OK)
        st = network_set_mode(part->net, NETWORK_TRAINING);
    if (st == HFTC_STATUS_OK)
        st = trainer_init(&t, cfg, m, part, &part_va, false);
    t.from_trained = from_trained;
    if (st == HFTC_STATUS_OK && label_weights)
        st = trainer_set_label_weights(&t, label_weights);
    if (st == HFTC_STATUS_OK && is_new) {
        st = keep_ranges(&t, part, is_new, tune_head, &ranges, &n_ranges);
        keep = st == HFTC_STATUS_OK ? mem_alloc(ps->values.used / sizeof *keep, sizeof *keep) : NULL;
        if (st == HFTC_STATUS_OK && !keep)
            st = HFTC_STATUS_OUT_OF_MEMORY;
        if (keep)
            memcpy(keep, ps->values.base, ps->values.used);
        t.keep_values = keep, t.keep_ranges = ranges, t.n_keep_ranges = n_ranges;
    }
    if (st == HFTC_STATUS_OK)
        st = run_training(&t, &part_tr, &part_va, record, NULL);
    trainer_free(&t);
    free(keep), free(ranges), free(part_tr.idx), free(part_va.idx);
    if (st == HFTC_STATUS_OK)
        st = network_set_mode(part->net, NETWORK_INFERENCE);
    return st == HFTC_STATUS_OK ? model_share_part_workspace(m, p) : st;
}

// The index of the part of level's own network (branch 0) among parts, or MODEL_NO_PART.
static size_t own_part(const model_part *parts, size_t n, size_t level)
{
    for (size_t q = 0; q < n; q++)
        if (parts[q].level == level && parts[q].branch == 0)
            return q;
    return MODEL_NO_PART;
}

// Part p from its old part op's values (MODEL_NO_PART: a new branch from its level's network in old, a new level
// from the level above, as a training starts it), then trained.
static hftc_status extend_part(const train_config *cfg, const hftc_model *old, hftc_model *m, size_t p, size_t op,
                               const float *label_weights, bool *is_new, bool tune_head, split *tr, split *va,
                               json_t *parts)
{
    model_part *part = &m->parts[p];
    rng r;
    rng_seed(&r, cfg->o->seed, 0x1417 + p);
    network_init(part->net, &r);
    size_t from = part->branch > 0 ? own_part(old->parts, old->n_parts, part->level) : MODEL_NO_PART;
    size_t above = part->level > 1 ? own_part(m->parts, p, part->level - 1) : MODEL_NO_PART;
    bool matched = true;
    if (op != MODEL_NO_PART) {
        matched = copy_old_values(old, &old->parts[op], m, part, is_new);
    } else if (from != MODEL_NO_PART) { /* every output is new: their rows keep their initial values */
        for (size_t j = 0; j < part->n_outputs; j++)
            is_new[j] = true;
        matched = copy_old_values(old, &old->parts[from], m, part, is_new);
        log_info("%s starts from %s", part->name, old->parts[from].name);
    } else if (cfg->transfer == TRANSFER_FINETUNE && above != MODEL_NO_PART) {
        transfer_with_groups(cfg, part->net, m->parts[above].net);
    }
    if (!matched)
        return error_set(HFTC_STATUS_MODEL, "%s's network does not match the model's options", part->name);
    return level_part_train(cfg, m, p, label_weights, op != MODEL_NO_PART ? is_new : NULL, tune_head,
                            op != MODEL_NO_PART || from != MODEL_NO_PART, tr, va, parts);
}

hftc_status extend_level_parts(const train_config *cfg, const hftc_model *old, hftc_model *m, const size_t *old_part,
                               size_t n_old, bool tune_head, dataset *train, dataset *valid, json_t *parts)
{
    split tr = {0}, va = {0};
    float *label_weights = NULL;
    bool *is_new = mem_alloc(m->tax.n_nodes + 1, sizeof *is_new);
    hftc_status st = is_new ? levels_split(cfg, train, valid, &tr, &va) : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK)
        st = recorded_label_weights(cfg, m, &label_weights);
    for (size_t p = 0; p < m->n_parts && st == HFTC_STATUS_OK; p++) {
        model_part *part = &m->parts[p];
        size_t op = old_part[p], n_new = 0;
        for (size_t j = 0; j < part->n_outputs; j++)
            n_new += is_new[j] = part->nodes[j] >= n_old;
        if (n_new == 0 && op != MODEL_NO_PART) { /* the model's network as it is, less the rows of labels removed */
            param_set *to = network_params(part->net);
            const param_set *from = network_params(old->parts[op].net);
            if (to->values.used == from->values.used)
                memcpy(to->values.base, from->values.base, to->values.used);
            else if (!copy_old_values(old, &old->parts[op], m, part, is_new))
                st = error_set(HFTC_STATUS_MODEL, "%s's network does not match the model's options", part->name);
            continue;
        }
        log_info("%s: %zu new output%s of %zu train%s", part->name, n_new, n_new == 1 ? "" : "s", part->n_outputs,
                 op != MODEL_NO_PART ? (tune_head ? " with the head" : "")
                 : part->branch > 0  ? " (a branch: a network of their own)"
                                     : " (a new level: all of it trains)");
        st = extend_part(cfg, old, m, p, op, label_weights, is_new, tune_head, &tr, &va, parts);
    }
    free(is_new), free(tr.idx), free(va.idx), free(label_weights);
    return st;
}
