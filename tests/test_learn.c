/* hftc_learn on generated data with a three-level taxonomy: node (HTrans), level (HFT-CNN) and linear models trained
 * on half the documents train on from their weights on the other half. Their weights change, the record's history
 * says what they learnt from, the result is deterministic, a label the model lacks is an error naming it (unless a
 * taxonomy brings it), a network keeps the class weights it was trained with, and a replay of the model's training data
 * is refused once that file changed. */
#include "hftc.h"
#include "model/model.h"
#include "test.h"
#include "hierarchy.h"
#include "tmpfiles.h"

#include <jansson.h>
#include <stdint.h>

static hierarchy_files files;
static const char *first_half, *second_half;

static void small_options(hftc_train_options *o, const char *preset)
{
    hierarchy_options(o, preset, first_half, files.valid, files.taxonomy);
    o->filters = 6;
    if (!strcmp(preset, "htrans"))
        o->n_class_weights = 2, o->class_weights[0] = 1.0f, o->class_weights[1] = 3.0f;
    if (!strcmp(preset, "ngram"))
        o->buckets = 1000, o->lr = 0.5f;
}

// Trains preset on the first half into path.
static bool train_first_half(const char *preset, const char *path)
{
    hftc_train_options o;
    small_options(&o, preset);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    bool ok = m && hftc_model_save(m, path) == HFTC_STATUS_OK;
    hftc_model_free(m);
    return ok;
}

static hftc_model *learn(const char *model, const char *train, const char *taxonomy_path, float replay,
                         hftc_status expected, const char *needle)
{
    hftc_learn_options o;
    hftc_learn_options_init(&o);
    o.model_path = model, o.train_path = train, o.valid_path = files.valid, o.taxonomy_path = taxonomy_path;
    o.replay = replay, o.epochs = 2, o.threads = 1;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_learn(&o, &m), expected);
    if (needle)
        CHECK_MSG(strstr(hftc_last_error(), needle), "expected \"%s\" in: %s", needle, hftc_last_error());
    return m;
}

// The values of every part of a and b (neural: the networks; linear: the weights and biases) are the same.
static bool same_weights(const hftc_model *a, const hftc_model *b)
{
    if (a->n_parts != b->n_parts)
        return false;
    for (size_t p = 0; p < a->n_parts; p++) {
        if (a->family == FAMILY_LINEAR) {
            const linear_classifier *x = a->parts[p].linear, *y = b->parts[p].linear;
            if (linear_nnz(x) != linear_nnz(y) || memcmp(x->weight, y->weight, linear_nnz(x) * sizeof(float)) ||
                memcmp(x->bias, y->bias, x->n_outputs * sizeof(float)))
                return false;
            continue;
        }
        const param_set *x = network_params(a->parts[p].net), *y = network_params(b->parts[p].net);
        if (x->values.used != y->values.used || memcmp(x->values.base, y->values.base, x->values.used))
            return false;
    }
    return true;
}

// The last history entry of m's record: its kind is learn, and it names the training file.
static json_t *last_entry(const hftc_model *m, json_t **record)
{
    *record = json_loads(m->training_json, 0, NULL);
    json_t *history = json_object_get(*record, "history");
    return json_array_get(history, json_array_size(history) - 1);
}

static void test_learn_preset(const char *preset)
{
    const char *path = tmpfiles_path("half.hftc");
    if (!train_first_half(preset, path))
        return;
    hftc_model *before = NULL, *after = learn(path, second_half, NULL, 0.0f, HFTC_STATUS_OK, NULL);
    CHECK_STATUS(hftc_model_load(&before, path), HFTC_STATUS_OK);
    if (before && after) {
        CHECK_MSG(!same_weights(before, after), "%s: learn changed no weight", preset);
        json_t *record, *entry = last_entry(after, &record);
        const char *kind = json_string_value(json_object_get(entry, "kind"));
        const char *train = json_string_value(json_object_get(json_object_get(entry, "train"), "path"));
        CHECK_MSG(kind && !strcmp(kind, "learn") && train && !strcmp(train, second_half) &&
                      json_string_value(json_object_get(json_object_get(entry, "train"), "fingerprint")),
                  "%s: history entry %s", preset, kind ? kind : "(none)");
        json_decref(record);
    }
    hftc_model *again = learn(path, second_half, NULL, 0.0f, HFTC_STATUS_OK, NULL);
    CHECK_MSG(again && after && same_weights(after, again), "%s: two continued trainings differ", preset);
    // replay: a quarter of the first half, named in the record
    hftc_model *replayed = learn(path, second_half, NULL, 0.25f, HFTC_STATUS_OK, NULL);
    if (replayed) {
        json_t *record, *entry = last_entry(replayed, &record);
        json_int_t docs = json_integer_value(json_object_get(json_object_get(entry, "replay"), "docs"));
        CHECK_MSG(docs == 38, "%s: %lld documents replayed", preset, (long long)docs); /* 0.25 x 150 */
        json_decref(record);
    }
    hftc_model_free(before), hftc_model_free(after), hftc_model_free(again), hftc_model_free(replayed);
}

static void test_learn_node(void) { test_learn_preset("htrans"); }
static void test_learn_level(void) { test_learn_preset("hft-cnn"); }
static void test_learn_linear(void) { test_learn_preset("linear"); }

/* A network trained with --class-weights-from trains on with those weights (the record names the file); once that
 * file is gone, with weight 1 for every label (a warning), which trains to other weights. */
static void test_learn_class_weights(void)
{
    const char *node = tmpfiles_path("cw-node.hftc"), *level = tmpfiles_path("cw-level.hftc");
    if (!train_first_half("htrans", node))
        return;
    hftc_train_options o;
    small_options(&o, "hft-cnn");
    o.class_weights_from = node;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    CHECK(m && hftc_model_save(m, level) == HFTC_STATUS_OK);
    hftc_model_free(m);
    hftc_model *weighted = learn(level, second_half, NULL, 0.0f, HFTC_STATUS_OK, NULL);
    CHECK(rename(node, tmpfiles_path("cw-node-moved.hftc")) == 0);
    hftc_model *plain = learn(level, second_half, NULL, 0.0f, HFTC_STATUS_OK, NULL);
    if (weighted && plain) {
        json_t *record, *entry = last_entry(weighted, &record);
        const char *from = json_string_value(json_object_get(entry, "class_weights_from"));
        CHECK_MSG(from && !strcmp(from, node), "class_weights_from %s", from ? from : "(none)");
        json_decref(record);
        entry = last_entry(plain, &record);
        CHECK(json_is_null(json_object_get(entry, "class_weights_from")));
        json_decref(record);
        CHECK_MSG(!same_weights(weighted, plain), "the class weights changed nothing");
    }
    hftc_model_free(weighted), hftc_model_free(plain);
}

/* SGD (fastText's, the ngram preset) from trained weights: an epoch's loss above the first batch's, which the
 * trained weights make low, is no divergence (it was: ten restarts at halved rates, learning nothing). */
static void test_learn_sgd(void)
{
    test_learn_preset("ngram");
    // the documents it learnt from: its first batch's loss is lowest there
    hftc_model *m = learn(tmpfiles_path("half.hftc"), first_half, NULL, 0.0f, HFTC_STATUS_OK, NULL);
    if (m) {
        json_t *record, *entry = last_entry(m, &record);
        const json_t *restarts = json_object_get(json_array_get(json_object_get(entry, "parts"), 0), "restarts");
        CHECK_MSG(json_is_array(restarts) && json_array_size(restarts) == 0, "%zu restarts", json_array_size(restarts));
        json_decref(record);
    }
    hftc_model_free(m);
}

/* A label the model lacks: an error naming it, unless --taxonomy brings it; a replay of a changed training file is
 * refused; error paths never crash. */
static void test_learn_errors(void)
{
    const char *path = tmpfiles_path("half.hftc");
    if (!train_first_half("hft-cnn", path))
        return;
    const char *chess = tmpfiles_write_text("chess.tsv", "sport,chess\tcheckmate rook pawn\n"
                                                         "sport,chess\tbishop rook knight\n"
                                                         "sport,football\tgoal pitch striker\n");
    learn(path, chess, NULL, 0.0f, HFTC_STATUS_FORMAT, "label \"chess\" is not in the model (--taxonomy");
    static const char with_chess[] = "Root\tsport\tscience\n"
                                     "sport\tfootball\ttennis\tchess\n"
                                     "science\tphysics\tbiology\n"
                                     "physics\tquantum\n";
    const char *chess_taxonomy = tmpfiles_write("chess-taxonomy.tsv", with_chess, strlen(with_chess));
    // the chess documents are too few to validate on: the second half joins them
    const char *more = tmpfiles_path("chess-more.tsv");
    FILE *f = fopen(more, "w"), *in = fopen(second_half, "r");
    char line[4096];
    while (f && in && fgets(line, sizeof line, in))
        fputs(line, f);
    for (int i = 0; f && i < 20; i++)
        fputs("sport,chess\tcheckmate rook pawn bishop\n", f);
    if (in)
        fclose(in);
    if (f)
        fclose(f);
    hftc_model *m = learn(path, more, chess_taxonomy, 0.0f, HFTC_STATUS_OK, NULL);
    CHECK(m && hftc_model_num_labels(m) == 8);
    if (m) {
        json_t *record = json_loads(m->training_json, 0, NULL), *history = json_object_get(record, "history");
        CHECK(json_array_size(history) == 2); /* extended, then learnt */
        json_decref(record);
    }
    hftc_model_free(m);
    learn(tmpfiles_path("none.hftc"), second_half, NULL, 0.0f, HFTC_STATUS_IO, NULL);
    learn(path, tmpfiles_path("none.tsv"), NULL, 0.0f, HFTC_STATUS_IO, NULL);
    learn(path, second_half, NULL, 1.5f, HFTC_STATUS_INVALID_ARGUMENT, "--replay");
    // the model's training file changed: its replay is refused
    f = fopen(first_half, "a");
    if (f) {
        fputs("sport,football\tgoal\n", f);
        fclose(f);
    }
    learn(path, second_half, NULL, 0.5f, HFTC_STATUS_INVALID_ARGUMENT, "changed since the model was trained");
}

// Splits the training file in two halves.
static void write_halves(void)
{
    first_half = tmpfiles_path("first.tsv"), second_half = tmpfiles_path("second.tsv");
    FILE *in = fopen(files.train, "r"), *a = fopen(first_half, "w"), *b = fopen(second_half, "w");
    char line[4096];
    for (size_t i = 0; in && a && b && fgets(line, sizeof line, in); i++)
        fputs(line, i % 2 ? b : a);
    if (in)
        fclose(in);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
}

int main(void)
{
    tmpfiles_init("learn");
    files = hierarchy_write_files();
    write_halves();
    RUN_TEST(test_learn_node);
    RUN_TEST(test_learn_level);
    RUN_TEST(test_learn_linear);
    RUN_TEST(test_learn_sgd);
    RUN_TEST(test_learn_class_weights);
    RUN_TEST(test_learn_errors);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
