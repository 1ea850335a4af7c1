/* Tests for the word vector readers: the three formats, plain and gzip-compressed, auto-detection, and
 * truncated or inconsistent files (status plus file and line, or byte offset, in the message). Files go to a temporary
 * directory. */
#define _POSIX_C_SOURCE 200809L
#include "text/wordvec.h"

#include "test.h"
#include "tmpfiles.h"

#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

// Vocabulary ids: <pad> 0, <unk> 1, the 2, cat 3, école 4, missing 5, new york 6.
#define V 7
static void make_vocab(vocab *v)
{
    const char *words[V] = {"<pad>", "<unk>", "the", "cat", "école", "missing", "new york"};
    if (vocab_from_words(v, words, V) != HFTC_STATUS_OK)
        exit(1);
}

static const float the_vec[3] = {0.1f, 0.2f, 0.3f}, cat_vec[3] = {-1.0f, 0.25f, 0.5f}, ecole_vec[3] = {1, 2, 3};

static void check_rows(const float *emb, bool with_new_york)
{
    for (int j = 0; j < 3; j++) {
        CHECK(emb[0 * 3 + j] == 0.0f);
        CHECK(emb[2 * 3 + j] == the_vec[j]);
        CHECK(emb[3 * 3 + j] == cat_vec[j]);
        CHECK(emb[4 * 3 + j] == ecole_vec[j]);
        CHECK(emb[5 * 3 + j] >= -0.25f && emb[5 * 3 + j] < 0.25f); // random: not in the file
        CHECK(emb[1 * 3 + j] >= -0.25f && emb[1 * 3 + j] < 0.25f);
        if (with_new_york)
            CHECK(emb[6 * 3 + j] == (float)(7 + j));
    }
}

static const char vec_text[] = "5 3\n"
                               "the 0.1 0.2 0.3 \n" // fastText writes a space before the newline
                               "cat -1 2.5e-1 .5\n"
                               "dog 9 9 9\n"
                               "école 1 2 3\n"
                               "the 5 5 5\n"; // a repeated word: the first one wins

static const char glove_text[] = "the 0.1 0.2 0.3\r\n"
                                 "cat -1 2.5e-1 .5\r\n"
                                 "new york 7 8 9\r\n" // a word with a space, as in GloVe 840B
                                 "école 1 2 3";

// word2vec binary of the words with their vectors: "N D\n", then word, space, D float32 LE, "\n".
static size_t make_binary(unsigned char *out, size_t n_header, const char *const *words, const float (*vecs)[3],
                          size_t n)
{
    size_t len = (size_t)sprintf((char *)out, "%zu 3\n", n_header);
    for (size_t w = 0; w < n; w++) {
        len += (size_t)sprintf((char *)out + len, "%s ", words[w]);
        for (int j = 0; j < 3; j++) {
            uint32_t u;
            memcpy(&u, &vecs[w][j], 4);
            for (int b = 0; b < 4; b++)
                out[len++] = (unsigned char)(u >> (8 * b));
        }
        out[len++] = '\n';
    }
    return len;
}

static const char *const bin_words[] = {"the", "cat", "dog", "école"};
static const float bin_vecs[4][3] = {{0.1f, 0.2f, 0.3f}, {-1.0f, 0.25f, 0.5f}, {9, 9, 9}, {1, 2, 3}};

static void test_three_formats(void)
{
    vocab v;
    make_vocab(&v);
    float emb[V * 3];
    rng r;
    size_t found = 0;
    wordvec_format fmt;
    size_t dim;

    const char *path = tmpfiles_write_text("vec.txt", vec_text);
    CHECK_STATUS(wordvec_probe(path, WORDVEC_AUTO, &fmt, &dim), HFTC_STATUS_OK);
    CHECK(fmt == WORDVEC_TEXT && dim == 3);
    rng_seed(&r, 1, 0);
    CHECK_STATUS(wordvec_load(path, WORDVEC_AUTO, &v, 3, emb, &r, &found), HFTC_STATUS_OK);
    CHECK(found == 3);
    check_rows(emb, false);
    float missing_row[3];
    memcpy(missing_row, emb + 5 * 3, sizeof missing_row);

    path = tmpfiles_write_text("glove.txt", glove_text);
    CHECK_STATUS(wordvec_probe(path, WORDVEC_AUTO, &fmt, &dim), HFTC_STATUS_OK);
    CHECK(fmt == WORDVEC_GLOVE && dim == 3);
    rng_seed(&r, 1, 0);
    CHECK_STATUS(wordvec_load(path, WORDVEC_AUTO, &v, 0, emb, &r, &found), HFTC_STATUS_OK);
    CHECK(found == 4);
    check_rows(emb, true);
    // Rows not in the file depend only on the seed.
    CHECK(memcmp(missing_row, emb + 5 * 3, sizeof missing_row) == 0);

    unsigned char bin[512];
    size_t len = make_binary(bin, 4, bin_words, bin_vecs, 4);
    path = tmpfiles_write("vectors.bin", bin, len);
    CHECK_STATUS(wordvec_probe(path, WORDVEC_AUTO, &fmt, &dim), HFTC_STATUS_OK);
    CHECK(fmt == WORDVEC_BINARY && dim == 3);
    rng_seed(&r, 1, 0);
    CHECK_STATUS(wordvec_load(path, WORDVEC_BINARY, &v, 3, emb, &r, &found), HFTC_STATUS_OK);
    CHECK(found == 3);
    check_rows(emb, false);
    vocab_free(&v);
}

/* A text file whose first word is not valid UTF-8 (Latin-1 "\xe9cole") is text, as its numbers say
 * (issue 25, item 12: taken for binary, then "truncated" or garbage); binary vectors stay binary. */
static void test_invalid_utf8_word(void)
{
    vocab v;
    make_vocab(&v);
    float emb[V * 3];
    rng r;
    size_t found = 0, dim;
    wordvec_format fmt;
    static const char latin1[] = "2 3\n\xe9"
                                 "cole 1 2 3\ncat -1 2.5e-1 .5\n";
    const char *path = tmpfiles_write_text("latin1.vec", latin1);
    CHECK_STATUS(wordvec_probe(path, WORDVEC_AUTO, &fmt, &dim), HFTC_STATUS_OK);
    CHECK_MSG(fmt == WORDVEC_TEXT && dim == 3, "format %d (text: %d), dim %zu", (int)fmt, (int)WORDVEC_TEXT, dim);
    rng_seed(&r, 1, 0);
    CHECK_STATUS(wordvec_load(path, WORDVEC_AUTO, &v, 3, emb, &r, &found), HFTC_STATUS_OK);
    CHECK(found == 1 && emb[3 * 3] == -1.0f);
    unsigned char bin[512];
    static const char *const words[] = {"\xe9"
                                        "cole",
                                        "cat"};
    path = tmpfiles_write("latin1.bin", bin, make_binary(bin, 2, words, bin_vecs, 2));
    CHECK_STATUS(wordvec_probe(path, WORDVEC_AUTO, &fmt, &dim), HFTC_STATUS_OK);
    CHECK(fmt == WORDVEC_BINARY && dim == 3);
    vocab_free(&v);
}

static void test_binary_without_newlines(void)
{
    vocab v;
    make_vocab(&v);
    unsigned char bin[512];
    size_t len = (size_t)sprintf((char *)bin, "2 3\n");
    for (size_t w = 0; w < 2; w++) {
        len += (size_t)sprintf((char *)bin + len, "%s ", bin_words[w]);
        memcpy(bin + len, bin_vecs[w], 12); // the test machine is little-endian
        len += 12;
    }
    const char *path = tmpfiles_write("nonl.bin", bin, len);
    float emb[V * 3];
    rng r;
    rng_seed(&r, 2, 0);
    size_t found = 0;
    CHECK_STATUS(wordvec_load(path, WORDVEC_AUTO, &v, 3, emb, &r, &found), HFTC_STATUS_OK);
    CHECK(found == 2);
    CHECK(emb[3 * 3 + 1] == 0.25f && emb[2 * 3 + 2] == 0.3f);
    vocab_free(&v);
}

typedef struct {
    const char *name;
    wordvec_format format;
    size_t dim;
    const char *content;
    hftc_status status;
    const char *message; // expected part, after "path"
} bad_vec;

static const bad_vec bad_vecs[] = {
    {"vec.txt", WORDVEC_AUTO, 3, "2 3\nthe 0.1 0.2 0.3\ncat 1 2\n", HFTC_STATUS_FORMAT,
     ":3: expected 3 values, found 2"},
    {"vec.txt", WORDVEC_TEXT, 3, "2 3\nthe 1 2 3 4\ncat 1 2 3\n", HFTC_STATUS_FORMAT, ":2: expected 3 values, found 4"},
    {"vec.txt", WORDVEC_AUTO, 3, "3 3\nthe 1 2 3\ncat 1 2 3\n", HFTC_STATUS_FORMAT, ": truncated"},
    {"vec.txt", WORDVEC_AUTO, 3, "1 3\nthe 1 2 3\ncat 1 2 3\n", HFTC_STATUS_FORMAT, ":3: more words than"},
    {"vec.txt", WORDVEC_AUTO, 3, "2 3\nthe 1 2 3\ncat 1 x 3\n", HFTC_STATUS_FORMAT, ":3: value 2 is not a number"},
    {"vec.txt", WORDVEC_AUTO, 3, "2 3\nthe 1 2 3\ndog 1 2 3.0.1\n", HFTC_STATUS_FORMAT, ":3: value 3 is not a number"},
    {"vec.txt", WORDVEC_AUTO, 3, "2 3\nthe 1 2 3\ndog 1 2 1e\n", HFTC_STATUS_FORMAT, ":3: value 3 is not a number"},
    {"vec.txt", WORDVEC_AUTO, 3, "2 3\nthe 1 nan 3\ncat 1 2 3\n", HFTC_STATUS_FORMAT, ":2: value 2 is not finite"},
    {"vec.txt", WORDVEC_AUTO, 3, "2 3\nthe 1 2 3\ndog -Inf 2 3\n", HFTC_STATUS_FORMAT, ":3: value 1 is not finite"},
    {"vec.txt", WORDVEC_AUTO, 3, "2 3\nthe 1 2 3\ncat 1 2 1e39\n", HFTC_STATUS_FORMAT, ":3: value 3 is not finite"},
    {"vec.txt", WORDVEC_AUTO, 5, "1 3\nthe 1 2 3\n", HFTC_STATUS_INVALID_ARGUMENT,
     ": the vectors have dimension 3, not 5"},
    {"vec.txt", WORDVEC_TEXT, 3, "the 1 2 3\n", HFTC_STATUS_FORMAT, ":1: expected a header line"},
    {"vec.txt", WORDVEC_AUTO, 3, "", HFTC_STATUS_FORMAT, ": empty file"},
    {"vec.txt", WORDVEC_AUTO, 3, "2 0\n", HFTC_STATUS_FORMAT, ":1: dimension 0 out of range"},
    {"glove.txt", WORDVEC_AUTO, 3, "the 1 2 3\ncat 1 2 3\n\ndog 1 2\n", HFTC_STATUS_FORMAT,
     ":4: expected 3 values, found 2"},
    {"glove.txt", WORDVEC_GLOVE, 3, "the 1 2 3\ncat 1 2 3 4 5\n", HFTC_STATUS_FORMAT, ":2: expected 3 values, found 5"},
    {"glove.txt", WORDVEC_AUTO, 3, "the\n", HFTC_STATUS_FORMAT, ":1: expected a word followed by its values"},
};

static void test_bad_text_files(void)
{
    vocab v;
    make_vocab(&v);
    float emb[V * 5];
    rng r;
    rng_seed(&r, 3, 0);
    char want[256];
    for (size_t i = 0; i < sizeof bad_vecs / sizeof *bad_vecs; i++) {
        const bad_vec *c = &bad_vecs[i];
        const char *path = tmpfiles_write_text(c->name, c->content);
        size_t found;
        hftc_status st = wordvec_load(path, c->format, &v, c->dim, emb, &r, &found);
        CHECK_MSG(st == c->status, "case %zu: status %d (%s)", i, (int)st, hftc_last_error());
        snprintf(want, sizeof want, "%s%s", path, c->message);
        CHECK_MSG(strstr(hftc_last_error(), want) == hftc_last_error(), "case %zu: \"%s\", expected \"%s\"", i,
                  hftc_last_error(), want);
    }
    size_t found;
    CHECK_STATUS(wordvec_load("/nonexistent/vec.txt", WORDVEC_AUTO, &v, 3, emb, &r, &found), HFTC_STATUS_IO);
    vocab_free(&v);
}

static void test_bad_binary_files(void)
{
    vocab v;
    make_vocab(&v);
    float emb[V * 3];
    rng r;
    rng_seed(&r, 4, 0);
    unsigned char bin[512];
    size_t found;
    char want[256];

    // Header announces 4 words, the file stops inside word 3's vector; each record here is 17 bytes.
    size_t len = make_binary(bin, 4, bin_words, bin_vecs, 4);
    const char *path = tmpfiles_write("vectors.bin", bin, 4 + 17 + 17 + 4 + 6);
    CHECK_STATUS(wordvec_load(path, WORDVEC_AUTO, &v, 3, emb, &r, &found), HFTC_STATUS_FORMAT);
    snprintf(want, sizeof want, "%s: truncated at word 3 of 4 (byte offset 38)", path);
    CHECK_MSG(strcmp(hftc_last_error(), want) == 0, "%s", hftc_last_error());

    // Stops inside a word.
    path = tmpfiles_write("vectors.bin", bin, 4 + 17 + 2);
    CHECK_STATUS(wordvec_load(path, WORDVEC_BINARY, &v, 3, emb, &r, &found), HFTC_STATUS_FORMAT);
    snprintf(want, sizeof want, "%s: truncated at word 2 of 4 (byte offset 21)", path);
    CHECK_MSG(strcmp(hftc_last_error(), want) == 0, "%s", hftc_last_error());

    // More words than the header says.
    len = make_binary(bin, 3, bin_words, bin_vecs, 4);
    path = tmpfiles_write("vectors.bin", bin, len);
    CHECK_STATUS(wordvec_load(path, WORDVEC_BINARY, &v, 3, emb, &r, &found), HFTC_STATUS_FORMAT);
    CHECK(strstr(hftc_last_error(), "unexpected data after the 3 words") != NULL);

    // A non-finite value (in a word that is not even in the vocabulary).
    float inf_vecs[4][3];
    memcpy(inf_vecs, bin_vecs, sizeof inf_vecs);
    inf_vecs[2][1] = INFINITY;
    len = make_binary(bin, 4, bin_words, (const float(*)[3])inf_vecs, 4);
    path = tmpfiles_write("vectors.bin", bin, len);
    CHECK_STATUS(wordvec_load(path, WORDVEC_BINARY, &v, 3, emb, &r, &found), HFTC_STATUS_FORMAT);
    snprintf(want, sizeof want, "%s: word 3 of 4 has a non-finite value (byte offset 38)", path);
    CHECK_MSG(strcmp(hftc_last_error(), want) == 0, "%s", hftc_last_error());

    // Dimension mismatch.
    len = make_binary(bin, 4, bin_words, bin_vecs, 4);
    path = tmpfiles_write("vectors.bin", bin, len);
    CHECK_STATUS(wordvec_load(path, WORDVEC_BINARY, &v, 300, emb, &r, &found), HFTC_STATUS_INVALID_ARGUMENT);
    vocab_free(&v);
}

// A sample file of each format: its name, contents and format (bin: room for the binary one).
typedef struct {
    const char *name;
    const void *data;
    size_t len;
    wordvec_format format;
} sample_file;

static void sample_files(sample_file files[3], unsigned char bin[512])
{
    files[0] = (sample_file){"vec.txt", vec_text, sizeof vec_text - 1, WORDVEC_TEXT};
    files[1] = (sample_file){"glove.txt", glove_text, sizeof glove_text - 1, WORDVEC_GLOVE};
    files[2] = (sample_file){"vectors.bin", bin, make_binary(bin, 4, bin_words, bin_vecs, 4), WORDVEC_BINARY};
}

/* Writes n bytes gzip-compressed to tmpfiles name (truncated to keep bytes of the compressed file when
 * keep > 0); returns its path. */
static const char *write_gzip(const char *name, const void *data, size_t n, long keep)
{
    const char *path = tmpfiles_path(name);
    gzFile gz = gzopen(path, "wb");
    CHECK(gz != NULL && gzwrite(gz, data, (unsigned)n) == (int)n && gzclose(gz) == Z_OK);
    if (keep > 0)
        CHECK(truncate(path, keep) == 0);
    return path;
}

// Each format gzip-compressed reads as the plain file does; a truncated one is an error.
static void test_gzip(void)
{
    vocab v;
    make_vocab(&v);
    float plain[V * 3], packed[V * 3];
    rng r;
    size_t found, dim;
    wordvec_format fmt;
    unsigned char bin[512];
    sample_file files[3];
    sample_files(files, bin);
    for (size_t i = 0; i < 3; i++) {
        const char *path = tmpfiles_write(files[i].name, files[i].data, files[i].len);
        char gz_name[64];
        snprintf(gz_name, sizeof gz_name, "%s.gz", files[i].name);
        const char *gz_path = write_gzip(gz_name, files[i].data, files[i].len, 0);
        CHECK_STATUS(wordvec_probe(gz_path, WORDVEC_AUTO, &fmt, &dim), HFTC_STATUS_OK);
        CHECK_MSG(fmt == files[i].format && dim == 3, "%s: format %d, dim %zu", gz_name, (int)fmt, dim);
        rng_seed(&r, 1, 0);
        CHECK_STATUS(wordvec_load(path, WORDVEC_AUTO, &v, 3, plain, &r, &found), HFTC_STATUS_OK);
        rng_seed(&r, 1, 0);
        CHECK_STATUS(wordvec_load(gz_path, WORDVEC_AUTO, &v, 3, packed, &r, &found), HFTC_STATUS_OK);
        CHECK_MSG(!memcmp(plain, packed, sizeof plain), "%s: other values than the plain file", gz_name);
    }
    // A compressed file cut short: reported as such, whether or not the cut falls between two lines.
    static char many[64 << 10];
    size_t used = (size_t)snprintf(many, sizeof many, "2000 3\n");
    for (int w = 0; w < 2000 && used + 40 < sizeof many; w++)
        used += (size_t)snprintf(many + used, sizeof many - used, "w%d %d.5 -%d.25 0.%d\n", w, w, w, w);
    const char *cut = write_gzip("cut.vec.gz", many, used, 4000);
    CHECK_STATUS(wordvec_load(cut, WORDVEC_AUTO, &v, 3, packed, &r, &found), HFTC_STATUS_FORMAT);
    CHECK_MSG(strstr(hftc_last_error(), "cut.vec.gz: the gzip-compressed data is damaged or cut short"), "%s",
              hftc_last_error());
    const char *glove_cut = write_gzip("cut.glove.gz", many + 7, used - 7, 4000); /* no header: no count */
    CHECK_STATUS(wordvec_load(glove_cut, WORDVEC_GLOVE, &v, 3, packed, &r, &found), HFTC_STATUS_FORMAT);
    CHECK_MSG(strstr(hftc_last_error(), "damaged or cut short"), "%s", hftc_last_error());
    vocab_free(&v);
}

/* One endless line (a gzip file of zeros, 400 MiB unpacked): an error naming the file and line once the
 * 64 MiB bound is passed, with no more than about the bound held. getline held the whole line (over
 * 400 MiB of resident memory) before the error. */
static void test_endless_line(void)
{
    const char *path = tmpfiles_path("zeros.vec.gz");
    static char zeros[1 << 20];
    memset(zeros, '0', sizeof zeros);
    gzFile gz = gzopen(path, "wb1");
    CHECK(gz != NULL);
    for (int i = 0; gz && i < 400; i++)
        CHECK(gzwrite(gz, zeros, sizeof zeros) == (int)sizeof zeros);
    CHECK(gz && gzclose(gz) == Z_OK);
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    vocab v;
    make_vocab(&v);
    float emb[V * 3];
    rng r;
    rng_seed(&r, 1, 0);
    size_t found;
    CHECK_STATUS(wordvec_load(path, WORDVEC_AUTO, &v, 3, emb, &r, &found), HFTC_STATUS_FORMAT);
    CHECK_MSG(strstr(hftc_last_error(), "zeros.vec.gz:1: line longer than 67108864 bytes"), "%s", hftc_last_error());
    getrusage(RUSAGE_SELF, &after);
    long grown_mib = (after.ru_maxrss - before.ru_maxrss) >> 10; /* ru_maxrss is in KiB */
    CHECK_MSG(grown_mib < 256, "reading the line grew the resident memory by %ld MiB", grown_mib);
    vocab_free(&v);
}

/* Bytes after the last gzip member that are no member (issue 25, item 12: ignored, as zlib's gzread does): an
 * error naming the file, in each format; a second member is read on (gzip files may be concatenated). */
static void test_gzip_trailing_garbage(void)
{
    vocab v;
    make_vocab(&v);
    float emb[V * 3];
    rng r;
    size_t found;
    unsigned char bin[512];
    sample_file files[3];
    sample_files(files, bin);
    for (size_t i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "garbage.%s.gz", files[i].name);
        const char *path = write_gzip(name, files[i].data, files[i].len, 0);
        FILE *f = fopen(path, "ab");
        CHECK(f && fputs("this is no gzip member\n", f) >= 0 && fclose(f) == 0);
        rng_seed(&r, 1, 0);
        CHECK_STATUS(wordvec_load(path, WORDVEC_AUTO, &v, 3, emb, &r, &found), HFTC_STATUS_FORMAT);
        CHECK_MSG(strstr(hftc_last_error(), name) && strstr(hftc_last_error(), "after the gzip"), "%s: %s", name,
                  hftc_last_error());
    }
    /* two members, split inside a line: read as one text */
    size_t half = 30;
    const char *path = tmpfiles_path("two.vec.gz");
    for (int m = 0; m < 2; m++) {
        gzFile gz = gzopen(path, m ? "ab" : "wb");
        size_t from = m ? half : 0, n = m ? sizeof vec_text - 1 - half : half;
        CHECK(gz && gzwrite(gz, vec_text + from, (unsigned)n) == (int)n && gzclose(gz) == Z_OK);
    }
    rng_seed(&r, 1, 0);
    CHECK_STATUS(wordvec_load(path, WORDVEC_AUTO, &v, 3, emb, &r, &found), HFTC_STATUS_OK);
    CHECK(found == 3);
    check_rows(emb, false);
    vocab_free(&v);
}

static void test_format_names(void)
{
    static const char *const names[] = {"auto", "text", "vec", "glove", "binary", "bin"};
    static const wordvec_format formats[] = {WORDVEC_AUTO,  WORDVEC_TEXT,   WORDVEC_TEXT,
                                             WORDVEC_GLOVE, WORDVEC_BINARY, WORDVEC_BINARY};
    for (size_t i = 0; i < 6; i++) {
        wordvec_format f;
        CHECK(wordvec_format_parse(names[i], &f) && f == formats[i]);
    }
    wordvec_format f;
    CHECK(!wordvec_format_parse("vec2", &f));
}

int main(void)
{
    tmpfiles_init("wordvec");
    RUN_TEST(test_three_formats);
    RUN_TEST(test_invalid_utf8_word);
    RUN_TEST(test_binary_without_newlines);
    RUN_TEST(test_bad_text_files);
    RUN_TEST(test_bad_binary_files);
    RUN_TEST(test_gzip);
    RUN_TEST(test_endless_line);
    RUN_TEST(test_gzip_trailing_garbage);
    RUN_TEST(test_format_names);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
