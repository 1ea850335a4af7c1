/* What the readers of taxonomy files (taxonomy_file.c) share with the graph (taxonomy.c): the root's reserved
 * name, nodes and edges added by id, and the edge set. A reader works on slices of its lines and decides itself
 * what a repeated edge means (malformed in parent-children files, naming the line of the first; expected in .tree
 * files), hence these calls rather than taxonomy_add_edge. */
#ifndef HFTC_DATA_TAXONOMY_INTERNAL_H
#define HFTC_DATA_TAXONOMY_INTERNAL_H

#include "data/taxonomy.h"

#include <stdint.h>
#include <string.h>

#define TAXONOMY_ROOT_NAME "Root"
#define TAXONOMY_ROOT_NAME_LEN (sizeof TAXONOMY_ROOT_NAME - 1)
#define TAXONOMY_NO_EDGE SIZE_MAX
#define TAXONOMY_NAME_MAX_SHOWN 200 // bytes of a name quoted in a message

static inline bool taxonomy_is_root_name(const char *s, size_t len)
{
    return len == TAXONOMY_ROOT_NAME_LEN && !memcmp(s, TAXONOMY_ROOT_NAME, len);
}

static inline const char *taxonomy_node_name(const taxonomy *t, uint32_t id)
{
    return id == TAXONOMY_ROOT ? TAXONOMY_ROOT_NAME : strmap_string(&t->names, id);
}

/* Id of the node named s[0..len), a new node if the name is new. While names past the nodes exist (labels
 * read by dataset_read), only the first of them may become a node: any other would leave a gap in the ids. */
hftc_status taxonomy_intern_node(taxonomy *t, const char *s, size_t len, uint32_t *id);
/* Adds parent -> child unless it is there; *existing receives the index of the equal edge, or TAXONOMY_NO_EDGE. */
hftc_status taxonomy_insert_edge(taxonomy *t, uint32_t parent, uint32_t child, size_t *existing);
bool taxonomy_has_edge(const taxonomy *t, uint32_t parent, uint32_t child);

#endif
