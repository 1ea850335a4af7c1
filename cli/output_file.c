/* cli_write_file: an output file of the command (a report's page, a test's per-document counts) written whole or not
 * at all. */
#include "commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_write_file(const char *command, const char *path, void (*write)(FILE *f, const void *user), const void *user)
{
    if (!strcmp(path, "-")) {
        write(stdout, user);
        return fflush(stdout) ? 1 : 0;
    }
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
    size_t size = strlen(path) + 32;
    char *tmp = malloc(size);
    if (!tmp) {
        fprintf(stderr, "hftc %s: out of memory\n", command);
        return 1;
    }
    snprintf(tmp, size, "%.*s.%s.hftc-tmp.XXXXXX", (int)dir, path, path + dir);
    int fd = mkstemp(tmp);
    mode_t mask = umask(0); /* the file readable as any new file is, not mkstemp's 0600 */
    umask(mask);
    if (fd >= 0)
        fchmod(fd, 0666 & ~mask);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "hftc %s: %s: cannot write beside it: %s\n", command, path, strerror(errno));
        if (fd >= 0)
            close(fd), unlink(tmp);
        free(tmp);
        return 1;
    }
    write(f, user);
    int failed = ferror(f) | fflush(f) | fsync(fileno(f));
    int err = errno;
    failed |= fclose(f);
    if (!failed && rename(tmp, path) != 0)
        failed = 1, err = errno;
    if (failed) {
        fprintf(stderr, "hftc %s: %s: %s\n", command, path, strerror(err));
        unlink(tmp);
    }
    free(tmp);
    return failed ? 1 : 0;
}
