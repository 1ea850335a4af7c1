/* UTF-8 tokeniser: splits on Unicode white space (Z*, control characters); with split_punct, every
 * punctuation or symbol code point (Unicode categories P* and S*) is its own token ("don't." ->
 * "don" "'" "t" "."); with lowercase, Unicode case folding (utf8proc). Invisible format characters
 * (Cf) are dropped. The full rules are at the top of tokenizer.c. Invalid UTF-8 is an error, never
 * silently passed through. */
#ifndef HFTC_TEXT_TOKENIZER_H
#define HFTC_TEXT_TOKENIZER_H

#include "hftc.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool lowercase;
    bool split_punct;
    bool drop_punct; /* punctuation and symbols separate words but are not tokens (takes precedence) */
    size_t max_len;  /* keep the first max_len tokens; 0 = all */
} tokenizer_options;

typedef struct {
    char *buf; /* token bytes, each NUL-terminated */
    size_t buf_used, buf_capacity;
    size_t *starts; /* offset of each token in buf */
    size_t n_tokens, starts_capacity;
} token_list;

void token_list_init(token_list *t);
void token_list_free(token_list *t);
/* Replaces t's contents with the tokens of text[0..len). On invalid UTF-8 returns
 * HFTC_STATUS_FORMAT with a message giving the byte offset (the caller adds file and line). */
hftc_status tokenize(token_list *t, const char *text, size_t len, const tokenizer_options *opt);
static inline const char *token_list_get(const token_list *t, size_t i) { return t->buf + t->starts[i]; }
/* Empties t, keeping its memory. */
void token_list_clear(token_list *t);
/* Appends word[0..len) as one token, case folded if lowercase (for text that is already tokenised, such
 * as JSON "doc_token"); an empty word adds nothing. Invalid UTF-8 or a NUL byte is HFTC_STATUS_FORMAT. */
hftc_status token_list_add_word(token_list *t, const char *word, size_t len, bool lowercase);
/* Offset of the first byte of the first invalid UTF-8 sequence in s[0..len) (overlong forms, surrogates,
 * code points above U+10FFFF, stray or missing continuation bytes), or len if s is valid. */
size_t utf8_find_invalid(const char *s, size_t len);

#endif
