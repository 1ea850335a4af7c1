/* hftc ensemble: trained models combined into one (hftc_ensemble), the weights and the decision rule chosen
 * on validation data; the output checked before the members are read. */
#include "args.h"
#include "commands.h"

#include "hftc.h"

#include <string.h>

_Static_assert(HFTC_MAX_ENSEMBLE == 16, "the help and messages below say 16 members");

int cmd_ensemble(int argc, char **argv)
{
    hftc_ensemble_options o;
    hftc_ensemble_options_init(&o);
    arg_list models = {0};
    const char *output = NULL, *label_thresholds = "auto";
    int quiet = 0;
    unsigned long long seed = 1;
    const arg_spec specs[] = {
        {"--model", ARG_LIST, &models, "a member's model file (give 2 to 16, each with --model)"},
        {"--valid", ARG_STRING, &o.valid_path,
         "labelled data the weights and threshold are chosen on (no member's training data)"},
        {"--output", ARG_STRING, &output, "the ensemble's model file to write"},
        {"--format", ARG_STRING, &o.format, "format of --valid: auto, tsv, fasttext, jsonl"},
        {"--skip-bad-lines", ARG_FLAG, &o.skip_bad_lines, "skip malformed lines of --valid with a warning"},
        {"--scoring", ARG_STRING, &o.scoring, "the ensemble's scoring (none: the first member's)"},
        {"--label-thresholds", ARG_STRING, &label_thresholds,
         "per-label thresholds too: yes, no, or auto (where a member has them)"},
        {"--weight-steps", ARG_SIZE, &o.weight_steps,
         "weights in multiples of 1/N (every mix up to 4 members, one member at a time beyond)"},
        {"--quiet", ARG_FLAG, &quiet, "no information messages"},
        {"--threads", ARG_INT, &o.threads, "threads (0 = all cores)"},
        {"--seed", ARG_U64, &seed, "random seed (the choice is deterministic; accepted for symmetry)"},
    };
    int rc = args_parse("ensemble", "--model A --model B [...] --valid F --output MODEL [options]", specs,
                        sizeof specs / sizeof *specs, argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    static const char *const choices[] = {"no", "yes", "auto"};
    o.label_thresholds = -2;
    for (int i = 0; i < 3; i++)
        if (!strcmp(label_thresholds, choices[i]))
            o.label_thresholds = i == 2 ? -1 : i;
    const char *problem = models.n < 2                   ? "give at least two --model"
                          : !o.valid_path                ? "--valid F is required (the weights are chosen on it)"
                          : !output || !*output          ? "--output MODEL is required"
                          : o.label_thresholds == -2     ? "--label-thresholds must be yes, no or auto"
                          : models.n > HFTC_MAX_ENSEMBLE ? "at most 16 models (--model)"
                                                         : NULL;
    if (problem) {
        fprintf(stderr, "hftc ensemble: %s\n", problem);
        return 2;
    }
    o.models = models.items;
    o.n_models = models.n;
    hftc_status st = hftc_ensemble_outputs_check(&o, output);
    if (st != HFTC_STATUS_OK) {
        fprintf(stderr, "hftc ensemble: %s\n", hftc_last_error());
        return st == HFTC_STATUS_INVALID_ARGUMENT ? 2 : 1;
    }
    cli_setup_log(!quiet);
    hftc_model *m;
    if (hftc_ensemble(&o, &m) != HFTC_STATUS_OK)
        return cli_fail("ensemble");
    st = hftc_model_save(m, output);
    hftc_model_free(m);
    if (st != HFTC_STATUS_OK)
        return cli_fail("ensemble");
    if (!quiet)
        fprintf(stderr, "saved %s (an ensemble of %zu models)\n", output, models.n);
    return 0;
}
