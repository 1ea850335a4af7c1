/* hftc report: a model's evaluation on a labelled file as one self-contained HTML page (report_html.c): what
 * hftc test --json computes, the figures of each label on the taxonomy, the sibling pairs confused, the
 * training curves of the model's record and, with --valid, the threshold against precision and recall. The
 * numbers are the library's (hftc_evaluate); this file gathers them and writes the page, to a new temporary
 * file renamed over --output, so a page is whole or absent. */
#include "args.h"
#include "commands.h"
#include "report.h"

#include "hftc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void write_page(FILE *f, const void *r) { report_html(f, r); }

/* Each model label's figures in e->per_label (in the model's label order, the unknown labels last), or NULL. */
static const hftc_label_metrics **label_figures(const hftc_model *m, const hftc_evaluation *e)
{
    size_t C = hftc_model_num_labels(m), j = 0;
    const hftc_label_metrics **label = calloc(C + 1, sizeof *label);
    for (size_t c = 0; label && c < C; c++)
        if (j < e->n_per_label && !strcmp(e->per_label[j].label, hftc_model_label(m, c)))
            label[c] = &e->per_label[j++];
    return label;
}

int cmd_report(int argc, char **argv)
{
    const char *model_path = NULL, *output = "report.html", *valid_path = NULL;
    hftc_input_options in = {.path = NULL, .format = "auto", .threshold = -1.0f, .scoring = NULL};
    int threads = 0;
    size_t word_cache_mb = HFTC_WORD_CACHE_DEFAULT_BYTES >> 20;
    unsigned long long seed = 1;
    const arg_spec specs[] = {
        {"--model", ARG_STRING, &model_path, "model file"},
        {"--input", ARG_STRING, &in.path, "labelled test data (- for stdin)"},
        {"--valid", ARG_STRING, &valid_path,
         "labelled validation data: draw the threshold against precision and recall on it (the model does not store "
         "validation scores)"},
        {"--output", ARG_STRING, &output, "the HTML page to write (- for stdout)"},
        {"--format", ARG_STRING, &in.format, "data format of --input and --valid: auto, tsv, fasttext, jsonl"},
        {"--scoring", ARG_STRING, &in.scoring, "as hftc test's; the model's by default"},
        {"--threshold", ARG_FLOAT, &in.threshold, CLI_THRESHOLD_HELP},
        {"--skip-bad-lines", ARG_BOOL, &in.skip_bad_lines, "skip malformed lines with a warning"},
        CLI_MODEL_LOAD_SPECS(threads, word_cache_mb, seed),
    };
    int rc = args_parse("report", "--model MODEL --input F [--valid F] [--output report.html]", specs,
                        sizeof specs / sizeof *specs, argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    if (!in.path) {
        fprintf(stderr, "hftc report: --input is required\n");
        return 2;
    }
    if (valid_path && !strcmp(valid_path, "-") && !strcmp(in.path, "-")) {
        fprintf(stderr, "hftc report: --input and --valid cannot both be standard input\n");
        return 2;
    }
    if ((rc = cli_check_threshold("report", in.threshold)))
        return rc;
    hftc_model *m;
    if ((rc = cli_load_model("report", model_path, threads, word_cache_mb, &m)))
        return rc;
    hftc_evaluation test, valid;
    in.per_label = 1, in.sibling_confusions = 1;
    if (hftc_evaluate(m, &in, &test) != HFTC_STATUS_OK) {
        hftc_model_free(m);
        return cli_fail("report");
    }
    hftc_input_options vin = in;
    vin.path = valid_path, vin.per_label = 0, vin.sibling_confusions = 0, vin.threshold_curve = 1;
    if (valid_path && hftc_evaluate(m, &vin, &valid) != HFTC_STATUS_OK) {
        hftc_evaluation_free(&test);
        hftc_model_free(m);
        return cli_fail("report");
    }
    char *described = hftc_model_describe(m);
    json_t *model = described ? json_loads(described, 0, NULL) : NULL;
    report r = {.m = m,
                .model_path = model_path,
                .test_path = in.path,
                .valid_path = valid_path,
                .test = &test,
                .valid = valid_path ? &valid : NULL,
                .model = model,
                .scoring = in.scoring ? in.scoring : hftc_model_scoring(m),
                .threshold = in.threshold >= 0.0f ? in.threshold : hftc_model_threshold(m),
                .label = label_figures(m, &test)};
    if (!model || !r.label) {
        fprintf(stderr, "hftc report: out of memory\n");
        rc = 1;
    } else {
        rc = cli_write_file("report", output, write_page, &r);
    }
    free(r.label), free(described);
    json_decref(model);
    if (valid_path)
        hftc_evaluation_free(&valid);
    hftc_evaluation_free(&test);
    hftc_model_free(m);
    return rc;
}
