/* hftc info: what a model file holds (JSON with --json, a summary otherwise; an ensemble's members too). */
#include "args.h"
#include "commands.h"

#include "hftc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* An ensemble's members, their weights and validation figures (alone, under their own decision rule), and
 * the ensemble's. */
static void print_members(const json_t *d)
{
    const json_t *members = json_object_get(d, "members"), *choice;
    choice = json_object_get(json_object_get(d, "training"), "ensemble");
    const json_t *figures = json_object_get(choice, "members");
    printf("ensemble         %zu members, the weighted mean of their probabilities", json_array_size(members));
    if (json_object_get(choice, "valid"))
        printf("; weights and threshold chosen on %s (%lld documents)",
               json_string_value(json_object_get(choice, "valid")),
               (long long)json_integer_value(json_object_get(json_object_get(d, "training"), "valid_docs")));
    printf("\n");
    size_t k;
    const json_t *m;
    json_array_foreach(members, k, m)
    {
        const json_t *f = json_array_get(figures, k);
        printf("  member %-7zu weight %.3f  %-12s %s", k + 1, json_number_value(json_object_get(m, "weight")),
               json_string_value(json_object_get(m, "preset")), json_string_value(json_object_get(m, "name")));
        if (f)
            printf("  validation micro-F1 %.4f, macro-F1 %.4f", json_number_value(json_object_get(f, "valid_micro_f1")),
                   json_number_value(json_object_get(f, "valid_macro_f1")));
        printf("\n");
    }
    if (choice)
        printf("  the ensemble   %s scoring, threshold %.2f%s  validation micro-F1 %.4f, macro-F1 %.4f\n",
               json_string_value(json_object_get(choice, "scoring")),
               json_number_value(json_object_get(choice, "threshold")),
               json_is_true(json_object_get(choice, "label_thresholds")) ? " and per-label thresholds" : "",
               json_number_value(json_object_get(choice, "valid_micro_f1")),
               json_number_value(json_object_get(choice, "valid_macro_f1")));
}

/* --preset auto's choice: each member's validation figures (or why it was left out), the ensembles tried, what
 * was kept and why. */
static void print_auto(const json_t *d)
{
    const json_t *a = json_object_get(json_object_get(d, "training"), "auto"), *e;
    if (!a)
        return;
    bool ensemble = !strcmp(json_string_value(json_object_get(a, "chosen")), "ensemble");
    printf("auto             kept %s%s%s: validation micro-F1 %.4f (%.0f s in all)\n",
           ensemble ? "the ensemble under the " : "the member ", json_string_value(json_object_get(a, "why")),
           ensemble ? " scoring" : " alone", json_number_value(json_object_get(a, "valid_micro_f1")),
           json_number_value(json_object_get(a, "seconds")));
    size_t i;
    json_array_foreach(json_object_get(a, "members"), i, e)
    {
        printf("  member %-12s", json_string_value(json_object_get(e, "member")));
        if (json_object_get(e, "left_out"))
            printf(" left out: %s\n", json_string_value(json_object_get(e, "left_out")));
        else
            printf(" validation micro-F1 %.4f, macro-F1 %.4f (alone, its own decisions), %.0f s\n",
                   json_number_value(json_object_get(e, "valid_micro_f1")),
                   json_number_value(json_object_get(e, "valid_macro_f1")),
                   json_number_value(json_object_get(e, "seconds")));
    }
    json_array_foreach(json_object_get(a, "ensembles"), i, e)
        printf("  ensemble under %-12s validation micro-F1 %.4f\n", json_string_value(json_object_get(e, "scoring")),
               json_number_value(json_object_get(e, "valid_micro_f1")));
}

// One line per entry of the record's history: extensions and continued trainings, with their files.
static void print_history(const json_t *training)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(training, "history"), i, e)
    {
        const char *kind = json_string_value(json_object_get(e, "kind"));
        printf("%-16s %s %s", i ? "" : "history", json_string_value(json_object_get(e, "at")), kind ? kind : "?");
        const json_t *added = json_object_get(e, "added"), *removed = json_object_get(e, "removed");
        if (json_array_size(added) || json_array_size(removed))
            printf(": %zu categories added, %zu removed", json_array_size(added), json_array_size(removed));
        const char *train = json_string_value(json_object_get(json_object_get(e, "train"), "path"));
        if (train)
            printf(", from %s", train);
        const json_t *replay = json_object_get(e, "replay");
        if (replay)
            printf(" with %lld documents of %s replayed",
                   (long long)json_integer_value(json_object_get(replay, "docs")),
                   json_string_value(json_object_get(replay, "path")));
        printf(" (%.1f s)\n", json_number_value(json_object_get(e, "train_seconds")));
    }
}

// One line per part of a flat, level or parent model, with the record of its training.
static void print_parts(const json_t *d, const json_t *training)
{
    size_t i, k = 0;
    const json_t *part;
    json_array_foreach(json_object_get(d, "parts"), i, part)
    {
        const char *name = json_string_value(json_object_get(part, "name"));
        const json_t *p = cli_part_record(training, name ? name : "", k);
        k += !json_object_get(part, "branch");
        printf("  %-16s %5lld labels %10lld parameters (%lld trained, %lld frozen)", name,
               (long long)json_integer_value(json_object_get(part, "outputs")),
               (long long)json_integer_value(json_object_get(part, "parameters")),
               (long long)json_integer_value(json_object_get(part, "trainable")),
               (long long)json_integer_value(json_object_get(part, "frozen")));
        const char *untrained = json_string_value(json_object_get(p, "not_trained")); /* a parent's one child */
        if (untrained)
            printf("  not trained (%s)", untrained);
        else if (p)
            printf("  %lld epochs (best %lld)  %.1f s", (long long)json_integer_value(json_object_get(p, "epochs_run")),
                   (long long)json_integer_value(json_object_get(p, "best_epoch")),
                   json_real_value(json_object_get(p, "train_seconds")));
        printf("\n");
    }
}

static void print_summary(const json_t *d)
{
    const json_t *cfg = json_object_get(d, "config");
    printf("format           %s version %lld\n", json_string_value(json_object_get(d, "format")),
           (long long)json_integer_value(json_object_get(d, "format_version")));
    printf("preset           %s\n", json_string_value(json_object_get(d, "preset")));
    printf("checksums        %s\n", json_string_value(json_object_get(d, "checksums")));
    char *config = json_dumps(cfg, JSON_COMPACT | JSON_REAL_PRECISION(6));
    printf("configuration    %s\n", config);
    free(config);
    printf("vocabulary       %lld words\n", (long long)json_integer_value(json_object_get(d, "vocabulary")));
    printf("labels           %lld:", (long long)json_integer_value(json_object_get(d, "labels_count")));
    const json_t *labels = json_object_get(d, "labels");
    for (size_t i = 0; i < json_array_size(labels) && i < 10; i++)
        printf(" %s", json_string_value(json_array_get(labels, i)));
    printf("%s\n", json_array_size(labels) > 10 ? " ..." : "");
    const json_t *levels = json_object_get(d, "labels_per_level");
    printf("taxonomy         %s, %zu level%s:", json_is_true(json_object_get(d, "taxonomy_is_tree")) ? "tree" : "DAG",
           json_array_size(levels), json_array_size(levels) == 1 ? "" : "s");
    for (size_t i = 0; i < json_array_size(levels); i++)
        printf("%s%lld", i ? " / " : " ", (long long)json_integer_value(json_array_get(levels, i)));
    printf(" labels\n");
    printf("parameters       %lld (%lld trained, %lld frozen",
           (long long)json_integer_value(json_object_get(d, "parameters")),
           (long long)json_integer_value(json_object_get(d, "trainable")),
           (long long)json_integer_value(json_object_get(d, "frozen")));
    if (json_integer_value(json_object_get(d, "statistics")))
        printf("; %lld batch-norm statistics", (long long)json_integer_value(json_object_get(d, "statistics")));
    printf(")\n");
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(d, "tensors"), i, t)
    {
        char *shape = json_dumps(json_object_get(t, "shape"), JSON_COMPACT);
        printf("  %-24s %-16s %lld\n", json_string_value(json_object_get(t, "name")), shape,
               (long long)json_integer_value(json_object_get(t, "parameters")));
        free(shape);
    }
    if (json_object_get(d, "members"))
        print_members(d);
    print_auto(d);
    const json_t *tr = json_object_get(d, "training");
    if (json_object_get(tr, "train_seconds"))
        printf("training         %.1f s, %lld training and %lld validation documents\n",
               json_real_value(json_object_get(tr, "train_seconds")),
               (long long)json_integer_value(json_object_get(tr, "train_docs")),
               (long long)json_integer_value(json_object_get(tr, "valid_docs")));
    if (json_is_array(json_object_get(tr, "parts")))
        print_parts(d, tr);
    const json_t *thresholds = json_object_get(d, "label_thresholds");
    if (thresholds) {
        double low = 1.0, high = 0.0;
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)thresholds, key, v)
        {
            low = json_number_value(v) < low ? json_number_value(v) : low;
            high = json_number_value(v) > high ? json_number_value(v) : high;
        }
        printf("label thresholds %zu, from %.2f to %.2f (tuned on the validation split)\n",
               json_object_size(thresholds), low, high);
    }
    const json_t *ck = json_object_get(d, "checkpoint");
    if (ck) {
        const json_t *partial = json_object_get(ck, "in_progress");
        printf("checkpoint       %lld of %lld %s done", (long long)json_integer_value(json_object_get(ck, "done")),
               (long long)json_integer_value(json_object_get(ck, "total")),
               json_string_value(json_object_get(ck, "units")));
        if (json_is_object(partial))
            printf(", %s after epoch %lld", json_string_value(json_object_get(partial, "part")),
                   (long long)json_integer_value(json_object_get(partial, "epochs")));
        printf("; %.0f s of training\n", json_number_value(json_object_get(ck, "seconds")));
    }
    print_history(tr);
    const json_t *opts = json_object_get(tr, "options");
    if (opts) {
        char *text = json_dumps(opts, JSON_COMPACT | JSON_REAL_PRECISION(6));
        printf("options          %s\n", text);
        free(text);
    }
}

int cmd_info(int argc, char **argv)
{
    const char *model_path = NULL;
    int json = 0, threads = 0;
    unsigned long long seed = 1;
    const arg_spec specs[] = {
        {"--model", ARG_STRING, &model_path, "model file"},
        {"--json", ARG_FLAG, &json, "print everything as JSON, including all labels"},
        {"--threads", ARG_INT, &threads, "threads (0 = all cores)"},
        {"--seed", ARG_U64, &seed, "accepted for symmetry"},
    };
    int rc = args_parse("info", "--model MODEL [--json]", specs, sizeof specs / sizeof *specs, argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    hftc_model *m;
    if ((rc = cli_load_model("info", model_path, threads, 0, &m)))
        return rc;
    char *text = hftc_model_describe(m);
    hftc_model_free(m);
    if (!text) {
        fprintf(stderr, "hftc info: out of memory\n");
        return 1;
    }
    if (json) {
        puts(text);
    } else {
        json_error_t err;
        json_t *d = json_loads(text, 0, &err);
        print_summary(d);
        json_decref(d);
    }
    free(text);
    return 0;
}
