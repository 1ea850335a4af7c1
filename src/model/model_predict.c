/* Prediction: probabilities of a dataset's documents from every part of a model, in batches, with the
 * joint embedding's parent categories, pruning of classifiers whose decision is known, and the words a
 * bigru-att model attended to; and raw texts tokenised as the model reads them (hftc_predict_texts). */
#include "model/model_predict.h"

#include "core/arena.h"
#include "core/compute.h"
#include "core/error.h"
#include "model/batch.h"
#include "model/ensemble.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

// The category whose words go before document doc's text in a part of level (> 1): the document's gold
// label at level - 1, or the one parents->scoring chooses there from probs_row (the levels above it are
// filled in); UINT32_MAX: none.
static uint32_t joint_parent(const hftc_model *m, const dataset *ds, size_t doc, const float *probs_row, size_t level,
                             const parent_source *parents)
{
    return parents->gold ? model_label_at_level(m, ds, doc, level - 1)
                         : scoring_choice(parents->scoring, &m->tax, probs_row, level - 1);
}

bool model_prunes(const hftc_model *m, const decision_rule *prune)
{
    return prune && m->strategy == STRATEGY_NODE && m->family == FAMILY_NEURAL &&
           scoring_bounded_by_parent(prune->scoring) && (prune->thresholds || prune->threshold > 0.0f);
}

/* What pruning by a decision rule needs besides the batch. */
typedef struct {
    const decision_rule *rule;
    size_t *part_of;    /* (n_nodes) the node's part, MODEL_NO_PART: none */
    float *scores;      /* (batch capacity, n_nodes) the BSF or product scores of the batch so far */
    float *bounds;      /* (batch capacity) the parent bound of each document that runs */
    size_t *active_idx; /* (batch capacity) the documents that run, in ds */
    size_t *active_pos; /* (batch capacity) and in the batch */
} pruning;

static hftc_status pruning_init(pruning *pr, const hftc_model *m, const decision_rule *rule)
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

// A batch of a node model pruned by a decision rule: the categories parents first, each classifier on the
// batch's documents whose parent bound reaches the threshold, gathered into a smaller batch.
// probs: the batch's rows (B, C).
static hftc_status predict_pruned_batch(hftc_model *m, const compute_context *cc, const dataset *ds,
                                        const size_t *batch_idx, size_t B, pruning *pr, uint32_t *tokens,
                                        size_t *lengths, float *part_probs, float *probs)
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
            if (p != MODEL_NO_PART && bound >= decision_rule_threshold(pr->rule, c)) {
                pr->active_idx[n] = batch_idx[b], pr->active_pos[n] = b, pr->bounds[n] = bound;
                n++;
            }
        }
        if (n == 0)
            continue;
        size_t T = batch_fill(ds, pr->active_idx, n, T_max, min_len, NULL, tokens, lengths);
        if (isnan(network_predict(m->parts[p].net, cc, tokens, lengths, n, T, NULL, NULL, part_probs)))
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

/* A linear model's probabilities: documents in batches of the model's capacity, side by side, each batch's
 * TF-IDF rows scored by every part. Each document's probabilities depend on it alone. */
static hftc_status predict_linear(hftc_model *m, const compute_context *cc, const dataset *ds, const size_t *idx,
                                  size_t n, float *probs)
{
    size_t cap = m->batch_capacity, C = m->net_config.n_classes, widest = 0, with_output = 0;
    for (size_t p = 0; p < m->n_parts; p++) {
        widest = m->parts[p].n_outputs > widest ? m->parts[p].n_outputs : widest;
        with_output += m->parts[p].n_outputs;
    }
    if (with_output < C) /* labels without an output score 0 */
        memset(probs, 0, n * C * sizeof *probs);
    hftc_status st = HFTC_STATUS_OK;
    size_t n_batches = (n + cap - 1) / cap;
#pragma omp parallel for num_threads(cc->threads) schedule(dynamic)
    for (size_t k = 0; k < n_batches; k++) {
        size_t start = k * cap, B = n - start < cap ? n - start : cap;
        size_t *batch_idx = mem_alloc(B, sizeof *batch_idx);
        float *part_probs = mem_alloc(B * widest, sizeof *part_probs);
        sparse_rows rows = {0};
        hftc_status bst = batch_idx && part_probs ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
        for (size_t b = 0; bst == HFTC_STATUS_OK && b < B; b++)
            batch_idx[b] = idx ? idx[start + b] : start + b;
        if (bst == HFTC_STATUS_OK)
            bst = tfidf_transform(&m->features, ds, batch_idx, B, &rows);
        for (size_t p = 0; p < m->n_parts && bst == HFTC_STATUS_OK; p++) {
            const model_part *part = &m->parts[p];
            linear_probabilities(part->linear, &rows, part_probs);
            for (size_t b = 0; b < B; b++)
                for (size_t j = 0; j < part->n_outputs; j++)
                    probs[(start + b) * C + part->nodes[j]] = part_probs[b * part->n_outputs + j];
        }
        sparse_rows_free(&rows);
        free(batch_idx), free(part_probs);
        if (bst != HFTC_STATUS_OK) {
#pragma omp critical(hftc_predict_linear)
            st = bst;
        }
    }
    return st;
}

static hftc_status predict_dataset(hftc_model *m, const compute_context *cc, const dataset *ds, const size_t *idx,
                                   size_t n, const parent_source *parents, const decision_rule *prune, float *probs,
                                   attention_words *explain)
{
    if (m->family == FAMILY_LINEAR)
        return predict_linear(m, cc, ds, idx, n, probs);
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
            st = predict_pruned_batch(m, cc, ds, batch_idx, B, &pr, tokens, lengths, part_probs, probs + start * C);
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
            /* reads the tokens (from the cache, or ngram's bigrams), and overwrites the shared activations */
            if (network_has_word_cache(part->net) || network_reads_tokens(part->net)) {
                if (isnan(network_predict(part->net, cc, tokens, lengths, B, T, NULL, NULL, part_probs)))
                    st = HFTC_STATUS_INVALID_ARGUMENT;
                embedded_table = NULL;
            } else {
                if (order[k].table != embedded_table) {
                    Te = network_embed_batch(part->net, cc, tokens, lengths, B, T, &embedded, &clamped);
                    embedded_table = order[k].table;
                    if (Te == 0)
                        st = HFTC_STATUS_INVALID_ARGUMENT;
                }
                if (st == HFTC_STATUS_OK)
                    st = network_predict_embedded(part->net, cc, embedded, clamped, B, Te, part_probs);
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
 * 0.53 ms per document against 0.27 ms on one); unless a part's network runs one document faster on threads
 * (network_threads_pay_alone: a large ON-LSTM). */
#define PREDICT_SERIAL_BELOW 8

static bool predict_serially(const hftc_model *m, size_t n)
{
    if (n >= PREDICT_SERIAL_BELOW)
        return false;
    for (size_t p = 0; p < m->n_parts; p++)
        if (m->parts[p].net && network_threads_pay_alone(m->parts[p].net))
            return false;
    return true;
}

/* Weights that are finite each but overflow float32 in the layers (a damaged model file whose checksums were made
 * again, or one hftc did not write) give probabilities that are NaN, which every decision would read as "no";
 * refused instead. Found by fuzz_model. */
static hftc_status check_probabilities(const hftc_model *m, size_t n, const float *probs)
{
    size_t C = m->net_config.n_classes;
    for (size_t i = 0; i < n * C; i++)
        if (!(probs[i] >= 0.0f && probs[i] <= 1.0f))
            return error_set(HFTC_STATUS_MODEL,
                             "the model gives label \"%s\" a probability of %g in document %zu: its weights overflow "
                             "float32 (a damaged model file?)",
                             strmap_string(&m->tax.names, i % C), (double)probs[i], i / C + 1);
    return HFTC_STATUS_OK;
}

hftc_status model_predict_dataset(hftc_model *m, const dataset *ds, const size_t *idx, size_t n,
                                  const parent_source *parents, const decision_rule *prune, float *probs,
                                  attention_words *explain)
{
    if (m->ensemble)
        return ensemble_predict_dataset(m, ds, idx, n, probs);
    compute_context one = compute_context_of(1);
    TRY(predict_dataset(m, predict_serially(m, n) ? &one : &m->compute, ds, idx, n, parents, prune, probs, explain));
    return check_probabilities(m, n, probs);
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
