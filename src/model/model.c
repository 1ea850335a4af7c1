/* hftc_model as a structure: creating it, building its parts (one network per part, sharing one
 * activation arena), freeing it, and the public accessors. Batching is batch.c, prediction
 * model_predict.c, the model file model_file.c. */
#include "model/model.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/names.h"
#include "model/ensemble.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const strategy_names[] = {"flat", "level", "node", "parent"};
static const char *const node_embedding_names[] = {"own", "shared", "inherited"};
static const char *const model_family_names[] = {"neural", "linear"};

NAMES_LOOKUP(strategy_kind, strategy)

NAMES_LOOKUP(model_family, model_family)

NAMES_LOOKUP(node_embedding_kind, node_embedding)

hftc_status model_create(hftc_model **out)
{
    hftc_model *m = mem_calloc(1, sizeof *m);
    if (!m)
        return HFTC_STATUS_OUT_OF_MEMORY;
    taxonomy_init(&m->tax);
    m->compute = compute_context_default();
    hftc_status st = vocab_init(&m->vocab);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}

// Fills a part of the flat or level strategy: level 0 is every label; branch k > 0 one hftc extend added.
static void level_part_name(model_part *part, size_t level, unsigned branch)
{
    part->level = level;
    part->branch = branch;
    part->parent_part = MODEL_NO_PART;
    const char *name = level == 0 ? "flat" : "level";
    char number[24] = "";
    if (level > 0)
        snprintf(number, sizeof number, "%zu", level);
    char prefix[64] = ""; /* "level3." or "level3b1.": well under the room of part->prefix */
    snprintf(part->name, sizeof part->name, "%s%s", name, number);
    if (branch > 0) {
        snprintf(part->name, sizeof part->name, "%s%s branch %u", name, number, branch);
        snprintf(prefix, sizeof prefix, "%s%sb%u.", name, number, branch);
    } else if (level > 0) {
        snprintf(prefix, sizeof prefix, "%s%s.", name, number);
    }
    snprintf(part->prefix, sizeof part->prefix, "%.39s", prefix);
}

const float *model_part_embedding(const hftc_model *m, size_t p)
{
    return m->parts[p].net ? network_embedding(m->parts[p].net) : NULL;
}

/* Part's network, as m->net_config says with n_classes outputs (a linear model's parts have none: their
 * classifiers come with training or the model file). */
static hftc_status part_network(hftc_model *m, model_part *part, network_config cfg)
{
    if (m->family == FAMILY_LINEAR)
        return HFTC_STATUS_OK;
    return network_create(&part->net, &cfg, m->batch_capacity, model_input_len(m), NETWORK_INFERENCE_SHARED);
}

/* The one embedding table the parts read, frozen, where m->node_embedding says SHARED (node and parent parts of a
 * neural model): allocated zeroed, once. */
static hftc_status shared_embedding_alloc(hftc_model *m)
{
    if (m->node_embedding != NODE_EMBEDDING_SHARED || m->shared_embedding || m->family != FAMILY_NEURAL)
        return HFTC_STATUS_OK;
    m->shared_embedding = mem_calloc(m->net_config.vocab_size * m->net_config.embed_dim, sizeof(float));
    return m->shared_embedding ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
}

// The node parts' networks: one binary classifier per label with an output, level by level.
static hftc_status build_node_parts(hftc_model *m, const bool *has_output)
{
    const taxonomy *t = &m->tax;
    size_t *part_of = mem_alloc(t->n_nodes, sizeof *part_of);
    if (!part_of)
        return HFTC_STATUS_OUT_OF_MEMORY;
    hftc_status st = shared_embedding_alloc(m);
    if (st != HFTC_STATUS_OK) {
        free(part_of);
        return st;
    }
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
            st = part_network(m, part, cfg);
            if (st == HFTC_STATUS_OK && cfg.borrowed_embedding && part->net)
                network_borrow_embedding(part->net, m->node_embedding == NODE_EMBEDDING_SHARED
                                                        ? m->shared_embedding
                                                        : model_part_embedding(m, part->parent_part));
        }
    free(part_of);
    return st;
}

uint32_t model_part_node(const taxonomy *t, const model_part *part)
{
    return t->parents[t->parent_start[part->nodes[0]]];
}

/* The parent strategy's part over the children of node (TAXONOMY_ROOT: the top level) with an output whose first
 * parent it is, if it has any; part_of[c]: the part whose outputs hold c, filled for them. */
static hftc_status parent_part(hftc_model *m, const bool *has_output, uint32_t node, size_t *part_of)
{
    const taxonomy *t = &m->tax;
    model_part *part = &m->parts[m->n_parts];
    size_t n = node == TAXONOMY_ROOT ? t->n_top : t->child_start[node + 1] - t->child_start[node];
    part->nodes = mem_alloc(n ? n : 1, sizeof *part->nodes);
    if (!part->nodes)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t j = 0; j < n; j++) {
        uint32_t c = node == TAXONOMY_ROOT ? t->top[j] : t->children[t->child_start[node] + j];
        if ((!has_output || has_output[c]) && t->parents[t->parent_start[c]] == node)
            part->nodes[part->n_outputs++] = c;
    }
    if (part->n_outputs == 0) {
        free(part->nodes);
        *part = (model_part){0};
        return HFTC_STATUS_OK;
    }
    size_t p = m->n_parts++;
    part->of_node = true;
    part->parent_part = node == TAXONOMY_ROOT ? MODEL_NO_PART : part_of[node];
    part->level = part->parent_part == MODEL_NO_PART ? (node == TAXONOMY_ROOT ? 1 : t->level[node] + 1)
                                                     : m->parts[part->parent_part].level + 1;
    for (size_t j = 0; j < part->n_outputs; j++)
        part_of[part->nodes[j]] = p;
    if (node == TAXONOMY_ROOT) {
        snprintf(part->name, sizeof part->name, "parent (top)");
        snprintf(part->prefix, sizeof part->prefix, "parent_top.");
    } else {
        snprintf(part->name, sizeof part->name, "parent %s", strmap_string(&t->names, node));
        snprintf(part->prefix, sizeof part->prefix, "parent%" PRIu32 ".", node);
    }
    network_config cfg = m->net_config;
    cfg.n_classes = part->n_outputs;
    cfg.borrowed_embedding = m->shared_embedding != NULL;
    TRY(part_network(m, part, cfg));
    if (cfg.borrowed_embedding && part->net)
        network_borrow_embedding(part->net, m->shared_embedding);
    return HFTC_STATUS_OK;
}

/* The parent strategy's parts: the top level's, then each node's, parents first. A part's level is its node's
 * part's plus one (so, in a tree, its outputs' level): a part comes after the part of its node whatever a DAG's
 * levels say, as the linear family's waves need. */
static hftc_status build_parent_parts(hftc_model *m, const bool *has_output)
{
    const taxonomy *t = &m->tax;
    size_t *part_of = mem_alloc(t->n_nodes ? t->n_nodes : 1, sizeof *part_of);
    if (!part_of)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t c = 0; c < t->n_nodes; c++)
        part_of[c] = MODEL_NO_PART;
    hftc_status st = shared_embedding_alloc(m);
    if (st == HFTC_STATUS_OK)
        st = parent_part(m, has_output, TAXONOMY_ROOT, part_of);
    for (size_t i = 0; i < t->n_nodes && st == HFTC_STATUS_OK; i++)
        st = parent_part(m, has_output, t->order[i], part_of);
    free(part_of);
    return st;
}

// The labels of level (0: all) with an output in branch b (0: the level's own network) into part.
static size_t level_part_nodes(const hftc_model *m, const bool *has_output, size_t level, unsigned b, model_part *part)
{
    const taxonomy *t = &m->tax;
    part->n_outputs = 0;
    for (size_t c = 0; c < t->n_nodes; c++)
        if ((level == 0 || t->level[c] == level) && (!has_output || has_output[c]) &&
            (m->label_branch ? m->label_branch[c] : 0) == b)
            part->nodes[part->n_outputs++] = (uint32_t)c;
    return part->n_outputs;
}

hftc_status model_build_parts(hftc_model *m, const bool *has_output)
{
    const taxonomy *t = &m->tax;
    bool flat = m->strategy == STRATEGY_FLAT, node = m->strategy == STRATEGY_NODE;
    if (m->strategy == STRATEGY_PARENT) {
        m->parts = mem_calloc(t->n_nodes + 1, sizeof *m->parts);
        if (!m->parts)
            return HFTC_STATUS_OUT_OF_MEMORY;
        m->n_parts = 0;
        TRY(build_parent_parts(m, has_output));
        return model_share_workspace(m);
    }
    size_t first = flat ? 0 : 1, last = flat ? 0 : t->depth; /* level 0: all labels */
    unsigned branches = 0;
    for (size_t c = 0; !node && m->label_branch && c < t->n_nodes; c++)
        branches = m->label_branch[c] > branches ? m->label_branch[c] : branches;
    m->parts = mem_calloc(node ? t->n_nodes : (last - first + 1) * (branches + 1), sizeof *m->parts);
    if (!m->parts)
        return HFTC_STATUS_OUT_OF_MEMORY;
    m->n_parts = 0;
    if (node) {
        TRY(build_node_parts(m, has_output));
        return model_share_workspace(m);
    }
    for (size_t level = first; level <= last; level++) {
        size_t own = MODEL_NO_PART;
        for (unsigned b = 0; b <= branches; b++) {
            model_part *part = &m->parts[m->n_parts];
            part->nodes = mem_alloc(t->n_nodes, sizeof *part->nodes);
            if (!part->nodes)
                return HFTC_STATUS_OUT_OF_MEMORY;
            if (level_part_nodes(m, has_output, level, b, part) == 0) {
                free(part->nodes);
                *part = (model_part){0};
                continue;
            }
            if (b > 0 && own == MODEL_NO_PART) {
                free(part->nodes);
                *part = (model_part){0};
                return error_set(HFTC_STATUS_MODEL, "branch %u of level %zu has no network of its level to read", b,
                                 level);
            }
            own = b == 0 ? m->n_parts : own;
            m->n_parts++;
            level_part_name(part, level, b);
            network_config cfg = m->net_config;
            cfg.n_classes = part->n_outputs;
            cfg.borrowed_embedding = b > 0;
            TRY(part_network(m, part, cfg));
            if (b > 0) {
                part->parent_part = own;
                if (part->net)
                    network_borrow_embedding(part->net, model_part_embedding(m, own));
            }
        }
    }
    return model_share_workspace(m);
}

hftc_status model_share_workspace(hftc_model *m)
{
    size_t need = 0;
    if (m->family == FAMILY_LINEAR)
        return HFTC_STATUS_OK;
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

hftc_status model_share_part_workspace(hftc_model *m, size_t p)
{
    if (!m->parts[p].net)
        return HFTC_STATUS_OK;
    if (network_activation_bytes(m->parts[p].net) > m->workspace.size)
        return model_share_workspace(m);
    return network_share_activations(m->parts[p].net, &m->workspace);
}

void hftc_model_free(hftc_model *m)
{
    if (!m)
        return;
    ensemble_free(m->ensemble);
    for (size_t p = 0; p < m->n_parts; p++) {
        network_free(m->parts[p].net);
        linear_free(m->parts[p].linear);
        free(m->parts[p].nodes);
    }
    free(m->parts);
    arena_free(&m->workspace);
    free(m->shared_embedding);
    vocab_free(&m->vocab);
    tfidf_free(&m->features);
    taxonomy_free(&m->tax);
    label_words_free(&m->label_words);
    free(m->training_json);
    free(m->checkpoint_summary);
    free(m->label_branch);
    free(m->label_thresholds);
    free(m);
}

size_t hftc_model_num_labels(const hftc_model *m) { return m->net_config.n_classes; }
const char *hftc_model_label(const hftc_model *m, size_t i) { return strmap_string(&m->tax.names, i); }

size_t hftc_model_label_parents(const hftc_model *m, size_t i, size_t *parents, size_t max)
{
    const taxonomy *t = &m->tax;
    size_t n = 0;
    for (size_t k = i < t->n_nodes ? t->parent_start[i] : 0; i < t->n_nodes && k < t->parent_start[i + 1]; k++)
        if (t->parents[k] != TAXONOMY_ROOT) {
            if (n < max)
                parents[n] = t->parents[k];
            n++;
        }
    return n;
}
float hftc_model_threshold(const hftc_model *m) { return m->threshold; }

const float *hftc_model_label_thresholds(const hftc_model *m) { return m->label_thresholds; }
const char *hftc_model_scoring(const hftc_model *m) { return scoring_name(m->scoring); }

size_t hftc_model_num_members(const hftc_model *m) { return m->ensemble ? ensemble_size(m->ensemble) : 0; }

hftc_model *hftc_model_member(hftc_model *m, size_t k)
{
    return k < hftc_model_num_members(m) ? ensemble_member(m->ensemble, k) : NULL;
}

const char *hftc_model_member_name(const hftc_model *m, size_t k)
{
    return k < hftc_model_num_members(m) ? ensemble_member_name(m->ensemble, k) : NULL;
}

size_t model_input_len(const hftc_model *m)
{
    return m->tokenizer.max_len + (m->joint_embedding ? m->label_words.longest : 0);
}

void hftc_model_set_threads(hftc_model *m, int n)
{
    m->compute = compute_context_of(n);
    for (size_t k = 0; m->ensemble && k < ensemble_size(m->ensemble); k++)
        hftc_model_set_threads(ensemble_member(m->ensemble, k), n);
}

/* The word cache tables of m's parts, an ensemble's members' included. */
static size_t word_cache_total(const hftc_model *m)
{
    size_t total = 0;
    for (size_t p = 0; m->family == FAMILY_NEURAL && p < m->n_parts; p++) /* a linear model: no embeddings */
        total += network_word_cache_bytes(m->parts[p].net);
    for (size_t k = 0; m->ensemble && k < ensemble_size(m->ensemble); k++)
        total += word_cache_total(ensemble_member(m->ensemble, k));
    return total;
}

/* Turns every cache of m (its members' included) on or off. */
static hftc_status word_cache_switch(hftc_model *m, bool on)
{
    for (size_t p = 0; m->family == FAMILY_NEURAL && p < m->n_parts; p++)
        TRY(network_set_word_cache(m->parts[p].net, on ? SIZE_MAX : 0));
    for (size_t k = 0; m->ensemble && k < ensemble_size(m->ensemble); k++)
        TRY(word_cache_switch(ensemble_member(m->ensemble, k), on));
    return HFTC_STATUS_OK;
}

hftc_status hftc_model_set_word_cache(hftc_model *m, size_t max_bytes)
{
    return word_cache_switch(m, max_bytes > 0 && word_cache_total(m) <= max_bytes);
}
