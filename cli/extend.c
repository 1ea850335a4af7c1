/* hftc extend: a trained model given the categories a new taxonomy adds (hftc_extend); the output checked before
 * the model is read. */
#include "args.h"
#include "commands.h"

#include "hftc.h"

#include <string.h>

int cmd_extend(int argc, char **argv)
{
    hftc_extend_options o;
    hftc_extend_options_init(&o);
    const char *output = NULL;
    int quiet = 0;
    unsigned long long seed = 0;
    const arg_spec specs[] = {
        {"--model", ARG_STRING, &o.model_path, "the trained model to extend"},
        {"--taxonomy", ARG_STRING, &o.taxonomy_path, "the new taxonomy: the model's categories and those to add"},
        {"--taxonomy-format", ARG_STRING, &o.taxonomy_format, "auto, parent-children, tree"},
        {"--train", ARG_STRING, &o.train_path, "labelled documents the new categories learn from"},
        {"--valid", ARG_STRING, &o.valid_path,
         "validation data (the new labels' thresholds are tuned on it); none: as the model's training validated"},
        {"--format", ARG_STRING, &o.format, "format of --train and --valid: auto, tsv, fasttext, jsonl"},
        {"--skip-bad-lines", ARG_FLAG, &o.skip_bad_lines, "skip malformed lines with a warning"},
        {"--allow-removal", ARG_FLAG, &o.allow_removal,
         "drop the model's categories the taxonomy lacks or moves (a moved one trains anew) instead of refusing"},
        {"--grow-rows", ARG_FLAG, &o.grow_rows,
         "flat and level models: grow each level's output layer by the new categories' rows, which alone train (else "
         "a branch per level: a network of their own, started from the level's)"},
        {"--tune-head", ARG_FLAG, &o.tune_head,
         "flat and level models: as --grow-rows, and fine-tune the whole head with the new rows"},
        {"--output", ARG_STRING, &output, "the extended model's file"},
        {"--quiet", ARG_FLAG, &quiet, "no information messages"},
        {"--threads", ARG_INT, &o.threads, "threads (0 = all cores)"},
        {"--seed", ARG_U64, &seed, "ignored: the model's recorded seed is used, for the classifiers it would train"},
    };
    int rc = args_parse("extend", "--model M --taxonomy NEW --train DOCS [--valid V] --output MODEL [options]", specs,
                        sizeof specs / sizeof *specs, argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    const char *problem = !o.model_path         ? "--model M is required"
                          : !o.taxonomy_path    ? "--taxonomy NEW is required"
                          : !o.train_path       ? "--train DOCS is required"
                          : !output || !*output ? "--output MODEL is required"
                                                : NULL;
    if (problem) {
        fprintf(stderr, "hftc extend: %s\n", problem);
        return 2;
    }
    // the output: writable, none of the input files (the model may be replaced: it is read whole first)
    int checked = cli_check_output("extend", o.train_path, o.valid_path, o.taxonomy_path, output);
    if (checked)
        return checked;
    cli_setup_log(!quiet);
    hftc_model *m = NULL;
    if (hftc_extend(&o, &m) != HFTC_STATUS_OK)
        return cli_fail("extend");
    return cli_save_model("extend", m, output, quiet);
}
