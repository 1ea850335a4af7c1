/* The joint embedding of HFT-ONLSTM: label names as words (split or from a label-name file), parent
 * words before a batch's texts, and a model that needs them: a task whose level 2 is decided by the
 * parent category together with the text, so that only a model reading the true parent's words can
 * get level 2 right when the parent is not restricted (argmax scoring). Also the accuracy given the
 * true parent against the end-to-end one, the model file round trip and the refusals. */
#include "hftc.h"
#include "model/batch.h"
#include "model/model.h"
#include "test.h"
#include "tmpfiles.h"

#include <jansson.h>
#include <stdint.h>

static const tokenizer_options lower = {.lowercase = true, .split_punct = true, .drop_punct = true};

static void test_label_words(void)
{
    strmap labels;
    strmap_init(&labels);
    const char *names[] = {"comp.sys.mac", "CCAT", "C15", "x_y-Z", "ECAT"};
    for (size_t i = 0; i < 5; i++) {
        size_t id;
        CHECK_STATUS(strmap_intern(&labels, names[i], strlen(names[i]), &id), HFTC_STATUS_OK);
    }
    // rcv1.label_meaning's form (indented "label: name") and tab-separated lines; unknown labels ignored.
    const char *file = tmpfiles_write_text("names.txt", "CCAT: CORPORATE/INDUSTRIAL\n\tC15: PERFORMANCE\n"
                                                        "GONE: not a label here\n\nECAT\tEconomics, general\n");
    label_words lw;
    CHECK_STATUS(label_words_read(&lw, &labels, file, &lower), HFTC_STATUS_OK);
    const char *expected[] = {"comp sys mac", "corporate industrial", "performance", "x y z", "economics general"};
    for (size_t i = 0; i < 5 && lw.text; i++)
        CHECK_MSG(!strcmp(lw.text[i], expected[i]), "label %zu: \"%s\"", i, lw.text[i]);
    // Ids: words the vocabulary lacks read as <unk> and are counted.
    vocab v;
    vocab_init(&v);
    uint32_t id, *remap;
    CHECK_STATUS(label_words_count(&lw, &v, 2), HFTC_STATUS_OK);
    CHECK_STATUS(vocab_add(&v, "rare", 4, &id), HFTC_STATUS_OK);
    CHECK_STATUS(vocab_finalize(&v, 2, 0, &remap), HFTC_STATUS_OK);
    free(remap);
    CHECK(vocab_lookup(&v, "performance", 11) != VOCAB_UNK && vocab_lookup(&v, "rare", 4) == VOCAB_UNK);
    size_t unknown = 99;
    CHECK_STATUS(label_words_lookup(&lw, &v, &unknown), HFTC_STATUS_OK);
    CHECK(unknown == 0 && lw.longest == 3 && label_words_n(&lw, 2) == 1 &&
          lw.ids[lw.start[2]] == vocab_lookup(&v, "performance", 11));
    vocab_free(&v);
    vocab_init(&v);
    CHECK_STATUS(label_words_lookup(&lw, &v, &unknown), HFTC_STATUS_OK);
    CHECK(unknown == 11 && lw.ids[0] == VOCAB_UNK);
    vocab_free(&v);
    label_words_free(&lw);
    // Without a file every label is split; a line of neither form and a label named twice are errors.
    CHECK_STATUS(label_words_read(&lw, &labels, NULL, &lower), HFTC_STATUS_OK);
    CHECK(lw.text && !strcmp(lw.text[1], "ccat"));
    label_words_free(&lw);
    file = tmpfiles_write_text("bad-names.txt", "CCAT: corporate\nC15 performance\n");
    CHECK_STATUS(label_words_read(&lw, &labels, file, &lower), HFTC_STATUS_FORMAT);
    CHECK(strstr(hftc_last_error(), "bad-names.txt:2:") && strstr(hftc_last_error(), "label: name"));
    file = tmpfiles_write_text("twice-names.txt", "CCAT: corporate\nCCAT\tcorporate again\n");
    CHECK_STATUS(label_words_read(&lw, &labels, file, &lower), HFTC_STATUS_FORMAT);
    CHECK(strstr(hftc_last_error(), "twice-names.txt:2:") && strstr(hftc_last_error(), "named twice"));
    CHECK_STATUS(label_words_read(&lw, &labels, "/nonexistent/names.txt", &lower), HFTC_STATUS_IO);
    strmap_free(&labels);
}

// A batch with prefixes: each row is its label's words, then the document's first max_len tokens.
static void test_batch_prefix(void)
{
    size_t token_start[] = {0, 3, 5}, label_start[] = {0, 0, 0};
    uint32_t tokens[] = {10, 11, 12, 20, 21};
    dataset ds = {.n_docs = 2, .token_start = token_start, .tokens = tokens, .label_start = label_start};
    size_t starts[] = {0, 2, 3};
    uint32_t ids[] = {7, 8, 9};
    label_words lw = {.n_labels = 2, .start = starts, .ids = ids, .longest = 2};
    uint32_t prefix_label[] = {1, 0}, out[2 * 6];
    size_t idx[] = {0, 1}, lengths[2];
    batch_prefix prefix = {&lw, prefix_label};
    size_t T = batch_fill(&ds, idx, 2, 2, 1, &prefix, out, lengths);
    uint32_t expected[] = {9, 10, 11, 0, 7, 8, 20, 21};
    CHECK(T == 4 && lengths[0] == 3 && lengths[1] == 4 && !memcmp(out, expected, sizeof expected));
    prefix_label[0] = UINT32_MAX; /* no parent: the text alone */
    T = batch_fill(&ds, idx, 2, 3, 1, &prefix, out, lengths);
    uint32_t expected2[] = {10, 11, 12, 0, 7, 8, 20, 21};
    CHECK(T == 4 && lengths[0] == 3 && lengths[1] == 4 && !memcmp(out, expected2, sizeof expected2));
}

/* Level 1: A or B, which the text does not tell (about half right); level 2: A.x, A.y, B.x, B.y, the
 * letter told by the text ("xa xb ..." or "ya yb ..."), the parent only by the parent's words. */
static const char taxonomy_text[] = "Root\tA\tB\nA\tA.x\tA.y\nB\tB.x\tB.y\n";

static void write_data(const char *path, size_t n, uint64_t seed)
{
    static const char *const x_words[] = {"xa", "xb", "xc"}, *const y_words[] = {"ya", "yb", "yc"};
    static const char *const filler[] = {"the", "of", "today", "said"};
    FILE *f = fopen(path, "w");
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned r = (unsigned)(s >> 33);
        bool b = r & 1, y = r >> 1 & 1;
        fprintf(f, "%s.%s\t", b ? "B" : "A", y ? "y" : "x");
        for (size_t t = 0; t < 6; t++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned w = (unsigned)(s >> 33);
            fprintf(f, "%s%s", t ? " " : "", w % 2 ? (y ? y_words : x_words)[w / 2 % 3] : filler[w / 2 % 4]);
        }
        fputc('\n', f);
    }
    fclose(f);
}

static void small_onlstm(hftc_train_options *o, const char *preset)
{
    CHECK_STATUS(hftc_train_options_init(o, preset), HFTC_STATUS_OK);
    o->train_path = tmpfiles_path("train.tsv");
    o->valid_path = tmpfiles_path("valid.tsv");
    o->taxonomy_path = tmpfiles_path("joint.taxonomy");
    o->dim = 16, o->rnn_hidden = 16, o->onlstm_chunk = 4, o->hidden = 16, o->max_len = 10;
    o->epochs = 12, o->patience = 12, o->lr = 1e-2f, o->seed = 3, o->batch = 32;
    snprintf(o->rnn_pool, sizeof o->rnn_pool, "max");
    o->freeze_embeddings = 0; /* random vectors: let them learn */
    o->embed_dropout = o->rnn_dropout = o->hidden_dropout = 0.0f;
}

static void evaluate(hftc_model *m, const char *scoring, hftc_evaluation *e)
{
    hftc_input_options in = {
        .path = tmpfiles_path("test.tsv"), .format = "auto", .threshold = -1.0f, .scoring = scoring};
    memset(e, 0, sizeof *e);
    CHECK_STATUS(hftc_evaluate(m, &in, e), HFTC_STATUS_OK);
}

static void test_presets(void)
{
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, "hft-onlstm"), HFTC_STATUS_OK);
    CHECK(o.joint_embedding && !strcmp(o.transfer, "finetune") && !strcmp(o.encoder, "onlstm") && o.batchnorm);
    CHECK_STATUS(hftc_train_options_init(&o, "woft-onlstm"), HFTC_STATUS_OK);
    CHECK(o.joint_embedding && !strcmp(o.transfer, "none") && !strcmp(o.encoder, "onlstm") && o.rnn_hidden == 500);
    CHECK_STATUS(hftc_train_options_init(&o, "hft-onlstm-nojoint"), HFTC_STATUS_OK);
    CHECK(!o.joint_embedding && !strcmp(o.transfer, "finetune"));
    // The joint embedding needs single-label levels; label names need the joint embedding.
    small_onlstm(&o, "hft-onlstm");
    snprintf(o.head, sizeof o.head, "sigmoid");
    snprintf(o.early_stop, sizeof o.early_stop, "loss");
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "--strategy level --head softmax"));
    small_onlstm(&o, "hft-onlstm-nojoint");
    o.label_names_path = tmpfiles_path("names.txt");
    CHECK(hftc_train_options_check(&o) && strstr(hftc_train_options_check(&o), "add --joint-embedding"));
    // A DAG gives a document two parents: refused; a bad label-name file names its line.
    small_onlstm(&o, "hft-onlstm");
    o.taxonomy_path = tmpfiles_write_text("dag.taxonomy", "Root\tA\tB\nA\tA.x\tA.y\nB\tB.x\tB.y\tA.x\n");
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(!m && strstr(hftc_last_error(), "tree taxonomy"));
    small_onlstm(&o, "hft-onlstm");
    o.label_names_path = tmpfiles_write_text("bad.names", "A: first\nB second\n");
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_FORMAT);
    CHECK(!m && strstr(hftc_last_error(), "bad.names:2:"));
}

static void test_joint_learns_the_parent(void)
{
    hftc_train_options o;
    small_onlstm(&o, "hft-onlstm");
    o.label_names_path = tmpfiles_write_text("joint.names", "A: alpha\nB\tbeta group\n");
    hftc_model *m = NULL;
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    CHECK(m->joint_embedding && m->label_words.longest == 2 && model_input_len(m) == 12 &&
          !strcmp(m->label_words.text[strmap_find(&m->tax.names, "B", 1)], "beta group"));
    // Given the true parent, level 2 is right even unrestricted (argmax): the words say which parent.
    hftc_evaluation e;
    evaluate(m, "argmax", &e);
    double given_parent = e.level[1].accuracy_given_parent;
    CHECK_MSG(e.level[1].accuracy_given_parent > 0.95 && e.level[1].docs_given_parent == 400 &&
                  e.level[0].docs_given_parent == 400,
              "joint: level 2 given the true parent %.3f (%zu documents)", e.level[1].accuracy_given_parent,
              e.level[1].docs_given_parent);
    // End to end the parent is the predicted one, right about half the time; "overall" is the last level's
    // label, here level 2's.
    CHECK_MSG(e.level[0].accuracy_given_parent < 0.7 && e.overall_accuracy < 0.7 &&
                  e.overall_accuracy == e.level[1].accuracy,
              "joint: level 1 %.3f, overall %.3f", e.level[0].accuracy_given_parent, e.overall_accuracy);
    // Top-down: level 2 follows the chosen parent, so the path is consistent and right as often as level 1.
    evaluate(m, "top-down", &e);
    CHECK_MSG(e.level[1].accuracy_given_parent > 0.95 && fabs(e.overall_accuracy - e.level[0].accuracy) < 0.05 &&
                  e.overall_accuracy == e.exact_match,
              "top-down: given parent %.3f, overall %.3f, level 1 %.3f", e.level[1].accuracy_given_parent,
              e.overall_accuracy, e.level[0].accuracy);
    // Documents whose path ends above the deepest level: overall asks for their last label only (A), exact
    // match for nothing more (the decisions go on to A.x or A.y).
    hftc_input_options shallow = {.path = tmpfiles_write_text("shallow.tsv", "A\txa the\nA\tya of\nA\tthe\nA\tsaid\n"),
                                  .format = "auto",
                                  .threshold = -1.0f};
    CHECK_STATUS(hftc_evaluate(m, &shallow, &e), HFTC_STATUS_OK);
    CHECK_MSG(e.exact_match == 0.0 && e.overall_accuracy == e.level[0].accuracy && e.level[1].docs_given_parent == 0,
              "shallow: exact %.3f, overall %.3f, level 1 %.3f", e.exact_match, e.overall_accuracy,
              e.level[0].accuracy);
    // The file keeps the words: a loaded model predicts the same, and reads them the same way.
    const char *path = tmpfiles_path("joint.hftc");
    const char *texts[] = {"xa the xb", "ya yc of", "", "unseen"};
    float before[4 * 6];
    CHECK_STATUS(hftc_predict_texts(m, texts, 4, before), HFTC_STATUS_OK);
    CHECK_STATUS(hftc_model_save(m, path), HFTC_STATUS_OK);
    hftc_model_free(m);
    m = NULL;
    CHECK_STATUS(hftc_model_load(&m, path), HFTC_STATUS_OK);
    if (!m)
        return;
    test_check_loaded_predictions(m, texts, 4, 6, before, "hft-onlstm");
    CHECK(m->joint_embedding && model_input_len(m) == 12);
    hftc_evaluation again;
    evaluate(m, "argmax", &again);
    CHECK(again.level[1].accuracy_given_parent == given_parent);
    hftc_model_free(m);

    // Without the parent's words level 2 cannot tell A.x from B.x: about half right unrestricted.
    small_onlstm(&o, "hft-onlstm-nojoint");
    CHECK_STATUS(hftc_train(&o, &m), HFTC_STATUS_OK);
    if (!m)
        return;
    evaluate(m, "argmax", &e);
    CHECK_MSG(e.level[1].accuracy_given_parent < 0.75, "nojoint: level 2 given the true parent %.3f",
              e.level[1].accuracy_given_parent);
    // Restricted to the true parent's children the letter alone decides.
    evaluate(m, "top-down", &e);
    CHECK_MSG(e.level[1].accuracy_given_parent > 0.95, "nojoint top-down: level 2 given the true parent %.3f",
              e.level[1].accuracy_given_parent);
    hftc_model_free(m);
}

int main(void)
{
    tmpfiles_init("joint");
    write_data(tmpfiles_path("train.tsv"), 800, 1);
    write_data(tmpfiles_path("valid.tsv"), 200, 2);
    write_data(tmpfiles_path("test.tsv"), 400, 3);
    tmpfiles_write_text("joint.taxonomy", taxonomy_text);
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    RUN_TEST(test_label_words);
    RUN_TEST(test_batch_prefix);
    RUN_TEST(test_presets);
    RUN_TEST(test_joint_learns_the_parent);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
