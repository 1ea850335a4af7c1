/* A line reader for the text input formats (datasets, taxonomies, word vectors): one place that
 * counts physical lines for error messages, drops "\n" or "\r\n", and drops a UTF-8 byte order mark
 * at the start of the file. Blank-line rules differ between formats, so they stay with the callers.
 *
 * Two sources: a stdio stream (read with getline; the caller may go on reading the stream itself), or
 * a file descriptor read into the reader's own buffer, which can also tell whether a line is ready
 * without waiting (line_reader_ready), what lets a reader of a pipe answer each line as it comes, and
 * which holds at most about max_line bytes of a line, whatever the input (a stream source too, when
 * max_line is set). */
#ifndef HFTC_CORE_LINES_H
#define HFTC_CORE_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f; // the stream source; NULL: the descriptor fd
    int fd;
    char *buf;
    size_t cap;
    size_t start, end; // descriptor source: buf[start, end) is read and not yet returned
    bool at_end;       // descriptor source: read returned 0
    size_t max_line;   // a longer line is returned cut (to more than max_line bytes, so the
                       // caller can tell) and the rest of it is skipped without being held; 0: no limit
    size_t dirty;      // bounded stream source: buf[0, dirty) may hold other bytes than the fill
    bool skipping;     // dropping the rest of a line cut at max_line
    bool ended;        // the line last returned ended with "\n" (not the input's end, nor a cut)
    size_t line_no;    // the line last returned, counting from 1; every physical line counts, blank ones too
} line_reader;

void line_reader_init(line_reader *r, FILE *f);
void line_reader_init_fd(line_reader *r, int fd);
void line_reader_free(line_reader *r);

/* The next line, NUL-terminated, without its end of line ("\n" or "\r\n") and, on line 1, without a
 * UTF-8 BOM; *skipped (if not NULL) gets the bytes removed at its start, for error columns. The line
 * may hold NUL bytes (len counts them) and stays valid until the next call. Returns 1 with a line,
 * 0 at the end, -1 on a read error (errno set). */
int line_reader_next(line_reader *r, char **line, size_t *len, size_t *skipped);

/* Descriptor source: whether line_reader_next would return without waiting for more input (a whole
 * line is buffered, the input has ended, or the descriptor has data or an end to read). A stream
 * source: always true. */
bool line_reader_ready(const line_reader *r);

#endif
