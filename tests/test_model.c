/* End to end through the library: train a small flat-cnn on generated data, save, load, and check that
 * predictions survive the round trip bit for bit (an XML-CNN too), that training is repeatable and that
 * damaged model files are rejected. The hftc command's contract is checked in test_cli.c. */
#include "hftc.h"
#include "model/model.h"
#include "test.h"
#include "tmpfiles.h"
#include "topics.h"

#include <jansson.h>
#include <omp.h>

static const char *path_model;

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

// The thread counts belong to the training and to each model: hftc_train leaves the calling thread's count as
// it was, a model keeps the count it was loaded with (hftc_set_threads is the default of later loads) until
// hftc_model_set_threads, and predicting on another count changes nothing but rounding.
static void test_thread_counts(void)
{
    hftc_train_options o;
    small_options(&o);
    o.epochs = 1;
    o.threads = 1;
    int before = omp_get_max_threads();
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    CHECK(omp_get_max_threads() == before);
    if (!m)
        return;
    CHECK(m->compute.threads == 1);
    CHECK_STATUS(hftc_model_save(m, path_model), HFTC_STATUS_OK);
    hftc_set_threads(3);
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, path_model), HFTC_STATUS_OK);
    hftc_set_threads(before);
    if (loaded) {
        CHECK(loaded->compute.threads == 3);
        hftc_model_set_threads(loaded, 0);
        CHECK(loaded->compute.threads == omp_get_num_procs());
        hftc_model_set_threads(loaded, 2);
        CHECK(loaded->compute.threads == 2);
    }
    enum { N = 2 * N_PROBES }; /* more than one thread's worth */
    const char *texts[N];
    for (size_t i = 0; i < N; i++)
        texts[i] = probe_texts[i % N_PROBES];
    float p1[N * 2], p2[N * 2];
    CHECK_STATUS(hftc_predict_texts(m, texts, N, p1), HFTC_STATUS_OK);
    if (loaded) {
        CHECK_STATUS(hftc_model_set_word_cache(loaded, 0), HFTC_STATUS_OK);
        CHECK_STATUS(hftc_predict_texts(loaded, texts, N, p2), HFTC_STATUS_OK);
        CHECK_MSG(test_max_diff(p1, p2, N * 2) <= 1e-6, "1 and 2 threads differ by %.3g", test_max_diff(p1, p2, N * 2));
        CHECK(omp_get_max_threads() == before);
    }
    hftc_model_free(loaded);
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
/* Blanks the checksums entry of a model file's header (bytes: the whole file, NUL-terminated) and makes it
 * format version 1: the file then reads as one written before hftc kept checksums, so that an edit of its
 * header reaches the checks of what it says rather than the checksum's. The entry is the last metadata
 * entry: its leading comma goes with it. */
static void strip_checksums(char *bytes)
{
    char *version = strstr(bytes + 8, "\"format_version\":\"2\"");
    if (version)
        version[strlen("\"format_version\":\"")] = '1';
    char *at = strstr(bytes + 8, ",\"hftc_checksums\":\"");
    char *end = at ? at + strlen(",\"hftc_checksums\":\"") : NULL;
    while (end && *end && (*end != '"' || end[-1] == '\\')) /* the string's end: its first unescaped quote */
        end++;
    if (end && *end)
        memset(at, ' ', (size_t)(end + 1 - at));
}

static const char *edit_pool_chunks(const char *path, const char *name, const char *entry)
{
    size_t size;
    // The header follows its 8-byte length, whose zero bytes would end strstr's search.
    char *bytes = file_bytes(path, &size);
    if (bytes && size > 8)
        strip_checksums(bytes);
    char *key = bytes && size > 8 ? strstr(bytes + 8, "\\\"pool_chunks\\\":") : NULL;
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

// The model file at path with field of its metadata key (a JSON object inside a JSON string) set to value, raw
// JSON text ("1e300", "NaN"), the header rewritten around it (padded to 8 bytes, its length updated).
// Returns the new file's path, or NULL.
static const char *edit_stored(const char *path, const char *name, const char *key, const char *field,
                               const char *value)
{
    size_t size = 0, len = 0;
    char *bytes = file_bytes(path, &size), *edited = NULL, *text = NULL, *header_text = NULL, *file = NULL;
    for (int i = 0; bytes && size > 8 && i < 8; i++)
        len |= (size_t)(unsigned char)bytes[i] << (8 * i);
    json_t *header = bytes && size > 8 && len <= size - 8 ? json_loadb(bytes + 8, len, 0, NULL) : NULL;
    json_t *meta = json_object_get(header, "__metadata__");
    json_object_del(meta, "hftc_checksums"); /* an unchecked file (version 1): the edit reaches the checks of */
    json_object_set_new(meta, "format_version", json_string("1")); /* its values */
    const char *stored = json_string_value(json_object_get(meta, key));
    json_t *entry = stored ? json_loads(stored, 0, NULL) : NULL;
    const char *out = NULL;
    if (json_is_object(entry) && json_object_set_new(entry, field, json_string("@VALUE@")) == 0)
        edited = json_dumps(entry, JSON_COMPACT | JSON_REAL_PRECISION(9));
    char *mark = edited ? strstr(edited, "\"@VALUE@\"") : NULL;
    if (mark && (text = malloc(strlen(edited) + strlen(value) + 1)) != NULL) {
        *mark = '\0';
        sprintf(text, "%s%s%s", edited, value, mark + strlen("\"@VALUE@\""));
        json_object_set_new(meta, key, json_string(text));
        header_text = json_dumps(header, JSON_COMPACT);
    }
    size_t header_len = header_text ? strlen(header_text) : 0, padded = (header_len + 7) / 8 * 8;
    size_t data = header_text ? size - 8 - len : 0;
    if (header_text && (file = malloc(8 + padded + data)) != NULL) {
        for (int i = 0; i < 8; i++)
            file[i] = (char)(padded >> (8 * i));
        memcpy(file + 8, header_text, header_len);
        memset(file + 8 + header_len, ' ', padded - header_len);
        memcpy(file + 8 + padded, bytes + 8 + len, data);
        out = tmpfiles_write(name, file, 8 + padded + data);
    }
    json_decref(entry), json_decref(header);
    free(bytes), free(edited), free(text), free(header_text), free(file);
    return out;
}

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

// XML-CNN (the "xml-cnn" preset's dynamic max pooling, here 2 chunks): trains, survives save + load bit for
// bit, and the chunk count is read back from the file, 1 when the key is missing.
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
    char *described = loaded ? hftc_model_describe(loaded) : NULL; /* an unchecked file says so */
    CHECK(described && strstr(described, "\"checksums\": \"none"));
    free(described);
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
    snprintf(o.rnn_pool, sizeof o.rnn_pool, "min");
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

// The HFT-ONLSTM paper's flat BiLSTM baselines (presets bilstm-max and bilstm-mean) at a small size: each learns
// the topics well above chance, its file keeps the encoder, the pooling and both directions' tensors, and it
// predicts the same after save + load.
static void test_bilstm_presets(void)
{
    static const char *const presets[] = {"bilstm-max", "bilstm-mean"}, *const pools[] = {"max", "mean"};
    for (size_t i = 0; i < 2; i++) {
        hftc_train_options o;
        CHECK_STATUS(hftc_train_options_init(&o, presets[i]), HFTC_STATUS_OK);
        o.train_path = path_train, o.valid_path = path_valid;
        o.dim = 16, o.rnn_hidden = 8, o.hidden = 12, o.max_len = 20, o.batch = 16, o.epochs = 8, o.lr = 5e-3f;
        o.seed = 7;
        o.freeze_embeddings = 0; /* random vectors: let them learn */
        hftc_model *m = train_and_check(&o, 0.85, presets[i]);
        if (!m)
            continue;
        char *d = hftc_model_describe(m);
        json_t *j = d ? json_loads(d, 0, NULL) : NULL, *cfg = json_object_get(j, "config");
        CHECK_MSG(!strcmp(json_string_value(json_object_get(cfg, "encoder")), "bilstm") &&
                      !strcmp(json_string_value(json_object_get(cfg, "rnn_pool")), pools[i]) &&
                      json_integer_value(json_object_get(cfg, "rnn_hidden")) == 8,
                  "%s: config %.300s", presets[i], d ? d : "(none)");
        CHECK(d && strstr(d, "\"lstm.weight_ih_l0\"") && strstr(d, "\"lstm.bias_hh_l0_reverse\"") &&
              !strstr(d, "conv."));
        json_decref(j);
        free(d);
        check_save_load_same(m, "bilstm.hftc", presets[i]);
    }
}

/* The transfer lines of the level strategy's log. */
static void capture_transfer(hftc_log_level level, const char *message, void *user)
{
    (void)level;
    if (strstr(message, " starts from "))
        snprintf(user, 256, "%s", message);
}

// The ngram preset (fastText's model): it learns, the model file keeps the bucket count and the bucket table and
// predicts the same after save + load; fine-tuned level by level (--transfer-layers embedding,ngram: both tables
// move) it trains, saves and loads; as node classifiers sharing one frozen embedding (whose lookup the others
// share at inference) each reads its batch's token ids, and a document scores the same alone as in a batch.
static void test_ngram(void)
{
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, "ngram"), HFTC_STATUS_OK);
    o.train_path = path_train, o.valid_path = path_valid;
    o.dim = 16, o.buckets = 5000, o.batch = 16, o.epochs = 6, o.seed = 7;
    hftc_model *m = train_and_check(&o, 0.9, "ngram");
    if (m) {
        char *d = hftc_model_describe(m);
        json_t *j = d ? json_loads(d, 0, NULL) : NULL, *cfg = json_object_get(j, "config");
        CHECK(!strcmp(json_string_value(json_object_get(cfg, "encoder")), "ngram") &&
              json_integer_value(json_object_get(cfg, "buckets")) == 5000);
        CHECK(d && strstr(d, "\"ngram.buckets\"") && !strstr(d, "conv.") &&
              json_integer_value(json_object_get(j, "frozen")) == 0);
        json_decref(j);
        free(d);
        check_save_load_same(m, "ngram.hftc", "ngram");
    }

    o.epochs = 4;
    snprintf(o.strategy, sizeof o.strategy, "level");
    snprintf(o.transfer, sizeof o.transfer, "finetune");
    snprintf(o.transfer_layers, sizeof o.transfer_layers, "embedding,ngram");
    o.taxonomy_path = tmpfiles_write_text("ngram.taxonomy", "Root\ttopic\ntopic\tsport\tscience\n");
    char transferred[256] = "";
    hftc_set_log(capture_transfer, HFTC_LOG_INFO, transferred);
    m = train_and_check(&o, 0.9, "ngram, level + finetune");
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    CHECK_MSG(strstr(transferred, "level2 starts from level1: 2 tensors"), "%s", transferred);
    if (m) {
        char *d = hftc_model_describe(m);
        CHECK(m->n_parts == 2 && d && strstr(d, "level2.ngram.buckets"));
        free(d);
        size_t C = hftc_model_num_labels(m);
        float before[N_PROBES * 3];
        CHECK(C == 3);
        CHECK_STATUS(hftc_predict_texts(m, probe_texts, N_PROBES, before), HFTC_STATUS_OK);
        const char *path = tmpfiles_path("ngram-levels.hftc");
        CHECK_STATUS(hftc_model_save(m, path), HFTC_STATUS_OK);
        hftc_model *loaded = NULL;
        CHECK_STATUS(hftc_model_load(&loaded, path), HFTC_STATUS_OK);
        if (loaded)
            test_check_loaded_predictions(loaded, probe_texts, N_PROBES, C, before, "ngram levels");
        hftc_model_free(loaded);
        hftc_model_free(m);
    }

    snprintf(o.strategy, sizeof o.strategy, "node");
    snprintf(o.transfer, sizeof o.transfer, "none");
    o.taxonomy_path = NULL;
    o.freeze_embeddings = 1;
    m = train_and_check(&o, 0.85, "ngram, node classifiers sharing a frozen embedding");
    if (m) {
        float alone[N_PROBES * 2], together[N_PROBES * 2];
        CHECK_STATUS(hftc_predict_texts(m, probe_texts, N_PROBES, together), HFTC_STATUS_OK);
        for (size_t i = 0; i < N_PROBES; i++) /* one document at a time: each batch's own tokens */
            CHECK_STATUS(hftc_predict_texts(m, probe_texts + i, 1, alone + 2 * i), HFTC_STATUS_OK);
        /* the same sums, but for the output layer's products, which BLAS may round by the batch's size */
        CHECK_MSG(test_max_diff(alone, together, N_PROBES * 2) <= 1e-6, "node ngram: %.3g",
                  test_max_diff(alone, together, N_PROBES * 2));
        hftc_model_free(m);
    }
}

// SGD at a rate far too high (--lr 10 on the loss summed over the batch and the outputs) diverges in its first
// epoch; the trainer starts over at half the rate until it does not, records each restart, and the model learns
// as at a sound rate. The same options give the same model again (the restarts are deterministic).
static void test_sgd_recovers_from_divergence(void)
{
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, "ngram"), HFTC_STATUS_OK);
    o.train_path = path_train, o.valid_path = path_valid;
    o.dim = 16, o.buckets = 5000, o.batch = 16, o.epochs = 6, o.patience = 6, o.seed = 7, o.lr = 10.0f;
    hftc_model *m = train_and_check(&o, 0.9, "ngram from a diverging rate");
    if (!m)
        return;
    char *d = hftc_model_describe(m);
    const char *restarts_at = d ? strstr(d, "\"restarts\"") : NULL;
    CHECK_MSG(restarts_at && strstr(restarts_at, "\"diverged_in_epoch\"") && strstr(d, "\"from_epoch\""),
              "no restart recorded: %.300s", restarts_at ? restarts_at : "(none)");
    free(d);
    float first[N_PROBES * 2], again[N_PROBES * 2];
    CHECK_STATUS(hftc_predict_texts(m, probe_texts, N_PROBES, first), HFTC_STATUS_OK);
    hftc_model_free(m);
    m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (m) {
        CHECK_STATUS(hftc_predict_texts(m, probe_texts, N_PROBES, again), HFTC_STATUS_OK);
        CHECK_MSG(test_max_diff(first, again, N_PROBES * 2) == 0.0, "a second training differs by %.3g",
                  test_max_diff(first, again, N_PROBES * 2));
        hftc_model_free(m);
    }
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
    if (meta) { /* the checksum sees the change; without the checksums, the format's name is not hftc's */
        meta[10] = 'X';
        const char *damaged = tmpfiles_write("damaged.hftc", bytes, (size_t)size);
        hftc_model *m = NULL;
        CHECK_STATUS(hftc_model_load(&m, damaged), HFTC_STATUS_MODEL);
        CHECK_MSG(strstr(hftc_last_error(), "does not match its checksum") != NULL, "%s", hftc_last_error());
        strip_checksums(bytes);
        damaged = tmpfiles_write("damaged.hftc", bytes, (size_t)size);
        CHECK_STATUS(hftc_model_load(&m, damaged), HFTC_STATUS_MODEL);
        CHECK_MSG(strstr(hftc_last_error(), "not an hftc model") != NULL, "%s", hftc_last_error());
    }
    /* a flipped bit in the weights (the file's last byte): the tensor's checksum (not finite values are
     * refused as well: test_safetensors) */
    f = fopen(path_model, "rb"); /* bytes as saved again */
    CHECK(f && fread(bytes, 1, (size_t)size, f) == (size_t)size);
    if (f)
        fclose(f);
    bytes[size - 1] ^= 0x04;
    const char *flipped = tmpfiles_write("damaged.hftc", bytes, (size_t)size);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_model_load(&m, flipped), HFTC_STATUS_MODEL);
    CHECK_MSG(strstr(hftc_last_error(), "damaged.hftc") && strstr(hftc_last_error(), "does not match its checksum"),
              "%s", hftc_last_error());
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

/* Every stored setting is checked on load as train checks its option (core/bounds.h): a model file whose
 * threshold, label threshold, dropout or size is out of range, or not a number JSON can hold, is refused with
 * the file and the key named (a threshold of 1e300 made `info` fail with "out of memory" and predict print
 * nothing; -5 selected every label). The model is test_label_thresholds's, which has label thresholds. */
static void test_stored_values_checked(void)
{
    const char *saved = tmpfiles_path("thresholds.hftc");
    const char *same = edit_stored(saved, "stored.hftc", "config", "threshold", "0.375");
    hftc_model *m = NULL;
    CHECK_STATUS(same ? hftc_model_load(&m, same) : HFTC_STATUS_MODEL, HFTC_STATUS_OK); /* the edit itself */
    CHECK(m && hftc_model_threshold(m) == 0.375f);
    hftc_model_free(m);
    static const struct {
        const char *key, *field, *value, *named;
    } cases[] = {
        {"config", "threshold", "1e300", "\"threshold\""},
        {"config", "threshold", "-5", "\"threshold\""},
        {"config", "threshold", "NaN", "\"config\""},
        {"config", "threshold", "1e400", "\"config\""}, /* a double's overflow: inf */
        {"config", "embed_dropout", "1", "\"embed_dropout\""},
        {"config", "hidden_dropout", "-0.5", "\"hidden_dropout\""},
        {"config", "hidden", "70000", "\"hidden\""},
        {"config", "filters", "70000", "\"filters\""},
        {"config", "max_len", "100001", "\"max_len\""},
        {"config", "embed_dim", "0", "\"embed_dim\""},
        {"config", "scoring", "\"none\"", "\"scoring\""},
        {"config", "strategy", "\"tree\"", "\"strategy\""},
        {"label_thresholds", "sport", "1.5", "\"label_thresholds\""},
        {"label_thresholds", "topic", "-0.1", "\"label_thresholds\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *edited = edit_stored(saved, "stored.hftc", cases[i].key, cases[i].field, cases[i].value);
        CHECK_MSG(edited != NULL, "could not edit %s", cases[i].field);
        m = NULL;
        hftc_status st = edited ? hftc_model_load(&m, edited) : HFTC_STATUS_MODEL;
        const char *message = st == HFTC_STATUS_OK ? "loaded" : hftc_last_error();
        CHECK_MSG(st == HFTC_STATUS_MODEL && !m && strstr(message, "stored.hftc") && strstr(message, cases[i].named),
                  "%s %s = %s: %s", cases[i].key, cases[i].field, cases[i].value, message);
        hftc_model_free(m);
    }
}

/* The model file's format version says what "msf" means: version 2 (written now, with checksums) the paper's
 * MSF, version 1 (hftc before it) the product thresholded, which loads as "product"; other versions are
 * refused, naming the versions read. The model is test_label_thresholds's, its scoring set to msf and saved
 * (version 2), and that file's stored scoring edited as a version 1 file (edit_stored). */
static void test_format_versions(void)
{
    hftc_model *m = NULL;
    const char *saved = tmpfiles_path("thresholds.hftc"), *v2 = tmpfiles_path("msf2.hftc");
    CHECK_STATUS(hftc_model_load(&m, saved), HFTC_STATUS_OK);
    if (m) {
        m->scoring = SCORING_MSF;
        CHECK_STATUS(hftc_model_save(m, v2), HFTC_STATUS_OK);
        hftc_model_free(m);
        m = NULL;
        CHECK_STATUS(hftc_model_load(&m, v2), HFTC_STATUS_OK);
        CHECK(m && !strcmp(hftc_model_scoring(m), "msf"));
        hftc_model_free(m);
    }
    const char *msf = edit_stored(v2, "msf.hftc", "config", "scoring", "\"msf\"");
    size_t size = 0;
    char *bytes = msf ? file_bytes(msf, &size) : NULL;
    char *version = NULL;
    for (size_t i = 8; bytes && !version && i + 20 <= size; i++) /* the header may hold zero bytes: no strstr */
        version = memcmp(bytes + i, "\"format_version\":\"1\"", 20) ? NULL : bytes + i + 18;
    CHECK(version != NULL);
    static const struct {
        char version;
        const char *scoring; /* NULL: refused */
    } cases[] = {{'1', "product"}, {'3', NULL}, {'0', NULL}};
    for (size_t i = 0; version && i < sizeof cases / sizeof *cases; i++) {
        *version = cases[i].version;
        const char *path = tmpfiles_write("version.hftc", bytes, size);
        m = NULL;
        hftc_status st = hftc_model_load(&m, path);
        if (cases[i].scoring)
            CHECK_MSG(st == HFTC_STATUS_OK && m && !strcmp(hftc_model_scoring(m), cases[i].scoring), "version %c: %s",
                      cases[i].version, m ? hftc_model_scoring(m) : hftc_last_error());
        else
            CHECK_MSG(st == HFTC_STATUS_MODEL && strstr(hftc_last_error(), "version.hftc") &&
                          strstr(hftc_last_error(), "reads versions 1 to 2"),
                      "version %c: %s", cases[i].version, st == HFTC_STATUS_OK ? "loaded" : hftc_last_error());
        hftc_model_free(m);
    }
    free(bytes);
}

/* The warnings of a training, the last kept. */
static void capture_warning(hftc_log_level level, const char *message, void *user)
{
    if (level == HFTC_LOG_WARN)
        snprintf(user, 512, "%s", message);
}

// A validation label no output stands for: outside the taxonomy it is an error naming the file and line, as in the
// training data; without a taxonomy, a label in no training document is kept in the gold sets, and said.
static void test_valid_unknown_labels(void)
{
    hftc_train_options o;
    small_options(&o);
    o.epochs = 1;
    o.valid_path = tmpfiles_write_text("unknown-valid.tsv", "sport\tmatch goal team\ncooking\tmatch goal\n");
    o.taxonomy_path = tmpfiles_write_text("unknown-valid.taxonomy", taxonomy_text);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_FORMAT);
    char expected[512];
    snprintf(expected, sizeof expected, "%s:2: label \"cooking\" is not in the taxonomy", o.valid_path);
    CHECK_MSG(strcmp(hftc_last_error(), expected) == 0, "%s", hftc_last_error());
    CHECK(m == NULL);

    o.taxonomy_path = NULL;
    char warning[512] = "";
    hftc_set_log(capture_warning, HFTC_LOG_WARN, warning);
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    CHECK_MSG(strstr(warning, ": 1 label in no training document (the first, \"cooking\", on line 2)"), "%s", warning);
    hftc_model_free(m);
}

// A level whose validation documents have none of its labels (here: every validation document is labelled "topic"
// alone) is validated on a hold-out of its training documents instead, said in a warning and in its record.
static void test_level_without_valid_positives(void)
{
    hftc_train_options o;
    small_options(&o);
    o.epochs = 2;
    snprintf(o.strategy, sizeof o.strategy, "level");
    o.taxonomy_path = tmpfiles_write_text("held.taxonomy", taxonomy_text);
    o.valid_path = tmpfiles_write_text("held-valid.tsv", "topic\tmatch goal team\ntopic\tcell atom\n");
    char warning[512] = "";
    hftc_set_log(capture_warning, HFTC_LOG_WARN, warning);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    CHECK_MSG(strstr(warning, "level2: no validation document has a label among its 2 outputs"), "%s", warning);
    char *d = m ? hftc_model_describe(m) : NULL;
    CHECK_MSG(d && strstr(d, "\"valid_held_out\""), "no hold-out in the record");
    free(d);
    hftc_model_free(m);
}

// Data a model can learn little from trains, and a warning says why: every document with the same text; a label
// with one training document.
static void test_degenerate_data_warned(void)
{
    hftc_train_options o;
    small_options(&o);
    o.epochs = 1;
    o.valid_path = NULL;
    char text[4096] = "";
    for (int i = 0; i < 40; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s\tthe same words\n", i % 2 ? "sport" : "science");
    o.train_path = tmpfiles_write_text("same.tsv", text);
    char warning[512] = "";
    hftc_set_log(capture_warning, HFTC_LOG_WARN, warning);
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    CHECK_MSG(strstr(warning, "all 40 documents have the same text"), "%s", warning);
    hftc_model_free(m);
    m = NULL;
    snprintf(text + strlen(text), sizeof text - strlen(text), "rare\tother words\n");
    o.train_path = tmpfiles_write_text("one.tsv", text);
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    CHECK_MSG(strstr(warning, "1 label has one training document (\"rare\")"), "%s", warning);
    hftc_model_free(m);
}

/* Weights that are finite each but overflow float32 in the layers (a damaged file with its checksums made again:
 * fuzz_model found one) make prediction fail with a message, not return NaN probabilities. */
static void test_overflowing_weights(void)
{
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_model_load(&m, path_model), HFTC_STATUS_OK);
    if (!m)
        return;
    hftc_model_set_word_cache(m, 0); /* the cache holds products of the weights before the edit */
    /* every layer overflows to +inf, then the output layer's weights of both signs make inf - inf */
    for (size_t p = 0; p < m->n_parts; p++) {
        param_set *ps = network_params(m->parts[p].net);
        for (size_t i = 0; i < ps->n_tensors; i++)
            for (size_t j = 0; j < ps->tensors[i].size; j++)
                ps->tensors[i].value[j] = strcmp(ps->tensors[i].name, "out.weight") || j % 2 ? 3e38f : -3e38f;
    }
    float *probs = malloc(2 * hftc_model_num_labels(m) * sizeof *probs);
    hftc_status st = probs ? hftc_predict_texts(m, probe_texts, 2, probs) : HFTC_STATUS_OUT_OF_MEMORY;
    CHECK_MSG(st == HFTC_STATUS_MODEL && strstr(hftc_last_error(), "its weights overflow float32"), "%s",
              st == HFTC_STATUS_OK ? "predicted" : hftc_last_error());
    free(probs);
    hftc_model_free(m);
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
    /* BSF and product never select a child without its parent, even at a threshold that would */
    const char *scorings[] = {"bsf", "product"};
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
// Copies src's lines to tmpfiles name, each through edit: it writes the line (labels, then from the tab on),
// changed or not, to out, or leaves it out. Returns the copy's path.
typedef void (*line_edit)(const char *line, const char *tab, FILE *out, void *user);
static const char *copy_edited(const char *src, const char *name, line_edit edit, void *user)
{
    const char *path = tmpfiles_path(name);
    FILE *in = fopen(src, "r"), *out = fopen(path, "w");
    char line[1024];
    while (in && out && fgets(line, sizeof line, in)) {
        const char *tab = strchr(line, '\t');
        if (tab)
            edit(line, tab, out, user);
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return path;
}

// Keeps the lines whose label field has no comma (single-label documents).
static void keep_single_label(const char *line, const char *tab, FILE *out, void *user)
{
    (void)user;
    if (!memchr(line, ',', (size_t)(tab - line)))
        fputs(line, out);
}

static const char *single_label_copy(const char *src, const char *name)
{
    return copy_edited(src, name, keep_single_label, NULL);
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
          o.batchnorm && !strcmp(o.hidden_activation, "tanh") && !strcmp(o.scoring, "argmax") &&
          !strcmp(o.early_stop, "accuracy") && o.lr_patience == 3 && o.lr_decay == 0.1f && o.freeze_embeddings &&
          !strcmp(o.transfer, "finetune") && !strcmp(o.transfer_layers, "embedding,onlstm") && o.batch == 64);
    o.train_path = train_single, o.valid_path = valid_single;
    o.taxonomy_path = tmpfiles_path("softmax.taxonomy");
    o.dim = 16, o.rnn_hidden = 20, o.hidden = 16, o.max_len = 20, o.epochs = 6, o.lr = 5e-3f, o.seed = 7;
    o.freeze_embeddings = 0; /* random vectors: let them learn */
    m = train_and_check(&o, 0.5, "hft-onlstm-nojoint");
    if (m) {
        CHECK(!strcmp(hftc_model_scoring(m), "argmax"));
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

// Relabels every fifth document "other" (a top-level category without children: it reaches level 1 only) and
// the "sport" documents that say "goal" also "football" (level 3); counts[0] counts the relabelled ones,
// counts[1] all.
static void add_shallow_documents(const char *line, const char *tab, FILE *out, void *user)
{
    size_t *counts = user;
    if (counts[1]++ % 5 == 0)
        fprintf(out, "other%s", tab), counts[0]++;
    else if (!strncmp(line, "sport\t", 6) && strstr(tab, "goal"))
        fprintf(out, "sport,football%s", tab);
    else
        fputs(line, out);
}

// --level-docs: the HFT-CNN presets train level k on the documents with a category at level k or k - 1 (the
// authors' code), so the "other" documents, which stop at level 1, train levels 1 and 2 but not level 3;
// --level-docs all trains every level on every document. The other presets take all; reach needs levels.
static void test_level_docs_training(void)
{
    size_t train[2] = {0}, valid[2] = {0}; /* the "other" documents, all */
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, "hft-cnn"), HFTC_STATUS_OK);
    CHECK(!strcmp(o.level_docs, "reach"));
    o.train_path = copy_edited(path_train, "shallow-train.tsv", add_shallow_documents, train);
    o.valid_path = copy_edited(path_valid, "shallow-valid.tsv", add_shallow_documents, valid);
    o.taxonomy_path =
        tmpfiles_write_text("shallow.taxonomy", "Root\ttopic\tother\ntopic\tsport\tscience\nsport\tfootball\n");
    o.dim = 16, o.filters = 8, o.hidden = 32, o.max_len = 20, o.batch = 16, o.epochs = 1, o.lr = 5e-3f;
    for (int reach = 1; reach >= 0; reach--) {
        snprintf(o.level_docs, sizeof o.level_docs, reach ? "reach" : "all");
        hftc_model *m = NULL;
        CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
        if (!m)
            continue;
        json_t *record = json_loads(m->training_json, 0, NULL), *parts = json_object_get(record, "parts");
        CHECK(m->n_parts == 3 && json_array_size(parts) == 3);
        for (size_t p = 0; p < json_array_size(parts); p++) {
            json_t *part = json_array_get(parts, p);
            size_t tr = (size_t)json_integer_value(json_object_get(part, "train_docs"));
            size_t va = (size_t)json_integer_value(json_object_get(part, "valid_docs"));
            bool deep = reach && p == 2;
            CHECK_MSG(tr == (deep ? train[1] - train[0] : train[1]) && va == (deep ? valid[1] - valid[0] : valid[1]),
                      "%s, level %zu: %zu training and %zu validation documents", o.level_docs, p + 1, tr, va);
        }
        json_decref(record);
        hftc_model_free(m);
    }
    static const char *const all_presets[] = {"flat-cnn", "xml-cnn", "gru-att", "hft-onlstm", "ngram"};
    for (size_t i = 0; i < sizeof all_presets / sizeof *all_presets; i++) {
        CHECK_STATUS(hftc_train_options_init(&o, all_presets[i]), HFTC_STATUS_OK);
        CHECK_MSG(!strcmp(o.level_docs, "all"), "%s: %s", all_presets[i], o.level_docs);
    }
    CHECK_STATUS(hftc_train_options_init(&o, "hft-cnn"), HFTC_STATUS_OK);
    o.train_path = path_train;
    snprintf(o.strategy, sizeof o.strategy, "flat");
    const char *problem = hftc_train_options_check(&o);
    CHECK_MSG(problem && strstr(problem, "--level-docs reach"), "%s", problem ? problem : "accepted");
    snprintf(o.strategy, sizeof o.strategy, "level");
    snprintf(o.family, sizeof o.family, "linear");
    problem = hftc_train_options_check(&o);
    CHECK_MSG(problem && strstr(problem, "--level-docs reach"), "linear: %s", problem ? problem : "accepted");
    snprintf(o.level_docs, sizeof o.level_docs, "deep");
    problem = hftc_train_options_check(&o);
    CHECK_MSG(problem && strstr(problem, "--level-docs must be all or reach"), "%s", problem ? problem : "accepted");
}

// XML-CNN(2) (--conv-stride 2): learns, the file keeps the stride ("conv_stride", written only when above 1) and
// predicts the same after save + load.
static void test_xml_cnn2_round_trip(void)
{
    hftc_train_options o;
    small_options(&o);
    o.pool_chunks = 2, o.conv_stride = 2, o.epochs = 3;
    hftc_model *m = train_and_check(&o, 0.85, "XML-CNN(2) after 3 epochs");
    if (!m)
        return;
    char *d = hftc_model_describe(m);
    json_t *j = d ? json_loads(d, 0, NULL) : NULL;
    CHECK(json_integer_value(json_object_get(json_object_get(j, "config"), "conv_stride")) == 2);
    json_decref(j);
    free(d);
    const char *path = check_save_load_same(m, "xml2.hftc", "XML-CNN(2)");
    hftc_model *loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, path), HFTC_STATUS_OK);
    d = loaded ? hftc_model_describe(loaded) : NULL;
    CHECK(d && strstr(d, "\"conv_stride\": 2"));
    free(d);
    hftc_model_free(loaded);
    loaded = NULL;
    CHECK_STATUS(hftc_model_load(&loaded, path_model), HFTC_STATUS_OK); /* stride 1: no key in its config */
    d = loaded ? hftc_model_describe(loaded) : NULL;
    j = d ? json_loads(d, 0, NULL) : NULL;
    CHECK(json_object_get(j, "config") && !json_object_get(json_object_get(j, "config"), "conv_stride"));
    json_decref(j);
    free(d);
    hftc_model_free(loaded);
}

// Fine-tuning that leaves the embedding out of --transfer-layers: every level's embedding starts from the word
// vectors (levels 2+ started random), and with --freeze-embeddings keeps them.
static void test_vectors_without_embedding_transfer(void)
{
    static const char vectors[] = "2 16\nteam 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\natom 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, "hft-cnn"), HFTC_STATUS_OK);
    o.train_path = path_train, o.valid_path = path_valid;
    o.taxonomy_path = tmpfiles_write_text("topics.taxonomy", taxonomy_text);
    o.embeddings_path = tmpfiles_write_text("levels.vec", vectors);
    o.filters = 8, o.hidden = 32, o.max_len = 20, o.batch = 16, o.epochs = 1, o.lr = 5e-3f;
    o.freeze_embeddings = 1;
    snprintf(o.transfer_layers, sizeof o.transfer_layers, "conv");
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    CHECK(m->n_parts == 2 && m->net_config.embed_dim == 16);
    static const char *const words[] = {"team", "atom"};
    for (size_t p = 0; p < m->n_parts; p++) {
        const tensor *emb = params_find(network_params(m->parts[p].net), "embedding.weight");
        for (size_t w = 0; emb && w < 2; w++) {
            const float *row = emb->value + (size_t)vocab_lookup(&m->vocab, words[w], 4) * 16;
            bool same = true;
            for (size_t k = 0; k < 16; k++)
                same = same && row[k] == (k == w ? 1.0f : 0.0f);
            CHECK_MSG(same, "%s: \"%s\" does not start from its vector", m->parts[p].name, words[w]);
        }
    }
    hftc_model_free(m);
}

// --early-stop weighted-f1 (gru-att-multi's, as the HTrans paper selects its multi-label model): each epoch's
// validation weighted F1 is recorded and the best epoch is the first with the highest; the evaluation
// reports the same figure, between the labels' worst and best F1.
static void test_early_stop_weighted_f1(void)
{
    hftc_train_options o;
    small_options(&o);
    o.epochs = 4, o.patience = 100, o.lr = 1e-3f;
    snprintf(o.early_stop, sizeof o.early_stop, "weighted-f1");
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    json_t *record = json_loads(m->training_json, 0, NULL);
    json_t *part = json_array_get(json_object_get(record, "parts"), 0), *epoch;
    size_t i, best_epoch = 0;
    double best = -1.0;
    bool recorded = true;
    json_array_foreach(json_object_get(part, "epochs"), i, epoch)
    {
        json_t *f1 = json_object_get(epoch, "valid_weighted_f1");
        recorded = recorded && json_is_number(f1);
        if (json_number_value(f1) > best)
            best = json_number_value(f1), best_epoch = i + 1;
    }
    CHECK_MSG(recorded && i == 4 && (size_t)json_integer_value(json_object_get(part, "best_epoch")) == best_epoch,
              "best epoch %lld, the weighted F1's %zu",
              (long long)json_integer_value(json_object_get(part, "best_epoch")), best_epoch);
    json_decref(record);
    hftc_input_options in = {.path = path_valid, .format = "auto", .threshold = -1.0f, .per_label = 1};
    hftc_evaluation e;
    CHECK_STATUS(hftc_evaluate(m, &in, &e), HFTC_STATUS_OK);
    double lowest = 1.0, highest = 0.0;
    for (size_t l = 0; l < e.n_per_label; l++)
        if (e.per_label[l].support)
            lowest = fmin(lowest, e.per_label[l].f1), highest = fmax(highest, e.per_label[l].f1);
    CHECK_MSG(fabs(e.weighted_f1 - best) < 1e-6 && e.weighted_f1 >= lowest && e.weighted_f1 <= highest,
              "weighted F1 %.6f, recorded %.6f", e.weighted_f1, best);
    hftc_evaluation_free(&e);
    hftc_model_free(m);
    CHECK_STATUS(hftc_train_options_init(&o, "gru-att-multi"), HFTC_STATUS_OK);
    CHECK(!strcmp(o.early_stop, "weighted-f1"));
}

int main(void)
{
    tmpfiles_init("model");
    topics_write_splits();
    path_model = tmpfiles_path("model.hftc");
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    RUN_TEST(test_train_save_load_round_trip);
    RUN_TEST(test_training_is_repeatable);
    RUN_TEST(test_thread_counts);
    RUN_TEST(test_threshold_tuning);
    RUN_TEST(test_pos_weight);
    RUN_TEST(test_xml_cnn_round_trip);
    RUN_TEST(test_xml_cnn2_round_trip);
    RUN_TEST(test_onlstm_round_trip);
    RUN_TEST(test_bilstm_presets);
    RUN_TEST(test_ngram);
    RUN_TEST(test_sgd_recovers_from_divergence);
    RUN_TEST(test_damaged_model_files);
    RUN_TEST(test_taxonomy_training);
    RUN_TEST(test_valid_unknown_labels);
    RUN_TEST(test_level_without_valid_positives);
    RUN_TEST(test_degenerate_data_warned);
    RUN_TEST(test_label_thresholds);
    RUN_TEST(test_stored_values_checked);
    RUN_TEST(test_format_versions);
    RUN_TEST(test_overflowing_weights);
    RUN_TEST(test_softmax_levels);
    RUN_TEST(test_level_strategy);
    RUN_TEST(test_level_docs_training);
    RUN_TEST(test_vectors_without_embedding_transfer);
    RUN_TEST(test_early_stop_weighted_f1);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
