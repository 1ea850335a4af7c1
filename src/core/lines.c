/* The line reader of lines.h: POSIX getline over a stream, or read(2) into a buffer that grows to the
 * longest line over a descriptor; one trimming step for both. */
#define _POSIX_C_SOURCE 200809L
#include "core/lines.h"

#include <errno.h>
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
        char *from = r->buf + r->start;
        size_t avail = r->end - r->start;
        char *nl = avail ? memchr(from, '\n', avail) : NULL;
        bool cut = !nl && r->max_line && avail > r->max_line + CUT_MARGIN;
        if (r->skipping) { /* the rest of a cut line */
            r->start = nl ? (size_t)(nl - r->buf) + 1 : r->end;
            r->skipping = !nl;
            if (nl)
                continue;
        } else if (nl || cut || (r->at_end && avail)) {
            *line = from;
            *n = nl ? (size_t)(nl - from) : cut ? r->max_line + CUT_MARGIN : avail;
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

/* Stream source with max_line set: like stream_next, but a line longer than max_line + CUT_MARGIN bytes is
 * returned cut at that length and the rest of it is skipped on the next call, never held. getline has no
 * bound (one endless line of a gzip file of zeros would take gigabytes), hence the byte loop; it leaves
 * the stream just after the "\n", as getline does. */
static int stream_next_bounded(line_reader *r, char **line, size_t *n)
{
    size_t limit = r->max_line + CUT_MARGIN, len = 0;
    int c, got = 0;
    flockfile(r->f);
    while (r->skipping && (c = getc_unlocked(r->f)) != EOF && c != '\n')
        continue;
    r->skipping = false;
    while ((c = getc_unlocked(r->f)) != EOF) {
        got = 1;
        if (c == '\n')
            break;
        if (len == limit) {
            r->skipping = true;
            break;
        }
        if (len + 2 > r->cap) {
            size_t cap = r->cap ? 2 * r->cap : 256;
            cap = cap > limit + 1 ? limit + 1 : cap;
            char *buf = realloc(r->buf, cap);
            if (!buf) {
                errno = ENOMEM;
                got = -1;
                break;
            }
            r->buf = buf, r->cap = cap;
        }
        r->buf[len++] = (char)c;
    }
    bool failed = got < 0 || ferror(r->f);
    funlockfile(r->f);
    if (failed)
        return -1;
    if (!got)
        return 0;
    if (!r->buf) {
        if (!(r->buf = malloc(1))) {
            errno = ENOMEM;
            return -1;
        }
        r->cap = 1;
    }
    r->buf[len] = '\0';
    r->ended = c == '\n';
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
