/* Vocabulary: a string map plus a count per word. The literal word "<pad>" met in text is counted as
 * <unk>, so that id 0 only ever means padding. */
#include "text/vocab.h"

#include "core/arena.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static const char pad_word[] = "<pad>";
static const char unk_word[] = "<unk>";

static hftc_status add_special_words(vocab *v)
{
    size_t id;
    TRY(strmap_intern(&v->words, pad_word, sizeof pad_word - 1, &id));
    TRY(strmap_intern(&v->words, unk_word, sizeof unk_word - 1, &id));
    TRY(mem_reserve((void **)&v->counts, &v->counts_capacity, 2, sizeof *v->counts));
    v->counts[VOCAB_PAD] = v->counts[VOCAB_UNK] = 0;
    return HFTC_STATUS_OK;
}

hftc_status vocab_init(vocab *v)
{
    *v = (vocab){0};
    strmap_init(&v->words);
    hftc_status st = add_special_words(v);
    if (st != HFTC_STATUS_OK)
        vocab_free(v);
    return st;
}

void vocab_free(vocab *v)
{
    strmap_free(&v->words);
    free(v->counts);
    *v = (vocab){0};
}

hftc_status vocab_add(vocab *v, const char *word, size_t len, uint32_t *id)
{
    size_t i, n = strmap_count(&v->words);
    if (n >= UINT32_MAX)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "vocabulary exceeds %u words", (unsigned)UINT32_MAX);
    TRY(mem_reserve((void **)&v->counts, &v->counts_capacity, n + 1, sizeof *v->counts));
    TRY(strmap_intern(&v->words, word, len, &i));
    if (i == n)
        v->counts[i] = 0;
    if (i == VOCAB_PAD)
        i = VOCAB_UNK;
    v->counts[i]++;
    *id = (uint32_t)i;
    return HFTC_STATUS_OK;
}

uint32_t vocab_lookup(const vocab *v, const char *word, size_t len)
{
    size_t i = strmap_find(&v->words, word, len);
    return i == STRMAP_NONE || i == VOCAB_PAD ? VOCAB_UNK : (uint32_t)i;
}

// A word with the key it is ranked by.
typedef struct {
    size_t count;
    const char *word;
    uint32_t id;
} ranked_word;

static int compare_ranked(const void *a, const void *b)
{
    const ranked_word *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->word, y->word); // compares as unsigned char: byte order
}

hftc_status vocab_finalize(vocab *v, size_t min_count, size_t max_size, uint32_t **remap)
{
    *remap = NULL;
    if (max_size == 1)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "vocabulary size cap must be 0 (none) or at least 2");
    size_t n = vocab_size(v);
    ranked_word *ranked = mem_alloc(n, sizeof *ranked);
    uint32_t *map = mem_alloc(n, sizeof *map);
    if (!ranked || !map) {
        free(ranked);
        free(map);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    size_t n_kept = 0;
    for (size_t i = 2; i < n; i++)
        if (v->counts[i] >= min_count)
            ranked[n_kept++] = (ranked_word){v->counts[i], strmap_string(&v->words, i), (uint32_t)i};
    qsort(ranked, n_kept, sizeof *ranked, compare_ranked);
    if (max_size && n_kept > max_size - 2)
        n_kept = max_size - 2;

    vocab out = {0};
    hftc_status st = add_special_words(&out);
    if (st == HFTC_STATUS_OK)
        st = mem_reserve((void **)&out.counts, &out.counts_capacity, n_kept + 2, sizeof *out.counts);
    if (st != HFTC_STATUS_OK) {
        vocab_free(&out);
        free(ranked);
        free(map);
        return st;
    }
    // Words dropped here will be read as <unk>: their occurrences are <unk>'s.
    size_t unk_count = v->counts[VOCAB_UNK];
    for (size_t i = 0; i < n; i++)
        map[i] = VOCAB_UNK;
    map[VOCAB_PAD] = VOCAB_PAD;
    for (size_t k = 0; k < n_kept; k++) {
        size_t id;
        const ranked_word *w = &ranked[k];
        st = strmap_intern(&out.words, w->word, strlen(w->word), &id);
        if (st != HFTC_STATUS_OK)
            break;
        out.counts[id] = w->count;
        map[w->id] = (uint32_t)id;
    }
    if (st != HFTC_STATUS_OK) {
        vocab_free(&out);
        free(ranked);
        free(map);
        return st;
    }
    for (size_t i = 2; i < n; i++)
        if (map[i] == VOCAB_UNK)
            unk_count += v->counts[i];
    out.counts[VOCAB_UNK] = unk_count;
    free(ranked);
    vocab_free(v);
    *v = out;
    *remap = map;
    return HFTC_STATUS_OK;
}

hftc_status vocab_from_words(vocab *v, const char *const *words, size_t n)
{
    hftc_status st = vocab_init(v);
    if (st != HFTC_STATUS_OK)
        return st;
    if (n < 2 || strcmp(words[0], pad_word) != 0 || strcmp(words[1], unk_word) != 0) {
        vocab_free(v);
        return error_set(HFTC_STATUS_FORMAT, "vocabulary must start with \"<pad>\" and \"<unk>\"");
    }
    if (n > UINT32_MAX) {
        vocab_free(v);
        return error_set(HFTC_STATUS_FORMAT, "vocabulary of %zu words is too large", n);
    }
    st = mem_reserve((void **)&v->counts, &v->counts_capacity, n, sizeof *v->counts);
    for (size_t i = 2; i < n && st == HFTC_STATUS_OK; i++) {
        size_t len = strlen(words[i]), id;
        if (len == 0) {
            st = error_set(HFTC_STATUS_FORMAT, "vocabulary word %zu is empty", i);
            break;
        }
        st = strmap_intern(&v->words, words[i], len, &id);
        if (st == HFTC_STATUS_OK && id != i)
            st = error_set(HFTC_STATUS_FORMAT, "vocabulary word %zu \"%s\" repeats word %zu", i, words[i], id);
        else if (st == HFTC_STATUS_OK)
            v->counts[i] = 0;
    }
    if (st != HFTC_STATUS_OK)
        vocab_free(v);
    return st;
}

size_t vocab_size(const vocab *v) { return strmap_count(&v->words); }

const char *vocab_word(const vocab *v, uint32_t id) { return strmap_string(&v->words, id); }
