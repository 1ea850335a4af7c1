/* End to end: train a small flat-cnn on generated data, save, load, and check that predictions
 * survive the round trip bit for bit (an XML-CNN too), that training is repeatable, that damaged model
 * files are rejected, and that the hftc command keeps its contract (DESIGN section 3). */
#include "hftc.h"
#include "model/model.h"
#include "test.h"
#include "tmpfiles.h"

#include <jansson.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *path_train, *path_valid, *path_test, *path_model;

/* Topic words decide the labels: "sport" documents use sport words, "science" ones science words,
 * some use both (multi-label); filler words are noise. */
static void write_data(const char *path, size_t n, uint64_t seed)
{
    static const char *const sport[] = {"match", "goal", "team", "score", "coach", "league"};
    static const char *const science[] = {"atom", "cell", "theory", "energy", "lab", "gene"};
    static const char *const filler[] = {"the", "a", "of", "today", "said", "new", "big", "and"};
    FILE *f = fopen(path, "w");
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned kind = (unsigned)(x >> 33) % 3; /* 0 sport, 1 science, 2 both */
        fprintf(f, "%s\t", kind == 0 ? "sport" : kind == 1 ? "science" : "sport,science");
        size_t len = 6 + (x >> 40) % 10;
        for (size_t t = 0; t < len; t++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned r = (unsigned)(x >> 33);
            const char *w = filler[r % 8];
            if (r % 3 == 0)
                w = (kind == 1 || (kind == 2 && r % 2)) ? science[r / 3 % 6] : sport[r / 3 % 6];
            fprintf(f, "%s%s", t ? " " : "", w);
        }
        fputc('\n', f);
    }
    fclose(f);
}

static void small_options(hftc_train_options *o)
{
    hftc_train_options_init(o, "flat-cnn");
    o->train_path = path_train;
    o->valid_path = path_valid;
    o->dim = 16;
    o->filters = 8;
    o->hidden = 32;
    o->max_len = 20;
    o->batch = 16;
    o->epochs = 6;
    o->lr = 5e-3f;
    o->seed = 7;
}

static const char *const probe_texts[] = {"the team won the match", "a new theory of the cell",
                                          "goal and gene and score", "", "unseen words only here"};
#define N_PROBES 5

/* Every prediction of a run, as text: "index:label,label|" (k ranked labels after a ';'), and the
 * indices where batch_end was set. */
typedef struct {
    char *text;
    size_t len, cap, batch_ends, last_end;
    const hftc_model *m;
} prediction_log;

static hftc_status log_prediction(const hftc_prediction *p, void *user)
{
    prediction_log *l = user;
    char line[512];
    int n = snprintf(line, sizeof line, "%zu:", p->index);
    for (size_t i = 0; i < p->n_selected; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%s=%.9g", i ? "," : "",
                      hftc_model_label(l->m, p->selected[i]), (double)p->probs[p->selected[i]]);
    for (size_t i = 0; i < p->n_ranked; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%zu", i ? "," : ";", p->ranked[i]);
    n += snprintf(line + n, sizeof line - (size_t)n, "|");
    if (l->len + (size_t)n + 1 > l->cap) {
        l->cap = 2 * (l->len + (size_t)n + 1);
        l->text = realloc(l->text, l->cap);
        if (!l->text)
            return HFTC_STATUS_OUT_OF_MEMORY;
    }
    memcpy(l->text + l->len, line, (size_t)n + 1);
    l->len += (size_t)n;
    if (p->batch_end)
        l->batch_ends++, l->last_end = p->index;
    return HFTC_STATUS_OK;
}

/* hftc_predict_documents on texts gives what hftc_predict_file gives on a file of them, over more than
 * one 256-document batch, with batch_end on the last document. */
static void check_predict_documents(hftc_model *m)
{
    enum { N = 600 };
    static char storage[N][64];
    const char *texts[N];
    FILE *f = fopen(tmpfiles_path("documents.txt"), "w");
    for (size_t i = 0; i < N; i++) {
        snprintf(storage[i], sizeof storage[i], "%s %zu", probe_texts[i % N_PROBES], i % 7);
        texts[i] = storage[i];
        if (f)
            fprintf(f, "%s\n", texts[i]);
    }
    CHECK(f && fclose(f) == 0);
    hftc_input_options in = {.path = tmpfiles_path("documents.txt"), .format = "text", .threshold = 0.2f};
    prediction_log from_file = {.m = m}, from_texts = {.m = m};
    CHECK_STATUS(hftc_predict_file(m, &in, 2, log_prediction, &from_file), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_predict_documents(m, texts, N, &in, 2, log_prediction, &from_texts), HFTC_STATUS_OK);
    CHECK(from_file.text && from_texts.text && !strcmp(from_file.text, from_texts.text));
    CHECK(from_texts.batch_ends == 3 && from_texts.last_end == N - 1 && from_file.last_end == N - 1);
    free(from_file.text), free(from_texts.text);
}

/* A flat training's checkpoint records its word vectors by their file's bytes: vectors changed between two
 * calls are refused, the same ones continue. */
static void check_checkpoint_vectors(const hftc_train_options *options)
{
    hftc_train_options o = *options;
    static const char vectors[] = "2 16\nteam 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\natom 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    o.embeddings_path = tmpfiles_write_text("checkpoint.vec", vectors);
    o.checkpoint_path = tmpfiles_path("vectors.checkpoint");
    o.time_limit = 1e-6f;
    remove(o.checkpoint_path);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INCOMPLETE);
    char changed[sizeof vectors];
    memcpy(changed, vectors, sizeof vectors);
    changed[sizeof vectors - 3] = '2'; /* atom's last value: 0 -> 2 */
    tmpfiles_write_text("checkpoint.vec", changed);
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_MSG(strstr(hftc_last_error(), "other data or options"), "%s", hftc_last_error());
    tmpfiles_write_text("checkpoint.vec", vectors);
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INCOMPLETE); /* one more epoch */
    CHECK(m == NULL);
    remove(o.checkpoint_path);
}

static void test_train_save_load_round_trip(void)
{
    hftc_train_options o;
    small_options(&o);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    CHECK(hftc_model_num_labels(m) == 2);
    hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f};
    hftc_evaluation e;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK(e.docs == 150);
    CHECK_MSG(e.micro_f1 > 0.9, "micro-F1 %.4f on a nearly separable problem", e.micro_f1);

    size_t C = hftc_model_num_labels(m);
    float before[N_PROBES * 2];
    CHECK_STATUS(hftc_predict_texts(m, probe_texts, N_PROBES, before), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_model_save(m, path_model), HFTC_STATUS_OK);
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, path_model), HFTC_STATUS_OK);
    if (loaded) {
        CHECK(hftc_model_num_labels(loaded) == C);
        CHECK(strcmp(hftc_model_label(loaded, 0), hftc_model_label(m, 0)) == 0);
        test_check_loaded_predictions(loaded, probe_texts, N_PROBES, C, before, "kim-cnn");
        hftc_evaluation e2;
        CHECK_STATUS(hftc_evaluate(loaded, &in, &e2), HFTC_STATUS_OK);
        CHECK(e2.micro_f1 == e.micro_f1 && e2.macro_f1 == e.macro_f1);
        hftc_model_free(loaded);
    }
    check_predict_documents(m);
    /* documents without a single word, alone in their batch (no token array at all) */
    static const char *const empty[] = {"", "  ", "!!!"};
    float empty_probs[3 * 2];
    CHECK_STATUS(hftc_predict_texts(m, empty, 3, empty_probs), HFTC_STATUS_OK);
    CHECK(empty_probs[0] == empty_probs[2] && empty_probs[0] == empty_probs[4]);
    // The training again, stopped after every epoch and continued from its checkpoint: the same model.
    test_check_checkpoint(&o, m, tmpfiles_path("flat.checkpoint"), probe_texts, N_PROBES, "flat-cnn");
    check_checkpoint_vectors(&o);
    hftc_model_free(m);
}

static void test_training_is_repeatable(void)
{
    hftc_train_options o;
    small_options(&o);
    o.epochs = 2;
    float p[2][N_PROBES * 2];
    for (int run = 0; run < 2; run++) {
        hftc_model *m = NULL;
        CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
        if (!m)
            return;
        CHECK_STATUS(hftc_predict_texts(m, probe_texts, N_PROBES, p[run]), HFTC_STATUS_OK);
        hftc_model_free(m);
    }
    CHECK_MSG(memcmp(p[0], p[1], sizeof p[0]) == 0, "two runs with one seed differ");
    o.seed = 8;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    float q[N_PROBES * 2];
    if (m && hftc_predict_texts(m, probe_texts, N_PROBES, q) == HFTC_STATUS_OK)
        CHECK_MSG(memcmp(p[0], q, sizeof q) != 0, "another seed gave the same model");
    hftc_model_free(m);
}

static void test_threshold_tuning(void)
{
    hftc_train_options o;
    small_options(&o);
    o.epochs = 2;
    o.tune_threshold = 1;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    float t = hftc_model_threshold(m);
    CHECK_MSG(t >= 0.05f && t <= 0.95f, "tuned threshold %g", (double)t);
    /* the tuned threshold is at least as good on validation data as any other step, 0.5 included */
    hftc_input_options in = {.path = path_valid, .format = "auto", .threshold = -1.0f};
    hftc_evaluation tuned, fixed;
    CHECK_STATUS(hftc_evaluate(m, &in, &tuned), HFTC_STATUS_OK);
    in.threshold = 0.5f;
    CHECK_STATUS(hftc_evaluate(m, &in, &fixed), HFTC_STATUS_OK);
    CHECK_MSG(tuned.micro_f1 >= fixed.micro_f1, "tuned %.4f < fixed %.4f", tuned.micro_f1, fixed.micro_f1);
    char *d = hftc_model_describe(m);
    CHECK(d && strstr(d, "tuned_threshold"));
    free(d);
    hftc_model_free(m);
}

// The whole file, NUL-terminated, or NULL.
static char *file_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *bytes = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (bytes && fread(bytes, 1, (size_t)n, f) == (size_t)n) {
        bytes[n] = '\0';
        *size = (size_t)n;
    } else {
        free(bytes);
        bytes = NULL;
    }
    fclose(f);
    return bytes;
}

// The model file at path with its "pool_chunks" configuration entry replaced by entry padded with spaces ("":
// removed, as in files written before XML-CNN). The config is JSON inside a JSON string, hence the escaped
// quotes. Returns the new file's path, or NULL.
static const char *edit_pool_chunks(const char *path, const char *name, const char *entry)
{
    size_t size;
    // The header follows its 8-byte length, whose zero bytes would end strstr's search.
    char *bytes = file_bytes(path, &size), *key = bytes && size > 8 ? strstr(bytes + 8, "\\\"pool_chunks\\\":") : NULL;
    char *end = key ? strchr(key, ',') : NULL;
    const char *out = NULL;
    if (end && strlen(entry) <= (size_t)(end + 1 - key)) {
        memset(key, ' ', (size_t)(end + 1 - key));
        memcpy(key, entry, strlen(entry));
        out = tmpfiles_write(name, bytes, size);
    }
    free(bytes);
    return out;
}

// XML-CNN (the "xml-cnn" preset's dynamic max pooling, here 2 chunks): trains, survives save + load bit for
// bit, and the chunk count is read back from the file, 1 when the key is missing.
/* --pos-weight: positive targets weigh more in the loss, so the same seed ends with higher probabilities
 * (BCE's optimum moves from p to w p / (w p + 1 - p)); the softmax head refuses it. */
static void test_pos_weight(void)
{
    float mean[2] = {0};
    for (int weighted = 0; weighted < 2; weighted++) {
        hftc_train_options o;
        small_options(&o);
        o.epochs = 2;
        o.pos_weight = weighted ? 10.0f : 1.0f;
        hftc_model *m = NULL;
        CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
        float p[N_PROBES * 2];
        if (m && hftc_predict_texts(m, probe_texts, N_PROBES, p) == HFTC_STATUS_OK)
            for (size_t i = 0; i < N_PROBES * 2; i++)
                mean[weighted] += p[i] / (N_PROBES * 2);
        char *d = m ? hftc_model_describe(m) : NULL;
        CHECK(d && strstr(d, weighted ? "\"pos_weight\": 10.0" : "\"pos_weight\": 1.0"));
        free(d);
        hftc_model_free(m);
    }
    CHECK_MSG(mean[1] > mean[0] + 0.05f, "mean probability %.3f weighted, %.3f not", (double)mean[1], (double)mean[0]);
    hftc_train_options o;
    small_options(&o);
    o.pos_weight = 0.0f;
    CHECK(hftc_train_options_check(&o) != NULL);
    o.pos_weight = 2.0f;
    snprintf(o.head, sizeof o.head, "softmax");
    CHECK(hftc_train_options_check(&o) != NULL);
}

// Trains with o; the model must reach micro-F1 min_f1 on the test file. NULL if training failed.
static hftc_model *train_and_check(const hftc_train_options *o, double min_f1, const char *label)
{
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(o, &m), HFTC_STATUS_OK);
    if (!m)
        return NULL;
    hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f};
    hftc_evaluation e;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK_MSG(e.micro_f1 > min_f1, "%s: micro-F1 %.4f", label, e.micro_f1);
    return m;
}

// Saves m as tmpfiles name and frees it, loads the file back: the probes' predictions must not change
// (test_check_loaded_predictions). Returns the file's path.
static const char *check_save_load_same(hftc_model *m, const char *name, const char *label)
{
    const char *path = tmpfiles_path(name);
    float before[N_PROBES * 2];
    CHECK_STATUS(hftc_predict_texts(m, probe_texts, N_PROBES, before), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_model_save(m, path), HFTC_STATUS_OK);
    hftc_model_free(m);
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, path), HFTC_STATUS_OK);
    if (loaded) {
        test_check_loaded_predictions(loaded, probe_texts, N_PROBES, 2, before, label);
        hftc_model_free(loaded);
    }
    return path;
}

static void test_xml_cnn_round_trip(void)
{
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, "xml-cnn"), HFTC_STATUS_OK);
    CHECK(o.pool_chunks == 5 && o.hidden == 512 && o.filters == 128 && o.n_windows == 3 && o.max_len == 13);
    CHECK(o.embed_dropout == 0.25f && o.hidden_dropout == 0.5f);
    bool listed = false;
    for (size_t i = 0; hftc_preset_name(i); i++)
        listed = listed || strcmp(hftc_preset_name(i), "xml-cnn") == 0;
    CHECK(listed);
    small_options(&o);
    CHECK(o.pool_chunks == 1);
    o.pool_chunks = 0;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--pool-chunks"));
    o.pool_chunks = 1025;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--pool-chunks"));
    o.pool_chunks = 2;
    o.epochs = 2;
    hftc_model *m = train_and_check(&o, 0.85, "XML-CNN after 2 epochs");
    if (!m)
        return;
    char *d = hftc_model_describe(m);
    json_error_t err;
    json_t *j = d ? json_loads(d, 0, &err) : NULL;
    CHECK(json_integer_value(json_object_get(json_object_get(j, "config"), "pool_chunks")) == 2);
    // fc1 takes n_windows * F * p inputs.
    json_t *tensors = json_object_get(j, "tensors");
    size_t fc1_inputs = 0;
    for (size_t i = 0; i < json_array_size(tensors); i++) {
        json_t *t = json_array_get(tensors, i);
        if (strcmp(json_string_value(json_object_get(t, "name")), "fc1.weight") == 0)
            fc1_inputs = (size_t)json_integer_value(json_array_get(json_object_get(t, "shape"), 1));
    }
    CHECK(fc1_inputs == 3 * 8 * 2);
    json_decref(j);
    free(d);

    const char *path = check_save_load_same(m, "xml.hftc", "XML-CNN");
    float before[N_PROBES * 2], after[N_PROBES * 2];
    hftc_model *loaded = NULL;
    // Without the key the file reads as 1-max pooling, which fc1's saved shape contradicts; 0 chunks is refused.
    const char *old = edit_pool_chunks(path, "xml-old.hftc", "");
    CHECK(old != NULL);
    loaded = NULL;
    CHECK_STATUS(old ? hftc_model_load(&loaded, old) : HFTC_STATUS_OK, HFTC_STATUS_MODEL);
    CHECK(loaded == NULL && strstr(hftc_last_error(), "fc1.weight"));
    const char *zero = edit_pool_chunks(path, "xml-zero.hftc", "\\\"pool_chunks\\\":0,");
    CHECK_STATUS(zero ? hftc_model_load(&loaded, zero) : HFTC_STATUS_OK, HFTC_STATUS_MODEL);
    CHECK(loaded == NULL && strstr(hftc_last_error(), "out-of-range"));

    // A Kim CNN file without the key (as written before XML-CNN) loads and predicts as before.
    old = edit_pool_chunks(path_model, "kim-old.hftc", "");
    hftc_model *kim = NULL;
    loaded = NULL;
    CHECK_STATUS(hftc_model_load(&kim, path_model), HFTC_STATUS_OK);
    CHECK_STATUS(old ? hftc_model_load(&loaded, old) : HFTC_STATUS_MODEL, HFTC_STATUS_OK);
    if (kim && loaded) {
        CHECK_STATUS(hftc_predict_texts(kim, probe_texts, N_PROBES, before), HFTC_STATUS_OK);
        CHECK_STATUS(hftc_predict_texts(loaded, probe_texts, N_PROBES, after), HFTC_STATUS_OK);
        CHECK(memcmp(before, after, sizeof before) == 0);
    }
    hftc_model_free(kim);
    hftc_model_free(loaded);
}

// The onlstm encoder with the HFT-ONLSTM paper's MLP head (tanh, batch norm): it learns, the model file
// keeps its configuration (chunk, pooling, activation, batch norm and its running statistics) and
// predicts the same after save + load; option errors name the option.
static void test_onlstm_round_trip(void)
{
    hftc_train_options o;
    small_options(&o);
    snprintf(o.encoder, sizeof o.encoder, "onlstm");
    o.rnn_hidden = 12;
    o.onlstm_chunk = 3;
    snprintf(o.rnn_pool, sizeof o.rnn_pool, "max");
    o.rnn_dropout = 0.25f;
    o.hidden = 10;
    snprintf(o.hidden_activation, sizeof o.hidden_activation, "tanh");
    o.batchnorm = 1;
    o.epochs = 8;
    o.onlstm_chunk = 5;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--onlstm-chunk"));
    o.onlstm_chunk = 3;
    snprintf(o.rnn_pool, sizeof o.rnn_pool, "mean");
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--rnn-pool"));
    snprintf(o.rnn_pool, sizeof o.rnn_pool, "max");
    o.hidden = 0;
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--batchnorm"));
    o.hidden = 10;
    hftc_model *m = train_and_check(&o, 0.85, "onlstm");
    if (!m)
        return;
    char *d = hftc_model_describe(m);
    json_t *j = d ? json_loads(d, 0, NULL) : NULL, *cfg = json_object_get(j, "config");
    CHECK(!strcmp(json_string_value(json_object_get(cfg, "encoder")), "onlstm") &&
          json_integer_value(json_object_get(cfg, "onlstm_chunk")) == 3 &&
          !strcmp(json_string_value(json_object_get(cfg, "rnn_pool")), "max") &&
          !strcmp(json_string_value(json_object_get(cfg, "hidden_activation")), "tanh") &&
          json_is_true(json_object_get(cfg, "batchnorm")));
    // Batch norm's running statistics are counted apart from the parameters, all of which trained.
    json_int_t params = json_integer_value(json_object_get(j, "parameters"));
    CHECK(json_integer_value(json_object_get(j, "statistics")) == 2 * 10 &&
          json_integer_value(json_object_get(j, "trainable")) == params &&
          json_integer_value(json_object_get(j, "frozen")) == 0 && params > 0);
    json_decref(j);
    free(d);
    check_save_load_same(m, "onlstm.hftc", "onlstm");
}

static void test_damaged_model_files(void)
{
    FILE *f = fopen(path_model, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *bytes = malloc((size_t)size + 1); /* NUL-terminated for strstr over the header */
    CHECK(fread(bytes, 1, (size_t)size, f) == (size_t)size);
    bytes[size] = '\0';
    fclose(f);
    /* truncated at several points, from inside the length prefix to the last byte */
    const long cuts[] = {0, 4, 8, 100, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        const char *damaged = tmpfiles_write("damaged.hftc", bytes, (size_t)cuts[i]);
        hftc_model *m = NULL;
        CHECK_STATUS(hftc_model_load(&m, damaged), HFTC_STATUS_MODEL);
        CHECK_MSG(strstr(hftc_last_error(), "damaged.hftc") != NULL, "message without the file: %s", hftc_last_error());
        CHECK(m == NULL);
    }
    /* a well-formed safetensors file that is not an hftc model: its format name changed (the search
     * starts past the 8-byte length prefix, which holds zero bytes) */
    char *meta = strstr(bytes + 8, "\"format\":\"hftc\"");
    CHECK(meta != NULL);
    if (meta) {
        meta[10] = 'X';
        const char *damaged = tmpfiles_write("damaged.hftc", bytes, (size_t)size);
        hftc_model *m = NULL;
        CHECK_STATUS(hftc_model_load(&m, damaged), HFTC_STATUS_MODEL);
        CHECK_MSG(strstr(hftc_last_error(), "not an hftc model") != NULL, "%s", hftc_last_error());
    }
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_model_load(&m, "/nonexistent/model.hftc"), HFTC_STATUS_IO);
    free(bytes);
}

/* A two-level taxonomy over the same data: "topic" above "sport" and "science". The data lists only
 * the leaves; training completes them, and every scoring keeps its promise. */
static const char taxonomy_text[] = "Root\ttopic\ntopic\tsport\tscience\n";

typedef struct {
    const hftc_model *m;
    size_t n_docs, violations;
} bsf_check;

static hftc_status count_orphans(const hftc_prediction *p, void *user)
{
    bsf_check *c = user;
    bool topic = false, child = false;
    for (size_t i = 0; i < p->n_selected; i++) {
        const char *name = hftc_model_label(c->m, p->selected[i]);
        topic = topic || !strcmp(name, "topic");
        child = child || strcmp(name, "topic");
    }
    c->violations += child && !topic;
    c->n_docs++;
    return HFTC_STATUS_OK;
}

/* Per-label thresholds: tuned on the validation split (each a 0.05 step or the model's threshold), at
 * least as good there in macro-F1 as the one threshold, used by evaluation unless a threshold is given,
 * kept through save and load; refused where they cannot apply. */
static void test_label_thresholds(void)
{
    hftc_train_options o;
    small_options(&o);
    o.epochs = 2; /* undertrained: probabilities away from 0 and 1, where thresholds matter */
    o.taxonomy_path = tmpfiles_write_text("topics.taxonomy", taxonomy_text);
    o.tune_label_thresholds = 1;
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    const float *thr = hftc_model_label_thresholds(m);
    CHECK(thr != NULL);
    for (size_t c = 0; thr && c < hftc_model_num_labels(m); c++) {
        float steps = thr[c] / 0.05f;
        CHECK_MSG(thr[c] == hftc_model_threshold(m) ||
                      (fabsf(steps - roundf(steps)) < 1e-4f && thr[c] > 0.0f && thr[c] < 1.0f),
                  "threshold %g for %s", (double)thr[c], hftc_model_label(m, c));
    }
    char *description = hftc_model_describe(m);
    CHECK(description && strstr(description, "\"label_thresholds\""));
    free(description);
    json_t *record = json_loads(m->training_json, 0, NULL);
    double tuned_macro = json_real_value(json_object_get(record, "label_thresholds_valid_macro_f1"));
    json_decref(record);
    /* on the validation file: the tuned thresholds' macro-F1 is the record's, and no worse than one threshold's */
    hftc_input_options in = {.path = path_valid, .format = "auto", .threshold = -1.0f};
    hftc_evaluation tuned, one;
    CHECK_STATUS(hftc_evaluate(m, &in, &tuned), HFTC_STATUS_OK);
    in.threshold = hftc_model_threshold(m);
    CHECK_STATUS(hftc_evaluate(m, &in, &one), HFTC_STATUS_OK);
    CHECK(tuned.label_thresholds && !one.label_thresholds);
    CHECK_MSG(
        fabs(tuned.macro_f1 - tuned_macro) < 1e-6 && tuned.macro_f1 >= one.macro_f1 - 1e-12, /* record: 7 digits */
        "macro-F1 %.4f with the thresholds (record %.4f), %.4f with one", tuned.macro_f1, tuned_macro, one.macro_f1);
    const char *saved = tmpfiles_path("thresholds.hftc");
    CHECK_STATUS(hftc_model_save(m, saved), HFTC_STATUS_OK);
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, saved), HFTC_STATUS_OK);
    if (loaded && thr) {
        const float *back = hftc_model_label_thresholds(loaded);
        CHECK(back && !memcmp(back, thr, hftc_model_num_labels(m) * sizeof *thr));
        in.threshold = -1.0f;
        hftc_evaluation again;
        CHECK_STATUS(hftc_evaluate(loaded, &in, &again), HFTC_STATUS_OK);
        CHECK(again.label_thresholds && again.micro_f1 == tuned.micro_f1 && again.macro_f1 == tuned.macro_f1);
    }
    hftc_model_free(loaded);
    hftc_model_free(m);
    static const char *const refused[] = {"gru-att", "hft-onlstm"};
    for (size_t i = 0; i < 2; i++) {
        CHECK_STATUS(hftc_train_options_init(&o, refused[i]), HFTC_STATUS_OK);
        o.train_path = path_train;
        o.tune_label_thresholds = 1;
        const char *problem = hftc_train_options_check(&o);
        CHECK_MSG(problem && strstr(problem, "label-thresholds"), "%s: %s", refused[i], problem ? problem : "accepted");
    }
}

static void test_taxonomy_training(void)
{
    hftc_train_options o;
    small_options(&o);
    o.epochs = 3;
    o.taxonomy_path = tmpfiles_write_text("topics.taxonomy", taxonomy_text);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    CHECK(hftc_model_num_labels(m) == 3);
    hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f};
    hftc_evaluation e;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK(e.n_levels == 2 && e.level[0].labels == 1 && e.level[1].labels == 2);
    CHECK_MSG(e.level[0].accuracy > 0.99, "level 1 (always 'topic') accuracy %.4f", e.level[0].accuracy);
    CHECK_MSG(e.level[1].micro_f1 > 0.85, "level 2 micro-F1 %.4f", e.level[1].micro_f1);
    /* BSF never selects a child without its parent, even at a threshold that would */
    const char *scorings[] = {"bsf", "msf"};
    for (size_t i = 0; i < 2; i++) {
        in.scoring = scorings[i];
        in.threshold = 0.3f;
        CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
        CHECK(e.n_levels == 2 && e.micro_f1 > 0.85);
        /* predictions closed under ancestors: the hierarchical figures are the micro ones */
        CHECK(e.hierarchical_f1 == e.micro_f1 && e.hierarchical_precision == e.micro_precision &&
              e.hierarchical_recall == e.micro_recall);
        bsf_check c = {.m = m};
        CHECK_STATUS(hftc_predict_file(m, &in, 0, count_orphans, &c), HFTC_STATUS_OK);
        CHECK(c.n_docs == 150 && c.violations == 0);
    }
    /* independent scoring at a threshold the parent alone misses: ancestors added to the predictions can
     * only find more gold labels */
    in.scoring = "independent";
    in.threshold = 0.3f;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK(e.hierarchical_recall >= e.micro_recall && e.hierarchical_f1 > 0.85 && e.hierarchical_f1 <= 1.0);
    in.scoring = "BSF";
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_INVALID_ARGUMENT);

    /* the taxonomy survives save + load */
    const char *saved = tmpfiles_path("taxonomy.hftc");
    CHECK_STATUS(hftc_model_save(m, saved), HFTC_STATUS_OK);
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, saved), HFTC_STATUS_OK);
    if (loaded) {
        in.scoring = "msf";
        hftc_evaluation e2;
        CHECK_STATUS(hftc_evaluate(loaded, &in, &e2), HFTC_STATUS_OK);
        CHECK(e2.n_levels == 2 && e2.micro_f1 == e.micro_f1 && e2.level[1].macro_f1 == e.level[1].macro_f1);
        hftc_model_free(loaded);
    }
    hftc_model_free(m);

    /* a label the taxonomy lacks: an error naming file and line, or a new top-level node */
    o.taxonomy_path = tmpfiles_write_text("partial.taxonomy", "Root\ttopic\ntopic\tsport\n");
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_FORMAT);
    CHECK_MSG(strstr(hftc_last_error(), "train.tsv:") && strstr(hftc_last_error(), "\"science\""), "%s",
              hftc_last_error());
    o.add_unknown_labels = 1;
    o.epochs = 1;
    m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (m)
        CHECK(hftc_model_num_labels(m) == 3);
    hftc_model_free(m);
}

/* Whether some part of m still has gradients or Adam moments (a trained or loaded model should not). */
static bool parts_hold_training_state(hftc_model *m)
{
    bool held = false;
    for (size_t p = 0; p < m->n_parts; p++) {
        const param_set *ps = network_params(m->parts[p].net);
        held = held || ps->grads.base || ps->moments.base;
    }
    return held;
}

/* One network per level (woft-cnn / hft-cnn): each level's outputs are its labels, the model file
 * holds every level, and a round trip reproduces predictions bit for bit. */
// Copies the lines of src whose label field has no comma (single-label documents) to tmpfiles name.
static const char *single_label_copy(const char *src, const char *name)
{
    const char *path = tmpfiles_path(name);
    FILE *in = fopen(src, "r"), *out = fopen(path, "w");
    char line[1024];
    while (in && out && fgets(line, sizeof line, in)) {
        const char *tab = strchr(line, '\t');
        if (tab && !memchr(line, ',', (size_t)(tab - line)))
            fputs(line, out);
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return path;
}

// The softmax head per level: multi-label data is refused with a message naming the document and
// its two labels; single-label data trains one softmax per level on the documents that reach it.
static void test_softmax_levels(void)
{
    hftc_train_options o;
    small_options(&o);
    snprintf(o.head, sizeof o.head, "softmax");
    snprintf(o.strategy, sizeof o.strategy, "level");
    o.taxonomy_path = tmpfiles_write_text("softmax.taxonomy", taxonomy_text);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(!m && strstr(hftc_last_error(), "two labels in level2 (") && strstr(hftc_last_error(), "--head sigmoid"));
    o.train_path = single_label_copy(path_train, "single-train.tsv");
    o.valid_path = single_label_copy(path_valid, "single-valid.tsv");
    // Early stopping on validation accuracy; the learning rate halves after each epoch without gain.
    snprintf(o.early_stop, sizeof o.early_stop, "accuracy");
    o.lr_patience = 1;
    o.lr_decay = 0.5f;
    o.patience = 100;
    m = train_and_check(&o, 0.5, "softmax levels");
    if (!m)
        return;
    json_t *record = json_loads(m->training_json, 0, NULL), *part, *epoch;
    size_t i, j, decays = 0;
    bool schedule = true;
    json_array_foreach(json_object_get(record, "parts"), i, part)
    {
        double lr = o.lr, best = -1.0;
        json_array_foreach(json_object_get(part, "epochs"), j, epoch)
        {
            double now = json_real_value(json_object_get(epoch, "lr"));
            double accuracy = json_real_value(json_object_get(epoch, "valid_accuracy"));
            schedule = schedule && fabs(now - lr) < 1e-9; /* the rate this epoch ran at */
            if (accuracy > best)
                best = accuracy;
            else
                lr *= 0.5, decays++;
        }
    }
    CHECK_MSG(schedule && decays > 0, "learning-rate schedule (%zu decays) not as configured", decays);
    json_decref(record);
    CHECK(m->n_parts == 2 && m->parts[1].n_outputs == 2);
    float probs[N_PROBES * 3];
    CHECK_STATUS(hftc_predict_texts(m, probe_texts, N_PROBES, probs), HFTC_STATUS_OK);
    bool sums = true; /* labels: topic, sport, science; level 2's softmax sums to 1 */
    for (size_t d = 0; d < N_PROBES; d++)
        sums = sums && fabsf(probs[d * 3 + 1] + probs[d * 3 + 2] - 1.0f) < 1e-5f;
    CHECK(sums);
    // Top-down decisions: one category per level, so level 2's accuracy is its share of right picks.
    hftc_input_options in = {.path = o.valid_path, .format = "auto", .threshold = -1.0f, .scoring = "top-down"};
    hftc_evaluation e;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    CHECK_MSG(e.level[0].accuracy == 1.0 && e.level[1].accuracy > 0.9 && e.exact_match == e.level[1].accuracy,
              "top-down: level accuracies %.3f %.3f, exact %.3f", e.level[0].accuracy, e.level[1].accuracy,
              e.exact_match);
    hftc_model_free(m);

    // The preset hft-onlstm-nojoint: the paper's settings, level 2 starting from level 1.
    const char *train_single = o.train_path, *valid_single = o.valid_path;
    CHECK_STATUS(hftc_train_options_init(&o, "hft-onlstm-nojoint"), HFTC_STATUS_OK);
    CHECK(!strcmp(o.encoder, "onlstm") && o.rnn_hidden == 500 && o.onlstm_chunk == 10 && o.hidden == 500 &&
          o.batchnorm && !strcmp(o.hidden_activation, "tanh") && !strcmp(o.scoring, "top-down") &&
          !strcmp(o.early_stop, "accuracy") && o.lr_patience == 3 && o.lr_decay == 0.1f && o.freeze_embeddings &&
          !strcmp(o.transfer, "finetune") && !strcmp(o.transfer_layers, "embedding,onlstm") && o.batch == 64);
    o.train_path = train_single, o.valid_path = valid_single;
    o.taxonomy_path = tmpfiles_path("softmax.taxonomy");
    o.dim = 16, o.rnn_hidden = 20, o.hidden = 16, o.max_len = 20, o.epochs = 6, o.lr = 5e-3f, o.seed = 7;
    o.freeze_embeddings = 0; /* random vectors: let them learn */
    m = train_and_check(&o, 0.5, "hft-onlstm-nojoint");
    if (m) {
        CHECK(!strcmp(hftc_model_scoring(m), "top-down"));
        test_check_checkpoint(&o, m, tmpfiles_path("levels.checkpoint"), probe_texts, N_PROBES, "hft-onlstm-nojoint");
    }
    hftc_model_free(m);
}

static void test_level_strategy(void)
{
    static const char *const presets[] = {"woft-cnn", "hft-cnn"};
    for (size_t i = 0; i < 2; i++) {
        hftc_train_options o;
        CHECK_STATUS(hftc_train_options_init(&o, presets[i]), HFTC_STATUS_OK);
        CHECK(!strcmp(o.strategy, "level") && !strcmp(o.transfer, i ? "finetune" : "none"));
        o.train_path = path_train;
        o.valid_path = path_valid;
        o.dim = 16, o.filters = 8, o.hidden = 32, o.max_len = 20, o.batch = 16, o.epochs = 3, o.lr = 5e-3f;
        /* "politics" and its child "election" (a third level) never occur in the data: no outputs, no level 3 */
        o.taxonomy_path = tmpfiles_write_text("levels.taxonomy",
                                              "Root\ttopic\ntopic\tsport\tscience\tpolitics\npolitics\telection\n");
        o.tune_threshold = i; /* hft-cnn: tuned on the whole model's BSF decisions */
        hftc_model *m = NULL;
        CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
        if (!m)
            continue;
        CHECK(hftc_model_num_labels(m) == 5 && !strcmp(hftc_model_scoring(m), "bsf"));
        CHECK(m->n_parts == 2 && m->parts[0].n_outputs == 1 && m->parts[1].n_outputs == 2 && m->parts[1].level == 2);
        size_t politics = 0, election = 0;
        for (size_t l = 0; l < 5; l++) {
            politics = strcmp(hftc_model_label(m, l), "politics") ? politics : l;
            election = strcmp(hftc_model_label(m, l), "election") ? election : l;
        }
        CHECK(m->n_parts == 2 && !parts_hold_training_state(m)); /* freed once each level is trained */
        test_check_checkpoint(&o, m, tmpfiles_path("levels.checkpoint"), probe_texts, N_PROBES, presets[i]);
        hftc_input_options in = {.path = path_test, .format = "auto", .threshold = -1.0f, .scoring = NULL};
        hftc_evaluation e, same;
        CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
        CHECK(e.n_levels == 3 && e.level[0].accuracy > 0.99 && e.level[2].labels == 0);
        in.scoring = "bsf"; /* the model's scoring is the default */
        CHECK_STATUS(hftc_evaluate(m, &in, &same), HFTC_STATUS_OK);
        CHECK(same.micro_f1 == e.micro_f1 && same.macro_f1 == e.macro_f1);
        if (o.tune_threshold) {
            hftc_evaluation tuned, fixed;
            in = (hftc_input_options){.path = path_valid, .format = "auto", .threshold = -1.0f};
            CHECK_STATUS(hftc_evaluate(m, &in, &tuned), HFTC_STATUS_OK);
            for (int step = 1; step < 20; step++) {
                in.threshold = 0.05f * (float)step;
                CHECK_STATUS(hftc_evaluate(m, &in, &fixed), HFTC_STATUS_OK);
                CHECK_MSG(tuned.micro_f1 >= fixed.micro_f1, "tuned %.4f < %.4f at %.2f", tuned.micro_f1, fixed.micro_f1,
                          (double)in.threshold);
            }
        }
        CHECK_MSG(e.level[1].micro_f1 > 0.8, "%s level 2 micro-F1 %.4f", presets[i], e.level[1].micro_f1);
        char *d = hftc_model_describe(m);
        CHECK(d && strstr(d, "\"level1\"") && strstr(d, "\"level2\"") && strstr(d, "level2.conv.2.weight") &&
              !strstr(d, "\"level3\""));
        free(d);
        float before[N_PROBES * 5];
        CHECK_STATUS(hftc_predict_texts(m, probe_texts, N_PROBES, before), HFTC_STATUS_OK);
        for (size_t doc = 0; doc < N_PROBES; doc++)
            CHECK(before[doc * 5 + politics] == 0.0f && before[doc * 5 + election] == 0.0f && before[doc * 5] > 0.0f);
        const char *saved = tmpfiles_path("levels.hftc");
        CHECK_STATUS(hftc_model_save(m, saved), HFTC_STATUS_OK);
        hftc_model *loaded = NULL;
        CHECK_STATUS(hftc_model_load(&loaded, saved), HFTC_STATUS_OK);
        if (loaded) {
            test_check_loaded_predictions(loaded, probe_texts, N_PROBES, 5, before, presets[i]);
            CHECK(!parts_hold_training_state(loaded) && loaded->n_parts == 2);
            CHECK(!strcmp(hftc_model_scoring(loaded), "bsf") &&
                  hftc_model_threshold(loaded) == hftc_model_threshold(m));
            hftc_model_free(loaded);
        }
        hftc_model_free(m);
    }
    hftc_train_options o;
    hftc_train_options_init(&o, "hft-cnn");
    o.train_path = path_train;
    CHECK(hftc_train_options_check(&o) == NULL);
    snprintf(o.scoring, sizeof o.scoring, "min");
    CHECK(hftc_train_options_check(&o) != NULL);
    snprintf(o.scoring, sizeof o.scoring, "msf");
    snprintf(o.transfer_layers, sizeof o.transfer_layers, "embedding,convs");
    CHECK(hftc_train_options_check(&o) != NULL);
}

/* Runs a shell command line, capturing stdout + stderr; returns the exit status. */
static int run(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, size - 1, p) : 0;
    out[n] = '\0';
    int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Reads one line (up to size - 1 bytes, without its newline) from fd, waiting at most seconds for it;
 * false if none came. */
static bool read_line_within(int fd, char *out, size_t size, int seconds)
{
    size_t n = 0;
    while (n + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char c;
        if (poll(&p, 1, seconds * 1000) != 1 || read(fd, &c, 1) != 1)
            break;
        if (c == '\n') {
            out[n] = '\0';
            return true;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return false;
}

/* hftc predict answers each line written into its standard input before the input ends. */
static void check_predict_answers_each_line(const char *bin, const char *model)
{
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
        CHECK(false);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO), dup2(out[1], STDOUT_FILENO);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl(bin, bin, "predict", "--model", model, "--threads", "1", (char *)NULL);
        _exit(127);
    }
    close(in[0]), close(out[1]);
    static const char *const lines[] = {"the team won the match\n", "a theory of the atom\n"};
    static const char *const labels[] = {"sport", "science"};
    char answer[256];
    for (size_t i = 0; i < 2; i++) {
        CHECK(write(in[1], lines[i], strlen(lines[i])) == (ssize_t)strlen(lines[i]));
        bool got = read_line_within(out[0], answer, sizeof answer, 120);
        CHECK_MSG(got && strncmp(answer, labels[i], strlen(labels[i])) == 0, "line %zu: answer \"%s\" (%s)", i + 1,
                  answer, got ? "read" : "none within 120 s, the input still open");
    }
    close(in[1]);
    CHECK(!read_line_within(out[0], answer, sizeof answer, 120) && answer[0] == '\0'); /* nothing more */
    close(out[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Sends an HTTP request to 127.0.0.1:port and reads the whole answer: returns its status (0 if none came
 * within 120 s), its body in body. */
static int http(int port, const char *method, const char *path, const char *content, size_t content_len, char *body,
                size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    body[0] = '\0';
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char head[256];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, content_len);
    bool sent = write(fd, head, (size_t)n) == n;
    for (size_t done = 0; sent && done < content_len;) {
        ssize_t w = write(fd, content + done, content_len - done);
        sent = w > 0;
        done += sent ? (size_t)w : 0;
    }
    char *answer = malloc(1 << 20);
    size_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t r = 1;
    while (answer && got + 1 < (1 << 20) && poll(&p, 1, 120000) == 1 &&
           (r = read(fd, answer + got, (1 << 20) - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    int status = 0;
    if (answer) {
        answer[got] = '\0';
        const char *start = strstr(answer, "\r\n\r\n");
        if (sscanf(answer, "HTTP/1.1 %d", &status) != 1)
            status = 0;
        snprintf(body, size, "%s", start ? start + 4 : "");
    }
    free(answer);
    return status;
}

/* Reads lines from fd until one holds needle (copied to line); false if none came within 120 s. */
static bool stderr_line_with(int fd, const char *needle, char *line, size_t size)
{
    while (read_line_within(fd, line, size, 120))
        if (strstr(line, needle))
            return true;
    return false;
}

/* Concurrent clients of hftc serve: each sends single-document requests, alternately with the server's
 * threshold and with threshold 0 (which a queued batch must not mix), and compares every answer with the
 * one the text got alone. Clients racing a SIGTERM may also get 503 or no answer, never a wrong one. */
enum { SERVE_TEXTS = 4, SERVE_CLIENTS = 8, SERVE_REQUESTS = 6 };
static const char *const serve_texts[SERVE_TEXTS] = {"the team won the match", "a theory of the atom",
                                                     "the coach said the league", "energy of the cell and a goal"};

static void serve_request(char *out, size_t size, size_t text, bool threshold_0)
{
    snprintf(out, size, "{\"text\": \"%s\"%s}", serve_texts[text], threshold_0 ? ", \"threshold\": 0" : "");
}

/* true if two answers hold the same labels with scores within 1e-5 (a document's batch may differ) */
static bool same_predictions(const char *a, const char *b)
{
    json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
    const json_t *pa = json_array_get(json_object_get(ja, "predictions"), 0),
                 *pb = json_array_get(json_object_get(jb, "predictions"), 0);
    const json_t *la = json_object_get(pa, "labels"), *sa = json_object_get(pa, "scores");
    const json_t *sb = json_object_get(pb, "scores");
    bool same = pa && pb && json_equal(la, json_object_get(pb, "labels")) &&
                json_array_size(sa) == json_array_size(sb) &&
                json_equal(json_object_get(pa, "doc"), json_object_get(pb, "doc"));
    for (size_t i = 0; same && i < json_array_size(sa); i++)
        same = fabs(json_real_value(json_array_get(sa, i)) - json_real_value(json_array_get(sb, i))) < 1e-5;
    json_decref(ja), json_decref(jb);
    return same;
}

typedef struct {
    int port, client;
    bool stopping;          /* the server is being stopped: 503 and no answer are expected too */
    char (*alone)[2][4096]; /* [text][threshold 0] */
    size_t answered;
    int wrong;
    char first_wrong[4096];
} serve_client;

static void *serve_client_run(void *arg)
{
    serve_client *c = arg;
    char request[256], body[4096];
    for (int i = 0; i < SERVE_REQUESTS; i++) {
        size_t text = (size_t)(c->client + i) % SERVE_TEXTS;
        bool threshold_0 = (c->client + i) % 2;
        serve_request(request, sizeof request, text, threshold_0);
        int status = http(c->port, "POST", "/predict", request, strlen(request), body, sizeof body);
        bool right = status == 200 && same_predictions(body, c->alone[text][threshold_0]);
        c->answered += right;
        if (!right && !(c->stopping && (status == 503 || status == 0)) && !c->wrong++)
            snprintf(c->first_wrong, sizeof c->first_wrong, "%.200s -> %d %.1500s (alone: %.1500s)", request, status,
                     body, c->alone[text][threshold_0]);
    }
    return NULL;
}

/* Each text's answers alone, with and without threshold 0: 2 x SERVE_TEXTS documents predicted. */
static void serve_alone(int port, char alone[SERVE_TEXTS][2][4096])
{
    char request[256];
    for (size_t t = 0; t < SERVE_TEXTS; t++)
        for (int z = 0; z < 2; z++) {
            serve_request(request, sizeof request, t, z);
            CHECK(http(port, "POST", "/predict", request, strlen(request), alone[t][z], sizeof alone[t][z]) == 200);
        }
    // threshold 0 selects every label the scoring keeps: the two answers differ
    CHECK_MSG(strcmp(alone[0][0], alone[0][1]), "threshold 0 changed nothing: %s", alone[0][0]);
}

/* Runs the clients at once; stop_pid: a server to send SIGTERM once they are started (0: none). Returns
 * the documents answered. */
static size_t serve_concurrent(int port, char alone[SERVE_TEXTS][2][4096], pid_t stop_pid)
{
    serve_client clients[SERVE_CLIENTS];
    pthread_t threads[SERVE_CLIENTS];
    bool started[SERVE_CLIENTS];
    for (int i = 0; i < SERVE_CLIENTS; i++) {
        clients[i] = (serve_client){.port = port, .client = i, .stopping = stop_pid != 0, .alone = alone};
        started[i] = pthread_create(&threads[i], NULL, serve_client_run, &clients[i]) == 0;
        CHECK(started[i]);
    }
    if (stop_pid)
        kill(stop_pid, SIGTERM);
    size_t documents = 0;
    for (int i = 0; i < SERVE_CLIENTS; i++) {
        if (!started[i])
            continue;
        pthread_join(threads[i], NULL);
        CHECK_MSG(clients[i].wrong == 0, "client %d: %d wrong answers, the first: %s", i, clients[i].wrong,
                  clients[i].first_wrong);
        documents += clients[i].answered;
    }
    return documents;
}

/* hftc serve: predictions, health, errors as JSON with their statuses, a body over the limit refused,
 * SIGHUP reloads the model file (and keeps the loaded model when the file is no model), concurrent
 * requests, SIGTERM stops it with status 0 (while clients send). model is copied, as the test damages
 * the copy. */
static void check_serve(const char *bin, const char *model_to_copy)
{
    FILE *in = fopen(model_to_copy, "rb"), *out = fopen(tmpfiles_path("serve.hftc"), "wb");
    char buf[1 << 16];
    size_t got;
    while (in && out && (got = fread(buf, 1, sizeof buf, in)) > 0)
        CHECK(fwrite(buf, 1, got, out) == got);
    CHECK(in && out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    const char *model = tmpfiles_path("serve.hftc");
    int err[2];
    if (pipe(err) != 0) {
        CHECK(false);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(err[1], STDERR_FILENO);
        close(err[0]), close(err[1]);
        execl(bin, bin, "serve", "--model", model, "--port", "0", "--threads", "1", "--max-request-mb", "1",
              "--max-request-docs", "3", (char *)NULL);
        _exit(127);
    }
    close(err[1]);
    char line[256], body[4096];
    int port = 0;
    bool listening = read_line_within(err[0], line, sizeof line, 120);
    const char *at = strstr(line, " port ");
    CHECK_MSG(listening && at && sscanf(at, " port %d", &port) == 1 && port > 0, "serve printed: %s", line);
    if (port > 0) {
        CHECK(http(port, "GET", "/health", "", 0, body, sizeof body) == 200 && strstr(body, "\"ok\""));
        static const char request[] = "{\"texts\": [\"the team won the match\", \"a theory of the atom\"]}";
        int status = http(port, "POST", "/predict", request, strlen(request), body, sizeof body);
        json_t *j = json_loads(body, 0, NULL), *predictions = json_object_get(j, "predictions");
        const char *first =
            json_string_value(json_array_get(json_object_get(json_array_get(predictions, 0), "labels"), 0));
        const char *second =
            json_string_value(json_array_get(json_object_get(json_array_get(predictions, 1), "labels"), 0));
        CHECK_MSG(status == 200 && json_array_size(predictions) == 2 && first && !strcmp(first, "sport") && second &&
                      !strcmp(second, "science"),
                  "status %d: %s", status, body);
        json_decref(j);
        static const char one[] = "{\"text\": \"the team won the match\", \"k\": 1, \"threshold\": 0}";
        status = http(port, "POST", "/predict", one, strlen(one), body, sizeof body);
        j = json_loads(body, 0, NULL);
        const json_t *labels = json_object_get(json_array_get(json_object_get(j, "predictions"), 0), "labels");
        CHECK_MSG(status == 200 && json_array_size(labels) == 1, "status %d: %s", status, body);
        json_decref(j);
        static const struct {
            const char *method, *path, *content, *error;
            int status;
        } bad[] = {{"POST", "/predict", "nojson", "not JSON", 400},
                   {"POST", "/predict", "{\"texts\": [1]}", "must be a string", 400},
                   {"POST", "/predict", "{\"text\": \"x\", \"scoring\": \"nope\"}", "unknown scoring", 400},
                   {"POST", "/predict", "{\"text\": \"x\", \"explain\": 2}", "bigru-att", 400},
                   {"POST", "/predict", "{\"texts\": [\"a\", \"b\", \"c\", \"d\"]}", "--max-request-docs", 413},
                   {"GET", "/predict", "", "use POST", 405},
                   {"GET", "/nope", "", "no such path", 404}};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            status = http(port, bad[i].method, bad[i].path, bad[i].content, strlen(bad[i].content), body, sizeof body);
            CHECK_MSG(status == bad[i].status && strstr(body, "\"error\"") && strstr(body, bad[i].error),
                      "%s %s: status %d: %s", bad[i].method, bad[i].path, status, body);
        }
        size_t big = (size_t)3 << 19; /* 1.5 MiB of spaces in a string */
        char *huge = malloc(big);
        if (huge) {
            memset(huge, ' ', big);
            memcpy(huge, "{\"text\": \"", 10);
            memcpy(huge + big - 2, "\"}", 2);
            status = http(port, "POST", "/predict", huge, big, body, sizeof body);
            CHECK_MSG(status == 413 && strstr(body, "--max-request-mb"), "status %d: %s", status, body);
            free(huge);
        }
        // SIGHUP loads the file again; a file that is no model leaves the loaded one serving.
        static const char *const reloads[] = {"reloaded", "goes on serving"};
        for (int i = 0; i < 2; i++) {
            if (i == 1)
                tmpfiles_write_text("serve.hftc", "not a model");
            kill(pid, SIGHUP);
            CHECK_MSG(stderr_line_with(err[0], reloads[i], line, sizeof line), "SIGHUP %d: no \"%s\"", i + 1,
                      reloads[i]);
            status = http(port, "POST", "/predict", request, strlen(request), body, sizeof body);
            CHECK_MSG(status == 200 && strstr(body, "\"sport\""), "after SIGHUP %d: status %d: %s", i + 1, status,
                      body);
        }
        /* Prometheus counters: 2 + 1 documents, then 2 after each reload; one reload of each result */
        status = http(port, "GET", "/metrics", "", 0, body, sizeof body);
        CHECK_MSG(status == 200 && strstr(body, "hftc_documents_total 7\n") &&
                      strstr(body, "hftc_requests_total{status=\"404\"} 1\n") &&
                      strstr(body, "hftc_requests_total{status=\"413\"} 2\n") &&
                      strstr(body, "hftc_model_reloads_total{result=\"loaded\"} 1\n") &&
                      strstr(body, "hftc_model_reloads_total{result=\"failed\"} 1\n") &&
                      strstr(body, "# TYPE hftc_requests_total counter"),
                  "metrics: status %d: %s", status, body);
        /* concurrent single-document requests: batched by the server, each its own answer; the batches
         * (one document at least each) are no more than the requests */
        static char alone[SERVE_TEXTS][2][4096];
        serve_alone(port, alone);
        size_t documents = 7 + 2 * SERVE_TEXTS + serve_concurrent(port, alone, 0);
        CHECK(documents == 7 + 2 * SERVE_TEXTS + SERVE_CLIENTS * SERVE_REQUESTS);
        status = http(port, "GET", "/metrics", "", 0, body, sizeof body);
        unsigned long long counted = 0, batches = 0;
        const char *at_documents = strstr(body, "\nhftc_documents_total "),
                   *at_batches = strstr(body, "\nhftc_predict_batches_total ");
        CHECK_MSG(status == 200 && at_documents && sscanf(at_documents, "\nhftc_documents_total %llu", &counted) == 1 &&
                      counted == documents && at_batches &&
                      sscanf(at_batches, "\nhftc_predict_batches_total %llu", &batches) == 1 && batches >= 1 &&
                      batches <= documents,
                  "metrics: %zu documents expected: %s", documents, body);
        // SIGTERM while clients send: the queued requests are answered, later ones refused, none wrong
        serve_concurrent(port, alone, pid);
    }
    kill(pid, SIGTERM);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    bool stopped = false;
    while (read_line_within(err[0], line, sizeof line, 10))
        stopped = stopped || strstr(line, "SIGTERM: stopping");
    CHECK(stopped);
    close(err[0]);
}

static void test_command_line(void)
{
    const char *bin = getenv("HFTC_BIN");
    if (!bin) {
        fprintf(stderr, "HFTC_BIN not set: run through ctest\n");
        CHECK(bin != NULL);
        return;
    }
    char cmd[1024], out[65536];
    // The command runs OpenBLAS's better kernels where it fell back to its generic ones here, and those
    // OPENBLAS_CORETYPE names where it is set.
    const char *better = hftc_blas_better_kernels(), *kernels = better ? better : hftc_blas_kernels();
    char expected[128];
    snprintf(expected, sizeof expected, "(OpenBLAS %s kernels)", kernels);
    snprintf(cmd, sizeof cmd, "%s --version", bin);
    CHECK(run(cmd, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, expected), "expected %s in: %s", expected, out);
    const char *model = tmpfiles_path("cli.hftc");
    snprintf(cmd, sizeof cmd,
             "%s train --preset flat-cnn --train %s --valid %s --output %s --dim 16 --filters 8 --hidden 32 "
             "--max-len 20 --batch 16 --epochs 3 --lr 0.005 --threads 2 2>&1",
             bin, path_train, path_valid, model);
    CHECK_MSG(run(cmd, out, sizeof out) == 0, "train failed: %s", out);
    CHECK_MSG(strstr(out, "valid_micro_f1") != NULL, "no per-epoch line: %s", out);

    snprintf(cmd, sizeof cmd, "%s test --model %s --input %s --json", bin, model, path_test);
    CHECK(run(cmd, out, sizeof out) == 0);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    CHECK_MSG(json_is_object(j), "test --json printed: %s", out);
    static const char *const keys[] = {"docs", "labels", "micro_f1", "macro_f1", "exact_match", "p@1",
                                       "p@3",  "p@5",    "ndcg@1",   "ndcg@3",   "ndcg@5",      "levels"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        CHECK_MSG(json_object_get(j, keys[i]) != NULL, "missing key %s", keys[i]);
    CHECK(json_integer_value(json_object_get(j, "docs")) == 150);
    json_t *level = json_array_get(json_object_get(j, "levels"), 0);
    CHECK(json_object_get(level, "level") && json_object_get(level, "accuracy"));
    CHECK(json_object_get(j, "per_label") == NULL);
    double macro_f1 = json_real_value(json_object_get(j, "macro_f1")),
           micro_p = json_real_value(json_object_get(j, "micro_precision"));
    json_decref(j);

    /* --per-label: each label's counts, consistent with the summary (macro-F1: the mean F1 of the labels
     * in the gold set; micro precision: correct over predicted), a label unknown to the model at level 0 */
    const char *with_unknown = tmpfiles_path("unknown.tsv");
    snprintf(cmd, sizeof cmd, "cp %s %s && printf 'neverseen\\tthe team won\\n' >> %s", path_test, with_unknown,
             with_unknown);
    CHECK(run(cmd, out, sizeof out) == 0);
    for (int unknown = 0; unknown < 2; unknown++) {
        snprintf(cmd, sizeof cmd, "%s test --model %s --input %s --json --per-label", bin, model,
                 unknown ? with_unknown : path_test);
        CHECK(run(cmd, out, sizeof out) == 0);
        j = json_loads(out, 0, NULL);
        json_t *labels = json_object_get(j, "per_label");
        double f1_sum = 0;
        size_t in_gold = 0, correct = 0, predicted = 0, level0 = 0;
        for (size_t i = 0; i < json_array_size(labels); i++) {
            json_t *l = json_array_get(labels, i);
            size_t support = (size_t)json_integer_value(json_object_get(l, "support"));
            f1_sum += support ? json_real_value(json_object_get(l, "f1")) : 0.0;
            in_gold += support > 0;
            correct += (size_t)json_integer_value(json_object_get(l, "correct"));
            predicted += (size_t)json_integer_value(json_object_get(l, "predicted"));
            level0 += json_integer_value(json_object_get(l, "level")) == 0 &&
                      !strcmp(json_string_value(json_object_get(l, "label")), "neverseen");
        }
        CHECK_MSG(json_array_size(labels) >= 2 && level0 == (size_t)unknown &&
                      in_gold == (size_t)json_integer_value(json_object_get(j, "labels")),
                  "per_label: %s", out);
        /* the JSON holds 6 digits */
        CHECK(fabs(f1_sum / (double)in_gold - json_real_value(json_object_get(j, "macro_f1"))) < 1e-5);
        if (!unknown)
            CHECK(fabs(f1_sum / (double)in_gold - macro_f1) < 1e-5 &&
                  fabs((double)correct / (double)predicted - micro_p) < 1e-5);
        json_decref(j);
    }

    snprintf(cmd, sizeof cmd,
             "printf 'the team won the match\\na theory of the atom\\n' | %s predict --model %s --probs -", bin, model);
    CHECK(run(cmd, out, sizeof out) == 0);
    CHECK_MSG(strncmp(out, "sport:", 6) == 0 && strstr(out, "\nscience:"), "predict printed: %s", out);
    /* a malformed line stops the reading after the answers of the batches before its own (256 each) */
    FILE *jsonl = fopen(tmpfiles_path("stream.jsonl"), "w");
    for (int i = 0; jsonl && i < 300; i++)
        fprintf(jsonl, "{\"text\": \"the team won match %d\"}\n", i);
    if (jsonl) {
        fputs("{\"text\": 7}\n", jsonl);
        fclose(jsonl);
    }
    snprintf(cmd, sizeof cmd,
             "%s predict --model %s --input %s 2>/dev/null | wc -l; %s predict --model %s --input %s 2>&1 >/dev/null",
             bin, model, tmpfiles_path("stream.jsonl"), bin, model, tmpfiles_path("stream.jsonl"));
    CHECK(run(cmd, out, sizeof out) == 1);
    CHECK_MSG(atoi(out) == 256 && strstr(out, "stream.jsonl:301"), "predict printed: %s", out);
    snprintf(cmd, sizeof cmd, "echo 'the team won' | %s predict --model %s --explain 2 2>&1", bin, model);
    CHECK(run(cmd, out, sizeof out) == 1 && strstr(out, "bigru-att")); /* a CNN has no word attention */
    check_predict_answers_each_line(bin, model);
    check_serve(bin, model);

    snprintf(cmd, sizeof cmd, "%s info --model %s", bin, model);
    CHECK(run(cmd, out, sizeof out) == 0);
    CHECK(strstr(out, "flat-cnn") && strstr(out, "conv.2.weight"));

    /* a node model trained under a time limit: exit status 3 until done, then the checkpoint is removed */
    const char *checkpoint = tmpfiles_path("cli.checkpoint"), *node_model = tmpfiles_path("cli-node.hftc");
    snprintf(cmd, sizeof cmd,
             "%s train --preset gru-att --train %s --valid %s --output %s --dim 8 --rnn-hidden 4 --max-len 10 "
             "--epochs 2 --threads 1 --class-weights 1,2 --quiet --checkpoint %s --time-limit 0.000001 2>&1",
             bin, path_train, path_valid, node_model, checkpoint);
    int status, calls = 0;
    char info_cmd[1024];
    snprintf(info_cmd, sizeof info_cmd, "%s info --model %s", bin, checkpoint);
    while ((status = run(cmd, out, sizeof out)) == 3 && ++calls < 50) {
        CHECK_MSG(strstr(out, "time limit") && strstr(out, "cli.checkpoint"), "train printed: %s", out);
        CHECK(run(info_cmd, out, sizeof out) == 0);
        CHECK_MSG(strstr(out, "checkpoint ") && strstr(out, " of 4 classifier runs done"), "info printed: %s", out);
    }
    CHECK_MSG(status == 0 && calls >= 2, "status %d after %d stops: %s", status, calls, out);
    CHECK(access(node_model, F_OK) == 0 && access(checkpoint, F_OK) != 0);
    snprintf(cmd, sizeof cmd, "%s train --preset gru-att --train %s --output %s --checkpoint %s 2>&1", bin, path_train,
             node_model, node_model);
    CHECK(run(cmd, out, sizeof out) == 2 && strstr(out, "--checkpoint"));

    /* tokens: the words train reads, with the preset's tokeniser unless told otherwise */
    const char *words = tmpfiles_write_text("words.tsv", "sport\tThe Team WON, the match!\n");
    snprintf(cmd, sizeof cmd, "%s tokens --input %s && %s tokens --input %s --drop-punct 0 --max-len 4", bin, words,
             bin, words);
    CHECK(run(cmd, out, sizeof out) == 0);
    CHECK_MSG(!strcmp(out, "the team won the match\nthe team won ,\n"), "tokens printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s tokens --input %s > /dev/full 2>&1", bin, words);
    CHECK(run(cmd, out, sizeof out) == 1);

    /* errors: file and line for bad data, a clear message for a bad option, output checked first */
    const char *bad = tmpfiles_write_text("bad.tsv", "sport\tthe match\nno tab on this line\n");
    snprintf(cmd, sizeof cmd, "%s train --train %s --output %s 2>&1", bin, bad, tmpfiles_path("x.hftc"));
    CHECK(run(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "bad.tsv:2") != NULL, "train on bad data printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s train --train %s --output %s --epochs 1x 2>&1", bin, path_train,
             tmpfiles_path("x.hftc"));
    CHECK(run(cmd, out, sizeof out) == 2);
    CHECK(strstr(out, "--epochs") != NULL);
    snprintf(cmd, sizeof cmd, "%s train --train %s --output /nonexistent/dir/x.hftc 2>&1", bin, path_train);
    CHECK(run(cmd, out, sizeof out) == 1);
    CHECK(strstr(out, "/nonexistent/dir") != NULL);
    snprintf(cmd, sizeof cmd, "%s train --help", bin);
    CHECK(run(cmd, out, sizeof out) == 0);
    CHECK(strstr(out, "--max-len") && strstr(out, "[13]"));
    for (size_t i = 0; hftc_preset_name(i); i++) { /* the help lists every preset */
        char listed[64];
        snprintf(listed, sizeof listed, " %s,", hftc_preset_name(i));
        bool last = !hftc_preset_name(i + 1);
        CHECK_MSG(strstr(out, last ? hftc_preset_name(i) : listed), "train --help does not list %s",
                  hftc_preset_name(i));
    }
    snprintf(cmd, sizeof cmd, "%s test --help", bin);
    CHECK(run(cmd, out, sizeof out) == 0);
    CHECK(strstr(out, "--word-cache-mb") && strstr(out, "[2048]"));
}

int main(void)
{
    tmpfiles_init("model");
    path_train = tmpfiles_path("train.tsv");
    path_valid = tmpfiles_path("valid.tsv");
    path_test = tmpfiles_path("test.tsv");
    path_model = tmpfiles_path("model.hftc");
    write_data(path_train, 600, 1);
    write_data(path_valid, 100, 2);
    write_data(path_test, 150, 3);
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    RUN_TEST(test_train_save_load_round_trip);
    RUN_TEST(test_training_is_repeatable);
    RUN_TEST(test_threshold_tuning);
    RUN_TEST(test_pos_weight);
    RUN_TEST(test_xml_cnn_round_trip);
    RUN_TEST(test_onlstm_round_trip);
    RUN_TEST(test_damaged_model_files);
    RUN_TEST(test_taxonomy_training);
    RUN_TEST(test_label_thresholds);
    RUN_TEST(test_softmax_levels);
    RUN_TEST(test_level_strategy);
    RUN_TEST(test_command_line);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
