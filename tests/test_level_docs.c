/* Which documents a level network trains and is validated on (train/level_docs.c), on a hand-made taxonomy and
 * documents: --level-docs all takes every document; reach (the HFT-CNN authors' build_problem) level k's those
 * with a category at level k or k - 1; a single-label head's, those with one label among its outputs, two
 * being an error naming the document; a flat part every document. */
#include "train/level_docs.h"

#include "test.h"

/* Root > A, B; A > A1, A2; A1 > A11 > A111: levels 1 to 4. */
static const char *const edges[][2] = {{NULL, "A"}, {NULL, "B"},   {"A", "A1"},
                                       {"A", "A2"}, {"A1", "A11"}, {"A11", "A111"}};

/* The documents' labels, completed with their ancestors (the levels they reach: 1, 1, 2, 3, 2, 4, 2). */
static const char *const docs[] = {"B", "A", "A A1", "A A1 A11", "A A2", "A A1 A11 A111", "A B A2"};
#define N_DOCS (sizeof docs / sizeof *docs)

static uint32_t id(const taxonomy *t, const char *name) { return (uint32_t)strmap_find(&t->names, name, strlen(name)); }

static void build(taxonomy *t, dataset *ds, size_t *label_start, uint32_t *labels)
{
    taxonomy_init(t);
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        CHECK_STATUS(taxonomy_add_edge(t, edges[i][0], edges[i][1]), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_finalize(t), HFTC_STATUS_OK);
    size_t n = 0;
    for (size_t d = 0; d < N_DOCS; d++) {
        label_start[d] = n;
        char copy[64];
        snprintf(copy, sizeof copy, "%s", docs[d]);
        for (char *name = strtok(copy, " "); name; name = strtok(NULL, " "))
            labels[n++] = id(t, name);
    }
    label_start[N_DOCS] = n;
    *ds = (dataset){.n_docs = N_DOCS, .label_start = label_start, .labels = labels};
}

/* The split of every document of ds, in order, its indices in idx (N_DOCS). */
static split every_doc(const dataset *ds, size_t *idx)
{
    for (size_t d = 0; d < N_DOCS; d++)
        idx[d] = d;
    return (split){ds, idx, N_DOCS, NULL};
}

/* The part of level whose outputs are the named labels (space-separated). */
static model_part part_of(const taxonomy *t, size_t level, const char *outputs, uint32_t *nodes)
{
    model_part p = {.level = level, .nodes = nodes};
    snprintf(p.name, sizeof p.name, level ? "level%zu" : "flat", level);
    char copy[64];
    snprintf(copy, sizeof copy, "%s", outputs);
    for (char *name = strtok(copy, " "); name; name = strtok(NULL, " "))
        nodes[p.n_outputs++] = id(t, name);
    return p;
}

/* The documents chosen, as their indices: "2 3 5". */
static void chosen(level_docs_kind kind, bool single, const taxonomy *t, const model_part *part, const split *in,
                   const char *expected)
{
    split out;
    CHECK_STATUS(level_docs_split(kind, single, t, part, in, "training", &out), HFTC_STATUS_OK);
    char got[64] = "";
    for (size_t i = 0; out.idx && i < out.n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", i ? " " : "", out.idx[i]);
    CHECK_MSG(!strcmp(got, expected) && out.ds == in->ds, "%s, %s%s: got \"%s\", expected \"%s\"", part->name,
              kind == LEVEL_DOCS_REACH ? "reach" : "all", single ? ", single-label" : "", got, expected);
    free(out.idx);
}

static void test_level_docs(void)
{
    taxonomy t;
    dataset ds;
    size_t label_start[N_DOCS + 1];
    uint32_t labels[32], nodes[4][4];
    build(&t, &ds, label_start, labels);
    size_t all_idx[N_DOCS];
    split in = every_doc(&ds, all_idx);
    model_part level1 = part_of(&t, 1, "A B", nodes[0]), level2 = part_of(&t, 2, "A1 A2", nodes[1]);
    model_part level3 = part_of(&t, 3, "A11", nodes[2]), level4 = part_of(&t, 4, "A111", nodes[3]);
    model_part flat = part_of(&t, 0, "A B A1", nodes[0]);
    /* all: every document at every level */
    chosen(LEVEL_DOCS_ALL, false, &t, &level4, &in, "0 1 2 3 4 5 6");
    /* reach: levels 1 and 2 every document (each has a level-1 category); level 3 those reaching level 2,
     * level 4 those reaching level 3 */
    chosen(LEVEL_DOCS_REACH, false, &t, &level1, &in, "0 1 2 3 4 5 6");
    chosen(LEVEL_DOCS_REACH, false, &t, &level2, &in, "0 1 2 3 4 5 6");
    chosen(LEVEL_DOCS_REACH, false, &t, &level3, &in, "2 3 4 5 6");
    chosen(LEVEL_DOCS_REACH, false, &t, &level4, &in, "3 5");
    chosen(LEVEL_DOCS_REACH, false, &t, &flat, &in, "0 1 2 3 4 5 6");
    /* a split's own documents, in its order */
    size_t some[] = {5, 0, 4, 3};
    split part = {&ds, some, 4, NULL};
    chosen(LEVEL_DOCS_REACH, false, &t, &level4, &part, "5 3");
    chosen(LEVEL_DOCS_REACH, false, &t, &level3, &part, "5 4 3");
    /* single-label heads: one label among the outputs, whatever the choice */
    for (int k = 0; k < 2; k++) {
        chosen((level_docs_kind)k, true, &t, &level2, &in, "2 3 4 5 6");
        chosen((level_docs_kind)k, true, &t, &level3, &in, "3 5");
    }
    split out;
    CHECK_STATUS(level_docs_split(LEVEL_DOCS_ALL, true, &t, &level1, &in, "validation", &out),
                 HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_MSG(out.idx == NULL && strstr(hftc_last_error(), "validation document 7 has two labels in level1 (A, B)"),
              "%s", hftc_last_error());
    taxonomy_free(&t);
}

/* A parent part (of_node: its outputs one node's children) takes its node's documents (the top level's part every
 * document); a single-label head's, of those, the ones with one label among its outputs. */
static void test_parent_docs(void)
{
    taxonomy t;
    dataset ds;
    size_t label_start[N_DOCS + 1];
    uint32_t labels[32], nodes[3][4];
    build(&t, &ds, label_start, labels);
    size_t all_idx[N_DOCS];
    split in = every_doc(&ds, all_idx);
    model_part top = part_of(&t, 1, "A B", nodes[0]), of_a = part_of(&t, 2, "A1 A2", nodes[1]);
    model_part of_a1 = part_of(&t, 3, "A11", nodes[2]);
    top.of_node = of_a.of_node = of_a1.of_node = true;
    chosen(LEVEL_DOCS_ALL, false, &t, &top, &in, "0 1 2 3 4 5 6");
    chosen(LEVEL_DOCS_ALL, false, &t, &of_a, &in, "1 2 3 4 5 6");
    chosen(LEVEL_DOCS_ALL, false, &t, &of_a1, &in, "2 3 5");
    chosen(LEVEL_DOCS_ALL, true, &t, &of_a, &in, "2 3 4 5 6");
    chosen(LEVEL_DOCS_ALL, true, &t, &of_a1, &in, "3 5");
    /* the same outputs as a level's: every document */
    of_a1.of_node = false;
    chosen(LEVEL_DOCS_ALL, false, &t, &of_a1, &in, "0 1 2 3 4 5 6");
    taxonomy_free(&t);
}

/* A heap copy of n document indices, as the splits own theirs. */
static size_t *indices(const size_t *idx, size_t n)
{
    size_t *copy = malloc(n * sizeof *copy);
    memcpy(copy, idx, n * sizeof *copy);
    return copy;
}

// A part whose validation documents have none of its labels takes a seeded fraction of its training documents with
// one (at least one) and of the others as its validation split; a split with a positive, or training documents
// with fewer than two, are left as they are.
static void test_hold_out(void)
{
    taxonomy t;
    dataset ds;
    size_t label_start[N_DOCS + 1];
    uint32_t labels[32], nodes[2][4];
    build(&t, &ds, label_start, labels);
    model_part level2 = part_of(&t, 2, "A1 A2", nodes[0]), level4 = part_of(&t, 4, "A111", nodes[1]);
    static const size_t all[] = {0, 1, 2, 3, 4, 5, 6}, none_of_level2[] = {0, 1}, one_of_level2[] = {1, 2};
    size_t held = 99, first[N_DOCS];
    for (int run = 0; run < 2; run++) { /* the same documents move each time */
        split tr = {&ds, indices(all, N_DOCS), N_DOCS, NULL}, va = {&ds, indices(none_of_level2, 2), 2, NULL};
        CHECK_STATUS(level_docs_hold_out(&t, &level2, 0.5f, 7, &tr, &va, &held), HFTC_STATUS_OK);
        /* 5 training documents have A1 or A2 (2 move), 2 have neither (1 moves) */
        CHECK_MSG(held == 3 && va.n == 3 && tr.n == 4 && va.ds == tr.ds, "held %zu, valid %zu, train %zu", held, va.n,
                  tr.n);
        size_t positives = 0;
        for (size_t i = 0; i < va.n; i++) {
            positives += va.idx[i] >= 2;
            CHECK(i == 0 || va.idx[i] > va.idx[i - 1]);
            for (size_t j = 0; j < tr.n; j++)
                CHECK(tr.idx[j] != va.idx[i]);
            if (run == 0)
                first[i] = va.idx[i];
            else
                CHECK(va.idx[i] == first[i]);
        }
        CHECK(positives == 2);
        free(tr.idx), free(va.idx);
    }
    split tr = {&ds, indices(all, N_DOCS), N_DOCS, NULL}, va = {&ds, indices(one_of_level2, 2), 2, NULL};
    CHECK_STATUS(level_docs_hold_out(&t, &level2, 0.5f, 7, &tr, &va, &held), HFTC_STATUS_OK);
    CHECK(held == 0 && tr.n == N_DOCS && va.n == 2 && va.idx[1] == 2);
    free(va.idx);
    va = (split){&ds, indices(none_of_level2, 2), 2, NULL}; /* only document 5 has A111: none to spare */
    CHECK_STATUS(level_docs_hold_out(&t, &level4, 0.5f, 7, &tr, &va, &held), HFTC_STATUS_OK);
    CHECK(held == 0 && tr.n == N_DOCS && va.n == 2);
    free(tr.idx), free(va.idx);
    taxonomy_free(&t);
}

int main(void)
{
    RUN_TEST(test_level_docs);
    RUN_TEST(test_parent_docs);
    RUN_TEST(test_hold_out);
    TEST_MAIN_END();
}
