/* Evaluation of a model on a labelled file (hftc_evaluate) and prediction (hftc_predict_documents,
 * hftc_predict_file): documents predicted and decided in chunks, the decisions gathered or handed on. */
#include "core/arena.h"
#include "core/clock.h"
#include "core/error.h"
#include "eval/diagnostics.h"
#include "hier/decisions.h"
#include "model/model.h"
#include "model/model_predict.h"

#include <stdlib.h>
#include <string.h>

/* Documents are scored this many at a time: memory for scores is EVAL_CHUNK_DOCS x labels, whatever
 * the number of documents (a 21,845-node taxonomy: 22 MB). */
#define EVAL_CHUNK_DOCS 256

/* Receives the decisions for documents first .. first + n - 1: their scores (n x C), selected sets (CSR,
 * local to the chunk) and k best labels each (NULL when k = 0). */
typedef hftc_status (*chunk_fn)(size_t first, size_t n, const float *scores, const size_t *pred_start,
                                const uint32_t *pred, const uint32_t *ranked, void *user);

/* The reading options for the input, and its scoring (NULL: the model's); an input option out of range is
 * an error. */
static hftc_status input_options(const hftc_model *m, const hftc_input_options *in, bool labelled, dataset_options *opt,
                                 scoring_kind *kind)
{
    *opt =
        (dataset_options){.tokenizer = m->tokenizer, .labels_required = labelled, .skip_bad_lines = in->skip_bad_lines};
    *kind = m->scoring;
    if (!(in->threshold >= 0.0f && in->threshold <= 1.0f) && in->threshold != -1.0f)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "threshold %g: must be in [0, 1], or -1 for the model's",
                         (double)in->threshold);
    if (!data_format_parse(in->format ? in->format : "auto", &opt->format) ||
        (labelled && opt->format == DATA_FORMAT_TEXT))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown or unlabelled data format \"%s\"", in->format);
    if (in->scoring && !scoring_parse(in->scoring, kind)) {
        char names[128];
        scoring_names_list(names, sizeof names);
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown scoring \"%s\" (%s)", in->scoring, names);
    }
    if (in->explain && (m->family != FAMILY_NEURAL || !encoder_has_attention(&m->net_config) || in->explain > 100))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "explanations (1 to 100 words) need a bigru-att model (%s)",
                         in->explain > 100 ? "more than 100 words asked" : "its word attention");
    /* every classifier's words are kept for a chunk of documents until the decisions are known */
    double mib = (double)EVAL_CHUNK_DOCS * (double)m->n_parts * (double)in->explain * 8.0 / (1 << 20);
    if (in->explain && mib > 512.0)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "explanations of %zu words for %zu classifiers would hold %.0f MiB: ask for fewer words",
                         in->explain, m->n_parts, mib);
    return HFTC_STATUS_OK;
}

/* How the input's documents are decided: the scoring, and the threshold given, or the model's (its
 * per-label thresholds where it has them, for the scorings that threshold). */
static decision_rule input_rule(const hftc_model *m, const hftc_input_options *in, scoring_kind kind)
{
    bool given = in->threshold >= 0.0f;
    return (decision_rule){.scoring = kind,
                           .threshold = given ? in->threshold : m->threshold,
                           .thresholds = given || !scoring_uses_threshold(kind) ? NULL : m->label_thresholds};
}

/* Accuracy given the true parent, counted per level (index level - 1). */
typedef struct {
    size_t right[HFTC_MAX_LEVELS], docs[HFTC_MAX_LEVELS];
} parent_tally;

/* Counts documents first .. first + n - 1 of ds (gold labels completed with their ancestors) into the
 * tally from their probabilities (n x C): at each level where a document has one label, whether the
 * scoring chooses it under its true parent. */
static void tally_given_parent(const hftc_model *m, const dataset *ds, size_t first, size_t n, const float *probs,
                               scoring_kind kind, parent_tally *tally)
{
    const taxonomy *t = &m->tax;
    size_t depth = t->depth < HFTC_MAX_LEVELS ? t->depth : HFTC_MAX_LEVELS;
    for (size_t i = 0; i < n; i++) {
        size_t d = first + i, count[HFTC_MAX_LEVELS] = {0};
        uint32_t gold[HFTC_MAX_LEVELS];
        for (size_t j = ds->label_start[d]; j < ds->label_start[d + 1]; j++) {
            uint32_t c = ds->labels[j];
            if (c < t->n_nodes && t->level[c] <= depth && count[t->level[c] - 1]++ == 0)
                gold[t->level[c] - 1] = c;
        }
        for (size_t level = 1; level <= depth; level++) {
            if (count[level - 1] != 1)
                continue;
            uint32_t g = gold[level - 1], parent = t->parents[t->parent_start[g]];
            tally->docs[level - 1]++;
            tally->right[level - 1] += scoring_child_choice(kind, t, probs + i * t->n_nodes, parent, level) == g;
        }
    }
}

/* What an evaluation counts from the probabilities of each chunk (ds labelled, its labels completed): the
 * accuracy given the true parent, the threshold curve; NULL: not counted. */
typedef struct {
    parent_tally *parents;
    curve_tally *curve;
} chunk_tallies;

/* Predicts every document of ds in chunks, turns probabilities into scores with the scoring kind and both
 * into decisions (the labels kept, ranked by their scores), and hands each chunk to fn; with tallies, counts
 * them from the same probabilities. */
static hftc_status decide_in_chunks(hftc_model *m, const dataset *ds, const decision_rule *rule, bool prune, size_t k,
                                    const chunk_tallies *tallies, attention_words *explain, chunk_fn fn, void *user)
{
    scoring_kind kind = rule->scoring;
    size_t C = m->net_config.n_classes;
    float *probs = mem_alloc(EVAL_CHUNK_DOCS * C, sizeof *probs),
          *scores = mem_alloc(EVAL_CHUNK_DOCS * C, sizeof *scores);
    bool *keep = mem_alloc(EVAL_CHUNK_DOCS * C, sizeof *keep);
    size_t *idx = mem_alloc(EVAL_CHUNK_DOCS, sizeof *idx);
    uint32_t *ranked = k ? mem_alloc(EVAL_CHUNK_DOCS * k, sizeof *ranked) : NULL;
    hftc_status st = probs && scores && keep && idx && (ranked || !k) ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t first = 0; st == HFTC_STATUS_OK && first < ds->n_docs; first += EVAL_CHUNK_DOCS) {
        size_t n = ds->n_docs - first < EVAL_CHUNK_DOCS ? ds->n_docs - first : EVAL_CHUNK_DOCS;
        for (size_t i = 0; i < n; i++)
            idx[i] = first + i;
        parent_source parents = {kind, false};
        st = model_predict_dataset(m, ds, idx, n, &parents, prune ? rule : NULL, probs, explain);
        if (st != HFTC_STATUS_OK)
            break;
        if (tallies && tallies->parents)
            tally_given_parent(m, ds, first, n, probs, kind, tallies->parents);
        scoring_apply(&m->compute, kind, &m->tax, probs, scores, n);
        if (tallies && tallies->curve) /* before the decisions: it uses keep as scratch */
            curve_tally_add(tallies->curve, kind, &m->tax, probs, scores, keep, ds, first, n);
        scoring_select(kind, &m->tax, probs, scores, rule->threshold, rule->thresholds, keep, n);
        size_t *pred_start = NULL;
        uint32_t *pred = NULL;
        st = decisions_from_mask(scores, keep, n, C, k, &pred_start, &pred, ranked);
        if (st == HFTC_STATUS_OK)
            st = fn(first, n, scores, pred_start, pred, ranked, user);
        free(pred_start), free(pred);
    }
    free(probs), free(scores), free(keep), free(idx), free(ranked);
    return st;
}

/* The accuracy given the true parent of a joint-embedding model: its predictions change when the parent
 * words do, so the documents are read again, each level after its true parent's words. */
static hftc_status tally_with_true_parents(hftc_model *m, const dataset *ds, scoring_kind kind, parent_tally *tally)
{
    size_t C = m->net_config.n_classes;
    float *probs = mem_alloc(EVAL_CHUNK_DOCS * C, sizeof *probs);
    size_t *idx = mem_alloc(EVAL_CHUNK_DOCS, sizeof *idx);
    hftc_status st = probs && idx ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    parent_source parents = {kind, true};
    for (size_t first = 0; st == HFTC_STATUS_OK && first < ds->n_docs; first += EVAL_CHUNK_DOCS) {
        size_t n = ds->n_docs - first < EVAL_CHUNK_DOCS ? ds->n_docs - first : EVAL_CHUNK_DOCS;
        for (size_t i = 0; i < n; i++)
            idx[i] = first + i;
        st = model_predict_dataset(m, ds, idx, n, &parents, NULL, probs, NULL);
        if (st == HFTC_STATUS_OK)
            tally_given_parent(m, ds, first, n, probs, kind, tally);
    }
    free(probs), free(idx);
    return st;
}

/* The decisions of every document, gathered for metrics_compute. */
typedef struct {
    size_t *pred_start; /* n_docs + 1 */
    uint32_t *pred;
    size_t pred_capacity;
    uint32_t *ranked; /* n_docs x METRICS_MAX_K */
} all_decisions;

static hftc_status gather_decisions(size_t first, size_t n, const float *scores, const size_t *pred_start,
                                    const uint32_t *pred, const uint32_t *ranked, void *user)
{
    (void)scores;
    all_decisions *d = user;
    size_t base = d->pred_start[first];
    TRY(mem_reserve((void **)&d->pred, &d->pred_capacity, base + pred_start[n], sizeof *d->pred));
    memcpy(d->pred + base, pred, pred_start[n] * sizeof *pred);
    for (size_t i = 0; i < n; i++)
        d->pred_start[first + i + 1] = base + pred_start[i + 1];
    memcpy(d->ranked + first * METRICS_MAX_K, ranked, n * METRICS_MAX_K * sizeof *ranked);
    return HFTC_STATUS_OK;
}

/* The HFT-ONLSTM paper's "overall" accuracy: the share of documents whose last-level labels (their gold
 * labels at the deepest level they reach) are all predicted. With top-down decisions over a tree this is
 * the predicted path being right down to the document's leaf. */
static double last_level_accuracy(const taxonomy *t, const dataset *ds, const all_decisions *d)
{
    size_t right = 0;
    for (size_t i = 0; i < ds->n_docs; i++) {
        size_t deepest = 0, found = 0, needed = 0;
        for (size_t j = ds->label_start[i]; j < ds->label_start[i + 1]; j++)
            if (ds->labels[j] < t->n_nodes && t->level[ds->labels[j]] > deepest)
                deepest = t->level[ds->labels[j]];
        for (size_t j = ds->label_start[i]; j < ds->label_start[i + 1]; j++) {
            uint32_t g = ds->labels[j];
            if (g >= t->n_nodes || t->level[g] != deepest)
                continue;
            needed++;
            for (size_t k = d->pred_start[i]; k < d->pred_start[i + 1]; k++)
                found += d->pred[k] == g;
        }
        right += needed > 0 && found == needed;
    }
    return ds->n_docs ? (double)right / (double)ds->n_docs : 0.0;
}

/* The hierarchical figures of hftc_evaluation: mi's predicted sets with their labels' ancestors added. */
static hftc_status hierarchical_metrics(const hftc_model *m, const metrics_input *mi, hftc_evaluation *out)
{
    const taxonomy *t = &m->tax;
    size_t *start = mem_alloc(mi->n_docs + 1, sizeof *start), cap = 0;
    uint32_t *ids = NULL, *stack = mem_alloc(t->n_nodes ? t->n_nodes : 1, sizeof *stack);
    bool *seen = mem_calloc(mi->n_labels ? mi->n_labels : 1, sizeof *seen);
    hftc_status st = start && stack && seen ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    size_t n = 0;
    // A climb stops at a label already taken, whose ancestors were taken with it: a document costs the size
    // of its labels' closure, however deep the taxonomy (a climb per label was quadratic on a long chain).
    for (size_t d = 0; st == HFTC_STATUS_OK && d < mi->n_docs; d++) {
        start[d] = n;
        for (size_t j = mi->pred_start[d]; st == HFTC_STATUS_OK && j < mi->pred_start[d + 1]; j++) {
            uint32_t label = mi->pred[j];
            if (seen[label])
                continue;
            st = mem_reserve((void **)&ids, &cap, n + t->n_nodes + 1, sizeof *ids);
            size_t top = 0;
            if (st == HFTC_STATUS_OK)
                seen[label] = true, ids[n++] = label, stack[top++] = label;
            while (top) {
                uint32_t u = stack[--top];
                for (size_t k = u < t->n_nodes ? t->parent_start[u] : 0; u < t->n_nodes && k < t->parent_start[u + 1];
                     k++) {
                    uint32_t p = t->parents[k];
                    if (p != TAXONOMY_ROOT && !seen[p])
                        seen[p] = true, ids[n++] = p, stack[top++] = p;
                }
            }
        }
        for (size_t j = start[d]; j < n; j++)
            seen[ids[j]] = false;
    }
    if (st == HFTC_STATUS_OK) {
        start[mi->n_docs] = n;
        metrics_input h = {.n_docs = mi->n_docs,
                           .n_labels = mi->n_labels,
                           .gold_start = mi->gold_start,
                           .gold = mi->gold,
                           .pred_start = start,
                           .pred = ids};
        metrics mt;
        st = metrics_compute(&mt, &h);
        out->hierarchical_precision = mt.micro_precision;
        out->hierarchical_recall = mt.micro_recall;
        out->hierarchical_f1 = mt.micro_f1;
    }
    free(start), free(ids), free(stack), free(seen);
    return st;
}

/* Each label's counts over mi's documents, for the labels in the gold set or predicted (label names from
 * m's taxonomy, which still holds the unknown ones). */
static hftc_status per_label_metrics(const hftc_model *m, const metrics_input *mi, hftc_evaluation *out)
{
    size_t n = mi->n_labels;
    size_t *counts = mem_alloc(3 * n, sizeof *counts), *tp = counts, *fp = counts + n, *fn = counts + 2 * n;
    if (!counts)
        return HFTC_STATUS_OUT_OF_MEMORY;
    hftc_status st = metrics_per_label(mi, tp, fp, fn);
    size_t used = 0;
    for (size_t l = 0; st == HFTC_STATUS_OK && l < n; l++)
        used += tp[l] + fp[l] + fn[l] > 0;
    out->per_label = st == HFTC_STATUS_OK ? mem_calloc(used ? used : 1, sizeof *out->per_label) : NULL;
    if (st == HFTC_STATUS_OK && !out->per_label)
        st = HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t l = 0; st == HFTC_STATUS_OK && l < n; l++) {
        if (tp[l] + fp[l] + fn[l] == 0)
            continue;
        hftc_label_metrics *r = &out->per_label[out->n_per_label++];
        double precision = tp[l] + fp[l] ? (double)tp[l] / (double)(tp[l] + fp[l]) : 0.0;
        double recall = tp[l] + fn[l] ? (double)tp[l] / (double)(tp[l] + fn[l]) : 0.0;
        *r = (hftc_label_metrics){.label = strdup(strmap_string(&m->tax.names, l)),
                                  .level = l < m->tax.n_nodes ? m->tax.level[l] : 0,
                                  .support = tp[l] + fn[l],
                                  .predicted = tp[l] + fp[l],
                                  .correct = tp[l],
                                  .precision = precision,
                                  .recall = recall,
                                  .f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0};
        if (!r->label)
            st = HFTC_STATUS_OUT_OF_MEMORY;
    }
    free(counts);
    return st;
}

void hftc_evaluation_free(hftc_evaluation *e)
{
    for (size_t i = 0; i < e->n_per_label; i++)
        free(e->per_label[i].label);
    free(e->per_label);
    e->per_label = NULL;
    e->n_per_label = 0;
    for (size_t i = 0; i < e->n_confusions; i++)
        free(e->confusions[i].gold), free(e->confusions[i].predicted);
    free(e->confusions);
    e->confusions = NULL;
    e->n_confusions = 0;
    free(e->doc_counts);
    e->doc_counts = NULL;
}

// Each document's labels predicted and right, predicted, and gold (mi's), into out->doc_counts.
static hftc_status doc_counts(const metrics_input *mi, hftc_evaluation *out)
{
    size_t *counts = mem_alloc(3 * mi->n_docs + 1, sizeof *counts);
    bool *gold = mem_calloc(mi->n_labels + 1, sizeof *gold);
    if (!counts || !gold) {
        free(counts), free(gold);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t d = 0; d < mi->n_docs; d++) {
        size_t right = 0;
        for (size_t j = mi->gold_start[d]; j < mi->gold_start[d + 1]; j++)
            gold[mi->gold[j]] = true;
        for (size_t j = mi->pred_start[d]; j < mi->pred_start[d + 1]; j++)
            right += mi->pred[j] < mi->n_labels && gold[mi->pred[j]];
        for (size_t j = mi->gold_start[d]; j < mi->gold_start[d + 1]; j++)
            gold[mi->gold[j]] = false;
        counts[3 * d] = right;
        counts[3 * d + 1] = mi->pred_start[d + 1] - mi->pred_start[d];
        counts[3 * d + 2] = mi->gold_start[d + 1] - mi->gold_start[d];
    }
    free(gold);
    out->doc_counts = counts;
    return HFTC_STATUS_OK;
}

static void copy_metrics(hftc_level_metrics *out, const metrics *mt)
{
    *out = (hftc_level_metrics){
        .labels = mt->labels, .micro_f1 = mt->micro_f1, .macro_f1 = mt->macro_f1, .accuracy = mt->exact_match};
}

hftc_status hftc_evaluate(hftc_model *m, const hftc_input_options *in, hftc_evaluation *result)
{
    hftc_evaluation e = {0}, *out = &e; /* copied to *result only on success */
    /* Labels the model does not know get ids past its outputs: never predicted, always missed. The
     * known ones are completed with their ancestors, as the training data was. */
    dataset ds = {0};
    all_decisions d = {0};
    bool *mask = NULL;
    size_t C = m->net_config.n_classes;
    scoring_kind kind;
    dataset_options opt;
    hftc_status st = input_options(m, in, true, &opt, &kind);
    decision_rule rule = input_rule(m, in, kind);
    if (st == HFTC_STATUS_OK)
        st = dataset_read(&ds, in->path, &opt, &m->vocab, false, &m->tax.names);
    if (st == HFTC_STATUS_OK)
        st = taxonomy_complete_dataset(&m->tax, &ds, in->path, TAXONOMY_UNKNOWN_KEEP, NULL);
    if (st == HFTC_STATUS_OK) {
        d.pred_start = mem_calloc(ds.n_docs + 1, sizeof *d.pred_start);
        d.ranked = mem_alloc(ds.n_docs * METRICS_MAX_K, sizeof *d.ranked);
        st = d.pred_start && d.ranked ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    }
    if (st == HFTC_STATUS_OK) /* never NULL, even when nothing is selected */
        st = mem_reserve((void **)&d.pred, &d.pred_capacity, 1, sizeof *d.pred);
    parent_tally tally = {0};
    curve_tally curve = {{0}};
    bool with_curve = in->threshold_curve && scoring_uses_threshold(kind);
    /* the curve reads every label's probability, which pruning leaves out */
    bool prune = in->prune && !with_curve && model_prunes(m, &rule);
    chunk_tallies tallies = {m->joint_embedding || prune ? NULL : &tally, with_curve ? &curve : NULL};
    double t0 = now_seconds();
    if (st == HFTC_STATUS_OK)
        st = decide_in_chunks(m, &ds, &rule, prune, METRICS_MAX_K, &tallies, NULL, gather_decisions, &d);
    double seconds = now_seconds() - t0;
    if (st == HFTC_STATUS_OK && m->joint_embedding)
        st = tally_with_true_parents(m, &ds, kind, &tally);
    size_t n_labels = strmap_count(&m->tax.names);
    if (st == HFTC_STATUS_OK) {
        mask = mem_calloc(n_labels, sizeof *mask);
        st = mask ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    }
    metrics_input mi = {.n_docs = ds.n_docs,
                        .n_labels = n_labels,
                        .gold_start = ds.label_start,
                        .gold = ds.labels,
                        .pred_start = d.pred_start,
                        .pred = d.pred,
                        .ranked = d.ranked};
    metrics mt;
    if (st == HFTC_STATUS_OK)
        st = metrics_compute(&mt, &mi);
    if (st == HFTC_STATUS_OK) {
        *out = (hftc_evaluation){.docs = mt.docs,
                                 .labels = mt.labels,
                                 .unknown_labels = n_labels - C,
                                 .micro_precision = mt.micro_precision,
                                 .micro_recall = mt.micro_recall,
                                 .micro_f1 = mt.micro_f1,
                                 .macro_f1 = mt.macro_f1,
                                 .weighted_f1 = mt.weighted_f1,
                                 .exact_match = mt.exact_match,
                                 .overall_accuracy = last_level_accuracy(&m->tax, &ds, &d),
                                 .seconds = seconds,
                                 .docs_per_second = seconds > 0 ? (double)mt.docs / seconds : 0,
                                 .label_thresholds = rule.thresholds != NULL};
        for (size_t k = 1; k <= METRICS_MAX_K; k++) {
            out->precision_at[k] = mt.precision_at[k];
            out->ndcg_at[k] = mt.ndcg_at[k];
        }
    }
    if (st == HFTC_STATUS_OK)
        st = hierarchical_metrics(m, &mi, out);
    if (st == HFTC_STATUS_OK && in->per_label)
        st = per_label_metrics(m, &mi, out);
    if (st == HFTC_STATUS_OK && in->sibling_confusions)
        st = sibling_confusions(&m->tax, &mi, out);
    if (st == HFTC_STATUS_OK && with_curve)
        curve_tally_finish(&curve, out);
    if (st == HFTC_STATUS_OK && in->doc_counts)
        st = doc_counts(&mi, out);
    /* Per level: only that level's labels count (accuracy: the level's label set is exactly right). */
    mi.label_mask = mask;
    mi.ranked = NULL;
    for (size_t level = 1; st == HFTC_STATUS_OK && level <= m->tax.depth && level <= HFTC_MAX_LEVELS; level++) {
        for (size_t c = 0; c < C; c++)
            mask[c] = m->tax.level[c] == level;
        st = metrics_compute(&mt, &mi);
        copy_metrics(&out->level[level - 1], &mt);
        out->level[level - 1].docs_given_parent = tally.docs[level - 1];
        out->level[level - 1].accuracy_given_parent =
            tally.docs[level - 1] ? (double)tally.right[level - 1] / (double)tally.docs[level - 1] : 0.0;
        out->n_levels = level;
    }
    free(d.pred_start), free(d.pred), free(d.ranked), free(mask);
    dataset_free(&ds);
    hftc_status forget = taxonomy_forget_pending(&m->tax);
    st = st == HFTC_STATUS_OK ? forget : st;
    if (st == HFTC_STATUS_OK)
        *result = e;
    else
        hftc_evaluation_free(&e);
    return st;
}

/* hftc_predict_file's chunk handler: one hftc_prediction per document, in order. */
typedef struct {
    const hftc_model *m;
    size_t k;
    size_t first; /* the input's document number of the batch's first document */
    size_t *selected, *ranked_ids;
    attention_words explain; /* with explanations: the chunk's (EVAL_CHUNK_DOCS x parts x n_words) */
    size_t *part_of;         /* with explanations: each label's part */
    const char **words;      /* with explanations: a prediction's (labels x n_words) */
    float *word_weights;
    const dataset *ds; /* the documents being decided */
    hftc_prediction_fn fn;
    void *user;
} prediction_sink;

static hftc_status emit_predictions(size_t first, size_t n, const float *scores, const size_t *pred_start,
                                    const uint32_t *pred, const uint32_t *ranked, void *user)
{
    prediction_sink *s = user;
    size_t C = s->m->net_config.n_classes;
    for (size_t i = 0; i < n; i++) {
        hftc_prediction p = {.index = s->first + first + i,
                             .probs = scores + i * C,
                             .selected = s->selected,
                             .ranked = s->ranked_ids,
                             .batch_end = i + 1 == n};
        for (size_t j = pred_start[i]; j < pred_start[i + 1]; j++)
            s->selected[p.n_selected++] = pred[j];
        for (size_t j = 0; j < s->k && ranked[i * s->k + j] != METRICS_NO_LABEL; j++)
            s->ranked_ids[p.n_ranked++] = ranked[i * s->k + j];
        size_t N = s->explain.n_words, doc = first + i;
        for (size_t j = 0; j < p.n_selected * N; j++) { /* row j / N: the selected label's classifier */
            size_t part = s->part_of[s->selected[j / N]], offset = (i * s->m->n_parts + part) * N + j % N;
            uint32_t at = part == MODEL_NO_PART ? UINT32_MAX : s->explain.positions[offset]; /* chunk rows */
            const char *word = "";
            if (at != UINT32_MAX) {
                uint32_t id = s->ds->tokens[s->ds->token_start[doc] + at];
                word = vocab_word(&s->m->vocab, id);
                const char *kept = id == VOCAB_UNK ? dataset_unknown_word(s->ds, s->ds->token_start[doc] + at) : NULL;
                word = kept ? kept : word; /* a word outside the vocabulary as read, rather than <unk> */
            }
            s->words[j] = word;
            s->word_weights[j] = at == UINT32_MAX ? 0.0f : s->explain.weights[offset];
        }
        p.n_words = N, p.words = N ? s->words : NULL, p.word_weights = N ? s->word_weights : NULL;
        TRY(s->fn(&p, s->user));
    }
    return HFTC_STATUS_OK;
}

/* Allocates the sink's per-document buffers for k ranked labels and n_words explaining words. */
static hftc_status sink_start(prediction_sink *sink, hftc_model *m, size_t k, size_t n_words, hftc_prediction_fn fn,
                              void *user)
{
    size_t C = m->net_config.n_classes, n = EVAL_CHUNK_DOCS * m->n_parts * n_words;
    *sink = (prediction_sink){.m = m, .k = k, .fn = fn, .user = user, .explain = {.n_words = n_words}};
    sink->selected = mem_alloc(C, sizeof *sink->selected);
    sink->ranked_ids = mem_alloc(k ? k : 1, sizeof *sink->ranked_ids);
    bool ok = sink->selected && sink->ranked_ids;
    if (ok && n_words) {
        sink->explain.positions = mem_alloc(n, sizeof *sink->explain.positions);
        sink->explain.weights = mem_alloc(n, sizeof *sink->explain.weights);
        sink->part_of = mem_alloc(C, sizeof *sink->part_of);
        sink->words = mem_alloc(C * n_words, sizeof *sink->words);
        sink->word_weights = mem_alloc(C * n_words, sizeof *sink->word_weights);
        ok = sink->explain.positions && sink->explain.weights && sink->part_of && sink->words && sink->word_weights;
        for (size_t c = 0; ok && c < C; c++)
            sink->part_of[c] = MODEL_NO_PART; /* a label without an output (it scores 0) */
        for (size_t p = 0; ok && p < m->n_parts; p++)
            for (size_t j = 0; j < m->parts[p].n_outputs; j++)
                sink->part_of[m->parts[p].nodes[j]] = p;
    }
    return ok ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
}

static void sink_free(prediction_sink *sink)
{
    free(sink->selected), free(sink->ranked_ids), free(sink->explain.positions), free(sink->explain.weights);
    free(sink->part_of), free(sink->words), free(sink->word_weights);
}

hftc_status hftc_predict_documents(hftc_model *m, const char *const *texts, size_t n, const hftc_input_options *in,
                                   size_t k, hftc_prediction_fn fn, void *user)
{
    k = k < m->net_config.n_classes ? k : m->net_config.n_classes;
    dataset_options unused;
    scoring_kind kind;
    dataset ds = {0};
    prediction_sink sink = {0};
    hftc_status st = input_options(m, in, false, &unused, &kind);
    if (st == HFTC_STATUS_OK)
        st = model_texts_dataset(m, texts, n, in->explain > 0, &ds);
    if (st == HFTC_STATUS_OK)
        st = sink_start(&sink, m, k, in->explain, fn, user);
    decision_rule rule = input_rule(m, in, kind);
    sink.ds = &ds;
    if (st == HFTC_STATUS_OK)
        st = decide_in_chunks(m, &ds, &rule, in->prune, k, NULL, in->explain ? &sink.explain : NULL, emit_predictions,
                              &sink);
    sink_free(&sink);
    dataset_free(&ds);
    return st;
}

/* Reads the input in batches of at most EVAL_CHUNK_DOCS documents, each one decided (one chunk) as soon
 * as it is read: memory stays bounded whatever the input's length, and a pipe is answered line by line. */
hftc_status hftc_predict_file(hftc_model *m, const hftc_input_options *in, size_t k, hftc_prediction_fn fn, void *user)
{
    k = k < m->net_config.n_classes ? k : m->net_config.n_classes;
    strmap labels; /* labels in the input are read and ignored */
    strmap_init(&labels);
    dataset_options opt;
    scoring_kind kind;
    dataset_stream *stream = NULL;
    prediction_sink sink = {0};
    hftc_status st = input_options(m, in, false, &opt, &kind);
    opt.keep_unknown = in->explain > 0; /* explanations show such words as read */
    if (st == HFTC_STATUS_OK)
        st = dataset_stream_open(&stream, in->path, &opt, &m->vocab, false, &labels);
    if (st == HFTC_STATUS_OK)
        st = sink_start(&sink, m, k, in->explain, fn, user);
    decision_rule rule = input_rule(m, in, kind);
    for (bool end = false; st == HFTC_STATUS_OK && !end;) {
        const dataset *batch;
        st = dataset_stream_next(stream, EVAL_CHUNK_DOCS, &batch, &end);
        sink.ds = batch;
        if (st == HFTC_STATUS_OK)
            st = decide_in_chunks(m, batch, &rule, in->prune, k, NULL, in->explain ? &sink.explain : NULL,
                                  emit_predictions, &sink);
        if (st == HFTC_STATUS_OK)
            sink.first += batch->n_docs;
    }
    sink_free(&sink);
    dataset_stream_close(stream);
    strmap_free(&labels);
    return st;
}
