/* Tests for the taxonomy module: a table of malformed inputs in both formats (status, file, line and
 * message, cycles included), the same tree in both formats and by auto-detection (CRLF, BOM, names
 * with spaces and non-ASCII letters), single-name lines, a DAG (shortest-distance levels, order, sorted
 * lists, ancestors), the edge API, ancestor completion of a dataset (unknown labels, add_unknown, a
 * label with two parents), and a generated 20,000-node tree of 9 levels loaded in both formats. Every
 * taxonomy loaded is also checked against the invariants of a finalised taxonomy. */
#include "data/taxonomy.h"

#include "test.h"
#include "tmpfiles.h"

#include <time.h>

#define PC TAXONOMY_FORMAT_PARENT_CHILDREN
#define TREE TAXONOMY_FORMAT_TREE
#define AUTO TAXONOMY_FORMAT_AUTO

static uint32_t id_of(const taxonomy *t, const char *name)
{
    size_t id = strmap_find(&t->names, name, strlen(name));
    return id == STRMAP_NONE ? TAXONOMY_ROOT - 1 : (uint32_t)id;
}

static const char *name_of(const taxonomy *t, uint32_t id)
{
    return id == TAXONOMY_ROOT ? "Root" : strmap_string(&t->names, id);
}

// Names of ids[0..n) joined by commas (one static buffer per call site is enough for these tests).
static const char *join(const taxonomy *t, const uint32_t *ids, size_t n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", name_of(t, ids[i]));
    return buf;
}

static const char *parents_of(const taxonomy *t, const char *name)
{
    static char buf[512];
    uint32_t c = id_of(t, name);
    if (c >= t->n_nodes)
        return "(no such node)";
    return join(t, t->parents + t->parent_start[c], t->parent_start[c + 1] - t->parent_start[c], buf, sizeof buf);
}

static const char *children_of(const taxonomy *t, const char *name)
{
    static char buf[512];
    uint32_t p = id_of(t, name);
    if (p >= t->n_nodes)
        return "(no such node)";
    return join(t, t->children + t->child_start[p], t->child_start[p + 1] - t->child_start[p], buf, sizeof buf);
}

static size_t level_of(const taxonomy *t, const char *name)
{
    uint32_t c = id_of(t, name);
    return c < t->n_nodes ? t->level[c] : 0;
}

static bool list_contains(const uint32_t *ids, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == x)
            return true;
    return false;
}

/* What every finalised taxonomy satisfies: lists sorted by id, children and parents mirror each other,
 * a node's level is 1 under the root, else 1 + its parents' smallest level, order has every node once
 * and after all its parents, top lists the nodes under the root, is_tree means one parent each. */
static void check_invariants(const taxonomy *t)
{
    size_t n = t->n_nodes, n_child_entries = 0, max_level = 0, n_top = 0;
    bool one_parent_each = true, ok = true;
    for (uint32_t c = 0; c < n; c++) {
        const uint32_t *ps = t->parents + t->parent_start[c];
        size_t np = t->parent_start[c + 1] - t->parent_start[c], min_level = SIZE_MAX;
        ok = ok && np >= 1;
        one_parent_each = one_parent_each && np == 1;
        for (size_t j = 0; j < np; j++) {
            ok = ok && (j == 0 || ps[j - 1] < ps[j]);
            if (ps[j] == TAXONOMY_ROOT) {
                min_level = 0;
                ok = ok && list_contains(t->top, t->n_top, c);
                n_top++;
            } else {
                ok = ok && list_contains(t->children + t->child_start[ps[j]],
                                         t->child_start[ps[j] + 1] - t->child_start[ps[j]], c);
                if (t->level[ps[j]] < min_level)
                    min_level = t->level[ps[j]];
            }
        }
        ok = ok && t->level[c] == min_level + 1;
        max_level = t->level[c] > max_level ? t->level[c] : max_level;
        for (size_t j = t->child_start[c]; j < t->child_start[c + 1]; j++) {
            ok = ok && (j == t->child_start[c] || t->children[j - 1] < t->children[j]);
            n_child_entries++;
        }
    }
    CHECK_MSG(ok, "lists, levels or top inconsistent");
    CHECK(n_child_entries + n_top == (n ? t->parent_start[n] : 0));
    CHECK(n_top == t->n_top);
    CHECK(t->depth == max_level);
    CHECK(t->is_tree == one_parent_each);
    size_t *position = malloc((n ? n : 1) * sizeof *position);
    for (size_t c = 0; c < n; c++)
        position[c] = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        position[t->order[i]] = i;
    bool parents_first = true;
    for (uint32_t c = 0; c < n; c++)
        for (size_t j = t->parent_start[c]; j < t->parent_start[c + 1]; j++)
            parents_first = parents_first && position[c] != SIZE_MAX &&
                            (t->parents[j] == TAXONOMY_ROOT || position[t->parents[j]] < position[c]);
    CHECK_MSG(parents_first, "order is not a permutation with parents before children");
    free(position);
}

/* The same nodes (by name) with the same parents (by name) in a and b. */
static bool same_edges(const taxonomy *a, const taxonomy *b)
{
    if (a->n_nodes != b->n_nodes)
        return false;
    for (uint32_t c = 0; c < a->n_nodes; c++) {
        uint32_t cb = id_of(b, name_of(a, c));
        if (cb >= b->n_nodes)
            return false;
        size_t na = a->parent_start[c + 1] - a->parent_start[c], nb = b->parent_start[cb + 1] - b->parent_start[cb];
        if (na != nb)
            return false;
        for (size_t j = a->parent_start[c]; j < a->parent_start[c + 1]; j++) {
            uint32_t p = a->parents[j], pb = p == TAXONOMY_ROOT ? TAXONOMY_ROOT : id_of(b, name_of(a, p));
            if (!list_contains(b->parents + b->parent_start[cb], nb, pb))
                return false;
        }
    }
    return true;
}

typedef struct {
    taxonomy_format format;
    const char *name;
    const char *content;
    size_t len; // 0: strlen(content)
    hftc_status status;
    size_t line;         // the message starts "name:line: ", or "name: " for 0
    const char *message; // expected part of the message
} bad_case;

static const bad_case bad_cases[] = {
    // parent-children
    {PC, "dup.tsv", "Root\tA\tB\nA\tC\nA\tC\n", 0, HFTC_STATUS_FORMAT, 3, "duplicate edge A -> C (first on line 2)"},
    {PC, "dup.tsv", "Root\tA\nA\tB\tC\tB\n", 0, HFTC_STATUS_FORMAT, 2, "duplicate edge A -> B (first on line 2)"},
    {AUTO, "dup.tsv", "Root\tA\tB\n\nRoot\tA\n", 0, HFTC_STATUS_FORMAT, 3,
     "duplicate edge Root -> A (first on line 1)"},
    {PC, "empty.tsv", "Root\tA\nA\t\tB\n", 0, HFTC_STATUS_FORMAT, 2, "empty name in field 2"},
    {PC, "empty.tsv", "Root\tA\nA\tB\t\n", 0, HFTC_STATUS_FORMAT, 2, "empty name in field 3"},
    {PC, "empty.tsv", "Root\tA\n \tB\n", 0, HFTC_STATUS_FORMAT, 2, "empty name in field 1"},
    {AUTO, "empty.tsv", "Root\tA\r\nA\t  \r\n", 0, HFTC_STATUS_FORMAT, 2, "empty name in field 2"},
    {PC, "root.tsv", "Root\tA\nA\tB\tRoot\n", 0, HFTC_STATUS_FORMAT, 2, "\"Root\" cannot be a child (field 3)"},
    {AUTO, "mixed.tsv", "Root\tA\nA<B\n", 0, HFTC_STATUS_FORMAT, 2, "a .tree line (with '<' and no tab)"},
    {AUTO, "utf8.tsv", "Root\tA\nA\tB \xc0\xaf\n", 0, HFTC_STATUS_FORMAT, 2, "invalid UTF-8 at byte 5"},
    {AUTO, "utf8.tsv", "\xef\xbb\xbfRoot\t\xff\n", 0, HFTC_STATUS_FORMAT, 1, "invalid UTF-8 at byte 9"},
    {PC, "nul.tsv", "Root\tA\0B\n", 9, HFTC_STATUS_FORMAT, 1, "NUL byte at byte 7"},
    // .tree
    {TREE, "t.tree", "A<A@B\nA<<C\n", 0, HFTC_STATUS_FORMAT, 2, "empty name in element 2"},
    {TREE, "t.tree", "A<\n", 0, HFTC_STATUS_FORMAT, 1, "empty name in element 2"},
    {AUTO, "t.tree", "A\n < A\n", 0, HFTC_STATUS_FORMAT, 2, "empty name in element 1"},
    {TREE, "t.tree", "A<B\tC\n", 0, HFTC_STATUS_FORMAT, 1, "tab in a .tree line"},
    {AUTO, "t.tree", "X\nA<B\nC\tD\n", 0, HFTC_STATUS_FORMAT, 3, "tab in a .tree line"},
    {TREE, "t.tree", "A<Root\n", 0, HFTC_STATUS_FORMAT, 1, "\"Root\" (element 2) is the name of the root"},
    // cycles: no line, the path from the smallest id
    {PC, "cyc.tsv", "Root\tA\nA\tA\n", 0, HFTC_STATUS_FORMAT, 0, "cycle: A -> A"},
    {PC, "cyc.tsv", "Root\tA\nA\tB\nB\tC\nC\tA\n", 0, HFTC_STATUS_FORMAT, 0, "cycle: A -> B -> C -> A"},
    {PC, "cyc.tsv", "Root\tA\nX\tY\nY\tZ\nZ\tX\n", 0, HFTC_STATUS_FORMAT, 0, "cycle: X -> Y -> Z -> X"},
    {PC, "cyc.tsv", "M\nA\tB\nB\tA\nB\tM\n", 0, HFTC_STATUS_FORMAT, 0,
     "cycle: A -> B -> A (1 more node on or below a cycle)"},
    {AUTO, "cyc.tree", "A<B<A\n", 0, HFTC_STATUS_FORMAT, 0, "cycle: A -> B -> A"},
    // nothing in it
    {AUTO, "none.tsv", "", 0, HFTC_STATUS_FORMAT, 0, "no taxonomy nodes"},
    {AUTO, "none.tsv", "\n \t \r\n", 0, HFTC_STATUS_FORMAT, 0, "no taxonomy nodes"},
    {PC, "none.tsv", "Root\n", 0, HFTC_STATUS_FORMAT, 0, "no taxonomy nodes"},
};

static void test_bad_inputs(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *c = &bad_cases[i];
        const char *path = tmpfiles_write(c->name, c->content, c->len ? c->len : strlen(c->content));
        taxonomy t;
        hftc_status st = taxonomy_load(&t, path, c->format);
        CHECK_MSG(st == c->status, "case %zu: status %d (%s)", i, (int)st, hftc_last_error());
        char prefix[512];
        if (c->line)
            snprintf(prefix, sizeof prefix, "%s:%zu: ", path, c->line);
        else
            snprintf(prefix, sizeof prefix, "%s: ", path);
        const char *msg = hftc_last_error();
        CHECK_MSG(strncmp(msg, prefix, strlen(prefix)) == 0 && strstr(msg, c->message), "case %zu: \"%s\"", i, msg);
        CHECK(t.n_nodes == 0 && t.parent_start == NULL); // left empty
        taxonomy_free(&t);
    }
    taxonomy t;
    CHECK_STATUS(taxonomy_load(&t, "/nonexistent/taxonomy.tsv", AUTO), HFTC_STATUS_IO);
    CHECK(strstr(hftc_last_error(), "cannot open /nonexistent/taxonomy.tsv") != NULL);
}

/* One tree, written as parent-children (BOM, CRLF, a blank line, spaces around names, no final newline)
 * and as .tree (single-name lines first, as in Amazon_all.tree, so auto-detection has to wait). */
static const char tree_pc[] = "\xef\xbb\xbfRoot\tcomp\tMedical Science \tsci\r\n"
                              "comp\tcomp.graphics\tcomp.sys\r\n"
                              "\r\n"
                              "comp.sys\t  comp.sys.mac.hardware\tcomp.sys.ibm.pc.hardware\r\n"
                              "Medical Science\tAlzheimer's Disease\tCaf\xc3\xa9 \xe2\x98\x95\r\n"
                              "sci\tsci.crypt";
static const char tree_tree[] = "comp\n"
                                "Medical Science\n"
                                "sci\n"
                                "comp<comp.graphics\n"
                                "comp<comp.sys\n"
                                "comp<comp.sys<comp.sys.mac.hardware\n"
                                "comp <comp.sys< comp.sys.ibm.pc.hardware \n"
                                "\n"
                                "Medical Science<Alzheimer's Disease\n"
                                "Medical Science<Caf\xc3\xa9 \xe2\x98\x95\n"
                                "sci<sci.crypt\n";

static void check_small_tree(const taxonomy *t)
{
    CHECK(t->n_nodes == 10);
    CHECK(t->depth == 3 && t->is_tree);
    CHECK(t->n_top == 3);
    CHECK(strcmp(parents_of(t, "comp"), "Root") == 0);
    CHECK(strcmp(parents_of(t, "comp.sys.ibm.pc.hardware"), "comp.sys") == 0);
    CHECK(strcmp(parents_of(t, "Caf\xc3\xa9 \xe2\x98\x95"), "Medical Science") == 0);
    CHECK(strcmp(children_of(t, "Medical Science"), "Alzheimer's Disease,Caf\xc3\xa9 \xe2\x98\x95") == 0);
    CHECK(strcmp(children_of(t, "comp.sys"), "comp.sys.mac.hardware,comp.sys.ibm.pc.hardware") == 0);
    CHECK(strcmp(children_of(t, "sci.crypt"), "") == 0);
    CHECK(level_of(t, "sci") == 1 && level_of(t, "comp.graphics") == 2 && level_of(t, "comp.sys.mac.hardware") == 3);
    CHECK(id_of(t, "Medical Science ") == TAXONOMY_ROOT - 1); // trimmed
    CHECK(id_of(t, "Root") == TAXONOMY_ROOT - 1);             // never a node
    check_invariants(t);
}

static void test_formats(void)
{
    const char *pc_path = tmpfiles_write_text("small.tsv", tree_pc);
    const char *tree_path = tmpfiles_write_text("small.tree", tree_tree);
    taxonomy pc, tr, t;
    CHECK_STATUS(taxonomy_load(&pc, pc_path, PC), HFTC_STATUS_OK);
    check_small_tree(&pc);
    CHECK(strcmp(name_of(&pc, 0), "comp") == 0 && strcmp(name_of(&pc, 3), "comp.graphics") == 0); // file order
    CHECK_STATUS(taxonomy_load(&tr, tree_path, TREE), HFTC_STATUS_OK);
    check_small_tree(&tr);
    CHECK(same_edges(&pc, &tr));
    // Auto-detection gives the same result for both.
    CHECK_STATUS(taxonomy_load(&t, pc_path, AUTO), HFTC_STATUS_OK);
    CHECK(same_edges(&pc, &t));
    taxonomy_free(&t);
    CHECK_STATUS(taxonomy_load(&t, tree_path, AUTO), HFTC_STATUS_OK);
    CHECK(same_edges(&pc, &t));
    taxonomy_free(&t);
    // Read in the wrong format, the .tree file is single names: the '<' is part of the name.
    CHECK_STATUS(taxonomy_load(&t, tree_path, PC), HFTC_STATUS_OK);
    CHECK(t.n_nodes == 10 && t.depth == 1 && id_of(&t, "comp<comp.sys") < t.n_nodes);
    taxonomy_free(&t);
    // An edge in .tree form under a parent that is also top level: a DAG node at level 1.
    const char *dag = tmpfiles_write_text("dag.tree", "A\nB\nA<B<C\n");
    CHECK_STATUS(taxonomy_load(&t, dag, AUTO), HFTC_STATUS_OK);
    CHECK(!t.is_tree && strcmp(parents_of(&t, "B"), "A,Root") == 0 && level_of(&t, "B") == 1 && level_of(&t, "C") == 2);
    check_invariants(&t);
    taxonomy_free(&t);
    taxonomy_free(&pc);
    taxonomy_free(&tr);

    taxonomy_format f;
    CHECK(taxonomy_format_parse("tree", &f) && f == TREE);
    CHECK(taxonomy_format_parse("parent-children", &f) && f == PC);
    CHECK(taxonomy_format_parse("auto", &f) && f == AUTO);
    CHECK(!taxonomy_format_parse("Tree", &f));
    CHECK(strcmp(taxonomy_format_name(PC), "parent-children") == 0);
}

/* A parent-children line without a tab declares a node: fine when the node has edges elsewhere or the
 * whole file is a flat list, warned about when it stands alone among edges (a missing tab, most likely). */
static void test_single_name_lines(void)
{
    const char *path = tmpfiles_write_text("single.tsv", "Root\tA\nA\tB\nB\nC D E\nRoot\n");
    taxonomy t;
    test_warnings = 0;
    hftc_set_log(test_capture_warnings, HFTC_LOG_WARN, NULL);
    CHECK_STATUS(taxonomy_load(&t, path, AUTO), HFTC_STATUS_OK);
    CHECK(t.n_nodes == 3 && t.depth == 2 && t.is_tree);
    CHECK(level_of(&t, "C D E") == 1 && strcmp(parents_of(&t, "C D E"), "Root") == 0);
    CHECK(test_warnings == 1);
    char expected[512];
    snprintf(expected, sizeof expected, "%s:4: \"C D E\" has no parent and no children (1 such line)", path);
    CHECK_MSG(strstr(test_warning, expected) == test_warning, "%s", test_warning);
    check_invariants(&t);
    taxonomy_free(&t);
    // A node declared before it appears as a child is not top level.
    path = tmpfiles_write_text("declared.tsv", "B\nRoot\tA\nA\tB\n");
    test_warnings = 0;
    CHECK_STATUS(taxonomy_load(&t, path, PC), HFTC_STATUS_OK);
    CHECK(t.n_top == 1 && level_of(&t, "B") == 2 && test_warnings == 0);
    taxonomy_free(&t);
    // A flat list: every name is a top-level node in both readings, no warning when auto-detected.
    path = tmpfiles_write_text("flat.txt", "alpha\nbeta gamma\n");
    CHECK_STATUS(taxonomy_load(&t, path, AUTO), HFTC_STATUS_OK);
    CHECK(t.n_nodes == 2 && t.n_top == 2 && t.depth == 1 && t.is_tree && test_warnings == 0);
    taxonomy_free(&t);
    CHECK_STATUS(taxonomy_load(&t, path, TREE), HFTC_STATUS_OK);
    CHECK(t.n_nodes == 2 && t.n_top == 2 && test_warnings == 0);
    taxonomy_free(&t);
    hftc_set_log(NULL, HFTC_LOG_WARN, NULL);
}

/* Lines in an order that makes ids differ from levels:
 *   Root > A, B, E;  A > C, D;  B > D;  D > E, F;  C > X > Y > F
 * E is under the root and under D (level 1); F is at distance 3 through D and 5 through Y. */
static const char dag_pc[] = "D\tE\tF\n"
                             "Root\tA\tB\tE\n"
                             "A\tC\tD\n"
                             "B\tD\n"
                             "C\tX\n"
                             "X\tY\n"
                             "Y\tF\n";

static void test_dag(void)
{
    const char *path = tmpfiles_write_text("dag.tsv", dag_pc);
    taxonomy t;
    CHECK_STATUS(taxonomy_load(&t, path, AUTO), HFTC_STATUS_OK);
    check_invariants(&t);
    CHECK(t.n_nodes == 8 && !t.is_tree && t.depth == 4);
    static const struct {
        const char *name, *parents;
        size_t level;
    } expected[] = {{"A", "Root", 1}, {"B", "Root", 1}, {"E", "D,Root", 1}, {"C", "A", 2},
                    {"D", "A,B", 2},  {"F", "D,Y", 3},  {"X", "C", 3},      {"Y", "X", 4}};
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
        CHECK_MSG(level_of(&t, expected[i].name) == expected[i].level, "%s", expected[i].name);
        CHECK_MSG(strcmp(parents_of(&t, expected[i].name), expected[i].parents) == 0, "%s: %s", expected[i].name,
                  parents_of(&t, expected[i].name));
    }
    CHECK(strcmp(children_of(&t, "D"), "E,F") == 0);
    char buf[256];
    /* by (longest distance from the root, id): E is level 1 but below D, F comes after Y */
    CHECK_MSG(strcmp(join(&t, t.order, t.n_nodes, buf, sizeof buf), "A,B,D,C,E,X,Y,F") == 0, "%s", buf);
    CHECK(strcmp(join(&t, t.top, t.n_top, buf, sizeof buf), "E,A,B") == 0);
    uint32_t anc[8];
    bool mark[8] = {false};
    size_t n = taxonomy_ancestors(&t, id_of(&t, "F"), anc, mark);
    CHECK_MSG(strcmp(join(&t, anc, n, buf, sizeof buf), "D,A,B,C,X,Y") == 0, "%s", buf);
    n = taxonomy_ancestors(&t, id_of(&t, "E"), anc, mark);
    CHECK(strcmp(join(&t, anc, n, buf, sizeof buf), "D,A,B") == 0);
    CHECK(taxonomy_ancestors(&t, id_of(&t, "A"), anc, mark) == 0);
    CHECK(memchr(mark, true, sizeof mark) == NULL); /* left all false */
    taxonomy_free(&t);
}

static void test_add_edge(void)
{
    taxonomy t;
    taxonomy_init(&t);
    CHECK_STATUS(taxonomy_add_edge(&t, NULL, "A"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(&t, "A", "B"), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(&t, "Root", "A"), HFTC_STATUS_FORMAT); // "Root" is the root
    CHECK(strcmp(hftc_last_error(), "duplicate edge Root -> A") == 0);
    CHECK_STATUS(taxonomy_add_edge(&t, "A", "B"), HFTC_STATUS_FORMAT);
    CHECK(strcmp(hftc_last_error(), "duplicate edge A -> B") == 0);
    CHECK_STATUS(taxonomy_add_edge(&t, "B", "Root"), HFTC_STATUS_FORMAT);
    CHECK_STATUS(taxonomy_add_edge(&t, NULL, ""), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(taxonomy_add_edge(&t, "", "C"), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(taxonomy_add_edge(&t, "A", "\xff"), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK(t.n_nodes == 2 && t.n_edges == 2);
    CHECK_STATUS(taxonomy_finalize(&t), HFTC_STATUS_OK);
    CHECK(t.depth == 2 && t.is_tree && level_of(&t, "B") == 2);
    // Adding an edge drops the finalised arrays until the next finalize; a cycle is then reported.
    CHECK_STATUS(taxonomy_add_edge(&t, "B", "A"), HFTC_STATUS_OK);
    CHECK(t.parent_start == NULL && t.order == NULL);
    CHECK_STATUS(taxonomy_finalize(&t), HFTC_STATUS_FORMAT);
    CHECK(strcmp(hftc_last_error(), "cycle: A -> B -> A") == 0);
    taxonomy_free(&t);
    // Many edges: the edge set grows and still finds every duplicate.
    taxonomy_init(&t);
    char parent[32], child[32];
    bool ok = true;
    for (size_t i = 0; i < 3000; i++) {
        snprintf(parent, sizeof parent, "p%zu", i / 10);
        snprintf(child, sizeof child, "c%zu", i);
        ok = ok && taxonomy_add_edge(&t, i < 10 ? NULL : parent, child) == HFTC_STATUS_OK;
    }
    CHECK(ok);
    for (size_t i = 0; i < 3000; i += 7) {
        snprintf(parent, sizeof parent, "p%zu", i / 10);
        snprintf(child, sizeof child, "c%zu", i);
        ok = ok && taxonomy_add_edge(&t, i < 10 ? NULL : parent, child) == HFTC_STATUS_FORMAT;
    }
    CHECK(ok && t.n_edges == 3000);
    taxonomy_free(&t);
}

typedef struct {
    dataset ds;
    vocab v;
} data;

static hftc_status read_data(data *d, const char *path, taxonomy *t)
{
    dataset_options opt = {.format = DATA_FORMAT_TSV, .labels_required = true};
    if (vocab_init(&d->v) != HFTC_STATUS_OK)
        exit(1);
    return dataset_read(&d->ds, path, &opt, &d->v, true, &t->names);
}

static void free_data(data *d)
{
    dataset_free(&d->ds);
    vocab_free(&d->v);
}

static const char *doc_labels(const taxonomy *t, const dataset *ds, size_t d)
{
    static char buf[512];
    return join(t, ds->labels + ds->label_start[d], ds->label_start[d + 1] - ds->label_start[d], buf, sizeof buf);
}

/* Root > A > B > C;  Root > D;  E, F > G (G has two parents). */
static const char complete_pc[] = "Root\tA\tD\tE\tF\n"
                                  "A\tB\n"
                                  "B\tC\n"
                                  "E\tG\n"
                                  "F\tG\n";

static void test_complete_dataset(void)
{
    const char *tax_path = tmpfiles_write_text("complete.tsv", complete_pc);
    taxonomy t;
    CHECK_STATUS(taxonomy_load(&t, tax_path, AUTO), HFTC_STATUS_OK);
    const char *path = tmpfiles_write_text("docs.tsv", "C\tfirst doc\n\nG,D\tsecond doc\nB, A,B\tthird doc\n");
    data d;
    CHECK_STATUS(read_data(&d, path, &t), HFTC_STATUS_OK);
    size_t n_added = 99;
    CHECK_STATUS(taxonomy_complete_dataset(&t, &d.ds, path, TAXONOMY_UNKNOWN_ERROR, &n_added), HFTC_STATUS_OK);
    CHECK(n_added == 0 && d.ds.n_docs == 3);
    CHECK(strcmp(doc_labels(&t, &d.ds, 0), "A,B,C") == 0);
    CHECK_MSG(strcmp(doc_labels(&t, &d.ds, 1), "D,E,F,G") == 0, "%s", doc_labels(&t, &d.ds, 1)); // both chains
    CHECK(strcmp(doc_labels(&t, &d.ds, 2), "A,B") == 0);
    CHECK(d.ds.label_start[0] == 0 && d.ds.label_start[1] == 3 && d.ds.label_start[2] == 7 && d.ds.label_start[3] == 9);
    // Completing again changes nothing.
    CHECK_STATUS(taxonomy_complete_dataset(&t, &d.ds, path, TAXONOMY_UNKNOWN_ERROR, NULL), HFTC_STATUS_OK);
    CHECK(d.ds.label_start[3] == 9);
    free_data(&d);

    // An unknown label: an error naming the file, the document's line and the label; ds is unchanged.
    path = tmpfiles_write_text("unknown.tsv", "C\tx\n\nZ,A\ty\n");
    CHECK_STATUS(read_data(&d, path, &t), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_complete_dataset(&t, &d.ds, path, TAXONOMY_UNKNOWN_ERROR, &n_added), HFTC_STATUS_FORMAT);
    char expected[512];
    snprintf(expected, sizeof expected, "%s:3: label \"Z\" is not in the taxonomy", path);
    CHECK_MSG(strcmp(hftc_last_error(), expected) == 0, "%s", hftc_last_error());
    CHECK(d.ds.label_start[2] == 3 && t.n_nodes == 7);
    // Kept (evaluation data): the known labels are completed, the unknown one stays, no node is added.
    data kept;
    CHECK_STATUS(read_data(&kept, path, &t), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_complete_dataset(&t, &kept.ds, path, TAXONOMY_UNKNOWN_KEEP, &n_added), HFTC_STATUS_OK);
    CHECK(n_added == 0 && t.n_nodes == 7);
    CHECK_MSG(strcmp(doc_labels(&t, &kept.ds, 0), "A,B,C") == 0, "%s", doc_labels(&t, &kept.ds, 0));
    CHECK_MSG(strcmp(doc_labels(&t, &kept.ds, 1), "A,Z") == 0, "%s", doc_labels(&t, &kept.ds, 1));
    free_data(&kept);
    // With add_unknown it becomes a top-level node and completion goes on.
    CHECK_STATUS(taxonomy_complete_dataset(&t, &d.ds, path, TAXONOMY_UNKNOWN_ADD, &n_added), HFTC_STATUS_OK);
    CHECK(n_added == 1 && t.n_nodes == 8);
    CHECK(level_of(&t, "Z") == 1 && strcmp(parents_of(&t, "Z"), "Root") == 0 && t.n_top == 5);
    check_invariants(&t);
    CHECK(strcmp(doc_labels(&t, &d.ds, 0), "A,B,C") == 0);
    CHECK(strcmp(doc_labels(&t, &d.ds, 1), "A,Z") == 0);
    free_data(&d);

    // Labels read but not yet added keep new names out of the taxonomy (ids stay dense).
    path = tmpfiles_write_text("later.tsv", "Q,R\tx\n");
    CHECK_STATUS(read_data(&d, path, &t), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_add_edge(&t, NULL, "New"), HFTC_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(taxonomy_add_edge(&t, "A", "Q"), HFTC_STATUS_OK); // the next id: it simply becomes a node
    CHECK_STATUS(taxonomy_complete_dataset(&t, &d.ds, path, TAXONOMY_UNKNOWN_ADD, &n_added), HFTC_STATUS_OK);
    CHECK(n_added == 1 && t.n_nodes == 10 && strcmp(doc_labels(&t, &d.ds, 0), "A,Q,R") == 0);
    free_data(&d);

    // "Root" as a label is never added as a node.
    path = tmpfiles_write_text("rootlabel.tsv", "A\tx\nRoot,B\ty\n");
    CHECK_STATUS(read_data(&d, path, &t), HFTC_STATUS_OK);
    CHECK_STATUS(taxonomy_complete_dataset(&t, &d.ds, path, TAXONOMY_UNKNOWN_ADD, &n_added), HFTC_STATUS_FORMAT);
    snprintf(expected, sizeof expected, "%s:2: label \"Root\" is the name of the taxonomy's root", path);
    CHECK_MSG(strcmp(hftc_last_error(), expected) == 0, "%s", hftc_last_error());
    free_data(&d);
    taxonomy_free(&t);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define BIG_LEVELS 9
static const size_t big_level_size[BIG_LEVELS] = {20, 100, 500, 1500, 3000, 5000, 5000, 3500, 1380};

// Appends s to the growable text buffer.
static void text_append(char **buf, size_t *used, size_t *cap, const char *s)
{
    size_t len = strlen(s);
    if (*used + len + 1 > *cap) {
        *cap = 2 * (*used + len + 1);
        *buf = realloc(*buf, *cap);
        if (!*buf)
            exit(1);
    }
    memcpy(*buf + *used, s, len + 1);
    *used += len;
}

/* 20,000 nodes on 9 levels (node k of level l > 1 under node k * 7 mod size of level l - 1), written in
 * both formats; .tree lines spell out each node's path, as Amazon_all.tree does. */
static void test_big_tree(void)
{
    size_t first[BIG_LEVELS + 1] = {0}, total = 0;
    for (size_t l = 0; l < BIG_LEVELS; l++)
        first[l + 1] = first[l] + big_level_size[l];
    total = first[BIG_LEVELS];
    size_t *parent = malloc(total * sizeof *parent);
    size_t *node_level = malloc(total * sizeof *node_level);
    if (!parent || !node_level)
        exit(1);
    for (size_t l = 0; l < BIG_LEVELS; l++)
        for (size_t k = 0; k < big_level_size[l]; k++) {
            parent[first[l] + k] = l ? first[l - 1] + k * 7 % big_level_size[l - 1] : SIZE_MAX;
            node_level[first[l] + k] = l + 1;
        }
    char *pc = NULL, *tree = NULL, name[64];
    size_t pc_used = 0, pc_cap = 0, tree_used = 0, tree_cap = 0;
    text_append(&pc, &pc_used, &pc_cap, "Root");
    for (size_t i = 0; i < total; i++) {
        if (parent[i] == SIZE_MAX) {
            snprintf(name, sizeof name, "\tnode %zu", i);
            text_append(&pc, &pc_used, &pc_cap, name);
        }
    }
    // Children of each node in CSR form, so each parent's line is written at once.
    size_t *child_start = calloc(total + 2, sizeof *child_start), *children = malloc(total * sizeof *children);
    if (!child_start || !children)
        exit(1);
    for (size_t i = 0; i < total; i++)
        if (parent[i] != SIZE_MAX)
            child_start[parent[i] + 2]++;
    for (size_t i = 0; i < total; i++)
        child_start[i + 2] += child_start[i + 1];
    for (size_t i = 0; i < total; i++)
        if (parent[i] != SIZE_MAX)
            children[child_start[parent[i] + 1]++] = i;
    for (size_t p = 0; p < total; p++)
        for (size_t j = child_start[p]; j < child_start[p + 1]; j++) {
            if (j == child_start[p])
                snprintf(name, sizeof name, "\nnode %zu\tnode %zu", p, children[j]);
            else
                snprintf(name, sizeof name, "\tnode %zu", children[j]);
            text_append(&pc, &pc_used, &pc_cap, name);
        }
    free(child_start);
    free(children);
    text_append(&pc, &pc_used, &pc_cap, "\n");
    size_t chain[BIG_LEVELS];
    for (size_t i = 0; i < total; i++) {
        size_t n = 0;
        for (size_t u = i; u != SIZE_MAX; u = parent[u])
            chain[n++] = u;
        while (n--) {
            snprintf(name, sizeof name, "node %zu%s", chain[n], n ? "<" : "\n");
            text_append(&tree, &tree_used, &tree_cap, name);
        }
    }
    const char *pc_path = tmpfiles_write("big.tsv", pc, pc_used);
    const char *tree_path = tmpfiles_write("big.tree", tree, tree_used);
    free(pc);
    free(tree);

    taxonomy a, b;
    double t0 = seconds();
    CHECK_STATUS(taxonomy_load(&a, pc_path, AUTO), HFTC_STATUS_OK);
    double t1 = seconds();
    CHECK_STATUS(taxonomy_load(&b, tree_path, AUTO), HFTC_STATUS_OK);
    double t2 = seconds();
    CHECK_MSG(t1 - t0 < 2.0 && t2 - t1 < 2.0, "%.3f s and %.3f s", t1 - t0, t2 - t1);
    CHECK(a.n_nodes == total && a.depth == BIG_LEVELS && a.is_tree && a.n_top == big_level_size[0]);
    size_t counts[BIG_LEVELS + 1] = {0};
    bool levels_ok = true;
    for (uint32_t c = 0; c < a.n_nodes; c++) {
        counts[a.level[c]]++;
        size_t i = (size_t)strtoul(name_of(&a, c) + 5, NULL, 10);
        levels_ok = levels_ok && a.level[c] == node_level[i];
    }
    CHECK(levels_ok);
    CHECK(counts[1] == 20 && counts[5] == 3000 && counts[9] == 1380);
    CHECK(same_edges(&a, &b));
    check_invariants(&a);
    check_invariants(&b);
    uint32_t anc[BIG_LEVELS];
    snprintf(name, sizeof name, "node %zu", total - 1);
    bool *mark = calloc(a.n_nodes, sizeof *mark);
    CHECK(mark && taxonomy_ancestors(&a, id_of(&a, name), anc, mark) == BIG_LEVELS - 1);
    free(mark);
    taxonomy_free(&a);
    taxonomy_free(&b);
    free(parent);
    free(node_level);
}

int main(void)
{
    tmpfiles_init("taxonomy");
    hftc_set_log(NULL, HFTC_LOG_WARN, NULL); // warnings are checked where expected, by capture
    RUN_TEST(test_bad_inputs);
    RUN_TEST(test_formats);
    RUN_TEST(test_single_name_lines);
    RUN_TEST(test_dag);
    RUN_TEST(test_add_edge);
    RUN_TEST(test_complete_dataset);
    RUN_TEST(test_big_tree);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
