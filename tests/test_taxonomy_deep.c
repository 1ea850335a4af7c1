/* A taxonomy 20,000 levels deep (one chain): built through the edge API, every node's ancestor list computed
 * and checked. The ancestors of all nodes of a chain of depth D number D (D - 1) / 2, so linear work per
 * node is 2e8 steps in all, a few seconds at most under the sanitizers; the quadratic "already added?"
 * search this replaced did D^3 / 6 (1.3e12) and took hours. No time is measured here (tests assert work,
 * not seconds): tests/CMakeLists.txt gives this program a 60 s timeout, which such a regression exceeds
 * by far, and it is a program of its own so that limit applies to nothing else. */
#include "data/taxonomy.h"

#include "test.h"

#define DEPTH 20000

static void test_chain_ancestors(void)
{
    taxonomy t;
    taxonomy_init(&t);
    char parent[32], child[32];
    hftc_status st = HFTC_STATUS_OK;
    for (size_t i = 0; i < DEPTH && st == HFTC_STATUS_OK; i++) {
        snprintf(parent, sizeof parent, "n%zu", i - 1);
        snprintf(child, sizeof child, "n%zu", i);
        st = taxonomy_add_edge(&t, i ? parent : NULL, child);
    }
    CHECK_STATUS(st, HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_finalize(&t), HFTC_STATUS_OK);
    CHECK(t.n_nodes == DEPTH && t.depth == DEPTH && t.is_tree);
    uint32_t *out = malloc(DEPTH * sizeof *out);
    bool *mark = calloc(DEPTH, sizeof *mark);
    CHECK(out && mark);
    if (st != HFTC_STATUS_OK || !out || !mark || t.n_nodes != DEPTH) {
        free(out), free(mark), taxonomy_free(&t);
        return;
    }
    // Node "n<i>" has id i (names are interned top-down), so its ancestors are the ids 0 .. i - 1 in order.
    size_t total = 0, wrong = 0;
    for (uint32_t node = 0; node < DEPTH; node++) {
        size_t n = taxonomy_ancestors(&t, node, out, mark);
        total += n;
        wrong += n != node || (n && (out[0] != 0 || out[n - 1] != node - 1));
        if (node == 1 || node == 2 || node == 12345 || node == DEPTH - 1)
            for (size_t k = 0; k < n; k++)
                wrong += out[k] != k;
    }
    CHECK_MSG(wrong == 0, "%zu nodes with wrong ancestors", wrong);
    CHECK(total == (size_t)DEPTH * (DEPTH - 1) / 2);
    size_t marked = 0; /* the marks are left as they were given: all false */
    for (size_t i = 0; i < DEPTH; i++)
        marked += mark[i];
    CHECK(marked == 0);
    free(out), free(mark);
    taxonomy_free(&t);
}

int main(void)
{
    hftc_set_log(NULL, HFTC_LOG_WARN, NULL);
    RUN_TEST(test_chain_ancestors);
    TEST_MAIN_END();
}
