/* The parent strategy (HDLTex: a local classifier per category with children, over its children), end to end on
 * the generated three-level data: its parts and their outputs, each part trained on its node's documents, a part
 * of one softmax output left untrained, transfer from the part of the node's parent, top-down decisions, the model
 * file, the seed, frozen word vectors read from one table by every part, the linear family's one-vs-rest classifiers
 * among a node's children, and the combinations refused. */
#include "hftc.h"
#include "model/model.h"
#include "model/network.h"
#include "nn/params.h"
#include "text/vocab.h"
#include "test.h"
#include "hierarchy.h"
#include "tmpfiles.h"

#include <jansson.h>
#include <stdint.h>

static const char *path_train, *path_valid, *path_test, *path_taxonomy, *path_model;

static const char *const probes[] = {"goal striker the pitch", "qubit spin entangled", "cell gene", "",
                                     "words never seen"};
#define N_PROBES 5
#define N_LABELS 7

/* A small CNN over the generated data: parent strategy, softmax head, top-down decisions. */
static void parent_options(hftc_train_options *o, const char *head, const char *transfer)
{
    hierarchy_options(o, "flat-cnn", path_train, path_valid, path_taxonomy);
    snprintf(o->strategy, sizeof o->strategy, "parent");
    snprintf(o->head, sizeof o->head, "%s", head);
    snprintf(o->scoring, sizeof o->scoring, "top-down");
    snprintf(o->transfer, sizeof o->transfer, "%s", transfer);
    snprintf(o->early_stop, sizeof o->early_stop, "%s", strcmp(head, "softmax") ? "micro-f1" : "accuracy");
    o->filters = 8;
    o->hidden = 0;
    o->epochs = 6;
    o->lr = 2e-2f;
}

static size_t part_named(const hftc_model *m, const char *name)
{
    for (size_t p = 0; p < m->n_parts; p++)
        if (!strcmp(m->parts[p].name, name))
            return p;
    return MODEL_NO_PART;
}

/* Whether part p's outputs are the named labels, in order (space-separated). */
static bool outputs_are(const hftc_model *m, size_t p, const char *names)
{
    char list[128] = "";
    for (size_t j = 0; p != MODEL_NO_PART && j < m->parts[p].n_outputs; j++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? " " : "",
                 hftc_model_label(m, m->parts[p].nodes[j]));
    return !strcmp(list, names);
}

/* The layout on the fixture's taxonomy (Root: sport, science; sport: football, tennis; science: physics, biology;
 * physics: quantum): the top level's part, then one per category with children, parents first. */
static void check_layout(const hftc_model *m)
{
    CHECK_MSG(m->strategy == STRATEGY_PARENT && m->n_parts == 4, "%zu parts", m->n_parts);
    size_t top = part_named(m, "parent (top)"), sport = part_named(m, "parent sport");
    size_t science = part_named(m, "parent science"), physics = part_named(m, "parent physics");
    CHECK(top == 0 && sport != MODEL_NO_PART && science != MODEL_NO_PART && physics > science);
    CHECK(outputs_are(m, top, "sport science") && outputs_are(m, sport, "football tennis"));
    CHECK(outputs_are(m, science, "physics biology") && outputs_are(m, physics, "quantum"));
    if (physics == MODEL_NO_PART || sport == MODEL_NO_PART)
        return;
    CHECK(m->parts[top].parent_part == MODEL_NO_PART && m->parts[sport].parent_part == top);
    CHECK(m->parts[science].parent_part == top && m->parts[physics].parent_part == science);
    CHECK(m->parts[top].level == 1 && m->parts[sport].level == 2 && m->parts[physics].level == 3);
    CHECK(!strcmp(m->parts[top].prefix, "parent_top.") && !strncmp(m->parts[sport].prefix, "parent", 6));
    for (size_t p = 0; p < m->n_parts; p++)
        CHECK(m->parts[p].of_node &&
              (!m->parts[p].net || network_get_config(m->parts[p].net)->n_classes == m->parts[p].n_outputs));
}

/* The training file's documents that have label (every one for NULL). */
static size_t train_docs_of(const char *label)
{
    FILE *f = fopen(path_train, "r");
    char line[512];
    size_t n = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        bool has = !label;
        for (char *l = strtok(line, ","); l && !has; l = strtok(NULL, ","))
            has = !strcmp(l, label);
        n += has;
    }
    if (f)
        fclose(f);
    return n;
}

/* The training record's entry of the part named. */
static json_t *part_record(json_t *record, const char *name)
{
    json_t *parts = json_object_get(record, "parts");
    for (size_t i = 0; i < json_array_size(parts); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(parts, i), "part")), name))
            return json_array_get(parts, i);
    return NULL;
}

static double test_micro_f1(hftc_model *m, const char *scoring)
{
    hftc_input_options in = {.path = path_test, .format = "auto", .scoring = scoring, .threshold = -1.0f};
    hftc_evaluation e;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    hftc_evaluation_free(&e);
    return e.micro_f1;
}

/* A model trained with o, its layout checked; NULL if it failed. */
static hftc_model *train_parent(const hftc_train_options *o)
{
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(o, &m), HFTC_STATUS_OK);
    if (m)
        check_layout(m);
    return m;
}

/* Trains o again (threads: its thread count) and checks that it gives m's classifiers, bit for bit. */
static void check_trains_same(hftc_train_options o, int threads, const hftc_model *m, const char *label)
{
    o.threads = threads;
    hftc_model *again = NULL;
    CHECK_STATUS(hftc_train(&o, &again), HFTC_STATUS_OK);
    CHECK_MSG(again && same_classifiers(m, again), "%s: %d thread(s) train another model", label, threads);
    hftc_model_free(again);
}

static void test_softmax_finetune(void)
{
    hftc_train_options o;
    parent_options(&o, "softmax", "finetune");
    hftc_model *m = train_parent(&o);
    if (!m)
        return;
    /* each part trained on its node's documents (the top level's: all); physics's one softmax output is 1 */
    json_t *record = json_loads(m->training_json, 0, NULL);
    static const char *const parts[][2] = {{"parent (top)", NULL}, {"parent sport", "sport"}};
    for (size_t i = 0; i < 2; i++) {
        json_t *r = part_record(record, parts[i][0]);
        size_t docs = (size_t)json_integer_value(json_object_get(r, "train_docs"));
        CHECK_MSG(docs == train_docs_of(parts[i][1]) && docs > 0, "%s: %zu training documents, %zu expected",
                  parts[i][0], docs, train_docs_of(parts[i][1]));
    }
    json_t *science = part_record(record, "parent science"), *physics = part_record(record, "parent physics");
    CHECK((size_t)json_integer_value(json_object_get(science, "train_docs")) == train_docs_of("science"));
    CHECK(json_is_string(json_object_get(physics, "not_trained")) && !json_object_get(physics, "train_docs"));
    /* transfer: a node's part from the part whose outputs hold the node; the top level's fresh */
    const char *from = json_string_value(json_object_get(science, "starts_from"));
    CHECK_MSG(from && !strcmp(from, "parent (top)"), "parent science starts from %s", from ? from : "nothing");
    CHECK(!json_object_get(part_record(record, "parent (top)"), "starts_from"));
    json_decref(record);
    float probs[N_PROBES * N_LABELS];
    CHECK_STATUS(hftc_predict_texts(m, probes, N_PROBES, probs), HFTC_STATUS_OK);
    /* a part's softmax over its children: siblings sum to 1; quantum, physics's one child, is 1 */
    uint32_t sport = 0, science_id = 0, quantum = 0;
    for (uint32_t c = 0; c < N_LABELS; c++) {
        sport = !strcmp(hftc_model_label(m, c), "sport") ? c : sport;
        science_id = !strcmp(hftc_model_label(m, c), "science") ? c : science_id;
        quantum = !strcmp(hftc_model_label(m, c), "quantum") ? c : quantum;
    }
    for (size_t d = 0; d < N_PROBES; d++) {
        const float *row = probs + d * N_LABELS;
        CHECK(fabsf(row[sport] + row[science_id] - 1.0f) < 1e-5f && row[quantum] == 1.0f);
    }
    /* top-down: the best top-level category, then its best child, down; "science, physics" documents get
     * quantum too (a softmax always picks a child), so precision is at most 1 / 1.1 on this data */
    double f1 = test_micro_f1(m, NULL);
    CHECK_MSG(f1 > 0.9, "top-down test micro-F1 %.4f", f1);
    /* save + load: the same layout and predictions */
    CHECK_STATUS(hftc_model_save(m, path_model), HFTC_STATUS_OK);
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, path_model), HFTC_STATUS_OK);
    if (loaded) {
        check_layout(loaded);
        CHECK(!strcmp(hftc_model_scoring(loaded), "top-down"));
        test_check_loaded_predictions(loaded, probes, N_PROBES, N_LABELS, probs, "parent");
        CHECK(same_classifiers(m, loaded));
        hftc_model_free(loaded);
    }
    check_trains_same(o, 1, m, "softmax parent"); /* the same seed, the same model */
    hftc_model_free(m);
}

/* Frozen word vectors (--freeze-embeddings, as the hdltex preset has them): every part reads one shared table, not a
 * copy of its own; the table holds the vectors, is saved once in the model file and loads back. */
static void test_frozen_vectors_shared(void)
{
    static const char vectors[] = "2 8\ngoal 1 0 0 0 0 0 0 0\nqubit 0 1 0 0 0 0 0 0\n";
    hftc_train_options o;
    parent_options(&o, "softmax", "finetune");
    o.embeddings_path = tmpfiles_write_text("parent.vec", vectors);
    o.dim = 8, o.freeze_embeddings = 1, o.epochs = 2;
    hftc_model *m = train_parent(&o);
    if (!m)
        return;
    CHECK(m->node_embedding == NODE_EMBEDDING_SHARED && m->shared_embedding);
    for (size_t p = 0; p < m->n_parts; p++)
        CHECK_MSG(model_part_embedding(m, p) == m->shared_embedding &&
                      !params_find(network_params(m->parts[p].net), "embedding.weight"),
                  "%s has an embedding of its own", m->parts[p].name);
    static const char *const words[] = {"goal", "qubit"};
    for (size_t w = 0; w < 2; w++) {
        const float *row = m->shared_embedding + (size_t)vocab_lookup(&m->vocab, words[w], strlen(words[w])) * 8;
        bool same = true;
        for (size_t k = 0; k < 8; k++)
            same = same && row[k] == (k == w ? 1.0f : 0.0f);
        CHECK_MSG(same, "\"%s\" is not its vector in the shared table", words[w]);
    }
    float probs[N_PROBES * N_LABELS];
    hftc_model *loaded =
        test_save_and_reload(m, path_model, probes, N_PROBES, N_LABELS, probs, "parent, shared vectors");
    if (loaded) {
        check_layout(loaded);
        CHECK(loaded->shared_embedding && model_part_embedding(loaded, 0) == loaded->shared_embedding);
        CHECK(same_classifiers(m, loaded));
        hftc_model_free(loaded);
    }
    check_trains_same(o, 2, m, "parent, shared vectors");
    hftc_model_free(m);
}

/* Transfer changes a node's part and nothing above it: the top level's part trains the same with and without
 * it (it starts fresh either way), a child's part does not (it starts from the top level's, trained). */
static void test_transfer_changes_start(void)
{
    hftc_train_options o;
    parent_options(&o, "softmax", "none");
    o.epochs = 2;
    hftc_model *fresh = NULL, *tuned = NULL;
    CHECK_STATUS(hftc_train(&o, &fresh), HFTC_STATUS_OK);
    snprintf(o.transfer, sizeof o.transfer, "finetune");
    CHECK_STATUS(hftc_train(&o, &tuned), HFTC_STATUS_OK);
    if (fresh && tuned) {
        json_t *record = json_loads(fresh->training_json, 0, NULL);
        CHECK(!json_object_get(part_record(record, "parent sport"), "starts_from"));
        json_decref(record);
        /* the top level's part trains the same either way; its children's do not */
        const param_set *a = network_params(fresh->parts[0].net), *b = network_params(tuned->parts[0].net);
        CHECK(a->values.used == b->values.used && !memcmp(a->values.base, b->values.base, a->values.used));
        size_t sport = part_named(fresh, "parent sport");
        a = network_params(fresh->parts[sport].net), b = network_params(tuned->parts[sport].net);
        CHECK(a->values.used == b->values.used && memcmp(a->values.base, b->values.base, a->values.used));
    }
    hftc_model_free(fresh);
    hftc_model_free(tuned);
}

/* The sigmoid head: each part's outputs binary over its node's documents (a node's documents without a child
 * are its negatives), physics's one output trained too; bsf thresholds the least probability on the path (here
 * each given its parent); a checkpoint continues to the same model. */
static void test_sigmoid_bsf(void)
{
    hftc_train_options o;
    parent_options(&o, "sigmoid", "finetune");
    snprintf(o.scoring, sizeof o.scoring, "bsf");
    o.threshold = 0.5f;
    hftc_model *m = train_parent(&o);
    if (!m)
        return;
    json_t *record = json_loads(m->training_json, 0, NULL);
    json_t *physics = part_record(record, "parent physics");
    CHECK((size_t)json_integer_value(json_object_get(physics, "train_docs")) == train_docs_of("physics"));
    CHECK(!json_object_get(physics, "not_trained"));
    json_decref(record);
    double f1 = test_micro_f1(m, NULL);
    CHECK_MSG(f1 > 0.95, "bsf test micro-F1 %.4f", f1);
    f1 = test_micro_f1(m, "top-down");
    CHECK_MSG(f1 > 0.9, "top-down test micro-F1 %.4f", f1);
    test_check_checkpoint(&o, m, tmpfiles_path("parent.ckpt"), probes, N_PROBES, "parent sigmoid");
    hftc_model_free(m);
}

/* The linear family: one-vs-rest classifiers among each node's children, each on its node's documents, from its
 * parent's classifier with finetune; 1 and 2 threads train the same model. */
static void test_linear(void)
{
    hftc_train_options o;
    hftc_train_options_init(&o, "linear");
    o.train_path = path_train, o.valid_path = path_valid, o.taxonomy_path = path_taxonomy, o.threads = 1;
    snprintf(o.strategy, sizeof o.strategy, "parent");
    snprintf(o.scoring, sizeof o.scoring, "top-down");
    snprintf(o.transfer, sizeof o.transfer, "finetune");
    o.tune_scoring = 0;
    hftc_model *m = train_parent(&o);
    if (!m)
        return;
    double f1 = test_micro_f1(m, NULL);
    CHECK_MSG(f1 > 0.9, "linear parent: top-down test micro-F1 %.4f", f1);
    /* football's classifier read sport's documents only: no weight on a word of science's alone */
    size_t sport = part_named(m, "parent sport");
    const linear_classifier *lc = sport != MODEL_NO_PART ? m->parts[sport].linear : NULL;
    uint32_t qubit = vocab_lookup(&m->vocab, "qubit", 5), cell = vocab_lookup(&m->vocab, "cell", 4);
    CHECK(lc && qubit != VOCAB_UNK && cell != VOCAB_UNK);
    for (uint32_t w = 0; lc && w < 2; w++) {
        uint32_t f = w ? cell : qubit;
        CHECK_MSG(lc->row_start[f] == lc->row_start[f + 1], "parent sport: weights on a science word");
    }
    CHECK_STATUS(hftc_model_save(m, path_model), HFTC_STATUS_OK);
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, path_model), HFTC_STATUS_OK);
    CHECK_MSG(loaded && same_classifiers(m, loaded), "the linear parent model changes through its file");
    if (loaded)
        check_layout(loaded);
    hftc_model_free(loaded);
    check_trains_same(o, 2, m, "linear parent");
    hftc_model_free(m);
}

/* In a DAG a category is an output of its first parent's part only (Root: A, B; A: X; B: X, Y; X: Z), and a part
 * comes after its node's part: Z's part (X's) is below A's, X's first parent's, whose level it extends. */
static void test_dag_layout(void)
{
    hftc_model *m = NULL;
    CHECK_STATUS(model_create(&m), HFTC_STATUS_OK);
    if (!m)
        return;
    static const char *const edges[][2] = {{NULL, "A"}, {NULL, "B"}, {"A", "X"}, {"B", "X"}, {"B", "Y"}, {"X", "Z"}};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        CHECK_STATUS(taxonomy_add_edge(&m->tax, edges[i][0], edges[i][1]), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_finalize(&m->tax), HFTC_STATUS_OK);
    m->strategy = STRATEGY_PARENT, m->family = FAMILY_LINEAR; /* the layout alone: no networks */
    m->net_config.n_classes = m->tax.n_nodes;
    CHECK_STATUS(model_build_parts(m, NULL), HFTC_STATUS_OK);
    CHECK_MSG(m->n_parts == 4, "%zu parts", m->n_parts);
    size_t a = part_named(m, "parent A"), b = part_named(m, "parent B"), x = part_named(m, "parent X");
    CHECK(outputs_are(m, 0, "A B") && outputs_are(m, a, "X") && outputs_are(m, b, "Y") && outputs_are(m, x, "Z"));
    CHECK(a != MODEL_NO_PART && x != MODEL_NO_PART && m->parts[x].parent_part == a && x > a);
    CHECK(x != MODEL_NO_PART && m->parts[x].level == 3 && m->parts[b].level == 2);
    hftc_model_free(m);
}

/* The preset, and the combinations refused with their reason. */
static void test_options(void)
{
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, "hdltex"), HFTC_STATUS_OK);
    CHECK(!strcmp(o.strategy, "parent") && !strcmp(o.head, "softmax") && !strcmp(o.scoring, "top-down") &&
          !strcmp(o.transfer, "none") && !strcmp(o.encoder, "bilstm") && !strcmp(o.early_stop, "accuracy") &&
          o.freeze_embeddings && o.rnn_hidden == 500 && o.epochs == 30 && o.batch == 64 && !o.tune_scoring);
    o.train_path = path_train;
    CHECK_MSG(!hftc_train_options_check(&o), "hdltex: %s", hftc_train_options_check(&o));
    static const char *const refused[][3] = {
        {"scoring", "independent", "parent strategy"}, {"scoring", "argmax", "parent strategy"},
        {"scoring", "leaf", "parent strategy"},        {"tune-scoring", "1", "parent strategy"},
        {"joint-embedding", "1", "--joint-embedding"}, {"class-weights", "1,2", "node strategy"},
        {"level-docs", "reach", "--level-docs reach"}, {"strategy", "parents", "flat, level, node or parent"}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        CHECK_STATUS(hftc_train_options_init(&o, "hdltex"), HFTC_STATUS_OK);
        o.train_path = path_train;
        CHECK_STATUS(hftc_train_options_set(&o, refused[i][0], refused[i][1]), HFTC_STATUS_OK);
        const char *problem = hftc_train_options_check(&o);
        CHECK_MSG(problem && strstr(problem, refused[i][2]), "%s=%s: %s", refused[i][0], refused[i][1],
                  problem ? problem : "accepted");
    }
}

/* A parent model is not extended, nor (neural) trained on: each with its reason. */
static void test_lifecycle_refused(void)
{
    hftc_train_options o;
    parent_options(&o, "softmax", "none");
    o.epochs = 1;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_model_save(m, path_model), HFTC_STATUS_OK);
    hftc_model_free(m);
    hftc_extend_options e;
    hftc_extend_options_init(&e);
    e.model_path = path_model, e.taxonomy_path = path_taxonomy, e.train_path = path_train;
    hftc_model *out = NULL;
    CHECK_STATUS(hftc_extend(&e, &out), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_MSG(strstr(hftc_last_error(), "parent model"), "%s", hftc_last_error());
    hftc_learn_options l;
    hftc_learn_options_init(&l);
    l.model_path = path_model, l.train_path = path_train;
    CHECK_STATUS(hftc_learn(&l, &out), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_MSG(strstr(hftc_last_error(), "parent model"), "%s", hftc_last_error());
}

int main(void)
{
    tmpfiles_init("parent");
    hierarchy_files files = hierarchy_write_files();
    path_taxonomy = files.taxonomy, path_train = files.train, path_valid = files.valid, path_test = files.test;
    path_model = files.model;
    RUN_TEST(test_softmax_finetune);
    RUN_TEST(test_frozen_vectors_shared);
    RUN_TEST(test_transfer_changes_start);
    RUN_TEST(test_sigmoid_bsf);
    RUN_TEST(test_linear);
    RUN_TEST(test_dag_layout);
    RUN_TEST(test_options);
    RUN_TEST(test_lifecycle_refused);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
