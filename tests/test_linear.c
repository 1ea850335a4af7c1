/* The linear family: TF-IDF features as scikit-learn's TfidfVectorizer defines them (checked against
 * the formulas on a hand-made corpus), classifiers equal to liblinear's own `liblinear-train` on the same
 * exported problem, every strategy with transfer and parent documents, the SVM's fitted sigmoid, the model
 * file (save and load give the same predictions; a damaged classifier is refused), and the options the
 * family refuses. */
#include "data/dataset.h"
#include "hftc.h"
#include "hierarchy.h"
#include "model/model.h"
#include "model/model_file.h"
#include "test.h"
#include "tmpfiles.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <sys/wait.h>

static const char *path_train, *path_valid, *path_test, *path_taxonomy, *path_model;

#define N_LABELS 7

static void linear_options(hftc_train_options *o)
{
    hftc_train_options_init(o, "linear");
    o->train_path = path_train;
    o->valid_path = path_valid;
    o->taxonomy_path = path_taxonomy;
    o->threads = 1;
}

/* Reads path's documents with a vocabulary counted from them (min count 1), as training does. */
static void read_counted(const char *path, dataset *ds, vocab *v, strmap *labels)
{
    dataset_options opt = {.tokenizer = {.lowercase = true, .split_punct = true, .drop_punct = true, .max_len = 100},
                           .labels_required = true};
    CHECK_STATUS(vocab_init(v), HFTC_STATUS_OK);
    strmap_init(labels);
    CHECK_STATUS(dataset_read(ds, path, &opt, v, true, labels), HFTC_STATUS_OK);
    uint32_t *remap = NULL;
    CHECK_STATUS(vocab_finalize(v, 1, 0, &remap), HFTC_STATUS_OK);
    dataset_remap_tokens(ds, remap);
    free(remap);
}

/* scikit-learn's TF-IDF on four documents: which n-grams are features (min_df 2), the smoothed idf, the
 * sublinear term frequency and the L2 norm, worked out here from the documents' counts. */
static void test_tfidf_formulas(void)
{
    static const char corpus[] = "x\ta b a c\n"    /* a:2 b:1 c:1; bigrams a_b b_a a_c */
                                 "x\ta b d\n"      /* a b d; a_b b_d */
                                 "x\tb c e\n"      /* b c e; b_c c_e */
                                 "x\ta b c a b\n"; /* a:2 b:2 c:1; a_b:2 b_c c_a */
    const char *path = tmpfiles_write("tfidf.tsv", corpus, strlen(corpus));
    dataset ds = {0};
    vocab v;
    strmap labels;
    read_counted(path, &ds, &v, &labels);
    tfidf f;
    tfidf_options opt = {.max_ngram = 2, .min_df = 2, .sublinear_tf = true};
    CHECK_STATUS(tfidf_fit(&f, &opt, &ds, (size_t[]){0, 1, 2, 3}, 4, vocab_size(&v)), HFTC_STATUS_OK);
    uint32_t a = vocab_lookup(&v, "a", 1), b = vocab_lookup(&v, "b", 1), c = vocab_lookup(&v, "c", 1);
    uint32_t d = vocab_lookup(&v, "d", 1);
    /* bigrams in two documents or more: a_b (3 documents), b_c (2) */
    CHECK(f.n_bigrams == 2);
    bool ab_first = a < b || (a == b && b < c); /* bigrams in (first, second) order */
    uint32_t ab = (uint32_t)f.n_words + (ab_first ? 0 : 1), bc = (uint32_t)f.n_words + (ab_first ? 1 : 0);
    CHECK(f.n_bigrams == 2 && f.bigrams[2 * (ab - f.n_words)] == a && f.bigrams[2 * (ab - f.n_words) + 1] == b);
    CHECK(f.n_bigrams == 2 && f.bigrams[2 * (bc - f.n_words)] == b && f.bigrams[2 * (bc - f.n_words) + 1] == c);
    double n = 4.0;
    double idf_a = log((1 + n) / (1 + 3)) + 1, idf_b = log((1 + n) / (1 + 4)) + 1, idf_c = log((1 + n) / (1 + 3)) + 1;
    double idf_ab = log((1 + n) / (1 + 3)) + 1, idf_bc = log((1 + n) / (1 + 2)) + 1;
    CHECK(fabs(f.idf[a] - idf_a) < 1e-6 && fabs(f.idf[b] - idf_b) < 1e-6 && fabs(f.idf[c] - idf_c) < 1e-6);
    CHECK(f.idf[d] == 0.0f && f.idf[VOCAB_UNK] == 0.0f && f.idf[VOCAB_PAD] == 0.0f); /* d: one document */
    CHECK(fabs(f.idf[ab] - idf_ab) < 1e-6 && fabs(f.idf[bc] - idf_bc) < 1e-6);
    sparse_rows rows;
    CHECK_STATUS(tfidf_transform(&f, &ds, (size_t[]){3}, 1, &rows), HFTC_STATUS_OK);
    /* "a b c a b": a 2, b 2, c 1, a_b 2, b_c 1 (c_a is no feature) */
    double want[5][2] = {{a, (1 + log(2.0)) * idf_a},
                         {b, (1 + log(2.0)) * idf_b},
                         {c, idf_c},
                         {ab, (1 + log(2.0)) * idf_ab},
                         {bc, idf_bc}};
    double norm = 0;
    for (size_t i = 0; i < 5; i++)
        norm += want[i][1] * want[i][1];
    CHECK(rows.start[1] == 5);
    for (size_t k = 0; k < rows.start[1] && k < 5; k++) {
        size_t i = 0;
        while (i < 5 && want[i][0] != rows.index[k])
            i++;
        CHECK_MSG(i < 5 && fabs(rows.value[k] - want[i][1] / sqrt(norm)) < 1e-6, "feature %u: %g", rows.index[k],
                  (double)rows.value[k]);
        CHECK(k == 0 || rows.index[k] > rows.index[k - 1]);
    }
    sparse_rows_free(&rows);
    tfidf_free(&f);
    dataset_free(&ds);
    vocab_free(&v);
    strmap_free(&labels);
}

/* The training problem of label's classifier in liblinear's text format (label index:value ..., the bias
 * feature last is liblinear-train's -B 1), from the model's features of the training file. */
static void export_problem(const hftc_model *m, const char *train_path, const char *path, const char *label)
{
    dataset ds = {0};
    strmap labels;
    strmap_init(&labels);
    dataset_options opt = {.tokenizer = m->tokenizer, .labels_required = true};
    CHECK_STATUS(dataset_read(&ds, train_path, &opt, (vocab *)&m->vocab, false, &labels), HFTC_STATUS_OK);
    size_t id = strmap_find(&labels, label, strlen(label));
    sparse_rows rows;
    CHECK_STATUS(tfidf_transform(&m->features, &ds, NULL, ds.n_docs, &rows), HFTC_STATUS_OK);
    FILE *f = fopen(path, "w");
    for (size_t d = 0; d < ds.n_docs; d++) {
        bool positive = false;
        for (size_t j = ds.label_start[d]; j < ds.label_start[d + 1]; j++)
            positive |= ds.labels[j] == id;
        fprintf(f, "%s", positive ? "+1" : "-1");
        for (size_t k = rows.start[d]; k < rows.start[d + 1]; k++)
            fprintf(f, " %u:%.9g", rows.index[k] + 1, (double)rows.value[k]);
        fputc('\n', f);
    }
    fclose(f);
    sparse_rows_free(&rows);
    dataset_free(&ds);
    strmap_free(&labels);
}

/* The weights (n_features, then the bias) of liblinear-train's model file; NULL when it cannot be read.
 * Negated when the file's first label is -1 (its weights are that class's). */
static double *read_liblinear_model(const char *path, size_t n_features)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[256];
    int first_label = 0;
    double *w = calloc(n_features + 1, sizeof *w);
    while (fgets(line, sizeof line, f) && strncmp(line, "w", 1) != 0)
        sscanf(line, "label %d", &first_label);
    size_t i = 0;
    for (; i < n_features + 1 && fscanf(f, "%lf", &w[i]) == 1; i++)
        w[i] *= first_label == -1 ? -1.0 : 1.0;
    fclose(f);
    if (i != n_features + 1) {
        free(w);
        return NULL;
    }
    return w;
}

/* Output j of m's flat classifier equals liblinear-train's on its exported problem (trained on train_path at C 10),
 * the bias too: the same solver from the same start, to the tolerance (the command's BLAS may sum in another
 * order, which moves where the solver stops: the SVM's piecewise Hessian makes that visible at 1e-3, not at
 * 1e-6). False when the command cannot be run or read. */
static bool check_output_as_liblinear(const hftc_model *m, const char *train_path, size_t j, const char *solver_flag,
                                      const char *tolerance, double relative)
{
    const linear_classifier *lc = m->parts[0].linear;
    const char *label = hftc_model_label(m, m->parts[0].nodes[j]);
    const char *problem = tmpfiles_path("problem.txt"), *reference = tmpfiles_path("reference.model");
    export_problem(m, train_path, problem, label);
    char command[1024];
    snprintf(command, sizeof command, "liblinear-train -q -s %s -c 10 -e %s -B 1 %s %s", solver_flag, tolerance,
             problem, reference);
    int rc = system(command);
    CHECK_MSG(rc == 0, "%s failed (%d): liblinear-tools installed? (scripts/setup.sh)", command, rc);
    size_t F = lc->n_features;
    double *want = rc == 0 ? read_liblinear_model(reference, F) : NULL;
    CHECK_MSG(want != NULL, "cannot read %s", reference);
    if (!want)
        return false;
    double *got = calloc(F + 1, sizeof *got), largest = 0.0, worst = 0.0;
    for (size_t f = 0; f < F; f++)
        for (size_t e = lc->row_start[f]; e < lc->row_start[f + 1]; e++)
            if (lc->output[e] == j)
                got[f] = lc->weight[e];
    got[F] = lc->bias[j];
    for (size_t f = 0; f <= F; f++) {
        largest = fabs(want[f]) > largest ? fabs(want[f]) : largest;
        worst = fabs(got[f] - want[f]) > worst ? fabs(got[f] - want[f]) : worst;
    }
    CHECK_MSG(largest > 0.1 && worst <= relative * largest, "%s: weights differ by %.3g (largest %.3g)", label, worst,
              largest);
    free(want), free(got);
    return true;
}

/* A flat model at one C from liblinear's start (--linear-start zero) equals liblinear-train's on the exported
 * problems, output by output; the same with 1 and 2 threads. */
static void test_same_as_liblinear_train(const char *solver_flag, const char *loss, const char *tolerance)
{
    hftc_train_options o;
    linear_options(&o);
    snprintf(o.linear_start, sizeof o.linear_start, "zero");
    snprintf(o.strategy, sizeof o.strategy, "flat");
    snprintf(o.linear_loss, sizeof o.linear_loss, "%s", loss);
    o.n_linear_c = 1, o.linear_c[0] = 10.0f;
    o.linear_tolerance = strtof(tolerance, NULL);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    const linear_classifier *lc = m->parts[0].linear;
    CHECK(m->family == FAMILY_LINEAR && m->n_parts == 1 && lc && lc->n_outputs == N_LABELS);
    for (size_t j = 0; lc && j < lc->n_outputs; j++)
        if (!check_output_as_liblinear(m, path_train, j, solver_flag, tolerance, 1e-5))
            break;
    o.threads = 2;
    hftc_model *m2 = NULL;
    CHECK_STATUS(hftc_train(&o, &m2), HFTC_STATUS_OK);
    if (m2 && lc) {
        const linear_classifier *l2 = m2->parts[0].linear;
        CHECK_MSG(linear_nnz(l2) == linear_nnz(lc) &&
                      !memcmp(l2->weight, lc->weight, linear_nnz(lc) * sizeof *lc->weight) &&
                      !memcmp(l2->bias, lc->bias, lc->n_outputs * sizeof *lc->bias),
                  "2 threads train other weights");
    }
    hftc_model_free(m2);
    hftc_model_free(m);
}

static void test_logreg_as_liblinear(void) { test_same_as_liblinear_train("0", "logreg", "0.001"); }
static void test_svm_as_liblinear(void) { test_same_as_liblinear_train("2", "svm", "0.000001"); }

/* The default start (each classifier at the optimum of its bias alone) reaches liblinear-train's optimum from zeros:
 * at a tight tolerance the weights agree to 1e-4 of the largest, both losses; and it is another path (the weights
 * are not the zero start's bit for bit). */
static void test_bias_start_same_optimum(void)
{
    static const char *const losses[] = {"logreg", "svm"}, *const flags[] = {"0", "2"};
    for (size_t k = 0; k < 2; k++) {
        hftc_train_options o;
        linear_options(&o);
        snprintf(o.strategy, sizeof o.strategy, "flat");
        snprintf(o.linear_loss, sizeof o.linear_loss, "%s", losses[k]);
        o.n_linear_c = 1, o.linear_c[0] = 10.0f;
        o.linear_tolerance = 1e-6f;
        hftc_model *m = NULL, *zero = NULL;
        CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
        snprintf(o.linear_start, sizeof o.linear_start, "zero");
        CHECK_STATUS(hftc_train(&o, &zero), HFTC_STATUS_OK);
        if (!m || !zero) {
            hftc_model_free(m), hftc_model_free(zero);
            return;
        }
        for (size_t j = 0; j < m->parts[0].n_outputs; j++)
            if (!check_output_as_liblinear(m, path_train, j, flags[k], "0.000001", 1e-4))
                break;
        const linear_classifier *a = m->parts[0].linear, *b = zero->parts[0].linear;
        CHECK_MSG(linear_nnz(a) != linear_nnz(b) || memcmp(a->weight, b->weight, linear_nnz(a) * sizeof *a->weight),
                  "%s: the bias start trained the zero start's weights bit for bit", losses[k]);
        hftc_model_free(m), hftc_model_free(zero);
    }
    hftc_train_options o;
    linear_options(&o);
    snprintf(o.linear_start, sizeof o.linear_start, "ones");
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "bias or zero"));
}

static const char *const probes[] = {"goal striker the pitch", "qubit spin entangled", "cell gene", "",
                                     "words never seen"};
#define N_PROBES 5

/* Trains with strategy and transfer, checks the test file's figures, and that save + load predict the same. */
static void check_strategy(const char *strategy, const char *transfer, const char *node_docs, const char *loss)
{
    hftc_train_options o;
    linear_options(&o);
    snprintf(o.strategy, sizeof o.strategy, "%s", strategy);
    snprintf(o.transfer, sizeof o.transfer, "%s", transfer);
    snprintf(o.node_docs, sizeof o.node_docs, "%s", node_docs);
    snprintf(o.linear_loss, sizeof o.linear_loss, "%s", loss);
    if (strcmp(strategy, "flat"))
        snprintf(o.scoring, sizeof o.scoring, "bsf");
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    size_t expected_parts = !strcmp(strategy, "flat") ? 1 : !strcmp(strategy, "level") ? 3 : N_LABELS;
    CHECK_MSG(m->n_parts == expected_parts, "%s: %zu parts", strategy, m->n_parts);
    hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f};
    hftc_evaluation e;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK_MSG(e.micro_f1 > 0.95, "%s %s %s %s: test micro-F1 %.4f", strategy, transfer, node_docs, loss, e.micro_f1);
    hftc_evaluation_free(&e);
    if (!strcmp(node_docs, "parent")) /* a child's weights stay on its documents' words, whatever its parent's */
        for (size_t p = 0; p < m->n_parts; p++)
            if (!strcmp(hftc_model_label(m, m->parts[p].nodes[0]), "football")) {
                const linear_classifier *lc = m->parts[p].linear;
                uint32_t qubit = vocab_lookup(&m->vocab, "qubit", 5);
                CHECK(qubit != VOCAB_UNK && lc->row_start[qubit] == lc->row_start[qubit + 1]);
            }
    if (!strcmp(loss, "svm")) /* one sigmoid for all (the default), turning larger decision values into larger */
        for (size_t p = 0; p < m->n_parts; p++) /* probabilities */
            for (size_t j = 0; j < m->parts[p].n_outputs; j++) {
                const float *sg = m->parts[p].linear->sigmoid, *first = m->parts[0].linear->sigmoid;
                CHECK_MSG(sg[2 * j] > 0.0f, "%s output %zu: slope %g", m->parts[p].name, j, (double)sg[2 * j]);
                CHECK(sg[2 * j] == first[0] && sg[2 * j + 1] == first[1]);
            }
    float before[N_PROBES * N_LABELS];
    hftc_model *loaded = test_save_and_reload(m, path_model, probes, N_PROBES, N_LABELS, before, strategy);
    if (loaded) {
        char *description = hftc_model_describe(loaded);
        CHECK(description && strstr(description, "\"family\": \"linear\"") && strstr(description, "linear.weight"));
        free(description);
        hftc_model_free(loaded);
    }
    hftc_model_free(m);
}

static void test_strategies(void)
{
    check_strategy("flat", "none", "all", "logreg");
    check_strategy("level", "finetune", "all", "logreg");
    check_strategy("node", "finetune", "parent", "logreg");
    check_strategy("node", "none", "all", "svm");
    check_strategy("flat", "none", "all", "svm");
}

/* --linear-sigmoid label fits a sigmoid per output: the outputs' differ. */
static void test_sigmoid_per_label(void)
{
    hftc_train_options o;
    linear_options(&o);
    snprintf(o.linear_loss, sizeof o.linear_loss, "svm");
    CHECK_STATUS(hftc_train_options_set(&o, "linear-sigmoid", "label"), HFTC_STATUS_OK);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    const float *sg = m->parts[0].linear->sigmoid;
    size_t differ = 0;
    for (size_t j = 1; j < m->parts[0].n_outputs; j++)
        differ += sg[2 * j] != sg[0] || sg[2 * j + 1] != sg[1];
    CHECK_MSG(differ > 0, "every output has the first one's sigmoid");
    hftc_model_free(m);
    linear_options(&o);
    CHECK_STATUS(hftc_train_options_set(&o, "linear-sigmoid", "each"), HFTC_STATUS_OK);
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "global or label"));
}

/* A damaged classifier (an output past the part's, a weight that is not finite) is refused on load. */
static void test_damaged_file(void)
{
    hftc_train_options o;
    linear_options(&o);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    linear_classifier *lc = m->parts[0].linear;
    for (int damage = 0; damage < 2 && linear_nnz(lc) > 0; damage++) {
        uint32_t output = lc->output[0];
        float weight = lc->weight[0];
        if (damage == 0)
            lc->output[0] = (uint32_t)lc->n_outputs;
        else
            lc->weight[0] = NAN;
        CHECK_STATUS(hftc_model_save(m, path_model), HFTC_STATUS_OK);
        hftc_model *loaded = NULL;
        CHECK_STATUS(hftc_model_load(&loaded, path_model), HFTC_STATUS_MODEL);
        CHECK_MSG(strstr(hftc_last_error(), path_model) &&
                      strstr(hftc_last_error(), damage == 0 ? "out of range" : "not finite"),
                  "message: %s", hftc_last_error());
        hftc_model_free(loaded);
        lc->output[0] = output, lc->weight[0] = weight;
    }
    hftc_model_free(m);
}

/* Copies path's lines but those labelled "science,physics" (a document ending at an inner category). */
static const char *leaf_documents_only(const char *path, const char *name)
{
    const char *out = tmpfiles_path(name);
    FILE *in = fopen(path, "r"), *f = fopen(out, "w");
    char line[1024];
    while (in && f && fgets(line, sizeof line, in))
        if (strncmp(line, "science,physics\t", 16) != 0)
            fputs(line, f);
    if (in)
        fclose(in);
    if (f)
        fclose(f);
    return out;
}

/* --tune-scoring tries the leaf decision on single-path data (every document a leaf and its ancestors) and
 * records the choice; it leaves other data alone. */
static void test_tune_scoring(void)
{
    hftc_train_options o;
    linear_options(&o);
    o.tune_scoring = 1;
    for (int single = 0; single < 2; single++) {
        if (single) {
            o.train_path = leaf_documents_only(path_train, "train-leaves.tsv");
            o.valid_path = leaf_documents_only(path_valid, "valid-leaves.tsv");
        }
        hftc_model *m = NULL;
        CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
        if (!m)
            continue;
        json_t *training = json_loads(m->training_json, 0, NULL), *tuned = json_object_get(training, "tuned_scoring");
        CHECK_MSG(single ? json_is_object(tuned) : tuned == NULL, "single-path %d: tuned_scoring %s", single,
                  tuned ? "present" : "absent");
        const char *kept = json_string_value(json_object_get(tuned, "kept"));
        CHECK(!single || (kept && !strcmp(kept, hftc_model_scoring(m))));
        json_decref(training);
        hftc_model_free(m);
    }
}

static void test_refused_options(void)
{
    hftc_train_options o;
    linear_options(&o);
    o.embeddings_path = "vectors.vec";
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "TF-IDF"));
    linear_options(&o);
    snprintf(o.head, sizeof o.head, "softmax");
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "one-vs-rest"));
    linear_options(&o);
    CHECK_STATUS(hftc_train_options_set(&o, "linear-c", "0"), HFTC_STATUS_OK);
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--linear-c"));
    linear_options(&o);
    CHECK_STATUS(hftc_train_options_set(&o, "linear-loss", "hinge"), HFTC_STATUS_OK);
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "logreg or svm"));
    linear_options(&o);
    CHECK_STATUS(hftc_train_options_set(&o, "family", "forest"), HFTC_STATUS_OK);
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "neural or linear"));
}

/* Two labels with the same training documents (physics, here always with its one child quantum) are one
 * problem, trained once (linear_twins.c): their weights are equal bit for bit, and the copy is liblinear-train's
 * solution of its own exported problem. */
static void test_twins(void)
{
    const char *train_path = tmpfiles_path("twins-train.tsv");
    FILE *in = fopen(path_train, "r"), *out = fopen(train_path, "w");
    char line[4096];
    while (in && out && fgets(line, sizeof line, in))
        fprintf(out, "%s%s", !strncmp(line, "science,physics\t", 16) ? "science,physics,quantum\t" : line,
                !strncmp(line, "science,physics\t", 16) ? line + 16 : "");
    fclose(in), fclose(out);
    hftc_train_options o;
    linear_options(&o);
    o.train_path = train_path;
    snprintf(o.strategy, sizeof o.strategy, "flat");
    o.n_linear_c = 2, o.linear_c[0] = 1.0f, o.linear_c[1] = 10.0f; /* the second C starts from the first's */
    snprintf(o.linear_start, sizeof o.linear_start, "zero");       /* liblinear-train's start, below */
    o.linear_tolerance = 0.001f;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    const linear_classifier *lc = m->parts[0].linear;
    size_t physics = SIZE_MAX, quantum = SIZE_MAX;
    for (size_t j = 0; j < lc->n_outputs; j++) {
        const char *label = hftc_model_label(m, m->parts[0].nodes[j]);
        physics = !strcmp(label, "physics") ? j : physics;
        quantum = !strcmp(label, "quantum") ? j : quantum;
    }
    CHECK(physics != SIZE_MAX && quantum != SIZE_MAX);
    if (physics == SIZE_MAX || quantum == SIZE_MAX) {
        hftc_model_free(m);
        return;
    }
    size_t same = 0, weights = 0;
    for (size_t f = 0; f < lc->n_features; f++) {
        float a = 0.0f, b = 0.0f;
        for (size_t e = lc->row_start[f]; e < lc->row_start[f + 1]; e++) {
            a = lc->output[e] == physics ? lc->weight[e] : a;
            b = lc->output[e] == quantum ? lc->weight[e] : b;
        }
        same += !memcmp(&a, &b, sizeof a), weights += a != 0.0f;
    }
    CHECK_MSG(same == lc->n_features && weights > 0 && lc->bias[physics] == lc->bias[quantum],
              "physics and quantum: %zu of %zu weights equal, %zu non-zero", same, lc->n_features, weights);
    char *description = hftc_model_describe(m); /* the training record: one classifier of 7 was a copy */
    CHECK_MSG(description && strstr(description, "\"twins\": 1"), "no twin in the record");
    free(description);
    hftc_model_free(m);
    o.n_linear_c = 1, o.linear_c[0] = 10.0f;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (m) /* the same outputs in the same order: one taxonomy, one training file */
        check_output_as_liblinear(m, train_path, quantum, "0", "0.001", 1e-5);
    hftc_model_free(m);
}

int main(void)
{
    tmpfiles_init("linear");
    hierarchy_files files = hierarchy_write_files();
    path_taxonomy = files.taxonomy, path_train = files.train, path_valid = files.valid, path_test = files.test;
    path_model = files.model;
    hftc_set_log(NULL, HFTC_LOG_WARN, NULL);
    RUN_TEST(test_tfidf_formulas);
    RUN_TEST(test_logreg_as_liblinear);
    RUN_TEST(test_svm_as_liblinear);
    RUN_TEST(test_bias_start_same_optimum);
    RUN_TEST(test_strategies);
    RUN_TEST(test_twins);
    RUN_TEST(test_sigmoid_per_label);
    RUN_TEST(test_damaged_file);
    RUN_TEST(test_tune_scoring);
    RUN_TEST(test_refused_options);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
