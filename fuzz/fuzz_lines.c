/* Fuzzing the line reader (src/core/lines.c) that every text format goes through, differentially: its ways
 * of reading (a descriptor, a stream by getline, and each of them bounded by max_line) must agree. Without a
 * bound, the two give the same lines, numbers and ends of line; with one, every line no longer than max_line
 * is the same, and a longer one is cut to a prefix still longer than max_line (or, from a descriptor that
 * read it whole, returned whole). Input: one byte choosing max_line (1 to 256 bytes), then the file. */
#include "fuzz.h"

#include "core/lines.h"

#include <fcntl.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

typedef struct {
    line_reader r;
    FILE *f;
    int fd;
} source;

static void open_source(source *s, const char *path, bool descriptor, size_t max_line)
{
    *s = (source){.fd = -1};
    if (descriptor) {
        s->fd = open(path, O_RDONLY);
        if (s->fd < 0)
            abort();
        line_reader_init_fd(&s->r, s->fd);
    } else {
        s->f = fopen(path, "rb");
        if (!s->f)
            abort();
        line_reader_init(&s->r, s->f);
    }
    s->r.max_line = max_line;
}

static void close_source(source *s)
{
    line_reader_free(&s->r);
    if (s->f)
        fclose(s->f);
    if (s->fd >= 0)
        close(s->fd);
}

typedef struct {
    char *text;
    size_t len, skipped, line_no;
    bool ended;
} line;

/* Every line of s, copied; *n their number. */
static line *read_all(source *s, size_t *n)
{
    line *lines = NULL;
    size_t cap = 0;
    char *p;
    size_t len, skipped;
    int got;
    for (*n = 0; (got = line_reader_next(&s->r, &p, &len, &skipped)) > 0; ++*n) {
        if (p[len] != '\0')
            abort();
        if (*n == cap && !(lines = realloc(lines, (cap = 2 * cap + 8) * sizeof *lines)))
            abort();
        lines[*n] = (line){malloc(len + 1), len, skipped, s->r.line_no, s->r.ended};
        if (!lines[*n].text)
            abort();
        memcpy(lines[*n].text, p, len + 1);
    }
    if (got != 0 || line_reader_next(&s->r, &p, &len, &skipped) != 0) /* the end stays the end */
        abort();
    return lines;
}

static void free_all(line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i].text);
    free(lines);
}

/* The lines of path read as descriptor says, with max_line, against ref (read without a bound). */
static void check(const char *path, bool descriptor, size_t max_line, const line *ref, size_t n_ref)
{
    source s;
    open_source(&s, path, descriptor, max_line);
    size_t n;
    line *lines = read_all(&s, &n);
    close_source(&s);
    if (n != n_ref)
        abort();
    for (size_t i = 0; i < n; i++) {
        const line *a = &lines[i], *b = &ref[i];
        bool whole = a->len == b->len && !memcmp(a->text, b->text, a->len) && a->ended == b->ended;
        bool cut =
            max_line && b->len > max_line && a->len > max_line && a->len <= b->len && !memcmp(a->text, b->text, a->len);
        if (a->line_no != b->line_no || a->skipped != b->skipped || !(whole || cut))
            abort();
    }
    free_all(lines, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_line = (size_t)data[0] + 1, n;
    const char *path = fuzz_file("lines", data + 1, size - 1);
    source s;
    open_source(&s, path, true, 0);
    line *ref = read_all(&s, &n);
    close_source(&s);
    check(path, false, 0, ref, n);
    check(path, true, max_line, ref, n);
    check(path, false, max_line, ref, n);
    free_all(ref, n);
    return 0;
}
