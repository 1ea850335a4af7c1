/* What the fuzz targets share (docs/RELIABILITY.md, "Fuzzing"): a quiet library, one thread,
 * and for the parsers that read a path, the input written to a file in a temporary directory of the process's
 * own, removed when it exits (or, if it crashed, by the next target that starts). Header-only: each target is one file
 * and this header. */
#ifndef HFTC_FUZZ_H
#define HFTC_FUZZ_H

#include "hftc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FILES 4

static char fuzz_dir[64];
static char fuzz_paths[FUZZ_FILES][96];
static size_t fuzz_n_paths;

static inline void fuzz_cleanup(void)
{
    for (size_t i = 0; i < fuzz_n_paths; i++)
        unlink(fuzz_paths[i]);
    rmdir(fuzz_dir);
}

/* Removes the temporary directories of fuzz targets that ended without their atexit handlers: libFuzzer leaves a
 * crash with _Exit, and kills the jobs of -fork. Each directory is named for its process, /tmp/hftc-fuzz-PID-XXXXXX. */
static inline void fuzz_remove_stale(void)
{
    DIR *tmp = opendir("/tmp");
    for (struct dirent *e; tmp && (e = readdir(tmp));) {
        long pid;
        char path[300];
        if (sscanf(e->d_name, "hftc-fuzz-%ld-", &pid) != 1 || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(path, sizeof path, "/tmp/%s", e->d_name);
        DIR *d = opendir(path);
        for (struct dirent *f; d && (f = readdir(d));) {
            char file[600];
            snprintf(file, sizeof file, "%s/%s", path, f->d_name);
            if (strcmp(f->d_name, ".") && strcmp(f->d_name, ".."))
                unlink(file);
        }
        if (d)
            closedir(d);
        rmdir(path);
    }
    if (tmp)
        closedir(tmp);
}

/* Once per process: no library messages (a fuzzer prints enough), one thread, the temporary directory. */
static inline void fuzz_init(void)
{
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    hftc_set_threads(1);
    fuzz_remove_stale();
    snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/hftc-fuzz-%ld-XXXXXX", (long)getpid());
    if (!mkdtemp(fuzz_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup);
}

/* The path of file name in the temporary directory, removed at exit (the same name: the same path). */
static inline const char *fuzz_path(const char *name)
{
    for (size_t i = 0; i < fuzz_n_paths; i++)
        if (!strcmp(strrchr(fuzz_paths[i], '/') + 1, name))
            return fuzz_paths[i];
    if (fuzz_n_paths == FUZZ_FILES)
        abort();
    snprintf(fuzz_paths[fuzz_n_paths], sizeof fuzz_paths[0], "%s/%s", fuzz_dir, name);
    return fuzz_paths[fuzz_n_paths++];
}

/* data[0, size) as file name of the temporary directory; returns its path. */
static inline const char *fuzz_file(const char *name, const void *data, size_t size)
{
    const char *path = fuzz_path(name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror("fuzz: writing a file");
        abort();
    }
    return path;
}

#endif
