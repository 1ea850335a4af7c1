/* hftc predict: labels for every input document, one output line each, in input order. */
#include "args.h"
#include "commands.h"

#include "hftc.h"

#include <jansson.h>
#include <stdlib.h>

typedef struct {
    const hftc_model *m;
    size_t k;
    int probs, json;
    int write_failed;
} predict_output;

static hftc_status print_prediction(const hftc_prediction *p, void *user)
{
    predict_output *o = user;
    size_t n = o->k && o->k < p->n_selected ? o->k : p->n_selected;
    if (o->json) {
        json_t *j = cli_prediction_json(o->m, p, o->k);
        char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
        puts(text);
        free(text);
        json_decref(j);
    } else {
        for (size_t i = 0; i < n; i++) {
            fputs(i ? "," : "", stdout);
            fputs(hftc_model_label(o->m, p->selected[i]), stdout);
            if (o->probs)
                printf(":%.6f", (double)p->probs[p->selected[i]]);
            for (size_t j = 0; j < p->n_words && p->word_weights[i * p->n_words + j] > 0.0f; j++)
                printf("%s%s", j ? " " : " [", p->words[i * p->n_words + j]);
            fputs(p->n_words && p->word_weights[i * p->n_words] > 0.0f ? "]" : "", stdout);
        }
        fputc('\n', stdout);
    }
    // The answers so far leave at the end of each batch, so a program feeding documents one at a time
    // through a pipe reads each answer before it writes the next document.
    if (!ferror(stdout) && (!p->batch_end || fflush(stdout) == 0))
        return HFTC_STATUS_OK;
    o->write_failed = 1; /* a full disk, a closed pipe: stop reading */
    return HFTC_STATUS_IO;
}

int cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL;
    hftc_input_options in = {.path = "-", .format = "auto", .threshold = -1.0f, .scoring = NULL, .prune = 1};
    predict_output out = {0};
    int threads = 0;
    size_t word_cache_mb = HFTC_WORD_CACHE_DEFAULT_BYTES >> 20;
    unsigned long long seed = 1;
    const arg_spec specs[] = {
        {"--model", ARG_STRING, &model_path, "model file"},
        {"--input", ARG_STRING, &in.path, "documents, one per line (text, tsv, fasttext or jsonl; - for stdin)"},
        {"--format", ARG_STRING, &in.format, "input format: auto, text, tsv, fasttext, jsonl"},
        {"--k", ARG_SIZE, &out.k, "at most this many labels per document (0 = all above the threshold)"},
        {"--threshold", ARG_FLOAT, &in.threshold, CLI_THRESHOLD_HELP},
        {"--scoring", ARG_STRING, &in.scoring,
         "independent, bsf (kept only if the parent is), msf (own probability, ranked by the path's product), product "
         "(the path's product thresholded), top-down, argmax (softmax levels), "
         "leaf (the best leaf and its ancestors: single-path data), leaf-product (the leaf of the best path "
         "product); "
         "the model's by default"},
        {"--probs", ARG_FLAG, &out.probs, "print label:probability"},
        {"--json", ARG_FLAG, &out.json, "one JSON object per line with labels and scores"},
        {"--skip-bad-lines", ARG_BOOL, &in.skip_bad_lines, "skip malformed lines with a warning"},
        {"--prune", ARG_BOOL, &in.prune, CLI_PRUNE_HELP},
        {"--explain", ARG_SIZE, &in.explain,
         "bigru-att models: the this-many words each label's classifier attended to most (JSON: words, "
         "word_weights)"},
        CLI_MODEL_LOAD_SPECS(threads, word_cache_mb, seed),
    };
    int rc = args_parse("predict", "--model MODEL [--input F | -] [--k K] [--threshold T] [--probs] [--json]", specs,
                        sizeof specs / sizeof *specs, argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    if ((rc = cli_check_threshold("predict", in.threshold)))
        return rc;
    hftc_model *m;
    if ((rc = cli_load_model("predict", model_path, threads, word_cache_mb, &m)))
        return rc;
    out.m = m;
    hftc_status st = hftc_predict_file(m, &in, 0, print_prediction, &out);
    hftc_model_free(m);
    if (out.write_failed || fflush(stdout) != 0) {
        fprintf(stderr, "hftc predict: writing the predictions failed\n");
        return 1;
    }
    return st == HFTC_STATUS_OK ? 0 : cli_fail("predict");
}
