/* hftc_ensemble: the members loaded and made one model (model/ensemble.c); their probabilities on the
 * validation data predicted once; then the weights (every mix in weight_steps steps for up to
 * GRID_MAX_MEMBERS members, a coordinate search beyond), the threshold and the per-label thresholds with the
 * best validation micro-F1 under the ensemble's scoring (hier/threshold_search.c); and the record of the
 * choice, with each member's figures alone. Nothing is chosen on data a member trained on. */
#include "core/arena.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "hier/threshold_search.h"
#include "model/ensemble.h"
#include "train/outputs.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Every mix of up to this many members is tried: C(steps + M - 1, M - 1) of them, 286 for 4 members in
 * tenths; beyond, one member's weight at a time. */
#define GRID_MAX_MEMBERS 4
#define COORDINATE_ROUNDS 10
/* Documents predicted at a time: hftc_evaluate's chunks, so that each member's probabilities are those
 * hftc test computes on the same file (a network's last bits depend on its batch). */
#define CHUNK_DOCS 256

void hftc_ensemble_options_init(hftc_ensemble_options *o)
{
    *o = (hftc_ensemble_options){.format = "auto", .label_thresholds = -1, .weight_steps = 10};
}

/* The validation data and what the choice computes from it once. */
typedef struct {
    hftc_model *m;
    scoring_kind scoring;
    size_t n, C, M;
    float *member_probs[HFTC_MAX_ENSEMBLE]; /* (n x C) each, at the ensemble's labels */
    gold_sets gold;
    float *probs;  /* (n x C) the last mix's probabilities (or a member's) */
    float *scores; /* (n x C) and their scores under the scoring */
} valid_set;

typedef struct {
    float threshold;
    double micro_f1, macro_f1;
} figures;

static hftc_status rule_figures(valid_set *v, const decision_rule *rule, figures *out)
{
    metrics mt;
    TRY(decisions_metrics(rule, &v->m->tax, v->probs, v->scores, &v->gold, &mt));
    *out = (figures){rule->threshold, mt.micro_f1, mt.macro_f1};
    return HFTC_STATUS_OK;
}

/* The figures of the mix of weights w under the ensemble's scoring, at the threshold with the best micro-F1
 * (scorings that threshold); its scores are left in v->scores. */
static hftc_status mix_figures(valid_set *v, const float *w, figures *out)
{
    size_t count = v->n * v->C;
    for (size_t k = 0; k < v->M; k++)
        ensemble_accumulate(v->probs, v->member_probs[k], w[k], count, k == 0);
    scoring_apply(&v->m->compute, v->scoring, &v->m->tax, v->probs, v->scores, v->n);
    decision_rule rule = {v->scoring, v->m->threshold, NULL};
    double micro_f1;
    if (scoring_uses_threshold(v->scoring))
        TRY(threshold_search_best(scoring_decided(v->scoring, v->probs, v->scores), v->C, &v->gold, false,
                                  &rule.threshold, &micro_f1));
    return rule_figures(v, &rule, out);
}

/* Member k alone under its own decision rule (its scoring, threshold and per-label thresholds): what hftc test
 * gives for it on the validation data. */
static hftc_status member_own_figures(valid_set *v, size_t k, figures *out)
{
    const hftc_model *member = ensemble_member(v->m->ensemble, k);
    float *thresholds = mem_alloc(v->C + 1, sizeof *thresholds);
    if (!thresholds)
        return HFTC_STATUS_OUT_OF_MEMORY;
    memcpy(v->probs, v->member_probs[k], v->n * v->C * sizeof *v->probs);
    scoring_apply(&v->m->compute, member->scoring, &v->m->tax, v->probs, v->scores, v->n);
    bool per_label = scoring_uses_threshold(member->scoring) && ensemble_member_label_thresholds(v->m, k, thresholds);
    decision_rule rule = {member->scoring, member->threshold, per_label ? thresholds : NULL};
    hftc_status st = rule_figures(v, &rule, out);
    free(thresholds);
    return st;
}

/* Whether a is better than b: a higher micro-F1 (ties keep the mix found first). */
static bool better(const figures *a, const figures *b) { return a->micro_f1 > b->micro_f1 + 1e-12; }

/* Tries w; keeps it in best_w when better. */
static hftc_status try_weights(valid_set *v, const float *w, float *best_w, figures *best, size_t *tried)
{
    figures f;
    TRY(mix_figures(v, w, &f));
    (*tried)++;
    if (better(&f, best)) {
        *best = f;
        memcpy(best_w, w, v->M * sizeof *w);
    }
    return HFTC_STATUS_OK;
}

/* Every mix whose weights are multiples of 1 / steps, in the order of an odometer over the first M - 1. */
static hftc_status grid_search(valid_set *v, size_t steps, float *best_w, figures *best, size_t *tried)
{
    size_t M = v->M, digits[HFTC_MAX_ENSEMBLE] = {0};
    float w[HFTC_MAX_ENSEMBLE];
    for (;;) {
        size_t used = 0;
        for (size_t k = 0; k + 1 < M; k++)
            used += digits[k];
        if (used <= steps) {
            digits[M - 1] = steps - used;
            for (size_t k = 0; k < M; k++)
                w[k] = (float)digits[k] / (float)steps;
            TRY(try_weights(v, w, best_w, best, tried));
        }
        size_t d = 0;
        while (d + 1 < M && ++digits[d] > steps)
            digits[d++] = 0;
        if (d + 1 == M)
            return HFTC_STATUS_OK;
    }
}

/* One member's weight at a time over the steps, the others scaled to the rest, rounds until none improves. */
static hftc_status coordinate_search(valid_set *v, size_t steps, float *best_w, figures *best, size_t *tried)
{
    size_t M = v->M;
    float w[HFTC_MAX_ENSEMBLE];
    for (size_t round = 0; round < COORDINATE_ROUNDS; round++) {
        figures before = *best;
        for (size_t k = 0; k < M; k++)
            for (size_t s = 0; s <= steps; s++) {
                float value = (float)s / (float)steps, others = 0.0f;
                for (size_t j = 0; j < M; j++)
                    others += j == k ? 0.0f : best_w[j];
                for (size_t j = 0; j < M; j++)
                    w[j] = j == k          ? value
                           : others > 0.0f ? best_w[j] * (1.0f - value) / others
                                           : (1.0f - value) / (float)(M - 1);
                TRY(try_weights(v, w, best_w, best, tried));
            }
        if (!better(best, &before))
            break;
    }
    return HFTC_STATUS_OK;
}

/* The members' probabilities on the validation documents, in hftc_evaluate's chunks. */
static hftc_status predict_members(valid_set *v, const dataset *ds)
{
    size_t idx[CHUNK_DOCS];
    for (size_t k = 0; k < v->M; k++) {
        v->member_probs[k] = mem_alloc(v->n * v->C + 1, sizeof *v->member_probs[k]);
        if (!v->member_probs[k])
            return HFTC_STATUS_OUT_OF_MEMORY;
        for (size_t first = 0; first < v->n; first += CHUNK_DOCS) {
            size_t n = v->n - first < CHUNK_DOCS ? v->n - first : CHUNK_DOCS;
            for (size_t i = 0; i < n; i++)
                idx[i] = first + i;
            TRY(ensemble_member_predict(v->m, k, ds, idx, n, v->member_probs[k] + first * v->C));
        }
    }
    return HFTC_STATUS_OK;
}

/* The options' own checks, before any file is read. */
static hftc_status check_options(const hftc_ensemble_options *o, scoring_kind *scoring, bool *given)
{
    if (o->n_models < 2 || o->n_models > HFTC_MAX_ENSEMBLE)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "an ensemble needs 2 to %d models, not %zu", HFTC_MAX_ENSEMBLE,
                         o->n_models);
    if (!o->valid_path)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "an ensemble needs validation data (--valid) to choose its weights and threshold on");
    if (o->weight_steps < 1 || o->weight_steps > 100)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "weight steps %zu: must be 1 to 100", o->weight_steps);
    if (o->label_thresholds < -1 || o->label_thresholds > 1)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "label thresholds %d: must be -1, 0 or 1", o->label_thresholds);
    *given = o->scoring != NULL;
    if (o->scoring && !scoring_parse(o->scoring, scoring)) {
        char names[128];
        scoring_names_list(names, sizeof names);
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown scoring \"%s\" (%s)", o->scoring, names);
    }
    return HFTC_STATUS_OK;
}

/* The members, loaded, none of them trained on the validation data (by its training record), made one model. */
static hftc_status load_members(const hftc_ensemble_options *o, hftc_model **out)
{
    hftc_model *members[HFTC_MAX_ENSEMBLE] = {0};
    hftc_status st = HFTC_STATUS_OK;
    for (size_t k = 0; k < o->n_models && st == HFTC_STATUS_OK; k++) {
        st = hftc_model_load(&members[k], o->models[k]);
        json_t *record =
            st == HFTC_STATUS_OK && members[k]->training_json ? json_loads(members[k]->training_json, 0, NULL) : NULL;
        const char *train = json_string_value(json_object_get(json_object_get(record, "options"), "train"));
        if (train && same_file(o->valid_path, train))
            st = error_set(HFTC_STATUS_INVALID_ARGUMENT,
                           "--valid %s is the training data of member %zu (%s): the weights would favour the member "
                           "that learnt it; give data none of the members trained on",
                           o->valid_path, k + 1, o->models[k]);
        json_decref(record);
    }
    if (st != HFTC_STATUS_OK) {
        for (size_t k = 0; k < o->n_models; k++)
            hftc_model_free(members[k]);
        return st;
    }
    return ensemble_create(members, o->models, o->n_models, out);
}

/* A member's line of the record: its figures alone, under its own rule and under the ensemble's. */
static json_t *member_record(const char *model, const hftc_model *member, float weight, const figures *own,
                             const figures *alone)
{
    json_t *r = json_pack("{s:s, s:s, s:f, s:s, s:f, s:b, s:f, s:f}", "model", model, "preset", member->preset,
                          "weight", (double)weight, "scoring", scoring_name(member->scoring), "threshold",
                          (double)member->threshold, "label_thresholds", member->label_thresholds != NULL,
                          "valid_micro_f1", own->micro_f1, "valid_macro_f1", own->macro_f1);
    json_object_set_new(r, "ensemble_rule_threshold", json_real(alone->threshold));
    json_object_set_new(r, "ensemble_rule_micro_f1", json_real(alone->micro_f1));
    json_object_set_new(r, "ensemble_rule_macro_f1", json_real(alone->macro_f1));
    return r;
}

/* Chooses the weights and the decision rule into v->m, and records the choice in record. */
static hftc_status choose(const hftc_ensemble_options *o, valid_set *v, json_t *record)
{
    size_t M = v->M, tried = 0;
    float best_w[HFTC_MAX_ENSEMBLE], unit[HFTC_MAX_ENSEMBLE];
    for (size_t k = 0; k < M; k++)
        best_w[k] = 1.0f / (float)M;
    figures best, own[HFTC_MAX_ENSEMBLE], alone[HFTC_MAX_ENSEMBLE];
    TRY(mix_figures(v, best_w, &best)); /* equal weights first: they win ties */
    tried++;
    bool grid = M <= GRID_MAX_MEMBERS;
    TRY(grid ? grid_search(v, o->weight_steps, best_w, &best, &tried)
             : coordinate_search(v, o->weight_steps, best_w, &best, &tried));
    json_t *members = json_array();
    json_object_set_new(record, "members", members);
    for (size_t k = 0; k < M; k++) {
        for (size_t j = 0; j < M; j++)
            unit[j] = j == k;
        TRY(member_own_figures(v, k, &own[k]));
        TRY(mix_figures(v, unit, &alone[k]));
        json_array_append_new(
            members, member_record(o->models[k], ensemble_member(v->m->ensemble, k), best_w[k], &own[k], &alone[k]));
        log_info("member %zu (%s): validation micro-F1 %.4f, macro-F1 %.4f (its own rule); %.4f, %.4f (%s scoring, "
                 "threshold %.2f)",
                 k + 1, o->models[k], own[k].micro_f1, own[k].macro_f1, alone[k].micro_f1, alone[k].macro_f1,
                 scoring_name(v->scoring), (double)alone[k].threshold);
    }
    hftc_model *m = v->m;
    ensemble_set_weights(m->ensemble, best_w);
    m->scoring = v->scoring;
    TRY(mix_figures(v, best_w, &best)); /* its scores, for the per-label thresholds */
    m->threshold = best.threshold;
    bool any_label_thresholds = false;
    for (size_t k = 0; k < M; k++)
        any_label_thresholds |= ensemble_member(m->ensemble, k)->label_thresholds != NULL;
    bool per_label = scoring_uses_threshold(v->scoring) &&
                     (o->label_thresholds == 1 || (o->label_thresholds == -1 && any_label_thresholds));
    figures final = best;
    if (per_label) {
        m->label_thresholds = mem_alloc(v->C + 1, sizeof *m->label_thresholds);
        if (!m->label_thresholds)
            return HFTC_STATUS_OUT_OF_MEMORY;
        TRY(threshold_search_labels(v->scoring, &m->tax, v->probs, v->scores, &v->gold, m->threshold,
                                    m->label_thresholds));
        decision_rule rule = {v->scoring, m->threshold, m->label_thresholds};
        TRY(rule_figures(v, &rule, &final));
    }
    json_t *weights = json_array();
    for (size_t k = 0; k < M; k++)
        json_array_append_new(weights, json_real(best_w[k]));
    json_object_set_new(record, "weights", weights);
    json_object_set_new(record, "scoring", json_string(scoring_name(v->scoring)));
    json_object_set_new(record, "criterion", json_string("micro-f1"));
    json_object_set_new(record, "search", json_string(grid ? "grid" : "coordinate"));
    json_object_set_new(record, "weight_steps", json_integer((json_int_t)o->weight_steps));
    json_object_set_new(record, "mixes_tried", json_integer((json_int_t)tried));
    json_object_set_new(record, "threshold", json_real(m->threshold));
    json_object_set_new(record, "label_thresholds", json_boolean(per_label));
    json_object_set_new(record, "valid_micro_f1", json_real(final.micro_f1));
    json_object_set_new(record, "valid_macro_f1", json_real(final.macro_f1));
    char text[256];
    size_t used = 0;
    for (size_t k = 0; k < M && used < sizeof text; k++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%.2f", k ? ", " : "", (double)best_w[k]);
    log_info("ensemble: weights %s, threshold %.2f%s: validation micro-F1 %.4f, macro-F1 %.4f (%zu mixes tried)", text,
             (double)m->threshold, per_label ? " and per-label thresholds" : "", final.micro_f1, final.macro_f1, tried);
    return HFTC_STATUS_OK;
}

hftc_status hftc_ensemble(const hftc_ensemble_options *o, hftc_model **out)
{
    scoring_kind scoring = SCORING_INDEPENDENT;
    bool scoring_given;
    TRY(check_options(o, &scoring, &scoring_given));
    double t0 = now_seconds();
    hftc_model *m;
    TRY(load_members(o, &m));
    hftc_model_set_threads(m, o->threads);
    valid_set v = {.m = m, .scoring = scoring_given ? scoring : m->scoring, .C = m->tax.n_nodes, .M = o->n_models};
    dataset ds = {0};
    dataset_options opt = {.tokenizer = m->tokenizer, .labels_required = true, .skip_bad_lines = o->skip_bad_lines};
    hftc_status st =
        data_format_parse(o->format ? o->format : "auto", &opt.format) && opt.format != DATA_FORMAT_TEXT
            ? HFTC_STATUS_OK
            : error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown or unlabelled data format \"%s\"", o->format);
    if (st == HFTC_STATUS_OK)
        st = dataset_read(&ds, o->valid_path, &opt, &m->vocab, false, &m->tax.names);
    if (st == HFTC_STATUS_OK && ds.n_docs == 0)
        st = error_set(HFTC_STATUS_FORMAT, "%s: no documents", o->valid_path);
    /* labels the taxonomy lacks stay, without ancestors: misses for every mix alike */
    if (st == HFTC_STATUS_OK)
        st = taxonomy_complete_dataset(&m->tax, &ds, o->valid_path, TAXONOMY_UNKNOWN_KEEP, NULL);
    v.n = ds.n_docs;
    v.gold = (gold_sets){ds.n_docs, strmap_count(&m->tax.names), ds.label_start, ds.labels};
    v.scores = st == HFTC_STATUS_OK ? mem_alloc(v.n * v.C + 1, sizeof *v.scores) : NULL;
    v.probs = st == HFTC_STATUS_OK ? mem_alloc(v.n * v.C + 1, sizeof *v.probs) : NULL;
    if (st == HFTC_STATUS_OK && (!v.scores || !v.probs))
        st = HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK)
        st = predict_members(&v, &ds);
    json_t *record = json_object(), *choice = json_object();
    json_object_set_new(record, "ensemble", choice);
    if (st == HFTC_STATUS_OK)
        st = choose(o, &v, choice);
    if (st == HFTC_STATUS_OK)
        st = taxonomy_forget_pending(&m->tax);
    if (st == HFTC_STATUS_OK) {
        json_object_set_new(choice, "valid", json_string(o->valid_path));
        json_object_set_new(record, "valid_docs", json_integer((json_int_t)ds.n_docs));
        json_object_set_new(record, "seconds", json_real(now_seconds() - t0));
        m->training_json = json_dumps(record, JSON_COMPACT | JSON_REAL_PRECISION(7));
        if (!m->training_json)
            st = HFTC_STATUS_OUT_OF_MEMORY;
    }
    json_decref(record);
    for (size_t k = 0; k < v.M; k++)
        free(v.member_probs[k]);
    free(v.scores), free(v.probs);
    dataset_free(&ds);
    if (st != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return st;
    }
    *out = m;
    return HFTC_STATUS_OK;
}
