/* --preset auto end to end on generated data of a three-level taxonomy: every member trains (the networks
 * shrunk by --auto-settings), the ensembles are tried, the model kept is the best on validation of the
 * members alone and the ensembles, its record says so, it saves and loads like any model; a time limit
 * too short for any member stops with INCOMPLETE; a missing validation file and an unknown member are
 * refused with messages. */
#include "hftc.h"
#include "hierarchy.h"
#include "model/model.h"
#include "test.h"
#include "tmpfiles.h"

#include <jansson.h>

static const char *path_train, *path_valid, *path_test, *path_taxonomy, *path_model;

static void auto_options(hftc_train_options *o)
{
    CHECK_STATUS(hftc_train_options_init(o, "auto"), HFTC_STATUS_OK);
    o->train_path = path_train;
    o->valid_path = path_valid;
    o->taxonomy_path = path_taxonomy;
    o->threads = 1;
    snprintf(o->auto_settings, sizeof o->auto_settings, "%s",
             "ngram:buckets=1000 dim=8 epochs=3;hft-cnn:dim=8 filters=4 hidden=16 epochs=3 batch=32");
}

static void test_auto_chooses_on_validation(void)
{
    hftc_train_options o;
    auto_options(&o);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    json_t *training = json_loads(m->training_json, 0, NULL), *a = json_object_get(training, "auto");
    CHECK(!strcmp(m->preset, "auto") && json_is_object(a));
    json_t *entries = json_object_get(a, "members"), *e;
    CHECK(json_array_size(entries) == 4);
    double kept = json_number_value(json_object_get(a, "valid_micro_f1")), best = 0.0;
    size_t i;
    json_array_foreach(entries, i, e)
    {
        CHECK_MSG(json_is_number(json_object_get(e, "valid_micro_f1")), "member %zu has no validation figure", i);
        double f1 = json_number_value(json_object_get(e, "valid_micro_f1"));
        best = f1 > best ? f1 : best;
    }
    json_array_foreach(json_object_get(a, "ensembles"), i, e)
    {
        double f1 = json_number_value(json_object_get(e, "valid_micro_f1"));
        best = f1 > best ? f1 : best;
    }
    CHECK_MSG(kept == best && kept > 0.9, "kept %.4f, best %.4f", kept, best);
    CHECK((m->ensemble != NULL) == !strcmp(json_string_value(json_object_get(a, "chosen")), "ensemble"));
    hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f};
    hftc_evaluation ev;
    CHECK_STATUS(hftc_evaluate(m, &in, &ev), HFTC_STATUS_OK);
    CHECK_MSG(ev.micro_f1 > 0.9, "test micro-F1 %.4f", ev.micro_f1);
    hftc_evaluation_free(&ev);
    static const char *const texts[] = {"goal striker pitch", "qubit spin"};
    float before[2 * 7], after[2 * 7];
    CHECK_STATUS(hftc_predict_texts(m, texts, 2, before), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_model_save(m, path_model), HFTC_STATUS_OK);
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, path_model), HFTC_STATUS_OK);
    if (loaded) {
        CHECK_STATUS(hftc_predict_texts(loaded, texts, 2, after), HFTC_STATUS_OK);
        CHECK(!memcmp(before, after, sizeof before));
        CHECK(!strcmp(loaded->preset, "auto"));
    }
    hftc_model_free(loaded);
    json_decref(training);
    hftc_model_free(m);
}

static void test_auto_refusals(void)
{
    hftc_train_options o;
    auto_options(&o);
    o.time_limit = 0.5f;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INCOMPLETE);
    CHECK(m == NULL && strstr(hftc_last_error(), "no member finished"));
    auto_options(&o);
    o.valid_path = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "--valid") != NULL);
    auto_options(&o);
    snprintf(o.auto_settings, sizeof o.auto_settings, "%s", "forest:trees=10");
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "unknown member \"forest\"") != NULL);
}

int main(void)
{
    tmpfiles_init("auto");
    hierarchy_files files = hierarchy_write_files();
    path_taxonomy = files.taxonomy, path_train = files.train, path_valid = files.valid, path_test = files.test;
    path_model = files.model;
    hftc_set_log(NULL, HFTC_LOG_WARN, NULL);
    RUN_TEST(test_auto_chooses_on_validation);
    RUN_TEST(test_auto_refusals);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
