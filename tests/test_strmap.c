/* Tests for the string -> id map: ids in insertion order, exact byte matching, growth to 100k keys. */
#include "core/strmap.h"

#include "test.h"

static void test_empty(void)
{
    strmap m;
    strmap_init(&m);
    CHECK(strmap_count(&m) == 0);
    CHECK(strmap_find(&m, "a", 1) == STRMAP_NONE);
    CHECK(strmap_find(&m, "", 0) == STRMAP_NONE);
    strmap_free(&m);
    strmap_free(&m); // freeing twice is harmless: free zeroes the map
}

static void test_ids_and_strings(void)
{
    strmap m;
    strmap_init(&m);
    size_t id = 99;
    CHECK_STATUS(strmap_intern(&m, "apple", 5, &id), HFTC_STATUS_OK);
    CHECK(id == 0);
    CHECK_STATUS(strmap_intern(&m, "app", 3, &id), HFTC_STATUS_OK);
    CHECK(id == 1);
    CHECK_STATUS(strmap_intern(&m, "apple pie", 5, &id), HFTC_STATUS_OK); // only the first 5 bytes
    CHECK(id == 0);
    CHECK_STATUS(strmap_intern(&m, "", 0, &id), HFTC_STATUS_OK);
    CHECK(id == 2);
    CHECK_STATUS(strmap_intern(&m, "\xff\xfe", 2, &id), HFTC_STATUS_OK); // any bytes but NUL
    CHECK(id == 3);
    CHECK_STATUS(strmap_intern(&m, "Apple", 5, &id), HFTC_STATUS_OK); // case matters
    CHECK(id == 4);
    CHECK(strmap_count(&m) == 5);
    CHECK(strcmp(strmap_string(&m, 0), "apple") == 0);
    CHECK(strcmp(strmap_string(&m, 1), "app") == 0);
    CHECK(strcmp(strmap_string(&m, 2), "") == 0);
    CHECK(strcmp(strmap_string(&m, 3), "\xff\xfe") == 0);
    CHECK(strmap_find(&m, "apple", 5) == 0);
    CHECK(strmap_find(&m, "app", 3) == 1);
    CHECK(strmap_find(&m, "appl", 4) == STRMAP_NONE);
    CHECK(strmap_find(&m, "apples", 6) == STRMAP_NONE);
    CHECK(strmap_find(&m, "", 0) == 2);
    CHECK(strmap_find(&m, "Apple", 5) == 4);
    strmap_free(&m);
}

static void test_nul_rejected(void)
{
    strmap m;
    strmap_init(&m);
    size_t id = 7;
    CHECK_STATUS(strmap_intern(&m, "a\0b", 3, &id), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(strmap_count(&m) == 0);
    CHECK_STATUS(strmap_intern(&m, "a", 1, &id), HFTC_STATUS_OK);
    // A key longer than a stored string must not read past it.
    CHECK(strmap_find(&m, "a\0b", 3) == STRMAP_NONE);
    strmap_free(&m);
}

static void test_growth_100k(void)
{
    strmap m;
    strmap_init(&m);
    char key[32];
    const size_t n = 100000;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "key%zu", i * 7919 % n);
        size_t id;
        if (strmap_intern(&m, key, (size_t)len, &id) != HFTC_STATUS_OK || id != i)
            bad++;
    }
    CHECK(bad == 0);
    CHECK(strmap_count(&m) == n);
    CHECK(m.n_slots >= 2 * n && (m.n_slots & (m.n_slots - 1)) == 0);
    bad = 0;
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "key%zu", i * 7919 % n);
        size_t id = strmap_find(&m, key, (size_t)len), again;
        if (id != i || strcmp(strmap_string(&m, i), key) != 0)
            bad++;
        if (strmap_intern(&m, key, (size_t)len, &again) != HFTC_STATUS_OK || again != i)
            bad++;
        len = snprintf(key, sizeof key, "other%zu", i);
        if (strmap_find(&m, key, (size_t)len) != STRMAP_NONE)
            bad++;
    }
    CHECK(bad == 0);
    CHECK(strmap_count(&m) == n);
    strmap_free(&m);
}

int main(void)
{
    RUN_TEST(test_empty);
    RUN_TEST(test_ids_and_strings);
    RUN_TEST(test_nul_rejected);
    RUN_TEST(test_growth_100k);
    TEST_MAIN_END();
}
