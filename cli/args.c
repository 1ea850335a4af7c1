/* Option parsing over a table of options, their values parsed strictly by the library (hftc_parse_value):
 * "--epochs 1x" or "--lr -1" is an error, not a guess. */
#include "args.h"

#include "hftc.h"

#include <string.h>

static bool parse_value(const arg_spec *spec, const char *s)
{
    switch (spec->type) {
    case ARG_STRING:
        *(const char **)spec->target = s;
        return true;
    case ARG_SIZE:
        return hftc_parse_value(HFTC_VALUE_SIZE, s, spec->target);
    case ARG_INT:
        return hftc_parse_value(HFTC_VALUE_INT, s, spec->target);
    case ARG_U64:
        return hftc_parse_value(HFTC_VALUE_U64, s, spec->target);
    case ARG_FLOAT:
        return hftc_parse_value(HFTC_VALUE_FLOAT, s, spec->target);
    case ARG_BOOL:
        return hftc_parse_value(HFTC_VALUE_BOOL, s, spec->target);
    case ARG_TRAIN:
        return hftc_train_options_set(spec->target, spec->name, s) == HFTC_STATUS_OK;
    case ARG_LIST: {
        arg_list *list = spec->target;
        if (list->n == ARG_LIST_MAX)
            return false;
        list->items[list->n++] = s;
        return true;
    }
    case ARG_FLAG:
        break;
    }
    return false;
}

static void format_value(const arg_spec *spec, char *buf, size_t size)
{
    switch (spec->type) {
    case ARG_STRING: {
        const char *s = *(const char **)spec->target;
        snprintf(buf, size, "%s", s ? s : "none");
        break;
    }
    case ARG_SIZE:
        snprintf(buf, size, "%zu", *(size_t *)spec->target);
        break;
    case ARG_INT:
    case ARG_BOOL:
    case ARG_FLAG:
        snprintf(buf, size, "%d", *(int *)spec->target);
        break;
    case ARG_U64:
        snprintf(buf, size, "%llu", *(unsigned long long *)spec->target);
        break;
    case ARG_FLOAT:
        snprintf(buf, size, "%g", (double)*(float *)spec->target);
        break;
    case ARG_TRAIN:
        if (hftc_train_options_get(spec->target, spec->name, buf, size) != HFTC_STATUS_OK)
            snprintf(buf, size, "?");
        break;
    case ARG_LIST: {
        const arg_list *list = spec->target;
        size_t used = (size_t)snprintf(buf, size, "%s", list->n ? "" : "none");
        for (size_t i = 0; i < list->n && used < size; i++)
            used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "", list->items[i]);
        break;
    }
    }
}

static const char *arg_help(const arg_spec *spec)
{
    const char *help = spec->help ? spec->help : hftc_train_option_help(spec->name);
    return help ? help : "";
}

static bool arg_is(const arg_spec *spec, const char *arg)
{
    return spec->type == ARG_TRAIN ? !strncmp(arg, "--", 2) && !strcmp(arg + 2, spec->name) : !strcmp(arg, spec->name);
}

void args_usage(FILE *out, const char *command, const char *synopsis, const arg_spec *specs, size_t n_specs)
{
    fprintf(out, "usage: hftc %s %s\n\noptions (default in brackets):\n", command, synopsis);
    for (size_t i = 0; i < n_specs; i++) {
        char value[128];
        format_value(&specs[i], value, sizeof value);
        bool has_value = specs[i].type != ARG_FLAG;
        char name[64];
        snprintf(name, sizeof name, "%s%s", specs[i].type == ARG_TRAIN ? "--" : "", specs[i].name);
        fprintf(out, "  %-22s %s", name, arg_help(&specs[i]));
        if (has_value)
            fprintf(out, " [%s]", value);
        fputc('\n', out);
    }
    fprintf(out, "  %-22s %s\n", "--help", "show this help");
}

const char *args_find(int argc, char **argv, const char *name)
{
    const char *found = NULL;
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            found = argv[i + 1];
    return found;
}

int args_parse(const char *command, const char *synopsis, const arg_spec *specs, size_t n_specs, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            args_usage(stdout, command, synopsis, specs, n_specs);
            return 2;
        }
        // A lone "-" is "--input -" (hftc predict --model MODEL [--input F | -]).
        const char *name = strcmp(argv[i], "-") ? argv[i] : "--input";
        const arg_spec *spec = NULL;
        for (size_t j = 0; j < n_specs && !spec; j++)
            if (arg_is(&specs[j], name))
                spec = &specs[j];
        if (spec && name != argv[i]) {
            *(const char **)spec->target = "-";
            continue;
        }
        if (!spec) {
            fprintf(stderr, "hftc %s: unknown option '%s' (see hftc %s --help)\n", command, argv[i], command);
            return 1;
        }
        if (spec->type == ARG_FLAG) {
            *(int *)spec->target = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "hftc %s: option %s needs a value\n", command, argv[i]);
            return 1;
        }
        if (!parse_value(spec, argv[++i])) {
            fprintf(stderr, "hftc %s: invalid value '%s' for %s (%s)\n", command, argv[i], argv[i - 1], arg_help(spec));
            return 1;
        }
    }
    return 0;
}
