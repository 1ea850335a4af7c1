/* hftc_extend: a trained model given the categories a new taxonomy adds, without retraining what it has. The
 * extended model's taxonomy is the new one with the model's labels first, in the model's order (so its label
 * ids, node tensor names and output rows stay where they were) and the new labels after them. Node models:
 * each new category's classifier trains as the node strategy trains it (node_train_partial), starting from its
 * parent's; every other classifier is the model's. Level and flat models: each level's new labels get a branch, a
 * network of their own started from the level's, or with --grow-rows the level's network grows by their output rows,
 * which alone train (extend_level.c). The options are the model's training record's. */
#include "core/error.h"
#include "core/log.h"
#include "model/model.h"
#include "train/lifecycle.h"
#include "train/options.h"
#include "train/strategy.h"
#include "train/thresholds.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void hftc_extend_options_init(hftc_extend_options *o)
{
    *o = (hftc_extend_options){.taxonomy_format = "auto", .format = "auto"};
}

// Whether label c of a has the same parents in b (by name; the root as none).
static bool same_parents(const taxonomy *a, uint32_t c, const taxonomy *b, size_t id)
{
    if (a->parent_start[c + 1] - a->parent_start[c] != b->parent_start[id + 1] - b->parent_start[id])
        return false;
    for (size_t i = a->parent_start[c]; i < a->parent_start[c + 1]; i++) {
        uint32_t pa = a->parents[i];
        bool found = false;
        for (size_t j = b->parent_start[id]; j < b->parent_start[id + 1] && !found; j++) {
            uint32_t pb = b->parents[j];
            found = pa == TAXONOMY_ROOT || pb == TAXONOMY_ROOT
                        ? pa == pb
                        : !strcmp(strmap_string(&a->names, pa), strmap_string(&b->names, pb));
        }
        if (!found)
            return false;
    }
    return true;
}

// The model's labels the new taxonomy lacks or puts under other parents: refused unless allowed, else listed in
// removed and left out (kept[c] false).
static hftc_status check_removals(const hftc_extend_options *o, const taxonomy *old, const taxonomy *nt, bool *kept,
                                  json_t *removed)
{
    for (uint32_t c = 0; c < old->n_nodes; c++) {
        const char *name = strmap_string(&old->names, c);
        size_t id = strmap_find(&nt->names, name, strlen(name));
        bool gone = id == STRMAP_NONE || id >= nt->n_nodes;
        kept[c] = !gone && same_parents(old, c, nt, id);
        if (kept[c])
            continue;
        if (!o->allow_removal)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             gone ? "category \"%s\" of %s is not in %s: a category is removed only with "
                                    "--allow-removal (which drops it from the model)"
                                  : "category \"%s\" of %s has other parents in %s: a category is moved only with "
                                    "--allow-removal (which drops it and trains it anew under its new parents)",
                             name, o->model_path, o->taxonomy_path);
        json_array_append_new(removed, json_string(name));
        log_info("%s: category \"%s\" %s", o->taxonomy_path, name,
                 gone ? "removed: dropped from the model" : "moved: trained anew under its new parents");
    }
    return HFTC_STATUS_OK;
}

// The extended taxonomy into t: the model's kept labels in its order, then the new taxonomy's other labels, with
// the new taxonomy's edges.
static hftc_status merge_taxonomy(taxonomy *t, const taxonomy *old, const bool *kept, const taxonomy *nt)
{
    size_t id;
    for (uint32_t c = 0; c < old->n_nodes; c++)
        if (kept[c])
            TRY(strmap_intern(&t->names, strmap_string(&old->names, c), strlen(strmap_string(&old->names, c)), &id));
    for (uint32_t c = 0; c < nt->n_nodes; c++)
        TRY(strmap_intern(&t->names, strmap_string(&nt->names, c), strlen(strmap_string(&nt->names, c)), &id));
    taxonomy_adopt_names(t);
    for (size_t e = 0; e < nt->n_edges; e++)
        TRY(taxonomy_add_edge(
            t, nt->edge_parent[e] == TAXONOMY_ROOT ? NULL : strmap_string(&nt->names, nt->edge_parent[e]),
            strmap_string(&nt->names, nt->edge_child[e])));
    return taxonomy_finalize(t);
}

// The extended model's frame: old's vocabulary, text options and network sizes over taxonomy t.
static hftc_status model_frame(const hftc_model *old, const train_config *cfg, hftc_model *m)
{
    size_t V = vocab_size(&old->vocab);
    const char **words = mem_alloc(V, sizeof *words);
    if (!words)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < V; i++)
        words[i] = vocab_word(&old->vocab, (uint32_t)i);
    vocab_free(&m->vocab);
    hftc_status st = vocab_from_words(&m->vocab, words, V);
    free(words);
    TRY(st);
    m->tokenizer = old->tokenizer;
    m->strategy = old->strategy;
    m->family = old->family;
    m->node_embedding = old->node_embedding;
    m->scoring = old->scoring;
    m->threshold = old->threshold;
    m->compute = cfg->compute;
    m->batch_capacity = cfg->o->batch;
    m->net_config = old->net_config;
    m->net_config.n_classes = m->tax.n_nodes;
    snprintf(m->preset, sizeof m->preset, "%s", old->preset);
    return HFTC_STATUS_OK;
}

// The old model's part of label c's (node) or level's and branch's (flat, level), or MODEL_NO_PART.
static size_t old_part_of(const hftc_model *old, const hftc_model *m, const model_part *part)
{
    for (size_t q = 0; q < old->n_parts; q++) {
        const model_part *op = &old->parts[q];
        if (m->strategy != STRATEGY_NODE && op->level == part->level && op->branch == part->branch)
            return q;
        if (m->strategy == STRATEGY_NODE &&
            !strcmp(strmap_string(&old->tax.names, op->nodes[0]), strmap_string(&m->tax.names, part->nodes[0])))
            return q;
    }
    return MODEL_NO_PART;
}

// The new categories with training documents get an output, and the model's with an output keep theirs.
static hftc_status outputs_of(const hftc_model *old, const hftc_model *m, const dataset *train, const bool *kept,
                              bool *has_output, json_t *added)
{
    for (size_t q = 0; q < old->n_parts; q++)
        for (size_t j = 0; j < old->parts[q].n_outputs; j++) {
            const char *name = strmap_string(&old->tax.names, old->parts[q].nodes[j]);
            size_t id = strmap_find(&m->tax.names, name, strlen(name));
            if (kept[old->parts[q].nodes[j]] && id < m->tax.n_nodes)
                has_output[id] = true;
        }
    size_t n_old = 0;
    for (uint32_t c = 0; c < old->tax.n_nodes; c++)
        n_old += kept[c];
    bool *seen = mem_calloc(m->tax.n_nodes, sizeof *seen);
    if (!seen)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t j = 0; j < train->label_start[train->n_docs]; j++)
        if (train->labels[j] < m->tax.n_nodes)
            seen[train->labels[j]] = true;
    for (size_t c = n_old; c < m->tax.n_nodes; c++) {
        has_output[c] = seen[c];
        json_array_append_new(added, json_string(strmap_string(&m->tax.names, c)));
        if (!seen[c])
            log_warn("new category \"%s\" has no training document: it gets no output (scores 0)",
                     strmap_string(&m->tax.names, c));
    }
    free(seen);
    return HFTC_STATUS_OK;
}

// Flat and level models: the model's labels keep their branches (m->label_branch); unless grown by rows (o->grow_rows,
// o->tune_head, a softmax head), the new labels with an output at a level the model has a network for go into a new
// branch of that level.
static hftc_status assign_branches(const hftc_extend_options *o, const hftc_model *old, hftc_model *m, size_t n_old,
                                   const bool *has_output)
{
    if (m->strategy == STRATEGY_NODE)
        return HFTC_STATUS_OK;
    bool asked_rows = o->grow_rows || o->tune_head, branch = !asked_rows && m->net_config.head != HEAD_SOFTMAX;
    if (!asked_rows && !branch)
        log_info("a softmax head grows by output rows: its outputs share one normalisation");
    if (!old->label_branch && !branch)
        return HFTC_STATUS_OK;
    size_t C = m->tax.n_nodes, levels = m->tax.depth + 1;
    m->label_branch = mem_calloc(C + 1, sizeof *m->label_branch);
    unsigned *next = mem_calloc(levels, sizeof *next); /* per level: 0, no network of the level; else its next branch */
    if (!m->label_branch || !next) {
        free(next);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t q = 0; q < old->n_parts; q++)
        if (old->parts[q].level < levels && old->parts[q].branch + 1 > next[old->parts[q].level])
            next[old->parts[q].level] = old->parts[q].branch + 1;
    hftc_status st = HFTC_STATUS_OK;
    for (size_t c = 0; c < C && st == HFTC_STATUS_OK; c++) {
        const char *name = strmap_string(&m->tax.names, c);
        size_t id = strmap_find(&old->tax.names, name, strlen(name)),
               level = m->strategy == STRATEGY_FLAT ? 0 : m->tax.level[c];
        if (c < n_old)
            m->label_branch[c] = old->label_branch && id < old->tax.n_nodes ? old->label_branch[id] : 0;
        else if (branch && has_output[c] && next[level] > MODEL_MAX_BRANCH)
            st = error_set(HFTC_STATUS_INVALID_ARGUMENT,
                           "%s: level %zu has %d branches already (--grow-rows adds the "
                           "new categories' rows instead)",
                           o->model_path, level, MODEL_MAX_BRANCH);
        else if (branch && has_output[c] && next[level])
            m->label_branch[c] = (uint8_t)next[level];
    }
    free(next);
    return st;
}

// The model's per-label thresholds carried over (its threshold for the labels it lacked); then, with validation data
// and a training that tuned thresholds, the new labels' tuned on it (as a training tunes them) while the model's stay.
// A model without per-label thresholds gets them so: its threshold for its own labels, the new labels' their own.
static hftc_status tune_new_thresholds(const train_config *cfg, hftc_model *old, hftc_model *m, size_t n_old,
                                       json_t *entry)
{
    const hftc_train_options *to = cfg->o;
    size_t C = m->tax.n_nodes;
    bool tune = to->valid_path && (to->tune_threshold || to->tune_label_thresholds) && n_old < C;
    if (!old->label_thresholds && !tune)
        return HFTC_STATUS_OK;
    float *keep = mem_alloc(C, sizeof *keep);
    if (!keep)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t c = 0; c < C; c++) {
        const char *name = strmap_string(&m->tax.names, c);
        size_t id = strmap_find(&old->tax.names, name, strlen(name));
        keep[c] =
            old->label_thresholds && c < n_old && id < old->tax.n_nodes ? old->label_thresholds[id] : m->threshold;
    }
    dataset valid = {0};
    float *probs = NULL, *scores = NULL;
    gold_sets gold = {0};
    split va = {&valid, NULL, 0, NULL};
    hftc_status st = tune ? model_read_docs(cfg, m, to->valid_path, "in the taxonomy", &valid) : HFTC_STATUS_OK;
    if (tune && st == HFTC_STATUS_OK && !(va.idx = mem_alloc(valid.n_docs ? valid.n_docs : 1, sizeof(size_t))))
        st = HFTC_STATUS_OUT_OF_MEMORY;
    va.n = va.idx ? valid.n_docs : 0;
    for (size_t i = 0; i < va.n; i++)
        va.idx[i] = i;
    if (tune && st == HFTC_STATUS_OK)
        st = valid_scores(m, &va, &probs, &scores, &gold);
    if (tune && st == HFTC_STATUS_OK)
        st = tune_label_thresholds(m, probs, scores, &gold, entry);
    if (st == HFTC_STATUS_OK && !m->label_thresholds) { /* not tuned: the model's carried over */
        m->label_thresholds = keep, keep = NULL;
    } else if (st == HFTC_STATUS_OK) {
        for (size_t c = 0; c < n_old; c++)
            m->label_thresholds[c] = keep[c];
    }
    free(keep), free(probs), free(scores), free(va.idx), free((void *)gold.start), free((void *)gold.labels);
    dataset_free(&valid);
    return st;
}

// Trains the extended model's new outputs (the rest copied from old) and records what was done in entry.
static hftc_status extend_train(const hftc_extend_options *o, const train_config *cfg, hftc_model *old, hftc_model *m,
                                size_t n_old, json_t *record, json_t *entry, dataset *train, dataset *valid)
{
    size_t n_parts = m->n_parts;
    json_t **kept = mem_calloc(n_parts ? n_parts : 1, sizeof *kept);
    if (!kept)
        return HFTC_STATUS_OUT_OF_MEMORY;
    hftc_status st = HFTC_STATUS_OK;
    double start = now_seconds();
    if (m->strategy == STRATEGY_NODE) {
        for (size_t p = 0; p < n_parts && st == HFTC_STATUS_OK; p++) {
            size_t q = m->parts[p].nodes[0] < n_old ? old_part_of(old, m, &m->parts[p]) : MODEL_NO_PART;
            if (q == MODEL_NO_PART)
                continue;
            const param_set *src = network_params(old->parts[q].net);
            param_set *dst = network_params(m->parts[p].net);
            if (src->values.used != dst->values.used)
                st = error_set(HFTC_STATUS_MODEL, "%s: %s's network does not match its options", o->model_path,
                               m->parts[p].name);
            else
                memcpy(dst->values.base, src->values.base, src->values.used);
            m->parts[p].class_weight = old->parts[q].class_weight;
            kept[p] = node_record(record, strmap_string(&m->tax.names, m->parts[p].nodes[0]));
        }
        json_t *trained = json_object();
        if (st == HFTC_STATUS_OK)
            st = node_train_partial(cfg, m, kept, false, train, valid, trained);
        if (st == HFTC_STATUS_OK) {
            json_object_set(record, "nodes", json_object_get(trained, "nodes"));
            json_t *nodes = json_array(), *all = json_object_get(trained, "nodes");
            for (size_t p = 0; p < n_parts; p++) /* the classifiers trained: a kept one's record is kept[p] itself */
                if (json_array_get(all, p) != kept[p])
                    json_array_append(nodes, json_array_get(all, p));
            json_object_set_new(entry, "nodes", nodes);
        }
        json_decref(trained);
    } else {
        size_t *old_part = mem_alloc(n_parts ? n_parts : 1, sizeof *old_part);
        st = old_part ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
        for (size_t p = 0; st == HFTC_STATUS_OK && p < n_parts; p++)
            old_part[p] = old_part_of(old, m, &m->parts[p]);
        json_t *parts = json_array();
        json_object_set_new(entry, "parts", parts);
        if (st == HFTC_STATUS_OK)
            st = extend_level_parts(cfg, old, m, old_part, n_old, o->tune_head != 0, train, valid, parts);
        free(old_part);
    }
    for (size_t p = 0; p < n_parts; p++)
        json_decref(kept[p]);
    free(kept);
    json_object_set_new(entry, "train_seconds", json_real(now_seconds() - start));
    return st;
}

hftc_status extend_model(const hftc_extend_options *o, bool need_additions, hftc_model **out)
{
    if (!o->model_path || !o->taxonomy_path || !o->train_path)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "extend needs a model, a taxonomy and training documents");
    hftc_model *old = NULL, *m = NULL;
    TRY(hftc_model_load(&old, o->model_path));
    json_t *record = NULL, *entry = history_entry("extend"), *added = json_array(), *removed = json_array();
    hftc_train_options to;
    train_config cfg;
    taxonomy nt;
    taxonomy_init(&nt);
    dataset train = {0}, valid = {0};
    bool *kept = NULL, *has_output = NULL;
    hftc_status st = HFTC_STATUS_OK;
    if (old->ensemble || old->family != FAMILY_NEURAL || old->joint_embedding || old->strategy == STRATEGY_PARENT)
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT,
                       "%s: only neural models without the joint embedding are "
                       "extended (not an ensemble, a linear model, HFT-ONLSTM's or a parent model: HDLTex's)",
                       o->model_path);
    if (st == HFTC_STATUS_OK)
        st = recorded_options(o, old, &record, &to);
    if (st == HFTC_STATUS_OK)
        st = train_config_resolve(&to, &cfg);
    if (st == HFTC_STATUS_OK)
        st = taxonomy_load(&nt, o->taxonomy_path, cfg.taxonomy_format);
    if (st == HFTC_STATUS_OK && !(kept = mem_calloc(old->tax.n_nodes + 1, sizeof *kept)))
        st = HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK)
        st = check_removals(o, &old->tax, &nt, kept, removed);
    size_t n_old = 0;
    for (uint32_t c = 0; kept && c < old->tax.n_nodes; c++)
        n_old += kept[c];
    if (st == HFTC_STATUS_OK)
        st = model_create(&m);
    if (st == HFTC_STATUS_OK)
        st = merge_taxonomy(&m->tax, &old->tax, kept, &nt);
    if (st == HFTC_STATUS_OK)
        st = model_frame(old, &cfg, m);
    if (st == HFTC_STATUS_OK)
        st = model_read_docs(&cfg, m, o->train_path, "in the taxonomy", &train);
    if (st == HFTC_STATUS_OK && o->valid_path)
        st = model_read_docs(&cfg, m, o->valid_path, "in the taxonomy", &valid);
    if (st == HFTC_STATUS_OK && !(has_output = mem_calloc(m->tax.n_nodes + 1, sizeof *has_output)))
        st = HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK)
        st = outputs_of(old, m, &train, kept, has_output, added);
    if (st == HFTC_STATUS_OK && need_additions && json_array_size(added) == 0 && json_array_size(removed) == 0)
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s adds no category to %s", o->taxonomy_path, o->model_path);
    if (st == HFTC_STATUS_OK)
        st = assign_branches(o, old, m, n_old, has_output);
    if (st == HFTC_STATUS_OK)
        st = model_build_parts(m, has_output);
    if (st == HFTC_STATUS_OK)
        st = extend_train(o, &cfg, old, m, n_old, record, entry, &train, &valid);
    if (st == HFTC_STATUS_OK)
        st = tune_new_thresholds(&cfg, old, m, n_old, entry);
    if (st == HFTC_STATUS_OK) {
        json_object_set_new(entry, "model", file_entry(o->model_path));
        json_object_set_new(entry, "taxonomy", file_entry(o->taxonomy_path));
        json_object_set_new(entry, "train", file_entry(o->train_path));
        json_object_set_new(entry, "valid", file_entry(o->valid_path));
        json_object_set_new(entry, "tune_head", json_boolean(o->tune_head));
        json_object_set_new(entry, "grow_rows", json_boolean(o->grow_rows));
        json_object_set(entry, "added", added);
        json_object_set(entry, "removed", removed);
        if (!json_is_object(record))
            json_decref(record), record = json_object();
        st = history_append(record, json_incref(entry));
    }
    if (st == HFTC_STATUS_OK) {
        m->training_json = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(7));
        st = m->training_json ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    }
    if (st == HFTC_STATUS_OK)
        log_info("%s extended by %zu categories (%zu removed)", o->model_path, json_array_size(added),
                 json_array_size(removed));
    json_decref(record), json_decref(entry), json_decref(added), json_decref(removed);
    free(kept), free(has_output);
    taxonomy_free(&nt);
    dataset_free(&train), dataset_free(&valid);
    hftc_model_free(old);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}

hftc_status hftc_extend(const hftc_extend_options *o, hftc_model **out) { return extend_model(o, true, out); }
