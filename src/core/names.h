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

#endif
