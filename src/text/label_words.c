/* Label names as words: read from a label-name file or split from the labels, tokenised, looked up. */
#include "text/label_words.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/lines.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Each label's name text: from the file where it names the label, else NULL.
static hftc_status read_names(const char *path, const strmap *labels, char **names)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(HFTC_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
    line_reader r;
    line_reader_init(&r, f);
    char *line;
    size_t len;
    int got;
    hftc_status st = HFTC_STATUS_OK;
    while (st == HFTC_STATUS_OK && (got = line_reader_next(&r, &line, &len, NULL)) == 1) {
        size_t at = strspn(line, " \t");
        if (at == len)
            continue; /* blank */
        const char *label = line + at;
        size_t tab = strcspn(label, "\t"), colon = strcspn(label, ":");
        size_t label_len = tab < colon ? tab : colon;
        if (label[label_len] == '\0') {
            st = error_set(HFTC_STATUS_FORMAT, "%s:%zu: expected \"label<TAB>name\" or \"label: name\"", path,
                           r.line_no);
            break;
        }
        const char *name = label + label_len + 1;
        while (label_len > 0 && label[label_len - 1] == ' ')
            label_len--;
        size_t id = strmap_find(labels, label, label_len);
        if (id == STRMAP_NONE)
            continue; /* a label of a larger taxonomy */
        if (names[id])
            st = error_set(HFTC_STATUS_FORMAT, "%s:%zu: label \"%s\" named twice", path, r.line_no,
                           strmap_string(labels, id));
        else if (!(names[id] = mem_strdup(name)))
            st = HFTC_STATUS_OUT_OF_MEMORY;
    }
    if (st == HFTC_STATUS_OK && got < 0)
        st = error_set(HFTC_STATUS_IO, "%s: read error: %s", path, strerror(errno));
    line_reader_free(&r);
    fclose(f);
    return st;
}

// name's words joined by single spaces: ASCII characters other than letters and digits separate words,
// then the text is tokenised as documents are.
static hftc_status name_words(const char *name, const tokenizer_options *tok, token_list *tl, char **out)
{
    char *text = mem_strdup(name);
    if (!text)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (char *c = text; *c; c++)
        if ((unsigned char)*c < 0x80 && !isalnum((unsigned char)*c))
            *c = ' ';
    tokenizer_options all = *tok;
    all.max_len = 0;
    hftc_status st = tokenize(tl, text, strlen(text), &all);
    free(text);
    TRY(st);
    size_t bytes = 1;
    for (size_t i = 0; i < tl->n_tokens; i++)
        bytes += strlen(token_list_get(tl, i)) + 1;
    char *joined = mem_alloc(bytes, 1);
    if (!joined)
        return HFTC_STATUS_OUT_OF_MEMORY;
    joined[0] = '\0';
    for (size_t i = 0, used = 0; i < tl->n_tokens; i++)
        used += (size_t)snprintf(joined + used, bytes - used, "%s%s", i ? " " : "", token_list_get(tl, i));
    *out = joined;
    return HFTC_STATUS_OK;
}

hftc_status label_words_read(label_words *lw, const strmap *labels, const char *names_path,
                             const tokenizer_options *tok)
{
    size_t n = strmap_count(labels);
    *lw = (label_words){.n_labels = n, .text = mem_calloc(n ? n : 1, sizeof *lw->text)};
    char **names = mem_calloc(n ? n : 1, sizeof *names);
    hftc_status st = lw->text && names ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK && names_path)
        st = read_names(names_path, labels, names);
    token_list tl;
    token_list_init(&tl);
    for (size_t i = 0; st == HFTC_STATUS_OK && i < n; i++) {
        const char *name = names[i] ? names[i] : strmap_string(labels, i);
        st = name_words(name, tok, &tl, &lw->text[i]);
        if (st != HFTC_STATUS_OK)
            st = error_wrap(st, "the name of label \"%s\"", strmap_string(labels, i));
    }
    token_list_free(&tl);
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    if (st != HFTC_STATUS_OK)
        label_words_free(lw);
    return st;
}

hftc_status label_words_from_texts(label_words *lw, const char *const *texts, size_t n_labels)
{
    *lw = (label_words){.n_labels = n_labels, .text = mem_calloc(n_labels ? n_labels : 1, sizeof *lw->text)};
    if (!lw->text)
        return HFTC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < n_labels; i++)
        if (!(lw->text[i] = mem_strdup(texts[i]))) {
            label_words_free(lw);
            return HFTC_STATUS_OUT_OF_MEMORY;
        }
    return HFTC_STATUS_OK;
}

// The next word of a space-separated text at *at (NULL at the end); *len gets its length.
static const char *next_word(const char **at, size_t *len)
{
    const char *word = *at + strspn(*at, " ");
    *len = strcspn(word, " ");
    *at = word + *len;
    return *len ? word : NULL;
}

hftc_status label_words_count(const label_words *lw, vocab *v, size_t min_count)
{
    for (size_t i = 0; i < lw->n_labels; i++) {
        const char *at = lw->text[i], *word;
        size_t len;
        uint32_t id;
        while ((word = next_word(&at, &len)))
            for (size_t k = 0; k < min_count; k++)
                TRY(vocab_add(v, word, len, &id));
    }
    return HFTC_STATUS_OK;
}

hftc_status label_words_lookup(label_words *lw, const vocab *v, size_t *n_unknown)
{
    size_t total = 0, len;
    const char *word;
    for (size_t i = 0; i < lw->n_labels; i++)
        for (const char *at = lw->text[i]; next_word(&at, &len);)
            total++;
    free(lw->start), free(lw->ids);
    lw->start = mem_alloc(lw->n_labels + 1, sizeof *lw->start);
    lw->ids = mem_alloc(total ? total : 1, sizeof *lw->ids);
    if (!lw->start || !lw->ids)
        return HFTC_STATUS_OUT_OF_MEMORY;
    size_t n = 0;
    *n_unknown = 0;
    lw->longest = 0;
    lw->start[0] = 0;
    for (size_t i = 0; i < lw->n_labels; i++) {
        for (const char *at = lw->text[i]; (word = next_word(&at, &len));) {
            lw->ids[n] = vocab_lookup(v, word, len);
            *n_unknown += lw->ids[n++] == VOCAB_UNK;
        }
        lw->start[i + 1] = n;
        lw->longest = n - lw->start[i] > lw->longest ? n - lw->start[i] : lw->longest;
    }
    return HFTC_STATUS_OK;
}

void label_words_free(label_words *lw)
{
    for (size_t i = 0; lw->text && i < lw->n_labels; i++)
        free(lw->text[i]);
    free(lw->text), free(lw->start), free(lw->ids);
    *lw = (label_words){0};
}
