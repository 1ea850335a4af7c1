/* Reading taxonomy files: the readers for parent-children and .tree files (one streaming loop over
 * core/lines.h), with auto-detection of the format, and the format names.
 * Reading conventions:
 *   - blank lines (spaces and tabs only) are skipped; CRLF endings, a missing final newline and a UTF-8
 *     BOM on line 1 are accepted; a line must be valid UTF-8 without NUL bytes;
 *   - names are trimmed of surrounding spaces and an empty name is malformed. "Root" (exactly) is the
 *     virtual root and never a node: as a parent it means the root, as a child or a .tree element it is
 *     malformed;
 *   - parent-children: fields are split on tabs only, so names may contain spaces. A line with a single
 *     name declares that node without an edge: it is top level unless it is a child elsewhere (a lone
 *     "Root" declares nothing). A space-separated line looks the same, so when such a node ends up with
 *     no edge at all, one warning names the first of them. Repeating an edge is malformed;
 *   - .tree ("A<A@B<A@B@C"): elements are split on '<', each element's parent is the one before it and
 *     the first is top level (an explicit edge from the root, so a single-name line is a top-level node).
 *     Every line repeats the edges of its prefix, so repeated edges are no error in this format; a tab
 *     is malformed;
 *   - auto-detection: the first line with a tab means parent-children, the first with a '<' and no tab
 *     means .tree; single-name lines before it are held until the format is known (all of them are top
 *     level either way when none comes). After that a line of the other format is malformed.
 * The lines become nodes and edges through data/taxonomy_internal.h; taxonomy.c finalises the graph. */
#include "data/taxonomy_internal.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/lines.h"
#include "core/log.h"
#include "core/names.h"
#include "text/tokenizer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

typedef struct {
    uint32_t node;
    size_t line;
} declared_node;

typedef struct {
    taxonomy *t;
    const char *name;       // file name in messages
    taxonomy_format format; // AUTO until a line decides
    bool auto_detect;
    size_t *edge_line; // line where each edge first appeared (parent-children)
    size_t edge_line_cap;
    declared_node *declared; // single-name lines (parent-children, or before the format is known)
    size_t n_declared, declared_cap;
    char reason[768]; // why the current line is malformed
} loader;

static hftc_status malformed(loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static hftc_status malformed(loader *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->reason, sizeof l->reason, fmt, ap);
    va_end(ap);
    return HFTC_STATUS_FORMAT;
}

static bool is_space(char c) { return c == ' ' || c == '\r' || c == '\v' || c == '\f'; }

// The name in s[0..len) without surrounding spaces.
static void trim(const char **s, size_t *len)
{
    while (*len && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_space((*s)[*len - 1]))
        (*len)--;
}

static int shown(size_t len) { return (int)(len < TAXONOMY_NAME_MAX_SHOWN ? len : TAXONOMY_NAME_MAX_SHOWN); }

static hftc_status declare_node(loader *l, const char *s, size_t len, size_t line_no)
{
    uint32_t id;
    TRY(taxonomy_intern_node(l->t, s, len, &id));
    TRY(mem_reserve((void **)&l->declared, &l->declared_cap, l->n_declared + 1, sizeof *l->declared));
    l->declared[l->n_declared++] = (declared_node){id, line_no};
    return HFTC_STATUS_OK;
}

// "parent<TAB>child1<TAB>child2...", or a single name.
static hftc_status parse_parent_children(loader *l, const char *line, size_t len, size_t line_no)
{
    const char *end = line + len, *tab = memchr(line, '\t', len);
    const char *parent = line;
    size_t parent_len = (size_t)((tab ? tab : end) - line);
    trim(&parent, &parent_len);
    if (parent_len == 0)
        return malformed(l, "empty name in field 1");
    if (!tab) {
        if (l->auto_detect && l->format == TAXONOMY_FORMAT_PARENT_CHILDREN && memchr(line, '<', len))
            return malformed(l, "a .tree line (with '<' and no tab) in a parent-children file");
        return taxonomy_is_root_name(parent, parent_len) ? HFTC_STATUS_OK
                                                         : declare_node(l, parent, parent_len, line_no);
    }
    uint32_t p = TAXONOMY_ROOT;
    if (!taxonomy_is_root_name(parent, parent_len))
        TRY(taxonomy_intern_node(l->t, parent, parent_len, &p));
    for (size_t field = 2;; field++) {
        const char *child = tab + 1;
        tab = memchr(child, '\t', (size_t)(end - child));
        size_t child_len = (size_t)((tab ? tab : end) - child);
        trim(&child, &child_len);
        if (child_len == 0)
            return malformed(l, "empty name in field %zu", field);
        if (taxonomy_is_root_name(child, child_len))
            return malformed(l, "\"%s\" cannot be a child (field %zu): it is the root", TAXONOMY_ROOT_NAME, field);
        uint32_t c;
        size_t existing;
        TRY(taxonomy_intern_node(l->t, child, child_len, &c));
        TRY(taxonomy_insert_edge(l->t, p, c, &existing));
        if (existing != TAXONOMY_NO_EDGE)
            return malformed(l, "duplicate edge %.*s -> %.*s (first on line %zu)", shown(parent_len), parent,
                             shown(child_len), child, l->edge_line[existing]);
        TRY(mem_reserve((void **)&l->edge_line, &l->edge_line_cap, l->t->n_edges, sizeof *l->edge_line));
        l->edge_line[l->t->n_edges - 1] = line_no;
        if (!tab)
            return HFTC_STATUS_OK;
    }
}

// "A<A@B<A@B@C": a path from a top-level node down.
static hftc_status parse_tree(loader *l, const char *line, size_t len)
{
    if (memchr(line, '\t', len))
        return malformed(l, "tab in a .tree line");
    const char *end = line + len, *p = line;
    uint32_t parent = TAXONOMY_ROOT;
    for (size_t k = 1;; k++) {
        const char *lt = memchr(p, '<', (size_t)(end - p)), *name = p;
        size_t name_len = (size_t)((lt ? lt : end) - p);
        trim(&name, &name_len);
        if (name_len == 0)
            return malformed(l, "empty name in element %zu", k);
        if (taxonomy_is_root_name(name, name_len))
            return malformed(l, "\"%s\" (element %zu) is the name of the root, not a node", TAXONOMY_ROOT_NAME, k);
        uint32_t c;
        size_t existing;
        TRY(taxonomy_intern_node(l->t, name, name_len, &c));
        TRY(taxonomy_insert_edge(l->t, parent, c, &existing)); // repeated prefixes are expected
        if (!lt)
            return HFTC_STATUS_OK;
        parent = c;
        p = lt + 1;
    }
}

static hftc_status parse_line(loader *l, const char *line, size_t len, size_t line_no, size_t column0)
{
    size_t bad = utf8_find_invalid(line, len);
    if (bad < len)
        return malformed(l, "invalid UTF-8 at byte %zu", column0 + bad + 1);
    const char *nul = memchr(line, '\0', len);
    if (nul)
        return malformed(l, "NUL byte at byte %zu", column0 + (size_t)(nul - line) + 1);
    if (l->format == TAXONOMY_FORMAT_AUTO) {
        if (memchr(line, '\t', len)) {
            l->format = TAXONOMY_FORMAT_PARENT_CHILDREN;
        } else if (memchr(line, '<', len)) {
            // The single-name lines held so far were top-level .tree nodes.
            l->format = TAXONOMY_FORMAT_TREE;
            size_t existing;
            for (size_t i = 0; i < l->n_declared; i++)
                TRY(taxonomy_insert_edge(l->t, TAXONOMY_ROOT, l->declared[i].node, &existing));
            l->n_declared = 0;
        }
    }
    if (l->format == TAXONOMY_FORMAT_TREE)
        return parse_tree(l, line, len);
    return parse_parent_children(l, line, len, line_no);
}

static hftc_status read_stream(loader *l, FILE *f)
{
    char *p;
    size_t len, column0;
    hftc_status st = HFTC_STATUS_OK;
    line_reader lr;
    line_reader_init(&lr, f);
    int got;
    while ((got = line_reader_next(&lr, &p, &len, &column0)) > 0) {
        size_t i = 0;
        while (i < len && (p[i] == '\t' || is_space(p[i])))
            i++;
        if (i == len)
            continue;
        st = parse_line(l, p, len, lr.line_no, column0);
        if (st == HFTC_STATUS_FORMAT)
            st = error_set(st, "%s:%zu: %s", l->name, lr.line_no, l->reason);
        if (st != HFTC_STATUS_OK)
            break;
    }
    if (st == HFTC_STATUS_OK && got < 0)
        st = errno == ENOMEM ? error_set(HFTC_STATUS_OUT_OF_MEMORY, "%s: out of memory reading a line", l->name)
                             : error_set(HFTC_STATUS_IO, "%s: read error: %s", l->name, strerror(errno));
    line_reader_free(&lr);
    return st;
}

// Single-name parent-children lines whose node has no edge at all were probably meant to have tabs.
static void warn_isolated(const loader *l)
{
    const taxonomy *t = l->t;
    size_t count = 0, first = 0;
    for (size_t i = 0; i < l->n_declared; i++) {
        uint32_t c = l->declared[i].node;
        bool isolated = t->child_start[c + 1] == t->child_start[c] &&
                        t->parent_start[c + 1] - t->parent_start[c] == 1 &&
                        t->parents[t->parent_start[c]] == TAXONOMY_ROOT && !taxonomy_has_edge(t, TAXONOMY_ROOT, c);
        if (isolated && count++ == 0)
            first = i;
    }
    if (count)
        log_warn("%s:%zu: \"%s\" has no parent and no children (%zu such line%s); parent-children lines separate "
                 "names by tabs",
                 l->name, l->declared[first].line, taxonomy_node_name(t, l->declared[first].node), count,
                 count == 1 ? "" : "s");
}

hftc_status taxonomy_load(taxonomy *t, const char *path, taxonomy_format fmt)
{
    taxonomy_init(t);
    bool is_stdin = strcmp(path, "-") == 0;
    loader l = {.t = t, .name = is_stdin ? "<stdin>" : path, .format = fmt, .auto_detect = fmt == TAXONOMY_FORMAT_AUTO};
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return error_set(HFTC_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
    hftc_status st = read_stream(&l, f);
    if (!is_stdin)
        fclose(f);
    if (st == HFTC_STATUS_OK && t->n_nodes == 0)
        st = error_set(HFTC_STATUS_FORMAT, "%s: no taxonomy nodes", l.name);
    if (st == HFTC_STATUS_OK && (st = taxonomy_finalize(t)) != HFTC_STATUS_OK)
        st = error_wrap(st, "%s", l.name);
    if (st == HFTC_STATUS_OK && l.format == TAXONOMY_FORMAT_PARENT_CHILDREN)
        warn_isolated(&l);
    free(l.edge_line);
    free(l.declared);
    if (st != HFTC_STATUS_OK)
        taxonomy_free(t);
    return st;
}

static const char *const format_names[] = {"auto", "parent-children", "tree"};

bool taxonomy_format_parse(const char *name, taxonomy_format *out)
{
    size_t i;
    if (!names_find(format_names, NAMES_COUNT(format_names), name, &i))
        return false;
    *out = (taxonomy_format)i;
    return true;
}

const char *taxonomy_format_name(taxonomy_format f)
{
    return (size_t)f < sizeof format_names / sizeof *format_names ? format_names[f] : "unknown";
}
