/* Temporary files for the test programs: one fresh directory per program, files in it named by the
 * tests, and removal of all of them at the end. Header-only with static inline functions, so a
 * program that uses only some of them builds without warnings. A program calls tmpfiles_init("name")
 * first, tmpfiles_path or tmpfiles_write for every file it makes, and tmpfiles_cleanup() last. */
#ifndef HFTC_TMPFILES_H
#define HFTC_TMPFILES_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TMPFILES_MAX 64

// The directory and every path handed out, removed by tmpfiles_cleanup.
static struct {
    char dir[64];
    char *paths[TMPFILES_MAX];
    size_t n_paths;
} tmpfiles_state;

// Makes the directory /tmp/hftc-test-<name>-XXXXXX; exits if it cannot.
static inline void tmpfiles_init(const char *name)
{
    // A name too long to fit cuts off the XXXXXX, which mkdtemp then rejects.
    snprintf(tmpfiles_state.dir, sizeof tmpfiles_state.dir, "/tmp/hftc-test-%s-XXXXXX", name);
    if (!mkdtemp(tmpfiles_state.dir)) {
        fprintf(stderr, "tmpfiles: mkdtemp %s: %s\n", tmpfiles_state.dir, strerror(errno));
        exit(1);
    }
}

static inline const char *tmpfiles_dir(void) { return tmpfiles_state.dir; }

// dir/name, remembered for tmpfiles_cleanup; one name always gives the same pointer, valid until then.
static inline const char *tmpfiles_path(const char *name)
{
    if (!tmpfiles_state.dir[0]) {
        fprintf(stderr, "tmpfiles: tmpfiles_path(\"%s\") before tmpfiles_init\n", name);
        exit(1);
    }
    size_t size = strlen(tmpfiles_state.dir) + 1 + strlen(name) + 1;
    char *path = malloc(size);
    if (!path)
        exit(1);
    snprintf(path, size, "%s/%s", tmpfiles_state.dir, name);
    for (size_t i = 0; i < tmpfiles_state.n_paths; i++) {
        if (strcmp(tmpfiles_state.paths[i], path) == 0) {
            free(path);
            return tmpfiles_state.paths[i];
        }
    }
    if (tmpfiles_state.n_paths == TMPFILES_MAX) {
        fprintf(stderr, "tmpfiles: more than %d files\n", TMPFILES_MAX);
        exit(1);
    }
    tmpfiles_state.paths[tmpfiles_state.n_paths++] = path;
    return path;
}

// Writes len bytes to path; false if it cannot (for tests that check the write themselves).
static inline bool tmpfiles_write_path(const char *path, const void *content, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(content, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

// Writes len bytes to dir/name and returns its path (as tmpfiles_path); exits if it cannot.
static inline const char *tmpfiles_write(const char *name, const void *content, size_t len)
{
    const char *path = tmpfiles_path(name);
    if (!tmpfiles_write_path(path, content, len)) {
        fprintf(stderr, "tmpfiles: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return path;
}

static inline const char *tmpfiles_write_text(const char *name, const char *text)
{
    return tmpfiles_write(name, text, strlen(text));
}

// The whole of path, '\0' after its len bytes (len may be NULL); NULL if it cannot be read. The caller frees it.
static inline char *tmpfiles_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
    size_t got = buf ? fread(buf, 1, (size_t)size, f) : 0;
    fclose(f);
    if (buf)
        buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

/* Removes every path handed out (remove() also takes an empty directory a test made there), then the
 * directory; a file the tests made without tmpfiles_path keeps the directory, which is reported. */
static inline void tmpfiles_cleanup(void)
{
    for (size_t i = 0; i < tmpfiles_state.n_paths; i++) {
        remove(tmpfiles_state.paths[i]);
        free(tmpfiles_state.paths[i]);
    }
    tmpfiles_state.n_paths = 0;
    if (rmdir(tmpfiles_state.dir) != 0)
        fprintf(stderr, "tmpfiles: cannot remove %s: %s\n", tmpfiles_state.dir, strerror(errno));
}

#endif
