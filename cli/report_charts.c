/* hftc report's charts, inline SVG drawn here (no script, no library): F1 against support per label (support on
 * a log scale), the epochs of each network's training from the model's record, and precision, recall and F1
 * against the threshold on validation data. Hovering a point or a line shows its <title>. */
#include "commands.h"
#include "report.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The plot area inside an SVG of CHART_W x CHART_H. */
enum { CHART_W = 540, CHART_H = 300, PLOT_L = 52, PLOT_R = 44, PLOT_T = 14, PLOT_B = 42 };

typedef struct {
    double x0, x1, y0, y1; /* the data's ranges */
    bool log_x;            /* x is drawn as log10(x) */
} chart_axes;

static double px(const chart_axes *a, double x)
{
    double v = a->log_x ? log10(x) : x, lo = a->log_x ? log10(a->x0) : a->x0, hi = a->log_x ? log10(a->x1) : a->x1;
    return PLOT_L + (hi > lo ? (v - lo) / (hi - lo) : 0.5) * (CHART_W - PLOT_L - PLOT_R);
}

static double py(const chart_axes *a, double y)
{
    return CHART_H - PLOT_B - (a->y1 > a->y0 ? (y - a->y0) / (a->y1 - a->y0) : 0.5) * (CHART_H - PLOT_T - PLOT_B);
}

/* A round step giving about five ticks over span. */
static double tick_step(double span)
{
    double raw = span > 0 ? span / 5.0 : 1.0, p = pow(10.0, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1.0 : m < 3.5 ? 2.0 : m < 7.5 ? 5.0 : 10.0);
}

/* The SVG's opening, frame, ticks (powers of ten on a log x) and axis names. */
static void chart_open(FILE *f, const char *id, const chart_axes *a, const char *x_name, const char *y_name)
{
    fprintf(f, "<svg id=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">", id, CHART_W, CHART_H,
            CHART_W, CHART_H);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#ccc\"/>", PLOT_L, PLOT_T,
            CHART_W - PLOT_L - PLOT_R, CHART_H - PLOT_T - PLOT_B);
    double step = tick_step(a->x1 - a->x0);
    if (a->log_x)
        step = 10.0;
    else if (step < 1.0 && a->x1 - a->x0 >= 2.0)
        step = 1.0; /* epochs are whole numbers */
    for (double x = a->log_x ? 1.0 : ceil(a->x0 / step) * step; x <= a->x1 * (1 + 1e-9);
         x = a->log_x ? x * 10.0 : x + step) {
        if (x < a->x0 * (1 - 1e-9))
            continue;
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e4e4e4\"/>", px(a, x), px(a, x), PLOT_T,
                CHART_H - PLOT_B);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>", px(a, x), CHART_H - PLOT_B + 14, x);
    }
    step = tick_step(a->y1 - a->y0);
    for (double y = ceil(a->y0 / step) * step; y <= a->y1 + 1e-9; y += step) {
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", PLOT_L, CHART_W - PLOT_R,
                py(a, y), py(a, y));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>", PLOT_L - 4, py(a, y) + 4,
                fabs(y) < 1e-12 ? 0.0 : y);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>", (CHART_W + PLOT_L) / 2, CHART_H - 6, x_name);
    fprintf(f, "<text transform=\"translate(13 %d) rotate(-90)\" text-anchor=\"middle\">%s</text>",
            (CHART_H - PLOT_B + PLOT_T) / 2, y_name);
}

/* A second y scale on the right (ticks and name), for a line drawn against b. */
static void right_axis(FILE *f, const chart_axes *b, const char *name)
{
    double step = tick_step(b->y1 - b->y0);
    for (double y = ceil(b->y0 / step) * step; y <= b->y1 + 1e-9; y += step)
        fprintf(f, "<text x=\"%d\" y=\"%.1f\">%g</text>", CHART_W - PLOT_R + 4, py(b, y) + 4,
                fabs(y) < 1e-12 ? 0.0 : y);
    fprintf(f, "<text transform=\"translate(%d %d) rotate(90)\" text-anchor=\"middle\">%s</text>", CHART_W - 12,
            (CHART_H - PLOT_B + PLOT_T) / 2, name);
}

/* One line of n points (NAN values skipped), with its name as the hover title. */
static void chart_line(FILE *f, const chart_axes *a, const double *x, const double *y, size_t n, const char *colour,
                       const char *name, bool dashed)
{
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", colour,
            dashed ? " stroke-dasharray=\"5 3\"" : "");
    for (size_t i = 0; i < n; i++)
        if (!isnan(y[i]))
            fprintf(f, "%.1f,%.1f ", px(a, x[i]), py(a, y[i]));
    fputs("\"><title>", f);
    html_text(f, name);
    fputs("</title></polyline>", f);
}

/* The legend under a chart: each name in its line's colour. */
static void legend(FILE *f, const char *const *names, const char *const *colours, size_t n)
{
    fputs("<figcaption>", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "<span style=\"color:%s\">&#9644; ", colours[i]);
        html_text(f, names[i]);
        fputs("</span> ", f);
    }
}

void report_f1_support(FILE *f, const report *r)
{
    const hftc_evaluation *e = r->test;
    size_t most = 1, points = 0;
    for (size_t i = 0; i < e->n_per_label; i++)
        if (e->per_label[i].support) {
            most = e->per_label[i].support > most ? e->per_label[i].support : most;
            points++;
        }
    chart_axes a = {1.0, pow(10.0, ceil(log10((double)most) + 1e-9)), 0.0, 1.0, true};
    if (a.x1 < 10.0)
        a.x1 = 10.0;
    fprintf(f, "<section id=\"f1-support\"><h2>F1 against support</h2><figure>");
    chart_open(f, "f1-support-chart", &a, "support (test documents, log scale)", "F1");
    for (size_t i = 0; i < e->n_per_label; i++) {
        const hftc_label_metrics *l = &e->per_label[i];
        if (!l->support)
            continue;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill-opacity=\"0.75\" fill=\"",
                px(&a, (double)l->support), py(&a, l->f1));
        html_f1_colour(f, l->f1);
        fputs("\"><title>", f);
        html_text(f, l->label);
        fprintf(f, ": F1 %.3f, support %zu%s</title></circle>", l->f1, l->support,
                l->level ? "" : " (unknown to the model)");
    }
    fprintf(f, "</svg><figcaption>%zu labels of the test set, one point each.</figcaption></figure></section>\n",
            points);
}

/* The part of a training record to draw: a name and its epochs (the record's array). */
typedef struct {
    char name[160];
    const json_t *epochs;
    long long best_epoch;
} trained_part;

/* The validation metric an epoch records besides its loss (valid_micro_f1, valid_accuracy, ...): the first
 * "valid_" key that is not the loss. */
static const char *valid_metric(const json_t *epoch)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)epoch, key, v)
    {
        if (!strncmp(key, "valid_", 6) && strcmp(key, "valid_loss") && json_is_number(v))
            return key;
    }
    return NULL;
}

static void part_chart(FILE *f, const trained_part *p, size_t index)
{
    size_t n = json_array_size(p->epochs);
    double *x = calloc(4 * n + 1, sizeof *x), *train = x + n, *valid = x + 2 * n, *metric_y = x + 3 * n;
    if (!x)
        return;
    const char *metric_key = valid_metric(json_array_get(p->epochs, 0));
    /* the losses on the left scale, from 0 to their largest; the validation metric on the right, 0 to 1 */
    chart_axes a = {1.0, n > 1 ? (double)n : 2.0, 0.0, 0.0, false}, b = a;
    b.y1 = 1.0;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(p->epochs, i);
        const json_t *tl = json_object_get(e, "train_loss"), *vl = json_object_get(e, "valid_loss");
        const json_t *mv = metric_key ? json_object_get(e, metric_key) : NULL;
        x[i] = (double)(i + 1);
        train[i] = json_is_number(tl) ? json_number_value(tl) : NAN;
        valid[i] = json_is_number(vl) ? json_number_value(vl) : NAN;
        metric_y[i] = json_is_number(mv) ? json_number_value(mv) : NAN;
        a.y1 = fmax(a.y1, fmax(isnan(train[i]) ? 0 : train[i], isnan(valid[i]) ? 0 : valid[i]));
    }
    double step = tick_step(a.y1);
    a.y1 = a.y1 > 0 ? ceil(a.y1 / step - 1e-9) * step : 1.0;
    char id[32];
    snprintf(id, sizeof id, "training-chart-%zu", index + 1);
    fputs("<figure><figcaption><b>", f);
    html_text(f, p->name);
    fprintf(f, "</b>: %zu epochs, the best %lld</figcaption>", n, p->best_epoch);
    chart_open(f, id, &a, "epoch", "loss");
    if (metric_key)
        right_axis(f, &b, "validation metric (dashed)");
    if (p->best_epoch >= 1 && (size_t)p->best_epoch <= n)
        fprintf(f,
                "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#888\" stroke-dasharray=\"2 3\">"
                "<title>best epoch %lld (kept)</title></line>",
                px(&a, (double)p->best_epoch), px(&a, (double)p->best_epoch), PLOT_T, CHART_H - PLOT_B, p->best_epoch);
    static const char *const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c"};
    chart_line(f, &a, x, train, n, colours[0], "training loss", false);
    chart_line(f, &a, x, valid, n, colours[1], "validation loss", false);
    if (metric_key)
        chart_line(f, &b, x, metric_y, n, colours[2], metric_key, true);
    fputs("</svg>", f);
    const char *names[] = {"training loss", "validation loss", metric_key};
    legend(f, names, colours, metric_key ? 3 : 2);
    fputs("</figcaption></figure>", f);
    free(x);
}

/* A node classifier's kept run: the one of its class weight (the last if none matches). */
static const json_t *kept_run(const json_t *node)
{
    const json_t *runs = json_object_get(node, "runs"), *run, *kept = NULL;
    double weight = json_number_value(json_object_get(node, "class_weight"));
    size_t i;
    json_array_foreach(runs, i, run)
    {
        kept = run;
        if (json_number_value(json_object_get(run, "class_weight")) == weight)
            return run;
    }
    return kept;
}

/* A node model: per level, how many classifiers and their validation F1 and epochs; then the epochs of a few
 * classifiers, taking each level in turn its classifiers with the most training positives. */
static size_t node_parts(FILE *f, const json_t *nodes, trained_part *parts)
{
    size_t n = json_array_size(nodes), depth = 0, i;
    const json_t *node;
    json_array_foreach(nodes, i, node)
    {
        size_t level = (size_t)json_integer_value(json_object_get(node, "level"));
        depth = level > depth ? level : depth;
    }
    fputs("<table id=\"training-levels\"><thead><tr><th>level</th><th>classifiers</th><th>mean validation F1</th>"
          "<th>lowest</th><th>mean epochs run</th></tr></thead><tbody>",
          f);
    for (size_t level = 1; level <= depth; level++) {
        size_t count = 0, epochs = 0;
        double sum = 0, lowest = 1;
        json_array_foreach(nodes, i, node)
        {
            if ((size_t)json_integer_value(json_object_get(node, "level")) != level)
                continue;
            double v = json_number_value(json_object_get(node, "valid_f1"));
            count++, sum += v, lowest = fmin(lowest, v);
            epochs += json_array_size(json_object_get(kept_run(node), "epochs"));
        }
        if (count)
            fprintf(f, "<tr><td>%zu</td><td>%zu</td><td>%.4f</td><td>%.4f</td><td>%.1f</td></tr>", level, count,
                    sum / (double)count, lowest, (double)epochs / (double)count);
    }
    fputs("</tbody></table>", f);
    bool *taken = calloc(n + 1, sizeof *taken);
    size_t chosen = 0;
    for (bool more = true; taken && more && chosen < REPORT_NODE_CHARTS;) {
        more = false;
        for (size_t level = 1; level <= depth && chosen < REPORT_NODE_CHARTS; level++) {
            size_t best = n;
            long long most = -1;
            json_array_foreach(nodes, i, node)
            {
                long long positives = json_integer_value(json_object_get(node, "train_positives"));
                if (!taken[i] && (size_t)json_integer_value(json_object_get(node, "level")) == level &&
                    positives > most)
                    best = i, most = positives;
            }
            if (best == n)
                continue;
            taken[best] = more = true;
            node = json_array_get(nodes, best);
            const json_t *run = kept_run(node);
            trained_part *p = &parts[chosen++];
            snprintf(p->name, sizeof p->name, "%s (level %lld, %lld training positives)",
                     json_string_value(json_object_get(node, "label")),
                     json_integer_value(json_object_get(node, "level")), most);
            p->epochs = json_object_get(run, "epochs");
            p->best_epoch = json_integer_value(json_object_get(run, "best_epoch"));
        }
    }
    free(taken);
    fprintf(f,
            "<p class=\"note\">%zu of the %zu classifiers drawn: at each level in turn, those with the most "
            "training positives.</p>",
            chosen, n);
    return chosen;
}

void report_training(FILE *f, const report *r)
{
    const json_t *training = json_object_get(r->model, "training"), *record_parts = json_object_get(training, "parts");
    const json_t *described = json_object_get(r->model, "parts"), *part;
    trained_part parts[HFTC_MAX_LEVELS + REPORT_NODE_CHARTS]; /* a level model: one network per level */
    size_t n = 0, i;
    fputs("<section id=\"training\"><h2>Training</h2><div id=\"training-curves\">", f);
    if (json_object_get(training, "nodes")) {
        n = node_parts(f, json_object_get(training, "nodes"), parts);
    } else {
        size_t k = 0; /* the parts that are not branches, for records that name no part */
        json_array_foreach(described, i, part)
        {
            const char *name = json_string_value(json_object_get(part, "name"));
            const json_t *record = json_is_array(record_parts) ? cli_part_record(training, name ? name : "", k) : NULL;
            k += !json_object_get(part, "branch");
            if (n == sizeof parts / sizeof *parts || !json_array_size(json_object_get(record, "epochs")))
                continue;
            snprintf(parts[n].name, sizeof parts[n].name, "%s", name ? name : "network");
            parts[n].epochs = json_object_get(record, "epochs");
            parts[n].best_epoch = json_integer_value(json_object_get(record, "best_epoch"));
            n++;
        }
    }
    if (n) {
        fputs("<p class=\"note\">Each network's epochs from the model's training record; the dotted line marks the "
              "epoch kept.</p><div class=\"charts\">",
              f);
        for (size_t p = 0; p < n; p++)
            part_chart(f, &parts[p], p);
        fputs("</div>", f);
    } else {
        fputs("<p id=\"training-absent\">The model's training record has no epochs to draw (a linear model, an "
              "ensemble, or a model trained without a record of its epochs).</p>",
              f);
    }
    fputs("</div></section>\n", f);
}

void report_threshold(FILE *f, const report *r)
{
    fputs("<section id=\"threshold\"><h2>Threshold against precision and recall</h2>", f);
    const hftc_evaluation *v = r->valid;
    if (!v || !v->n_curve) {
        fputs("<p id=\"threshold-absent\">", f);
        if (!v) {
            const char *used = json_string_value(
                json_object_get(json_object_get(json_object_get(r->model, "training"), "options"), "valid"));
            fputs("The model does not store its validation scores: give <code>--valid FILE</code> to draw precision "
                  "and recall against the threshold on it",
                  f);
            if (used) {
                fputs(" (its training validated on <code>", f);
                html_text(f, used);
                fputs("</code>)", f);
            }
            fputs(".</p></section>\n", f);
        } else {
            fputs("The scoring ", f);
            html_text(f, r->scoring);
            fputs(" decides without a threshold: nothing to draw.</p></section>\n", f);
        }
        return;
    }
    double x[HFTC_CURVE_POINTS], y[3][HFTC_CURVE_POINTS];
    for (size_t i = 0; i < v->n_curve; i++)
        x[i] = v->curve[i].threshold, y[0][i] = v->curve[i].precision, y[1][i] = v->curve[i].recall,
        y[2][i] = v->curve[i].f1;
    chart_axes a = {0.0, 1.0, 0.0, 1.0, false};
    fputs("<figure>", f);
    chart_open(f, "threshold-curve", &a, "threshold", "micro figure");
    static const char *const names[] = {"precision", "recall", "F1"}, *const colours[] = {"#1f77b4", "#d62728",
                                                                                          "#2ca02c"};
    fprintf(f,
            "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#888\" stroke-dasharray=\"2 3\">"
            "<title>the threshold decided with: %.2f</title></line>",
            px(&a, r->threshold), px(&a, r->threshold), PLOT_T, CHART_H - PLOT_B, (double)r->threshold);
    for (int s = 0; s < 3; s++)
        chart_line(f, &a, x, y[s], v->n_curve, colours[s], names[s], false);
    for (size_t i = 0; i < v->n_curve; i++)
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>threshold %.2f: precision %.3f, recall "
                "%.3f, F1 %.3f</title></circle>",
                px(&a, x[i]), py(&a, y[2][i]), colours[2], x[i], y[0][i], y[1][i], y[2][i]);
    fputs("</svg>", f);
    legend(f, names, colours, 3);
    fputs("<br>on <code>", f);
    html_text(f, r->valid_path);
    fprintf(f, "</code> (%zu documents), one threshold for every label under the ", v->docs);
    html_text(f, r->scoring);
    fprintf(f,
            " scoring; the dotted line marks the threshold the test figures use%s.</figcaption></figure></section>\n",
            hftc_model_label_thresholds(r->m) ? " (the model also has per-label thresholds, which the curve leaves out)"
                                              : "");
}
