/* Dataset readers: one streaming loop (core/lines.h: no line length is built in) and one parser per
 * format. A line is first parsed into scratch space (labels, tokens) and committed to the dataset, the
 * vocabulary and the label map only once it is known to be well formed, so a skipped line leaves no
 * trace. Conventions shared by the formats:
 *   - blank lines (nothing but spaces and tabs) are skipped and are not documents; CRLF endings, a
 *     missing final newline and a UTF-8 BOM on line 1 are accepted;
 *   - the whole line must be valid UTF-8 (labels included: they end up in the model file);
 *   - labels are kept verbatim (case-sensitive); TSV labels are trimmed of surrounding spaces;
 *     fastText labels lose their "__label__" prefix, so the same data gives the same label names in
 *     every format;
 *   - with labels_required false, a TSV line without a tab is all text.
 * Auto-detection follows dataset.h, except that with labels_required a first line that looks like
 * plain text is read as TSV (the training format), so the error says what is missing. */
#include "data/dataset.h"

#include "core/names.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/lines.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MAX_LINE_BYTES ((size_t)64 << 20)

static const char label_prefix[] = "__label__";
#define LABEL_PREFIX_LEN (sizeof label_prefix - 1)

typedef struct {
    const char *name; // file name in messages
    const dataset_options *opt;
    tokenizer_options tok_opt; // max_len + 1, to notice truncation
    dataset *ds;
    vocab *v;
    bool grow_vocab;
    strmap *label_map;
    size_t tokens_cap, token_start_cap, labels_cap, label_start_cap, line_cap;
    token_list toks;
    // Labels of the line being parsed: NUL-terminated strings back to back.
    char *lab_buf;
    size_t lab_used, lab_cap, n_lab;
    char reason[768]; // why the current line is malformed
    size_t skipped;   // malformed lines skipped so far (skip_bad_lines), the first one's line and reason
    size_t first_bad;
    char first_reason[768];
} reader;

// Records why the line is malformed; the caller decides between error and skip.
static hftc_status malformed(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static hftc_status malformed(reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
    return HFTC_STATUS_FORMAT;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }
static bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

static hftc_status push_label(reader *r, const char *s, size_t len)
{
    if (len == 0)
        return malformed(r, "empty label");
    if (memchr(s, '\0', len))
        return malformed(r, "label contains a NUL byte");
    TRY(mem_reserve((void **)&r->lab_buf, &r->lab_cap, r->lab_used + len + 1, 1));
    memcpy(r->lab_buf + r->lab_used, s, len);
    r->lab_buf[r->lab_used + len] = '\0';
    r->lab_used += len + 1;
    r->n_lab++;
    return HFTC_STATUS_OK;
}

static hftc_status check_labels_present(reader *r)
{
    if (r->n_lab == 0 && r->opt->labels_required)
        return malformed(r, "no labels");
    return HFTC_STATUS_OK;
}

static hftc_status tokenize_text(reader *r, const char *text, size_t len)
{
    hftc_status st = tokenize(&r->toks, text, len, &r->tok_opt);
    if (st == HFTC_STATUS_FORMAT)
        return malformed(r, "%s", hftc_last_error());
    return st;
}

// labels<TAB>text; labels comma-separated.
static hftc_status parse_tsv(reader *r, char *line, size_t len)
{
    char *tab = memchr(line, '\t', len);
    if (!tab) {
        if (r->opt->labels_required)
            return malformed(r, "missing tab between labels and text");
        return tokenize_text(r, line, len);
    }
    const char *p = line, *end = tab;
    while (p < end && is_ascii_space(*p))
        p++;
    if (p < end) {
        for (;;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *item_end = comma ? comma : end;
            const char *a = p, *b = item_end;
            while (a < b && is_ascii_space(*a))
                a++;
            while (b > a && is_ascii_space(b[-1]))
                b--;
            if (a == b)
                return malformed(r, "empty label in \"%.*s\"", (int)(tab - line > 200 ? 200 : tab - line), line);
            TRY(push_label(r, a, (size_t)(b - a)));
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    TRY(check_labels_present(r));
    return tokenize_text(r, tab + 1, len - (size_t)(tab + 1 - line));
}

// __label__ tokens (leading ones, and later ones as fastText does) are labels; the rest is text.
static hftc_status parse_fasttext(reader *r, char *line, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && is_ascii_space(line[i]))
            i++;
        size_t start = i;
        while (i < len && !is_ascii_space(line[i]))
            i++;
        if (i - start >= LABEL_PREFIX_LEN && memcmp(line + start, label_prefix, LABEL_PREFIX_LEN) == 0) {
            TRY(push_label(r, line + start + LABEL_PREFIX_LEN, i - start - LABEL_PREFIX_LEN));
            memset(line + start, ' ', i - start); // the label is not text
        }
    }
    TRY(check_labels_present(r));
    return tokenize_text(r, line, len);
}

static hftc_status json_string_list(reader *r, json_t *list, const char *key, bool labels)
{
    if (!json_is_array(list))
        return malformed(r, "\"%s\" must be a list of strings", key);
    size_t n = json_array_size(list);
    for (size_t k = 0; k < n; k++) {
        json_t *item = json_array_get(list, k);
        if (!json_is_string(item))
            return malformed(r, "\"%s\" must be a list of strings", key);
        const char *s = json_string_value(item);
        size_t len = json_string_length(item);
        if (labels) {
            TRY(push_label(r, s, len));
        } else if (r->toks.n_tokens < r->tok_opt.max_len || r->tok_opt.max_len == 0) {
            hftc_status st = token_list_add_word(&r->toks, s, len, r->opt->tokenizer.lowercase);
            if (st == HFTC_STATUS_FORMAT)
                return malformed(r, "\"%s\" item %zu: %s", key, k + 1, hftc_last_error());
            TRY(st);
        }
    }
    return HFTC_STATUS_OK;
}

// {"doc_label": [...], "doc_token": [...]} or {"label": [...], "text": "..."}.
static hftc_status parse_json_fields(reader *r, json_t *doc)
{
    if (!json_is_object(doc))
        return malformed(r, "expected a JSON object");
    json_t *doc_label = json_object_get(doc, "doc_label"), *label = json_object_get(doc, "label");
    json_t *doc_token = json_object_get(doc, "doc_token"), *text = json_object_get(doc, "text");
    if (doc_label && label)
        return malformed(r, "both \"doc_label\" and \"label\" given");
    if (doc_token && text)
        return malformed(r, "both \"doc_token\" and \"text\" given");
    if (!doc_label && !label && r->opt->labels_required)
        return malformed(r, "missing \"doc_label\" or \"label\"");
    if (doc_label || label)
        TRY(json_string_list(r, doc_label ? doc_label : label, doc_label ? "doc_label" : "label", true));
    TRY(check_labels_present(r));
    if (doc_token)
        return json_string_list(r, doc_token, "doc_token", false);
    if (!text)
        return malformed(r, "missing \"doc_token\" or \"text\"");
    if (!json_is_string(text))
        return malformed(r, "\"text\" must be a string");
    return tokenize_text(r, json_string_value(text), json_string_length(text));
}

static hftc_status parse_jsonl(reader *r, char *line, size_t len)
{
    json_error_t err;
    json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (!doc) {
        if (json_error_code(&err) == json_error_out_of_memory)
            return error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory parsing JSON");
        if (json_error_code(&err) == json_error_premature_end_of_input)
            return malformed(r, "unterminated JSON line");
        return malformed(r, "invalid JSON: %s (column %d)", err.text, err.column);
    }
    hftc_status st = parse_json_fields(r, doc);
    json_decref(doc);
    return st;
}

static data_format detect_format(const char *line, size_t len, bool labels_required)
{
    size_t i = 0;
    while (i < len && is_ascii_space(line[i]))
        i++;
    if (i < len && line[i] == '{')
        return DATA_FORMAT_JSONL;
    if (len - i >= LABEL_PREFIX_LEN && memcmp(line + i, label_prefix, LABEL_PREFIX_LEN) == 0)
        return DATA_FORMAT_FASTTEXT;
    if (memchr(line, '\t', len) || labels_required)
        return DATA_FORMAT_TSV;
    return DATA_FORMAT_TEXT;
}

static hftc_status parse_line(reader *r, char *line, size_t len, size_t column0)
{
    r->lab_used = r->n_lab = 0;
    token_list_clear(&r->toks);
    size_t bad = utf8_find_invalid(line, len);
    if (bad < len)
        return malformed(r, "invalid UTF-8 at byte %zu", column0 + bad + 1);
    switch (r->ds->format) {
    case DATA_FORMAT_TSV:
        return parse_tsv(r, line, len);
    case DATA_FORMAT_FASTTEXT:
        return parse_fasttext(r, line, len);
    case DATA_FORMAT_JSONL:
        return parse_jsonl(r, line, len);
    default:
        return tokenize_text(r, line, len);
    }
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

hftc_status dataset_keep_unknown_word(dataset *ds, size_t token, const char *w, size_t len)
{
    TRY(mem_reserve((void **)&ds->unknown, &ds->unknown_cap, ds->n_unknown + 1, sizeof *ds->unknown));
    TRY(mem_reserve((void **)&ds->unknown_chars, &ds->unknown_chars_cap, ds->unknown_chars_used + len + 1, 1));
    ds->unknown[ds->n_unknown].token = token;
    ds->unknown[ds->n_unknown++].offset = ds->unknown_chars_used;
    memcpy(ds->unknown_chars + ds->unknown_chars_used, w, len);
    ds->unknown_chars[ds->unknown_chars_used + len] = '\0';
    ds->unknown_chars_used += len + 1;
    return HFTC_STATUS_OK;
}

const char *dataset_unknown_word(const dataset *ds, size_t token)
{
    size_t lo = 0, hi = ds->n_unknown;
    while (lo < hi) { /* the tokens increase */
        size_t mid = lo + (hi - lo) / 2;
        if (ds->unknown[mid].token < token)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ds->n_unknown && ds->unknown[lo].token == token ? ds->unknown_chars + ds->unknown[lo].offset : NULL;
}

// Adds the parsed line as a document: interns labels, maps tokens.
static hftc_status commit_line(reader *r, size_t line_no)
{
    dataset *ds = r->ds;
    size_t n_tok = r->toks.n_tokens;
    if (r->tok_opt.max_len && n_tok > r->opt->tokenizer.max_len) {
        n_tok = r->opt->tokenizer.max_len;
        ds->n_truncated++;
    }
    if (n_tok == 0)
        ds->n_empty++;
    size_t n_tokens = ds->token_start[ds->n_docs], n_labels = ds->label_start[ds->n_docs];
    TRY(mem_reserve((void **)&ds->tokens, &r->tokens_cap, n_tokens + n_tok, sizeof *ds->tokens));
    TRY(mem_reserve((void **)&ds->labels, &r->labels_cap, n_labels + r->n_lab, sizeof *ds->labels));
    TRY(mem_reserve((void **)&ds->token_start, &r->token_start_cap, ds->n_docs + 2, sizeof *ds->token_start));
    TRY(mem_reserve((void **)&ds->label_start, &r->label_start_cap, ds->n_docs + 2, sizeof *ds->label_start));
    TRY(mem_reserve((void **)&ds->line, &r->line_cap, ds->n_docs + 1, sizeof *ds->line));
    for (size_t k = 0; k < n_tok; k++) {
        const char *w = token_list_get(&r->toks, k);
        size_t len = (k + 1 < r->toks.n_tokens ? r->toks.starts[k + 1] : r->toks.buf_used) - r->toks.starts[k] - 1;
        if (r->grow_vocab)
            TRY(vocab_add(r->v, w, len, &ds->tokens[n_tokens + k]));
        else
            ds->tokens[n_tokens + k] = vocab_lookup(r->v, w, len);
        if (r->opt->keep_unknown && ds->tokens[n_tokens + k] == VOCAB_UNK)
            TRY(dataset_keep_unknown_word(ds, n_tokens + k, w, len));
    }
    size_t n_unique = 0;
    if (r->n_lab) {
        uint32_t *labels = ds->labels + n_labels;
        const char *s = r->lab_buf;
        for (size_t k = 0; k < r->n_lab; k++) {
            size_t len = strlen(s), id;
            TRY(strmap_intern(r->label_map, s, len, &id));
            if (id > UINT32_MAX)
                return error_set(HFTC_STATUS_OUT_OF_MEMORY, "too many labels");
            labels[k] = (uint32_t)id;
            s += len + 1;
        }
        qsort(labels, r->n_lab, sizeof *labels, compare_u32);
        for (size_t k = 0; k < r->n_lab; k++)
            if (n_unique == 0 || labels[k] != labels[n_unique - 1])
                labels[n_unique++] = labels[k];
    }
    ds->line[ds->n_docs] = line_no;
    ds->n_docs++;
    ds->token_start[ds->n_docs] = n_tokens + n_tok;
    ds->label_start[ds->n_docs] = n_labels + n_unique;
    return HFTC_STATUS_OK;
}

/* Reads lines into r->ds until it holds max_docs documents, the input ends (*end set), or (until_idle) it
 * holds one and no further line is ready. At the end, warns of the lines skipped. */
static hftc_status read_lines(reader *r, line_reader *lr, size_t max_docs, bool until_idle, bool *end)
{
    const dataset_options *opt = r->opt;
    dataset *ds = r->ds;
    size_t max_bytes = opt->max_line_bytes ? opt->max_line_bytes : DEFAULT_MAX_LINE_BYTES, len, column0;
    char *p;
    hftc_status st = HFTC_STATUS_OK;
    int got = 1;
    while (ds->n_docs < max_docs && !(until_idle && ds->n_docs > 0 && !line_reader_ready(lr)) &&
           (got = line_reader_next(lr, &p, &len, &column0)) > 0) {
        size_t line_no = lr->line_no, i = 0;
        while (i < len && is_blank(p[i]))
            i++;
        if (i == len)
            continue;
        /* The whole input as one line with carriage returns in it: line ends of CR alone (classic Mac OS),
         * which would make one document of the file. Refused rather than split: a stray CR inside a line
         * of an LF file is text, and no reader of these formats splits there. */
        if (line_no == 1 && !lr->ended && len <= max_bytes && memchr(p, '\r', len))
            return error_set(
                HFTC_STATUS_FORMAT,
                "%s: the lines end in a carriage return alone (classic Mac OS), not \"\\n\" or \"\\r\\n\": "
                "convert them first (tr '\\r' '\\n')",
                r->name);
        if (ds->format == DATA_FORMAT_AUTO)
            ds->format = detect_format(p, len, opt->labels_required);
        if (len > max_bytes)
            st = malformed(r, "line longer than %zu bytes", max_bytes);
        else
            st = parse_line(r, p, len, column0);
        if (st == HFTC_STATUS_OK)
            st = commit_line(r, line_no);
        if (st == HFTC_STATUS_FORMAT && opt->skip_bad_lines) {
            ds->n_skipped++;
            if (r->skipped++ == 0) {
                r->first_bad = line_no;
                memcpy(r->first_reason, r->reason, sizeof r->first_reason);
            }
            st = HFTC_STATUS_OK;
        }
        if (st == HFTC_STATUS_FORMAT)
            st = error_set(st, "%s:%zu: %s", r->name, line_no, r->reason);
        if (st != HFTC_STATUS_OK)
            return st;
    }
    if (got < 0)
        return errno == ENOMEM ? error_set(HFTC_STATUS_OUT_OF_MEMORY, "%s: out of memory reading a line", r->name)
                               : error_set(HFTC_STATUS_IO, "%s: read error: %s", r->name, strerror(errno));
    *end = got == 0;
    if (*end && r->skipped)
        log_warn("%s: skipped %zu malformed line%s (first: line %zu: %s)", r->name, r->skipped,
                 r->skipped == 1 ? "" : "s", r->first_bad, r->first_reason);
    return HFTC_STATUS_OK;
}

struct dataset_stream {
    reader r;
    line_reader lines;
    dataset ds;
    int fd; // closed with the stream unless it is stdin's
};

/* An empty dataset (no documents, nothing allocated but the offsets' first entries). */
static hftc_status dataset_start(dataset *ds, reader *r)
{
    *ds = (dataset){0};
    ds->token_start = mem_calloc(1, sizeof *ds->token_start);
    ds->label_start = mem_calloc(1, sizeof *ds->label_start);
    r->token_start_cap = r->label_start_cap = 1;
    return ds->token_start && ds->label_start ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
}

hftc_status dataset_stream_open(dataset_stream **out, const char *path, const dataset_options *opt, vocab *v,
                                bool grow_vocab, strmap *labels)
{
    *out = NULL;
    if (opt->format == DATA_FORMAT_TEXT && opt->labels_required)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: the text format has no labels", path);
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(HFTC_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
    dataset_stream *s = mem_calloc(1, sizeof *s);
    if (!s) {
        if (!is_stdin)
            close(fd);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    s->fd = is_stdin ? -1 : fd;
    s->r = (reader){.name = is_stdin ? "<stdin>" : path,
                    .opt = opt,
                    .tok_opt = opt->tokenizer,
                    .ds = &s->ds,
                    .v = v,
                    .grow_vocab = grow_vocab,
                    .label_map = labels};
    if (s->r.tok_opt.max_len && s->r.tok_opt.max_len < SIZE_MAX)
        s->r.tok_opt.max_len++;
    line_reader_init_fd(&s->lines, fd);
    s->lines.max_line = opt->max_line_bytes ? opt->max_line_bytes : DEFAULT_MAX_LINE_BYTES;
    *out = s;
    hftc_status st = dataset_start(&s->ds, &s->r);
    s->ds.format = opt->format;
    if (st != HFTC_STATUS_OK) {
        dataset_stream_close(s);
        *out = NULL;
    }
    return st;
}

/* After reading: a format still undecided (no line) is the one an empty input of this kind has. */
static void settle_format(dataset_stream *s)
{
    if (s->ds.format == DATA_FORMAT_AUTO)
        s->ds.format = s->r.opt->labels_required ? DATA_FORMAT_TSV : DATA_FORMAT_TEXT;
}

hftc_status dataset_stream_next(dataset_stream *s, size_t max_docs, const dataset **batch, bool *end)
{
    dataset *ds = &s->ds;
    ds->n_docs = ds->n_skipped = ds->n_empty = ds->n_truncated = ds->n_unknown = ds->unknown_chars_used = 0;
    *batch = ds;
    hftc_status st = read_lines(&s->r, &s->lines, max_docs, true, end);
    settle_format(s);
    return st;
}

void dataset_stream_close(dataset_stream *s)
{
    if (!s)
        return;
    line_reader_free(&s->lines);
    token_list_free(&s->r.toks);
    free(s->r.lab_buf);
    dataset_free(&s->ds);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

hftc_status dataset_read(dataset *ds, const char *path, const dataset_options *opt, vocab *v, bool grow_vocab,
                         strmap *labels)
{
    *ds = (dataset){0};
    dataset_stream *s;
    TRY(dataset_stream_open(&s, path, opt, v, grow_vocab, labels));
    bool end;
    hftc_status st = read_lines(&s->r, &s->lines, SIZE_MAX, false, &end);
    settle_format(s);
    if (st == HFTC_STATUS_OK) {
        *ds = s->ds;
        s->ds = (dataset){0};
    }
    dataset_stream_close(s);
    return st;
}

bool dataset_has_label(const dataset *ds, size_t doc, uint32_t label)
{
    for (size_t j = ds->label_start[doc]; j < ds->label_start[doc + 1]; j++)
        if (ds->labels[j] == label)
            return true;
    return false;
}

void dataset_remap_tokens(dataset *ds, const uint32_t *remap)
{
    size_t n = ds->n_docs ? ds->token_start[ds->n_docs] : 0;
    for (size_t i = 0; i < n; i++)
        ds->tokens[i] = remap[ds->tokens[i]];
}

hftc_status dataset_append(dataset *dst, const dataset *src)
{
    size_t n = dst->n_docs + src->n_docs, tokens = dst->token_start[dst->n_docs] + src->token_start[src->n_docs];
    size_t labels = dst->label_start[dst->n_docs] + src->label_start[src->n_docs];
    size_t *token_start = realloc(dst->token_start, (n + 1) * sizeof *token_start);
    if (token_start)
        dst->token_start = token_start;
    size_t *label_start = realloc(dst->label_start, (n + 1) * sizeof *label_start);
    if (label_start)
        dst->label_start = label_start;
    size_t *line = realloc(dst->line, (n ? n : 1) * sizeof *line);
    if (line)
        dst->line = line;
    uint32_t *tok = realloc(dst->tokens, (tokens ? tokens : 1) * sizeof *tok);
    if (tok)
        dst->tokens = tok;
    uint32_t *lab = realloc(dst->labels, (labels ? labels : 1) * sizeof *lab);
    if (lab)
        dst->labels = lab;
    if (!token_start || !label_start || !line || !tok || !lab)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory joining datasets");
    size_t t0 = dst->token_start[dst->n_docs], l0 = dst->label_start[dst->n_docs];
    memcpy(dst->tokens + t0, src->tokens, src->token_start[src->n_docs] * sizeof *tok);
    memcpy(dst->labels + l0, src->labels, src->label_start[src->n_docs] * sizeof *lab);
    for (size_t i = 0; i < src->n_docs; i++) {
        dst->token_start[dst->n_docs + i + 1] = t0 + src->token_start[i + 1];
        dst->label_start[dst->n_docs + i + 1] = l0 + src->label_start[i + 1];
        dst->line[dst->n_docs + i] = src->line[i];
    }
    dst->n_docs = n;
    dst->n_skipped += src->n_skipped;
    dst->n_empty += src->n_empty;
    dst->n_truncated += src->n_truncated;
    return HFTC_STATUS_OK;
}

void dataset_free(dataset *ds)
{
    free(ds->token_start);
    free(ds->tokens);
    free(ds->label_start);
    free(ds->labels);
    free(ds->line);
    free(ds->unknown), free(ds->unknown_chars);
    *ds = (dataset){0};
}

static const char *const format_names[] = {"auto", "tsv", "fasttext", "jsonl", "text"};

bool data_format_parse(const char *name, data_format *out)
{
    size_t i;
    if (!names_find(format_names, NAMES_COUNT(format_names), name, &i))
        return false;
    *out = (data_format)i;
    return true;
}

const char *data_format_name(data_format f)
{
    return (size_t)f < sizeof format_names / sizeof *format_names ? format_names[f] : "unknown";
}

hftc_status hftc_tokenize_file(const char *path, const hftc_train_options *o, hftc_tokens_fn fn, void *user)
{
    dataset_options opt = {.tokenizer = {.lowercase = o->lowercase,
                                         .split_punct = o->split_punct,
                                         .drop_punct = o->drop_punct,
                                         .max_len = o->max_len},
                           .skip_bad_lines = o->skip_bad_lines};
    if (!data_format_parse(o->format ? o->format : "auto", &opt.format))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown data format \"%s\"", o->format);
    vocab v; /* every distinct word: memory grows with the vocabulary, not with the text */
    strmap labels;
    strmap_init(&labels);
    dataset_stream *s = NULL;
    const char **words = NULL;
    size_t words_cap = 0, first = 0;
    hftc_status st = vocab_init(&v);
    if (st == HFTC_STATUS_OK)
        st = dataset_stream_open(&s, path, &opt, &v, true, &labels);
    for (bool end = false; st == HFTC_STATUS_OK && !end;) {
        const dataset *ds;
        st = dataset_stream_next(s, 1024, &ds, &end);
        for (size_t d = 0; st == HFTC_STATUS_OK && d < ds->n_docs; d++) {
            size_t n = ds->token_start[d + 1] - ds->token_start[d];
            st = mem_reserve((void **)&words, &words_cap, n ? n : 1, sizeof *words);
            for (size_t i = 0; st == HFTC_STATUS_OK && i < n; i++)
                words[i] = vocab_word(&v, ds->tokens[ds->token_start[d] + i]);
            if (st == HFTC_STATUS_OK)
                st = fn(first + d, words, n, user);
        }
        first += st == HFTC_STATUS_OK ? ds->n_docs : 0;
    }
    free(words);
    dataset_stream_close(s);
    strmap_free(&labels);
    vocab_free(&v);
    return st;
}

void dataset_keep(dataset *ds, const bool *keep)
{
    size_t n = 0, tokens = 0, labels = 0;
    for (size_t d = 0; d < ds->n_docs; d++) {
        if (!keep[d])
            continue;
        size_t t0 = ds->token_start[d], nt = ds->token_start[d + 1] - t0;
        size_t l0 = ds->label_start[d], nl = ds->label_start[d + 1] - l0;
        memmove(ds->tokens + tokens, ds->tokens + t0, nt * sizeof *ds->tokens);
        memmove(ds->labels + labels, ds->labels + l0, nl * sizeof *ds->labels);
        ds->line[n] = ds->line[d];
        ds->token_start[n] = tokens, ds->label_start[n] = labels;
        tokens += nt, labels += nl, n++;
        ds->token_start[n] = tokens, ds->label_start[n] = labels;
    }
    ds->token_start[n] = tokens, ds->label_start[n] = labels;
    ds->n_docs = n;
}
