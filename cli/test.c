/* hftc test: evaluates a model on a labelled file; --json prints one object (docs/ARCHITECTURE.md, "The command-line
 * contract"). */
#include "args.h"
#include "commands.h"

#include "hftc.h"

#include <jansson.h>
#include <string.h>

/* member: 0, or which member of an ensemble m is (named member_name). */
static void print_json(const hftc_model *m, const hftc_evaluation *e, float threshold, const char *scoring, int prune,
                       size_t member, const char *member_name)
{
    json_t *j = json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "docs", (json_int_t)e->docs, "labels",
                          (json_int_t)e->labels, "unknown_labels", (json_int_t)e->unknown_labels, "micro_precision",
                          e->micro_precision, "micro_recall", e->micro_recall, "micro_f1", e->micro_f1, "macro_f1",
                          e->macro_f1, "exact_match", e->exact_match, "threshold", (double)threshold);
    json_object_set_new(j, "weighted_f1", json_real(e->weighted_f1));
    json_object_set_new(j, "label_thresholds", json_boolean(e->label_thresholds));
    for (int k = 1; k <= HFTC_MAX_K; k += 2) {
        char key[16];
        snprintf(key, sizeof key, "p@%d", k);
        json_object_set_new(j, key, json_real(e->precision_at[k]));
        snprintf(key, sizeof key, "ndcg@%d", k);
        json_object_set_new(j, key, json_real(e->ndcg_at[k]));
    }
    json_t *levels = json_array();
    for (size_t i = 0; i < e->n_levels; i++) {
        const hftc_level_metrics *l = &e->level[i];
        json_array_append_new(levels,
                              json_pack("{s:I, s:I, s:f, s:f, s:f, s:f, s:I}", "level", (json_int_t)i + 1, "labels",
                                        (json_int_t)l->labels, "micro_f1", l->micro_f1, "macro_f1", l->macro_f1,
                                        "accuracy", l->accuracy, "accuracy_given_parent", l->accuracy_given_parent,
                                        "docs_given_parent", (json_int_t)l->docs_given_parent));
    }
    json_object_set_new(j, "levels", levels);
    json_object_set_new(j, "overall_accuracy", json_real(e->overall_accuracy));
    json_object_set_new(j, "hierarchical_precision", json_real(e->hierarchical_precision));
    json_object_set_new(j, "hierarchical_recall", json_real(e->hierarchical_recall));
    json_object_set_new(j, "hierarchical_f1", json_real(e->hierarchical_f1));
    json_object_set_new(j, "scoring", json_string(scoring));
    json_object_set_new(j, "prune", json_boolean(prune));
    json_object_set_new(j, "model_labels", json_integer((json_int_t)hftc_model_num_labels(m)));
    if (member) {
        json_object_set_new(j, "member", json_integer((json_int_t)member));
        json_object_set_new(j, "member_name", json_string(member_name));
    }
    json_object_set_new(j, "seconds", json_real(e->seconds));
    json_object_set_new(j, "docs_per_second", json_real(e->docs_per_second));
    if (e->per_label) {
        json_t *labels = json_array();
        for (size_t i = 0; i < e->n_per_label; i++) {
            const hftc_label_metrics *l = &e->per_label[i];
            json_array_append_new(labels,
                                  json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "label", l->label, "level",
                                            (json_int_t)l->level, "support", (json_int_t)l->support, "predicted",
                                            (json_int_t)l->predicted, "correct", (json_int_t)l->correct, "precision",
                                            l->precision, "recall", l->recall, "f1", l->f1));
        }
        json_object_set_new(j, "per_label", labels);
    }
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    puts(text);
    free(text);
    json_decref(j);
}

static void print_text(const hftc_evaluation *e, float threshold)
{
    printf("documents        %zu\n", e->docs);
    printf("labels           %zu in the gold set (%zu unknown to the model)\n", e->labels, e->unknown_labels);
    if (e->label_thresholds)
        printf("threshold        one per label (tuned on the validation split; --threshold T for one)\n");
    else
        printf("threshold        %g\n", (double)threshold);
    printf("micro-F1         %.4f  (precision %.4f, recall %.4f)\n", e->micro_f1, e->micro_precision, e->micro_recall);
    printf("macro-F1         %.4f\n", e->macro_f1);
    printf("weighted F1      %.4f  (the labels' F1 weighted by their support)\n", e->weighted_f1);
    printf("hierarchical F1  %.4f  (precision %.4f, recall %.4f; predictions with their ancestors)\n",
           e->hierarchical_f1, e->hierarchical_precision, e->hierarchical_recall);
    printf("exact match      %.4f\n", e->exact_match);
    printf("overall accuracy %.4f  (the document's last-level labels predicted)\n", e->overall_accuracy);
    printf("P@1 P@3 P@5      %.4f %.4f %.4f\n", e->precision_at[1], e->precision_at[3], e->precision_at[5]);
    printf("nDCG@1 @3 @5     %.4f %.4f %.4f\n", e->ndcg_at[1], e->ndcg_at[3], e->ndcg_at[5]);
    for (size_t i = 0; i < e->n_levels; i++)
        printf("level %-2zu         micro-F1 %.4f  macro-F1 %.4f  accuracy %.4f  given the true parent %.4f  (%zu "
               "labels)\n",
               i + 1, e->level[i].micro_f1, e->level[i].macro_f1, e->level[i].accuracy,
               e->level[i].accuracy_given_parent, e->level[i].labels);
    if (e->per_label) {
        printf("\n%-40s %5s %8s %9s %9s %9s %9s\n", "label", "level", "support", "predicted", "precision", "recall",
               "F1");
        for (size_t i = 0; i < e->n_per_label; i++) {
            const hftc_label_metrics *l = &e->per_label[i];
            printf("%-40s %5zu %8zu %9zu %9.4f %9.4f %9.4f\n", l->label, l->level, l->support, l->predicted,
                   l->precision, l->recall, l->f1);
        }
    }
    printf("reading + inference %.0f docs/s\n", e->docs_per_second);
}

// The per-document counts as TSV: a header, then one line per document in input order.
static void write_doc_counts(FILE *f, const void *user)
{
    const hftc_evaluation *e = user;
    fprintf(f, "document\tright\tpredicted\tgold\n");
    for (size_t d = 0; d < e->docs; d++)
        fprintf(f, "%zu\t%zu\t%zu\t%zu\n", d + 1, e->doc_counts[3 * d], e->doc_counts[3 * d + 1],
                e->doc_counts[3 * d + 2]);
}

int cmd_test(int argc, char **argv)
{
    const char *model_path = NULL;
    hftc_input_options in = {.path = NULL, .format = "auto", .threshold = -1.0f, .scoring = NULL};
    int json = 0, threads = 0;
    size_t member = 0;
    const char *doc_counts = NULL;
    size_t word_cache_mb = HFTC_WORD_CACHE_DEFAULT_BYTES >> 20;
    unsigned long long seed = 1;
    const arg_spec specs[] = {
        {"--model", ARG_STRING, &model_path, "model file"},
        {"--input", ARG_STRING, &in.path, "labelled data to evaluate on (- for stdin)"},
        {"--format", ARG_STRING, &in.format, "data format: auto, tsv, fasttext, jsonl"},
        {"--scoring", ARG_STRING, &in.scoring,
         "independent, bsf (kept only if the parent is), msf (own probability, ranked by the path's product), product "
         "(the path's product thresholded), top-down, argmax (softmax levels), "
         "leaf (the best leaf and its ancestors: single-path data), leaf-product (the leaf of the best path "
         "product); "
         "the model's by default"},
        {"--threshold", ARG_FLOAT, &in.threshold, CLI_THRESHOLD_HELP},
        {"--skip-bad-lines", ARG_BOOL, &in.skip_bad_lines, "skip malformed lines with a warning"},
        {"--prune", ARG_BOOL, &in.prune,
         CLI_PRUNE_HELP "; P@k, nDCG@k and accuracy given the parent are not a full run's"},
        {"--json", ARG_FLAG, &json, "print one JSON object"},
        {"--per-label", ARG_FLAG, &in.per_label,
         "also each label's support, predictions, precision, recall and F1 (level 0: unknown to the model)"},
        {"--doc-counts", ARG_STRING, &doc_counts,
         "also write each document's labels right, predicted and gold to this TSV file (- for stdout): micro-F1 over "
         "any sample of documents is 2 right / (predicted + gold), for a paired bootstrap"},
        {"--member", ARG_SIZE, &member,
         "an ensemble's member N alone (1 = the first; hftc info lists them), under its own decision rule; 0: the "
         "model"},
        CLI_MODEL_LOAD_SPECS(threads, word_cache_mb, seed),
    };
    int rc = args_parse("test", "--model MODEL --input F [--json]", specs, sizeof specs / sizeof *specs, argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    if (!in.path) {
        fprintf(stderr, "hftc test: --input is required\n");
        return 2;
    }
    if ((rc = cli_check_threshold("test", in.threshold)))
        return rc;
    hftc_model *loaded, *m;
    if ((rc = cli_load_model("test", model_path, threads, word_cache_mb, &loaded)))
        return rc;
    m = member ? hftc_model_member(loaded, member - 1) : loaded;
    if (!m) {
        fprintf(stderr, "hftc test: %s has %zu members: no member %zu%s\n", model_path, hftc_model_num_members(loaded),
                member, hftc_model_num_members(loaded) ? "" : " (not an ensemble)");
        hftc_model_free(loaded);
        return 2;
    }
    hftc_evaluation e;
    in.doc_counts = doc_counts != NULL;
    if (hftc_evaluate(m, &in, &e) != HFTC_STATUS_OK) {
        hftc_model_free(loaded);
        return cli_fail("test");
    }
    if (doc_counts && cli_write_file("test", doc_counts, write_doc_counts, &e)) {
        hftc_evaluation_free(&e);
        hftc_model_free(loaded);
        return 1;
    }
    float threshold = in.threshold >= 0.0f ? in.threshold : hftc_model_threshold(m);
    if (json)
        print_json(m, &e, threshold, in.scoring ? in.scoring : hftc_model_scoring(m), in.prune, member,
                   member ? hftc_model_member_name(loaded, member - 1) : NULL);
    else
        print_text(&e, threshold);
    hftc_evaluation_free(&e);
    hftc_model_free(loaded);
    return 0;
}
