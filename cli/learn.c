/* hftc learn: a trained model trained on from its weights on new documents (hftc_learn); the output checked before
 * the model is read. */
#include "args.h"
#include "commands.h"

#include "hftc.h"

int cmd_learn(int argc, char **argv)
{
    hftc_learn_options o;
    hftc_learn_options_init(&o);
    const char *output = NULL;
    int quiet = 0;
    unsigned long long seed = 0;
    const arg_spec specs[] = {
        {"--model", ARG_STRING, &o.model_path, "the trained model to train on"},
        {"--train", ARG_STRING, &o.train_path, "new labelled documents (corrected labels included)"},
        {"--valid", ARG_STRING, &o.valid_path, "validation data; none: as the model's training validated"},
        {"--format", ARG_STRING, &o.format, "format of --train and --valid: auto, tsv, fasttext, jsonl"},
        {"--taxonomy", ARG_STRING, &o.taxonomy_path,
         "a taxonomy with new labels: the model is extended with it first (as hftc extend); none: new labels are an "
         "error"},
        {"--taxonomy-format", ARG_STRING, &o.taxonomy_format, "auto, parent-children, tree"},
        {"--epochs", ARG_SIZE, &o.epochs, "neural models: epochs (0 = the model's)"},
        {"--lr", ARG_FLOAT, &o.lr, "neural models: learning rate (0 = the model's)"},
        {"--replay", ARG_FLOAT, &o.replay,
         "fraction of the model's own training documents trained on too (its recorded file, unchanged)"},
        {"--skip-bad-lines", ARG_FLAG, &o.skip_bad_lines, "skip malformed lines with a warning"},
        {"--output", ARG_STRING, &output, "the model file to write"},
        {"--quiet", ARG_FLAG, &quiet, "no information messages"},
        {"--threads", ARG_INT, &o.threads, "threads (0 = all cores)"},
        {"--seed", ARG_U64, &seed, "ignored: the model's recorded seed is used"},
    };
    int rc = args_parse("learn", "--model M --train NEW [--valid V] [--replay F] --output MODEL [options]", specs,
                        sizeof specs / sizeof *specs, argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    const char *problem = !o.model_path                             ? "--model M is required"
                          : !o.train_path                           ? "--train NEW is required"
                          : !output || !*output                     ? "--output MODEL is required"
                          : !(o.replay >= 0.0f && o.replay <= 1.0f) ? "--replay must be in [0, 1]"
                                                                    : NULL;
    if (problem) {
        fprintf(stderr, "hftc learn: %s\n", problem);
        return 2;
    }
    int checked = cli_check_output("learn", o.train_path, o.valid_path, o.taxonomy_path, output);
    if (checked)
        return checked;
    cli_setup_log(!quiet);
    hftc_model *m = NULL;
    if (hftc_learn(&o, &m) != HFTC_STATUS_OK)
        return cli_fail("learn");
    return cli_save_model("learn", m, output, quiet);
}
