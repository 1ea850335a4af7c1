/* What hftc_evaluate adds for a report (src/eval/diagnostics.c): the sibling pairs confused, counted on
 * hand-made decisions and wired through the evaluation; the threshold curve, whose point at the model's
 * threshold is the evaluation's own micro figures; the per-document counts, whose sums are those figures; and the
 * taxonomy's parents through the API. */
#include "eval/diagnostics.h"
#include "hftc.h"
#include "hierarchy.h"
#include "test.h"
#include "tmpfiles.h"

#include <math.h>
#include <string.h>

/* Root: sport (football, tennis), science (physics (quantum), biology). Five documents: football read as
 * tennis, then with football too (no confusion), physics as biology, sport and football as science and
 * tennis, and an unknown gold label beside a wrong tennis (no siblings: not counted). */
static void test_sibling_confusions_counted(void)
{
    taxonomy t;
    CHECK_STATUS(taxonomy_load(&t, tmpfiles_write("confusions.tsv", hierarchy_taxonomy, strlen(hierarchy_taxonomy)),
                               TAXONOMY_FORMAT_AUTO),
                 HFTC_STATUS_OK);
#define ID(name) (uint32_t) strmap_find(&t.names, name, strlen(name))
    uint32_t sport = ID("sport"), football = ID("football"), tennis = ID("tennis"), science = ID("science"),
             physics = ID("physics"), biology = ID("biology"), unknown = (uint32_t)t.n_nodes;
#undef ID
    const size_t gold_start[] = {0, 2, 4, 6, 8, 9};
    const uint32_t gold[] = {sport, football, sport, football, science, physics, sport, football, unknown};
    const size_t pred_start[] = {0, 2, 5, 7, 9, 10};
    const uint32_t pred[] = {sport, tennis, sport, football, tennis, science, biology, science, tennis, tennis};
    metrics_input mi = {.n_docs = 5,
                        .n_labels = t.n_nodes + 1,
                        .gold_start = gold_start,
                        .gold = gold,
                        .pred_start = pred_start,
                        .pred = pred};
    hftc_evaluation e = {0};
    CHECK_STATUS(sibling_confusions(&t, &mi, &e), HFTC_STATUS_OK);
    // football -> tennis in documents 1 and 4; physics -> biology in 3; sport -> science in 4 (top-level siblings)
    CHECK_MSG(e.n_confusions == 3, "%zu pairs", e.n_confusions);
    if (e.n_confusions == 3) {
        CHECK(!strcmp(e.confusions[0].gold, "football") && !strcmp(e.confusions[0].predicted, "tennis") &&
              e.confusions[0].count == 2);
        CHECK(!strcmp(e.confusions[1].gold, "physics") && !strcmp(e.confusions[1].predicted, "biology") &&
              e.confusions[1].count == 1);
        CHECK(!strcmp(e.confusions[2].gold, "sport") && !strcmp(e.confusions[2].predicted, "science") &&
              e.confusions[2].count == 1);
    }
    hftc_evaluation_free(&e);
    CHECK(e.confusions == NULL && e.n_confusions == 0);
    taxonomy_free(&t);
}

static void test_evaluation_adds_curve_and_confusions(void)
{
    hierarchy_files f = hierarchy_write_files();
    hftc_train_options o;
    hftc_train_options_init(&o, "flat-cnn");
    o.train_path = f.train, o.valid_path = f.valid, o.taxonomy_path = f.taxonomy;
    o.dim = 8, o.filters = 4, o.hidden = 8, o.epochs = 2, o.threads = 1, o.seed = 2;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    size_t parents[2], quantum = hftc_model_num_labels(m);
    for (size_t i = 0; i < hftc_model_num_labels(m); i++)
        if (!strcmp(hftc_model_label(m, i), "quantum"))
            quantum = i;
    CHECK(hftc_model_label_parents(m, quantum, parents, 2) == 1 && !strcmp(hftc_model_label(m, parents[0]), "physics"));
    CHECK(hftc_model_label_parents(m, parents[0], parents, 2) == 1 &&
          !strcmp(hftc_model_label(m, parents[0]), "science"));
    CHECK(hftc_model_label_parents(m, parents[0], parents, 2) == 0);

    hftc_input_options in = {.path = f.test, .format = "auto", .threshold = 0.5f};
    hftc_evaluation plain, e;
    CHECK_STATUS(hftc_evaluate(m, &in, &plain), HFTC_STATUS_OK);
    CHECK(plain.n_curve == 0 && plain.confusions == NULL);
    in.threshold_curve = 1, in.sibling_confusions = 1;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK(e.n_curve == HFTC_CURVE_POINTS && e.micro_f1 == plain.micro_f1);
    const hftc_curve_point *half = &e.curve[(HFTC_CURVE_POINTS - 1) / 2];
    CHECK_MSG(half->threshold == 0.5 && half->precision == plain.micro_precision &&
                  half->recall == plain.micro_recall && half->f1 == plain.micro_f1,
              "at 0.5: P %g R %g F1 %g; evaluated: %g %g %g", half->precision, half->recall, half->f1,
              plain.micro_precision, plain.micro_recall, plain.micro_f1);
    CHECK(e.curve[0].recall == 1.0); /* threshold 0: every known label predicted */
    for (size_t p = 1; p < e.n_curve; p++)
        CHECK(e.curve[p].recall <= e.curve[p - 1].recall);
    for (size_t i = 1; i < e.n_confusions; i++)
        CHECK(e.confusions[i].count <= e.confusions[i - 1].count);
    hftc_evaluation_free(&e);
    // per-document counts: their sums give the evaluation's micro figures (the bootstrap's premise)
    in.threshold_curve = 0, in.sibling_confusions = 0, in.doc_counts = 1;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK(plain.doc_counts == NULL && e.doc_counts != NULL);
    size_t right = 0, predicted = 0, gold = 0;
    for (size_t d = 0; e.doc_counts && d < e.docs; d++) {
        CHECK(e.doc_counts[3 * d] <= e.doc_counts[3 * d + 1] && e.doc_counts[3 * d] <= e.doc_counts[3 * d + 2]);
        right += e.doc_counts[3 * d], predicted += e.doc_counts[3 * d + 1], gold += e.doc_counts[3 * d + 2];
    }
    CHECK_MSG(predicted + gold > 0 && fabs(2.0 * (double)right / (double)(predicted + gold) - plain.micro_f1) < 1e-12 &&
                  fabs((double)right / (double)gold - plain.micro_recall) < 1e-12,
              "from the counts: %zu right, %zu predicted, %zu gold; evaluated micro-F1 %g", right, predicted, gold,
              plain.micro_f1);
    hftc_evaluation_free(&e);
    in.doc_counts = 0;
    // a scoring without a threshold has no curve
    in.scoring = "top-down";
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK(e.n_curve == 0);
    hftc_evaluation_free(&e);
    hftc_evaluation_free(&plain);
    hftc_model_free(m);
}

int main(void)
{
    tmpfiles_init("diagnostics");
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    RUN_TEST(test_sibling_confusions_counted);
    RUN_TEST(test_evaluation_adds_curve_and_confusions);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
