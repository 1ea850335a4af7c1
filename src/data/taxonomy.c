/* Label taxonomies as graphs: the edge set that makes a repeated edge an error, finalisation (CSR lists, a
 * cycle check by Kahn's algorithm, levels by breadth-first search from the root) and ancestor completion of
 * datasets. The readers of taxonomy files (taxonomy_file.c) build a taxonomy through the internal calls of
 * data/taxonomy_internal.h.
 * "Root" (exactly) is the virtual root and never a node: as a parent it means the root, as a child it is an error.
 * Node ids are dense: a name interned by dataset_read that the taxonomy lacks has an id past the nodes,
 * and becomes a node only through taxonomy_complete_dataset. */
#include "data/taxonomy_internal.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/rng.h"
#include "text/tokenizer.h"

#include <stdlib.h>
#include <string.h>

void taxonomy_init(taxonomy *t)
{
    *t = (taxonomy){0};
    strmap_init(&t->names);
}

// The arrays taxonomy_finalize builds; dropped whenever nodes or edges change, so stale lists are never read.
static void free_derived(taxonomy *t)
{
    free(t->parent_start);
    free(t->parents);
    free(t->child_start);
    free(t->children);
    free(t->top);
    free(t->level);
    free(t->order);
    t->parent_start = t->child_start = t->level = NULL;
    t->parents = t->children = t->top = t->order = NULL;
    t->n_top = t->depth = 0;
    t->is_tree = false;
}

void taxonomy_free(taxonomy *t)
{
    strmap_free(&t->names);
    free(t->edge_parent);
    free(t->edge_child);
    free(t->edge_slots);
    free_derived(t);
    taxonomy_init(t);
}

// Slot of parent -> child in the edge set, or the empty slot where it would go.
static size_t edge_slot(const taxonomy *t, uint32_t parent, uint32_t child)
{
    size_t mask = t->n_edge_slots - 1;
    for (size_t i = (size_t)rng_hash_pair(parent, child) & mask;; i = (i + 1) & mask) {
        size_t e = t->edge_slots[i];
        if (e == 0 || (t->edge_parent[e - 1] == parent && t->edge_child[e - 1] == child))
            return i;
    }
}

bool taxonomy_has_edge(const taxonomy *t, uint32_t parent, uint32_t child)
{
    return t->n_edge_slots && t->edge_slots[edge_slot(t, parent, child)];
}

static hftc_status grow_edge_set(taxonomy *t)
{
    size_t n_slots = t->n_edge_slots ? 2 * t->n_edge_slots : 64;
    size_t *slots = mem_calloc(n_slots, sizeof *slots);
    if (!slots)
        return HFTC_STATUS_OUT_OF_MEMORY;
    free(t->edge_slots);
    t->edge_slots = slots;
    t->n_edge_slots = n_slots;
    for (size_t e = 0; e < t->n_edges; e++)
        slots[edge_slot(t, t->edge_parent[e], t->edge_child[e])] = e + 1;
    return HFTC_STATUS_OK;
}

hftc_status taxonomy_insert_edge(taxonomy *t, uint32_t parent, uint32_t child, size_t *existing)
{
    if (2 * (t->n_edges + 1) > t->n_edge_slots) // load factor at most 1/2
        TRY(grow_edge_set(t));
    size_t slot = edge_slot(t, parent, child);
    if (t->edge_slots[slot]) {
        *existing = t->edge_slots[slot] - 1;
        return HFTC_STATUS_OK;
    }
    *existing = TAXONOMY_NO_EDGE;
    // Two arrays share one capacity: grow copies of it, keep the smaller.
    size_t cap_parent = t->edges_capacity, cap_child = t->edges_capacity;
    hftc_status st = mem_reserve((void **)&t->edge_parent, &cap_parent, t->n_edges + 1, sizeof *t->edge_parent);
    if (st == HFTC_STATUS_OK)
        st = mem_reserve((void **)&t->edge_child, &cap_child, t->n_edges + 1, sizeof *t->edge_child);
    t->edges_capacity = cap_parent < cap_child ? cap_parent : cap_child;
    TRY(st);
    t->edge_parent[t->n_edges] = parent;
    t->edge_child[t->n_edges] = child;
    t->edge_slots[slot] = ++t->n_edges;
    free_derived(t);
    return HFTC_STATUS_OK;
}

hftc_status taxonomy_intern_node(taxonomy *t, const char *s, size_t len, uint32_t *id)
{
    size_t i = strmap_find(&t->names, s, len), count = strmap_count(&t->names);
    if ((i == STRMAP_NONE && count > t->n_nodes) || (i != STRMAP_NONE && i > t->n_nodes))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "cannot add \"%.*s\" to the taxonomy: its name map holds %zu labels that are not nodes "
                         "(complete the dataset first)",
                         (int)(len < TAXONOMY_NAME_MAX_SHOWN ? len : TAXONOMY_NAME_MAX_SHOWN), s, count - t->n_nodes);
    if (i == STRMAP_NONE)
        TRY(strmap_intern(&t->names, s, len, &i));
    if (i == t->n_nodes) {
        if (i >= TAXONOMY_ROOT)
            return error_set(HFTC_STATUS_OUT_OF_MEMORY, "too many taxonomy nodes");
        t->n_nodes++;
        free_derived(t);
    }
    *id = (uint32_t)i;
    return HFTC_STATUS_OK;
}

hftc_status taxonomy_add_edge(taxonomy *t, const char *parent, const char *child)
{
    if (!child || !*child || (parent && !*parent))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "taxonomy edge with an empty name");
    size_t child_len = strlen(child), parent_len = parent ? strlen(parent) : 0;
    if (utf8_find_invalid(child, child_len) < child_len ||
        (parent && utf8_find_invalid(parent, parent_len) < parent_len))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "taxonomy name that is not valid UTF-8");
    if (taxonomy_is_root_name(child, child_len))
        return error_set(HFTC_STATUS_FORMAT, "\"%s\" cannot be a child: it is the root", TAXONOMY_ROOT_NAME);
    uint32_t p = TAXONOMY_ROOT, c;
    if (parent && !taxonomy_is_root_name(parent, parent_len))
        TRY(taxonomy_intern_node(t, parent, parent_len, &p));
    TRY(taxonomy_intern_node(t, child, child_len, &c));
    size_t existing;
    TRY(taxonomy_insert_edge(t, p, c, &existing));
    if (existing != TAXONOMY_NO_EDGE)
        return error_set(HFTC_STATUS_FORMAT, "duplicate edge %s -> %s", parent ? parent : TAXONOMY_ROOT_NAME, child);
    return HFTC_STATUS_OK;
}

/* ---- Finalisation ---------------------------------------------------------------------------- */

// Appends text to msg (size bytes, *used of them taken); what does not fit becomes "..." once, and
// *used = size marks msg as full.
static void append(char *msg, size_t size, size_t *used, const char *text)
{
    size_t len = strlen(text);
    if (*used == size)
        return;
    if (*used + len + 4 <= size) {
        memcpy(msg + *used, text, len + 1);
        *used += len;
        return;
    }
    memcpy(msg + *used, "...", 4);
    *used = size;
}

/* Reports a cycle among the nodes Kahn's algorithm could not order (remaining[c] > 0). Each of them has
 * a parent that is also unordered, so walking up from one must come back to a node already seen. */
static hftc_status report_cycle(const taxonomy *t, const size_t *remaining, size_t n_unordered)
{
    size_t n = t->n_nodes, len = 0, start = 0;
    size_t *seen_at = mem_alloc(n, sizeof *seen_at);
    uint32_t *path = mem_alloc(n, sizeof *path);
    if (!seen_at || !path) {
        free(seen_at);
        free(path);
        return HFTC_STATUS_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < n; i++)
        seen_at[i] = SIZE_MAX;
    uint32_t u = 0;
    while (remaining[u] == 0)
        u++;
    for (;;) {
        seen_at[u] = len;
        path[len++] = u;
        uint32_t p = TAXONOMY_ROOT;
        for (size_t j = t->parent_start[u]; j < t->parent_start[u + 1] && p == TAXONOMY_ROOT; j++)
            if (t->parents[j] != TAXONOMY_ROOT && remaining[t->parents[j]] > 0)
                p = t->parents[j];
        if (seen_at[p] != SIZE_MAX) {
            start = seen_at[p];
            break;
        }
        u = p;
    }
    /* path[start..len) climbs from child to parent and path[start] is a parent of path[len - 1]: reversed
     * after its first node, it runs forwards. It is printed from its smallest id. */
    size_t m = len - start, first = 0;
    for (size_t i = start + 1, j = len - 1; i < j; i++, j--) {
        uint32_t x = path[i];
        path[i] = path[j];
        path[j] = x;
    }
    for (size_t i = 1; i < m; i++)
        if (path[start + i] < path[start + first])
            first = i;
    char msg[1024] = "cycle: ";
    size_t used = strlen(msg);
    for (size_t i = 0; i <= m; i++) {
        if (i)
            append(msg, sizeof msg, &used, " -> ");
        append(msg, sizeof msg, &used, taxonomy_node_name(t, path[start + (first + i) % m]));
    }
    free(seen_at);
    free(path);
    if (n_unordered > m)
        return error_set(HFTC_STATUS_FORMAT, "%s (%zu more node%s on or below a cycle)", msg, n_unordered - m,
                         n_unordered - m == 1 ? "" : "s");
    return error_set(HFTC_STATUS_FORMAT, "%s", msg);
}

hftc_status taxonomy_finalize(taxonomy *t)
{
    free_derived(t);
    size_t n = t->n_nodes;
    t->parent_start = mem_calloc(n + 1, sizeof *t->parent_start);
    t->child_start = mem_calloc(n + 1, sizeof *t->child_start);
    t->level = mem_calloc(n, sizeof *t->level);
    t->order = mem_alloc(n, sizeof *t->order);
    t->top = mem_alloc(n, sizeof *t->top);
    size_t *cursor = mem_alloc(n + 2, sizeof *cursor), *rank = mem_alloc(n, sizeof *rank);
    unsigned char *is_top = mem_calloc(n, 1);
    hftc_status st = HFTC_STATUS_OUT_OF_MEMORY;
    if (!t->parent_start || !t->child_start || !t->level || !t->order || !t->top || !cursor || !rank || !is_top)
        goto fail;
    size_t *ps = t->parent_start, *cs = t->child_start;
    for (size_t e = 0; e < t->n_edges; e++) {
        uint32_t p = t->edge_parent[e], c = t->edge_child[e];
        if (p == TAXONOMY_ROOT) {
            is_top[c] = 1;
        } else {
            ps[c + 1]++;
            cs[p + 1]++;
        }
    }
    // A node that is never a child is top level; the root sorts last among its parents (the largest id).
    for (size_t c = 0; c < n; c++) {
        if (ps[c + 1] == 0)
            is_top[c] = 1;
        ps[c + 1] += is_top[c];
    }
    for (size_t i = 0; i < n; i++) {
        ps[i + 1] += ps[i];
        cs[i + 1] += cs[i];
    }
    t->parents = mem_alloc(ps[n], sizeof *t->parents);
    t->children = mem_alloc(cs[n], sizeof *t->children);
    if (!t->parents || !t->children)
        goto fail;
    // Children unsorted, then two transpositions sort both lists by id.
    memcpy(cursor, cs, n * sizeof *cursor);
    for (size_t e = 0; e < t->n_edges; e++)
        if (t->edge_parent[e] != TAXONOMY_ROOT)
            t->children[cursor[t->edge_parent[e]]++] = t->edge_child[e];
    memcpy(cursor, ps, n * sizeof *cursor);
    for (size_t p = 0; p < n; p++)
        for (size_t j = cs[p]; j < cs[p + 1]; j++)
            t->parents[cursor[t->children[j]]++] = (uint32_t)p;
    for (size_t c = 0; c < n; c++)
        if (is_top[c])
            t->parents[cursor[c]++] = TAXONOMY_ROOT;
    memcpy(cursor, cs, n * sizeof *cursor);
    for (size_t c = 0; c < n; c++)
        for (size_t j = ps[c]; j < ps[c + 1]; j++)
            if (t->parents[j] != TAXONOMY_ROOT)
                t->children[cursor[t->parents[j]]++] = (uint32_t)c;

    // Kahn's algorithm over the edges between nodes: what it cannot order is on or below a cycle. On the
    // way, each node's rank: its longest distance from the root.
    size_t head = 0, tail = 0, max_rank = n ? 1 : 0;
    for (size_t c = 0; c < n; c++) {
        cursor[c] = ps[c + 1] - ps[c] - is_top[c];
        rank[c] = 1;
        if (cursor[c] == 0)
            t->order[tail++] = (uint32_t)c;
    }
    while (head < tail) {
        uint32_t u = t->order[head++];
        for (size_t j = cs[u]; j < cs[u + 1]; j++) {
            uint32_t c = t->children[j];
            rank[c] = rank[u] + 1 > rank[c] ? rank[u] + 1 : rank[c];
            max_rank = rank[c] > max_rank ? rank[c] : max_rank;
            if (--cursor[c] == 0)
                t->order[tail++] = c;
        }
    }
    if (tail < n) {
        st = report_cycle(t, cursor, n - tail);
        goto fail;
    }

    // Levels: breadth-first from the root, so a DAG node gets its shortest distance.
    head = tail = 0;
    for (size_t c = 0; c < n; c++)
        if (is_top[c]) {
            t->level[c] = 1;
            t->order[tail++] = t->top[t->n_top++] = (uint32_t)c;
        }
    t->depth = n ? 1 : 0;
    while (head < tail) {
        uint32_t u = t->order[head++];
        for (size_t j = cs[u]; j < cs[u + 1]; j++) {
            uint32_t c = t->children[j];
            if (t->level[c] == 0) {
                t->level[c] = t->level[u] + 1;
                t->depth = t->level[c];
                t->order[tail++] = c;
            }
        }
    }
    // order by (rank, id): a counting sort over ranks, ids visited in increasing order. A parent's rank
    // is below its children's, so parents come first also in a DAG, where a node may share a level with
    // its parent or sit above it (a node under the root and under a deeper parent has level 1).
    memset(cursor, 0, (max_rank + 2) * sizeof *cursor);
    for (size_t c = 0; c < n; c++)
        cursor[rank[c] + 1]++;
    for (size_t r = 1; r <= max_rank; r++)
        cursor[r + 1] += cursor[r];
    for (size_t c = 0; c < n; c++)
        t->order[cursor[rank[c]]++] = (uint32_t)c;
    t->is_tree = true;
    for (size_t c = 0; c < n; c++)
        if (ps[c + 1] - ps[c] != 1)
            t->is_tree = false;
    free(cursor), free(rank), free(is_top);
    return HFTC_STATUS_OK;
fail:
    free(cursor), free(rank), free(is_top);
    free_derived(t);
    return st;
}

/* ---- Ancestors ------------------------------------------------------------------------------- */

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

size_t taxonomy_ancestors(const taxonomy *t, uint32_t node, uint32_t *out, bool *mark)
{
    // out doubles as the queue of nodes whose parents are still to add; mark makes "already added?" one
    // look-up, so the climb is linear in the ancestors found, however deep the taxonomy.
    size_t n = 0, head = 0;
    for (uint32_t u = node;;) {
        for (size_t j = t->parent_start[u]; j < t->parent_start[u + 1]; j++) {
            uint32_t p = t->parents[j];
            if (p != TAXONOMY_ROOT && !mark[p])
                mark[p] = true, out[n++] = p;
        }
        if (head == n)
            break;
        u = out[head++];
    }
    bool ascending = true, descending = true;
    for (size_t i = 0; i < n; i++) {
        mark[out[i]] = false;
        if (i) {
            ascending = ascending && out[i - 1] < out[i];
            descending = descending && out[i - 1] > out[i];
        }
    }
    // A path climbed from a node numbered after its parents, as taxonomy files list them, comes out
    // descending: reversed in linear time rather than sorted.
    if (descending)
        for (size_t i = 0; i < n / 2; i++) {
            uint32_t swap = out[i];
            out[i] = out[n - 1 - i], out[n - 1 - i] = swap;
        }
    else if (!ascending)
        qsort(out, n, sizeof *out, compare_u32);
    return n;
}

// First document (in file order) with a label past the nodes, at *doc and *label; false if none.
static bool find_unknown(const taxonomy *t, const dataset *ds, size_t *doc, uint32_t *label)
{
    for (size_t d = 0; d < ds->n_docs; d++)
        for (size_t j = ds->label_start[d]; j < ds->label_start[d + 1]; j++)
            if (ds->labels[j] >= t->n_nodes) {
                *doc = d;
                *label = ds->labels[j];
                return true;
            }
    return false;
}

size_t taxonomy_unknown_labels(const taxonomy *t, const dataset *ds, size_t *doc, uint32_t *label)
{
    if (!find_unknown(t, ds, doc, label))
        return 0;
    size_t past = strmap_count(&t->names) - t->n_nodes, distinct = 0;
    bool *seen = calloc(past, sizeof *seen), counted = seen != NULL;
    for (size_t j = 0; counted && j < ds->label_start[ds->n_docs]; j++)
        if (ds->labels[j] >= t->n_nodes && !seen[ds->labels[j] - t->n_nodes]) {
            seen[ds->labels[j] - t->n_nodes] = true;
            distinct++;
        }
    free(seen);
    return counted ? distinct : 1; /* out of memory: at least the first */
}

hftc_status taxonomy_complete_dataset(taxonomy *t, dataset *ds, const char *path, taxonomy_unknown unknown,
                                      size_t *n_added)
{
    if (n_added)
        *n_added = 0;
    size_t doc;
    uint32_t label;
    if (unknown != TAXONOMY_UNKNOWN_KEEP && find_unknown(t, ds, &doc, &label)) {
        const char *name = strmap_string(&t->names, label);
        if (unknown == TAXONOMY_UNKNOWN_ERROR)
            return error_set(HFTC_STATUS_FORMAT, "%s:%zu: label \"%s\" is not in the taxonomy", path, ds->line[doc],
                             name);
        size_t root_id = strmap_find(&t->names, TAXONOMY_ROOT_NAME, TAXONOMY_ROOT_NAME_LEN);
        if (root_id != STRMAP_NONE && root_id >= t->n_nodes) {
            for (size_t d = 0; d < ds->n_docs; d++)
                for (size_t j = ds->label_start[d]; j < ds->label_start[d + 1]; j++)
                    if (ds->labels[j] == root_id)
                        return error_set(HFTC_STATUS_FORMAT, "%s:%zu: label \"%s\" is the name of the taxonomy's root",
                                         path, ds->line[d], TAXONOMY_ROOT_NAME);
            return error_set(HFTC_STATUS_FORMAT,
                             "%s: label \"%s\" (read from another file) is the name of the "
                             "taxonomy's root",
                             path, TAXONOMY_ROOT_NAME);
        }
        // Every name past the nodes came from a dataset: all become top-level nodes, so ids stay dense.
        size_t count = strmap_count(&t->names);
        if (count > TAXONOMY_ROOT)
            return error_set(HFTC_STATUS_OUT_OF_MEMORY, "too many taxonomy nodes");
        if (n_added)
            *n_added = count - t->n_nodes;
        t->n_nodes = count;
        free_derived(t);
    }
    if (!t->parent_start)
        TRY(taxonomy_finalize(t));

    // Each document's labels and their ancestors, found by a depth-first climb; stamp[u] == d + 1 marks
    // u as taken for document d, so no per-document clearing is needed.
    // Kept unknown labels have ids past the nodes: they are copied, with no ancestors to climb to.
    size_t n = t->n_nodes, n_names = strmap_count(&t->names), used = 0, out_cap = 0;
    size_t *stamp = mem_calloc(n_names, sizeof *stamp), *start = mem_alloc(ds->n_docs + 1, sizeof *start);
    uint32_t *stack = mem_alloc(n_names, sizeof *stack), *out = NULL;
    hftc_status st = stamp && start && stack ? HFTC_STATUS_OK : HFTC_STATUS_OUT_OF_MEMORY;
    if (st == HFTC_STATUS_OK)
        start[0] = 0;
    for (size_t d = 0; d < ds->n_docs && st == HFTC_STATUS_OK; d++) {
        size_t begin = used, top = 0;
        for (size_t j = ds->label_start[d]; j < ds->label_start[d + 1]; j++)
            if (stamp[ds->labels[j]] != d + 1) {
                stamp[ds->labels[j]] = d + 1;
                stack[top++] = ds->labels[j];
            }
        while (top && st == HFTC_STATUS_OK) {
            uint32_t u = stack[--top];
            st = mem_reserve((void **)&out, &out_cap, used + 1, sizeof *out);
            if (st != HFTC_STATUS_OK)
                break;
            out[used++] = u;
            for (size_t j = u < n ? t->parent_start[u] : 0; u < n && j < t->parent_start[u + 1]; j++) {
                uint32_t p = t->parents[j];
                if (p != TAXONOMY_ROOT && stamp[p] != d + 1) {
                    stamp[p] = d + 1;
                    stack[top++] = p;
                }
            }
        }
        if (used > begin)
            qsort(out + begin, used - begin, sizeof *out, compare_u32);
        start[d + 1] = used;
    }
    free(stamp);
    free(stack);
    if (st != HFTC_STATUS_OK) {
        free(start);
        free(out);
        return st;
    }
    free(ds->labels);
    free(ds->label_start);
    ds->labels = out;
    ds->label_start = start;
    return HFTC_STATUS_OK;
}

void taxonomy_adopt_names(taxonomy *t)
{
    if (t->n_nodes == strmap_count(&t->names))
        return;
    t->n_nodes = strmap_count(&t->names);
    free_derived(t);
}

hftc_status taxonomy_forget_pending(taxonomy *t)
{
    if (strmap_count(&t->names) == t->n_nodes)
        return HFTC_STATUS_OK;
    strmap kept;
    strmap_init(&kept);
    for (size_t i = 0; i < t->n_nodes; i++) {
        const char *name = strmap_string(&t->names, i);
        size_t id;
        hftc_status st = strmap_intern(&kept, name, strlen(name), &id);
        if (st != HFTC_STATUS_OK) {
            strmap_free(&kept);
            return st;
        }
    }
    strmap_free(&t->names);
    t->names = kept;
    return HFTC_STATUS_OK;
}

bool taxonomy_single_path(const taxonomy *t, const dataset *ds, const size_t *idx, size_t n)
{
    if (!t->is_tree)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t d = idx[i], leaves = 0, depth = 0;
        for (size_t j = ds->label_start[d]; j < ds->label_start[d + 1]; j++) {
            uint32_t c = ds->labels[j];
            if (c >= t->n_nodes)
                return false;
            if (t->child_start[c] == t->child_start[c + 1])
                leaves++, depth = t->level[c];
        }
        /* in a tree, a leaf's ancestor-closed set has as many labels as its level */
        if (leaves != 1 || ds->label_start[d + 1] - ds->label_start[d] != depth)
            return false;
    }
    return n > 0;
}
