/* hftc report: what the page is made of (report.c gathers it; report_html.c writes the page, its tables and
 * the taxonomy; report_charts.c its SVG charts). Every text from data (label names, file names, part names)
 * goes through html_text. */
#ifndef HFTC_CLI_REPORT_H
#define HFTC_CLI_REPORT_H

#include "hftc.h"

#include <jansson.h>
#include <stdio.h>

/* The confused sibling pairs the page lists. */
#define REPORT_CONFUSIONS 15
/* A node model's classifiers whose epochs the page draws, at most. */
#define REPORT_NODE_CHARTS 12

typedef struct {
    const hftc_model *m;
    const char *model_path, *test_path;
    const char *valid_path;       /* NULL: no --valid */
    const hftc_evaluation *test;  /* with per-label figures and sibling confusions */
    const hftc_evaluation *valid; /* with the threshold curve; NULL without --valid */
    const json_t *model;          /* hftc_model_describe's */
    const char *scoring;          /* the evaluations' */
    float threshold;              /* the evaluations' */
    /* Per model label (hftc_model_num_labels): its figures in test->per_label, NULL where it is neither in
     * the test set nor predicted. */
    const hftc_label_metrics **label;
} report;

/* s with &, <, >, " and ' as HTML entities: for element text and attribute values alike. */
void html_text(FILE *f, const char *s);
/* The colour of an F1 (red 0 to green 1), as CSS. */
void html_f1_colour(FILE *f, double f1);

/* The whole page. */
void report_html(FILE *f, const report *r);

/* The sections of charts (each an SVG with its id): F1 against support; the training curves; threshold
 * against precision and recall on the validation set. */
void report_f1_support(FILE *f, const report *r);
void report_training(FILE *f, const report *r);
void report_threshold(FILE *f, const report *r);

#endif
