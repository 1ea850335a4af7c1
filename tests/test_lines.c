/* Tests for the line reader, over a stream and over a file descriptor: a table of inputs (LF, CRLF, no
 * final newline, empty lines, a BOM on line 1 and one on line 2, lone and doubled "\r", NUL bytes) checked
 * line by line with line numbers and skipped bytes, a 1 MB line with and without a BOM, the read error of a
 * directory, on a pipe whether a line is ready without waiting, and a line cut at max_line (over a descriptor
 * and, with max_line set, a stream: the table's cases too). */
#include "core/lines.h"

#include "test.h"
#include "tmpfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

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

// Opens path for r, over a stream or (fd) a descriptor; false (a failed check) if it cannot.
static bool reader_open(line_reader *r, const char *path, bool fd)
{
    if (fd) {
        int d = open(path, O_RDONLY);
        CHECK_MSG(d >= 0, "cannot open %s: %s", path, strerror(errno));
        if (d >= 0)
            line_reader_init_fd(r, d);
        return d >= 0;
    }
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "cannot open %s: %s", path, strerror(errno));
    if (f)
        line_reader_init(r, f);
    return f != NULL;
}

static void reader_close(line_reader *r)
{
    FILE *f = r->f;
    int fd = r->fd;
    line_reader_free(r);
    CHECK(r->buf == NULL && r->cap == 0 && r->line_no == 0);
    if (f)
        fclose(f);
    else
        close(fd);
}

static void test_table(void)
{
    /* each case over a stream, a descriptor, and a stream with a bound that no line reaches */
    for (size_t c = 0; c < 3 * sizeof cases / sizeof *cases; c++) {
        const line_case *lc = &cases[c / 3];
        line_reader r;
        if (!reader_open(&r, tmpfiles_write("case.txt", lc->input, lc->input_len), c % 3 == 1))
            continue;
        if (c % 3 == 2)
            r.max_line = 100;
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
static void test_no_skipped(bool fd)
{
    line_reader r;
    if (!reader_open(&r, tmpfiles_write_text("noskip.txt", BOM "x y\r\n"), fd))
        return;
    char *line;
    size_t len;
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1);
    CHECK(len == 3 && strcmp(line, "x y") == 0);
    CHECK(line_reader_next(&r, &line, &len, NULL) == 0);
    reader_close(&r);
}

// A 1 MB line (behind a BOM, then after it), then a short one: no line length is built in.
static void test_long_line(bool fd)
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
    if (!reader_open(&r, path, fd))
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

// Opening a directory for reading succeeds on Linux; the first read fails with EISDIR.
static void test_read_error(bool fd)
{
    line_reader r;
    if (!reader_open(&r, tmpfiles_dir(), fd))
        return;
    char *line;
    size_t len;
    CHECK(line_reader_next(&r, &line, &len, NULL) == -1);
    CHECK_MSG(errno == EISDIR, "errno %d (%s)", errno, strerror(errno));
    CHECK(r.line_no == 0);
    reader_close(&r);
}

static void test_sources(void)
{
    for (int fd = 0; fd < 2; fd++) {
        test_no_skipped(fd);
        test_long_line(fd);
        test_read_error(fd);
    }
}

// Writes text into the pipe's write end.
static void pipe_write(int fd, const char *text)
{
    size_t len = strlen(text);
    CHECK(write(fd, text, len) == (ssize_t)len);
}

// A descriptor reader of a pipe is ready with a whole line buffered or waiting in the pipe, or at the
// end; not with half a line; a stream reader always is.
static void test_ready(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    line_reader r;
    line_reader_init_fd(&r, p[0]);
    char *line;
    size_t len;
    CHECK(!line_reader_ready(&r)); /* nothing written */
    pipe_write(p[1], "one\ntwo\nthr");
    CHECK(line_reader_ready(&r)); /* in the pipe */
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1 && strcmp(line, "one") == 0);
    CHECK(line_reader_ready(&r)); /* "two" is buffered */
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1 && strcmp(line, "two") == 0);
    CHECK(!line_reader_ready(&r)); /* half a line buffered, the pipe empty */
    pipe_write(p[1], "ee\r\nfour");
    CHECK(line_reader_ready(&r));
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1 && strcmp(line, "three") == 0 && r.line_no == 3);
    CHECK(!line_reader_ready(&r));
    close(p[1]);
    CHECK(line_reader_ready(&r)); /* the end: "four" is the last line */
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1 && strcmp(line, "four") == 0);
    CHECK(line_reader_ready(&r) && line_reader_next(&r, &line, &len, NULL) == 0);
    line_reader_free(&r);
    close(p[0]);

    FILE *f = fopen(tmpfiles_write_text("ready.txt", "x\n"), "rb");
    CHECK(f != NULL);
    if (f) {
        line_reader_init(&r, f);
        CHECK(line_reader_ready(&r));
        line_reader_free(&r);
        fclose(f);
    }
}

// A reader with max_line cuts a longer line to more than max_line bytes and skips the rest
// of it without holding it (a long line already read whole is returned whole): lines after it keep
// their numbers, and the buffer stays small.
static void test_cut(bool fd)
{
    size_t big = (size_t)5 << 20, size = 6 + 20 + 1 + big + 1 + 5;
    char *content = malloc(size);
    CHECK(content != NULL);
    if (!content)
        return;
    memcpy(content, "short\n", 6);
    memset(content + 6, 'x', 20);
    content[26] = '\n';
    memset(content + 27, 'y', big);
    memcpy(content + 27 + big, "\nnext", 6);
    const char *path = tmpfiles_write("cut.txt", content, size);
    free(content);
    line_reader r;
    if (!reader_open(&r, path, fd))
        return;
    r.max_line = 10;
    char *line;
    size_t len;
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1 && !strcmp(line, "short"));
    /* a descriptor: read whole, kept; a stream: cut */
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1 && len == (fd ? 20 : 18) && r.line_no == 2);
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1 && len > 10 && line[0] == 'y' && r.line_no == 3);
    CHECK_MSG(r.cap <= (size_t)1 << 18, "a 5 MiB line cut at 10 bytes grew the buffer to %zu bytes", r.cap);
    CHECK(line_reader_next(&r, &line, &len, NULL) == 1 && !strcmp(line, "next") && r.line_no == 4);
    CHECK(line_reader_next(&r, &line, &len, NULL) == 0);
    reader_close(&r);
}

static void test_cuts(void)
{
    test_cut(true);
    test_cut(false);
}

int main(void)
{
    tmpfiles_init("lines");
    RUN_TEST(test_table);
    RUN_TEST(test_sources);
    RUN_TEST(test_ready);
    RUN_TEST(test_cuts);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
