/* Word vector readers. Text formats are read line by line; every line is checked (value count, number
 * syntax) even for words not in the vocabulary, but only vocabulary words pay for strtof, which keeps
 * multi-gigabyte files fast. A line may hold a word with spaces (GloVe 840B has a few): leading fields
 * that are not numbers and exceed the dimension belong to the word. Numbers are parsed with strtof, so
 * the C locale's decimal point is assumed (the library never calls setlocale). The first occurrence of
 * a word wins. */
#define _GNU_SOURCE /* fopencookie: a gzip file read through the same stdio code as a plain one */
#include "text/wordvec.h"

#include "core/arena.h"
#include "core/bounds.h"
#include "core/error.h"
#include "core/lines.h"
#include "text/tokenizer.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define MAX_DIM ((size_t)BOUNDS_MAX_VECTOR_DIM)
#define MAX_BINARY_WORD 65536
#define PROBE_BYTES 4096
/* As the data reader's limit: a longer line is an error, and no more than this is ever held (a gzip file
 * of zeros is one endless line). */
#define MAX_LINE_BYTES ((size_t)64 << 20)

typedef struct {
    const char *path;
    wordvec_format format;
    size_t count, dim; // count: words announced by the header (text and binary)
} wordvec_header;

static bool is_field_sep(char c) { return c == ' ' || c == '\t'; }

/* Set by gz_read when the compressed data is damaged, ends early or is followed by bytes that are no gzip
 * member (stdio may not keep its errno). */
static _Thread_local enum { GZIP_OK, GZIP_DAMAGED, GZIP_TRAILING } gzip_problem;

static hftc_status read_error(const char *path)
{
    if (gzip_problem == GZIP_DAMAGED)
        return error_set(HFTC_STATUS_FORMAT, "%s: the gzip-compressed data is damaged or cut short", path);
    if (gzip_problem == GZIP_TRAILING)
        return error_set(HFTC_STATUS_FORMAT, "%s: bytes after the gzip-compressed data that are no gzip member", path);
    return errno == ENOMEM ? error_set(HFTC_STATUS_OUT_OF_MEMORY, "%s: out of memory reading a line", path)
                           : error_set(HFTC_STATUS_IO, "%s: read error: %s", path, strerror(errno));
}

static bool parse_size(const char **p, const char *end, size_t *out)
{
    const char *s = *p;
    size_t x = 0;
    if (s == end || *s < '0' || *s > '9')
        return false;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (x > (SIZE_MAX - 9) / 10)
            return false;
        x = x * 10 + (size_t)(*s - '0');
    }
    *p = s;
    *out = x;
    return true;
}

// "count dim": exactly two integers.
static bool parse_header(const char *line, size_t len, size_t *count, size_t *dim)
{
    const char *p = line, *end = line + len;
    while (p < end && is_field_sep(*p))
        p++;
    if (!parse_size(&p, end, count) || p == end || !is_field_sep(*p))
        return false;
    while (p < end && is_field_sep(*p))
        p++;
    if (!parse_size(&p, end, dim))
        return false;
    while (p < end && is_field_sep(*p))
        p++;
    return p == end;
}

typedef enum { NUMBER_OK, NUMBER_BAD, NUMBER_NONFINITE } number_check;

static bool ascii_prefix_ci(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);
    return n == k && strncasecmp(s, word, k) == 0;
}

// The syntax strtof accepts for decimal numbers, without parsing: [+-] digits [. digits] [e [+-] digits].
static number_check check_number(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    if (ascii_prefix_ci(s + i, n - i, "nan") || ascii_prefix_ci(s + i, n - i, "inf") ||
        ascii_prefix_ci(s + i, n - i, "infinity"))
        return NUMBER_NONFINITE;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    if (digits == 0)
        return NUMBER_BAD;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            exp_digits++;
        if (exp_digits == 0)
            return NUMBER_BAD;
    }
    return i == n ? NUMBER_OK : NUMBER_BAD;
}

/* How many fields at the end of line[0, n) are numbers (as check_number reads them, infinities too). */
static size_t trailing_numbers(const char *line, size_t n)
{
    size_t count = 0;
    while (n > 0) {
        while (n > 0 && (is_field_sep(line[n - 1]) || line[n - 1] == '\r'))
            n--;
        size_t end = n;
        while (n > 0 && !is_field_sep(line[n - 1]))
            n--;
        if (end == n || check_number(line + n, end - n) == NUMBER_BAD)
            break;
        count++;
    }
    return count;
}

/* Whether the bytes after a header line read as text, up to the first newline: no control characters
 * (binary vectors' float bytes hold one almost surely) and either valid UTF-8 or, for a word that is not
 * (a legacy encoding, a word cut inside a character: text all the same), dim numbers at the end of the line
 * (at least one of a line longer than the chunk). Binary vectors fail both (stray bytes, no numbers). */
static bool looks_like_text(const char *buf, size_t n, bool whole_file, size_t dim)
{
    const char *nl = memchr(buf, '\n', n);
    bool complete = nl || whole_file;
    if (nl) {
        n = (size_t)(nl - buf);
    } else if (!whole_file) {
        // The chunk may end inside a character: drop a trailing incomplete sequence.
        size_t k = n, back = 0;
        while (k > 0 && back < 3 && ((unsigned char)buf[k - 1] & 0xc0) == 0x80) {
            k--;
            back++;
        }
        if (k > 0 && ((unsigned char)buf[k - 1] & 0x80))
            n = k - 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x20 && c != '\t' && c != '\r')
            return false;
    }
    if (utf8_find_invalid(buf, n) == n)
        return true;
    if (!complete) // the last field may be cut: the numbers before it
        while (n > 0 && !is_field_sep(buf[n - 1]))
            n--;
    size_t numbers = trailing_numbers(buf, n);
    return complete ? numbers >= dim : numbers >= 1;
}

static void vectors_reader_init(line_reader *lr, FILE *f)
{
    line_reader_init(lr, f);
    lr->max_line = MAX_LINE_BYTES;
}

static hftc_status too_long(const char *path, size_t line_no)
{
    return error_set(HFTC_STATUS_FORMAT, "%s:%zu: line longer than %zu bytes", path, line_no, MAX_LINE_BYTES);
}

/* A gzip-compressed file as a stdio stream: inflate over the raw file, member after member (gzip files may be
 * concatenated). Not zlib's gzread, which ignores bytes after the last member that are no member. Seeking
 * goes forward by reading, or back to the start by reading again. */
typedef struct {
    FILE *raw;
    z_stream z;
    uint64_t pos; // uncompressed bytes handed out
    bool end;     // the last member ended at the end of the file
    unsigned char in[1 << 17];
} gz_source;

// More compressed bytes after the unread ones; false at the end of the file or on an error.
static bool gz_fill(gz_source *g)
{
    if (g->z.avail_in && g->z.next_in != g->in)
        memmove(g->in, g->z.next_in, g->z.avail_in);
    g->z.next_in = g->in;
    size_t got = fread(g->in + g->z.avail_in, 1, sizeof g->in - g->z.avail_in, g->raw);
    g->z.avail_in += (uInt)got;
    return got > 0;
}

static ssize_t gz_fail(int problem)
{
    gzip_problem = problem;
    errno = EIO;
    return -1;
}

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
    gz_source *g = cookie;
    uInt want = size < (size_t)1 << 30 ? (uInt)size : 1u << 30;
    g->z.next_out = (Bytef *)buf;
    g->z.avail_out = want;
    while (g->z.avail_out == want && !g->end) {
        if (g->z.avail_in == 0 && !gz_fill(g)) // the file ends inside a member: fail before the partial data
            return ferror(g->raw) ? -1 : gz_fail(GZIP_DAMAGED); // can pass for a last line
        int rc = inflate(&g->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) { // the end of the file, another member, or bytes that are none
            if (g->z.avail_in < 2)
                gz_fill(g);
            if (ferror(g->raw))
                return -1;
            if (g->z.avail_in == 0)
                g->end = true;
            else if (g->z.avail_in >= 2 && g->z.next_in[0] == 0x1f && g->z.next_in[1] == 0x8b)
                inflateReset(&g->z);
            else
                return gz_fail(GZIP_TRAILING);
        } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && g->z.avail_in == 0)) { // Z_BUF_ERROR with input left: stuck
            return rc == Z_MEM_ERROR ? (errno = ENOMEM, -1) : gz_fail(GZIP_DAMAGED);
        }
    }
    g->pos += want - g->z.avail_out;
    return (ssize_t)(want - g->z.avail_out);
}

static int gz_seek(void *cookie, off64_t *offset, int whence)
{
    gz_source *g = cookie;
    int64_t to = whence == SEEK_SET ? *offset : whence == SEEK_CUR ? (int64_t)g->pos + *offset : -1;
    if (to < 0) {
        errno = EINVAL;
        return -1;
    }
    if ((uint64_t)to < g->pos) { // from the start again
        if (fseek(g->raw, 0, SEEK_SET) != 0)
            return -1;
        inflateReset(&g->z);
        g->z.avail_in = 0;
        g->pos = 0;
        g->end = false;
    }
    char skip[4096];
    while (g->pos < (uint64_t)to) {
        uint64_t left = (uint64_t)to - g->pos;
        ssize_t got = gz_read(g, skip, left < sizeof skip ? (size_t)left : sizeof skip);
        if (got <= 0) {
            errno = got < 0 ? errno : EINVAL;
            return -1;
        }
    }
    *offset = (off64_t)g->pos;
    return 0;
}

static int gz_close(void *cookie)
{
    gz_source *g = cookie;
    inflateEnd(&g->z);
    int rc = fclose(g->raw);
    free(g);
    return rc;
}

/* Opens the vectors at path for reading, decompressing them if they are gzip (by their first bytes:
 * fastText's crawl vectors come as .vec.gz). */
static FILE *open_vectors(const char *path)
{
    gzip_problem = GZIP_OK;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char magic[2] = {0};
    bool gzip = fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    rewind(f);
    if (!gzip)
        return f;
    gz_source *g = mem_calloc(1, sizeof *g);
    if (!g || inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
        free(g);
        fclose(f);
        errno = ENOMEM;
        return NULL;
    }
    g->raw = f;
    FILE *stream = fopencookie(g, "rb", (cookie_io_functions_t){.read = gz_read, .seek = gz_seek, .close = gz_close});
    if (!stream)
        gz_close(g);
    return stream;
}

// Reads the first line (and for auto-detection the bytes after it); leaves f anywhere.
static hftc_status probe_stream(FILE *f, wordvec_format fmt, wordvec_header *h)
{
    line_reader lr;
    vectors_reader_init(&lr, f);
    char *p;
    size_t len;
    int got = line_reader_next(&lr, &p, &len, NULL);
    if (got <= 0 || len > MAX_LINE_BYTES) {
        line_reader_free(&lr);
        return got < 0    ? read_error(h->path)
               : got == 0 ? error_set(HFTC_STATUS_FORMAT, "%s: empty file", h->path)
                          : too_long(h->path, 1);
    }
    bool header = parse_header(p, len, &h->count, &h->dim);
    if (fmt == WORDVEC_AUTO && !header) {
        fmt = WORDVEC_GLOVE;
    } else if (fmt == WORDVEC_AUTO) {
        char buf[PROBE_BYTES];
        size_t n = fread(buf, 1, sizeof buf, f);
        fmt = looks_like_text(buf, n, n < sizeof buf, h->dim) ? WORDVEC_TEXT : WORDVEC_BINARY;
    }
    hftc_status st = HFTC_STATUS_OK;
    if (fmt == WORDVEC_GLOVE) {
        size_t n_fields = 0;
        for (size_t i = 0; i < len; i++)
            if (!is_field_sep(p[i]) && (i == 0 || is_field_sep(p[i - 1])))
                n_fields++;
        if (n_fields < 2)
            st = error_set(HFTC_STATUS_FORMAT, "%s:1: expected a word followed by its values", h->path);
        h->count = 0;
        h->dim = n_fields - 1;
    } else if (!header) {
        st = error_set(HFTC_STATUS_FORMAT, "%s:1: expected a header line \"count dim\"", h->path);
    }
    if (st == HFTC_STATUS_OK && (h->dim == 0 || h->dim > MAX_DIM))
        st = error_set(HFTC_STATUS_FORMAT, "%s:1: dimension %zu out of range (1 to %zu)", h->path, h->dim, MAX_DIM);
    h->format = fmt;
    line_reader_free(&lr);
    return st;
}

hftc_status wordvec_probe(const char *path, wordvec_format fmt, wordvec_format *detected, size_t *dim)
{
    FILE *f = open_vectors(path);
    if (!f)
        return error_set(HFTC_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
    wordvec_header h = {.path = path};
    hftc_status st = probe_stream(f, fmt, &h);
    fclose(f);
    if (st == HFTC_STATUS_OK) {
        *detected = h.format;
        *dim = h.dim;
    }
    return st;
}

typedef struct {
    const vocab *v;
    size_t dim;
    float *embedding;
    unsigned char *found; // per vocabulary id
    size_t n_found;
} wordvec_target;

// Vocabulary row for a word of the file, or NULL if it is not wanted (unknown, <pad>, seen before).
static float *target_row(wordvec_target *t, const char *word, size_t len)
{
    size_t id = strmap_find(&t->v->words, word, len);
    if (id == STRMAP_NONE || id == VOCAB_PAD || t->found[id])
        return NULL;
    t->found[id] = 1;
    t->n_found++;
    return t->embedding + id * t->dim;
}

typedef struct {
    const char **start;
    size_t *len;
    size_t n, cap_start, cap_len;
} field_list;

static hftc_status split_fields(field_list *fl, const char *line, size_t len)
{
    fl->n = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && is_field_sep(line[i]))
            i++;
        if (i == len)
            break;
        size_t s = i;
        while (i < len && !is_field_sep(line[i]))
            i++;
        TRY(mem_reserve((void **)&fl->start, &fl->cap_start, fl->n + 1, sizeof *fl->start));
        TRY(mem_reserve((void **)&fl->len, &fl->cap_len, fl->n + 1, sizeof *fl->len));
        fl->start[fl->n] = line + s;
        fl->len[fl->n++] = i - s;
    }
    return HFTC_STATUS_OK;
}

// One "word v1 ... vD" line.
static hftc_status parse_vector_line(wordvec_target *t, const field_list *fl, const char *path, size_t line_no)
{
    size_t first_value = 1;
    while (fl->n - first_value > t->dim && check_number(fl->start[first_value], fl->len[first_value]) == NUMBER_BAD)
        first_value++;
    size_t n_values = fl->n - first_value;
    if (n_values != t->dim)
        return error_set(HFTC_STATUS_FORMAT, "%s:%zu: expected %zu values, found %zu", path, line_no, t->dim, n_values);
    for (size_t j = 0; j < t->dim; j++) {
        const char *s = fl->start[first_value + j];
        int n = fl->len[first_value + j] > 40 ? 40 : (int)fl->len[first_value + j];
        number_check c = check_number(s, fl->len[first_value + j]);
        if (c == NUMBER_BAD)
            return error_set(HFTC_STATUS_FORMAT, "%s:%zu: value %zu is not a number: \"%.*s\"", path, line_no, j + 1, n,
                             s);
        if (c == NUMBER_NONFINITE)
            return error_set(HFTC_STATUS_FORMAT, "%s:%zu: value %zu is not finite: \"%.*s\"", path, line_no, j + 1, n,
                             s);
    }
    const char *word = fl->start[0];
    size_t word_len = (size_t)(fl->start[first_value - 1] + fl->len[first_value - 1] - word);
    float *row = target_row(t, word, word_len);
    for (size_t j = 0; row && j < t->dim; j++) {
        const char *s = fl->start[first_value + j];
        row[j] = strtof(s, NULL);
        if (!isfinite(row[j])) {
            int n = fl->len[first_value + j] > 40 ? 40 : (int)fl->len[first_value + j];
            return error_set(HFTC_STATUS_FORMAT, "%s:%zu: value %zu is not finite in float32: \"%.*s\"", path, line_no,
                             j + 1, n, s);
        }
    }
    return HFTC_STATUS_OK;
}

// .vec / word2vec text (header line) and GloVe (no header).
static hftc_status load_text(FILE *f, const wordvec_header *h, wordvec_target *t)
{
    bool has_header = h->format == WORDVEC_TEXT;
    line_reader lr;
    vectors_reader_init(&lr, f);
    char *p;
    size_t len, n_words = 0;
    field_list fl = {0};
    hftc_status st = HFTC_STATUS_OK;
    int got = 0;
    while (st == HFTC_STATUS_OK && (got = line_reader_next(&lr, &p, &len, NULL)) > 0) {
        size_t line_no = lr.line_no;
        if (len > MAX_LINE_BYTES) {
            st = too_long(h->path, line_no);
            break;
        }
        if (line_no == 1 && has_header)
            continue;
        st = split_fields(&fl, p, len);
        if (st != HFTC_STATUS_OK || fl.n == 0)
            continue;
        if (has_header && ++n_words > h->count)
            st = error_set(HFTC_STATUS_FORMAT, "%s:%zu: more words than the %zu announced by the header", h->path,
                           line_no, h->count);
        else
            st = parse_vector_line(t, &fl, h->path, line_no);
    }
    if (st == HFTC_STATUS_OK && got < 0)
        st = read_error(h->path);
    if (st == HFTC_STATUS_OK && has_header && n_words < h->count)
        st = error_set(HFTC_STATUS_FORMAT, "%s: truncated: the header announces %zu words, the file has %zu", h->path,
                       h->count, n_words);
    line_reader_free(&lr);
    free(fl.start);
    free(fl.len);
    return st;
}

static hftc_status truncated(const wordvec_header *h, size_t word, size_t offset)
{
    return error_set(HFTC_STATUS_FORMAT, "%s: truncated at word %zu of %zu (byte offset %zu)", h->path, word + 1,
                     h->count, offset);
}

// word2vec binary: "count dim\n", then per word its bytes, a space, dim little-endian float32 and an
// optional newline.
static hftc_status load_binary(FILE *f, const wordvec_header *h, wordvec_target *t)
{
    char *header, *word = NULL;
    size_t header_len;
    line_reader lr;
    vectors_reader_init(&lr, f);
    int got;
    unsigned char *bytes = mem_alloc(h->dim, 4);
    float *values = mem_alloc(h->dim, sizeof *values);
    hftc_status st = HFTC_STATUS_OK;
    errno = 0;
    if (!bytes || !values || !(word = mem_alloc(MAX_BINARY_WORD, 1)))
        st = HFTC_STATUS_OUT_OF_MEMORY;
    else if ((got = line_reader_next(&lr, &header, &header_len, NULL)) <= 0) // parsed by probe_stream
        st = got < 0 ? read_error(h->path) : error_set(HFTC_STATUS_FORMAT, "%s: empty file", h->path);
    size_t offset = (size_t)ftell(f);
    for (size_t w = 0; st == HFTC_STATUS_OK && w < h->count; w++) {
        size_t record = offset, word_len = 0;
        int c;
        while ((c = getc(f)) != EOF && c != ' ') {
            offset++;
            if (c == '\n' && word_len == 0) {
                record = offset; // the previous record's newline
                continue;
            }
            if (word_len == MAX_BINARY_WORD) {
                st = error_set(HFTC_STATUS_FORMAT, "%s: word %zu of %zu is longer than %d bytes (byte offset %zu)",
                               h->path, w + 1, h->count, MAX_BINARY_WORD, record);
                break;
            }
            word[word_len++] = (char)c;
        }
        if (st != HFTC_STATUS_OK)
            break;
        if (c == EOF || fread(bytes, 4, h->dim, f) != h->dim) {
            st = ferror(f) ? read_error(h->path) : truncated(h, w, record);
            break;
        }
        offset += 1 + 4 * h->dim;
        for (size_t j = 0; j < h->dim; j++) {
            const unsigned char *b = bytes + 4 * j;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&values[j], &u, sizeof u);
            if (!isfinite(values[j])) {
                st = error_set(HFTC_STATUS_FORMAT, "%s: word %zu of %zu has a non-finite value (byte offset %zu)",
                               h->path, w + 1, h->count, record);
                break;
            }
        }
        float *row = st == HFTC_STATUS_OK ? target_row(t, word, word_len) : NULL;
        if (row)
            memcpy(row, values, h->dim * sizeof *values);
    }
    int c;
    while (st == HFTC_STATUS_OK && (c = getc(f)) != EOF) {
        if (c != '\n' && c != '\r' && c != ' ')
            st = error_set(HFTC_STATUS_FORMAT, "%s: unexpected data after the %zu words (byte offset %zu)", h->path,
                           h->count, offset);
        offset++;
    }
    if (st == HFTC_STATUS_OK && ferror(f))
        st = read_error(h->path);
    line_reader_free(&lr);
    free(word);
    free(bytes);
    free(values);
    return st;
}

hftc_status wordvec_load(const char *path, wordvec_format fmt, const vocab *v, size_t dim, float *embedding, rng *r,
                         size_t *n_found)
{
    *n_found = 0;
    FILE *f = open_vectors(path);
    if (!f)
        return error_set(HFTC_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
    wordvec_header h = {.path = path};
    hftc_status st = probe_stream(f, fmt, &h);
    if (st == HFTC_STATUS_OK && dim && dim != h.dim)
        st = error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: the vectors have dimension %zu, not %zu", path, h.dim, dim);
    if (st == HFTC_STATUS_OK && fseek(f, 0, SEEK_SET) != 0)
        st = error_set(HFTC_STATUS_IO, "%s: cannot seek: %s", path, strerror(errno));
    size_t n_words = vocab_size(v);
    unsigned char *found = st == HFTC_STATUS_OK ? mem_calloc(n_words, 1) : NULL;
    if (st == HFTC_STATUS_OK && !found)
        st = HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK) {
        // Every row random first, so rows not in the file do not depend on the file's contents.
        for (size_t i = 0; i < n_words; i++)
            for (size_t j = 0; j < h.dim; j++)
                embedding[i * h.dim + j] = i == VOCAB_PAD ? 0.0f : rng_uniform(r, -0.25f, 0.25f);
        wordvec_target t = {.v = v, .dim = h.dim, .embedding = embedding, .found = found};
        st = h.format == WORDVEC_BINARY ? load_binary(f, &h, &t) : load_text(f, &h, &t);
        *n_found = t.n_found;
    }
    free(found);
    fclose(f);
    return st;
}

// The command line's names, with the usual aliases (file extensions).
static const struct {
    const char *name;
    wordvec_format format;
} wordvec_format_names[] = {{"auto", WORDVEC_AUTO},   {"text", WORDVEC_TEXT},     {"vec", WORDVEC_TEXT},
                            {"glove", WORDVEC_GLOVE}, {"binary", WORDVEC_BINARY}, {"bin", WORDVEC_BINARY}};

bool wordvec_format_parse(const char *name, wordvec_format *out)
{
    for (size_t i = 0; i < sizeof wordvec_format_names / sizeof *wordvec_format_names; i++)
        if (strcmp(name, wordvec_format_names[i].name) == 0) {
            *out = wordvec_format_names[i].format;
            return true;
        }
    return false;
}
