/* Tests for the vocabulary: counting, <pad>/<unk>, minimum count, size cap, deterministic ids, and
 * rebuilding from a model's word list. */
#include "text/vocab.h"

#include "test.h"

static void add_words(vocab *v, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t id;
        CHECK_STATUS(vocab_add(v, words[i], strlen(words[i]), &id), HFTC_STATUS_OK);
    }
}

static void test_init_and_add(void)
{
    vocab v;
    CHECK_STATUS(vocab_init(&v), HFTC_STATUS_OK);
    CHECK(vocab_size(&v) == 2);
    CHECK(strcmp(vocab_word(&v, VOCAB_PAD), "<pad>") == 0);
    CHECK(strcmp(vocab_word(&v, VOCAB_UNK), "<unk>") == 0);
    uint32_t a, b, c;
    CHECK_STATUS(vocab_add(&v, "cat", 3, &a), HFTC_STATUS_OK);
    CHECK_STATUS(vocab_add(&v, "dog", 3, &b), HFTC_STATUS_OK);
    CHECK_STATUS(vocab_add(&v, "cat", 3, &c), HFTC_STATUS_OK);
    CHECK(a == 2 && b == 3 && c == 2);
    CHECK(v.counts[2] == 2 && v.counts[3] == 1);
    CHECK(vocab_lookup(&v, "dog", 3) == 3);
    CHECK(vocab_lookup(&v, "Dog", 3) == VOCAB_UNK);
    CHECK(vocab_lookup(&v, "do", 2) == VOCAB_UNK);
    // The word "<pad>" in text must never become padding.
    CHECK_STATUS(vocab_add(&v, "<pad>", 5, &a), HFTC_STATUS_OK);
    CHECK(a == VOCAB_UNK);
    CHECK(vocab_lookup(&v, "<pad>", 5) == VOCAB_UNK);
    CHECK(v.counts[VOCAB_PAD] == 0 && v.counts[VOCAB_UNK] == 1);
    vocab_free(&v);
}

static const char *const corpus[] = {"b", "a", "c", "a", "b", "d", "a", "B", "é", "é", "e", "b", "rare"};
#define CORPUS_N (sizeof corpus / sizeof *corpus)

static void test_finalize_order(void)
{
    // counts: a 3, b 3, é 2, B 1, c 1, d 1, e 1, rare 1
    vocab v;
    CHECK_STATUS(vocab_init(&v), HFTC_STATUS_OK);
    add_words(&v, corpus, CORPUS_N);
    size_t before = vocab_size(&v);
    uint32_t *remap = NULL;
    CHECK_STATUS(vocab_finalize(&v, 1, 0, &remap), HFTC_STATUS_OK);
    const char *expected[] = {"<pad>", "<unk>", "a", "b", "é", "B", "c", "d", "e", "rare"};
    CHECK(vocab_size(&v) == 10);
    for (uint32_t i = 0; i < 10 && i < vocab_size(&v); i++)
        CHECK_MSG(strcmp(vocab_word(&v, i), expected[i]) == 0, "id %u: %s", (unsigned)i, vocab_word(&v, i));
    CHECK(v.counts[2] == 3 && v.counts[4] == 2 && v.counts[9] == 1);
    // remap sends every provisional id to the word's new id.
    CHECK(remap != NULL);
    CHECK(remap[VOCAB_PAD] == VOCAB_PAD && remap[VOCAB_UNK] == VOCAB_UNK);
    CHECK(remap[2] == 3); // "b" was inserted first
    CHECK(remap[3] == 2); // "a"
    CHECK(before == 10);
    CHECK(vocab_lookup(&v, "é", strlen("é")) == 4);
    free(remap);
    vocab_free(&v);
}

static void test_min_count_and_cap(void)
{
    vocab v;
    CHECK_STATUS(vocab_init(&v), HFTC_STATUS_OK);
    add_words(&v, corpus, CORPUS_N);
    uint32_t *remap = NULL;
    CHECK_STATUS(vocab_finalize(&v, 2, 0, &remap), HFTC_STATUS_OK);
    CHECK(vocab_size(&v) == 5);
    CHECK(strcmp(vocab_word(&v, 4), "é") == 0);
    CHECK(vocab_lookup(&v, "rare", 4) == VOCAB_UNK);
    // Provisional ids: b 2, a 3, c 4, d 5, B 6, é 7, e 8, rare 9.
    CHECK(remap[7] == 4 && remap[2] == 3 && remap[3] == 2);
    CHECK(remap[6] == VOCAB_UNK && remap[9] == VOCAB_UNK);
    CHECK(v.counts[VOCAB_UNK] == 5); // B, c, d, e, rare now count as <unk>
    free(remap);
    vocab_free(&v);

    CHECK_STATUS(vocab_init(&v), HFTC_STATUS_OK);
    add_words(&v, corpus, CORPUS_N);
    CHECK_STATUS(vocab_finalize(&v, 0, 4, &remap), HFTC_STATUS_OK);
    CHECK(vocab_size(&v) == 4); // <pad>, <unk>, a, b
    CHECK(strcmp(vocab_word(&v, 3), "b") == 0);
    CHECK(vocab_lookup(&v, "é", strlen("é")) == VOCAB_UNK);
    free(remap);
    CHECK_STATUS(vocab_finalize(&v, 0, 1, &remap), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(remap == NULL);
    vocab_free(&v);
}

static void test_deterministic(void)
{
    // The same multiset of words in another order gives the same vocabulary.
    const char *reversed[CORPUS_N];
    for (size_t i = 0; i < CORPUS_N; i++)
        reversed[i] = corpus[CORPUS_N - 1 - i];
    vocab v1, v2;
    uint32_t *r1, *r2;
    CHECK_STATUS(vocab_init(&v1), HFTC_STATUS_OK);
    CHECK_STATUS(vocab_init(&v2), HFTC_STATUS_OK);
    add_words(&v1, corpus, CORPUS_N);
    add_words(&v2, reversed, CORPUS_N);
    CHECK_STATUS(vocab_finalize(&v1, 1, 0, &r1), HFTC_STATUS_OK);
    CHECK_STATUS(vocab_finalize(&v2, 1, 0, &r2), HFTC_STATUS_OK);
    CHECK(vocab_size(&v1) == vocab_size(&v2));
    for (uint32_t i = 0; i < vocab_size(&v1); i++)
        CHECK(strcmp(vocab_word(&v1, i), vocab_word(&v2, i)) == 0);
    free(r1);
    free(r2);
    // Adding after finalising continues the numbering.
    uint32_t id;
    CHECK_STATUS(vocab_add(&v1, "new", 3, &id), HFTC_STATUS_OK);
    CHECK(id == vocab_size(&v2) && v1.counts[id] == 1);
    vocab_free(&v1);
    vocab_free(&v2);
}

static void test_from_words(void)
{
    vocab v;
    const char *words[] = {"<pad>", "<unk>", "the", "of", "école"};
    CHECK_STATUS(vocab_from_words(&v, words, 5), HFTC_STATUS_OK);
    CHECK(vocab_size(&v) == 5);
    CHECK(vocab_lookup(&v, "of", 2) == 3);
    CHECK(vocab_lookup(&v, "école", strlen("école")) == 4);
    CHECK(strcmp(vocab_word(&v, 2), "the") == 0);
    vocab_free(&v);

    const char *dup[] = {"<pad>", "<unk>", "the", "of", "the"};
    CHECK_STATUS(vocab_from_words(&v, dup, 5), HFTC_STATUS_FORMAT);
    CHECK(strstr(hftc_last_error(), "the") != NULL);
    CHECK(vocab_size(&v) == 0); // left freed
    const char *dup_special[] = {"<pad>", "<unk>", "<unk>"};
    CHECK_STATUS(vocab_from_words(&v, dup_special, 3), HFTC_STATUS_FORMAT);
    const char *bad_start[] = {"<unk>", "<pad>", "x"};
    CHECK_STATUS(vocab_from_words(&v, bad_start, 3), HFTC_STATUS_FORMAT);
    CHECK_STATUS(vocab_from_words(&v, words, 1), HFTC_STATUS_FORMAT);
    const char *empty[] = {"<pad>", "<unk>", ""};
    CHECK_STATUS(vocab_from_words(&v, empty, 3), HFTC_STATUS_FORMAT);
    vocab_free(&v);
}

int main(void)
{
    RUN_TEST(test_init_and_add);
    RUN_TEST(test_finalize_order);
    RUN_TEST(test_min_count_and_cap);
    RUN_TEST(test_deterministic);
    RUN_TEST(test_from_words);
    TEST_MAIN_END();
}
