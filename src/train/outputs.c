/* The files a training writes (its model and its checkpoint), checked before it starts, so that hours of
 * training do not end in a file that cannot be written, nor write over a device or the training's own
 * data; and an ensemble's model the same way. */
#define _XOPEN_SOURCE 700 /* realpath */

#include "train/outputs.h"

#include "core/error.h"
#include "model/safetensors.h"

#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* path with its directory resolved (realpath: no link, no "..", absolute), or NULL. */
static char *resolved_place(const char *path)
{
    char *copy = strdup(path), *name = strdup(path);
    char *dir = copy ? realpath(dirname(copy), NULL) : NULL;
    const char *base = name ? basename(name) : NULL;
    size_t size = dir && base ? strlen(dir) + strlen(base) + 2 : 0;
    char *place = size ? malloc(size) : NULL;
    if (place)
        snprintf(place, size, "%s/%s", dir, base);
    free(copy), free(name), free(dir);
    return place;
}

/* Whether writing path would destroy file: the same file under any name (a hard link, or a symbolic link
 * at path: the write would replace the link, but its user meant the file), or where neither exists yet,
 * the same place. */
bool same_file(const char *path, const char *file)
{
    struct stat p, f;
    bool path_exists = stat(path, &p) == 0, file_exists = stat(file, &f) == 0;
    if (path_exists || file_exists)
        return path_exists && file_exists && p.st_dev == f.st_dev && p.st_ino == f.st_ino;
    char *a = resolved_place(path), *b = resolved_place(file);
    bool same = a && b ? !strcmp(a, b) : !strcmp(path, file);
    free(a), free(b);
    return same;
}

typedef struct {
    const char *path, *option;
} input_file;

/* path, which option names, can be written: not empty, not a special file, in a directory that can be
 * written, and none of the n inputs of the work (a training, an ensemble) that writes it. */
static hftc_status output_check(const char *path, const char *option, const input_file *inputs, size_t n,
                                const char *work)
{
    if (!*path)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "%s: the file name is empty", option);
    for (size_t i = 0; i < n; i++)
        if (inputs[i].path && same_file(path, inputs[i].path))
            return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                             "%s %s is the file of %s: the %s would write over its own input", option, path,
                             inputs[i].option, work);
    TRY(safetensors_check_output(path));
    char *copy = strdup(path);
    if (!copy)
        return error_set(HFTC_STATUS_OUT_OF_MEMORY, "out of memory");
    const char *dir = dirname(copy);
    hftc_status st = access(dir, W_OK) == 0 ? HFTC_STATUS_OK
                                            : error_set(HFTC_STATUS_IO, "cannot write to directory %s (%s %s): %s", dir,
                                                        option, path, strerror(errno));
    free(copy);
    return st;
}

hftc_status hftc_train_outputs_check(const hftc_train_options *o, const char *output)
{
    const char *checkpoint = o->checkpoint_path;
    if (output && checkpoint && same_file(checkpoint, output))
        return error_set(HFTC_STATUS_INVALID_ARGUMENT,
                         "--checkpoint must be another file than --output (it is removed at the end)");
    const input_file inputs[] = {{o->train_path, "--train"},
                                 {o->valid_path, "--valid"},
                                 {o->taxonomy_path, "--taxonomy"},
                                 {o->embeddings_path, "--embeddings"},
                                 {o->label_names_path, "--label-names"},
                                 {o->class_weights_from, "--class-weights-from"},
                                 {o->reuse_runs_from, "--reuse-runs"}};
    size_t n = sizeof inputs / sizeof *inputs;
    if (output)
        TRY(output_check(output, "--output", inputs, n, "training"));
    return checkpoint ? output_check(checkpoint, "--checkpoint", inputs, n, "training") : HFTC_STATUS_OK;
}

hftc_status hftc_ensemble_outputs_check(const hftc_ensemble_options *o, const char *output)
{
    input_file inputs[HFTC_MAX_ENSEMBLE + 1] = {{o->valid_path, "--valid"}};
    size_t n = 1;
    for (size_t k = 0; k < o->n_models && n < sizeof inputs / sizeof *inputs; k++)
        inputs[n++] = (input_file){o->models[k], "--model"};
    return output_check(output, "--output", inputs, n, "ensemble");
}
