/* Tests for the dataset readers: a table of malformed inputs for every format (status, file name and
 * line in the message), line-ending and BOM handling, auto-detection, skip_bad_lines, truncation,
 * labels, reading in batches (a file, a pipe answered line by line, an error after good batches),
 * hftc_tokenize_file, and a fuzz loop over random byte lines. Input files are written to a fresh temporary
 * directory. */
#define _POSIX_C_SOURCE 200809L
#include "data/dataset.h"

#include "core/rng.h"
#include "test.h"
#include "tmpfiles.h"

#include <unistd.h>

typedef struct {
    dataset ds;
    vocab v;
    strmap labels;
} loaded;

static hftc_status load(loaded *l, const char *path, const dataset_options *opt)
{
    if (vocab_init(&l->v) != HFTC_STATUS_OK)
        exit(1);
    strmap_init(&l->labels);
    return dataset_read(&l->ds, path, opt, &l->v, true, &l->labels);
}

static void unload(loaded *l)
{
    dataset_free(&l->ds);
    vocab_free(&l->v);
    strmap_free(&l->labels);
}

// Words of document d joined by spaces.
static const char *doc_words(const loaded *l, size_t d)
{
    static char buf[512];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = l->ds.token_start[d]; i < l->ds.token_start[d + 1]; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i > l->ds.token_start[d] ? " " : "",
                                 vocab_word(&l->v, l->ds.tokens[i]));
    return buf;
}

// Labels of document d in id order joined by commas.
static const char *doc_labels(const loaded *l, size_t d)
{
    static char buf[512];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = l->ds.label_start[d]; i < l->ds.label_start[d + 1]; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i > l->ds.label_start[d] ? "," : "",
                                 strmap_string(&l->labels, l->ds.labels[i]));
    return buf;
}

typedef struct {
    data_format format;
    const char *name;
    const char *content;
    size_t len; // 0: strlen(content)
    bool labels_required;
    size_t max_line_bytes;
    size_t line;         // expected line in the message
    const char *message; // expected part of the message
} bad_case;

#define J_OK "{\"label\": [\"A\"], \"text\": \"fine\"}\n"

static const bad_case bad_cases[] = {
    // TSV
    {DATA_FORMAT_TSV, "data.tsv", "A\thello\nno tab here\n", 0, true, 0, 2, "missing tab between labels and text"},
    {DATA_FORMAT_TSV, "data.tsv", "A\thello\n\n  \t  world\n", 0, true, 0, 3, "no labels"},
    {DATA_FORMAT_TSV, "data.tsv", "\tx\n", 0, true, 0, 1, "no labels"},
    {DATA_FORMAT_TSV, "data.tsv", "A\tx\r\nA,,B\tx\r\n", 0, true, 0, 2, "empty label"},
    {DATA_FORMAT_TSV, "data.tsv", "A,B,\tx", 0, true, 0, 1, "empty label"},
    {DATA_FORMAT_TSV, "data.tsv", " , \tx", 0, false, 0, 1, "empty label"},
    {DATA_FORMAT_TSV, "data.tsv", "A\tok\nB\tbad \xc0\xaf byte\n", 0, true, 0, 2, "invalid UTF-8 at byte 7"},
    {DATA_FORMAT_TSV, "data.tsv",
     "\xef\xbb\xbf"
     "A\t\xff\n",
     0, true, 0, 1, "invalid UTF-8 at byte 6"},
    {DATA_FORMAT_TSV, "data.tsv", "A\xff\tx\n", 0, true, 0, 1, "invalid UTF-8 at byte 2"},
    {DATA_FORMAT_TSV, "data.tsv", "A\tx\n\nA\tend \xe2\x82", 0, true, 0, 3, "invalid UTF-8 at byte 7"},
    {DATA_FORMAT_TSV, "data.tsv", "A\tend \xe2\x82\nB\tok\n", 0, true, 0, 1, "invalid UTF-8 at byte 7"},
    {DATA_FORMAT_TSV, "data.tsv", "A\0B\tx\n", 6, true, 0, 1, "NUL"},
    {DATA_FORMAT_TSV, "data.tsv", "A\tshort\nA\tthis line is too long\n", 0, true, 10, 2, "line longer than 10 bytes"},
    // fastText
    {DATA_FORMAT_FASTTEXT, "data.ft", "__label__A hello\nhello world\n", 0, true, 0, 2, "no labels"},
    {DATA_FORMAT_FASTTEXT, "data.ft", "__label__A hi\n__label__ x\n", 0, true, 0, 2, "empty label"},
    {DATA_FORMAT_FASTTEXT, "data.ft", "__label__A hi\n__label__B \xe2\x82", 0, true, 0, 2, "invalid UTF-8 at byte 12"},
    {DATA_FORMAT_FASTTEXT, "data.ft", "__label__A \x80\n", 0, false, 0, 1, "invalid UTF-8 at byte 12"},
    {DATA_FORMAT_FASTTEXT, "data.ft", "__label__A a\n__label__A abcdefghijkl\n", 0, true, 14, 2, "line longer than 14"},
    // JSON lines
    {DATA_FORMAT_JSONL, "x.jsonl", J_OK "{\"label\": [\"A\"], \"text\": \"bad\",}\n", 0, true, 0, 2, "invalid JSON: "},
    {DATA_FORMAT_JSONL, "x.jsonl", J_OK "{\"label\": [\"A\"], \"text\" \"bad\"}\n", 0, true, 0, 2, "(column 29)"},
    {DATA_FORMAT_JSONL, "x.jsonl", J_OK "{\"label\": [\"A\"], \"text\": \"unfinished\n", 0, true, 0, 2,
     "unterminated JSON line"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"A\"],\n\"text\": \"x\"}\n", 0, true, 0, 1, "unterminated JSON line"},
    {DATA_FORMAT_JSONL, "x.jsonl", J_OK J_OK J_OK "{\"doc_label\": \"A\", \"doc_token\": [\"x\"]}\n", 0, true, 0, 4,
     "\"doc_label\" must be a list of strings"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"doc_label\": [\"A\", 3], \"doc_token\": [\"x\"]}\n", 0, true, 0, 1,
     "\"doc_label\" must be a list of strings"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": {\"A\": 1}, \"text\": \"x\"}\n", 0, false, 0, 1,
     "\"label\" must be a list of strings"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"doc_label\": [\"A\"], \"doc_token\": \"x y\"}\n", 0, true, 0, 1,
     "\"doc_token\" must be a list of strings"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"doc_label\": [\"A\"], \"doc_token\": [\"x\", null]}\n", 0, true, 0, 1,
     "\"doc_token\" must be a list of strings"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"A\"], \"text\": 5}\n", 0, true, 0, 1, "\"text\" must be a string"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"A\"]}\n", 0, false, 0, 1, "missing \"doc_token\" or \"text\""},
    {DATA_FORMAT_JSONL, "x.jsonl", J_OK "{\"text\": \"x\"}\n", 0, true, 0, 2, "missing \"doc_label\" or \"label\""},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [], \"text\": \"x\"}\n", 0, true, 0, 1, "no labels"},
    {DATA_FORMAT_JSONL, "x.jsonl", "[\"A\", \"x\"]\n", 0, false, 0, 1, "expected a JSON object"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"\"], \"text\": \"x\"}\n", 0, true, 0, 1, "empty label"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"A\"], \"text\": \"a\"} extra\n", 0, true, 0, 1, "invalid JSON"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"A\"], \"label\": [\"B\"], \"text\": \"x\"}\n", 0, true, 0, 1,
     "duplicate"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"A\"], \"doc_label\": [\"B\"], \"text\": \"x\"}\n", 0, true, 0, 1,
     "both \"doc_label\" and \"label\""},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"A\"], \"text\": \"x\", \"doc_token\": []}\n", 0, true, 0, 1,
     "both \"doc_token\" and \"text\""},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"A\"], \"text\": \"\\u0000\"}\n", 0, true, 0, 1, "invalid JSON"},
    {DATA_FORMAT_JSONL, "x.jsonl", "{\"label\": [\"A\"], \"text\": \"caf\xc3\"}\n", 0, true, 0, 1,
     "invalid UTF-8 at byte 30"},
    // Plain text (prediction input)
    {DATA_FORMAT_TEXT, "input.txt", "fine\nnot \xed\xa0\x80 fine\n", 0, false, 0, 2, "invalid UTF-8 at byte 5"},
    {DATA_FORMAT_TEXT, "input.txt", "fine\n\n\nway too long\n", 0, false, 5, 4, "line longer than 5 bytes"},
    // Auto-detection: labels required and no tab -> read as TSV, so the error says what is missing.
    {DATA_FORMAT_AUTO, "auto.tsv", "\n\njust text\n", 0, true, 0, 3, "missing tab between labels and text"},
    {DATA_FORMAT_AUTO, "auto.jsonl", "\n  {\"label\": [\"A\"], \"text\": \"x\"}\n{\"label\": [\"A\"]", 0, true, 0, 3,
     "unterminated JSON line"},
};

static void test_malformed_table(void)
{
    char want[128];
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *c = &bad_cases[i];
        const char *path = tmpfiles_write(c->name, c->content, c->len ? c->len : strlen(c->content));
        dataset_options opt = {.format = c->format,
                               .tokenizer = {.lowercase = true, .split_punct = true},
                               .labels_required = c->labels_required,
                               .max_line_bytes = c->max_line_bytes};
        loaded l;
        hftc_status st = load(&l, path, &opt);
        CHECK_MSG(st == HFTC_STATUS_FORMAT, "case %zu: status %d", i, (int)st);
        snprintf(want, sizeof want, "%s:%zu: ", path, c->line);
        const char *msg = hftc_last_error();
        CHECK_MSG(strncmp(msg, want, strlen(want)) == 0, "case %zu: \"%s\" does not start with \"%s\"", i, msg, want);
        CHECK_MSG(strstr(msg, c->message) != NULL, "case %zu: \"%s\" lacks \"%s\"", i, msg, c->message);
        // On error the dataset is left empty (and freed).
        CHECK(l.ds.n_docs == 0 && l.ds.tokens == NULL && l.ds.token_start == NULL);
        unload(&l);

        // The same file with skip_bad_lines reads and counts the bad line.
        opt.skip_bad_lines = true;
        hftc_set_log(NULL, HFTC_LOG_WARN, NULL);
        st = load(&l, path, &opt);
        CHECK_MSG(st == HFTC_STATUS_OK && l.ds.n_skipped >= 1, "case %zu (skipping): status %d, skipped %zu", i,
                  (int)st, l.ds.n_skipped);
        unload(&l);
    }
}

static void test_tsv_line_endings(void)
{
    const char *path = tmpfiles_write_text("endings.tsv",
                                           "\xef\xbb\xbf"
                                           "B, A ,B\tHello, World!\r\n" // 1: BOM, CRLF, repeated label
                                           "\r\n"                       // 2: empty
                                           "   \n"                      // 3: blank
                                           "sci\t\xc3\x89"
                                           "COLE don't.\r\n"    // 4
                                           "\t \n"              // 5: blank
                                           "Sci\tsecond\ttab\n" // 6: text keeps later tabs
                                           "A\tlast line");     // 7: no final newline
    dataset_options opt = {
        .format = DATA_FORMAT_TSV, .tokenizer = {.lowercase = true, .split_punct = true}, .labels_required = true};
    loaded l;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 4);
    if (l.ds.n_docs == 4) {
        CHECK(strcmp(doc_labels(&l, 0), "B,A") == 0); // ids in first-seen order: B 0, A 1
        CHECK(l.ds.label_start[1] == 2);
        CHECK(strcmp(doc_words(&l, 0), "hello , world !") == 0);
        CHECK(strcmp(doc_labels(&l, 1), "sci") == 0);
        CHECK(strcmp(doc_words(&l, 1), "école don ' t .") == 0);
        CHECK(strcmp(doc_labels(&l, 2), "Sci") == 0); // labels are case-sensitive, never lowercased
        CHECK(strcmp(doc_words(&l, 2), "second tab") == 0);
        CHECK(strcmp(doc_labels(&l, 3), "A") == 0);
        CHECK(strcmp(doc_words(&l, 3), "last line") == 0);
        CHECK(l.ds.line[0] == 1 && l.ds.line[1] == 4 && l.ds.line[2] == 6 && l.ds.line[3] == 7);
    }
    CHECK(strmap_count(&l.labels) == 4);
    CHECK(l.ds.n_skipped == 0 && l.ds.n_empty == 0 && l.ds.n_truncated == 0);
    CHECK(l.ds.format == DATA_FORMAT_TSV);
    unload(&l);

    // Without lowercase or split_punct the text stays as written.
    opt.tokenizer = (tokenizer_options){0};
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 4 && strcmp(doc_words(&l, 1), "\xc3\x89"
                                                       "COLE don't.") == 0);
    unload(&l);
}

static void test_fasttext(void)
{
    const char *path = tmpfiles_write_text("data.ft", "__label__A __label__B Hello world __label__C\n"
                                                      "__label__B\t__label__A  \n"
                                                      "  __label__C text\r\n");
    dataset_options opt = {.format = DATA_FORMAT_FASTTEXT, .labels_required = true};
    loaded l;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 3);
    if (l.ds.n_docs == 3) {
        CHECK(strcmp(doc_labels(&l, 0), "A,B,C") == 0);
        CHECK(strcmp(doc_words(&l, 0), "Hello world") == 0);
        CHECK(strcmp(doc_labels(&l, 1), "A,B") == 0);
        CHECK(l.ds.token_start[2] - l.ds.token_start[1] == 0);
        CHECK(strcmp(doc_labels(&l, 2), "C") == 0);
        CHECK(strcmp(doc_words(&l, 2), "text") == 0);
    }
    CHECK(l.ds.n_empty == 1);
    unload(&l);
    // Prediction input: labels may be absent.
    path = tmpfiles_write_text("predict.ft", "plain words\n__label__A more\n");
    opt.labels_required = false;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 2 && l.ds.label_start[1] == 0 && l.ds.label_start[2] == 1);
    unload(&l);
}

static void test_jsonl(void)
{
    const char *path = tmpfiles_write_text(
        "data.jsonl",
        "{\"doc_label\": [\"B\", \"A\", \"B\"], \"doc_token\": [\"Hello\", \"WORLD\", \"\", \"New York\"]}\n"
        "\n"
        "{\"label\": [\"C\"], \"text\": \"\\u00dcn\\u00efcode TEXT.\", \"id\": 7}\r\n"
        "{\"label\": [\"c\"], \"text\": \"\"}");
    dataset_options opt = {
        .format = DATA_FORMAT_JSONL, .tokenizer = {.lowercase = true, .split_punct = true}, .labels_required = true};
    loaded l;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 3);
    if (l.ds.n_docs == 3) {
        CHECK(strcmp(doc_labels(&l, 0), "B,A") == 0);
        CHECK(strcmp(doc_words(&l, 0), "hello world new york") == 0); // doc_token: one token per string
        CHECK(strcmp(doc_labels(&l, 1), "C") == 0);
        CHECK(strcmp(doc_words(&l, 1), "ünïcode text .") == 0);
        CHECK(strcmp(doc_labels(&l, 2), "c") == 0);
        CHECK(l.ds.line[1] == 3 && l.ds.line[2] == 4);
    }
    CHECK(l.ds.n_empty == 1);
    unload(&l);
}

static void test_text_and_optional_labels(void)
{
    const char *path = tmpfiles_write_text("input.txt", "Hello world\nsecond\tline\n\n__label__A x\n");
    dataset_options opt = {.format = DATA_FORMAT_TEXT, .labels_required = false};
    loaded l;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 3);
    CHECK(l.ds.label_start[3] == 0); // the text format has no labels
    if (l.ds.n_docs == 3) {
        CHECK(strcmp(doc_words(&l, 1), "second line") == 0);
        CHECK(strcmp(doc_words(&l, 2), "__label__A x") == 0);
    }
    unload(&l);
    opt.labels_required = true;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_INVALID_ARGUMENT);
    unload(&l);

    // TSV prediction input: labels optional, a line without a tab is all text.
    path = tmpfiles_write_text("predict.tsv", "A\tx\nno tab line\n\ty\n");
    opt = (dataset_options){.format = DATA_FORMAT_TSV, .labels_required = false};
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 3);
    if (l.ds.n_docs == 3) {
        CHECK(strcmp(doc_labels(&l, 0), "A") == 0 && l.ds.label_start[3] == 1);
        CHECK(strcmp(doc_words(&l, 1), "no tab line") == 0);
        CHECK(strcmp(doc_words(&l, 2), "y") == 0);
    }
    unload(&l);
}

static void test_auto_detect(void)
{
    static const struct {
        const char *content;
        bool labels_required;
        data_format expected;
        size_t n_docs;
    } cases[] = {
        {"{\"label\": [\"A\"], \"text\": \"x\"}\n", true, DATA_FORMAT_JSONL, 1},
        {"\n \n__label__A x\n__label__B y\n", true, DATA_FORMAT_FASTTEXT, 2},
        {" __label__A x\n", true, DATA_FORMAT_FASTTEXT, 1},
        {"A,B\tx y\n", true, DATA_FORMAT_TSV, 1},
        {"\xef\xbb\xbf"
         "A\tx y\n",
         true, DATA_FORMAT_TSV, 1},
        {"\xef\xbb\xbf{\"label\": [\"A\"], \"text\": \"x\"}\n", true, DATA_FORMAT_JSONL, 1},
        {"just text\nmore text\n", false, DATA_FORMAT_TEXT, 2},
        {"", false, DATA_FORMAT_TEXT, 0},
        {"\n\n", true, DATA_FORMAT_TSV, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *path = tmpfiles_write_text("auto.data", cases[i].content);
        dataset_options opt = {.format = DATA_FORMAT_AUTO, .labels_required = cases[i].labels_required};
        loaded l;
        CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
        CHECK_MSG(l.ds.format == cases[i].expected, "case %zu: format %s", i, data_format_name(l.ds.format));
        CHECK_MSG(l.ds.n_docs == cases[i].n_docs, "case %zu: %zu docs", i, l.ds.n_docs);
        CHECK(l.ds.token_start != NULL && l.ds.token_start[0] == 0 && l.ds.label_start != NULL);
        unload(&l);
    }
}

static void test_skip_bad_lines(void)
{
    const char *path = tmpfiles_write_text("train.tsv", "A\tgood one\n"
                                                        "NEWLABEL no tab here\n"
                                                        "B\tgood two\n"
                                                        "BADLABEL\tunseen \xff word\n"
                                                        "A,,B\tmore unseen\n"
                                                        "B,A\tgood three\n");
    dataset_options opt = {.format = DATA_FORMAT_TSV, .labels_required = true, .skip_bad_lines = true};
    loaded l;
    test_warnings = 0;
    hftc_set_log(test_capture_warnings, HFTC_LOG_WARN, NULL);
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    hftc_set_log(NULL, HFTC_LOG_WARN, NULL);
    CHECK(l.ds.n_docs == 3 && l.ds.n_skipped == 3);
    CHECK(l.ds.line[0] == 1 && l.ds.line[1] == 3 && l.ds.line[2] == 6);
    CHECK(test_warnings == 1);
    CHECK_MSG(strstr(test_warning, "train.tsv: skipped 3 malformed lines (first: line 2: missing tab") != NULL, "%s",
              test_warning);
    // Skipped lines leave no labels or words behind.
    CHECK(strmap_count(&l.labels) == 2);
    CHECK(strmap_find(&l.labels, "BADLABEL", 8) == STRMAP_NONE);
    CHECK(vocab_lookup(&l.v, "unseen", 6) == VOCAB_UNK);
    CHECK(vocab_size(&l.v) == 2 + 4); // good, one, two, three
    unload(&l);
}

// A line far longer than max_line_bytes (1 MiB against 1,000) is malformed, named by its line, and with
// skip_bad_lines the lines after it are read.
static void test_huge_line(void)
{
    size_t big = (size_t)1 << 20, size = 8 + 2 + big + 8;
    char *content = malloc(size);
    CHECK(content != NULL);
    if (!content)
        return;
    memcpy(content, "A\tfirst\n", 8);
    memcpy(content + 8, "A\t", 2);
    memset(content + 10, 'w', big);
    memcpy(content + 10 + big, "\nB\tlast\n", 8);
    const char *path = tmpfiles_write("huge.tsv", content, size);
    free(content);
    dataset_options opt = {.format = DATA_FORMAT_TSV, .labels_required = true, .max_line_bytes = 1000};
    loaded l;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_FORMAT);
    CHECK_MSG(strstr(hftc_last_error(), "huge.tsv:2: line longer than 1000 bytes"), "%s", hftc_last_error());
    unload(&l);
    opt.skip_bad_lines = true;
    hftc_set_log(test_capture_warnings, HFTC_LOG_WARN, NULL);
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    hftc_set_log(NULL, HFTC_LOG_WARN, NULL);
    CHECK(l.ds.n_docs == 2 && l.ds.n_skipped == 1 && l.ds.line[1] == 3 && !strcmp(doc_words(&l, 1), "last"));
    unload(&l);
}

static void test_truncation_and_empty(void)
{
    const char *path = tmpfiles_write_text("trunc.tsv", "A\ta b c d\nA\ta b\nA\t\nA\t , \n");
    dataset_options opt = {.format = DATA_FORMAT_TSV, .tokenizer = {.max_len = 2}, .labels_required = true};
    loaded l;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 4);
    CHECK(l.ds.n_truncated == 1 && l.ds.n_empty == 1);
    if (l.ds.n_docs == 4) {
        CHECK(strcmp(doc_words(&l, 0), "a b") == 0);
        CHECK(strcmp(doc_words(&l, 3), ",") == 0);
    }
    CHECK(l.v.counts[vocab_lookup(&l.v, "a", 1)] == 2); // dropped tokens are not counted
    CHECK(vocab_lookup(&l.v, "c", 1) == VOCAB_UNK);
    unload(&l);

    path = tmpfiles_write_text("trunc.jsonl", "{\"label\": [\"A\"], \"doc_token\": [\"a\", \"b\", \"c\"]}\n"
                                              "{\"label\": [\"A\"], \"doc_token\": [\"a\", \"\", \"b\"]}\n"
                                              "{\"label\": [\"A\"], \"doc_token\": []}\n");
    opt.format = DATA_FORMAT_JSONL;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 3 && l.ds.n_truncated == 1 && l.ds.n_empty == 1);
    CHECK(l.ds.token_start[1] == 2 && l.ds.token_start[2] == 4);
    unload(&l);
}

static void test_fixed_vocab_and_remap(void)
{
    const char *path = tmpfiles_write_text("vocab.tsv", "A\tthe cat the dog\nB\tthe bird\n");
    dataset_options opt = {.format = DATA_FORMAT_TSV, .labels_required = true};
    loaded l;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    uint32_t *remap = NULL;
    CHECK_STATUS(vocab_finalize(&l.v, 2, 0, &remap), HFTC_STATUS_OK);
    dataset_remap_tokens(&l.ds, remap);
    free(remap);
    CHECK(vocab_size(&l.v) == 3);
    CHECK(strcmp(doc_words(&l, 0), "the <unk> the <unk>") == 0);
    CHECK(strcmp(doc_words(&l, 1), "the <unk>") == 0);

    // A second file read with the finished vocabulary: words are looked up, not added.
    const char *path2 = tmpfiles_write_text("valid.tsv", "C\tthe fish\n");
    dataset ds2;
    strmap labels2;
    strmap_init(&labels2);
    size_t id;
    CHECK_STATUS(strmap_intern(&labels2, "B", 1, &id), HFTC_STATUS_OK);
    CHECK_STATUS(dataset_read(&ds2, path2, &opt, &l.v, false, &labels2), HFTC_STATUS_OK);
    CHECK(ds2.n_docs == 1 && ds2.tokens[0] == 2 && ds2.tokens[1] == VOCAB_UNK);
    CHECK(ds2.labels[0] == 1); // a label new to the map gets the next id
    CHECK(vocab_size(&l.v) == 3);
    dataset_free(&ds2);
    strmap_free(&labels2);
    unload(&l);
}

static void test_io_errors_and_names(void)
{
    dataset_options opt = {.format = DATA_FORMAT_TSV, .labels_required = true};
    loaded l;
    CHECK_STATUS(load(&l, "/nonexistent/dir/train.tsv", &opt), HFTC_STATUS_IO);
    CHECK(strstr(hftc_last_error(), "/nonexistent/dir/train.tsv") != NULL);
    unload(&l);
    CHECK_STATUS(load(&l, tmpfiles_dir(), &opt), HFTC_STATUS_IO); // a directory
    unload(&l);

    static const char *const names[] = {"auto", "tsv", "fasttext", "jsonl", "text"};
    for (size_t i = 0; i < 5; i++) {
        data_format f;
        CHECK(data_format_parse(names[i], &f) && strcmp(data_format_name(f), names[i]) == 0);
    }
    data_format f;
    CHECK(!data_format_parse("csv", &f));
    CHECK(!data_format_parse("TSV", &f));
}

// The words of a batch's document d, joined by spaces.
static const char *batch_words(const dataset *ds, const vocab *v, size_t d)
{
    static char buf[256];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = ds->token_start[d]; i < ds->token_start[d + 1]; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i > ds->token_start[d] ? " " : "",
                                 vocab_word(v, ds->tokens[i]));
    return buf;
}

// A file read in batches: full batches, then the rest, with the file's line numbers and the same documents
// as dataset_read; a pipe: each batch ends with what was written so far; a malformed line fails its batch
// with file and line, after the good batches before it.
static void test_stream(void)
{
    vocab v;
    CHECK_STATUS(vocab_init(&v), HFTC_STATUS_OK);
    static const char *const words[] = {"alpha", "beta", "gamma", "delta"};
    for (size_t i = 0; i < 4; i++) {
        uint32_t id;
        CHECK_STATUS(vocab_add(&v, words[i], strlen(words[i]), &id), HFTC_STATUS_OK);
    }
    strmap labels;
    strmap_init(&labels);
    dataset_options opt = {.format = DATA_FORMAT_AUTO};
    const char *path = tmpfiles_write_text("stream.txt", "alpha\nbeta beta\n\ngamma\nA\tdelta\nalpha beta\n");
    dataset_stream *s;
    const dataset *b;
    bool end;
    CHECK_STATUS(dataset_stream_open(&s, path, &opt, &v, false, &labels), HFTC_STATUS_OK);
    static const size_t sizes[] = {2, 2, 1}, lines[] = {1, 2, 4, 5, 6};
    static const char *const texts[] = {"alpha", "beta beta", "gamma", "<unk> delta", "alpha beta"};
    for (size_t k = 0, doc = 0; k < 3 && s; k++) {
        CHECK_STATUS(dataset_stream_next(s, 2, &b, &end), HFTC_STATUS_OK);
        CHECK_MSG(b->n_docs == sizes[k] && end == (k == 2), "batch %zu: %zu documents, end %d", k, b->n_docs, end);
        for (size_t d = 0; d < b->n_docs && doc < 5; d++, doc++) {
            CHECK_MSG(b->line[d] == lines[doc], "document %zu: line %zu", doc, b->line[d]);
            // the text format (from line 1): "A\t" is an unknown word
            CHECK_MSG(!strcmp(batch_words(b, &v, d), texts[doc]), "document %zu: \"%s\"", doc, batch_words(b, &v, d));
        }
        CHECK(b->format == DATA_FORMAT_TEXT);
    }
    if (s) {
        CHECK_STATUS(dataset_stream_next(s, 2, &b, &end), HFTC_STATUS_OK);
        CHECK(b->n_docs == 0 && end);
    }
    dataset_stream_close(s);
    /* keep_unknown: the text of the words read as <unk> ("A" of line 5), per batch */
    opt.keep_unknown = true;
    CHECK_STATUS(dataset_stream_open(&s, path, &opt, &v, false, &labels), HFTC_STATUS_OK);
    for (size_t k = 0; k < 3 && s; k++) {
        CHECK_STATUS(dataset_stream_next(s, 2, &b, &end), HFTC_STATUS_OK);
        for (size_t t = 0; t < b->token_start[b->n_docs]; t++) {
            const char *kept = dataset_unknown_word(b, t);
            CHECK_MSG(b->tokens[t] == VOCAB_UNK ? kept && !strcmp(kept, "A") : kept == NULL, "batch %zu token %zu", k,
                      t);
        }
        CHECK(b->n_unknown == (k == 1));
    }
    dataset_stream_close(s);
    opt.keep_unknown = false;

    int p[2];
    CHECK(pipe(p) == 0);
    char name[32];
    snprintf(name, sizeof name, "/dev/fd/%d", p[0]);
    CHECK_STATUS(dataset_stream_open(&s, name, &opt, &v, false, &labels), HFTC_STATUS_OK);
    CHECK(write(p[1], "alpha\nbeta\n", 11) == 11);
    if (s) {
        CHECK_STATUS(dataset_stream_next(s, 256, &b, &end), HFTC_STATUS_OK); /* returns without waiting */
        CHECK(b->n_docs == 2 && !end);
        CHECK(write(p[1], "\ngam", 4) == 4);
        CHECK(write(p[1], "ma\n", 3) == 3);
        CHECK_STATUS(dataset_stream_next(s, 256, &b, &end), HFTC_STATUS_OK);
        CHECK(b->n_docs == 1 && b->line[0] == 4 && !end && !strcmp(batch_words(b, &v, 0), "gamma"));
        close(p[1]);
        CHECK_STATUS(dataset_stream_next(s, 256, &b, &end), HFTC_STATUS_OK);
        CHECK(b->n_docs == 0 && end);
    }
    dataset_stream_close(s);
    close(p[0]);

    opt.format = DATA_FORMAT_JSONL;
    path = tmpfiles_write_text("stream.jsonl", "{\"text\": \"alpha\"}\n{\"text\": \"beta\"}\n{\"text\": 3}\n");
    CHECK_STATUS(dataset_stream_open(&s, path, &opt, &v, false, &labels), HFTC_STATUS_OK);
    if (s) {
        CHECK_STATUS(dataset_stream_next(s, 2, &b, &end), HFTC_STATUS_OK);
        CHECK(b->n_docs == 2 && !end);
        CHECK_STATUS(dataset_stream_next(s, 2, &b, &end), HFTC_STATUS_FORMAT);
        CHECK_MSG(strstr(hftc_last_error(), "stream.jsonl:3:") != NULL, "%s", hftc_last_error());
    }
    dataset_stream_close(s);
    CHECK_STATUS(dataset_stream_open(&s, "/nonexistent/in.txt", &opt, &v, false, &labels), HFTC_STATUS_IO);
    CHECK(s == NULL && strstr(hftc_last_error(), "/nonexistent/in.txt") != NULL);
    strmap_free(&labels);
    vocab_free(&v);
}

/* Line ends of CR alone (classic Mac OS) made one document of the whole file, silently (issue 25, item 12):
 * now an error naming the file, in every format; a stray CR inside a line of an LF file is still text. */
static void test_cr_only_line_endings(void)
{
    const char *path = tmpfiles_write_text("mac.tsv", "A\tfirst document\rB\tsecond one\rA\tthird\r");
    for (int format = DATA_FORMAT_AUTO; format <= DATA_FORMAT_TEXT; format++) {
        dataset_options opt = {.format = (data_format)format, .skip_bad_lines = true};
        loaded l;
        hftc_status st = load(&l, path, &opt);
        CHECK_MSG(st == HFTC_STATUS_FORMAT && strstr(hftc_last_error(), "mac.tsv: the lines end in a carriage return"),
                  "format %d: status %d, %zu documents: %s", format, (int)st, st ? 0 : l.ds.n_docs, hftc_last_error());
        unload(&l);
    }
    path = tmpfiles_write_text("stray.tsv", "A\tone\rdocument\nB\ttwo\n");
    dataset_options opt = {.format = DATA_FORMAT_TSV, .labels_required = true};
    loaded l;
    CHECK_STATUS(load(&l, path, &opt), HFTC_STATUS_OK);
    CHECK(l.ds.n_docs == 2);
    unload(&l);
}

// Random lines built from pieces that matter to the parsers, plus random bytes.
static size_t random_line(rng *r, char *out, size_t cap)
{
    static const char *const pieces[] = {"__label__",
                                         "{",
                                         "}",
                                         "\"",
                                         "[",
                                         "]",
                                         ":",
                                         ",",
                                         "\t",
                                         " ",
                                         "\r",
                                         "\\",
                                         "\\u00e9",
                                         "label",
                                         "text",
                                         "doc_token",
                                         "doc_label",
                                         "\xc3\xa9",
                                         "\xe6\x9d\xb1",
                                         "\xf0\x9f\x98\x80",
                                         "A",
                                         "word",
                                         "\"label\": [\"A\"]",
                                         "\"text\": \"",
                                         "\xef\xbb\xbf"};
    size_t n = 0, n_pieces = rng_below(r, 24);
    for (size_t k = 0; k < n_pieces && n + 32 < cap; k++) {
        if (rng_below(r, 4) == 0) {
            out[n++] = (char)(rng_below(r, 255) + 1); // any byte but NUL, which comes rarely below
        } else {
            const char *p = pieces[rng_below(r, sizeof pieces / sizeof *pieces)];
            size_t len = strlen(p);
            memcpy(out + n, p, len);
            n += len;
        }
        if (rng_below(r, 50) == 0)
            out[n++] = '\0';
    }
    return n;
}

/* hftc_tokenize_file's callback: appends "index:word word|" per document, or fails at call stop_at. */
typedef struct {
    char text[512];
    size_t calls, stop_at;
} token_sink;

static hftc_status collect_tokens(size_t index, const char *const *tokens, size_t n, void *user)
{
    token_sink *s = user;
    if (s->calls++ == s->stop_at)
        return HFTC_STATUS_IO;
    size_t used = strlen(s->text);
    used += (size_t)snprintf(s->text + used, sizeof s->text - used, "%zu:", index);
    for (size_t i = 0; i < n && used < sizeof s->text; i++)
        used += (size_t)snprintf(s->text + used, sizeof s->text - used, "%s%s", i ? " " : "", tokens[i]);
    if (used < sizeof s->text)
        snprintf(s->text + used, sizeof s->text - used, "|");
    return HFTC_STATUS_OK;
}

typedef struct {
    size_t docs;
    bool in_order; /* document i is "word<i>" */
} many_sink;

static hftc_status count_in_order(size_t index, const char *const *tokens, size_t n, void *user)
{
    many_sink *m = user;
    char want[32];
    snprintf(want, sizeof want, "word%zu", index);
    m->in_order = (m->docs == 0 || m->in_order) && index == m->docs && n == 1 && !strcmp(tokens[0], want);
    m->docs++;
    return HFTC_STATUS_OK;
}

static void test_tokenize_file(void)
{
    const char *path = tmpfiles_write_text("tokens.tsv", "sport\tThe Team WON, the match!\n"
                                                         "science,physics\tA theory of the atom.\n"
                                                         "sport\t , \n"
                                                         "science\tÉcole Über\n");
    hftc_train_options o;
    CHECK_STATUS(hftc_train_options_init(&o, "hft-cnn"), HFTC_STATUS_OK);
    o.max_len = 0;
    token_sink s = {.stop_at = SIZE_MAX};
    CHECK_STATUS(hftc_tokenize_file(path, &o, collect_tokens, &s), HFTC_STATUS_OK);
    CHECK_MSG(!strcmp(s.text, "0:the team won the match|1:a theory of the atom|2:|3:école über|"), "got %s", s.text);

    o.drop_punct = 0, o.lowercase = 0, o.max_len = 4; // every option reaches the tokeniser
    s = (token_sink){.stop_at = SIZE_MAX};
    CHECK_STATUS(hftc_tokenize_file(path, &o, collect_tokens, &s), HFTC_STATUS_OK);
    CHECK_MSG(!strcmp(s.text, "0:The Team WON ,|1:A theory of the|2:,|3:École Über|"), "got %s", s.text);

    s = (token_sink){.stop_at = 1}; // the callback's error stops the reading
    CHECK_STATUS(hftc_tokenize_file(path, &o, collect_tokens, &s), HFTC_STATUS_IO);
    CHECK(s.calls == 2);

    path = tmpfiles_write_text("tokens.txt", "plain text, no labels\nbad \xff byte\n");
    s = (token_sink){.stop_at = SIZE_MAX};
    CHECK_STATUS(hftc_tokenize_file(path, &o, collect_tokens, &s), HFTC_STATUS_FORMAT);
    CHECK_MSG(strstr(hftc_last_error(), "tokens.txt:2") != NULL, "error: %s", hftc_last_error());
    CHECK(s.calls == 0); // nothing of the batch (1,024 documents) with an error is passed on
    o.skip_bad_lines = 1;
    CHECK_STATUS(hftc_tokenize_file(path, &o, collect_tokens, &s), HFTC_STATUS_OK);
    CHECK_MSG(!strcmp(s.text, "0:plain text , no|"), "got %s", s.text);
    o.format = "yaml";
    CHECK_STATUS(hftc_tokenize_file(path, &o, collect_tokens, &s), HFTC_STATUS_INVALID_ARGUMENT);

    // Read in batches: every document once, numbered in order across them.
    FILE *f = fopen(tmpfiles_path("many.txt"), "w");
    for (size_t i = 0; f && i < 2500; i++)
        fprintf(f, "word%zu\n", i);
    if (f)
        fclose(f);
    o.format = "auto";
    many_sink m = {0};
    CHECK_STATUS(hftc_tokenize_file(tmpfiles_path("many.txt"), &o, count_in_order, &m), HFTC_STATUS_OK);
    CHECK_MSG(m.docs == 2500 && m.in_order, "%zu documents, in order %d", m.docs, m.in_order);
}

static void test_fuzz(void)
{
    rng r;
    rng_seed(&r, 1234, 0);
    char *content = malloc(64 * 1024);
    size_t n_lines = 0, n_ok = 0, n_format = 0, n_docs = 0, bad_status = 0, bad_invariant = 0, bad_message = 0;
    hftc_set_log(NULL, HFTC_LOG_WARN, NULL);
    for (int file = 0; file < 150; file++) {
        size_t len = 0;
        size_t lines = 1 + rng_below(&r, 30);
        for (size_t i = 0; i < lines; i++) {
            len += random_line(&r, content + len, 1024);
            if (i + 1 < lines || rng_below(&r, 2))
                content[len++] = '\n';
        }
        n_lines += lines;
        const char *path = tmpfiles_write("fuzz.data", content, len ? len : 1);
        for (int variant = 0; variant < 10; variant++) {
            dataset_options opt = {.format = (data_format)(variant % 5),
                                   .tokenizer = {.lowercase = variant & 1,
                                                 .split_punct = variant < 5,
                                                 .max_len = (size_t)(variant % 3) * 3},
                                   .labels_required = variant % 5 != DATA_FORMAT_TEXT && (variant & 2),
                                   .skip_bad_lines = variant >= 5,
                                   .max_line_bytes = variant == 7 ? 64 : 0};
            loaded l;
            hftc_status st = load(&l, path, &opt);
            if (st != HFTC_STATUS_OK && st != HFTC_STATUS_FORMAT)
                bad_status++;
            if (st == HFTC_STATUS_FORMAT) {
                n_format++;
                if (strncmp(hftc_last_error(), path, strlen(path)) != 0)
                    bad_message++;
            }
            if (st == HFTC_STATUS_OK) {
                n_ok++;
                const dataset *ds = &l.ds;
                n_docs += ds->n_docs;
                for (size_t d = 0; d < ds->n_docs; d++) {
                    if (ds->token_start[d] > ds->token_start[d + 1] || ds->label_start[d] > ds->label_start[d + 1])
                        bad_invariant++;
                    if (opt.tokenizer.max_len && ds->token_start[d + 1] - ds->token_start[d] > opt.tokenizer.max_len)
                        bad_invariant++;
                    if (opt.labels_required && ds->label_start[d] == ds->label_start[d + 1])
                        bad_invariant++;
                    for (size_t k = ds->label_start[d]; k < ds->label_start[d + 1]; k++)
                        if (ds->labels[k] >= strmap_count(&l.labels) ||
                            (k > ds->label_start[d] && ds->labels[k] <= ds->labels[k - 1]))
                            bad_invariant++;
                    for (size_t k = ds->token_start[d]; k < ds->token_start[d + 1]; k++)
                        if (ds->tokens[k] >= vocab_size(&l.v) || ds->tokens[k] == VOCAB_PAD)
                            bad_invariant++;
                }
            }
            unload(&l);
        }
    }
    free(content);
    CHECK(n_lines > 2000);
    // Both outcomes occur: skip_bad_lines runs always succeed, and some random lines are documents.
    CHECK(n_ok > 100 && n_format > 100 && n_docs > 1000);
    fprintf(stderr, "fuzz: %zu lines, %zu reads ok, %zu format errors, %zu documents\n", n_lines, n_ok, n_format,
            n_docs);
    CHECK(bad_status == 0);
    CHECK(bad_message == 0);
    CHECK(bad_invariant == 0);
}

int main(void)
{
    tmpfiles_init("dataset");
    RUN_TEST(test_malformed_table);
    RUN_TEST(test_tsv_line_endings);
    RUN_TEST(test_cr_only_line_endings);
    RUN_TEST(test_fasttext);
    RUN_TEST(test_jsonl);
    RUN_TEST(test_text_and_optional_labels);
    RUN_TEST(test_auto_detect);
    RUN_TEST(test_skip_bad_lines);
    RUN_TEST(test_huge_line);
    RUN_TEST(test_truncation_and_empty);
    RUN_TEST(test_fixed_vocab_and_remap);
    RUN_TEST(test_io_errors_and_names);
    RUN_TEST(test_stream);
    RUN_TEST(test_tokenize_file);
    RUN_TEST(test_fuzz);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
