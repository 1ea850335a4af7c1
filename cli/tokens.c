/* hftc tokens: each document's words as hftc train reads them, one line per document, separated by
 * spaces; the input for in-domain word vectors (scripts/make-word-vectors --text). */
#include "args.h"
#include "commands.h"

#include "hftc.h"

#include <stdio.h>

static hftc_status print_tokens(size_t index, const char *const *tokens, size_t n, void *user)
{
    (void)index;
    for (size_t i = 0; i < n; i++) {
        fputs(i ? " " : "", stdout);
        fputs(tokens[i], stdout);
    }
    if (putchar('\n') != EOF)
        return HFTC_STATUS_OK;
    *(int *)user = 1; /* stdout failed (a full disk, a closed pipe): stop reading */
    return HFTC_STATUS_IO;
}

int cmd_tokens(int argc, char **argv)
{
    hftc_train_options o;
    const char *preset = args_find(argc, argv, "--preset");
    if (hftc_train_options_init(&o, preset) != HFTC_STATUS_OK)
        return cli_fail("tokens");
    const char *input = "-", *preset_arg = o.preset;
    o.max_len = 0;
    const arg_spec specs[] = {
        {"--input", ARG_STRING, &input, "documents (tsv, fasttext, jsonl or text; - for stdin)"},
        {"--preset", ARG_STRING, &preset_arg, "the preset whose tokeniser options are the defaults"},
        ARG_TRAIN_OPTION("format", &o, "data format: auto, tsv, fasttext, jsonl, text"),
        ARG_TRAIN_OPTION("lowercase", &o, NULL),
        ARG_TRAIN_OPTION("split-punct", &o, NULL),
        ARG_TRAIN_OPTION("drop-punct", &o, NULL),
        ARG_TRAIN_OPTION("max-len", &o, "tokens kept per document (0 = all)"),
        ARG_TRAIN_OPTION("skip-bad-lines", &o, NULL),
        ARG_TRAIN_OPTION("threads", &o, "accepted for symmetry (reading is one thread)"),
        ARG_TRAIN_OPTION("seed", &o, "accepted for symmetry"),
    };
    int rc = args_parse("tokens", "[--input F | -] [--preset NAME] [options]", specs, sizeof specs / sizeof *specs,
                        argc, argv);
    if (rc)
        return rc == 2 ? 0 : 2;
    cli_setup_log(0);
    int write_failed = 0;
    hftc_status st = hftc_tokenize_file(input, &o, print_tokens, &write_failed);
    if (write_failed || fflush(stdout) != 0) {
        fprintf(stderr, "hftc tokens: writing the tokens failed\n");
        return 1;
    }
    return st == HFTC_STATUS_OK ? 0 : cli_fail("tokens");
}
