/* Labelled documents, read line by line from the formats of docs/ARCHITECTURE.md ("Formats"):
 *   tsv       labels<TAB>text, labels comma-separated (the HFT-CNN format)
 *   fasttext  __label__A __label__B text
 *   jsonl     {"doc_label": [...], "doc_token": [...]}  or  {"label": [...], "text": "..."}
 *   text      one unlabelled document per line (prediction input only)
 * Auto-detection looks at the first non-empty line (leading spaces ignored): '{' -> jsonl,
 * "__label__" -> fasttext, a tab -> tsv, else text (tsv when labels are required, so the error names
 * the missing tab). Tokens and labels are stored as ids (CSR layout). Line conventions (blank lines,
 * CRLF, BOM, label trimming) are listed at the top of dataset.c. */
#ifndef HFTC_DATA_DATASET_H
#define HFTC_DATA_DATASET_H

#include "core/strmap.h"
#include "text/tokenizer.h"
#include "text/vocab.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    DATA_FORMAT_AUTO,
    DATA_FORMAT_TSV,
    DATA_FORMAT_FASTTEXT,
    DATA_FORMAT_JSONL,
    DATA_FORMAT_TEXT
} data_format;

typedef struct {
    data_format format;
    tokenizer_options tokenizer;
    bool labels_required;  /* false for prediction input: labels may be absent */
    bool skip_bad_lines;   /* malformed lines are skipped with a counted warning instead of an error */
    size_t max_line_bytes; /* longer lines are malformed; 0 = 64 MiB */
    bool keep_unknown;     /* keep the text of the tokens the vocabulary maps to <unk> (dataset_unknown_word) */
} dataset_options;

typedef struct {
    size_t n_docs;
    size_t *token_start; /* n_docs + 1 offsets into tokens */
    uint32_t *tokens;
    size_t *label_start; /* n_docs + 1 offsets into labels */
    uint32_t *labels;    /* per document sorted, unique ids into the label map */
    size_t *line;        /* source line number of each document (1-based) */
    size_t n_skipped;    /* malformed lines skipped (skip_bad_lines) */
    size_t n_empty;      /* documents with no tokens (kept) */
    size_t n_truncated;  /* documents cut at tokenizer.max_len */
    data_format format;  /* the format read (after auto-detection) */
    /* with keep_unknown: each <unk> token's index (increasing) and the offset of its NUL-terminated text */
    struct {
        size_t token, offset;
    } * unknown;
    size_t n_unknown, unknown_cap;
    char *unknown_chars;
    size_t unknown_chars_used, unknown_chars_cap;
} dataset;

/* Reads path ("-" = stdin). Words: counted into v with vocab_add if grow_vocab, else mapped with
 * vocab_lookup. Labels are interned into labels (a label new to the map gets the next id).
 * Errors name the file and line: "train.tsv:12: missing tab between labels and text". */
hftc_status dataset_read(dataset *ds, const char *path, const dataset_options *opt, vocab *v, bool grow_vocab,
                         strmap *labels);
/* Reading in batches, for answering documents as they come (hftc predict) or reading a long text in
 * bounded memory: a batch ends early when the input has no further line ready, so a caller writing one
 * document at a time into a pipe is answered without closing it. Words and labels as in dataset_read. */
typedef struct dataset_stream dataset_stream;
hftc_status dataset_stream_open(dataset_stream **s, const char *path, const dataset_options *opt, vocab *v,
                                bool grow_vocab, strmap *labels);
/* The next batch (owned by the stream, valid until the next call): at most max_docs documents, at least
 * one unless the input has ended; *end: the input has ended. Line numbers count from the input's start;
 * an error names the file and line, and the batches before it stand. */
hftc_status dataset_stream_next(dataset_stream *s, size_t max_docs, const dataset **batch, bool *end);
void dataset_stream_close(dataset_stream *s);
/* The text of token `token` (an index into ds->tokens) that the vocabulary mapped to <unk>, as the
 * tokeniser gave it; NULL when not kept (keep_unknown) or not <unk>. */
const char *dataset_unknown_word(const dataset *ds, size_t token);
/* Keeps w (len bytes) as the text of <unk> token `token`, past those kept before. */
hftc_status dataset_keep_unknown_word(dataset *ds, size_t token, const char *w, size_t len);
/* Whether document doc of ds carries label. */
bool dataset_has_label(const dataset *ds, size_t doc, uint32_t label);
/* Applies a vocab_finalize remap to every token. */
void dataset_remap_tokens(dataset *ds, const uint32_t *remap);
/* Appends src's documents to dst (same vocabulary and label map); line numbers stay src's own. */
hftc_status dataset_append(dataset *dst, const dataset *src);
/* Keeps the documents d with keep[d] (in order; the counts of skipped, empty and truncated lines stay the file's). */
void dataset_keep(dataset *ds, const bool *keep);
void dataset_free(dataset *ds);
/* "tsv", "fasttext", "jsonl", "text", "auto" <-> data_format; returns false on an unknown name. */
bool data_format_parse(const char *name, data_format *out);
const char *data_format_name(data_format f);

#endif
