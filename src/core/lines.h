/* A line reader for the text input formats (datasets, taxonomies, word vectors): one place that
 * counts physical lines for error messages, drops "\n" or "\r\n", and drops a UTF-8 byte order mark
 * at the start of the file. Blank-line rules differ between formats, so they stay with the callers. */
#ifndef HFTC_CORE_LINES_H
#define HFTC_CORE_LINES_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    char *buf;
    size_t cap;
    size_t line_no; // the line last returned, counting from 1; every physical line counts, blank ones too
} line_reader;

void line_reader_init(line_reader *r, FILE *f);
void line_reader_free(line_reader *r);

/* The next line, NUL-terminated, without its end of line ("\n" or "\r\n") and, on line 1, without a
 * UTF-8 BOM; *skipped (if not NULL) gets the bytes removed at its start, for error columns. The line
 * may hold NUL bytes (len counts them) and stays valid until the next call. Returns 1 with a line,
 * 0 at the end, -1 on a read error (errno set). */
int line_reader_next(line_reader *r, char **line, size_t *len, size_t *skipped);

#endif
