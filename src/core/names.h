/* Enumerations spelled as names on the command line and in model files: one lookup for all. */
#ifndef HFTC_CORE_NAMES_H
#define HFTC_CORE_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Sets *index to the position of name in names[0..n) and returns true, or returns false. */
static inline bool names_find(const char *const *names, size_t n, const char *name, size_t *index)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, names[i])) {
            *index = i;
            return true;
        }
    return false;
}

#define NAMES_COUNT(names) (sizeof(names) / sizeof *(names))

/* Defines prefix_parse (name -> kind, false for an unknown or NULL name) and prefix_name (kind -> name) over
 * the array prefix_names, listed by kind. */
#define NAMES_LOOKUP(kind_type, prefix)                                                                                \
    bool prefix##_parse(const char *name, kind_type *out)                                                              \
    {                                                                                                                  \
        size_t i;                                                                                                      \
        if (!name || !names_find(prefix##_names, NAMES_COUNT(prefix##_names), name, &i))                               \
            return false;                                                                                              \
        *out = (kind_type)i;                                                                                           \
        return true;                                                                                                   \
    }                                                                                                                  \
    const char *prefix##_name(kind_type kind) { return prefix##_names[kind]; }

#endif
