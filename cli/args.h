/* Table-driven option parsing for the subcommands: every option has a type, a target and a help
 * line; --help prints each with its current value, which is the default. The training options are the
 * library's (hftc_train_options_set), by name. */
#ifndef HFTC_CLI_ARGS_H
#define HFTC_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    ARG_STRING, /* const char * */
    ARG_SIZE,   /* size_t */
    ARG_INT,    /* int */
    ARG_U64,    /* unsigned long long */
    ARG_FLOAT,  /* float */
    ARG_BOOL,   /* int, takes a value: 1/0, true/false, yes/no */
    ARG_FLAG,   /* int, set to 1, takes no value */
    ARG_TRAIN,  /* hftc_train_options: the library's option of that name (name without "--") */
    ARG_LIST,   /* arg_list: the option may be given again, each value added */
} arg_type;

#define ARG_LIST_MAX 32

/* The values of an option given once or more (ARG_LIST). */
typedef struct {
    const char *items[ARG_LIST_MAX];
    size_t n;
} arg_list;

typedef struct {
    const char *name; /* "--epochs"; ARG_TRAIN: "epochs", the library's name */
    arg_type type;
    void *target;
    const char *help; /* ARG_TRAIN: NULL for the library's help */
} arg_spec;

/* A training option of the library's table, over o, with its help (NULL: the library's). */
#define ARG_TRAIN_OPTION(name, o, help)                                                                                \
    {                                                                                                                  \
        (name), ARG_TRAIN, (o), (help)                                                                                 \
    }

/* Parses argv[0..argc) against specs; a lone "-" stands for "--input -" where specs has --input. Returns 0 on success,
 * 1 on an error (printed to stderr with the command name), 2 if --help was given (usage printed to stdout). */
int args_parse(const char *command, const char *synopsis, const arg_spec *specs, size_t n_specs, int argc, char **argv);
void args_usage(FILE *out, const char *command, const char *synopsis, const arg_spec *specs, size_t n_specs);
/* The value of option name in argv (last occurrence), or NULL. */
const char *args_find(int argc, char **argv, const char *name);

#endif
