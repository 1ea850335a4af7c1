/* Tests for the line reader: a table of inputs (LF, CRLF, no final newline, empty lines, a BOM on
 * line 1 and one on line 2, lone and doubled "\r", NUL bytes) checked line by line with line numbers
 * and skipped bytes, a 1 MB line with and without a BOM, and the read error of a directory. */
#include "core/lines.h"

#include "test.h"
#include "tmpfiles.h"

#include <errno.h>

#define MAX_LINES 6
#define BYTES(s) s, sizeof s - 1
#define BOM "\xef\xbb\xbf"

typedef struct {
    const char *name;
    const char *input;
    size_t input_len;
    size_t n_lines;
    struct {
        const char *text;
        size_t len;
    } lines[MAX_LINES];
    size_t skipped; // bytes removed at the start of line 1
} line_case;

static const line_case cases[] = {
    {"LF", BYTES("a\nbc\n"), 2, {{BYTES("a")}, {BYTES("bc")}}, 0},
    {"CRLF", BYTES("a\r\nbc\r\n"), 2, {{BYTES("a")}, {BYTES("bc")}}, 0},
    {"no final newline", BYTES("a\nbc"), 2, {{BYTES("a")}, {BYTES("bc")}}, 0},
    {"CRLF, no final newline", BYTES("a\r\nbc"), 2, {{BYTES("a")}, {BYTES("bc")}}, 0},
    {"mixed ends", BYTES("a\r\nb\nc\r\n"), 3, {{BYTES("a")}, {BYTES("b")}, {BYTES("c")}}, 0},
    {"empty file", BYTES(""), 0, {{0}}, 0},
    {"one empty line", BYTES("\n"), 1, {{BYTES("")}}, 0},
    {"empty lines counted", BYTES("\n\r\nx\n\n"), 4, {{BYTES("")}, {BYTES("")}, {BYTES("x")}, {BYTES("")}}, 0},
    {"spaces kept", BYTES(" a \t\n\t\n"), 2, {{BYTES(" a \t")}, {BYTES("\t")}}, 0},
    {"BOM on line 1", BYTES(BOM "a\nb\n"), 2, {{BYTES("a")}, {BYTES("b")}}, 3},
    {"BOM on line 2 kept", BYTES("a\n" BOM "b\n"), 2, {{BYTES("a")}, {BYTES(BOM "b")}}, 0},
    {"BOM on both lines", BYTES(BOM "\n" BOM "\n"), 2, {{BYTES("")}, {BYTES(BOM)}}, 3},
    {"BOM only, no newline", BYTES(BOM), 1, {{BYTES("")}}, 3},
    {"BOM then CRLF", BYTES(BOM "\r\nz"), 2, {{BYTES("")}, {BYTES("z")}}, 3},
    {"truncated BOM kept", BYTES("\xef\xbb\na"), 2, {{BYTES("\xef\xbb")}, {BYTES("a")}}, 0},
    {"lone CR in the middle kept", BYTES("a\rb\nc\r\n"), 2, {{BYTES("a\rb")}, {BYTES("c")}}, 0},
    {"one CR of CR CR LF dropped", BYTES("a\r\r\n"), 1, {{BYTES("a\r")}}, 0},
    {"CR at the end of the file dropped", BYTES("a\nb\r"), 2, {{BYTES("a")}, {BYTES("b")}}, 0},
    {"CR after LF starts a line", BYTES("a\n\rb"), 2, {{BYTES("a")}, {BYTES("\rb")}}, 0},
    {"NUL bytes kept", BYTES("a\0b\r\n\0\n"), 2, {{BYTES("a\0b")}, {BYTES("\0")}}, 0},
};

// Opens path for r; false (a failed check) if it cannot.
static bool reader_open(line_reader *r, const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "cannot open %s: %s", path, strerror(errno));
    if (f)
        line_reader_init(r, f);
    return f != NULL;
}

static void reader_close(line_reader *r)
{
    FILE *f = r->f;
    line_reader_free(r);
    CHECK(r->buf == NULL && r->cap == 0 && r->line_no == 0);
    fclose(f);
}

static void test_table(void)
{
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const line_case *lc = &cases[c];
        line_reader r;
        if (!reader_open(&r, tmpfiles_write("case.txt", lc->input, lc->input_len)))
            continue;
        char *line;
        size_t len, skipped, n = 0;
        int got;
        while ((got = line_reader_next(&r, &line, &len, &skipped)) > 0) {
            if (n == MAX_LINES || n == lc->n_lines) {
                n++;
                break;
            }
            CHECK_MSG(r.line_no == n + 1, "%s: line_no %zu, expected %zu", lc->name, r.line_no, n + 1);
            CHECK_MSG(len == lc->lines[n].len && memcmp(line, lc->lines[n].text, len) == 0,
                      "%s: line %zu is \"%.*s\" (%zu bytes), expected \"%s\"", lc->name, n + 1, (int)len, line, len,
                      lc->lines[n].text);
            CHECK_MSG(line[len] == '\0', "%s: line %zu not NUL-terminated", lc->name, n + 1);
            size_t want = n == 0 ? lc->skipped : 0;
            CHECK_MSG(skipped == want, "%s: line %zu skipped %zu, expected %zu", lc->name, n + 1, skipped, want);
            n++;
        }
        CHECK_MSG(got == 0 && n == lc->n_lines, "%s: %zu lines (last return %d), expected %zu", lc->name, n, got,
                  lc->n_lines);
        CHECK_MSG(r.line_no == lc->n_lines, "%s: line_no %zu at the end", lc->name, r.line_no);
        CHECK(line_reader_next(&r, &line, &len, NULL) == 0); // the end stays the end
        reader_close(&r);
    }
}

// skipped may be NULL.
static void test_no_skipped(void)
{
    line_reader r;
    if (!reader_open(&r, tmpfiles_write_text("noskip.txt", BOM "x y\r\n")))
        return;
    char *line;
    size_t len;
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1);
    CHECK(len == 3 && strcmp(line, "x y") == 0);
    CHECK(line_reader_next(&r, &line, &len, NULL) == 0);
    reader_close(&r);
}

// A 1 MB line (behind a BOM, then after it), then a short one: no line length is built in.
static void test_long_line(void)
{
    size_t big = (size_t)1 << 20, size = 3 + big + 2 + big + 1 + 5;
    char *content = malloc(size);
    CHECK(content != NULL);
    if (!content)
        return;
    char *w = content;
    memcpy(w, BOM, 3);
    memset(w + 3, 'x', big);
    w += 3 + big;
    memcpy(w, "\r\n", 2);
    memset(w + 2, 'y', big);
    w += 2 + big;
    memcpy(w, "\nshort", 6);
    const char *path = tmpfiles_write("long.txt", content, size);
    free(content);
    line_reader r;
    if (!reader_open(&r, path))
        return;
    char *line;
    size_t len, skipped;
    for (int k = 0; k < 2; k++) {
        char fill = k == 0 ? 'x' : 'y';
        CHECK(line_reader_next(&r, &line, &len, &skipped) == 1);
        CHECK(len == big && skipped == (k == 0 ? 3u : 0u) && r.line_no == (size_t)k + 1);
        size_t bad = 0;
        while (bad < len && line[bad] == fill)
            bad++;
        CHECK_MSG(bad == big, "line %d: byte %zu is not '%c'", k + 1, bad, fill);
        CHECK(line[len] == '\0');
    }
    CHECK(line_reader_next(&r, &line, &len, &skipped) == 1);
    CHECK(len == 5 && strcmp(line, "short") == 0 && skipped == 0 && r.line_no == 3);
    CHECK(line_reader_next(&r, &line, &len, &skipped) == 0);
    reader_close(&r);
}

// fopen of a directory succeeds for reading on Linux; the first read fails with EISDIR.
static void test_read_error(void)
{
    line_reader r;
    if (!reader_open(&r, tmpfiles_dir()))
        return;
    char *line;
    size_t len;
    CHECK(line_reader_next(&r, &line, &len, NULL) == -1);
    CHECK_MSG(errno == EISDIR, "errno %d (%s)", errno, strerror(errno));
    CHECK(r.line_no == 0);
    reader_close(&r);
}

int main(void)
{
    tmpfiles_init("lines");
    RUN_TEST(test_table);
    RUN_TEST(test_no_skipped);
    RUN_TEST(test_long_line);
    RUN_TEST(test_read_error);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
