/* The node strategy (HTrans) and the BiGRU-attention encoder end to end, on generated data with a
 * three-level taxonomy: every category gets a binary classifier, children start from their parents
 * and read their embedding, the class-weight search keeps one of the listed weights, the model file
 * keeps all of it (and no embedding copies below the top level), training does not depend on the
 * thread count, training continues from a checkpoint to the same model, and gru-att-multi takes the
 * weights of a node model. */
#include "hftc.h"
#include "model/model.h"
#include "test.h"
#include "hierarchy.h"
#include "tmpfiles.h"

#include <jansson.h>
#include <stdint.h>

static const char *path_train, *path_valid, *path_test, *path_taxonomy, *path_model;

static void small_options(hftc_train_options *o, const char *preset)
{
    hierarchy_options(o, preset, path_train, path_valid, path_taxonomy);
}

static const char *const probes[] = {"goal striker the pitch", "qubit spin entangled", "cell gene", "",
                                     "words never seen"};
#define N_PROBES 5
#define N_LABELS 7

// Saves m, loads it back and checks that it predicts the probes as m does (m's predictions into before;
// test_check_loaded_predictions); returns the loaded model (NULL if it failed to load).
static hftc_model *save_and_reload(hftc_model *m, float *before)
{
    return test_save_and_reload(m, path_model, probes, N_PROBES, N_LABELS, before, "node");
}

static void test_htrans(void)
{
    hftc_train_options o;
    small_options(&o, "htrans");
    o.n_class_weights = 2;
    o.class_weights[0] = 1.0f, o.class_weights[1] = 3.0f;
    o.epochs = 8;
    o.transfer_lr = 5e-3f;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    CHECK(m->strategy == STRATEGY_NODE && m->node_embedding == NODE_EMBEDDING_INHERITED);
    CHECK(m->n_parts == N_LABELS && hftc_model_num_labels(m) == N_LABELS);
    for (size_t p = 0; p < m->n_parts; p++) {
        const model_part *part = &m->parts[p];
        CHECK(part->n_outputs == 1);
        CHECK(part->class_weight == 1.0f || part->class_weight == 3.0f);
        bool top = part->level == 1;
        CHECK(top == (part->parent_part == MODEL_NO_PART));
        if (!top) { // parents first, the same embedding table as the parent (frozen, not copied)
            CHECK(part->parent_part < p);
            CHECK(model_part_embedding(m, p) == model_part_embedding(m, part->parent_part));
            CHECK(params_find(network_params(part->net), "embedding.weight") == NULL);
        } else {
            CHECK(params_find(network_params(part->net), "embedding.weight") != NULL);
        }
    }
    hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f};
    hftc_evaluation e;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    // On 8-d toy vectors the top level's training makes its words nearly collinear, so children reading
    // that embedding frozen separate their siblings poorly (level 2 about 0.7): only the top is checked
    // here; test_htrans_quality trains the same model with the children's embeddings trained.
    CHECK(e.n_levels == 3);
    CHECK_MSG(e.level[0].micro_f1 > 0.95, "level 1 micro-F1 %.4f", e.level[0].micro_f1);

    // Save and load: the same predictions bit for bit, the same weights and structure.
    float before[N_PROBES * N_LABELS], after[N_PROBES * N_LABELS];
    hftc_model *loaded = save_and_reload(m, before);
    if (loaded) {
        CHECK(loaded->n_parts == m->n_parts && loaded->node_embedding == NODE_EMBEDDING_INHERITED);
        for (size_t p = 0; p < m->n_parts && p < loaded->n_parts; p++) {
            CHECK(loaded->parts[p].class_weight == m->parts[p].class_weight);
            CHECK(loaded->parts[p].parent_part == m->parts[p].parent_part);
        }
        hftc_model_free(loaded);
    }
    // Training does not depend on the thread count (classifiers train concurrently, seeded alone).
    o.threads = 2;
    hftc_model *m2 = NULL;
    CHECK_STATUS(hftc_train(&o, &m2), HFTC_STATUS_OK);
    if (m2) {
        CHECK_STATUS(hftc_predict_texts(m2, probes, N_PROBES, after), HFTC_STATUS_OK);
        CHECK_MSG(memcmp(before, after, sizeof before) == 0, "2 threads train a different model");
        hftc_model_free(m2);
    }
    hftc_model_free(m);
}

#define N_TEST_DOCS 100

/* What hftc_predict_file gives for the test file: every document's probabilities and decisions. */
typedef struct {
    float probs[N_TEST_DOCS][N_LABELS];
    bool selected[N_TEST_DOCS][N_LABELS];
    size_t docs;
} predictions;

static hftc_status collect(const hftc_prediction *p, void *user)
{
    predictions *out = user;
    if (p->index >= N_TEST_DOCS)
        return HFTC_STATUS_INVALID_ARGUMENT;
    memcpy(out->probs[p->index], p->probs, sizeof out->probs[0]);
    for (size_t i = 0; i < p->n_selected; i++)
        out->selected[p->index][p->selected[i]] = true;
    out->docs++;
    return HFTC_STATUS_OK;
}

static void predict_test_file(hftc_model *m, const char *scoring, float threshold, int prune, predictions *out)
{
    memset(out, 0, sizeof *out);
    hftc_input_options in = {
        .path = path_test, .format = "auto", .scoring = scoring, .threshold = threshold, .prune = prune};
    CHECK_STATUS(hftc_predict_file(m, &in, 0, collect, out), HFTC_STATUS_OK);
    CHECK(out->docs == N_TEST_DOCS);
}

// Pruning (hftc_input_options.prune): under bsf and product the same decisions and F1 with classifiers
// skipped (their probabilities read 0) where a parent fails; nothing skipped at threshold 0, under
// independent scoring, or under msf (a label's own probability decides, whatever its parent's).
static void check_pruning(hftc_model *m)
{
    static predictions full, pruned;
    static const char *const kinds[] = {"bsf", "product"};
    for (size_t k = 0; k < 2; k++) {
        predict_test_file(m, kinds[k], 0.5f, 0, &full);
        predict_test_file(m, kinds[k], 0.5f, 1, &pruned);
        size_t skipped = 0;
        double d = 0.0;
        for (size_t i = 0; i < N_TEST_DOCS; i++)
            for (size_t c = 0; c < N_LABELS; c++) {
                if (pruned.probs[i][c] == 0.0f && full.probs[i][c] > 0.0f)
                    skipped++;
                else
                    d = fmax(d, fabs(pruned.probs[i][c] - full.probs[i][c]));
            }
        CHECK_MSG(memcmp(full.selected, pruned.selected, sizeof full.selected) == 0, "%s: pruning changed a decision",
                  kinds[k]);
        CHECK_MSG(skipped >= N_TEST_DOCS, "%s: only %zu classifier runs skipped", kinds[k], skipped);
        CHECK_MSG(d <= 1e-6, "%s: a probability that ran differs by %g", kinds[k], d);

        hftc_input_options in = {.path = path_test, .format = "auto", .scoring = kinds[k], .threshold = 0.5f};
        hftc_evaluation e_full, e_pruned;
        CHECK_STATUS(hftc_evaluate(m, &in, &e_full), HFTC_STATUS_OK);
        in.prune = 1;
        CHECK_STATUS(hftc_evaluate(m, &in, &e_pruned), HFTC_STATUS_OK);
        CHECK(e_pruned.micro_f1 == e_full.micro_f1 && e_pruned.macro_f1 == e_full.macro_f1);
        CHECK(e_pruned.exact_match == e_full.exact_match && e_pruned.n_levels == e_full.n_levels);
        for (size_t l = 0; l < e_full.n_levels; l++) {
            CHECK(e_pruned.level[l].micro_f1 == e_full.level[l].micro_f1);
            CHECK(e_pruned.level[l].docs_given_parent == 0); /* left out: it reads skipped probabilities */
        }
    }
    // Nothing to skip: threshold 0 (every label passes), independent scoring.
    predict_test_file(m, "bsf", 0.0f, 0, &full);
    predict_test_file(m, "bsf", 0.0f, 1, &pruned);
    CHECK(memcmp(&full, &pruned, sizeof full) == 0);
    predict_test_file(m, "independent", 0.5f, 0, &full);
    predict_test_file(m, "independent", 0.5f, 1, &pruned);
    CHECK(memcmp(&full, &pruned, sizeof full) == 0);
    predict_test_file(m, "msf", 0.5f, 0, &full);
    predict_test_file(m, "msf", 0.5f, 1, &pruned);
    CHECK(memcmp(&full, &pruned, sizeof full) == 0);
}

// HTrans with each child's embedding copied from its parent and trained: transfer works end to end.
// Pruning is checked on it (a model whose decisions are good enough that parents fail and pass).
static void test_htrans_quality(void)
{
    hftc_train_options o;
    small_options(&o, "htrans");
    o.n_class_weights = 1;
    o.epochs = 8;
    o.transfer_lr = 5e-3f;
    o.freeze_child_embeddings = 0;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    CHECK(m->node_embedding == NODE_EMBEDDING_OWN);
    hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f};
    hftc_evaluation e;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK_MSG(e.micro_f1 > 0.95, "micro-F1 %.4f on a separable problem", e.micro_f1);
    check_pruning(m);
    hftc_model_free(m);
}

// gru-att (no transfer): every classifier owns its embedding; --node-docs parent trains a child on its
// parent's documents only; a shared frozen table (--freeze-embeddings) is stored once.
/* What explanations must be for any model: per selected label, n_words words of the document, best first (also
 * those outside the vocabulary: "words never seen"), weights in (0, 1], "" and 0 past its words; with n_words at
 * least a document's length, its weights sum to 1 (the attention is a distribution over its words). same_rows: one
 * attention for every label (a multi-label network). */
typedef struct {
    size_t predictions, rows;
    bool bad, same_rows;
    const hftc_model *m;
} explain_check;

static hftc_status check_explanation(const hftc_prediction *p, void *user)
{
    explain_check *c = user;
    const char *text = probes[p->index];
    c->predictions++;
    for (size_t i = 0; i < p->n_selected; i++, c->rows++) {
        const char *const *w = p->words + i * p->n_words;
        const float *a = p->word_weights + i * p->n_words;
        double sum = 0.0;
        for (size_t j = 0; j < p->n_words; j++) {
            bool past = a[j] == 0.0f;
            /* hftc_predict_documents has the texts: a word the model does not know is shown as written */
            c->bad = c->bad || (past ? w[j][0] != '\0' : !(a[j] <= 1.0f) || !strstr(text, w[j]));
            c->bad = c->bad || (j > 0 && a[j] > a[j - 1]);
            sum += a[j];
        }
        c->bad = c->bad || (text[0] && fabs(sum - 1.0) > 1e-5) || (!text[0] && sum != 0.0);
        c->same_rows = c->same_rows && !memcmp(a, p->word_weights, p->n_words * sizeof *a);
    }
    return HFTC_STATUS_OK;
}

// Appends a prediction's explaining words to the text buffer user points to.
static hftc_status append_words(const hftc_prediction *p, void *user)
{
    char *text = user;
    for (size_t j = 0; j < p->n_selected * p->n_words; j++)
        if (strlen(text) + strlen(p->words[j]) + 2 < 4096)
            strcat(strcat(text, p->words[j]), " ");
    strcat(text, "|");
    return HFTC_STATUS_OK;
}

static void check_explanations(hftc_model *m, bool multi)
{
    hftc_input_options in = {.threshold = 0.0f, .explain = 12}; /* every label; more words than any probe */
    explain_check c = {.same_rows = true, .m = m};
    CHECK_STATUS(hftc_predict_documents(m, probes, N_PROBES, &in, 0, check_explanation, &c), HFTC_STATUS_OK);
    /* from a file: the same words, those outside the vocabulary as read */
    char from_texts[4096] = "", from_file[4096] = "";
    CHECK_STATUS(hftc_predict_documents(m, probes, N_PROBES, &in, 0, append_words, from_texts), HFTC_STATUS_OK);
    FILE *f = fopen(tmpfiles_path("probes.txt"), "w");
    for (size_t i = 0; f && i < N_PROBES; i++)
        fprintf(f, "%s\n", probes[i][0] ? probes[i] : "-"); /* a blank line is no document: "-" stands in */
    if (f)
        fclose(f);
    in.path = tmpfiles_path("probes.txt"), in.format = "text";
    CHECK_STATUS(hftc_predict_file(m, &in, 0, append_words, from_file), HFTC_STATUS_OK);
    CHECK_MSG(strstr(from_file, "never") && strstr(from_texts, "never") && !strstr(from_file, "<unk>"),
              "file: %s / texts: %s", from_file, from_texts);
    in.path = NULL, in.format = NULL;
    CHECK_MSG(c.predictions == N_PROBES && c.rows == N_PROBES * hftc_model_num_labels(m) && !c.bad,
              "%zu predictions, %zu label rows, bad %d", c.predictions, c.rows, c.bad);
    CHECK(c.same_rows == multi);
    in.explain = 101;
    CHECK_STATUS(hftc_predict_documents(m, probes, N_PROBES, &in, 0, check_explanation, &c),
                 HFTC_STATUS_INVALID_ARGUMENT);
}

static void test_gru_att_variants(void)
{
    hftc_train_options o;
    small_options(&o, "gru-att");
    snprintf(o.node_docs, sizeof o.node_docs, "parent");
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    CHECK(m->node_embedding == NODE_EMBEDDING_OWN);
    for (size_t p = 0; p < m->n_parts; p++)
        CHECK(params_find(network_params(m->parts[p].net), "embedding.weight") != NULL);
    // Record: "quantum" (under physics) trained and validated on physics documents only.
    json_t *record = json_loads(m->training_json, 0, NULL), *node;
    size_t i, physics_docs = 0, quantum_docs = 0;
    json_array_foreach(json_object_get(record, "nodes"), i, node)
    {
        const char *label = json_string_value(json_object_get(node, "label"));
        size_t docs = (size_t)(json_integer_value(json_object_get(node, "train_docs")) +
                               json_integer_value(json_object_get(node, "valid_docs")));
        size_t positives = (size_t)(json_integer_value(json_object_get(node, "train_positives")) +
                                    json_integer_value(json_object_get(node, "valid_positives")));
        if (!strcmp(label, "physics"))
            physics_docs = positives;
        if (!strcmp(label, "quantum"))
            quantum_docs = docs;
        CHECK(json_integer_value(json_object_get(node, "valid_positives")) >= 1);
    }
    CHECK_MSG(physics_docs > 0 && quantum_docs == physics_docs, "quantum saw %zu documents, physics has %zu",
              quantum_docs, physics_docs);
    json_decref(record);
    check_explanations(m, false); /* one attention per classifier */
    hftc_model_free(m);

    small_options(&o, "gru-att");
    o.freeze_embeddings = 1;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    CHECK(m->node_embedding == NODE_EMBEDDING_SHARED && m->shared_embedding);
    for (size_t p = 0; p < m->n_parts; p++)
        CHECK(model_part_embedding(m, p) == m->shared_embedding);
    float before[N_PROBES * N_LABELS];
    hftc_model_free(save_and_reload(m, before));
    hftc_model_free(m);
}

// gru-att-multi takes each label's weight from a node model; a model of another strategy is refused.
static void test_multi_with_class_weights(void)
{
    hftc_train_options o;
    small_options(&o, "gru-att-cw");
    o.n_class_weights = 2;
    o.class_weights[0] = 2.0f, o.class_weights[1] = 7.0f;
    hftc_model *node = NULL;
    CHECK_STATUS(hftc_train(&o, &node), HFTC_STATUS_OK);
    if (!node)
        return;
    CHECK_STATUS(hftc_model_save(node, path_model), HFTC_STATUS_OK);
    hftc_model_free(node);
    small_options(&o, "gru-att-multi");
    o.class_weights_from = path_model;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (m) {
        CHECK(m->strategy == STRATEGY_FLAT && m->n_parts == 1);
        hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f};
        hftc_evaluation e;
        CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
        CHECK_MSG(e.micro_f1 > 0.8, "micro-F1 %.4f", e.micro_f1);
        check_explanations(m, true); /* one attention for every label */
        CHECK_STATUS(hftc_model_save(m, path_model), HFTC_STATUS_OK);
        hftc_model_free(m);
    }
    // path_model is now the multi-label model: not a source of class weights.
    small_options(&o, "gru-att-multi");
    o.class_weights_from = path_model;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "node model") != NULL);
}

// --node-docs parent, where a parent has too few documents to split: its child trains on those of the
// nearest ancestor with enough (and the record names it) instead of failing; above the top level, all.
static void test_sparse_parent(void)
{
    static const char sparse_taxonomy[] = "Root\tsport\tscience\n"
                                          "sport\tfootball\ttennis\tchess\n"
                                          "science\tphysics\tbiology\n"
                                          "physics\tquantum\n"
                                          "chess\tblitz\n";
    const char *train = tmpfiles_path("sparse-train.tsv");
    hierarchy_write(train, 300, 1);
    FILE *f = fopen(train, "a");
    fputs("sport,chess,blitz\tcheckmate blitz clock the\n", f);
    fclose(f);
    hftc_train_options o;
    small_options(&o, "gru-att");
    o.train_path = train;
    o.taxonomy_path = tmpfiles_write_text("sparse-taxonomy.tsv", sparse_taxonomy);
    o.epochs = 1;
    snprintf(o.node_docs, sizeof o.node_docs, "parent");
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    json_t *record = json_loads(m->training_json, 0, NULL), *node;
    size_t i, checked = 0, sport_docs = 0, blitz_docs = 0;
    json_array_foreach(json_object_get(record, "nodes"), i, node)
    {
        const char *label = json_string_value(json_object_get(node, "label"));
        const char *docs = json_string_value(json_object_get(node, "docs"));
        size_t n = (size_t)(json_integer_value(json_object_get(node, "train_docs")) +
                            json_integer_value(json_object_get(node, "valid_docs")));
        if (!strcmp(label, "chess")) { /* sport's documents */
            checked += !strcmp(docs, "parent") && n < 300;
            sport_docs = n;
        }
        if (!strcmp(label, "blitz")) { /* chess has one document: sport's, as chess */
            checked += !strcmp(docs, "sport");
            blitz_docs = n;
        }
    }
    CHECK_MSG(checked == 2 && blitz_docs == sport_docs, "%zu of chess and blitz split as expected (%zu, %zu docs)",
              checked, sport_docs, blitz_docs);
    json_decref(record);
    hftc_model_free(m);
}

/* A training stopped at its time limit again and again continues from its checkpoint each time and
 * ends with the model of one uninterrupted training, also when the thread count changes between
 * calls; a checkpoint of other options, or a damaged one, is refused with its file named. */
static void test_checkpoint(void)
{
    hftc_train_options o;
    small_options(&o, "htrans");
    o.n_class_weights = 2;
    o.class_weights[0] = 1.0f, o.class_weights[1] = 3.0f;
    o.epochs = 3;
    o.threads = 2;
    hftc_model *whole = NULL;
    CHECK_STATUS(hftc_train(&o, &whole), HFTC_STATUS_OK);
    const char *checkpoint = tmpfiles_path("checkpoint.hftc");
    o.checkpoint_path = checkpoint;
    CHECK(hftc_train_options_check(&o) == NULL);
    o.time_limit = 1e-6f; // each call stops once it has finished a run (two at most, with two threads)
    hftc_model *m = NULL;
    hftc_status st;
    size_t stops = 0;
    while ((st = hftc_train(&o, &m)) == HFTC_STATUS_INCOMPLETE && stops < 100) {
        stops++;
        CHECK_MSG(strstr(hftc_last_error(), "time limit") && strstr(hftc_last_error(), checkpoint), "%s",
                  hftc_last_error());
        CHECK(m == NULL);
        if (stops == 3)
            o.threads = 1; // the thread count is not part of what a checkpoint must match
        // the checkpoint's description counts the class-weight runs done
        hftc_model *ck = NULL;
        CHECK_STATUS(hftc_model_load(&ck, checkpoint), HFTC_STATUS_OK);
        char *text = ck ? hftc_model_describe(ck) : NULL;
        json_t *d = text ? json_loads(text, 0, NULL) : NULL, *summary = json_object_get(d, "checkpoint");
        const char *units = json_string_value(json_object_get(summary, "units"));
        json_int_t done = json_integer_value(json_object_get(summary, "done"));
        CHECK_MSG(units && !strcmp(units, "classifier runs") && done >= (json_int_t)stops &&
                      json_integer_value(json_object_get(summary, "total")) == N_LABELS * 2,
                  "checkpoint summary %s", text ? text : "(none)");
        json_decref(d);
        free(text);
        hftc_model_free(ck);
    }
    CHECK_STATUS(st, HFTC_STATUS_OK);
    CHECK_MSG(stops >= N_LABELS * 2 / 2 - 1, "%zu stops for %d runs", stops, N_LABELS * 2);
    if (m && whole) {
        CHECK_MSG(same_classifiers(m, whole), "the resumed training differs from the uninterrupted one");
        json_t *record = json_loads(m->training_json, 0, NULL);
        CHECK(json_integer_value(json_object_get(record, "runs_from_checkpoint")) > 0);
        CHECK(json_array_size(json_object_get(record, "nodes")) == N_LABELS);
        json_decref(record);
    }
    hftc_model_free(m);
    m = NULL;

    // The checkpoint is still there (the caller removes it after saving the model): other options are refused.
    o.seed = 4;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_MSG(strstr(hftc_last_error(), checkpoint) && strstr(hftc_last_error(), "other data or options"), "%s",
              hftc_last_error());
    o.seed = 3;
    FILE *f = fopen(checkpoint, "rb");
    char bytes[4096];
    size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f)
        fclose(f);
    CHECK(n == sizeof bytes);
    tmpfiles_write("checkpoint.hftc", bytes, n); // cut short
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_MODEL);
    CHECK_MSG(strstr(hftc_last_error(), "checkpoint.hftc") && strstr(hftc_last_error(), "remove it"), "%s",
              hftc_last_error());
    CHECK(m == NULL);

    // gru-att-multi (one flat network) continues epoch by epoch; a time limit needs a checkpoint.
    small_options(&o, "gru-att-multi");
    hftc_model *multi = NULL;
    CHECK_STATUS(hftc_train(&o, &multi), HFTC_STATUS_OK);
    if (multi)
        test_check_checkpoint(&o, multi, checkpoint, probes, N_PROBES, "gru-att-multi");
    hftc_model_free(multi);
    small_options(&o, "htrans");
    o.time_limit = 60.0f;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--checkpoint"));
    hftc_model_free(whole);
}

// The "runs_reused" count of m's training record.
static json_int_t runs_reused(const hftc_model *m)
{
    json_t *record = json_loads(m->training_json, 0, NULL);
    json_int_t n = json_integer_value(json_object_get(record, "runs_reused"));
    json_decref(record);
    return n;
}

// Trains with o, expecting status st; on failure, that the error says what (needle).
static hftc_model *train_expect(const hftc_train_options *o, hftc_status st, const char *needle)
{
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(o, &m), st);
    if (needle)
        CHECK_MSG(strstr(hftc_last_error(), needle), "expected \"%s\" in: %s", needle, hftc_last_error());
    return m;
}

// The options of test_reuse_runs: 3 epochs, class weights {1, 3} (gru-att: {1}).
static void reuse_options(hftc_train_options *o, const char *preset)
{
    small_options(o, preset);
    o->epochs = 3;
    if (strcmp(preset, "gru-att")) {
        o->n_class_weights = 2;
        o->class_weights[0] = 1.0f, o->class_weights[1] = 3.0f;
    }
}

// Trains with o and saves the model to path (if not NULL).
static hftc_model *train_saved(const hftc_train_options *o, const char *path)
{
    hftc_model *m = train_expect(o, HFTC_STATUS_OK, NULL);
    if (m && path)
        CHECK_STATUS(hftc_model_save(m, path), HFTC_STATUS_OK);
    return m;
}

/* --reuse-runs: GRU-Att takes GRU-Att-basic's weight-1 runs and HTrans GRU-Att's top-level classifiers
 * (and back), each ending with the model it trains without them; a model of other data, options or class
 * weights, or not a node model, is refused with the reason. */
static void test_reuse_runs(void)
{
    const char *basic_path = tmpfiles_path("basic.hftc"), *cw_path = tmpfiles_path("cw.hftc"),
               *ht_path = tmpfiles_path("ht.hftc");
    hftc_train_options o;
    reuse_options(&o, "gru-att");
    hftc_model *basic = train_saved(&o, basic_path);
    reuse_options(&o, "gru-att-cw");
    hftc_model *cw = train_saved(&o, cw_path);
    o.reuse_runs_from = basic_path;
    o.threads = 2;
    hftc_model *cw_reused = train_saved(&o, NULL);
    // the same, stopped after every run: the reused runs are counted from the checkpoint
    o.checkpoint_path = tmpfiles_path("cw-reuse-checkpoint.hftc");
    o.time_limit = 1e-6f;
    hftc_model *cw_resumed = NULL;
    size_t stops = 0;
    while (hftc_train(&o, &cw_resumed) == HFTC_STATUS_INCOMPLETE && stops < 100)
        stops++;
    CHECK_MSG(cw_resumed && stops > 0, "%zu stops: %s", stops, hftc_last_error());
    remove(o.checkpoint_path);
    o.checkpoint_path = NULL, o.time_limit = 0.0f;
    reuse_options(&o, "htrans");
    hftc_model *ht = train_saved(&o, ht_path);
    o.reuse_runs_from = cw_path;
    hftc_model *ht_reused = train_saved(&o, NULL);
    // from htrans back to gru-att-cw: the top level only, since htrans's children started from their parents
    reuse_options(&o, "gru-att-cw");
    o.reuse_runs_from = ht_path;
    hftc_model *cw_from_ht = train_saved(&o, NULL);
    if (cw && cw_reused && cw_from_ht) {
        CHECK_MSG(same_classifiers(cw, cw_reused), "gru-att-cw reusing gru-att's runs trained another model");
        CHECK_MSG(same_classifiers(cw, cw_from_ht), "gru-att-cw reusing htrans's runs trained another model");
        CHECK(runs_reused(cw_reused) == N_LABELS); // every classifier's weight-1 run
        CHECK(runs_reused(cw_from_ht) == 2 * 2);   // the two top-level classifiers, two weights each
        CHECK(runs_reused(cw) == 0);
        CHECK_MSG(cw_resumed && same_classifiers(cw, cw_resumed) && runs_reused(cw_resumed) == N_LABELS,
                  "gru-att-cw reusing runs and continued from its checkpoint: %lld runs reused",
                  cw_resumed ? (long long)runs_reused(cw_resumed) : -1LL);
    }
    if (ht && ht_reused) {
        CHECK_MSG(same_classifiers(ht, ht_reused), "htrans reusing gru-att-cw's runs trained another model");
        CHECK(runs_reused(ht_reused) == 2 * 2);
    }

    // Refused: other options, class weights that do not begin the list, other data, a flat model.
    o.reuse_runs_from = basic_path;
    o.seed = 4;
    hftc_model_free(train_expect(&o, HFTC_STATUS_INVALID_ARGUMENT, "another seed option"));
    o.seed = 3;
    o.class_weights[0] = 3.0f, o.class_weights[1] = 1.0f;
    hftc_model_free(train_expect(&o, HFTC_STATUS_INVALID_ARGUMENT, "not the first 1 of --class-weights"));
    o.class_weights[0] = 1.0f, o.class_weights[1] = 3.0f;
    const char *other_train = tmpfiles_path("other-train.tsv");
    hierarchy_write(other_train, 300, 7);
    o.train_path = other_train;
    hftc_model_free(train_expect(&o, HFTC_STATUS_INVALID_ARGUMENT, "other data"));
    o.train_path = path_train;
    const char *multi_path = tmpfiles_path("multi.hftc");
    small_options(&o, "gru-att-multi");
    o.epochs = 1;
    hftc_model *multi = train_saved(&o, multi_path);
    o.reuse_runs_from = multi_path;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--reuse-runs"));
    small_options(&o, "gru-att");
    o.reuse_runs_from = multi_path;
    hftc_model_free(train_expect(&o, HFTC_STATUS_INVALID_ARGUMENT, "node model"));
    o.reuse_runs_from = tmpfiles_path("missing.hftc");
    hftc_model_free(train_expect(&o, HFTC_STATUS_IO, "missing.hftc"));

    hftc_model *models[] = {basic, cw, cw_reused, cw_resumed, ht, ht_reused, cw_from_ht, multi};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++)
        hftc_model_free(models[i]);
}

static void test_option_errors(void)
{
    hftc_train_options o;
    small_options(&o, "gru-att-multi");
    o.n_class_weights = 2;
    o.class_weights[1] = 2.0f;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "node strategy"));
    small_options(&o, "htrans");
    o.tune_threshold = 1;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--tune-threshold"));
    small_options(&o, "htrans");
    snprintf(o.head, sizeof o.head, "softmax");
    CHECK(hftc_train_options_check(&o) != NULL);
    small_options(&o, "htrans");
    snprintf(o.transfer_layers, sizeof o.transfer_layers, "embedding,rnn");
    CHECK(hftc_train_options_check(&o) != NULL);
    small_options(&o, "htrans");
    o.class_weights[1] = -2.0f;
    CHECK(hftc_train_options_check(&o) != NULL);
}

int main(void)
{
    tmpfiles_init("node");
    hierarchy_files files = hierarchy_write_files();
    path_taxonomy = files.taxonomy, path_train = files.train, path_valid = files.valid, path_test = files.test;
    path_model = files.model;
    RUN_TEST(test_htrans);
    RUN_TEST(test_htrans_quality);
    RUN_TEST(test_gru_att_variants);
    RUN_TEST(test_multi_with_class_weights);
    RUN_TEST(test_sparse_parent);
    RUN_TEST(test_checkpoint);
    RUN_TEST(test_reuse_runs);
    RUN_TEST(test_option_errors);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
