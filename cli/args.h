/* Table-driven option parsing for the subcommands: every option has a type, a target and a help
 * line; --help prints each with its current value, which is the default. */
#ifndef HFTC_CLI_ARGS_H
#define HFTC_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    ARG_STRING,     /* const char * */
    ARG_SIZE,       /* size_t */
    ARG_INT,        /* int */
    ARG_U64,        /* unsigned long long */
    ARG_FLOAT,      /* float */
    ARG_BOOL,       /* int, takes a value: 1/0, true/false, yes/no */
    ARG_FLAG,       /* int, set to 1, takes no value */
    ARG_CHARS,      /* char[size] buffer: an enumerated name */
    ARG_SIZE_LIST,  /* size_t[8], count in *count: "2,3,4" */
    ARG_FLOAT_LIST, /* float[size], count in *count: "1,2,3.5" */
} arg_type;

typedef struct {
    const char *name; /* "--epochs" */
    arg_type type;
    void *target;
    size_t size; /* ARG_CHARS: buffer size; ARG_FLOAT_LIST: capacity */
    const char *help;
    size_t *count; /* ARG_SIZE_LIST, ARG_FLOAT_LIST: number of items parsed */
} arg_spec;

/* Parses argv[0..argc) against specs; a lone "-" stands for "--input -" where specs has --input. Returns 0 on success,
 * 1 on an error (printed to stderr with the command name), 2 if --help was given (usage printed to stdout). */
int args_parse(const char *command, const char *synopsis, const arg_spec *specs, size_t n_specs, int argc, char **argv);
void args_usage(FILE *out, const char *command, const char *synopsis, const arg_spec *specs, size_t n_specs);
/* The value of option name in argv (last occurrence), or NULL. */
const char *args_find(int argc, char **argv, const char *name);

#endif
