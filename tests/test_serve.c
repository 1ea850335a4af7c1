/* hftc serve under hostile and unusual clients (issue 25, items 4-6): a thousand idle connections, slowloris
 * clients and slow bodies do not lock a real client out and are closed at their deadline; a client that half-closes
 * its side after its request (shutdown(SHUT_WR), legal HTTP/1.1) gets its answer; SIGTERM answers every request it
 * received, answers 503 with Connection: close to those that arrive or complete during the drain, and exits 0. The
 * bounds on time are generous correctness checks (a locked-out client waits forever, a slowloris connection lives
 * forever), not claims about speed. The command is $HFTC_BIN, set by ctest. */
#include "hftc.h"
#include "http_client.h"
#include "test.h"
#include "tmpfiles.h"
#include "topics.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static const char *bin, *model;

static const char document[] = "{\"text\": \"the team won the match\"}";

enum { LOCALHOST = 0x7f000001 }; /* 127.0.0.1, the real client's address */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A prediction request for document; keep_alive: without "Connection: close". */
static size_t predict_request(char *out, size_t size, bool keep_alive)
{
    int n = snprintf(out, size, "POST /predict HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: %zu\r\n\r\n%s",
                     keep_alive ? "" : "Connection: close\r\n", strlen(document), document);
    return (size_t)n;
}

/* A real client: one prediction request from 127.0.0.1, its answer awaited at most seconds; true if it was 200 with
 * the document's label. */
static bool answered_within(int port, int seconds)
{
    char raw[512], answer[4096];
    size_t len = predict_request(raw, sizeof raw, false);
    return http_exchange(port, LOCALHOST, raw, len, seconds, answer, sizeof answer) == 200 &&
           strstr(answer, "\"sport\"");
}

/* Opens n connections from the addresses 127.net.x.y, one each (one_address: all from 127.net.0.1), each sending
 * prefix (NULL: nothing); returns how many opened, their sockets in fds. */
static size_t open_clients(int port, uint32_t net, size_t n, bool one_address, const char *prefix, int *fds)
{
    size_t opened = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t host = one_address ? 1 : (uint32_t)i + 1;
        int fd = http_connect(port, 0x7f000000u | net << 16 | (host / 250) << 8 | (host % 250 + 1));
        if (fd >= 0 && prefix && !http_send(fd, prefix, strlen(prefix))) {
            close(fd);
            fd = -1;
        }
        if (fd >= 0)
            fds[opened++] = fd;
    }
    return opened;
}

static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* Waits at most seconds for the server (pid) to exit; its exit status, -1 if it had to be killed. */
static int wait_exit(pid_t pid, double seconds)
{
    int status;
    for (double until = now_seconds() + seconds; now_seconds() < until;) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* Starts the server with the model and args (NULL-terminated, at most 8); its pid, the port in *port. */
static pid_t start(const char *const *args, int *port, int *err)
{
    const char *argv[16] = {"--model", model, "--threads", "1", "--quiet"};
    for (size_t i = 0; args[i] && i < 8; i++)
        argv[5 + i] = args[i];
    pid_t pid = serve_start(bin, argv, err, port);
    CHECK_MSG(pid > 0 && *port > 0, "hftc serve did not start");
    return pid;
}

static void stop(pid_t pid, int err)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        CHECK(wait_exit(pid, 60) == 0);
    }
    if (err >= 0)
        close(err);
}

/* The server's connections on port in state CLOSE-WAIT (the client has closed, the server not yet), from
 * /proc/net/tcp; -1 if it cannot be read. */
static int close_waits(int port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    int n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        unsigned local_port, state;
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x", &local_port, &state) == 2 && local_port == (unsigned)port &&
            state == 0x08)
            n++;
    }
    fclose(f);
    return n;
}

enum { IDLE = 1000, PARTIAL = 300 };

/* The server started with a soft limit of 256 open files: 1,000 idle connections from 1,000 addresses, 300 with half a
 * request (and 300 more that close at once), then 1,000 idle ones from one address: a real request is answered all the
 * while (it was not once 256 connections were open); once they close, the server closes its side of each within 5 s (it
 * used to leave them in CLOSE-WAIT until the timeout, as libmicrohttpd's epoll loses the end of a stream that arrives
 * with the last bytes) and answers again. */
static void test_idle_connections(void)
{
    struct rlimit files, low;
    if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_max < 4096 + 64) {
        fprintf(stderr, "test_idle_connections skipped: a hard limit of %llu open files\n",
                (unsigned long long)files.rlim_max);
        return;
    }
    low = (struct rlimit){256, files.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    int port, err;
    pid_t pid = start((const char *const[]){NULL}, &port, &err);
    CHECK(setrlimit(RLIMIT_NOFILE, &files) == 0);
    static int fds[2 * IDLE + PARTIAL];
    size_t n = port ? open_clients(port, 1, IDLE, false, NULL, fds) : 0;
    CHECK_MSG(n == IDLE, "%zu of %d connections opened", n, IDLE);
    size_t partial = port ? open_clients(port, 2, PARTIAL, false, "GET /health HTTP/1.1\r\nHo", fds + n) : 0;
    CHECK_MSG(partial == PARTIAL, "%zu of %d connections opened", partial, PARTIAL);
    n += partial;
    /* and as many gone at once: their bytes and the end of their stream arrive together */
    int gone[PARTIAL];
    size_t n_gone = port ? open_clients(port, 4, PARTIAL, false, "GET /health HTTP/1.1\r\nHo", gone) : 0;
    close_all(gone, n_gone);
    CHECK_MSG(port && answered_within(port, 5), "no answer within 5 s beside %zu idle connections", n);
    /* from one address: the server closes those past the per-address limit */
    size_t one = port ? open_clients(port, 3, IDLE, true, NULL, fds + n) : 0;
    CHECK_MSG(one == IDLE, "%zu of %d connections opened", one, IDLE);
    n += one;
    CHECK_MSG(port && answered_within(port, 5), "no answer within 5 s beside %zu idle connections", n);
    close_all(fds, n);
    int waiting = close_waits(port);
    for (double until = now_seconds() + 5; waiting > 0 && now_seconds() < until; waiting = close_waits(port))
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    CHECK_MSG(waiting == 0, "%d connections in CLOSE-WAIT 5 s after their clients closed", waiting);
    for (int i = 0; i < 3; i++)
        CHECK_MSG(port && answered_within(port, 5), "no answer within 5 s after the idle clients closed (%d)", i + 1);
    stop(pid, err);
}

/* With --max-connections 300, 1,000 idle connections from one address: the server keeps the first 64 (the default
 * --max-connections-per-ip) and closes the others within 5 s, so a real request is answered beside them (without the
 * per-address limit, the first 300 filled the server). */
static void test_per_address_limit(void)
{
    int port, err;
    pid_t pid = start((const char *const[]){"--max-connections", "300", NULL}, &port, &err);
    static int fds[IDLE];
    size_t n = port ? open_clients(port, 5, IDLE, true, NULL, fds) : 0;
    CHECK_MSG(n == IDLE, "%zu of %d connections opened", n, IDLE);
    CHECK_MSG(port && answered_within(port, 5), "no answer within 5 s beside %zu idle connections from one address", n);
    size_t closed = 0;
    for (double until = now_seconds() + 5; closed < n - 64 && now_seconds() < until;) {
        closed = 0;
        for (size_t i = 0; i < n; i++) {
            struct pollfd p = {.fd = fds[i], .events = POLLIN};
            closed += poll(&p, 1, 0) == 1;
        }
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    }
    CHECK_MSG(closed == n - 64, "%zu of %zu connections from one address closed by the server", closed, n);
    close_all(fds, n);
    stop(pid, err);
}

/* A hard limit of 200 open files: the server says it serves fewer connections than --max-connections, and serves. */
static void test_file_limit(void)
{
    char cmd[1024], line[256], warned[256] = "";
    snprintf(cmd, sizeof cmd, "ulimit -n 200 && echo $$ && exec %s serve --model %s --port 0 --quiet 2>&1", bin, model);
    FILE *p = popen(cmd, "r");
    int pid = 0;
    bool listening = false;
    if (p && fgets(line, sizeof line, p) && sscanf(line, "%d", &pid) == 1)
        while (!listening && fgets(line, sizeof line, p)) {
            listening = strstr(line, "listening on");
            if (strstr(line, "--max-connections"))
                snprintf(warned, sizeof warned, "%s", line);
        }
    if (pid > 0)
        kill(pid, SIGTERM);
    int status = p ? pclose(p) : -1;
    CHECK_MSG(listening && strstr(warned, "--max-connections 4096 lowered to 136"), "warning: %s", warned);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
}

/* A port in use: the second server says why it cannot listen, --quiet or not, and exits 1. */
static void test_port_in_use(void)
{
    int port, err;
    pid_t pid = start((const char *const[]){NULL}, &port, &err);
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "%s serve --model %s --port %d --quiet 2>&1", bin, model, port);
    FILE *p = port ? popen(cmd, "r") : NULL;
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int status = p ? pclose(p) : -1;
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(out, "Address already in use") &&
                  strstr(out, "cannot listen"),
              "status %d: %s", status, out);
    stop(pid, err);
}

enum { SLOW = 100, SLOW_KINDS = 3 };

/* 100 slowloris clients (a header byte every half second), 100 idle ones and 100 slow bodies (a body byte every half
 * second) with --request-timeout 2: a real request is answered beside them, and each is closed by the server within
 * 15 s (its deadline and the server's half-second rounds; without a deadline, a slowloris client lives forever). */
static void test_slow_clients(void)
{
    int port, err;
    pid_t pid = start((const char *const[]){"--request-timeout", "2", NULL}, &port, &err);
    static int fds[SLOW_KINDS * SLOW];
    static const char *const prefixes[SLOW_KINDS] = {
        "POST /predict HTTP/1.1\r\nHost: localhost\r\n", NULL,
        "POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n{\"text\": \""};
    static const char drip[SLOW_KINDS] = {'X', 0, 'a'};
    size_t n = 0;
    for (uint32_t kind = 0; port && kind < SLOW_KINDS; kind++) {
        size_t opened = open_clients(port, 3 + kind, SLOW, false, prefixes[kind], fds + kind * SLOW);
        CHECK_MSG(opened == SLOW, "kind %u: %zu of %d connections opened", kind, opened, SLOW);
        for (size_t i = opened; i < SLOW; i++)
            fds[kind * SLOW + i] = -1;
        n += opened;
    }
    CHECK_MSG(port && answered_within(port, 5), "no answer within 5 s beside %zu slow clients", n);
    size_t open = n;
    double started = now_seconds();
    while (open > 0 && now_seconds() < started + 15) {
        nanosleep(&(struct timespec){0, 500000000}, NULL);
        for (size_t i = 0; i < SLOW_KINDS * SLOW; i++) {
            char c;
            struct pollfd p = {.fd = fds[i], .events = POLLIN};
            bool closed = fds[i] >= 0 && ((drip[i / SLOW] && send(fds[i], &drip[i / SLOW], 1, MSG_NOSIGNAL) != 1) ||
                                          (poll(&p, 1, 0) == 1 && read(fds[i], &c, 1) <= 0));
            if (closed) {
                close(fds[i]);
                fds[i] = -1;
                open--;
            }
        }
    }
    CHECK_MSG(open == 0, "%zu of %zu slow clients still open after %.1f s", open, n, now_seconds() - started);
    close_all(fds, SLOW_KINDS * SLOW);
    CHECK_MSG(port && answered_within(port, 5), "no answer within 5 s after the slow clients");
    stop(pid, err);
}

enum { HALF_CLOSE_THREADS = 8, HALF_CLOSE_REQUESTS = 50 };

typedef struct {
    int port;
    size_t answered;
    char first_wrong[512];
} half_closer;

/* Requests in turn, each on its own connection whose sending side is shut once the request is sent. */
static void *half_close_run(void *arg)
{
    half_closer *h = arg;
    char raw[512], answer[4096];
    size_t len = predict_request(raw, sizeof raw, true);
    for (int i = 0; i < HALF_CLOSE_REQUESTS; i++) {
        int fd = http_connect(h->port, 0);
        int status = 0;
        if (fd >= 0 && http_send(fd, raw, len) && shutdown(fd, SHUT_WR) == 0)
            status = http_answer(fd, 5, answer, sizeof answer); /* the answer and the end of the connection */
        if (fd >= 0)
            close(fd);
        if (status == 200 && strstr(answer, "\"sport\""))
            h->answered++;
        else if (!h->first_wrong[0])
            snprintf(h->first_wrong, sizeof h->first_wrong, "status %d: %.400s", status,
                     fd < 0 ? "no connection" : answer);
    }
    return NULL;
}

/* 8 clients x 50 requests, each half-closing its connection after its request: every one answered, and its connection
 * closed by the server within 5 s (50 of 400 were answered, the others waiting in the batching queue lost their
 * answer; with libmicrohttpd's epoll, the connections whose end came with the request stayed open until the
 * timeout). */
static void test_half_closed_clients(void)
{
    int port, err;
    pid_t pid = start((const char *const[]){NULL}, &port, &err);
    half_closer clients[HALF_CLOSE_THREADS] = {0};
    pthread_t threads[HALF_CLOSE_THREADS];
    bool started[HALF_CLOSE_THREADS] = {0};
    for (int i = 0; port && i < HALF_CLOSE_THREADS; i++) {
        clients[i].port = port;
        started[i] = pthread_create(&threads[i], NULL, half_close_run, &clients[i]) == 0;
        CHECK(started[i]);
    }
    size_t answered = 0;
    for (int i = 0; port && i < HALF_CLOSE_THREADS; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        answered += clients[i].answered;
        CHECK_MSG(!clients[i].first_wrong[0], "client %d: %zu answered, the first wrong: %s", i, clients[i].answered,
                  clients[i].first_wrong);
    }
    CHECK_MSG(answered == HALF_CLOSE_THREADS * HALF_CLOSE_REQUESTS, "%zu of %d half-closed requests answered", answered,
              HALF_CLOSE_THREADS * HALF_CLOSE_REQUESTS);
    stop(pid, err);
}

enum { LOAD_THREADS = 8, LOAD_REQUESTS = 25 };

/* The clients sending while the server is told to stop: each answer must be a prediction or a 503 that closes the
 * connection, never a connection closed without an answer. */
typedef struct {
    int port;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    size_t predicted, refused, done; /* under lock */
    size_t wrong;
    char first_wrong[512];
} load;

/* true if answer is the 503 of a stopping server, which closes the connection */
static bool stopping_answer(int status, const char *answer)
{
    return status == 503 && strstr(answer, "\r\nConnection: close\r\n") && strstr(answer, "stopping");
}

static void *load_run(void *arg)
{
    load *l = arg;
    char raw[512], answer[4096];
    size_t len = predict_request(raw, sizeof raw, false);
    for (int i = 0; i < LOAD_REQUESTS; i++) {
        int status = http_exchange(l->port, 0, raw, len, 60, answer, sizeof answer);
        bool predicted = status == 200 && strstr(answer, "\"sport\""), refused = stopping_answer(status, answer);
        pthread_mutex_lock(&l->lock);
        l->predicted += predicted, l->refused += refused, l->done++;
        if (!predicted && !refused && !l->wrong++)
            snprintf(l->first_wrong, sizeof l->first_wrong, "status %d: %.400s", status, answer);
        pthread_cond_broadcast(&l->changed);
        pthread_mutex_unlock(&l->lock);
    }
    return NULL;
}

/* SIGTERM while a request's body is half sent (its headers answered "100 Continue") and 8 clients send predictions:
 * every request answered (a prediction before the signal, 503 with Connection: close after it), a new request
 * during the drain 503, the half-sent request 503 once its body is complete, then exit status 0. */
static void test_sigterm_drain(void)
{
    int port, err;
    pid_t pid = start((const char *const[]){"--request-timeout", "60", NULL}, &port, &err);
    char head[256], answer[4096];
    int held = port ? http_connect(port, 0) : -1;
    snprintf(head, sizeof head,
             "POST /predict HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
             strlen(document));
    CHECK(held >= 0 && http_send(held, head, strlen(head)));
    bool go_on = held >= 0 && read_line_within(held, answer, sizeof answer, 60) && strstr(answer, " 100 ");
    CHECK_MSG(go_on, "no 100 Continue: %s", answer);
    CHECK(held >= 0 && read_line_within(held, answer, sizeof answer, 60)); /* the blank line after it */
    CHECK(held >= 0 && http_send(held, document, 10));

    load l = {.port = port, .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
    pthread_t threads[LOAD_THREADS];
    bool started[LOAD_THREADS] = {0};
    for (int i = 0; port && i < LOAD_THREADS; i++) {
        started[i] = pthread_create(&threads[i], NULL, load_run, &l) == 0;
        CHECK(started[i]);
    }
    pthread_mutex_lock(&l.lock); /* the signal once the clients are under way */
    while (port && l.done < 2 * LOAD_THREADS)
        pthread_cond_wait(&l.changed, &l.lock);
    pthread_mutex_unlock(&l.lock);
    if (pid > 0)
        kill(pid, SIGTERM);
    for (int i = 0; port && i < LOAD_THREADS; i++)
        if (started[i])
            pthread_join(threads[i], NULL);
    CHECK_MSG(l.wrong == 0 && l.predicted + l.refused == LOAD_THREADS * LOAD_REQUESTS && l.predicted > 0,
              "%zu predicted, %zu refused with 503, %zu neither: the first %s", l.predicted, l.refused, l.wrong,
              l.first_wrong);

    /* the drain goes on while the half-sent request is unanswered: a new request is refused */
    char raw[512];
    size_t len = predict_request(raw, sizeof raw, true);
    int status = port ? http_exchange(port, 0, raw, len, 60, answer, sizeof answer) : 0;
    CHECK_MSG(stopping_answer(status, answer), "a request during the drain: status %d: %s", status, answer);
    /* the rest of the body: 503, and the connection closed */
    CHECK(held >= 0 && http_send(held, document + 10, strlen(document) - 10));
    status = held >= 0 ? http_answer(held, 60, answer, sizeof answer) : 0;
    CHECK_MSG(stopping_answer(status, answer), "the body completed during the drain: status %d: %s", status, answer);
    if (held >= 0)
        close(held);
    int exit_status = pid > 0 ? wait_exit(pid, 60) : -1;
    CHECK_MSG(exit_status == 0, "hftc serve exited with %d", exit_status);
    char line[256];
    bool stopping = false;
    while (err >= 0 && read_line_within(err, line, sizeof line, 10))
        stopping = stopping || strstr(line, "SIGTERM: stopping");
    CHECK(stopping);
    if (err >= 0)
        close(err);
}

int main(void)
{
    bin = getenv("HFTC_BIN");
    if (!bin) {
        fprintf(stderr, "HFTC_BIN not set: run through ctest\n");
        return 1;
    }
    /* the clients of the tests: more sockets than the usual soft limit of 1,024 */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    signal(SIGPIPE, SIG_IGN);
    tmpfiles_init("serve");
    topics_write_splits();
    model = tmpfiles_path("serve.hftc");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s train --preset flat-cnn --train %s --valid %s --output %s --dim 16 --filters 8 --hidden 32 "
             "--max-len 20 --batch 16 --epochs 3 --lr 0.005 --threads 1 --quiet 2>&1",
             bin, path_train, path_valid, model);
    int trained = system(cmd);
    CHECK_MSG(trained == 0, "%s: status %d", cmd, trained);
    if (trained == 0) {
        RUN_TEST(test_idle_connections);
        RUN_TEST(test_per_address_limit);
        RUN_TEST(test_file_limit);
        RUN_TEST(test_port_in_use);
        RUN_TEST(test_slow_clients);
        RUN_TEST(test_half_closed_clients);
        RUN_TEST(test_sigterm_drain);
    }
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
