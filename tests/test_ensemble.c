/* Ensembles through the library (hftc_ensemble): members of three strategies and both families (networks of
 * three encoders, a linear model), one with its labels in another order, combined by the weighted mean of their
 * probabilities, aligned by label name; the ensemble saved and loaded predicts the same bits; its record holds what
 * hftc_evaluate gives on the validation data; members that disagree on the taxonomy or the tokeniser, validation data a
 * member trained on and damaged ensemble files are refused with messages that say why. The hftc ensemble command's
 * contract is checked in test_cli.c. */
#include "hftc.h"
#include "model/ensemble.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "test.h"
#include "tmpfiles.h"
#include "topics.h"

#include <jansson.h>

#define TAXONOMY "Root\ttopic\ntopic\tsport\tscience\n"

static const char *const texts[] = {
    "the team won the match", "a new theory of the cell",  "goal and gene and score",       "",
    "unseen words only here", "the coach said the league", "energy of the atom in the lab", "big match today",
    "gene theory and a goal", "said the new lab"};
#define N_TEXTS 10

/* Trains a small model of preset with extra settings ("name=value ..."), saves it as name; its path. */
static const char *train_member(const char *preset, const char *settings, const char *name)
{
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, preset), HFTC_STATUS_OK);
    o.train_path = path_train, o.valid_path = path_valid, o.seed = 7, o.threads = 1;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", settings);
    for (char *save = NULL, *kv = strtok_r(copy, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        CHECK_STATUS(hftc_train_options_set(&o, kv, eq + 1), HFTC_STATUS_OK);
    }
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    const char *path = tmpfiles_path(name);
    if (m)
        CHECK_STATUS(hftc_model_save(m, path), HFTC_STATUS_OK);
    hftc_model_free(m);
    return path;
}

static hftc_model *load_one_thread(const char *path)
{
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_model_load(&m, path), HFTC_STATUS_OK);
    if (m)
        hftc_model_set_threads(m, 1);
    return m;
}

#define N_MEMBERS 4
static const char *members[N_MEMBERS];

/* The members: flat CNN with per-label thresholds; ngram per level, its taxonomy's labels in another order;
 * bi-GRU node classifiers under BSF; TF-IDF + logistic regression (its own max_len). */
static void train_members(void)
{
    tmpfiles_write_text("taxonomy.tsv", TAXONOMY);
    tmpfiles_write_text("taxonomy-reordered.tsv", "Root\ttopic\ntopic\tscience\tsport\n");
    char settings[512];
    snprintf(settings, sizeof settings,
             "taxonomy=%s dim=16 filters=8 hidden=32 max-len=20 batch=16 epochs=3 tune-threshold=1 "
             "tune-label-thresholds=1",
             tmpfiles_path("taxonomy.tsv"));
    members[0] = train_member("flat-cnn", settings, "cnn.hftc");
    snprintf(settings, sizeof settings, "taxonomy=%s strategy=level dim=16 buckets=5000 batch=16 epochs=3 max-len=30",
             tmpfiles_path("taxonomy-reordered.tsv"));
    members[1] = train_member("ngram", settings, "ngram.hftc");
    snprintf(settings, sizeof settings,
             "taxonomy=%s dim=8 rnn-hidden=4 max-len=10 epochs=2 class-weights=1 scoring=bsf",
             tmpfiles_path("taxonomy.tsv"));
    members[2] = train_member("gru-att", settings, "node.hftc");
    snprintf(settings, sizeof settings, "taxonomy=%s min-df=1", tmpfiles_path("taxonomy.tsv"));
    members[3] = train_member("linear", settings, "linear.hftc");
}

static hftc_status make_ensemble(const char *const *models, size_t n, const char *valid, hftc_model **out)
{
    hftc_ensemble_options o;
    hftc_ensemble_options_init(&o);
    o.models = models, o.n_models = n, o.valid_path = valid, o.threads = 1;
    return hftc_ensemble(&o, out);
}

/* The ensemble's probabilities are the weighted mean of the members', each at its label of the same name,
 * summed member by member in order. */
static void check_weighted_mean(hftc_model *e)
{
    size_t C = hftc_model_num_labels(e);
    const float *w = ensemble_weights(e->ensemble);
    float got[N_TEXTS * 3], want[N_TEXTS * 3] = {0}, own[N_TEXTS * 3];
    CHECK(C == 3 && fabsf(w[0] + w[1] + w[2] + w[3] - 1.0f) < 1e-5f);
    CHECK_STATUS(hftc_predict_texts(e, texts, N_TEXTS, got), HFTC_STATUS_OK);
    bool first = true;
    for (size_t k = 0; k < N_MEMBERS; k++) {
        hftc_model *m = load_one_thread(members[k]);
        if (!m || w[k] == 0.0f) {
            hftc_model_free(m);
            continue;
        }
        CHECK_STATUS(hftc_predict_texts(m, texts, N_TEXTS, own), HFTC_STATUS_OK);
        for (size_t c = 0; c < C; c++) {
            size_t j = 0;
            while (j < C && strcmp(hftc_model_label(m, j), hftc_model_label(e, c)))
                j++;
            CHECK(j < C);
            for (size_t i = 0; i < N_TEXTS && j < C; i++)
                want[i * C + c] = first ? w[k] * own[i * C + j] : want[i * C + c] + w[k] * own[i * C + j];
        }
        first = false;
        hftc_model_free(m);
    }
    CHECK_MSG(!memcmp(got, want, sizeof got), "ensemble against the weighted mean: %g", test_max_diff(got, want, 30));
}

/* The record: every member's figures and the ensemble's, the chosen weights; the ensemble's validation figures
 * are those hftc_evaluate gives for it on the validation data. */
static void check_record(hftc_model *e)
{
    char *text = hftc_model_describe(e);
    json_t *d = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    json_t *choice = json_object_get(json_object_get(d, "training"), "ensemble");
    json_t *list = json_object_get(d, "members");
    CHECK(!strcmp(json_string_value(json_object_get(d, "preset")), "ensemble") && json_array_size(list) == N_MEMBERS);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(d, "config"), "strategy")), "ensemble"));
    CHECK(json_array_size(json_object_get(choice, "members")) == N_MEMBERS && json_object_get(choice, "weights"));
    CHECK(json_integer_value(json_object_get(choice, "mixes_tried")) == 287); /* tenths of 4 members, equal first */
    for (size_t k = 0; k < N_MEMBERS; k++) {
        json_t *member = json_array_get(list, k), *figures = json_array_get(json_object_get(choice, "members"), k);
        CHECK(!strcmp(json_string_value(json_object_get(member, "name")), members[k]));
        CHECK(json_real_value(json_object_get(member, "weight")) ==
              json_real_value(json_array_get(json_object_get(choice, "weights"), k)));
        CHECK(json_real_value(json_object_get(figures, "valid_micro_f1")) > 0.5);
        /* the ensemble's validation micro-F1 is at least each member's alone under its rule: a mix of one */
        CHECK(json_real_value(json_object_get(choice, "valid_micro_f1")) + 1e-9 >=
              json_real_value(json_object_get(figures, "ensemble_rule_micro_f1")));
    }
    /* a member's tensors under its prefix; per-label thresholds (member 1 has them) */
    CHECK(json_is_true(json_object_get(choice, "label_thresholds")) && json_object_get(d, "label_thresholds"));
    bool prefixed = false;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(d, "tensors"), i, t) prefixed |=
        !strncmp(json_string_value(json_object_get(t, "name")), "member2.node", 12);
    CHECK(prefixed);
    hftc_input_options in = {.path = path_valid, .format = "auto", .threshold = -1.0f};
    hftc_evaluation ev;
    CHECK_STATUS(hftc_evaluate(e, &in, &ev), HFTC_STATUS_OK);
    CHECK_MSG(fabs(ev.micro_f1 - json_real_value(json_object_get(choice, "valid_micro_f1"))) < 1e-6 &&
                  fabs(ev.macro_f1 - json_real_value(json_object_get(choice, "valid_macro_f1"))) < 1e-6,
              "validation micro-F1 %g, recorded %g", ev.micro_f1,
              json_real_value(json_object_get(choice, "valid_micro_f1")));
    json_decref(d);
}

static void test_ensemble_round_trip(void)
{
    hftc_model *e = NULL;
    CHECK_STATUS(make_ensemble(members, N_MEMBERS, path_valid, &e), HFTC_STATUS_OK);
    if (!e)
        return;
    check_weighted_mean(e);
    check_record(e);
    float before[N_TEXTS * 3], after[N_TEXTS * 3];
    CHECK_STATUS(hftc_predict_texts(e, texts, N_TEXTS, before), HFTC_STATUS_OK);
    hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f};
    hftc_evaluation ev_before, ev_after;
    CHECK_STATUS(hftc_evaluate(e, &in, &ev_before), HFTC_STATUS_OK);
    const char *path = tmpfiles_path("ensemble.hftc");
    CHECK_STATUS(hftc_model_save(e, path), HFTC_STATUS_OK);
    char *described = hftc_model_describe(e);
    hftc_model_free(e);
    hftc_model *loaded = load_one_thread(path);
    if (!loaded) {
        free(described);
        return;
    }
    CHECK_STATUS(hftc_predict_texts(loaded, texts, N_TEXTS, after), HFTC_STATUS_OK);
    CHECK_MSG(!memcmp(before, after, sizeof before), "after save + load: %g", test_max_diff(before, after, 30));
    CHECK_STATUS(hftc_evaluate(loaded, &in, &ev_after), HFTC_STATUS_OK);
    CHECK(ev_before.micro_f1 == ev_after.micro_f1 && ev_before.macro_f1 == ev_after.macro_f1 &&
          ev_after.label_thresholds && ev_after.micro_f1 > 0.8);
    char *again = hftc_model_describe(loaded);
    CHECK(described && again && !strcmp(described, again));
    free(described), free(again);
    CHECK(!strcmp(hftc_model_scoring(loaded), "independent")); /* the first member's */
    hftc_model_free(loaded);
}

/* Each refusal's status and a phrase of its message. */
static void check_refused(const char *const *models, size_t n, const char *valid, const char *phrase)
{
    hftc_model *e = NULL;
    CHECK_STATUS(make_ensemble(models, n, valid, &e), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_MSG(e == NULL && strstr(hftc_last_error(), phrase), "expected \"%s\" in: %s", phrase, hftc_last_error());
    hftc_model_free(e);
}

static void test_refusals(void)
{
    const char *tiny = "dim=8 filters=4 hidden=8 max-len=10 epochs=1";
    char settings[512];
    /* no taxonomy: the labels sport and science, both at the top */
    const char *flat = train_member("flat-cnn", tiny, "flat.hftc");
    check_refused((const char *[]){members[0], flat}, 2, path_valid,
                  "the members disagree on the taxonomy: label \"topic\" of member 1");
    /* the same labels, sport moved to the top */
    snprintf(settings, sizeof settings, "%s taxonomy=%s", tiny,
             tmpfiles_write_text("moved.tsv", "Root\ttopic\tsport\ntopic\tscience\n"));
    const char *moved = train_member("flat-cnn", settings, "moved.hftc");
    char expected[1024];
    snprintf(expected, sizeof expected,
             "label \"sport\" is under topic in member 1 (%s), under the root in member 2 (%s)", members[0], moved);
    check_refused((const char *[]){members[0], moved}, 2, path_valid, expected);
    snprintf(settings, sizeof settings, "%s taxonomy=%s lowercase=0", tiny, tmpfiles_path("taxonomy.tsv"));
    const char *cased = train_member("flat-cnn", settings, "cased.hftc");
    check_refused((const char *[]){members[0], cased}, 2, path_valid, "another --lowercase than member 1");
    check_refused(members, 2, path_train, "is the training data of member 1");
    check_refused(members, 1, path_valid, "2 to 16 models");
}

/* A copy of the ensemble file at from whose "ensemble" entry has what replaced by with; its path. */
static const char *edited_copy(const char *from, const char *name, const char *what, const char *with)
{
    st_file *f = NULL;
    CHECK_STATUS(safetensors_open(&f, from), HFTC_STATUS_OK);
    if (!f)
        return NULL;
    size_t n = safetensors_count(f), n_meta = safetensors_metadata_count(f);
    st_tensor *tensors = calloc(n + 1, sizeof *tensors);
    st_metadata *meta = calloc(n_meta + 1, sizeof *meta);
    char edited[4096] = "";
    for (size_t i = 0; i < n; i++) {
        tensors[i] = *safetensors_tensor(f, i);
        size_t count = 1;
        for (size_t d = 0; d < tensors[i].ndim; d++)
            count *= tensors[i].shape[d];
        float *values = malloc((count + 1) * sizeof *values);
        CHECK_STATUS(safetensors_read(f, safetensors_tensor(f, i), values), HFTC_STATUS_OK);
        tensors[i].data = values;
    }
    for (size_t i = 0; i < n_meta; i++) {
        meta[i] = *safetensors_metadata_at(f, i);
        if (!strcmp(meta[i].key, ENSEMBLE_METADATA_KEY)) {
            const char *at = strstr(meta[i].value, what);
            CHECK(at != NULL);
            if (at)
                snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - meta[i].value), meta[i].value, with,
                         at + strlen(what));
            meta[i].value = edited;
        }
    }
    const char *path = tmpfiles_path(name);
    CHECK_STATUS(safetensors_write(path, tensors, n, meta, n_meta), HFTC_STATUS_OK);
    for (size_t i = 0; i < n; i++)
        free((void *)tensors[i].data);
    free(tensors), free(meta);
    safetensors_close(f);
    return path;
}

static void test_damaged_files(void)
{
    const char *path = tmpfiles_path("ensemble.hftc");
    static const struct {
        const char *what, *with, *phrase;
    } cases[] = {
        {"\"prefix\":\"member1.\"", "\"prefix\":\"member7.\"", "member 2: not an hftc model"},
        {"\"weight\":", "\"weight\":0.4+", "metadata \"ensemble\" has no list"}, /* not JSON */
        {"\"weight\":", "\"weight\":0.99,\"was\":", "weights summing to"},
        {"\"scoring\":", "\"scoring\":\"x\",\"was\":", "no known \"scoring\""},
        {"\"threshold\":", "\"threshold\":1.5,\"was\":", "no \"threshold\" in [0, 1]"},
    };
    /* a member's data checked against the file's checksums, through the view it is read by */
    FILE *f = fopen(path, "rb");
    static unsigned char bytes[1 << 22];
    size_t len = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    CHECK(f && len > 0 && len < sizeof bytes);
    if (f)
        fclose(f);
    bytes[len - 1] ^= 0x10; /* the last tensor's last value: the last member's */
    hftc_model *flipped = NULL;
    CHECK_STATUS(hftc_model_load(&flipped, tmpfiles_write("flipped.hftc", bytes, len)), HFTC_STATUS_MODEL);
    CHECK_MSG(strstr(hftc_last_error(), "flipped.hftc, under \"member3.\": tensor 'linear.") &&
                  strstr(hftc_last_error(), "does not match its checksum"),
              "%s", hftc_last_error());
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *copy = edited_copy(path, "damaged.hftc", cases[i].what, cases[i].with);
        hftc_model *m = NULL;
        CHECK_STATUS(copy ? hftc_model_load(&m, copy) : HFTC_STATUS_MODEL, HFTC_STATUS_MODEL);
        CHECK_MSG(strstr(hftc_last_error(), cases[i].phrase), "case %zu: %s", i, hftc_last_error());
        hftc_model_free(m);
    }
}

int main(void)
{
    tmpfiles_init("ensemble");
    topics_write_splits();
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    train_members();
    RUN_TEST(test_ensemble_round_trip);
    RUN_TEST(test_refusals);
    RUN_TEST(test_damaged_files);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
