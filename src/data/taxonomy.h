/* Label taxonomies: trees and DAGs over the labels, with a virtual root. Read from
 *   parent-children lines  "parent<TAB>child1<TAB>child2..." (HiAGM / NeuralClassifier .taxonomy;
 *                          the root is named "Root"; one child per line makes it an edge list; a node
 *                          that is never a child is a top-level category, under the root);
 *   HFT-CNN .tree lines    "A<A@B<A@B@C": a path from a top-level category down to a node.
 * Levels count from 1 under the root; in a DAG a node's level is its shortest distance from the
 * root. Cycles, duplicate edges and malformed lines are errors naming file and line. */
#ifndef HFTC_DATA_TAXONOMY_H
#define HFTC_DATA_TAXONOMY_H

#include "core/strmap.h"
#include "data/dataset.h"

#include <stdbool.h>
#include <stdint.h>

#define TAXONOMY_ROOT UINT32_MAX /* the virtual root's id in parent lists */

typedef enum { TAXONOMY_FORMAT_AUTO, TAXONOMY_FORMAT_PARENT_CHILDREN, TAXONOMY_FORMAT_TREE } taxonomy_format;

typedef struct {
    strmap names; /* node id -> label name; ids are dense 0..n_nodes-1 */
    size_t n_nodes;
    /* Edges as given (parent may be TAXONOMY_ROOT), kept so nodes can be added and the CSR rebuilt. */
    uint32_t *edge_parent, *edge_child;
    size_t n_edges, edges_capacity;
    /* Hash set over the edges (slot = edge index + 1, 0 = empty), so a repeated edge is found at once. */
    size_t *edge_slots;
    size_t n_edge_slots;
    /* Built by taxonomy_finalize: */
    size_t *parent_start; /* CSR, n_nodes + 1: parents of each node (TAXONOMY_ROOT for top level) */
    uint32_t *parents;
    size_t *child_start; /* CSR, n_nodes + 1: children of each node */
    uint32_t *children;
    uint32_t *top; /* the top-level nodes, n_top of them */
    size_t n_top;
    size_t *level;   /* n_nodes: 1 = top level */
    size_t depth;    /* the deepest level */
    bool is_tree;    /* every node has exactly one parent */
    uint32_t *order; /* n_nodes ids sorted by (longest distance from the root, id): parents before children */
} taxonomy;

void taxonomy_init(taxonomy *t);
void taxonomy_free(taxonomy *t);
/* Reads path ("-" = stdin) and finalises. t is overwritten (as by taxonomy_init); on error it is left empty.
 * Line conventions (auto-detection, single-name lines, the reserved name "Root") are listed at the top of
 * taxonomy_file.c. */
hftc_status taxonomy_load(taxonomy *t, const char *path, taxonomy_format fmt);
/* Adds parent -> child by name (parent NULL or "Root" = under the root), interning both names; call
 * taxonomy_finalize afterwards (adding an edge drops the arrays it built: NULL until it runs again). A
 * duplicate edge and a child named "Root" are errors, and so is a new name while names holds labels that are
 * not nodes yet (read by dataset_read, not yet added by taxonomy_complete_dataset), as ids must stay dense. */
hftc_status taxonomy_add_edge(taxonomy *t, const char *parent, const char *child);
/* Builds the CSR arrays, levels, order and is_tree; detects cycles ("cycle: A -> B -> A"). */
hftc_status taxonomy_finalize(taxonomy *t);
bool taxonomy_format_parse(const char *name, taxonomy_format *out);
/* The names taxonomy_format_parse accepts: "auto", "parent-children", "tree". */
const char *taxonomy_format_name(taxonomy_format f);

/* What to do with a label the taxonomy lacks. */
typedef enum {
    TAXONOMY_UNKNOWN_ERROR, /* 'train.tsv:12: label "X" is not in the taxonomy' */
    TAXONOMY_UNKNOWN_ADD,   /* it becomes a new top-level node */
    TAXONOMY_UNKNOWN_KEEP,  /* it stays as it is, without ancestors (evaluation data for a fixed model) */
} taxonomy_unknown;

/* Makes ds's labels taxonomy node ids. ds was read with t->names as its label map, so labels the
 * taxonomy lacks have ids >= t->n_nodes; they are handled as unknown says (added ones are counted
 * in *n_added, which may be NULL, and the taxonomy is finalised again). Then every document's
 * label set is completed with all its ancestors (sorted, unique). */
hftc_status taxonomy_complete_dataset(taxonomy *t, dataset *ds, const char *path, taxonomy_unknown unknown,
                                      size_t *n_added);

/* The distinct labels of ds the taxonomy lacks (ids >= t->n_nodes), 0 if none; with some, the first in file order
 * and its document at *label and *doc. */
size_t taxonomy_unknown_labels(const taxonomy *t, const dataset *ds, size_t *doc, uint32_t *label);

/* Every name in t->names becomes a node, ids unchanged (rebuilding a stored taxonomy: the names
 * first, in id order, then the edges). */
void taxonomy_adopt_names(taxonomy *t);
/* Forgets the names past the nodes (labels that evaluation data used and the taxonomy lacks). */
hftc_status taxonomy_forget_pending(taxonomy *t);

/* All ancestors of node (not the root, not node itself), sorted, into out (capacity n_nodes);
 * returns their number. mark: n_nodes flags, all false, left all false; with it the work is linear in
 * the ancestors found (and their sort when the ids do not come out in order), whatever the depth.
 * t must be finalised; taxonomy_complete_dataset finalises it when it is not. */
size_t taxonomy_ancestors(const taxonomy *t, uint32_t node, uint32_t *out, bool *mark);

/* Whether documents idx[0..n) of ds (labels completed with their ancestors) are single-path: t is a tree and
 * each document's labels are one leaf and its ancestors, as 20 Newsgroups' are. */
bool taxonomy_single_path(const taxonomy *t, const dataset *ds, const size_t *idx, size_t n);

#endif
