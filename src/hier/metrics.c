/* Metrics of decision sets over label-id sets: counts per label and per document in one pass over the
 * CSR sets, then micro/macro-F1, exact match and the ranking metrics P@k and nDCG@k.
 * Sets are sets: a label repeated in a gold or predicted list counts once. */
#include "hier/metrics.h"

#include "core/arena.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>

/* Per-label counts plus the document-level sums; tp/fp/fn are arrays of n_labels. */
typedef struct {
    size_t *tp, *fp, *fn;
    size_t exact;
    double precision_sum[METRICS_MAX_K + 1], ndcg_sum[METRICS_MAX_K + 1];
} metrics_counts;

static bool label_selected(const metrics_input *in, uint32_t label) { return !in->label_mask || in->label_mask[label]; }

static hftc_status check_csr(const char *what, const size_t *start, const uint32_t *ids, size_t n_docs)
{
    if (!start)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "metrics: no %s sets", what);
    for (size_t d = 0; d < n_docs; d++)
        if (start[d + 1] < start[d])
            return error_set(HFTC_STATUS_INVALID_ARGUMENT, "metrics: %s offsets decrease at document %zu", what, d);
    if (start[n_docs] > start[0] && !ids)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "metrics: no %s label ids", what);
    return HFTC_STATUS_OK;
}

static hftc_status bad_label(const char *what, size_t doc, uint32_t label, size_t n_labels)
{
    return error_set(HFTC_STATUS_INVALID_ARGUMENT, "metrics: %s label %u of document %zu is not below %zu labels", what,
                     label, doc, n_labels);
}

/* The ranked list of document d, filtered to counted labels; returns its length. Entries after the
 * first METRICS_NO_LABEL must be padding too, and a label may appear only once. */
static hftc_status ranked_filter(const metrics_input *in, size_t d, uint32_t *list, size_t *len)
{
    const uint32_t *row = in->ranked + d * METRICS_MAX_K;
    size_t n = 0;
    bool padding = false;
    for (size_t j = 0; j < METRICS_MAX_K; j++) {
        uint32_t label = row[j];
        if (label == METRICS_NO_LABEL) {
            padding = true;
            continue;
        }
        if (padding)
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "metrics: ranked list of document %zu has label %u after padding", d, label);
        if (label >= in->n_labels)
            return bad_label("ranked", d, label, in->n_labels);
        for (size_t i = 0; i < j; i++)
            if (row[i] == label)
                return error_set(HFTC_STATUS_INVALID_ARGUMENT, "metrics: ranked list of document %zu repeats label %u",
                                 d, label);
        if (label_selected(in, label))
            list[n++] = label;
    }
    *len = n;
    return HFTC_STATUS_OK;
}

/* Fills c (tp/fp/fn zeroed by the caller). gold_mark/pred_mark are n_labels scratch stamps: a label
 * is in document d's gold (predicted) set when its stamp is d + 1. */
static hftc_status count_all(const metrics_input *in, metrics_counts *c, size_t *gold_mark, size_t *pred_mark)
{
    for (size_t d = 0; d < in->n_docs; d++) {
        size_t stamp = d + 1, n_gold = 0, n_pred = 0, hits = 0;
        for (size_t i = in->gold_start[d]; i < in->gold_start[d + 1]; i++) {
            uint32_t label = in->gold[i];
            if (label >= in->n_labels)
                return bad_label("gold", d, label, in->n_labels);
            if (label_selected(in, label) && gold_mark[label] != stamp) {
                gold_mark[label] = stamp;
                n_gold++;
            }
        }
        if (in->ranked) {
            uint32_t list[METRICS_MAX_K];
            size_t len = 0;
            TRY(ranked_filter(in, d, list, &len));
            double dcg = 0, idcg = 0;
            size_t found = 0;
            for (size_t k = 1; k <= METRICS_MAX_K; k++) {
                double discount = 1.0 / log2((double)k + 1.0);
                if (k <= len && gold_mark[list[k - 1]] == stamp) {
                    found++;
                    dcg += discount;
                }
                if (k <= n_gold)
                    idcg += discount;
                c->precision_sum[k] += (double)found / (double)k;
                if (n_gold)
                    c->ndcg_sum[k] += dcg / idcg;
            }
        }
        for (size_t i = in->pred_start[d]; i < in->pred_start[d + 1]; i++) {
            uint32_t label = in->pred[i];
            if (label >= in->n_labels)
                return bad_label("predicted", d, label, in->n_labels);
            if (!label_selected(in, label) || pred_mark[label] == stamp)
                continue;
            pred_mark[label] = stamp;
            n_pred++;
            if (gold_mark[label] == stamp) {
                c->tp[label]++;
                hits++;
            } else {
                c->fp[label]++;
            }
        }
        // Clearing the gold stamp as each label is counted keeps repeated gold labels from counting twice.
        for (size_t i = in->gold_start[d]; i < in->gold_start[d + 1]; i++) {
            uint32_t label = in->gold[i];
            if (gold_mark[label] != stamp)
                continue;
            gold_mark[label] = 0;
            if (pred_mark[label] != stamp)
                c->fn[label]++;
        }
        if (hits == n_gold && hits == n_pred)
            c->exact++;
    }
    return HFTC_STATUS_OK;
}

static hftc_status check_input(const metrics_input *in)
{
    if (in->n_labels > (size_t)METRICS_NO_LABEL)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "metrics: %zu labels do not fit 32-bit ids", in->n_labels);
    TRY(check_csr("gold", in->gold_start, in->gold, in->n_docs));
    return check_csr("predicted", in->pred_start, in->pred, in->n_docs);
}

/* Counts into caller arrays tp/fp/fn of n_labels (zeroed here) and c's document sums. */
static hftc_status count_into(const metrics_input *in, metrics_counts *c)
{
    TRY(check_input(in));
    for (size_t l = 0; l < in->n_labels; l++)
        c->tp[l] = c->fp[l] = c->fn[l] = 0;
    size_t *marks = mem_calloc(2 * in->n_labels, sizeof *marks);
    if (!marks)
        return HFTC_STATUS_OUT_OF_MEMORY;
    hftc_status status = count_all(in, c, marks, marks + in->n_labels);
    free(marks);
    return status;
}

hftc_status metrics_per_label(const metrics_input *in, size_t *true_pos, size_t *false_pos, size_t *false_neg)
{
    metrics_counts c = {.tp = true_pos, .fp = false_pos, .fn = false_neg};
    return count_into(in, &c);
}

static double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

double metrics_f1(size_t tp, size_t fp, size_t fn) { return ratio(2.0 * (double)tp, (double)(2 * tp + fp + fn)); }

hftc_status metrics_compute(metrics *out, const metrics_input *in)
{
    size_t *counts = mem_alloc(3 * in->n_labels, sizeof *counts);
    if (!counts)
        return HFTC_STATUS_OUT_OF_MEMORY;
    metrics_counts c = {.tp = counts, .fp = counts + in->n_labels, .fn = counts + 2 * in->n_labels};
    hftc_status status = count_into(in, &c);
    if (status != HFTC_STATUS_OK) {
        free(counts);
        return status;
    }
    size_t tp = 0, fp = 0, fn = 0, labels = 0;
    double macro_sum = 0, weighted_sum = 0;
    for (size_t l = 0; l < in->n_labels; l++) {
        tp += c.tp[l];
        fp += c.fp[l];
        fn += c.fn[l];
        if (c.tp[l] + c.fn[l] > 0) {
            labels++;
            double f1 = metrics_f1(c.tp[l], c.fp[l], c.fn[l]);
            macro_sum += f1;
            weighted_sum += f1 * (double)(c.tp[l] + c.fn[l]);
        }
    }
    free(counts);

    *out = (metrics){.docs = in->n_docs, .labels = labels};
    out->micro_precision = ratio((double)tp, (double)(tp + fp));
    out->micro_recall = ratio((double)tp, (double)(tp + fn));
    out->micro_f1 = metrics_f1(tp, fp, fn);
    out->micro_tp = tp, out->micro_fp = fp, out->micro_fn = fn;
    out->macro_f1 = ratio(macro_sum, (double)labels);
    out->weighted_f1 = ratio(weighted_sum, (double)(tp + fn)); /* the supports sum to the gold pairs */
    out->exact_match = ratio((double)c.exact, (double)in->n_docs);
    for (size_t k = 1; k <= METRICS_MAX_K; k++) {
        out->precision_at[k] = ratio(c.precision_sum[k], (double)in->n_docs);
        out->ndcg_at[k] = ratio(c.ndcg_sum[k], (double)in->n_docs);
    }
    return HFTC_STATUS_OK;
}
