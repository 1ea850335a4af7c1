/* hftc report's page: one self-contained HTML file (inline CSS, inline SVG, a small inline script that only adds
 * conveniences: the page reads the same without it) with the evaluation's figures, the taxonomy as a tree of
 * <details> coloured by each category's F1, and the sibling pairs most confused. A Content-Security-Policy
 * forbids every fetch, so nothing outside the file is ever read. */
#include "report.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void html_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

void html_f1_colour(FILE *f, double f1)
{
    double x = f1 < 0 ? 0 : f1 > 1 ? 1 : f1;
    fprintf(f, "hsl(%.0f,70%%,%.0f%%)", 120.0 * x, 42.0 - 6.0 * x);
}

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 40px;color:#222}"
    "h1{font-size:22px;margin:18px 0 4px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd}"
    ".meta{color:#555;margin:0}.note{color:#555;font-style:italic}"
    "table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;"
    "text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}"
    ".grid{display:flex;flex-wrap:wrap;gap:8px 28px}.grid table{flex:0 0 auto}"
    "#taxonomy-tree ul{list-style:none;margin:0;padding-left:20px}#taxonomy-tree>ul{padding-left:0}"
    "#taxonomy-tree summary{cursor:pointer}#taxonomy-tree li{margin:1px 0}"
    ".f1{display:inline-block;min-width:44px;padding:0 5px;margin-right:6px;border-radius:3px;color:#fff;"
    "text-align:center;font-variant-numeric:tabular-nums}.none{background:#999}.sup{color:#666;font-size:12px}"
    ".leaf{padding-left:18px}svg{max-width:100%;height:auto;font:11px system-ui,sans-serif}"
    ".charts{display:flex;flex-wrap:wrap;gap:10px}.charts figure{margin:0;flex:0 1 520px}"
    "figcaption{font-size:13px;color:#444}button{margin:0 6px 6px 0}";

/* Marks the page rendered (data-report-ready on <body>) once the script has run to its end, and any script
 * error (data-report-error on <html>): what the headless browser test reads. */
static const char script_head[] = "window.onerror=function(m){document.documentElement.setAttribute("
                                  "'data-report-error',String(m));};";
static const char script_end[] =
    "(function(){var t=document.getElementById('taxonomy-tree');if(t){var bar=document.createElement('div');"
    "[['Expand all',true],['Collapse all',false]].forEach(function(a){var b=document.createElement('button');"
    "b.type='button';b.textContent=a[0];b.addEventListener('click',function(){"
    "t.querySelectorAll('details').forEach(function(d){d.open=a[1];});});bar.appendChild(b);});"
    "t.parentNode.insertBefore(bar,t);}document.body.setAttribute('data-report-ready','yes');})();";

static void row_figure(FILE *f, const char *name, double value)
{
    fprintf(f, "<tr><td>%s</td><td>%.4f</td></tr>", name, value);
}

static void overall(FILE *f, const hftc_evaluation *e)
{
    fputs("<section id=\"overall\"><h2>Overall</h2><div class=\"grid\"><table><tbody>", f);
    fprintf(f, "<tr><td>documents</td><td>%zu</td></tr><tr><td>labels in the test set</td><td>%zu</td></tr>", e->docs,
            e->labels);
    fprintf(f, "<tr><td>labels unknown to the model</td><td>%zu</td></tr>", e->unknown_labels);
    row_figure(f, "micro-F1", e->micro_f1);
    row_figure(f, "micro precision", e->micro_precision);
    row_figure(f, "micro recall", e->micro_recall);
    row_figure(f, "macro-F1", e->macro_f1);
    row_figure(f, "weighted F1", e->weighted_f1);
    fputs("</tbody></table><table><tbody>", f);
    row_figure(f, "hierarchical F1", e->hierarchical_f1);
    row_figure(f, "exact match", e->exact_match);
    row_figure(f, "overall accuracy", e->overall_accuracy);
    for (int k = 1; k <= HFTC_MAX_K; k += 2)
        fprintf(f, "<tr><td>P@%d</td><td>%.4f</td></tr>", k, e->precision_at[k]);
    for (int k = 1; k <= HFTC_MAX_K; k += 2)
        fprintf(f, "<tr><td>nDCG@%d</td><td>%.4f</td></tr>", k, e->ndcg_at[k]);
    fputs("</tbody></table></div></section>\n", f);
}

static void levels(FILE *f, const hftc_evaluation *e)
{
    fputs("<section id=\"levels\"><h2>Per level</h2><table><thead><tr><th>level</th><th>labels</th>"
          "<th>micro-F1</th><th>macro-F1</th><th>accuracy</th><th>accuracy given the true parent</th></tr></thead>"
          "<tbody>",
          f);
    for (size_t i = 0; i < e->n_levels; i++) {
        const hftc_level_metrics *l = &e->level[i];
        fprintf(f, "<tr><td>%zu</td><td>%zu</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>", i + 1, l->labels, l->micro_f1,
                l->macro_f1, l->accuracy);
        if (l->docs_given_parent)
            fprintf(f, "<td>%.4f (%zu documents)</td></tr>", l->accuracy_given_parent, l->docs_given_parent);
        else
            fputs("<td>&mdash;</td></tr>", f);
    }
    fputs("</tbody></table></section>\n", f);
}

/* One category's line in the tree: its F1 (coloured), name and support. */
static void tree_label(FILE *f, const report *r, size_t c, bool repeated)
{
    const hftc_label_metrics *l = r->label[c];
    if (l && l->support) {
        fputs("<span class=\"f1\" style=\"background:", f);
        html_f1_colour(f, l->f1);
        fprintf(f, "\">%.2f</span>", l->f1);
    } else {
        fputs("<span class=\"f1 none\">&ndash;</span>", f);
    }
    html_text(f, hftc_model_label(r->m, c));
    if (l && l->support)
        fprintf(f, " <span class=\"sup\">support %zu, predicted %zu, P %.2f, R %.2f</span>", l->support, l->predicted,
                l->precision, l->recall);
    else
        fprintf(f, " <span class=\"sup\">not in the test set%s</span>", l && l->predicted ? "; predicted anyway" : "");
    if (repeated)
        fputs(" <span class=\"sup\">(its children are shown under its first parent)</span>", f);
}

/* The children of every category and of the root (index C) as CSR: start (C + 2), children; NULL on no memory. */
static size_t *tree_children(const hftc_model *m, size_t C, size_t **children)
{
    size_t max = 0, edges = 0;
    for (size_t c = 0; c < C; c++) {
        size_t n = hftc_model_label_parents(m, c, NULL, 0);
        max = n > max ? n : max;
        edges += n ? n : 1;
    }
    size_t *start = calloc(C + 2, sizeof *start), *fill = calloc(C + 1, sizeof *fill),
           *parents = malloc((max ? max : 1) * sizeof *parents);
    *children = malloc((edges ? edges : 1) * sizeof **children);
    if (!start || !fill || !parents || !*children) {
        free(start), free(fill), free(parents), free(*children);
        return NULL;
    }
    for (size_t c = 0; c < C; c++) {
        size_t n = hftc_model_label_parents(m, c, parents, max);
        for (size_t k = 0; k < n; k++)
            start[parents[k] + 1]++;
        start[C + 1] += n == 0;
    }
    for (size_t c = 1; c <= C + 1; c++)
        start[c] += start[c - 1];
    for (size_t c = 0; c < C; c++) {
        size_t n = hftc_model_label_parents(m, c, parents, max);
        for (size_t k = 0; k < n; k++)
            (*children)[start[parents[k]] + fill[parents[k]]++] = c;
        if (!n)
            (*children)[start[C] + fill[C]++] = c;
    }
    free(fill), free(parents);
    return start;
}

/* The top level's categories open at first: where they show at most this many lines in all. */
#define REPORT_TREE_OPEN_LINES 60

/* The taxonomy, parents before children: each category with children a <details> (the top level open when it
 * is small: REPORT_TREE_OPEN_LINES), each
 * with several parents under each of them, its subtree under the first only. Walked with a stack of its
 * own: a taxonomy may be a chain thousands of levels deep. */
static void taxonomy_tree(FILE *f, const report *r)
{
    size_t C = hftc_model_num_labels(r->m), *children = NULL, *start = tree_children(r->m, C, &children);
    size_t *stack = malloc((C + 1) * sizeof *stack), *pos = malloc((C + 1) * sizeof *pos);
    bool *shown = calloc(C + 1, sizeof *shown);
    fputs("<section id=\"taxonomy\"><h2>Taxonomy</h2><p class=\"note\">Each category's test F1 (red 0, green 1) and "
          "support; click a category to open or close it.</p>",
          f);
    if (!start || !stack || !pos || !shown) {
        fputs("<p id=\"taxonomy-tree\">out of memory drawing the taxonomy</p></section>\n", f);
        if (start)
            free(children);
        free(start), free(stack), free(pos), free(shown);
        return;
    }
    size_t lines = start[C + 1] - start[C];
    for (size_t i = start[C]; i < start[C + 1]; i++)
        lines += start[children[i] + 1] - start[children[i]];
    fputs("<div id=\"taxonomy-tree\"><ul>", f);
    size_t top = 0;
    stack[top] = C, pos[top++] = start[C];
    while (top) {
        size_t u = stack[top - 1];
        if (pos[top - 1] == start[u + 1]) {
            top--;
            fputs(top ? "</ul></details></li>" : "", f);
            continue;
        }
        size_t c = children[pos[top - 1]++];
        bool has_children = start[c + 1] > start[c], repeated = shown[c];
        shown[c] = true;
        if (!has_children || repeated) {
            fputs("<li class=\"leaf\">", f);
            tree_label(f, r, c, has_children);
            fputs("</li>", f);
            continue;
        }
        fprintf(f, "<li><details%s><summary>", u == C && lines <= REPORT_TREE_OPEN_LINES ? " open" : "");
        tree_label(f, r, c, false);
        fputs("</summary><ul>", f);
        stack[top] = c, pos[top++] = start[c];
    }
    fputs("</ul></div></section>\n", f);
    free(start), free(children), free(stack), free(pos), free(shown);
}

static void confusions(FILE *f, const report *r)
{
    const hftc_evaluation *e = r->test;
    fputs("<section id=\"confusions\"><h2>Sibling confusions</h2><p class=\"note\">Documents of a category for "
          "which a sibling (a category under the same parent) was predicted instead: the category missed, the "
          "sibling not the document's.</p>",
          f);
    if (!e->n_confusions) {
        fputs("<p>None: no document had a category replaced by a sibling.</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>category</th><th>predicted instead</th><th>documents</th><th>of its support</th>"
          "</tr></thead><tbody>",
          f);
    for (size_t i = 0; i < e->n_confusions && i < REPORT_CONFUSIONS; i++) {
        const hftc_confusion *c = &e->confusions[i];
        size_t support = 0;
        for (size_t l = 0; l < e->n_per_label; l++)
            if (!strcmp(e->per_label[l].label, c->gold))
                support = e->per_label[l].support;
        fputs("<tr><td>", f);
        html_text(f, c->gold);
        fputs("</td><td>", f);
        html_text(f, c->predicted);
        fprintf(f, "</td><td>%zu</td><td>%.1f%%</td></tr>", c->count,
                support ? 100.0 * (double)c->count / (double)support : 0.0);
    }
    fprintf(f, "</tbody></table><p class=\"note\">%zu of %zu pairs.</p></section>\n",
            e->n_confusions < REPORT_CONFUSIONS ? e->n_confusions : (size_t)REPORT_CONFUSIONS, e->n_confusions);
}

void report_html(FILE *f, const report *r)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
          "script-src 'unsafe-inline'\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>hftc report: ",
          f);
    html_text(f, r->model_path);
    fprintf(f, "</title><style>%s</style><script>%s</script></head>\n<body>\n<h1>hftc report</h1>", style, script_head);
    fputs("<p class=\"meta\">model <code>", f);
    html_text(f, r->model_path);
    fputs("</code> (", f);
    html_text(f, json_string_value(json_object_get(r->model, "preset")));
    fprintf(f, ", %zu labels) on <code>", hftc_model_num_labels(r->m));
    html_text(f, r->test_path);
    fputs("</code>; scoring ", f);
    html_text(f, r->scoring);
    if (r->test->label_thresholds)
        fputs(", the model's per-label thresholds", f);
    else
        fprintf(f, ", threshold %.2f", (double)r->threshold);
    fputs("</p>\n", f);
    overall(f, r->test);
    levels(f, r->test);
    taxonomy_tree(f, r);
    report_f1_support(f, r);
    confusions(f, r);
    report_training(f, r);
    report_threshold(f, r);
    fprintf(f, "<script>%s</script>\n</body></html>\n", script_end);
}
