/* Scoring functions on hand-made score tables: a tree where a confident child sits under an unsure
 * parent, and a DAG with a node under two parents and one under a parent and the root; msf (the paper's:
 * each label's own probability thresholded, ranked by its path's product) against product (that product
 * thresholded) and bsf, in decisions, rankings and threshold searches; the single-label (softmax levels)
 * top-down and argmax decisions; the single-path leaf decision. */
#include "hier/decisions.h"
#include "hier/scoring.h"
#include "hier/threshold_search.h"

#include "test.h"

#include <math.h>

#include <stdlib.h>

static uint32_t id(const taxonomy *t, const char *name) { return (uint32_t)strmap_find(&t->names, name, strlen(name)); }

/* A > B > C, D: tree.   E, F > G (two parents), E > H and H also under the root: DAG. */
static void build(taxonomy *t)
{
    taxonomy_init(t);
    CHECK_STATUS(taxonomy_add_edge(t, NULL, "A"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(t, "A", "B"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(t, "B", "C"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(t, NULL, "D"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(t, NULL, "E"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(t, NULL, "F"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(t, "E", "G"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(t, "F", "G"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(t, "E", "H"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(t, NULL, "H"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_finalize(t), HFTC_STATUS_OK);
}

typedef struct {
    const char *name;
    float prob, bsf, msf;
} node_case;

/* One document; expected scores worked out by hand. */
static const node_case cases[] = {
    {"A", 0.9f, 0.9f, 0.9f},   {"B", 0.6f, 0.6f, 0.54f}, /* min(.6, .9); .6 x .9 */
    {"C", 0.8f, 0.6f, 0.432f},                           /* min(.8, .6); .8 x .54 */
    {"D", 0.3f, 0.3f, 0.3f},   {"E", 0.2f, 0.2f, 0.2f},
    {"F", 0.7f, 0.7f, 0.7f},   {"G", 0.9f, 0.7f, 0.63f}, /* best parent F: min(.9, .7); .9 x .7 */
    {"H", 0.4f, 0.4f, 0.4f},                             /* also under the root: its own probability */
};
#define N_CASES (sizeof cases / sizeof *cases)

static void test_scores(void)
{
    taxonomy t;
    build(&t);
    CHECK(t.n_nodes == N_CASES);
    float probs[2 * N_CASES], scores[2 * N_CASES];
    for (size_t d = 0; d < 2; d++) /* two identical documents: rows are independent */
        for (size_t i = 0; i < N_CASES; i++)
            probs[d * N_CASES + id(&t, cases[i].name)] = cases[i].prob;
    static const scoring_kind kinds[] = {SCORING_INDEPENDENT, SCORING_BSF, SCORING_MSF, SCORING_PRODUCT};
    for (size_t k = 0; k < 4; k++) { /* msf and product share their scores: they differ in what they threshold */
        scoring_apply(test_compute, kinds[k], &t, probs, scores, 2);
        for (size_t d = 0; d < 2; d++)
            for (size_t i = 0; i < N_CASES; i++) {
                const node_case *c = &cases[i];
                float expected = kinds[k] == SCORING_INDEPENDENT ? c->prob : kinds[k] == SCORING_BSF ? c->bsf : c->msf;
                CHECK_NEAR(scores[d * N_CASES + id(&t, c->name)], expected, 1e-6);
            }
    }
    /* in place */
    memcpy(scores, probs, sizeof probs);
    scoring_apply(test_compute, SCORING_MSF, &t, scores, scores, 2);
    CHECK_NEAR(scores[id(&t, "C")], 0.432, 1e-6);
    taxonomy_free(&t);
}

/* A DAG where a node shares its level with one of its parents and has the smaller id:
 * Q > X, Q > P > X (X is level 2 through Q, as P is). X must be scored after P's own score is
 * known: BSF min(.8, max(.5, min(.9, .5))) = .5, MSF .8 x max(.5, .9 x .5) = .4. */
static void test_dag_shortcut(void)
{
    taxonomy t;
    taxonomy_init(&t);
    CHECK_STATUS(taxonomy_add_edge(&t, "Q", "X"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(&t, NULL, "Q"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(&t, "Q", "P"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(&t, "P", "X"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_finalize(&t), HFTC_STATUS_OK);
    CHECK(t.level[id(&t, "X")] == 2 && t.level[id(&t, "P")] == 2 && id(&t, "X") < id(&t, "P"));
    float probs[3], scores[3];
    probs[id(&t, "Q")] = 0.5f, probs[id(&t, "P")] = 0.9f, probs[id(&t, "X")] = 0.8f;
    scoring_apply(test_compute, SCORING_BSF, &t, probs, scores, 1);
    CHECK_NEAR(scores[id(&t, "P")], 0.5, 1e-6);
    CHECK_NEAR(scores[id(&t, "X")], 0.5, 1e-6);
    scoring_apply(test_compute, SCORING_MSF, &t, probs, scores, 1);
    CHECK_NEAR(scores[id(&t, "P")], 0.45, 1e-6);
    CHECK_NEAR(scores[id(&t, "X")], 0.4, 1e-6);
    taxonomy_free(&t);
}

/* Thresholded sets and rankings built from the probabilities and scores (scoring_select, decisions_from_mask). */
static void test_decisions(void)
{
    taxonomy t;
    build(&t);
    float probs[N_CASES], scores[N_CASES];
    bool keep[N_CASES];
    for (size_t i = 0; i < N_CASES; i++)
        probs[id(&t, cases[i].name)] = cases[i].prob;
    struct {
        scoring_kind kind;
        float threshold;
        const char *expected; /* selected labels, best first */
    } rows[] = {
        {SCORING_INDEPENDENT, 0.7f, "A G C F"}, /* ties by id: A and G at .9 */
        {SCORING_BSF, 0.7f, "A F G"},           /* C (.8) is dropped: its parent B (.6) is not kept */
        {SCORING_BSF, 0.5f, "A F G B C"},
        {SCORING_PRODUCT, 0.5f, "A F G B"}, /* C: .432 */
        {SCORING_PRODUCT, 0.7f, "A F"},     /* G: .63 */
        {SCORING_PRODUCT, 0.95f, ""},
        {SCORING_MSF, 0.7f, "A F G C"}, /* C's own .8 passes without its parent B (.6); ranked by .9 .7 .63 .432 */
        {SCORING_MSF, 0.5f, "A F G B C"},
        {SCORING_MSF, 0.95f, ""},
    };
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        scoring_apply(test_compute, rows[r].kind, &t, probs, scores, 1);
        scoring_select(rows[r].kind, &t, probs, scores, rows[r].threshold, NULL, keep, 1);
        size_t *start;
        uint32_t *pred, ranked[3];
        CHECK_STATUS(decisions_from_mask(scores, keep, 1, N_CASES, 3, &start, &pred, ranked), HFTC_STATUS_OK);
        char got[64] = "";
        for (size_t j = start[0]; j < start[1]; j++) {
            strcat(got, j ? " " : "");
            strcat(got, strmap_string(&t.names, pred[j]));
        }
        CHECK_MSG(!strcmp(got, rows[r].expected), "%s at %.2f: got \"%s\", expected \"%s\"", scoring_name(rows[r].kind),
                  (double)rows[r].threshold, got, rows[r].expected);
        /* the ranking is the same order, whatever the threshold */
        if (rows[r].kind == SCORING_MSF || rows[r].kind == SCORING_PRODUCT) {
            CHECK(ranked[0] == id(&t, "A") && ranked[1] == id(&t, "F") && ranked[2] == id(&t, "G"));
        }
        free(start);
        free(pred);
    }
    taxonomy_free(&t);
}

/* Rankings, and so P@k, differ between msf and bsf (the paper's Table 4): A .6 > B .9 and D .58 at the top.
 * bsf ranks B at min(.9, .6) = .6, above D; msf at .9 x .6 = .54, below D. For gold {A, B}, P@2 is 1
 * under bsf and 1/2 under msf; at threshold .5 both keep A, B and D, in their own orders. */
static void test_rankings(void)
{
    taxonomy t;
    build(&t);
    float probs[N_CASES] = {0}, scores[N_CASES];
    bool keep[N_CASES];
    probs[id(&t, "A")] = 0.6f, probs[id(&t, "B")] = 0.9f, probs[id(&t, "C")] = 0.1f, probs[id(&t, "D")] = 0.58f;
    static const size_t gold_start[] = {0, 2};
    uint32_t gold[2] = {id(&t, "A"), id(&t, "B")};
    static const struct {
        scoring_kind kind;
        const char *ranked; /* the 3 best */
        double p_at_2;
    } rows[] = {{SCORING_BSF, "A B D", 1.0}, {SCORING_MSF, "A D B", 0.5}, {SCORING_PRODUCT, "A D B", 0.5}};
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        scoring_apply(test_compute, rows[r].kind, &t, probs, scores, 1);
        scoring_select(rows[r].kind, &t, probs, scores, 0.5f, NULL, keep, 1);
        size_t *start;
        uint32_t *pred, ranked[METRICS_MAX_K];
        CHECK_STATUS(decisions_from_mask(scores, keep, 1, N_CASES, METRICS_MAX_K, &start, &pred, ranked),
                     HFTC_STATUS_OK);
        char got[64] = "", chosen[64] = "";
        for (size_t j = 0; j < 3; j++) {
            strcat(got, j ? " " : "");
            strcat(got, strmap_string(&t.names, ranked[j]));
        }
        for (size_t j = start[0]; j < start[1]; j++) {
            strcat(chosen, j ? " " : "");
            strcat(chosen, strmap_string(&t.names, pred[j]));
        }
        CHECK_MSG(!strcmp(got, rows[r].ranked) && !strcmp(chosen, rows[r].ranked), "%s: ranked \"%s\", kept \"%s\"",
                  scoring_name(rows[r].kind), got, chosen);
        metrics_input mi = {.n_docs = 1,
                            .n_labels = N_CASES,
                            .gold_start = gold_start,
                            .gold = gold,
                            .pred_start = start,
                            .pred = pred,
                            .ranked = ranked};
        metrics mt;
        CHECK_STATUS(metrics_compute(&mt, &mi), HFTC_STATUS_OK);
        CHECK_MSG(mt.precision_at[2] == rows[r].p_at_2, "%s: P@2 %g", scoring_name(rows[r].kind), mt.precision_at[2]);
        free(start), free(pred);
    }
    taxonomy_free(&t);
}

/* The threshold searches read what each scoring thresholds. A > B, two documents: gold {A, B} with A .3, B .8,
 * and gold {} with A .2, B .1. A's threshold is .3 under both (the step closest to the base .5 that keeps the
 * first and not the second). product thresholds B's path product (.24 where A is kept): .2; msf B's own
 * probability (.8 against .1), which any step from .15 to .8 separates: the base, .5. One threshold:
 * msf's best is read on the probabilities too. */
static void test_threshold_searches(void)
{
    taxonomy t;
    taxonomy_init(&t);
    CHECK_STATUS(taxonomy_add_edge(&t, NULL, "A"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(&t, "A", "B"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_finalize(&t), HFTC_STATUS_OK);
    uint32_t a = id(&t, "A"), b = id(&t, "B");
    float probs[4], scores[4], thresholds[2];
    probs[a] = 0.3f, probs[b] = 0.8f, probs[2 + a] = 0.2f, probs[2 + b] = 0.1f;
    static const size_t gold_start[] = {0, 2, 2};
    uint32_t gold_labels[2] = {a, b};
    gold_sets gold = {2, 2, gold_start, gold_labels};
    static const struct {
        scoring_kind kind;
        float b_threshold;
    } rows[] = {{SCORING_PRODUCT, 0.2f}, {SCORING_MSF, 0.5f}};
    for (size_t r = 0; r < 2; r++) {
        scoring_apply(test_compute, rows[r].kind, &t, probs, scores, 2);
        CHECK_STATUS(threshold_search_labels(rows[r].kind, &t, probs, scores, &gold, 0.5f, thresholds), HFTC_STATUS_OK);
        CHECK_MSG(fabsf(thresholds[a] - 0.3f) < 1e-6f && fabsf(thresholds[b] - rows[r].b_threshold) < 1e-6f,
                  "%s: A %g, B %g", scoring_name(rows[r].kind), (double)thresholds[a], (double)thresholds[b]);
        decision_rule rule = {rows[r].kind, 0.5f, thresholds};
        metrics mt;
        CHECK_STATUS(decisions_metrics(&rule, &t, probs, scores, &gold, &mt), HFTC_STATUS_OK);
        CHECK_MSG(mt.micro_f1 == 1.0, "%s: micro-F1 %g with its thresholds", scoring_name(rows[r].kind), mt.micro_f1);
    }
    /* one threshold for every label, on what msf thresholds: at .3 A and B pass in the first document only */
    float best;
    double f1;
    CHECK_STATUS(threshold_search_best(scoring_decided(SCORING_MSF, probs, scores), 2, &gold, false, &best, &f1),
                 HFTC_STATUS_OK);
    CHECK_MSG(fabsf(best - 0.3f) < 1e-6f && f1 == 1.0, "msf: %g (%g)", (double)best, f1);
    taxonomy_free(&t);
}

/* Single-label levels: X, Y, Z (Z without an output: 0) at the top; X > X1, X2; Y > Y1, Y2. Level 1's
 * softmax gives X .4, Y .6; level 2's (over X1, X2, Y1, Y2) X1 .5, X2 .1, Y1 .15, Y2 .25. Top-down:
 * Y, then Y's better child Y2 (.25 / .4 x .6 = .375 against .225); argmax: Y and X1. */
static void test_single_label(void)
{
    taxonomy t;
    taxonomy_init(&t);
    const char *edges[][2] = {{NULL, "X"}, {NULL, "Y"}, {NULL, "Z"}, {"X", "X1"},
                              {"X", "X2"}, {"Y", "Y1"}, {"Y", "Y2"}};
    for (size_t i = 0; i < 7; i++)
        CHECK_STATUS(taxonomy_add_edge(&t, edges[i][0], edges[i][1]), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_finalize(&t), HFTC_STATUS_OK);
    const char *names[7] = {"X", "Y", "Z", "X1", "X2", "Y1", "Y2"};
    const float p[7] = {0.4f, 0.6f, 0.0f, 0.5f, 0.1f, 0.15f, 0.25f};
    const float top_down[7] = {
        0.4f, 0.6f, 0.0f, 0.5f / 0.6f * 0.4f, 0.1f / 0.6f * 0.4f, 0.15f / 0.4f * 0.6f, 0.25f / 0.4f * 0.6f};
    float probs[7], scores[7];
    for (size_t i = 0; i < 7; i++)
        probs[id(&t, names[i])] = p[i];
    scoring_apply(test_compute, SCORING_TOP_DOWN, &t, probs, scores, 1);
    for (size_t i = 0; i < 7; i++)
        CHECK_NEAR(scores[id(&t, names[i])], top_down[i], 1e-6);
    bool keep[7];
    scoring_select(SCORING_TOP_DOWN, &t, probs, scores, 0.99f, NULL, keep, 1); /* the threshold plays no part */
    CHECK(keep[id(&t, "Y")] && keep[id(&t, "Y2")] && !keep[id(&t, "X")] && !keep[id(&t, "X1")] && !keep[id(&t, "Y1")] &&
          !keep[id(&t, "Z")]);
    scoring_apply(test_compute, SCORING_ARGMAX, &t, probs, scores, 1);
    CHECK(memcmp(scores, probs, sizeof scores) == 0);
    scoring_select(SCORING_ARGMAX, &t, probs, scores, 0.99f, NULL, keep, 1);
    CHECK(keep[id(&t, "Y")] && keep[id(&t, "X1")] && !keep[id(&t, "Y2")] && !keep[id(&t, "X")]);
    // Nothing above 0 at the top: nothing chosen.
    memset(probs, 0, sizeof probs);
    scoring_apply(test_compute, SCORING_TOP_DOWN, &t, probs, scores, 1);
    scoring_select(SCORING_TOP_DOWN, &t, probs, scores, 0.5f, NULL, keep, 1);
    bool none = true;
    for (size_t i = 0; i < 7; i++)
        none = none && !keep[i] && scores[i] == 0.0f;
    CHECK(none);
    taxonomy_free(&t);
}

/* Per-label thresholds: X .4 (threshold .3: kept), Y .6 (threshold .7: not kept); their children at
 * .2 each with thresholds .1 pass their own, but under bsf only X's (Y is not kept); independent and msf
 * keep all four, product none (their products, .08 and .12, miss .1 or their parent); top-down ignores the
 * thresholds. */
static void test_label_thresholds(void)
{
    taxonomy t;
    taxonomy_init(&t);
    const char *edges[][2] = {{NULL, "X"}, {NULL, "Y"}, {"X", "X1"}, {"X", "X2"}, {"Y", "Y1"}, {"Y", "Y2"}};
    for (size_t i = 0; i < 6; i++)
        CHECK_STATUS(taxonomy_add_edge(&t, edges[i][0], edges[i][1]), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_finalize(&t), HFTC_STATUS_OK);
    const char *names[6] = {"X", "Y", "X1", "X2", "Y1", "Y2"};
    const float p[6] = {0.4f, 0.6f, 0.2f, 0.2f, 0.2f, 0.2f}, thr[6] = {0.3f, 0.7f, 0.1f, 0.1f, 0.1f, 0.1f};
    float probs[6], thresholds[6], scores[6];
    for (size_t i = 0; i < 6; i++)
        probs[id(&t, names[i])] = p[i], thresholds[id(&t, names[i])] = thr[i];
    bool keep[6];
    scoring_apply(test_compute, SCORING_BSF, &t, probs, scores, 1);
    scoring_select(SCORING_BSF, &t, probs, scores, 0.5f, thresholds, keep, 1);
    CHECK(keep[id(&t, "X")] && keep[id(&t, "X1")] && keep[id(&t, "X2")] && !keep[id(&t, "Y")] && !keep[id(&t, "Y1")] &&
          !keep[id(&t, "Y2")]);
    CHECK(scoring_parent_kept(&t, keep, id(&t, "X1")) && !scoring_parent_kept(&t, keep, id(&t, "Y1")) &&
          scoring_parent_kept(&t, keep, id(&t, "Y")));
    scoring_apply(test_compute, SCORING_INDEPENDENT, &t, probs, scores, 1);
    scoring_select(SCORING_INDEPENDENT, &t, probs, scores, 0.5f, thresholds, keep, 1);
    CHECK(keep[id(&t, "X")] && !keep[id(&t, "Y")] && keep[id(&t, "X1")] && keep[id(&t, "Y1")] && keep[id(&t, "Y2")]);
    scoring_apply(test_compute, SCORING_MSF, &t, probs, scores, 1); /* the children's own .2 pass, Y's or not */
    scoring_select(SCORING_MSF, &t, probs, scores, 0.5f, thresholds, keep, 1);
    CHECK(keep[id(&t, "X")] && !keep[id(&t, "Y")] && keep[id(&t, "X1")] && keep[id(&t, "Y1")] && keep[id(&t, "Y2")]);
    scoring_apply(test_compute, SCORING_PRODUCT, &t, probs, scores, 1); /* X1: .08 */
    scoring_select(SCORING_PRODUCT, &t, probs, scores, 0.5f, thresholds, keep, 1);
    CHECK(keep[id(&t, "X")] && !keep[id(&t, "Y")] && !keep[id(&t, "X1")] && !keep[id(&t, "Y1")]);
    scoring_apply(test_compute, SCORING_INDEPENDENT, &t, probs, scores, 1);
    scoring_select(SCORING_INDEPENDENT, &t, probs, scores, 0.5f, NULL, keep, 1); /* one threshold: .5 */
    CHECK(!keep[id(&t, "X")] && keep[id(&t, "Y")] && !keep[id(&t, "X1")]);
    scoring_apply(test_compute, SCORING_TOP_DOWN, &t, probs, scores, 1);
    scoring_select(SCORING_TOP_DOWN, &t, probs, scores, 0.5f, thresholds, keep, 1);
    CHECK(keep[id(&t, "Y")] && !keep[id(&t, "X")]);
    taxonomy_free(&t);
}

static void test_names(void)
{
    scoring_kind k;
    CHECK(scoring_parse("bsf", &k) && k == SCORING_BSF);
    CHECK(scoring_parse("msf", &k) && k == SCORING_MSF);
    CHECK(scoring_parse("product", &k) && k == SCORING_PRODUCT && !strcmp(scoring_name(SCORING_PRODUCT), "product"));
    CHECK(scoring_parse("independent", &k) && k == SCORING_INDEPENDENT);
    CHECK(!scoring_parse("BSF", &k) && !scoring_parse("", &k));
    CHECK(!strcmp(scoring_name(SCORING_MSF), "msf"));
    CHECK(scoring_parse("top-down", &k) && k == SCORING_TOP_DOWN && scoring_parse("argmax", &k) && k == SCORING_ARGMAX);
    CHECK(scoring_parse("leaf", &k) && k == SCORING_LEAF && !strcmp(scoring_name(SCORING_LEAF), "leaf"));
    char list[128];
    scoring_names_list(list, sizeof list);
    CHECK_MSG(!strcmp(list, "independent, bsf, msf, product, top-down, argmax, leaf, leaf-product"), "%s", list);
}

/* The leaf scoring on the tree and DAG of build(): a leaf scores its probability, any other node the best
 * leaf below it (leaves at different depths compared alike); the decision is the best leaf with every
 * ancestor (both parents of G), whatever the threshold; the scores rank that path first. */
static void test_leaf(void)
{
    taxonomy t;
    build(&t);
    /* leaves: C (under A > B), D, G (under E and F), H (under E and the root) */
    static const struct {
        const char *name;
        float prob, score;
    } doc[2][8] = {
        {{"A", 0.9f, 0.8f},
         {"B", 0.6f, 0.8f},
         {"C", 0.8f, 0.8f},
         {"D", 0.3f, 0.3f},
         {"E", 0.2f, 0.4f},
         {"F", 0.7f, 0.1f},
         {"G", 0.1f, 0.1f},
         {"H", 0.4f, 0.4f}},
        {{"A", 0.9f, 0.2f},
         {"B", 0.9f, 0.2f},
         {"C", 0.2f, 0.2f},
         {"D", 0.3f, 0.3f},
         {"E", 0.1f, 0.6f},
         {"F", 0.1f, 0.6f},
         {"G", 0.6f, 0.6f},
         {"H", 0.5f, 0.5f}},
    };
    size_t N = t.n_nodes;
    float probs[2 * 8], scores[2 * 8];
    bool keep[2 * 8];
    CHECK(N == 8);
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < 8; i++)
            probs[d * N + id(&t, doc[d][i].name)] = doc[d][i].prob;
    memcpy(scores, probs, sizeof probs);
    scoring_apply(test_compute, SCORING_LEAF, &t, scores, scores, 2); /* in place */
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < 8; i++)
            CHECK_NEAR(scores[d * N + id(&t, doc[d][i].name)], doc[d][i].score, 1e-7);
    scoring_select(SCORING_LEAF, &t, probs, scores, 0.99f, NULL, keep, 2); /* the threshold plays no part */
    static const char *const kept[2] = {"ABC", "EFG"};
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < 8; i++) {
            const char *name = doc[d][i].name;
            CHECK_MSG(keep[d * N + id(&t, name)] == (strchr(kept[d], name[0]) != NULL), "document %zu, %s", d, name);
        }
    /* a document whose leaves all score 0 gets nothing */
    memset(probs, 0, N * sizeof *probs);
    probs[id(&t, "A")] = 1.0f;
    scoring_apply(test_compute, SCORING_LEAF, &t, probs, scores, 1);
    scoring_select(SCORING_LEAF, &t, probs, scores, 0.5f, NULL, keep, 1);
    size_t n_kept = 0;
    for (size_t c = 0; c < N; c++)
        n_kept += keep[c];
    CHECK(n_kept == 0 && scores[id(&t, "A")] == 0.0f);
    taxonomy_free(&t);
}

/* leaf-product on the same documents: each node's path product first (a node under two parents takes the better,
 * H under the root keeps its own), then the best leaf product below each node; the decision is the best product's
 * leaf with its ancestors. In the second document the leaf rule's G (0.6, but under parents of 0.1) gives way to H. */
static void test_leaf_product(void)
{
    taxonomy t;
    build(&t);
    static const char names[] = "ABCDEFGH";
    static const float probs_by_name[2][8] = {{0.9f, 0.6f, 0.8f, 0.3f, 0.2f, 0.7f, 0.1f, 0.4f},
                                              {0.9f, 0.9f, 0.2f, 0.3f, 0.1f, 0.1f, 0.6f, 0.5f}};
    static const float expected[2][8] = {{0.432f, 0.432f, 0.432f, 0.3f, 0.4f, 0.07f, 0.07f, 0.4f},
                                         {0.162f, 0.162f, 0.162f, 0.3f, 0.5f, 0.06f, 0.06f, 0.5f}};
    static const char *const kept[2] = {"ABC", "EH"};
    size_t N = t.n_nodes;
    float probs[2 * 8], scores[2 * 8];
    bool keep[2 * 8];
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < 8; i++)
            probs[d * N + id(&t, (char[]){names[i], 0})] = probs_by_name[d][i];
    scoring_apply(test_compute, SCORING_LEAF_PRODUCT, &t, probs, scores, 2);
    scoring_select(SCORING_LEAF_PRODUCT, &t, probs, scores, 0.99f, NULL, keep, 2);
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < 8; i++) {
            uint32_t c = id(&t, (char[]){names[i], 0});
            CHECK_MSG(fabsf(scores[d * N + c] - expected[d][i]) < 1e-6f, "document %zu, %c: %g, expected %g", d,
                      names[i], (double)scores[d * N + c], (double)expected[d][i]);
            CHECK_MSG(keep[d * N + c] == (strchr(kept[d], names[i]) != NULL), "document %zu, %c", d, names[i]);
        }
    CHECK(!scoring_uses_threshold(SCORING_LEAF_PRODUCT) && !scoring_bounded_by_parent(SCORING_LEAF_PRODUCT));
    scoring_kind k;
    CHECK(scoring_parse("leaf-product", &k) && k == SCORING_LEAF_PRODUCT);
    taxonomy_free(&t);
}

/* What the decisions ask of each scoring: only bsf and product bound a node by its parent (msf's decisions
 * read the node's own probability: not pruned, no parent condition); only msf thresholds the probabilities
 * rather than its scores; the single-label scorings choose one category per level instead of thresholding. */
static void test_predicates(void)
{
    CHECK(scoring_bounded_by_parent(SCORING_BSF) && scoring_bounded_by_parent(SCORING_PRODUCT));
    CHECK(!scoring_bounded_by_parent(SCORING_INDEPENDENT) && !scoring_bounded_by_parent(SCORING_TOP_DOWN) &&
          !scoring_bounded_by_parent(SCORING_ARGMAX) && !scoring_bounded_by_parent(SCORING_MSF));
    CHECK(scoring_uses_threshold(SCORING_INDEPENDENT) && scoring_uses_threshold(SCORING_BSF) &&
          scoring_uses_threshold(SCORING_MSF) && scoring_uses_threshold(SCORING_PRODUCT));
    float probs[1], scores[1];
    CHECK(scoring_decided(SCORING_MSF, probs, scores) == probs &&
          scoring_decided(SCORING_PRODUCT, probs, scores) == scores &&
          scoring_decided(SCORING_BSF, probs, scores) == scores);
    CHECK(!scoring_uses_threshold(SCORING_TOP_DOWN) && !scoring_uses_threshold(SCORING_ARGMAX));
    CHECK(!scoring_uses_threshold(SCORING_LEAF) && !scoring_bounded_by_parent(SCORING_LEAF));
}

int main(void)
{
    RUN_TEST(test_scores);
    RUN_TEST(test_dag_shortcut);
    RUN_TEST(test_decisions);
    RUN_TEST(test_rankings);
    RUN_TEST(test_threshold_searches);
    RUN_TEST(test_single_label);
    RUN_TEST(test_label_thresholds);
    RUN_TEST(test_names);
    RUN_TEST(test_leaf);
    RUN_TEST(test_leaf_product);
    RUN_TEST(test_predicates);
    TEST_MAIN_END();
}
