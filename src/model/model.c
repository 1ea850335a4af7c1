/* hftc_model: creation, batching, batched inference, and the model file (safetensors layout with
 * vocabulary, labels, configuration and training record in __metadata__). */
#include "model/model.h"

#include "core/names.h"

#include "core/arena.h"
#include "core/compute.h"
#include "core/error.h"
#include "model/safetensors.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const strategy_names[] = {"flat", "level", "node"};
static const char *const node_embedding_names[] = {"own", "shared", "inherited"};

bool strategy_parse(const char *name, strategy_kind *out)
{
    size_t i;
    if (!names_find(strategy_names, NAMES_COUNT(strategy_names), name, &i))
        return false;
    *out = (strategy_kind)i;
    return true;
}

const char *strategy_name(strategy_kind kind) { return strategy_names[kind]; }

bool node_embedding_parse(const char *name, node_embedding_kind *out)
{
    size_t i;
    if (!names_find(node_embedding_names, NAMES_COUNT(node_embedding_names), name, &i))
        return false;
    *out = (node_embedding_kind)i;
    return true;
}

const char *node_embedding_name(node_embedding_kind kind) { return node_embedding_names[kind]; }

hftc_status model_create(hftc_model **out)
{
    hftc_model *m = mem_calloc(1, sizeof *m);
    if (!m)
        return HFTC_STATUS_OUT_OF_MEMORY;
    taxonomy_init(&m->tax);
    hftc_status st = vocab_init(&m->vocab);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}

// Fills a part of the flat or level strategy: level 0 is every label.
static void level_part_name(model_part *part, size_t level)
{
    part->level = level;
    part->parent_part = MODEL_NO_PART;
    if (level == 0) {
        snprintf(part->name, sizeof part->name, "flat");
    } else {
        snprintf(part->name, sizeof part->name, "level%zu", level);
        snprintf(part->prefix, sizeof part->prefix, "level%zu.", level);
    }
}

const float *model_part_embedding(const hftc_model *m, size_t p) { return network_embedding(m->parts[p].net); }

// The node parts' networks: one binary classifier per label with an output, level by level.
static hftc_status build_node_parts(hftc_model *m, const bool *has_output)
{
    const taxonomy *t = &m->tax;
    size_t *part_of = mem_alloc(t->n_nodes, sizeof *part_of);
    if (!part_of)
        return HFTC_STATUS_OUT_OF_MEMORY;
    if (m->node_embedding == NODE_EMBEDDING_SHARED && !m->shared_embedding) {
        m->shared_embedding = mem_calloc(m->net_config.vocab_size * m->net_config.embed_dim, sizeof(float));
        if (!m->shared_embedding) {
            free(part_of);
            return HFTC_STATUS_OUT_OF_MEMORY;
        }
    }
    hftc_status st = HFTC_STATUS_OK;
    for (size_t c = 0; c < t->n_nodes; c++)
        part_of[c] = MODEL_NO_PART;
    for (size_t level = 1; level <= t->depth && st == HFTC_STATUS_OK; level++)
        for (size_t c = 0; c < t->n_nodes && st == HFTC_STATUS_OK; c++) {
            if (t->level[c] != level || (has_output && !has_output[c]))
                continue;
            size_t p = m->n_parts;
            model_part *part = &m->parts[p];
            part->nodes = mem_alloc(1, sizeof *part->nodes);
            if (!part->nodes) {
                st = HFTC_STATUS_OUT_OF_MEMORY;
                break;
            }
            m->n_parts++;
            part->nodes[0] = (uint32_t)c;
            part->n_outputs = 1;
            part->level = level;
            part->class_weight = 1.0f;
            uint32_t first_parent = t->parents[t->parent_start[c]];
            part->parent_part = first_parent == TAXONOMY_ROOT ? MODEL_NO_PART : part_of[first_parent];
            part_of[c] = p;
            snprintf(part->name, sizeof part->name, "node %s", strmap_string(&t->names, c));
            snprintf(part->prefix, sizeof part->prefix, "node%zu.", c);
            network_config cfg = m->net_config;
            cfg.n_classes = 1;
            cfg.borrowed_embedding =
                m->node_embedding == NODE_EMBEDDING_SHARED ||
                (m->node_embedding == NODE_EMBEDDING_INHERITED && part->parent_part != MODEL_NO_PART);
            st = network_create(&part->net, &cfg, m->batch_capacity, model_input_len(m), NETWORK_INFERENCE_SHARED);
            if (st == HFTC_STATUS_OK && cfg.borrowed_embedding)
                network_borrow_embedding(part->net, m->node_embedding == NODE_EMBEDDING_SHARED
                                                        ? m->shared_embedding
                                                        : model_part_embedding(m, part->parent_part));
        }
    free(part_of);
    return st;
}

hftc_status model_build_parts(hftc_model *m, const bool *has_output)
{
    const taxonomy *t = &m->tax;
    bool flat = m->strategy == STRATEGY_FLAT, node = m->strategy == STRATEGY_NODE;
    size_t first = flat ? 0 : 1, last = flat ? 0 : t->depth; /* level 0: all labels */
    m->parts = mem_calloc(node ? t->n_nodes : last - first + 1, sizeof *m->parts);
    if (!m->parts)
        return HFTC_STATUS_OUT_OF_MEMORY;
    m->n_parts = 0;
    if (node) {
        TRY(build_node_parts(m, has_output));
        return model_share_workspace(m);
    }
    for (size_t level = first; level <= last; level++) {
        model_part *part = &m->parts[m->n_parts];
        part->nodes = mem_alloc(t->n_nodes, sizeof *part->nodes);
        if (!part->nodes)
            return HFTC_STATUS_OUT_OF_MEMORY;
        for (size_t c = 0; c < t->n_nodes; c++)
            if ((level == 0 || t->level[c] == level) && (!has_output || has_output[c]))
                part->nodes[part->n_outputs++] = (uint32_t)c;
        if (part->n_outputs == 0) {
            free(part->nodes);
            *part = (model_part){0};
            continue;
        }
        m->n_parts++;
        level_part_name(part, level);
        network_config cfg = m->net_config;
        cfg.n_classes = part->n_outputs;
        TRY(network_create(&part->net, &cfg, m->batch_capacity, model_input_len(m), NETWORK_INFERENCE_SHARED));
    }
    return model_share_workspace(m);
}

hftc_status model_share_workspace(hftc_model *m)
{
    size_t need = 0;
    for (size_t p = 0; p < m->n_parts; p++) {
        size_t bytes = network_activation_bytes(m->parts[p].net);
        need = bytes > need ? bytes : need;
    }
    if (need > m->workspace.size) { /* parts on the old arena move to the new one below, before any runs */
        arena_free(&m->workspace);
        TRY(arena_init(&m->workspace, need));
    }
    for (size_t p = 0; p < m->n_parts; p++)
        TRY(network_share_activations(m->parts[p].net, &m->workspace));
    return HFTC_STATUS_OK;
}

void hftc_model_free(hftc_model *m)
{
    if (!m)
        return;
    for (size_t p = 0; p < m->n_parts; p++) {
        network_free(m->parts[p].net);
        free(m->parts[p].nodes);
    }
    free(m->parts);
    arena_free(&m->workspace);
    free(m->shared_embedding);
    vocab_free(&m->vocab);
    taxonomy_free(&m->tax);
    label_words_free(&m->label_words);
    free(m->training_json);
    free(m->checkpoint_json);
    free(m->label_thresholds);
    free(m);
}

size_t hftc_model_num_labels(const hftc_model *m) { return m->net_config.n_classes; }
const char *hftc_model_label(const hftc_model *m, size_t i) { return strmap_string(&m->tax.names, i); }
float hftc_model_threshold(const hftc_model *m) { return m->threshold; }

const float *hftc_model_label_thresholds(const hftc_model *m) { return m->label_thresholds; }
const char *hftc_model_scoring(const hftc_model *m) { return scoring_name(m->scoring); }

size_t model_min_len(const network_config *cfg)
{
    size_t longest = 1;
    for (size_t i = 0; i < cfg->n_windows; i++)
        if (cfg->windows[i] > longest)
            longest = cfg->windows[i];
    return longest;
}

size_t model_input_len(const hftc_model *m)
{
    return m->tokenizer.max_len + (m->joint_embedding ? m->label_words.longest : 0);
}

static size_t prefix_len(const batch_prefix *prefix, size_t b)
{
    return prefix && prefix->label[b] != UINT32_MAX ? label_words_n(prefix->words, prefix->label[b]) : 0;
}

size_t batch_fill(const dataset *ds, const size_t *idx, size_t B, size_t max_len, size_t min_len,
                  const batch_prefix *prefix, uint32_t *tokens, size_t *lengths)
{
    size_t T = min_len;
    for (size_t b = 0; b < B; b++) {
        size_t len = ds->token_start[idx[b] + 1] - ds->token_start[idx[b]];
        lengths[b] = prefix_len(prefix, b) + (len < max_len ? len : max_len);
        T = lengths[b] > T ? lengths[b] : T;
    }
    for (size_t b = 0; b < B; b++) {
        uint32_t *row = tokens + b * T;
        size_t words = prefix_len(prefix, b);
        if (words)
            memcpy(row, prefix->words->ids + prefix->words->start[prefix->label[b]], words * sizeof *row);
        if (lengths[b] > words) /* an empty document's tokens may be NULL: no memcpy from it */
            memcpy(row + words, ds->tokens + ds->token_start[idx[b]], (lengths[b] - words) * sizeof *row);
        memset(row + lengths[b], 0, (T - lengths[b]) * sizeof *row);
    }
    return T;
}

void batch_targets(const dataset *ds, const size_t *idx, size_t B, const uint32_t *output_of, size_t n_labels,
                   size_t n_outputs, float *targets)
{
    memset(targets, 0, B * n_outputs * sizeof *targets);
    for (size_t b = 0; b < B; b++)
        for (size_t j = ds->label_start[idx[b]]; j < ds->label_start[idx[b] + 1]; j++) {
            uint32_t label = ds->labels[j];
            if (label < n_labels && output_of[label] != UINT32_MAX)
                targets[b * n_outputs + output_of[label]] = 1.0f;
        }
}

typedef struct {
    const float *table;
    size_t part;
} part_by_table;

static int compare_by_table(const void *a, const void *b)
{
    const part_by_table *x = a, *y = b;
    if (x->table != y->table)
        return (uintptr_t)x->table < (uintptr_t)y->table ? -1 : 1;
    return x->part < y->part ? -1 : x->part > y->part;
}

uint32_t model_label_at_level(const hftc_model *m, const dataset *ds, size_t doc, size_t level)
{
    for (size_t j = ds->label_start[doc]; j < ds->label_start[doc + 1]; j++)
        if (ds->labels[j] < m->tax.n_nodes && m->tax.level[ds->labels[j]] == level)
            return ds->labels[j];
    return UINT32_MAX;
}

// The category whose words go before document doc's text in a part of level (> 1): the document's gold
// label at level - 1, or the one parents->scoring chooses there from probs_row (the levels above it are
// filled in); UINT32_MAX: none.
static uint32_t joint_parent(const hftc_model *m, const dataset *ds, size_t doc, const float *probs_row, size_t level,
                             const parent_source *parents)
{
    return parents->gold ? model_label_at_level(m, ds, doc, level - 1)
                         : scoring_choice(parents->scoring, &m->tax, probs_row, level - 1);
}

hftc_status hftc_model_set_word_cache(hftc_model *m, size_t max_bytes)
{
    size_t total = 0;
    for (size_t p = 0; p < m->n_parts; p++)
        total += network_word_cache_bytes(m->parts[p].net);
    for (size_t p = 0; p < m->n_parts; p++)
        TRY(network_set_word_cache(m->parts[p].net, max_bytes > 0 && total <= max_bytes ? SIZE_MAX : 0));
    return HFTC_STATUS_OK;
}

bool model_prunes(const hftc_model *m, const prune_rule *prune)
{
    return prune && m->strategy == STRATEGY_NODE && (prune->scoring == SCORING_BSF || prune->scoring == SCORING_MSF) &&
           (prune->thresholds || prune->threshold > 0.0f);
}

/* What predicting with a prune_rule needs besides the batch. */
typedef struct {
    const prune_rule *rule;
    size_t *part_of;    /* (n_nodes) the node's part, MODEL_NO_PART: none */
    float *scores;      /* (batch capacity, n_nodes) the BSF or MSF scores of the batch so far */
    float *bounds;      /* (batch capacity) the parent bound of each document that runs */
    size_t *active_idx; /* (batch capacity) the documents that run, in ds */
    size_t *active_pos; /* (batch capacity) and in the batch */
} pruning;

static hftc_status pruning_init(pruning *pr, const hftc_model *m, const prune_rule *rule)
{
    size_t cap = m->batch_capacity, N = m->tax.n_nodes;
    *pr = (pruning){rule,
                    mem_alloc(N, sizeof *pr->part_of),
                    mem_alloc(cap * N, sizeof *pr->scores),
                    mem_alloc(cap, sizeof *pr->bounds),
                    mem_alloc(cap, sizeof *pr->active_idx),
                    mem_alloc(cap, sizeof *pr->active_pos)};
    if (!pr->part_of || !pr->scores || !pr->bounds || !pr->active_idx || !pr->active_pos)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t c = 0; c < N; c++)
        pr->part_of[c] = MODEL_NO_PART;
    for (size_t p = 0; p < m->n_parts; p++)
        pr->part_of[m->parts[p].nodes[0]] = p;
    return HFTC_STATUS_OK;
}

static void pruning_free(pruning *pr)
{
    free(pr->part_of), free(pr->scores), free(pr->bounds), free(pr->active_idx), free(pr->active_pos);
}

// A batch of a node model under a prune rule: the categories parents first, each classifier on the
// batch's documents whose parent bound reaches the threshold, gathered into a smaller batch.
// probs: the batch's rows (B, C).
static hftc_status predict_pruned_batch(hftc_model *m, const dataset *ds, const size_t *batch_idx, size_t B,
                                        pruning *pr, uint32_t *tokens, size_t *lengths, float *part_probs, float *probs)
{
    const taxonomy *t = &m->tax;
    size_t C = t->n_nodes, T_max = m->tokenizer.max_len, min_len = model_min_len(&m->net_config);
    memset(probs, 0, B * C * sizeof *probs);
    for (size_t i = 0; i < C; i++) {
        uint32_t c = t->order[i];
        size_t p = pr->part_of[c], n = 0;
        for (size_t b = 0; b < B; b++) {
            float bound = scoring_parent_bound(t, pr->scores + b * C, c);
            pr->scores[b * C + c] = 0.0f; /* probability 0 unless it runs */
            float threshold = pr->rule->thresholds ? pr->rule->thresholds[c] : pr->rule->threshold;
            if (p != MODEL_NO_PART && bound >= threshold) {
                pr->active_idx[n] = batch_idx[b], pr->active_pos[n] = b, pr->bounds[n] = bound;
                n++;
            }
        }
        if (n == 0)
            continue;
        size_t T = batch_fill(ds, pr->active_idx, n, T_max, min_len, NULL, tokens, lengths);
        if (isnan(network_predict(m->parts[p].net, tokens, lengths, n, T, NULL, NULL, part_probs)))
            return HFTC_STATUS_INVALID_ARGUMENT;
        for (size_t k = 0; k < n; k++) {
            size_t b = pr->active_pos[k];
            probs[b * C + c] = part_probs[k];
            pr->scores[b * C + c] = scoring_bounded(pr->rule->scoring, part_probs[k], pr->bounds[k]);
        }
    }
    return HFTC_STATUS_OK;
}

/* Records, for documents start .. start + B - 1, the n_words positions part p of m attended to most in
 * its last forward pass (T: the batch's positions). */
static void record_attention(const hftc_model *m, size_t p, size_t T, size_t start, size_t B, attention_words *ex)
{
    size_t Ta, N = ex->n_words;
    const float *alpha = network_attention(m->parts[p].net, &Ta);
    for (size_t b = 0; b < B; b++) {
        uint32_t *words = ex->positions + ((start + b) * m->n_parts + p) * N;
        float *weights = ex->weights + ((start + b) * m->n_parts + p) * N;
        for (size_t j = 0; j < N; j++)
            words[j] = UINT32_MAX, weights[j] = 0.0f;
        for (size_t t = 0; alpha && t < Ta && t < T; t++) { /* insertion into the n_words best, earliest first */
            float a = alpha[b * Ta + t];
            if (!(a > 0.0f) || !(a > weights[N - 1]))
                continue;
            size_t j = N - 1;
            for (; j > 0 && a > weights[j - 1]; j--)
                words[j] = words[j - 1], weights[j] = weights[j - 1];
            words[j] = (uint32_t)t, weights[j] = a;
        }
    }
}

static hftc_status predict_dataset(hftc_model *m, const dataset *ds, const size_t *idx, size_t n,
                                   const parent_source *parents, const prune_rule *prune, float *probs,
                                   attention_words *explain)
{
    size_t cap = m->batch_capacity, C = m->net_config.n_classes, T_max = m->tokenizer.max_len, widest = 0;
    size_t min_len = model_min_len(&m->net_config);
    parent_source predicted = {m->scoring, false};
    parents = parents ? parents : &predicted;
    bool joint = m->joint_embedding;
    for (size_t p = 0; p < m->n_parts; p++)
        widest = m->parts[p].n_outputs > widest ? m->parts[p].n_outputs : widest;
    size_t *batch_idx = mem_alloc(cap, sizeof *batch_idx);
    size_t *lengths = mem_alloc(cap, sizeof *lengths);
    uint32_t *tokens = mem_alloc(cap * model_input_len(m), sizeof *tokens);
    uint32_t *prefix_label = mem_alloc(cap, sizeof *prefix_label);
    float *part_probs = mem_alloc(cap * widest, sizeof *part_probs);
    part_by_table *order = mem_alloc(m->n_parts, sizeof *order);
    if (!batch_idx || !lengths || !tokens || !prefix_label || !part_probs || !order) {
        free(batch_idx), free(lengths), free(tokens), free(prefix_label), free(part_probs), free(order);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    // Parts reading the same embedding table run one after the other and share its lookup; with the
    // joint embedding each level reads its own input, which depends on the levels above: level order.
    for (size_t p = 0; p < m->n_parts; p++)
        order[p] = (part_by_table){model_part_embedding(m, p), p};
    if (!joint)
        qsort(order, m->n_parts, sizeof *order, compare_by_table);
    size_t with_output = 0;
    for (size_t p = 0; p < m->n_parts; p++)
        with_output += m->parts[p].n_outputs;
    if (with_output < C) /* labels without an output score 0 */
        memset(probs, 0, n * C * sizeof *probs);
    pruning pr = {0};
    bool pruned = model_prunes(m, prune) && !explain;
    hftc_status st = pruned ? pruning_init(&pr, m, prune) : HFTC_STATUS_OK;
    batch_prefix prefix = {&m->label_words, prefix_label};
    for (size_t start = 0; start < n && st == HFTC_STATUS_OK; start += cap) {
        size_t B = n - start < cap ? n - start : cap;
        for (size_t b = 0; b < B; b++)
            batch_idx[b] = idx ? idx[start + b] : start + b;
        if (pruned) {
            st = predict_pruned_batch(m, ds, batch_idx, B, &pr, tokens, lengths, part_probs, probs + start * C);
            continue;
        }
        size_t T = batch_fill(ds, batch_idx, B, T_max, min_len, NULL, tokens, lengths);
        const float *embedded = NULL, *embedded_table = NULL;
        const size_t *clamped = NULL;
        size_t Te = 0;
        for (size_t k = 0; k < m->n_parts && st == HFTC_STATUS_OK; k++) {
            const model_part *part = &m->parts[order[k].part];
            if (joint && part->level > 1) {
                for (size_t b = 0; b < B; b++)
                    prefix_label[b] = joint_parent(m, ds, batch_idx[b], probs + (start + b) * C, part->level, parents);
                T = batch_fill(ds, batch_idx, B, T_max, min_len, &prefix, tokens, lengths);
                embedded_table = NULL; /* new input */
            }
            if (network_has_word_cache(part->net)) { /* reads the tokens, and overwrites the shared activations */
                if (isnan(network_predict(part->net, tokens, lengths, B, T, NULL, NULL, part_probs)))
                    st = HFTC_STATUS_INVALID_ARGUMENT;
                embedded_table = NULL;
            } else {
                if (order[k].table != embedded_table) {
                    Te = network_embed_batch(part->net, tokens, lengths, B, T, &embedded, &clamped);
                    embedded_table = order[k].table;
                    if (Te == 0)
                        st = HFTC_STATUS_INVALID_ARGUMENT;
                }
                if (st == HFTC_STATUS_OK)
                    st = network_predict_embedded(part->net, embedded, clamped, B, Te, part_probs);
            }
            for (size_t b = 0; b < B && st == HFTC_STATUS_OK; b++)
                for (size_t j = 0; j < part->n_outputs; j++)
                    probs[(start + b) * C + part->nodes[j]] = part_probs[b * part->n_outputs + j];
            if (explain && st == HFTC_STATUS_OK)
                record_attention(m, order[k].part, T, start, B, explain);
        }
    }
    free(batch_idx), free(lengths), free(tokens), free(prefix_label), free(part_probs), free(order);
    pruning_free(&pr);
    return st;
}

/* Fewer documents than this are predicted on one thread: a request of one document (hftc serve, a pipe)
 * otherwise wakes the other threads at every layer for nothing (with OMP_WAIT_POLICY=passive, 2 threads:
 * 0.53 ms per document against 0.27 ms on one). */
#define PREDICT_SERIAL_BELOW 8

hftc_status model_predict_dataset(hftc_model *m, const dataset *ds, const size_t *idx, size_t n,
                                  const parent_source *parents, const prune_rule *prune, float *probs,
                                  attention_words *explain)
{
    int threads = n < PREDICT_SERIAL_BELOW ? compute_single_thread() : 0;
    hftc_status st = predict_dataset(m, ds, idx, n, parents, prune, probs, explain);
    if (threads)
        compute_restore_threads(threads);
    return st;
}

hftc_status model_texts_dataset(const hftc_model *m, const char *const *texts, size_t n, bool keep_unknown, dataset *ds)
{
    *ds = (dataset){.n_docs = n, .format = DATA_FORMAT_TEXT};
    token_list tl;
    token_list_init(&tl);
    hftc_status st = HFTC_STATUS_OK;
    ds->token_start = mem_calloc(n + 1, sizeof *ds->token_start);
    ds->label_start = mem_calloc(n + 1, sizeof *ds->label_start);
    size_t cap = 0;
    if (!ds->token_start || !ds->label_start)
        st = HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < n && st == HFTC_STATUS_OK; i++) {
        st = tokenize(&tl, texts[i], strlen(texts[i]), &m->tokenizer);
        if (st != HFTC_STATUS_OK) {
            st = error_wrap(st, "text %zu", i + 1);
            break;
        }
        size_t base = ds->token_start[i];
        st = mem_reserve((void **)&ds->tokens, &cap, base + tl.n_tokens, sizeof *ds->tokens);
        for (size_t t = 0; t < tl.n_tokens && st == HFTC_STATUS_OK; t++) {
            const char *w = token_list_get(&tl, t);
            ds->tokens[base + t] = vocab_lookup(&m->vocab, w, strlen(w));
            if (keep_unknown && ds->tokens[base + t] == VOCAB_UNK)
                st = dataset_keep_unknown_word(ds, base + t, w, strlen(w));
        }
        ds->token_start[i + 1] = base + tl.n_tokens;
    }
    token_list_free(&tl);
    if (st != HFTC_STATUS_OK)
        dataset_free(ds);
    return st;
}

hftc_status hftc_predict_texts(hftc_model *m, const char *const *texts, size_t n, float *probs)
{
    dataset ds;
    TRY(model_texts_dataset(m, texts, n, false, &ds));
    hftc_status st = model_predict_dataset(m, &ds, NULL, n, NULL, NULL, probs, NULL);
    dataset_free(&ds);
    return st;
}

/* ---- model file ---------------------------------------------------------------------------- */

static const char *const encoder_names[] = {"cnn", "bigru-att", "onlstm"}; /* by encoder_kind */

static json_t *config_to_json(const hftc_model *m)
{
    const network_config *c = &m->net_config;
    json_t *windows = json_array();
    for (size_t i = 0; i < c->n_windows; i++)
        json_array_append_new(windows, json_integer((json_int_t)c->windows[i]));
    json_t *j =
        json_pack("{s:s, s:s, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:b, s:b, s:b, s:f}", "encoder",
                  encoder_names[c->encoder], "head", c->head == HEAD_SOFTMAX ? "softmax" : "sigmoid", "vocab_size",
                  (json_int_t)c->vocab_size, "embed_dim", (json_int_t)c->embed_dim, "windows", windows, "filters",
                  (json_int_t)c->n_filters, "pool_chunks", (json_int_t)(c->pool_chunks > 1 ? c->pool_chunks : 1),
                  "hidden", (json_int_t)c->hidden, "classes", (json_int_t)c->n_classes, "embed_dropout",
                  (double)c->embed_dropout, "hidden_dropout", (double)c->hidden_dropout, "max_len",
                  (json_int_t)m->tokenizer.max_len, "lowercase", m->tokenizer.lowercase, "split_punct",
                  m->tokenizer.split_punct, "drop_punct", m->tokenizer.drop_punct, "threshold", (double)m->threshold);
    if (c->encoder != ENCODER_CNN) {
        json_object_set_new(j, "rnn_hidden", json_integer((json_int_t)c->rnn_hidden));
        json_object_set_new(j, "attention_dim", json_integer((json_int_t)c->attention_dim));
        json_object_set_new(j, "rnn_dropout", json_real(c->rnn_dropout));
    }
    if (m->joint_embedding)
        json_object_set_new(j, "joint_embedding", json_true());
    if (c->encoder == ENCODER_ONLSTM) {
        json_object_set_new(j, "onlstm_chunk", json_integer((json_int_t)(c->onlstm_chunk ? c->onlstm_chunk : 1)));
        json_object_set_new(j, "rnn_pool", json_string(c->rnn_pool == RNN_POOL_MAX ? "max" : "last"));
    }
    if (c->hidden_activation == ACTIVATION_TANH) /* absent: ReLU (files from before) */
        json_object_set_new(j, "hidden_activation", json_string("tanh"));
    if (c->hidden_batchnorm)
        json_object_set_new(j, "batchnorm", json_true());
    json_object_set_new(j, "strategy", json_string(strategy_name(m->strategy)));
    if (m->strategy == STRATEGY_NODE)
        json_object_set_new(j, "node_embedding", json_string(node_embedding_name(m->node_embedding)));
    json_object_set_new(j, "scoring", json_string(scoring_name(m->scoring)));
    return j;
}

static char *strings_to_json(const strmap *s)
{
    json_t *a = json_array();
    for (size_t i = 0; i < strmap_count(s); i++)
        json_array_append_new(a, json_string(strmap_string(s, i)));
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

/* The parents of every label, in label order; null stands for the root. */
static char *taxonomy_to_json(const taxonomy *t)
{
    json_t *all = json_array();
    for (size_t c = 0; c < t->n_nodes; c++) {
        json_t *parents = json_array();
        for (size_t j = t->parent_start[c]; j < t->parent_start[c + 1]; j++)
            json_array_append_new(parents, t->parents[j] == TAXONOMY_ROOT
                                               ? json_null()
                                               : json_string(strmap_string(&t->names, t->parents[j])));
        json_array_append_new(all, parents);
    }
    char *text = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    return text;
}

/* Rebuilds the taxonomy: the labels become nodes in their stored order, then the stored edges. */
static hftc_status taxonomy_from_json(taxonomy *t, const char *path, const json_t *labels, const char *text)
{
    json_error_t err;
    json_t *all = text ? json_loads(text, 0, &err) : NULL;
    hftc_status st =
        json_is_array(all) && json_array_size(all) == json_array_size(labels)
            ? HFTC_STATUS_OK
            : error_set(HFTC_STATUS_MODEL, "%s: metadata \"taxonomy\" missing or not one list per label", path);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < json_array_size(labels); i++) {
        const char *s = json_string_value(json_array_get(labels, i));
        size_t id;
        st = strmap_intern(&t->names, s, strlen(s), &id);
        if (st == HFTC_STATUS_OK && id != i)
            st = error_set(HFTC_STATUS_MODEL, "%s: label \"%s\" listed twice", path, s);
    }
    if (st == HFTC_STATUS_OK)
        taxonomy_adopt_names(t);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < json_array_size(all); i++) {
        const json_t *parents = json_array_get(all, i), *p;
        const char *child = strmap_string(&t->names, i);
        size_t j;
        if (!json_is_array(parents) || json_array_size(parents) == 0)
            st = error_set(HFTC_STATUS_MODEL, "%s: label \"%s\" has no parent list", path, child);
        json_array_foreach(parents, j, p)
        {
            const char *parent = json_string_value(p);
            if (st == HFTC_STATUS_OK && !json_is_null(p) &&
                (!parent || strmap_find(&t->names, parent, strlen(parent)) == STRMAP_NONE))
                st = error_set(HFTC_STATUS_MODEL, "%s: label \"%s\" has an unknown parent", path, child);
            if (st == HFTC_STATUS_OK)
                st = taxonomy_add_edge(t, parent, child);
        }
    }
    if (st == HFTC_STATUS_OK)
        st = taxonomy_finalize(t);
    if (st != HFTC_STATUS_OK && st != HFTC_STATUS_MODEL)
        st = error_wrap(HFTC_STATUS_MODEL, "%s: metadata \"taxonomy\"", path);
    json_decref(all);
    return st;
}

/* The ids of the labels with an output, ascending, as a JSON array. */
static char *outputs_to_json(const hftc_model *m)
{
    bool *has = mem_calloc(m->net_config.n_classes, sizeof *has);
    if (!has)
        return NULL;
    for (size_t p = 0; p < m->n_parts; p++)
        for (size_t j = 0; j < m->parts[p].n_outputs; j++)
            has[m->parts[p].nodes[j]] = true;
    json_t *a = json_array();
    for (size_t c = 0; c < m->net_config.n_classes; c++)
        if (has[c])
            json_array_append_new(a, json_integer((json_int_t)c));
    free(has);
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

/* The labels with an output from metadata "outputs" (files from before it existed: NULL, all labels). */
static hftc_status outputs_from_json(const char *path, const char *text, size_t n_classes, bool **has_output)
{
    *has_output = NULL;
    if (!text)
        return HFTC_STATUS_OK;
    json_t *a = json_loads(text, 0, NULL);
    bool *has = mem_calloc(n_classes, sizeof *has);
    hftc_status st = has ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK && (!json_is_array(a) || json_array_size(a) == 0))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"outputs\" is not a list of label ids", path);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || (size_t)json_integer_value(v) >= n_classes)
            st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"outputs\" has an invalid label id", path);
        else
            has[json_integer_value(v)] = true;
    }
    json_decref(a);
    if (st != HFTC_STATUS_OK) {
        free(has);
        return st;
    }
    *has_output = has;
    return HFTC_STATUS_OK;
}

/* The positive-class weight each node classifier was trained with, by label name ({} for other
 * strategies): what gru-att-multi takes from an htrans model (--class-weights-from). */
static char *class_weights_to_json(const hftc_model *m)
{
    json_t *o = json_object();
    for (size_t p = 0; m->strategy == STRATEGY_NODE && p < m->n_parts; p++)
        json_object_set_new(o, strmap_string(&m->tax.names, m->parts[p].nodes[0]), json_real(m->parts[p].class_weight));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(o);
    return text;
}

/* The per-label thresholds as {label: threshold}; NULL when the model has none. */
static char *label_thresholds_to_json(const hftc_model *m)
{
    if (!m->label_thresholds)
        return NULL;
    json_t *o = json_object();
    for (size_t c = 0; c < m->net_config.n_classes; c++)
        json_object_set_new(o, strmap_string(&m->tax.names, c), json_real(m->label_thresholds[c]));
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(o);
    return text;
}

/* text: label_thresholds_to_json's, or NULL (none). */
static hftc_status label_thresholds_from_json(hftc_model *m, const char *path, const char *text)
{
    if (!text)
        return HFTC_STATUS_OK;
    size_t C = m->net_config.n_classes;
    json_t *o = json_loads(text, 0, NULL);
    m->label_thresholds = mem_alloc(C ? C : 1, sizeof *m->label_thresholds);
    hftc_status st = !m->label_thresholds ? HFTC_STATUS_OUT_OF_MEMORY
                     : json_is_object(o) && json_object_size(o) == C
                         ? HFTC_STATUS_OK
                         : error_set(HFTC_STATUS_MODEL, "%s: metadata \"label_thresholds\" is not one per label", path);
    for (size_t c = 0; st == HFTC_STATUS_OK && c < C; c++) {
        json_t *v = json_object_get(o, strmap_string(&m->tax.names, c));
        double t = json_number_value(v);
        if (!json_is_number(v) || !(t >= 0.0 && t <= 1.0))
            st = error_set(HFTC_STATUS_MODEL, "%s: no valid threshold for \"%s\"", path,
                           strmap_string(&m->tax.names, c));
        else
            m->label_thresholds[c] = (float)t;
    }
    json_decref(o);
    return st;
}

static hftc_status class_weights_from_json(hftc_model *m, const char *path, const char *text)
{
    if (m->strategy != STRATEGY_NODE)
        return HFTC_STATUS_OK;
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    hftc_status st = json_is_object(o) ? HFTC_STATUS_OK
                                       : error_set(HFTC_STATUS_MODEL, "%s: metadata \"class_weights\" missing", path);
    for (size_t p = 0; st == HFTC_STATUS_OK && p < m->n_parts; p++) {
        json_t *w = json_object_get(o, strmap_string(&m->tax.names, m->parts[p].nodes[0]));
        double v = json_number_value(w);
        if (!json_is_number(w) || !(v > 0.0 && v <= 1e6))
            st = error_set(HFTC_STATUS_MODEL, "%s: no valid class weight for \"%s\"", path,
                           strmap_string(&m->tax.names, m->parts[p].nodes[0]));
        else
            m->parts[p].class_weight = (float)v;
    }
    json_decref(o);
    return st;
}

/* "level3.conv.2.weight": a part's tensor under its name in the file. */
#define MODEL_TENSOR_NAME_MAX (TENSOR_NAME_MAX + 40)

#define SHARED_EMBEDDING_NAME "embedding.weight"

static size_t model_tensor_count(const hftc_model *m)
{
    size_t n = m->shared_embedding ? 1 : 0;
    for (size_t p = 0; p < m->n_parts; p++)
        n += network_params(m->parts[p].net)->n_tensors;
    return n;
}

hftc_status model_save_with(const hftc_model *m, const char *path, const char *extra_key, const char *extra_value,
                            const st_tensor *extra, size_t n_extra)
{
    size_t n_tensors = model_tensor_count(m), i = 0;
    st_tensor *tensors = mem_alloc(n_tensors + n_extra, sizeof *tensors);
    char(*names)[MODEL_TENSOR_NAME_MAX] = mem_alloc(n_tensors, sizeof *names);
    if (!tensors || !names) {
        free(tensors), free(names);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    if (m->shared_embedding) {
        tensors[i++] = (st_tensor){.name = SHARED_EMBEDDING_NAME,
                                   .ndim = 2,
                                   .shape = {m->net_config.vocab_size, m->net_config.embed_dim},
                                   .data = m->shared_embedding};
    }
    for (size_t p = 0; p < m->n_parts; p++) {
        const param_set *ps = network_params(m->parts[p].net);
        for (size_t k = 0; k < ps->n_tensors; k++, i++) {
            const tensor *t = &ps->tensors[k];
            snprintf(names[i], sizeof names[i], "%s%s", m->parts[p].prefix, t->name);
            tensors[i] = (st_tensor){.name = names[i], .ndim = t->ndim, .data = t->value};
            memcpy(tensors[i].shape, t->shape, sizeof t->shape);
        }
    }
    if (n_extra)
        memcpy(tensors + n_tensors, extra, n_extra * sizeof *extra);
    json_t *config = config_to_json(m);
    char *config_text = json_dumps(config, JSON_COMPACT | JSON_REAL_PRECISION(9)); /* floats round-trip */
    json_decref(config);
    char *vocab_text = strings_to_json(&m->vocab.words);
    char *labels_text = strings_to_json(&m->tax.names);
    char *taxonomy_text = taxonomy_to_json(&m->tax);
    char *outputs_text = outputs_to_json(m);
    char *weights_text = class_weights_to_json(m);
    char *thresholds_text = label_thresholds_to_json(m);
    char *label_words_text = NULL; /* the joint embedding's words of each label */
    if (m->joint_embedding) {
        json_t *texts = json_array();
        for (size_t l = 0; l < m->label_words.n_labels; l++)
            json_array_append_new(texts, json_string(m->label_words.text[l]));
        label_words_text = json_dumps(texts, JSON_COMPACT);
        json_decref(texts);
    }
    char version[16];
    snprintf(version, sizeof version, "%d", MODEL_FORMAT_VERSION);
    st_metadata meta[13] = {
        {"format", MODEL_FORMAT_NAME}, {"format_version", version},
        {"preset", m->preset},         {"config", config_text},
        {"labels", labels_text},       {"taxonomy", taxonomy_text},
        {"vocab", vocab_text},         {"training", m->training_json ? m->training_json : "{}"},
        {"outputs", outputs_text},     {"class_weights", weights_text},
    };
    size_t n_meta = 10;
    if (m->joint_embedding)
        meta[n_meta++] = (st_metadata){"label_words", label_words_text};
    if (thresholds_text)
        meta[n_meta++] = (st_metadata){"label_thresholds", thresholds_text};
    if (extra_key)
        meta[n_meta++] = (st_metadata){extra_key, extra_value};
    hftc_status st = (config_text && vocab_text && labels_text && taxonomy_text && outputs_text && weights_text &&
                      (label_words_text || !m->joint_embedding) && (thresholds_text || !m->label_thresholds))
                         ? safetensors_write(path, tensors, n_tensors + n_extra, meta, n_meta)
                         : error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory encoding the model metadata");
    free(config_text), free(vocab_text), free(labels_text), free(taxonomy_text), free(outputs_text), free(weights_text),
        free(label_words_text), free(thresholds_text), free(tensors), free(names);
    return st;
}

hftc_status hftc_model_save(const hftc_model *m, const char *path)
{
    return model_save_with(m, path, NULL, NULL, NULL, 0);
}

hftc_status model_read_metadata(const char *path, const char *key, char **value)
{
    st_file *f;
    TRY(safetensors_open(&f, path));
    const char *text = safetensors_metadata(f, key);
    *value = text ? mem_strdup(text) : NULL;
    safetensors_close(f);
    if (!text)
        return error_set(HFTC_STATUS_MODEL, "%s: no metadata \"%s\"", path, key);
    return *value ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
}

/* Parses a JSON array of strings from metadata key into a NULL-free vector. */
static hftc_status metadata_strings(const st_file *f, const char *path, const char *key, json_t **out)
{
    const char *text = safetensors_metadata(f, key);
    json_error_t err;
    json_t *a = text ? json_loads(text, 0, &err) : NULL;
    if (!json_is_array(a)) {
        json_decref(a);
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"%s\" missing or not a list", path, key);
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!json_is_string(v))
    {
        json_decref(a);
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"%s\" item %zu is not a string", path, key, i);
    }
    *out = a;
    return HFTC_STATUS_OK;
}

/* The joint embedding's label words (metadata "label_words"). */
static hftc_status label_words_from_json(hftc_model *m, const st_file *f, const char *path)
{
    json_t *texts;
    TRY(metadata_strings(f, path, "label_words", &texts));
    size_t n = json_array_size(texts), unknown = 0;
    const char **t = mem_alloc(n ? n : 1, sizeof *t);
    hftc_status st = t ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK && n != m->tax.n_nodes)
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"label_words\" is not one string per label", path);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < n; i++)
        t[i] = json_string_value(json_array_get(texts, i));
    if (st == HFTC_STATUS_OK)
        st = label_words_from_texts(&m->label_words, t, n);
    if (st == HFTC_STATUS_OK) /* words that fell out of the vocabulary read as <unk>, as they did in training */
        st = label_words_lookup(&m->label_words, &m->vocab, &unknown);
    if (st == HFTC_STATUS_OK)
        m->joint_embedding = true;
    free(t);
    json_decref(texts);
    return st;
}

static hftc_status config_from_json(const char *path, const char *text, network_config *c, tokenizer_options *tok,
                                    float *threshold, strategy_kind *strategy, scoring_kind *scoring,
                                    node_embedding_kind *node_embedding, bool *joint_embedding)
{
    json_error_t err;
    json_t *j = text ? json_loads(text, 0, &err) : NULL;
    json_int_t V, E, F, H, C, max_len, chunks = 1; /* files from before XML-CNN have no "pool_chunks" */
    double embed_dropout, hidden_dropout, thr;
    int lowercase, split_punct, drop_punct;
    const char *encoder, *head;
    json_t *windows;
    if (!j || json_unpack(j, "{s:s, s:s, s:I, s:I, s:o, s:I, s?I, s:I, s:I, s:F, s:F, s:I, s:b, s:b, s:b, s:F}",
                          "encoder", &encoder, "head", &head, "vocab_size", &V, "embed_dim", &E, "windows", &windows,
                          "filters", &F, "pool_chunks", &chunks, "hidden", &H, "classes", &C, "embed_dropout",
                          &embed_dropout, "hidden_dropout", &hidden_dropout, "max_len", &max_len, "lowercase",
                          &lowercase, "split_punct", &split_punct, "drop_punct", &drop_punct, "threshold", &thr) != 0) {
        json_decref(j);
        return error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" missing or incomplete", path);
    }
    hftc_status st = HFTC_STATUS_OK;
    const char *strategy_text = json_string_value(json_object_get(j, "strategy"));
    if (!strategy_text || !strategy_parse(strategy_text, strategy))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has no known \"strategy\"", path);
    const char *scoring_text = json_string_value(json_object_get(j, "scoring")); /* absent in older files */
    *scoring = SCORING_INDEPENDENT;
    if (scoring_text && !scoring_parse(scoring_text, scoring))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has an unknown \"scoring\"", path);
    const char *node_text = json_string_value(json_object_get(j, "node_embedding"));
    *node_embedding = NODE_EMBEDDING_OWN;
    if (*strategy == STRATEGY_NODE && (!node_text || !node_embedding_parse(node_text, node_embedding)))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has no known \"node_embedding\"", path);
    size_t kind = 0;
    while (kind < sizeof encoder_names / sizeof *encoder_names && strcmp(encoder, encoder_names[kind]))
        kind++;
    bool known = kind < sizeof encoder_names / sizeof *encoder_names, rnn = known && kind != ENCODER_CNN;
    *c = (network_config){.encoder = known ? (encoder_kind)kind : ENCODER_CNN,
                          .head = strcmp(head, "softmax") ? HEAD_SIGMOID : HEAD_SOFTMAX};
    json_int_t rnn_hidden = 0, attention_dim = 0, chunk = 1;
    double rnn_dropout = 0.0;
    const char *pool = "last", *activation = "relu";
    int batchnorm = 0;
    if (rnn && json_unpack(j, "{s:I, s:I, s:F, s?I, s?s}", "rnn_hidden", &rnn_hidden, "attention_dim", &attention_dim,
                           "rnn_dropout", &rnn_dropout, "onlstm_chunk", &chunk, "rnn_pool", &pool) != 0)
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" lacks the recurrent layer's sizes", path);
    else if (rnn && (rnn_hidden < 1 || rnn_hidden > 65536 || attention_dim < 0 || attention_dim > 65536 || chunk < 1 ||
                     rnn_hidden % chunk || !(rnn_dropout >= 0.0 && rnn_dropout < 1.0) ||
                     (strcmp(pool, "last") && strcmp(pool, "max"))))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has out-of-range recurrent layer sizes", path);
    if (json_unpack(j, "{s?s, s?b}", "hidden_activation", &activation, "batchnorm", &batchnorm) != 0 ||
        (strcmp(activation, "relu") && strcmp(activation, "tanh")))
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has an unknown hidden activation", path);
    c->rnn_hidden = (size_t)rnn_hidden, c->attention_dim = (size_t)attention_dim, c->rnn_dropout = (float)rnn_dropout;
    c->onlstm_chunk = (size_t)chunk, c->rnn_pool = strcmp(pool, "max") ? RNN_POOL_LAST : RNN_POOL_MAX;
    c->hidden_activation = strcmp(activation, "tanh") ? ACTIVATION_RELU : ACTIVATION_TANH;
    c->hidden_batchnorm = batchnorm;
    *joint_embedding = json_is_true(json_object_get(j, "joint_embedding"));
    if (*joint_embedding && (*strategy != STRATEGY_LEVEL || c->head != HEAD_SOFTMAX))
        st = error_set(HFTC_STATUS_MODEL, "%s: the joint embedding needs single-label levels", path);
    if (!known || (strcmp(head, "softmax") && strcmp(head, "sigmoid")))
        st = error_set(HFTC_STATUS_MODEL, "%s: unsupported encoder \"%s\" or head \"%s\"", path, encoder, head);
    else if (V < 2 || E < 1 || F < 1 || chunks < 1 || chunks > NETWORK_MAX_CHUNKS || H < 0 || C < 1 || max_len < 1 ||
             !json_is_array(windows) || (!rnn && json_array_size(windows) < 1) ||
             json_array_size(windows) > NETWORK_MAX_WINDOWS)
        st = error_set(HFTC_STATUS_MODEL, "%s: metadata \"config\" has out-of-range sizes", path);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < json_array_size(windows); i++) {
        json_int_t k = json_integer_value(json_array_get(windows, i));
        if (k < 1 || k > max_len)
            st = error_set(HFTC_STATUS_MODEL, "%s: window size %lld out of range", path, (long long)k);
        c->windows[c->n_windows++] = (size_t)k;
    }
    c->vocab_size = (size_t)V, c->embed_dim = (size_t)E, c->n_filters = (size_t)F, c->hidden = (size_t)H;
    c->pool_chunks = (size_t)chunks;
    c->n_classes = (size_t)C, c->embed_dropout = (float)embed_dropout, c->hidden_dropout = (float)hidden_dropout;
    *tok = (tokenizer_options){
        .lowercase = lowercase, .split_punct = split_punct, .drop_punct = drop_punct, .max_len = (size_t)max_len};
    *threshold = (float)thr;
    json_decref(j);
    return st;
}

// Copies tensor name of the file into values (the shape given), or fails naming it.
static hftc_status load_tensor(const st_file *f, const char *path, const char *name, size_t ndim, const size_t *shape,
                               float *values)
{
    const st_tensor *s = safetensors_find(f, name);
    if (!s)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor \"%s\" missing", path, name);
    bool same = s->ndim == ndim;
    for (size_t d = 0; same && d < ndim; d++)
        same = s->shape[d] == shape[d];
    if (!same)
        return error_set(HFTC_STATUS_MODEL, "%s: tensor \"%s\" has the wrong shape", path, name);
    return safetensors_read(f, s, values);
}

static hftc_status model_load_tensors(hftc_model *m, const st_file *f, const char *path)
{
    size_t n_model = 0;
    for (size_t i = 0; i < safetensors_count(f); i++)
        n_model += strncmp(safetensors_tensor(f, i)->name, MODEL_EXTRA_TENSOR_PREFIX,
                           sizeof MODEL_EXTRA_TENSOR_PREFIX - 1) != 0;
    if (n_model != model_tensor_count(m))
        return error_set(HFTC_STATUS_MODEL, "%s: %zu tensors, the configuration needs %zu", path, n_model,
                         model_tensor_count(m));
    if (m->shared_embedding)
        TRY(load_tensor(f, path, SHARED_EMBEDDING_NAME, 2,
                        (size_t[]){m->net_config.vocab_size, m->net_config.embed_dim}, m->shared_embedding));
    for (size_t p = 0; p < m->n_parts; p++) {
        param_set *ps = network_params(m->parts[p].net);
        for (size_t i = 0; i < ps->n_tensors; i++) {
            tensor *t = &ps->tensors[i];
            char name[MODEL_TENSOR_NAME_MAX];
            snprintf(name, sizeof name, "%s%s", m->parts[p].prefix, t->name);
            TRY(load_tensor(f, path, name, t->ndim, t->shape, t->value));
        }
    }
    return HFTC_STATUS_OK;
}

hftc_status hftc_model_load(hftc_model **out, const char *path)
{
    compute_check_blas();
    st_file *f;
    TRY(safetensors_open(&f, path));
    hftc_status st = HFTC_STATUS_OK;
    const char *format = safetensors_metadata(f, "format");
    const char *version = safetensors_metadata(f, "format_version");
    hftc_model *m = NULL;
    json_t *words = NULL, *labels = NULL;
    network_config cfg = {0};
    tokenizer_options tok = {0};
    float threshold = 0.5f;
    strategy_kind strategy = STRATEGY_FLAT;
    scoring_kind scoring = SCORING_INDEPENDENT;
    node_embedding_kind node_embedding = NODE_EMBEDDING_OWN;
    bool joint_embedding = false;
    if (!format || strcmp(format, MODEL_FORMAT_NAME))
        st = error_set(HFTC_STATUS_MODEL, "%s: not an hftc model (no \"format\": \"hftc\" in its metadata)", path);
    else if (!version || atoi(version) != MODEL_FORMAT_VERSION)
        st = error_set(HFTC_STATUS_MODEL, "%s: model format version %s, this hftc reads version %d", path,
                       version ? version : "(none)", MODEL_FORMAT_VERSION);
    if (st == HFTC_STATUS_OK)
        st = config_from_json(path, safetensors_metadata(f, "config"), &cfg, &tok, &threshold, &strategy, &scoring,
                              &node_embedding, &joint_embedding);
    if (st == HFTC_STATUS_OK)
        st = metadata_strings(f, path, "vocab", &words);
    if (st == HFTC_STATUS_OK)
        st = metadata_strings(f, path, "labels", &labels);
    if (st == HFTC_STATUS_OK && (json_array_size(words) != cfg.vocab_size || json_array_size(labels) != cfg.n_classes))
        st = error_set(HFTC_STATUS_MODEL, "%s: vocabulary or label count disagrees with the configuration", path);
    if (st == HFTC_STATUS_OK)
        st = model_create(&m);
    if (st == HFTC_STATUS_OK) {
        m->net_config = cfg;
        m->strategy = strategy;
        m->node_embedding = node_embedding;
        m->scoring = scoring;
        m->batch_capacity = 256;
        m->tokenizer = tok;
        m->threshold = threshold;
        const char *preset = safetensors_metadata(f, "preset");
        snprintf(m->preset, sizeof m->preset, "%s", preset ? preset : "");
        const char *training = safetensors_metadata(f, "training");
        m->training_json = training ? mem_strdup(training) : NULL;
        const char *checkpoint = safetensors_metadata(f, MODEL_CHECKPOINT_KEY);
        m->checkpoint_json = checkpoint ? mem_strdup(checkpoint) : NULL;
        const char **w = mem_alloc(cfg.vocab_size, sizeof *w);
        st = w ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
        for (size_t i = 0; w && i < cfg.vocab_size; i++)
            w[i] = json_string_value(json_array_get(words, i));
        vocab_free(&m->vocab);
        if (st == HFTC_STATUS_OK)
            st = vocab_from_words(&m->vocab, w, cfg.vocab_size);
        free(w);
    }
    if (st == HFTC_STATUS_OK)
        st = taxonomy_from_json(&m->tax, path, labels, safetensors_metadata(f, "taxonomy"));
    if (st == HFTC_STATUS_OK && joint_embedding)
        st = label_words_from_json(m, f, path);
    bool *has_output = NULL;
    if (st == HFTC_STATUS_OK)
        st = outputs_from_json(path, safetensors_metadata(f, "outputs"), cfg.n_classes, &has_output);
    if (st == HFTC_STATUS_OK)
        st = model_build_parts(m, has_output);
    free(has_output);
    if (st == HFTC_STATUS_OK)
        st = class_weights_from_json(m, path, safetensors_metadata(f, "class_weights"));
    if (st == HFTC_STATUS_OK)
        st = label_thresholds_from_json(m, path, safetensors_metadata(f, "label_thresholds"));
    if (st == HFTC_STATUS_OK)
        st = model_load_tensors(m, f, path);
    if (st == HFTC_STATUS_OK)
        st = hftc_model_set_word_cache(m, HFTC_WORD_CACHE_DEFAULT_BYTES);
    json_decref(words);
    json_decref(labels);
    safetensors_close(f);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}

/* What a checkpoint's record says of the training so far: the units done (node: classifier runs; flat and
 * level: levels) of all, the level in training and its epochs, and the training seconds. */
static json_t *checkpoint_summary(const hftc_model *m)
{
    json_t *record = json_loads(m->checkpoint_json, 0, NULL), *parts = json_object_get(record, "parts");
    size_t done = 0, total = 0;
    json_t *in_progress = json_null();
    for (size_t p = 0; p < json_array_size(parts); p++) {
        json_t *entry = json_array_get(parts, p), *partial = json_object_get(entry, "in_progress");
        json_t *runs = json_object_get(entry, "runs");
        if (json_is_array(runs)) { /* node: one entry per class-weight run, null until it is done */
            for (size_t w = 0; w < json_array_size(runs); w++)
                done += !json_is_null(json_array_get(runs, w));
            total += json_array_size(runs);
            continue;
        }
        total++;
        done += json_is_object(entry) && !partial;
        if (partial && p < m->n_parts)
            in_progress =
                json_pack("{s:s, s:O}", "part", m->parts[p].name, "epochs", json_object_get(partial, "epoch"));
    }
    json_t *summary =
        json_pack("{s:s, s:I, s:I, s:O, s:o}", "units", m->strategy == STRATEGY_NODE ? "classifier runs" : "levels",
                  "done", (json_int_t)done, "total", (json_int_t)total, "seconds", json_object_get(record, "seconds"),
                  "in_progress", in_progress);
    json_decref(record);
    return summary;
}

char *hftc_model_describe(const hftc_model *m)
{
    json_t *tensors = json_array(), *parts = json_array();
    json_error_t err;
    json_t *training = m->training_json ? json_loads(m->training_json, 0, &err) : NULL;
    // Parameters that trained and those kept fixed (static embeddings, the HTrans shared table);
    // batch norm's running statistics are counted apart: they are estimated, not trained.
    bool static_embedding = json_is_true(json_object_get(json_object_get(training, "options"), "freeze_embeddings"));
    size_t trainable = 0, frozen = m->shared_embedding ? m->net_config.vocab_size * m->net_config.embed_dim : 0;
    size_t statistics = 0;
    for (size_t p = 0; p < m->n_parts; p++) {
        const param_set *ps = network_params(m->parts[p].net);
        size_t part_trainable = 0, part_frozen = 0, part_statistics = 0;
        for (size_t i = 0; i < ps->n_tensors; i++) {
            const tensor *t = &ps->tensors[i];
            if (t->buffer)
                part_statistics += t->size;
            else if (static_embedding && !strcmp(t->name, "embedding.weight"))
                part_frozen += t->size;
            else
                part_trainable += t->size;
            char name[MODEL_TENSOR_NAME_MAX];
            snprintf(name, sizeof name, "%s%s", m->parts[p].prefix, t->name);
            json_t *shape = json_array();
            for (size_t d = 0; d < t->ndim; d++)
                json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
            json_array_append_new(
                tensors, json_pack("{s:s, s:o, s:I}", "name", name, "shape", shape, "parameters", (json_int_t)t->size));
        }
        json_t *part = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "name", m->parts[p].name, "outputs",
                                 (json_int_t)m->parts[p].n_outputs, "parameters",
                                 (json_int_t)(part_trainable + part_frozen), "trainable", (json_int_t)part_trainable,
                                 "frozen", (json_int_t)part_frozen, "statistics", (json_int_t)part_statistics);
        if (m->strategy == STRATEGY_NODE)
            json_object_set_new(part, "class_weight", json_real(m->parts[p].class_weight));
        json_array_append_new(parts, part);
        trainable += part_trainable, frozen += part_frozen, statistics += part_statistics;
    }
    json_t *labels = json_array(), *levels = json_array();
    for (size_t i = 0; i < m->tax.n_nodes; i++)
        json_array_append_new(labels, json_string(strmap_string(&m->tax.names, i)));
    for (size_t level = 1; level <= m->tax.depth; level++) {
        size_t n = 0;
        for (size_t i = 0; i < m->tax.n_nodes; i++)
            n += m->tax.level[i] == level;
        json_array_append_new(levels, json_integer((json_int_t)n));
    }
    json_t *j = json_pack("{s:s, s:i, s:s, s:o, s:I, s:I, s:I, s:o, s:o, s:o}", "format", MODEL_FORMAT_NAME,
                          "format_version", MODEL_FORMAT_VERSION, "preset", m->preset, "config", config_to_json(m),
                          "vocabulary", (json_int_t)vocab_size(&m->vocab), "labels_count", (json_int_t)m->tax.n_nodes,
                          "parameters", (json_int_t)(trainable + frozen), "tensors", tensors, "labels", labels,
                          "training", training ? training : json_object());
    json_object_set_new(j, "trainable", json_integer((json_int_t)trainable));
    json_object_set_new(j, "frozen", json_integer((json_int_t)frozen));
    json_object_set_new(j, "statistics", json_integer((json_int_t)statistics));
    json_object_set_new(j, "labels_per_level", levels);
    json_object_set_new(j, "parts", parts);
    json_object_set_new(j, "taxonomy_is_tree", json_boolean(m->tax.is_tree));
    if (m->checkpoint_json)
        json_object_set_new(j, "checkpoint", checkpoint_summary(m));
    if (m->label_thresholds) {
        json_t *thresholds = json_object();
        for (size_t c = 0; c < m->net_config.n_classes; c++)
            json_object_set_new(thresholds, strmap_string(&m->tax.names, c), json_real(m->label_thresholds[c]));
        json_object_set_new(j, "label_thresholds", thresholds);
    }
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(7));
    json_decref(j);
    return text;
}
