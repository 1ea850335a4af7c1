/* The line reader of lines.h over POSIX getline, which grows one buffer to the longest line. */
#define _POSIX_C_SOURCE 200809L
#include "core/lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void line_reader_init(line_reader *r, FILE *f) { *r = (line_reader){.f = f}; }

void line_reader_free(line_reader *r)
{
    free(r->buf);
    *r = (line_reader){0};
}

int line_reader_next(line_reader *r, char **line, size_t *len, size_t *skipped)
{
    errno = 0;
    ssize_t got = getline(&r->buf, &r->cap, r->f);
    if (got < 0) /* glibc's getline does not set the error flag when a line exhausts memory */
        return ferror(r->f) || errno == ENOMEM ? -1 : 0;
    size_t n = (size_t)got, start = 0;
    r->line_no++;
    if (n && r->buf[n - 1] == '\n')
        n--;
    if (n && r->buf[n - 1] == '\r')
        n--;
    r->buf[n] = '\0';
    if (r->line_no == 1 && n >= 3 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0)
        start = 3;
    *line = r->buf + start;
    *len = n - start;
    if (skipped)
        *skipped = start;
    return 1;
}
