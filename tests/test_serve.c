/* hftc serve under unusual clients (issue 25): a client that half-closes its side after its request
 * (shutdown(SHUT_WR), legal HTTP/1.1) gets its answer. The bounds on time are generous correctness checks, not
 * claims about speed. The command is $HFTC_BIN, set by ctest. */
#include "hftc.h"
#include "http_client.h"
#include "test.h"
#include "tmpfiles.h"
#include "topics.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static const char *bin, *model;

static const char document[] = "{\"text\": \"the team won the match\"}";

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

int main(void)
{
    bin = getenv("HFTC_BIN");
    if (!bin) {
        fprintf(stderr, "HFTC_BIN not set: run through ctest\n");
        return 1;
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
        RUN_TEST(test_half_closed_clients);
    }
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
