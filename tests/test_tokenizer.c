/* Tests for the UTF-8 tokeniser: table of inputs with their tokens (joined by '|'), every rule of
 * tokenizer.c, and each kind of invalid UTF-8. */
#include "text/tokenizer.h"

#include "test.h"

// Tokens of t joined by '|' into out.
static void join_tokens(const token_list *t, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < t->n_tokens; i++)
        used += (size_t)snprintf(out + used, used < cap ? cap - used : 0, "%s%s", i ? "|" : "", token_list_get(t, i));
}

typedef struct {
    const char *text;
    bool lowercase, split_punct;
    size_t max_len;
    const char *expected;
    bool drop_punct;
} token_case;

static const token_case token_cases[] = {
    {"Hello world", false, false, 0, "Hello|world"},
    {"  leading and trailing  ", false, false, 0, "leading|and|trailing"},
    {"", false, true, 0, ""},
    {" \t\r\n ", false, true, 0, ""},
    // Control characters (tab, U+0001, DEL, U+0085 NEL) are white space.
    {"a\tb\x01"
     "c\x7f"
     "d\xc2\x85"
     "e",
     false, false, 0, "a|b|c|d|e"},
    // Unicode spaces: NBSP, ideographic space, line separator, zero width space.
    {"a\xc2\xa0"
     "b\xe3\x80\x80"
     "c\xe2\x80\xa8"
     "d\xe2\x80\x8b"
     "e",
     false, false, 0, "a|b|c|d|e"},
    // Punctuation: kept inside words without split_punct, one token each with it.
    {"don't.", false, false, 0, "don't."},
    {"don't.", false, true, 0, "don|'|t|."},
    {"$5.00, (ok)!", false, true, 0, "$|5|.|00|,|(|ok|)|!"},
    {"a--b", false, true, 0, "a|-|-|b"},
    {"e-mail", false, false, 0, "e-mail"},
    // drop_punct: punctuation and symbols separate words and vanish, whatever split_punct says.
    {"don't. $5.00, (ok)!", false, true, 0, "don|t|5|00|ok", true},
    {"a--b \xe2\x82\xac \xf0\x9f\x98\x80"
     "x",
     false, false, 0, "a|b|x", true},
    {"..., !", false, true, 0, "", true},
    {"a, b, c", false, true, 2, "a|b", true},
    // Lowercasing is Unicode case folding; punctuation and digits untouched.
    {"ÉCOLE", true, false, 0, "école"},
    {"ÉCOLE", false, false, 0, "ÉCOLE"},
    {"Straße ΣΟΦΙΑ İ", true, false, 0, "strasse|σοφια|i\xcc\x87"},
    {"ABC-12", true, true, 0, "abc|-|12"},
    // CJK ideographs are letters (one token without spaces); CJK punctuation splits.
    {"東京タワー", false, true, 0, "東京タワー"},
    {"東京。タワー、", false, true, 0, "東京|。|タワー|、"},
    {"東京。タワー", false, false, 0, "東京。タワー"},
    // Emoji and other symbols (S*) are one token each; a variation selector stays with its emoji.
    {"I\xe2\x9d\xa4\xef\xb8\x8fNY\xf0\x9f\x91\x8d!", false, true, 0,
     "I|\xe2\x9d\xa4\xef\xb8\x8f|NY|\xf0\x9f\x91\x8d|!"},
    {"a\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
     "b",
     false, true, 0, "a|\xf0\x9f\x98\x80|\xf0\x9f\x98\x80|b"},
    {"a\xf0\x9f\x98\x80"
     "b",
     false, false, 0,
     "a\xf0\x9f\x98\x80"
     "b"},
    {"x\xe2\x82\xac"
     "5 \xc2\xa9",
     false, true, 0, "x|\xe2\x82\xac|5|\xc2\xa9"},
    // Combining marks stay in their word (no normalisation: e + U+0301 stays two code points).
    {"cafe\xcc\x81 ok", true, true, 0, "cafe\xcc\x81|ok"},
    // Format characters (soft hyphen, zero width joiner, BOM) are dropped.
    {"co\xc2\xad"
     "op a\xe2\x80\x8d"
     "b \xef\xbb\xbfz",
     false, false, 0, "coop|ab|z"},
    // max_len keeps the first tokens.
    {"a b c d", false, false, 2, "a|b"},
    {"a, b", false, true, 2, "a|,"},
    {"a b", false, false, 5, "a|b"},
};

static void test_table(void)
{
    token_list t;
    token_list_init(&t);
    char got[512];
    for (size_t i = 0; i < sizeof token_cases / sizeof *token_cases; i++) {
        const token_case *c = &token_cases[i];
        tokenizer_options opt = {.lowercase = c->lowercase,
                                 .split_punct = c->split_punct,
                                 .drop_punct = c->drop_punct,
                                 .max_len = c->max_len};
        hftc_status st = tokenize(&t, c->text, strlen(c->text), &opt);
        CHECK_MSG(st == HFTC_STATUS_OK, "case %zu: status %d (%s)", i, (int)st, hftc_last_error());
        join_tokens(&t, got, sizeof got);
        CHECK_MSG(strcmp(got, c->expected) == 0, "case %zu \"%s\": got \"%s\", expected \"%s\"", i, c->text, got,
                  c->expected);
    }
    token_list_free(&t);
}

typedef struct {
    const char *text;
    size_t len;
    size_t bad_byte; // 1-based, as in the message
} invalid_case;

static const invalid_case invalid_cases[] = {
    {"ab\xc0\xaf", 4, 3},       // overlong "/"
    {"\xe0\x80\xaf", 3, 1},     // overlong, 3 bytes
    {"\xf0\x80\x80\xaf", 4, 1}, // overlong, 4 bytes
    {"abc \x80 d", 7, 5},       // lone continuation byte
    {"abc\xe2\x82", 5, 4},      // truncated sequence at the end
    {"a\xc3"
     "b",
     3, 2},                      // lead byte followed by ASCII
    {"\xed\xa0\x80", 3, 1},      // UTF-16 surrogate
    {"x\xf4\x90\x80\x80", 5, 2}, // above U+10FFFF
    {"\xff", 1, 1},
    {"\xfe\xfe", 2, 1},
    {"valid words \xe9t\xe9", 15, 13}, // Latin-1, not UTF-8
};

static void test_invalid_utf8(void)
{
    token_list t;
    token_list_init(&t);
    char want[64];
    for (size_t i = 0; i < sizeof invalid_cases / sizeof *invalid_cases; i++) {
        const invalid_case *c = &invalid_cases[i];
        for (int split = 0; split < 2; split++) {
            tokenizer_options opt = {.lowercase = true, .split_punct = split};
            CHECK_STATUS(tokenize(&t, c->text, c->len, &opt), HFTC_STATUS_FORMAT);
            snprintf(want, sizeof want, "invalid UTF-8 at byte %zu", c->bad_byte);
            CHECK_MSG(strcmp(hftc_last_error(), want) == 0, "case %zu: \"%s\"", i, hftc_last_error());
            CHECK(t.n_tokens == 0);
        }
        CHECK_MSG(utf8_find_invalid(c->text, c->len) == c->bad_byte - 1, "case %zu", i);
    }
    token_list_free(&t);
}

static void test_invalid_after_max_len(void)
{
    // Text past max_len is not kept but is still validated.
    token_list t;
    token_list_init(&t);
    tokenizer_options opt = {.max_len = 1};
    CHECK_STATUS(tokenize(&t, "a b \xff", 5, &opt), HFTC_STATUS_FORMAT);
    token_list_free(&t);
}

static void test_utf8_find_invalid(void)
{
    CHECK(utf8_find_invalid("", 0) == 0);
    const char *ok = "plain ASCII text that is longer than eight bytes, é, 東, \xf0\x9f\x98\x80";
    CHECK(utf8_find_invalid(ok, strlen(ok)) == strlen(ok));
    // The 8-byte fast path must still stop at a bad byte anywhere in a word.
    char buf[40];
    for (size_t pos = 0; pos < sizeof buf; pos++) {
        memset(buf, 'a', sizeof buf);
        buf[pos] = (char)0x80;
        CHECK_MSG(utf8_find_invalid(buf, sizeof buf) == pos, "pos %zu", pos);
    }
    CHECK(utf8_find_invalid("a\0b", 3) == 3); // NUL is a valid code point
}

static void test_reuse_and_nul(void)
{
    token_list t;
    token_list_init(&t);
    tokenizer_options opt = {.split_punct = true};
    CHECK_STATUS(tokenize(&t, "one two three", 13, &opt), HFTC_STATUS_OK);
    CHECK(t.n_tokens == 3);
    CHECK_STATUS(tokenize(&t, "x\0y", 3, &opt), HFTC_STATUS_OK); // NUL is a control character: white space
    CHECK(t.n_tokens == 2);
    CHECK(strcmp(token_list_get(&t, 0), "x") == 0 && strcmp(token_list_get(&t, 1), "y") == 0);
    token_list_free(&t);
}

static void test_long_text(void)
{
    // 200k characters: buffers grow, every token is found.
    size_t n_words = 20000;
    char *text = malloc(n_words * 10);
    size_t len = 0;
    for (size_t i = 0; i < n_words; i++)
        len += (size_t)sprintf(text + len, "W%zu\xc3\x89, ", i % 1000);
    token_list t;
    token_list_init(&t);
    tokenizer_options opt = {.lowercase = true, .split_punct = true};
    CHECK_STATUS(tokenize(&t, text, len, &opt), HFTC_STATUS_OK);
    CHECK(t.n_tokens == 2 * n_words);
    CHECK(strcmp(token_list_get(&t, 2 * 123), "w123é") == 0);
    CHECK(strcmp(token_list_get(&t, 2 * 123 + 1), ",") == 0);
    token_list_free(&t);
    free(text);
}

static void test_add_word(void)
{
    token_list t;
    token_list_init(&t);
    CHECK_STATUS(token_list_add_word(&t, "New York", 8, true), HFTC_STATUS_OK);
    CHECK_STATUS(token_list_add_word(&t, "", 0, true), HFTC_STATUS_OK); // adds nothing
    CHECK_STATUS(token_list_add_word(&t, "ÉCOLE", strlen("ÉCOLE"), true), HFTC_STATUS_OK);
    CHECK_STATUS(token_list_add_word(&t, "ÉCOLE", strlen("ÉCOLE"), false), HFTC_STATUS_OK);
    CHECK(t.n_tokens == 3);
    CHECK(strcmp(token_list_get(&t, 0), "new york") == 0);
    CHECK(strcmp(token_list_get(&t, 1), "école") == 0);
    CHECK(strcmp(token_list_get(&t, 2), "ÉCOLE") == 0);
    CHECK_STATUS(token_list_add_word(&t, "a\xc0\xaf", 3, false), HFTC_STATUS_FORMAT);
    CHECK(strstr(hftc_last_error(), "byte 2") != NULL);
    CHECK_STATUS(token_list_add_word(&t, "a\0b", 3, false), HFTC_STATUS_FORMAT);
    CHECK(t.n_tokens == 3);
    token_list_clear(&t);
    CHECK(t.n_tokens == 0);
    token_list_free(&t);
}

int main(void)
{
    RUN_TEST(test_table);
    RUN_TEST(test_invalid_utf8);
    RUN_TEST(test_invalid_after_max_len);
    RUN_TEST(test_utf8_find_invalid);
    RUN_TEST(test_reuse_and_nul);
    RUN_TEST(test_long_text);
    RUN_TEST(test_add_word);
    TEST_MAIN_END();
}
