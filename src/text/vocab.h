/* Vocabulary: words -> ids with counts. Id 0 is <pad>, id 1 is <unk>.
 * Built by counting the training data, then finalised (minimum count, size cap, ids re-numbered
 * by descending count, ties in byte order, so the result does not depend on input order). */
#ifndef HFTC_TEXT_VOCAB_H
#define HFTC_TEXT_VOCAB_H

#include "core/strmap.h"

#include <stdint.h>

#define VOCAB_PAD 0u
#define VOCAB_UNK 1u

typedef struct {
    strmap words;
    size_t *counts;
    size_t counts_capacity;
} vocab;

hftc_status vocab_init(vocab *v); /* holds <pad> and <unk> */
void vocab_free(vocab *v);
/* Counts one occurrence of the word, adding it if new; *id receives its (provisional) id. */
hftc_status vocab_add(vocab *v, const char *word, size_t len, uint32_t *id);
/* Id of the word, or VOCAB_UNK. */
uint32_t vocab_lookup(const vocab *v, const char *word, size_t len);
/* Keeps words with count >= min_count, at most max_size words in all (0 = no cap), re-numbers
 * them; *remap (caller frees) maps every provisional id to its new id (VOCAB_UNK if dropped). */
hftc_status vocab_finalize(vocab *v, size_t min_count, size_t max_size, uint32_t **remap);
/* Builds a finalised vocabulary from words in id order (words[0] "<pad>", words[1] "<unk>"),
 * as stored in a model file. Duplicate words are an error. */
hftc_status vocab_from_words(vocab *v, const char *const *words, size_t n);
size_t vocab_size(const vocab *v);
const char *vocab_word(const vocab *v, uint32_t id);

#endif
