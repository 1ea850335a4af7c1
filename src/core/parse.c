/* Strict parsing of option values from text, the one parser behind the training options' table and the
 * command line's own options: "--epochs 1x" or "--lr -1" is an error, not a guess. */
#include "hftc.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Digits only: strtoull would take a sign, spaces or a "-1" wrapped around. */
static bool parse_unsigned(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!*s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

int hftc_parse_value(hftc_value_type type, const char *text, void *out)
{
    unsigned long long v;
    float f;
    char *end;
    switch (type) {
    case HFTC_VALUE_SIZE:
        if (!parse_unsigned(text, SIZE_MAX, &v))
            return 0;
        *(size_t *)out = (size_t)v;
        return 1;
    case HFTC_VALUE_INT:
        if (!parse_unsigned(text, INT_MAX, &v))
            return 0;
        *(int *)out = (int)v;
        return 1;
    case HFTC_VALUE_U64:
        if (!parse_unsigned(text, ULLONG_MAX, &v))
            return 0;
        *(unsigned long long *)out = v;
        return 1;
    case HFTC_VALUE_FLOAT:
        errno = 0;
        f = strtof(text, &end);
        if (errno || end == text || *end || !isfinite(f))
            return 0;
        *(float *)out = f;
        return 1;
    case HFTC_VALUE_BOOL:
        if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "yes"))
            *(int *)out = 1;
        else if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no"))
            *(int *)out = 0;
        else
            return 0;
        return 1;
    }
    return 0;
}
