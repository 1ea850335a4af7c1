/* The training options' table: setting and reading every option by name, strict values, the presets as
 * rows over it, and the record of the options that a checkpoint and --reuse-runs compare. The record must
 * hold every option: a training continued from a checkpoint with another --head was once taken for the same
 * training and went on from the other head's weights. */
#include "core/compute.h"
#include "hftc.h"
#include "test.h"
#include "tmpfiles.h"
#include "train/options.h"

#include <jansson.h>

/* Every option of the table reads back the value it was set to, and an option changed changes the record
 * (so the checkpoint's fingerprint), but for the incidental ones, which the record drops. */
static void test_every_option_recorded(void)
{
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, "flat-cnn"), HFTC_STATUS_OK);
    json_t *base = train_options_json(&o);
    train_options_drop(base, OPTION_INCIDENTAL);
    char *base_text = json_dumps(base, JSON_SORT_KEYS);
    size_t n = hftc_train_option_count(), changed = 0;
    CHECK(n > 40 && hftc_train_option_name(n) == NULL);
    CHECK(hftc_train_options_size() == sizeof o); /* what the Python bindings allocate */
    for (size_t i = 0; i < n; i++) {
        const char *name = hftc_train_option_name(i);
        char value[256], again[256];
        CHECK_STATUS(hftc_train_options_get(&o, name, value, sizeof value), HFTC_STATUS_OK);
        CHECK_MSG(hftc_train_option_help(name) && *hftc_train_option_help(name), "%s has no help", name);
        if (!strcmp(name, "preset")) {
            CHECK_STATUS(hftc_train_options_set(&o, name, "htrans"), HFTC_STATUS_INVALID_ARGUMENT);
            continue;
        }
        /* a value of the option's type other than its default */
        static const char *const candidates[] = {"7", "1", "0", "0.375", "2,5", "softmax", "x.txt"};
        hftc_train_options other = o;
        bool set = false;
        for (size_t c = 0; c < sizeof candidates / sizeof *candidates && !set; c++) {
            if (hftc_train_options_set(&other, name, candidates[c]) != HFTC_STATUS_OK)
                continue;
            CHECK_STATUS(hftc_train_options_get(&other, name, again, sizeof again), HFTC_STATUS_OK);
            set = strcmp(again, value) != 0;
        }
        CHECK_MSG(set, "no value changes option %s", name);
        json_t *record = train_options_json(&other);
        train_options_drop(record, OPTION_INCIDENTAL);
        char *text = json_dumps(record, JSON_SORT_KEYS);
        if (text && base_text && strcmp(text, base_text))
            changed++;
        json_decref(record);
        free(text);
    }
    size_t incidental = 0;
    json_t *all = train_options_json(&o);
    incidental = json_object_size(all) - json_object_size(base);
    CHECK_MSG(json_object_size(all) == n, "the record has %zu of %zu options", json_object_size(all), n);
    CHECK_MSG(changed + incidental + 1 == n, "%zu options change the record, %zu incidental, of %zu", changed,
              incidental, n);
    CHECK(json_object_get(base, "head") && !json_object_get(base, "threads") && !json_object_get(base, "train"));
    json_decref(all);
    json_decref(base);
    free(base_text);
}

/* Values are parsed strictly, unknown names refused with the name in the message. */
static void test_strict_values(void)
{
    hftc_train_options o;
    hftc_train_options_init(&o, NULL);
    static const char *const bad[][2] = {{"epochs", "1x"},
                                         {"epochs", "-1"},
                                         {"lr", "fast"},
                                         {"lr", "inf"},
                                         {"freeze-embeddings", "2"},
                                         {"windows", "2,,3"},
                                         {"windows", ""},
                                         {"class-weights", "1,2,"},
                                         {"threads", "99999999999"},
                                         {"encoder", "a-name-longer-than-its-field"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_STATUS(hftc_train_options_set(&o, bad[i][0], bad[i][1]), HFTC_STATUS_INVALID_ARGUMENT);
        CHECK_MSG(strstr(hftc_last_error(), bad[i][0]), "%s", hftc_last_error());
    }
    CHECK_STATUS(hftc_train_options_set(&o, "no-such-option", "1"), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "no-such-option") != NULL);
    CHECK_STATUS(hftc_train_options_set(&o, "windows", "5,1,3"), HFTC_STATUS_OK);
    CHECK(o.n_windows == 3 && o.windows[0] == 5 && o.windows[1] == 1 && o.windows[2] == 3);
    CHECK_STATUS(hftc_train_options_set(&o, "class-weights", "1,2.5"), HFTC_STATUS_OK);
    CHECK(o.n_class_weights == 2 && o.class_weights[1] == 2.5f);
    CHECK_STATUS(hftc_train_options_set(&o, "windows", "none"), HFTC_STATUS_OK);
    CHECK(o.n_windows == 0);
    const char *path = "train.tsv";
    CHECK_STATUS(hftc_train_options_set(&o, "train", path), HFTC_STATUS_OK);
    CHECK(o.train_path == path);
    CHECK_STATUS(hftc_train_options_set(&o, "freeze-embeddings", "yes"), HFTC_STATUS_OK);
    CHECK(o.freeze_embeddings == 1);
}

/* The one value parser (the training options and the command line's own): strict, *out untouched on failure. */
static void test_parse_value(void)
{
    size_t z = 42;
    static const char *const bad_sizes[] = {"", " 5", "5 ", "-1", "+1", "1x", "0x10", "1e3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++)
        CHECK_MSG(!hftc_parse_value(HFTC_VALUE_SIZE, bad_sizes[i], &z) && z == 42, "'%s' read as a size", bad_sizes[i]);
    CHECK(hftc_parse_value(HFTC_VALUE_SIZE, "0", &z) && z == 0);
    int n = 7;
    CHECK(!hftc_parse_value(HFTC_VALUE_INT, "2147483648", &n) && n == 7);
    CHECK(hftc_parse_value(HFTC_VALUE_INT, "2147483647", &n) && n == 2147483647);
    unsigned long long u = 0;
    CHECK(hftc_parse_value(HFTC_VALUE_U64, "18446744073709551615", &u) && u == 18446744073709551615ULL);
    float f = 1.0f;
    static const char *const bad_floats[] = {"", "nan", "inf", "1e99", "0.5x", "fast"};
    for (size_t i = 0; i < sizeof bad_floats / sizeof *bad_floats; i++)
        CHECK_MSG(!hftc_parse_value(HFTC_VALUE_FLOAT, bad_floats[i], &f) && f == 1.0f, "'%s' read as a float",
                  bad_floats[i]);
    CHECK(hftc_parse_value(HFTC_VALUE_FLOAT, "-2.5e-3", &f) && f == -2.5e-3f);
    int b = 5;
    CHECK(!hftc_parse_value(HFTC_VALUE_BOOL, "2", &b) && b == 5);
    CHECK(hftc_parse_value(HFTC_VALUE_BOOL, "no", &b) && b == 0);
}

/* The presets: each named, each passes the checks once given data, and the values their papers give. */
static void test_presets(void)
{
    size_t n = 0;
    for (; hftc_preset_name(n); n++) {
        hftc_train_options o;
        CHECK_STATUS(hftc_train_options_init(&o, hftc_preset_name(n)), HFTC_STATUS_OK);
        o.train_path = "train.tsv";
        const char *problem = hftc_train_options_check(&o);
        CHECK_MSG(!problem, "%s: %s", hftc_preset_name(n), problem);
        CHECK(!strcmp(o.preset, hftc_preset_name(n)));
    }
    CHECK(n == 18);
    hftc_train_options o;
    hftc_train_options_init(&o, "linear"); /* scikit-learn's TF-IDF + logistic regression baseline */
    CHECK(!strcmp(o.family, "linear") && !strcmp(o.linear_loss, "logreg") && o.ngrams == 2 && o.min_df == 2 &&
          o.sublinear_tf && o.n_linear_c == 3 && o.linear_c[2] == 100.0f && o.tune_threshold);
    CHECK_STATUS(hftc_train_options_init(&o, "no-such-preset"), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(hftc_last_error(), "htrans") != NULL);
    hftc_train_options_init(&o, "htrans");
    CHECK(!strcmp(o.encoder, "bigru-att") && !strcmp(o.strategy, "node") && !strcmp(o.transfer, "finetune"));
    CHECK(o.n_class_weights == 7 && o.class_weights[6] == 50.0f && o.transfer_lr == 5e-4f && o.freeze_child_embeddings);
    CHECK(o.dim == 100 && o.max_len == 100 && o.batch == 128 && o.epochs == 10 && o.n_windows == 0 && o.hidden == 0);
    hftc_train_options_init(&o, "hft-cnn");
    CHECK(!strcmp(o.strategy, "level") && !strcmp(o.scoring, "bsf") && !strcmp(o.transfer, "finetune"));
    CHECK(o.max_len == 13 && o.n_windows == 3 && o.windows[2] == 4 && o.filters == 128 && o.hidden == 1024);
    CHECK(o.lr == 1e-3f && o.embed_dropout == 0.25f && o.hidden_dropout == 0.5f && o.epochs == 40);
    hftc_train_options_init(&o, "xml-cnn");
    CHECK(o.pool_chunks == 5 && o.hidden == 512 && !strcmp(o.strategy, "flat") && o.conv_stride == 1);
    hftc_train_options_init(&o, "xml-cnn2"); /* XML-CNN(2): stride 2 */
    CHECK(o.pool_chunks == 5 && o.hidden == 512 && !strcmp(o.strategy, "flat") && o.conv_stride == 2);
    o.train_path = "train.tsv";
    o.conv_stride = 0;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--conv-stride"));
    hftc_train_options_init(&o, "woft-onlstm");
    CHECK(!strcmp(o.transfer, "none") && o.joint_embedding && !strcmp(o.head, "softmax") && o.rnn_hidden == 500);
    CHECK(o.onlstm_chunk == 10 && o.batchnorm && o.freeze_embeddings && o.lr_patience == 3 && o.patience == 6);
    hftc_train_options_init(&o, "bilstm-max"); /* the HFT-ONLSTM paper's flat BiLSTM baselines */
    CHECK(!strcmp(o.encoder, "bilstm") && !strcmp(o.rnn_pool, "max") && !strcmp(o.strategy, "flat") &&
          !strcmp(o.head, "sigmoid") && !strcmp(o.transfer, "none") && !o.joint_embedding);
    CHECK(o.dim == 300 && o.freeze_embeddings && o.embed_dropout == 0.25f && o.rnn_hidden == 500 &&
          o.rnn_dropout == 0.25f && o.hidden == 500 && !strcmp(o.hidden_activation, "tanh") && o.batchnorm &&
          o.hidden_dropout == 0.5f && o.max_len == 100 && o.batch == 64 && o.epochs == 30 && o.patience == 6 &&
          o.lr_patience == 3 && o.lr_decay == 0.1f && !strcmp(o.early_stop, "micro-f1") && o.tune_scoring);
    CHECK(!strcmp(o.transfer_layers, "embedding,lstm"));
    hftc_train_options_init(&o, "bilstm-mean");
    CHECK(!strcmp(o.encoder, "bilstm") && !strcmp(o.rnn_pool, "mean") && o.rnn_hidden == 500);
    o.train_path = "train.tsv";
    snprintf(o.rnn_pool, sizeof o.rnn_pool, "min");
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "last, max, mean"));
    snprintf(o.rnn_pool, sizeof o.rnn_pool, "mean");
    o.rnn_hidden = 0;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--rnn-hidden"));
    hftc_train_options_init(&o, "gru-att-multi");
    CHECK(!strcmp(o.strategy, "flat") && !strcmp(o.early_stop, "weighted-f1") && o.n_class_weights == 1);
    hftc_train_options_init(&o, "ngram");
    CHECK(!strcmp(o.encoder, "ngram") && !strcmp(o.strategy, "flat") && !strcmp(o.head, "sigmoid"));
    CHECK(o.dim == 100 && o.buckets == 1000000 && o.hidden == 0 && o.embed_dropout == 0.0f && o.hidden_dropout == 0.0f);
    CHECK(o.max_len == 500 && o.lr == 1.0f && o.epochs == 25 && o.patience == 25 && o.batch == 10 && o.min_count == 1 &&
          o.n_windows == 0 && !strcmp(o.optimizer, "sgd") && !strcmp(o.early_stop, "micro-f1"));
    CHECK(!strcmp(o.transfer_layers, "embedding,ngram"));
    o.train_path = "train.tsv";
    o.buckets = 0;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--buckets"));
    o.buckets = 100000001;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--buckets"));
}

/* A flat training stopped after its first epoch, continued with another head: refused, as the checkpoint
 * holds the other head's weights. */
static void test_checkpoint_other_head(void)
{
    const char *train = tmpfiles_write_text("train.tsv", "a\tx y z\nb\tu v w\na\tx x y\nb\tv w w\na\tz y x\n"
                                                         "b\tw u v\na\ty z x\nb\tu u w\n");
    const char *valid = tmpfiles_write_text("valid.tsv", "a\tx y\nb\tu w\n");
    hftc_train_options o;
    hftc_train_options_init(&o, "flat-cnn");
    o.train_path = train, o.valid_path = valid;
    o.dim = 4, o.filters = 2, o.hidden = 4, o.epochs = 3, o.max_len = 6, o.patience = 10, o.threads = 1;
    o.checkpoint_path = tmpfiles_path("head.checkpoint");
    o.time_limit = 1e-6f;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INCOMPLETE);
    CHECK_STATUS(hftc_train_options_set(&o, "head", "softmax"), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_MSG(strstr(hftc_last_error(), "other data or options"), "%s", hftc_last_error());
    CHECK(m == NULL);
    /* the same head again continues, to the end */
    CHECK_STATUS(hftc_train_options_set(&o, "head", "sigmoid"), HFTC_STATUS_OK);
    o.time_limit = 0.0f;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    hftc_model_free(m);
}

static void keep_message(hftc_log_level level, const char *message, void *user)
{
    if (level == HFTC_LOG_WARN)
        snprintf(user, 256, "%s", message);
}

/* A thread count far above the cores is capped at 4 per core with a warning (issue 25, item 12: --threads
 * 100000 was taken as it stood), in the one place every interface turns a count into a context. */
static void test_threads_capped(void)
{
    char warning[256] = "";
    hftc_set_log(keep_message, HFTC_LOG_WARN, warning);
    int cores = compute_context_of(0).threads;
    CHECK_MSG(compute_context_of(100000).threads == 4 * cores, "100000 threads on %d cores: %d", cores,
              compute_context_of(100000).threads);
    CHECK_MSG(strstr(warning, "100000 threads asked for"), "warning: \"%s\"", warning);
    warning[0] = '\0';
    CHECK(compute_context_of(4 * cores).threads == 4 * cores && compute_context_of(1).threads == 1);
    CHECK_MSG(warning[0] == '\0', "warning: \"%s\"", warning);
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
}

int main(void)
{
    tmpfiles_init("options");
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    RUN_TEST(test_every_option_recorded);
    RUN_TEST(test_strict_values);
    RUN_TEST(test_parse_value);
    RUN_TEST(test_presets);
    RUN_TEST(test_checkpoint_other_head);
    RUN_TEST(test_threads_capped);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
