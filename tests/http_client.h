/* hftc serve and its HTTP clients for the command's tests (test_cli.c, test_serve.c): the server started on a port
 * the system chooses, lines read from a pipe within a bound, connections from a chosen loopback address (the
 * server's limits are per address), whole requests sent and answers read until the server closes. Header-only like
 * tmpfiles.h. */
#ifndef HFTC_HTTP_CLIENT_H
#define HFTC_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* Reads one line (up to size - 1 bytes, without its newline) from fd, waiting at most seconds for it;
 * false if none came. */
static inline bool read_line_within(int fd, char *out, size_t size, int seconds)
{
    size_t n = 0;
    while (n + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char c;
        if (poll(&p, 1, seconds * 1000) != 1 || read(fd, &c, 1) != 1)
            break;
        if (c == '\n') {
            out[n] = '\0';
            return true;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return false;
}

/* Reads lines from fd until one holds needle (copied to line); false if none came within 120 s. */
static inline bool read_line_with(int fd, const char *needle, char *line, size_t size)
{
    while (read_line_within(fd, line, size, 120))
        if (strstr(line, needle))
            return true;
    return false;
}

/* Starts `bin serve --port 0 ARGS...` (args: NULL-terminated) with its stderr on a pipe whose reading end is *err;
 * returns its pid (-1 if it could not fork) and sets *port to the port it printed (0 if it printed none within
 * 120 s: stop it with the pid all the same). */
static inline pid_t serve_start(const char *bin, const char *const *args, int *err, int *port)
{
    enum { MAX_ARGS = 32 };
    const char *argv[MAX_ARGS + 5] = {bin, "serve", "--port", "0"};
    for (size_t i = 0; args[i] && i < MAX_ARGS; i++)
        argv[4 + i] = args[i];
    int fds[2];
    *port = 0, *err = -1;
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]), close(fds[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    *err = fds[0];
    char line[256];
    const char *at = read_line_within(fds[0], line, sizeof line, 120) ? strstr(line, " port ") : NULL;
    if (!at || sscanf(at, " port %d", port) != 1)
        *port = 0;
    return pid;
}

/* A TCP connection to 127.0.0.1:port from the loopback address from (host order; 0: the system's choice), or -1.
 * Every 127.x.y.z is this machine's, so one test plays many clients of distinct addresses. */
static inline int http_connect(int port, uint32_t from)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in source = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(from)};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && (from == 0 || bind(fd, (struct sockaddr *)&source, sizeof source) == 0) &&
        connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Sends len bytes without SIGPIPE (a server that closes the connection mid-request is an answer too). */
static inline bool http_send(int fd, const char *data, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t w = send(fd, data + done, len - done, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        done += (size_t)w;
    }
    return true;
}

/* Reads fd until the server closes it, waiting at most seconds for each part, into answer (size bytes, NUL
 * terminated); returns the answer's status, 0 if none came or the server did not close the connection in time. */
static inline int http_answer(int fd, int seconds, char *answer, size_t size)
{
    size_t got = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ssize_t r = -1;
    while (got + 1 < size && poll(&p, 1, seconds * 1000) == 1 && (r = read(fd, answer + got, size - 1 - got)) > 0)
        got += (size_t)r;
    answer[got] = '\0';
    int status = 0;
    return r == 0 && sscanf(answer, "HTTP/1.1 %d", &status) == 1 ? status : 0;
}

/* Sends raw (a whole request) to the server on port from the address from (0: any) and reads the answer within
 * seconds into answer; returns its status, 0 if none came. */
static inline int http_exchange(int port, uint32_t from, const char *raw, size_t len, int seconds, char *answer,
                                size_t size)
{
    int fd = http_connect(port, from);
    answer[0] = '\0';
    if (fd < 0)
        return 0;
    http_send(fd, raw, len); /* read even if sending failed: the server may answer and close before the end */
    int status = http_answer(fd, seconds, answer, size);
    close(fd);
    return status;
}

/* Sends an HTTP request to 127.0.0.1:port and reads the whole answer: returns its status (0 if none came
 * within 120 s), its body in body. */
static inline int http(int port, const char *method, const char *path, const char *content, size_t content_len,
                       char *body, size_t size)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n", method,
                     path, content_len);
    char *raw = malloc((size_t)n + content_len + 1), *answer = malloc(1 << 20);
    int status = 0;
    body[0] = '\0';
    if (raw && answer) {
        memcpy(raw, head, (size_t)n);
        memcpy(raw + n, content, content_len);
        status = http_exchange(port, 0, raw, (size_t)n + content_len, 120, answer, 1 << 20);
        const char *start = strstr(answer, "\r\n\r\n");
        snprintf(body, size, "%s", start ? start + 4 : "");
    }
    free(raw), free(answer);
    return status;
}

/* Sends raw (a whole request) to the server on port; returns the answer's status, 0 if none came (the connection
 * closed), within 120 s. */
static inline int http_raw(int port, const char *raw)
{
    char answer[4096];
    return http_exchange(port, 0, raw, strlen(raw), 120, answer, sizeof answer);
}

#endif
