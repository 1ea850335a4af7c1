/* The command-line tests' way to run the hftc command (test_cli.c, mpi_node.c): a shell command line, its
 * output captured. Header-only like tmpfiles.h. */
#ifndef HFTC_TESTS_COMMAND_H
#define HFTC_TESTS_COMMAND_H

#include <stdio.h>
#include <sys/wait.h>

/* Runs a shell command line, capturing stdout + stderr (up to size - 1 bytes, ended by '\0'); returns its
 * exit status (-1 if it did not exit). */
static inline int run_command(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, size - 1, p) : 0;
    out[n] = '\0';
    int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
