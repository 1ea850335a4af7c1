/* UTF-8 tokeniser. The rules, per code point (categories from utf8proc):
 *   - white space (Z*, control characters Cc, and U+200B ZERO WIDTH SPACE) ends a token;
 *   - other format characters (Cf: soft hyphen, joiners, bidi marks, a BOM inside the text) are dropped,
 *     as BERT's tokeniser does: they are invisible and would split the vocabulary;
 *   - with split_punct, punctuation and symbols (P*, S*: ASCII punctuation, CJK punctuation, currency,
 *     emoji) are one token each, together with the combining marks (M*) that follow them, so an emoji
 *     keeps its variation selector; "don't." gives "don" "'" "t" ".";
 *   - everything else (letters, digits, marks) builds words; CJK ideographs are letters, so a run of them
 *     without spaces stays one token.
 * Lowercasing is full Unicode case folding ("ÉCOLE" -> "école", "Straße" -> "strasse"). Text is not
 * normalised (NFC and NFD spellings of a word stay different). ASCII takes a table-free fast path. */
#include "text/tokenizer.h"

#include "core/arena.h"
#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef enum { CHAR_WORD, CHAR_SPACE, CHAR_PUNCT, CHAR_MARK, CHAR_IGNORE } char_class;

static char_class ascii_class(unsigned char c)
{
    if (c <= 0x20 || c == 0x7f)
        return CHAR_SPACE;
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return CHAR_WORD;
    return CHAR_PUNCT; // every other printable ASCII character is in P* or S*
}

static char_class unicode_class(int32_t cp)
{
    if (cp == 0x200b)
        return CHAR_SPACE;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
        return CHAR_SPACE;
    case UTF8PROC_CATEGORY_CF:
        return CHAR_IGNORE;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
        return CHAR_PUNCT;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return CHAR_MARK;
    default:
        return CHAR_WORD;
    }
}

void token_list_init(token_list *t) { *t = (token_list){0}; }

void token_list_free(token_list *t)
{
    free(t->buf);
    free(t->starts);
    *t = (token_list){0};
}

void token_list_clear(token_list *t)
{
    t->buf_used = 0;
    t->n_tokens = 0;
}

size_t utf8_find_invalid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n < 0)
            return i;
        i += (size_t)n;
    }
    return len;
}

// Worst case a code point folds to 3 code points of 4 bytes, plus the token's NUL.
#define MAX_CHAR_BYTES 16

// Appends code point cp (its original bytes src[0..n)) to the open token, case folded if asked.
static void append_char(token_list *t, int32_t cp, const unsigned char *src, size_t n, bool lowercase)
{
    unsigned char *out = (unsigned char *)t->buf + t->buf_used;
    if (cp < 0x80) {
        *out = lowercase && cp >= 'A' && cp <= 'Z' ? (unsigned char)(cp + 32) : (unsigned char)cp;
        t->buf_used++;
        return;
    }
    if (lowercase) {
        utf8proc_int32_t folded[4];
        int boundclass = 0;
        utf8proc_ssize_t m = utf8proc_decompose_char(cp, folded, 4, UTF8PROC_CASEFOLD, &boundclass);
        if (m > 0 && m <= 4) {
            for (utf8proc_ssize_t k = 0; k < m; k++)
                t->buf_used += (size_t)utf8proc_encode_char(folded[k], (utf8proc_uint8_t *)t->buf + t->buf_used);
            return;
        }
    }
    memcpy(out, src, n);
    t->buf_used += n;
}

static hftc_status open_token(token_list *t)
{
    if (t->n_tokens >= t->starts_capacity)
        TRY(mem_reserve((void **)&t->starts, &t->starts_capacity, t->n_tokens + 1, sizeof *t->starts));
    t->starts[t->n_tokens] = t->buf_used;
    return HFTC_STATUS_OK;
}

static void close_token(token_list *t)
{
    t->buf[t->buf_used++] = '\0';
    t->n_tokens++;
}

hftc_status tokenize(token_list *t, const char *text, size_t len, const tokenizer_options *opt)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t limit = opt->max_len ? opt->max_len : SIZE_MAX;
    bool open = false, open_is_symbol = false;
    token_list_clear(t);
    size_t i = 0;
    while (i < len) {
        int32_t cp = p[i];
        size_t n = 1;
        char_class cls;
        if (cp < 0x80) {
            cls = ascii_class((unsigned char)cp);
        } else {
            utf8proc_ssize_t r = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
            if (r < 0) {
                token_list_clear(t);
                return error_set(HFTC_STATUS_FORMAT, "invalid UTF-8 at byte %zu", i + 1);
            }
            n = (size_t)r;
            cls = unicode_class(cp);
        }
        const unsigned char *src = p + i;
        i += n;
        // Past max_len the rest is only validated.
        if (t->n_tokens >= limit || cls == CHAR_IGNORE)
            continue;
        if (cls == CHAR_PUNCT && opt->drop_punct)
            cls = CHAR_SPACE;
        else if (cls == CHAR_PUNCT && !opt->split_punct)
            cls = CHAR_WORD;
        if (cls == CHAR_SPACE || cls == CHAR_PUNCT || (cls == CHAR_WORD && open_is_symbol)) {
            if (open)
                close_token(t);
            open = open_is_symbol = false;
            if (cls == CHAR_SPACE || t->n_tokens >= limit)
                continue;
        }
        if (t->buf_used + MAX_CHAR_BYTES > t->buf_capacity)
            TRY(mem_reserve((void **)&t->buf, &t->buf_capacity, t->buf_used + MAX_CHAR_BYTES, 1));
        if (!open) {
            TRY(open_token(t));
            open = true;
            open_is_symbol = cls == CHAR_PUNCT;
        }
        append_char(t, cp, src, n, opt->lowercase);
    }
    if (open)
        close_token(t);
    return HFTC_STATUS_OK;
}

hftc_status token_list_add_word(token_list *t, const char *word, size_t len, bool lowercase)
{
    size_t bad = utf8_find_invalid(word, len);
    if (bad < len)
        return error_set(HFTC_STATUS_FORMAT, "invalid UTF-8 at byte %zu", bad + 1);
    if (memchr(word, '\0', len))
        return error_set(HFTC_STATUS_FORMAT, "NUL byte in a word");
    if (len == 0)
        return HFTC_STATUS_OK;
    if (len > (SIZE_MAX - t->buf_used) / 3 - 1)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "token too large");
    // Case folding at most triples the bytes of a code point.
    TRY(mem_reserve((void **)&t->buf, &t->buf_capacity, t->buf_used + 3 * len + 1, 1));
    TRY(open_token(t));
    const unsigned char *p = (const unsigned char *)word;
    for (size_t i = 0; i < len;) {
        int32_t cp = p[i];
        size_t n = 1;
        if (cp >= 0x80)
            n = (size_t)utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        append_char(t, cp, p + i, n, lowercase);
        i += n;
    }
    close_token(t);
    return HFTC_STATUS_OK;
}
