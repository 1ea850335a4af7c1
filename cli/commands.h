/* The hftc subcommands; each returns the process exit status. */
#ifndef HFTC_CLI_COMMANDS_H
#define HFTC_CLI_COMMANDS_H

#include "hftc.h"

#include <stddef.h>
#include <stdio.h>

int cmd_train(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokens(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_ensemble(int argc, char **argv);
int cmd_extend(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Prints "hftc <command>: <library error message>" and returns 1. */
int cli_fail(const char *command);
/* Routes library messages to stderr, with info messages when verbose. */
void cli_setup_log(int verbose);

typedef struct hftc_model hftc_model;
typedef struct json_t json_t;
/* One prediction as hftc predict --json prints it and hftc serve answers it: {"doc": index + 1, "labels":
 * [...], "scores": [...]}, the selected labels best first, at most k of them (0: all); with explanations
 * also "words" and "word_weights" (a list per label). */
json_t *cli_prediction_json(const hftc_model *m, const hftc_prediction *p, size_t k);
/* The common start of test, predict, info and serve: checks that --model was given, sets up logging and
 * threads, and loads the model at path with a word cache of at most word_cache_mb MiB (0: none). Returns 0,
 * or the exit status after printing why. */
int cli_load_model(const char *command, const char *path, int threads, size_t word_cache_mb, hftc_model **m);
/* 0 if output can be written and is none of the input files (hftc_train_outputs_check), else the exit status after
 * saying why: extend and learn check it before reading the model. */
int cli_check_output(const char *command, const char *train, const char *valid, const char *taxonomy,
                     const char *output);
/* Writes write's output for user to path ("-": standard output) through a temporary file beside it
 * (.NAME.hftc-tmp.XXXXXX) renamed over it once complete, so the file is whole or absent. Returns 0, or 1 after saying
 * why. */
int cli_write_file(const char *command, const char *path, void (*write)(FILE *f, const void *user), const void *user);
/* The record of the part named name of a flat or level model (hftc_model_describe's "training" is training): the
 * latest history entry's that trained it (hftc extend, hftc learn), else the training's (by name; in records that
 * name no part, the k-th part that is not a branch); NULL if none. */
const json_t *cli_part_record(const json_t *training, const char *name, size_t k);
/* Saves m at output (saying so unless quiet) and frees it; returns the exit status. */
int cli_save_model(const char *command, hftc_model *m, const char *output, int quiet);
/* 0 if threshold is in [0, 1] or -1 (the model's: the default of --threshold), else 2 after saying so:
 * test, predict and serve check it before loading the model. */
int cli_check_threshold(const char *command, float threshold);
/* The --threshold option's help. */
#define CLI_THRESHOLD_HELP "decision threshold in [0, 1] (-1 = the model's)"
/* The --prune option's help. */
#define CLI_PRUNE_HELP                                                                                                 \
    "node models, bsf/product: run a label's classifier only where its parents can pass the threshold (the same "      \
    "decisions)"
/* The options of test, predict and serve that concern loading the model, for an arg_spec table. */
#define CLI_MODEL_LOAD_SPECS(threads, word_cache_mb, seed)                                                             \
    {"--threads", ARG_INT, &(threads), "threads (0 = all cores)"},                                                     \
        {"--word-cache-mb", ARG_SIZE, &(word_cache_mb), CLI_WORD_CACHE_HELP},                                          \
    {                                                                                                                  \
        "--seed", ARG_U64, &(seed), "random seed (inference is deterministic; accepted for symmetry)"                  \
    }
/* The --word-cache-mb option's help. */
#define CLI_WORD_CACHE_HELP "MiB the word cache may reserve (each word's first-layer products computed once; 0 = off)"

#endif
