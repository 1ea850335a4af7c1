/* What an evaluation adds for a report (diagnostics.c): the sibling pairs a model confuses and the micro figures
 * at each threshold of the curve. */
#ifndef HFTC_EVAL_DIAGNOSTICS_H
#define HFTC_EVAL_DIAGNOSTICS_H

#include "data/dataset.h"
#include "data/taxonomy.h"
#include "hier/metrics.h"
#include "hier/scoring.h"

/* The (document, label) counts of the curve's thresholds, summed chunk by chunk. */
typedef struct {
    size_t tp[HFTC_CURVE_POINTS], fp[HFTC_CURVE_POINTS], fn[HFTC_CURVE_POINTS];
} curve_tally;

/* Adds documents first .. first + n - 1 of ds (gold labels completed; ids from t->n_nodes on unknown to the
 * model, always missed) to the tally: their decisions under kind at each threshold of the curve, from their
 * probabilities and scoring_apply's scores (n x t->n_nodes each). keep (n x t->n_nodes) is scratch. */
void curve_tally_add(curve_tally *tally, scoring_kind kind, const taxonomy *t, const float *probs, const float *scores,
                     bool *keep, const dataset *ds, size_t first, size_t n);
/* The tally's points into out->curve (n_curve set). */
void curve_tally_finish(const curve_tally *tally, hftc_evaluation *out);

/* out->confusions from mi's gold and predicted sets (label ids; those from t->n_nodes on, unknown to the model,
 * have no siblings), names from t. */
hftc_status sibling_confusions(const taxonomy *t, const metrics_input *mi, hftc_evaluation *out);

#endif
