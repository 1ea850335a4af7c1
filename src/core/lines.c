/* The line reader of lines.h: POSIX getline over a stream, or read(2) into a buffer that grows to the
 * longest line over a descriptor; one trimming step for both. */
#define _POSIX_C_SOURCE 200809L
#include "core/lines.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define FD_READ_BYTES ((size_t)64 << 10)

void line_reader_init(line_reader *r, FILE *f) { *r = (line_reader){.f = f, .fd = -1}; }

void line_reader_init_fd(line_reader *r, int fd) { *r = (line_reader){.fd = fd}; }

void line_reader_free(line_reader *r)
{
    free(r->buf);
    *r = (line_reader){.fd = -1};
}

/* How far past max_line a cut line goes: enough that dropping a "\r" and a BOM leaves it longer. */
#define CUT_MARGIN 8

/* Descriptor source: the next raw line (its "\n" replaced by NUL) in *line, n bytes without the "\n";
 * returns as line_reader_next. */
static int fd_next(line_reader *r, char **line, size_t *n)
{
    for (;;) {
        size_t avail = r->end - r->start; /* buf is NULL before the first read: no pointer into it then */
        char *nl = avail ? memchr(r->buf + r->start, '\n', avail) : NULL;
        bool cut = !nl && r->max_line && avail > r->max_line + CUT_MARGIN;
        if (r->skipping) { /* the rest of a cut line */
            r->start = nl ? (size_t)(nl - r->buf) + 1 : r->end;
            r->skipping = !nl;
            if (nl)
                continue;
        } else if (nl || cut || (r->at_end && avail)) {
            *line = r->buf + r->start;
            *n = nl ? (size_t)(nl - *line) : cut ? r->max_line + CUT_MARGIN : avail;
            r->start += *n + (nl != NULL);
            r->skipping = cut;
            r->ended = nl != NULL;
            (*line)[*n] = '\0'; /* the "\n", a byte of a cut line, or the spare byte after the last line */
            return 1;
        }
        if (r->at_end)
            return 0;
        if (r->start > 0) { /* keep the partial line at the front */
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start, r->start = 0;
        }
        if (r->cap - r->end < FD_READ_BYTES + 1) {
            size_t cap = r->cap ? 2 * r->cap : 2 * FD_READ_BYTES;
            char *buf = realloc(r->buf, cap);
            if (!buf) {
                errno = ENOMEM;
                return -1;
            }
            r->buf = buf, r->cap = cap;
        }
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end - 1); /* 1 spare byte for a NUL */
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        r->end += (size_t)got;
        r->at_end = got == 0;
    }
}

/* Stream source: the next raw line by getline, its "\n" kept. */
static int stream_next(line_reader *r, char **line, size_t *n)
{
    errno = 0;
    ssize_t got = getline(&r->buf, &r->cap, r->f);
    if (got < 0) /* glibc's getline does not set the error flag when a line exhausts memory */
        return ferror(r->f) || errno == ENOMEM ? -1 : 0;
    *line = r->buf, *n = (size_t)got;
    r->ended = *n && (*line)[*n - 1] == '\n';
    if (r->ended)
        (*line)[--*n] = '\0';
    return 1;
}

/* What the bounded stream source's buffer holds where no line is: no "\n" and no NUL, so that after fgets the
 * line's end is the first "\n" and, at the end of the input, its length the last NUL, even with NUL bytes in
 * it (what getline counts and fgets does not). */
#define FILL 'x'

/* fgets into buf[at, at + room) (all FILL before); returns the bytes read: up to and with a "\n", room - 1
 * without one, or fewer at the end of the input; 0 at the end or on an error. */
static size_t fgets_counted(line_reader *r, size_t at, size_t room)
{
    char *b = r->buf + at;
    if (!fgets(b, (int)room, r->f)) {
        r->dirty = r->cap; /* on an error, fgets may have written anywhere in the room */
        return 0;
    }
    char *nl = memchr(b, '\n', room - 1);
    size_t got = room - 1;
    if (nl)
        got = (size_t)(nl - b) + 1;
    else if (feof(r->f) || ferror(r->f))
        while (b[got] != '\0')
            got--;
    if (r->dirty < at + got + 1)
        r->dirty = at + got + 1;
    return got;
}

/* Stream source with max_line set: like stream_next, but a line longer than max_line + CUT_MARGIN bytes is
 * returned cut at that length and the rest of it is skipped on the next call, never held: getline has no
 * bound (one endless line of a gzip file of zeros would take gigabytes). fgets, at getline's speed, with the
 * FILL bytes to count what it read; it leaves the stream just after the "\n", as getline does. */
static int stream_next_bounded(line_reader *r, char **line, size_t *n)
{
    size_t limit = r->max_line + CUT_MARGIN, len = 0;
    if (r->dirty)
        memset(r->buf, FILL, r->dirty);
    r->dirty = 0;
    bool skip = r->skipping, any = false;
    r->ended = r->skipping = false;
    for (;;) {
        if (r->cap - len < 2) { /* fgets needs room for a byte and its NUL */
            if (skip && len > 0) {
                memset(r->buf, FILL, r->dirty);
                r->dirty = len = 0;
                continue;
            }
            if (r->cap >= limit + 1) { /* a line of limit bytes and more: cut */
                r->skipping = true;
                break;
            }
            size_t cap = r->cap < 2048 ? 4096 : 2 * r->cap;
            cap = cap > limit + 1 ? limit + 1 : cap;
            char *buf = realloc(r->buf, cap);
            if (!buf) {
                errno = ENOMEM;
                return -1;
            }
            memset(buf + r->cap, FILL, cap - r->cap);
            r->buf = buf, r->cap = cap;
        }
        size_t room = r->cap - len, got = fgets_counted(r, len, room > INT_MAX ? INT_MAX : room);
        if (got == 0)
            break;
        len += got;
        if (r->buf[len - 1] != '\n') {
            any = any || !skip;
            continue;
        }
        if (!skip) {
            r->ended = any = true;
            len--;
            break;
        }
        skip = false; /* the cut line's end: the next line follows */
        memset(r->buf, FILL, r->dirty);
        r->dirty = len = 0;
    }
    if (ferror(r->f))
        return -1;
    if (!any)
        return 0;
    r->buf[len] = '\0';
    *line = r->buf, *n = len;
    return 1;
}

int line_reader_next(line_reader *r, char **line, size_t *len, size_t *skipped)
{
    char *p;
    size_t n, start = 0;
    errno = 0;
    int got = !r->f ? fd_next(r, &p, &n) : r->max_line ? stream_next_bounded(r, &p, &n) : stream_next(r, &p, &n);
    if (got <= 0)
        return got;
    r->line_no++;
    if (n && p[n - 1] == '\r')
        n--;
    p[n] = '\0';
    if (r->line_no == 1 && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        start = 3;
    *line = p + start;
    *len = n - start;
    if (skipped)
        *skipped = start;
    return 1;
}

bool line_reader_ready(const line_reader *r)
{
    if (r->f || r->at_end || (r->end > r->start && memchr(r->buf + r->start, '\n', r->end - r->start)))
        return true;
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0; /* readable, hung up, or an error the next read reports */
}
