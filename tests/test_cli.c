/* The hftc command keeps its contract (docs/ARCHITECTURE.md, "The command-line contract"): run as a user would on
 * generated data, train (a flat-cnn, and a node model stopped by a time limit and continued from its checkpoint), test,
 * predict, serve, info, tokens and ensemble are checked for their output, exit statuses and messages (file and line for
 * bad data, the option for a bad option, the output path checked before training). The command is $HFTC_BIN, set by
 * ctest. */
#include "hftc.h"
#include "command.h"
#include "http_client.h"
#include "test.h"
#include "tmpfiles.h"
#include "topics.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* hftc predict answers each line written into its standard input before the input ends. */
static void check_predict_answers_each_line(const char *bin, const char *model)
{
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
        CHECK(false);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO), dup2(out[1], STDOUT_FILENO);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl(bin, bin, "predict", "--model", model, "--threads", "1", (char *)NULL);
        _exit(127);
    }
    close(in[0]), close(out[1]);
    static const char *const lines[] = {"the team won the match\n", "a theory of the atom\n"};
    static const char *const labels[] = {"sport", "science"};
    char answer[256];
    for (size_t i = 0; i < 2; i++) {
        CHECK(write(in[1], lines[i], strlen(lines[i])) == (ssize_t)strlen(lines[i]));
        bool got = read_line_within(out[0], answer, sizeof answer, 120);
        CHECK_MSG(got && strncmp(answer, labels[i], strlen(labels[i])) == 0, "line %zu: answer \"%s\" (%s)", i + 1,
                  answer, got ? "read" : "none within 120 s, the input still open");
    }
    close(in[1]);
    CHECK(!read_line_within(out[0], answer, sizeof answer, 120) && answer[0] == '\0'); /* nothing more */
    close(out[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Concurrent clients of hftc serve: each sends single-document requests, alternately with the server's
 * threshold and with threshold 0 (which a queued batch must not mix), and compares every answer with the
 * one the text got alone. Clients racing a SIGTERM may also get 503 or no answer, never a wrong one. */
enum { SERVE_TEXTS = 4, SERVE_CLIENTS = 8, SERVE_REQUESTS = 6 };
static const char *const serve_texts[SERVE_TEXTS] = {"the team won the match", "a theory of the atom",
                                                     "the coach said the league", "energy of the cell and a goal"};

static void serve_request(char *out, size_t size, size_t text, bool threshold_0)
{
    snprintf(out, size, "{\"text\": \"%s\"%s}", serve_texts[text], threshold_0 ? ", \"threshold\": 0" : "");
}

/* true if two answers hold the same labels with scores within 1e-5 (a document's batch may differ) */
static bool same_predictions(const char *a, const char *b)
{
    json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
    const json_t *pa = json_array_get(json_object_get(ja, "predictions"), 0),
                 *pb = json_array_get(json_object_get(jb, "predictions"), 0);
    const json_t *la = json_object_get(pa, "labels"), *sa = json_object_get(pa, "scores");
    const json_t *sb = json_object_get(pb, "scores");
    bool same = pa && pb && json_equal(la, json_object_get(pb, "labels")) &&
                json_array_size(sa) == json_array_size(sb) &&
                json_equal(json_object_get(pa, "doc"), json_object_get(pb, "doc"));
    for (size_t i = 0; same && i < json_array_size(sa); i++)
        same = fabs(json_real_value(json_array_get(sa, i)) - json_real_value(json_array_get(sb, i))) < 1e-5;
    json_decref(ja), json_decref(jb);
    return same;
}

typedef struct {
    int port, client;
    bool stopping;          /* the server is being stopped: 503 and no answer are expected too */
    char (*alone)[2][4096]; /* [text][threshold 0] */
    size_t answered;
    int wrong;
    char first_wrong[4096];
} serve_client;

static void *serve_client_run(void *arg)
{
    serve_client *c = arg;
    char request[256], body[4096];
    for (int i = 0; i < SERVE_REQUESTS; i++) {
        size_t text = (size_t)(c->client + i) % SERVE_TEXTS;
        bool threshold_0 = (c->client + i) % 2;
        serve_request(request, sizeof request, text, threshold_0);
        int status = http(c->port, "POST", "/predict", request, strlen(request), body, sizeof body);
        bool right = status == 200 && same_predictions(body, c->alone[text][threshold_0]);
        c->answered += right;
        if (!right && !(c->stopping && (status == 503 || status == 0)) && !c->wrong++)
            snprintf(c->first_wrong, sizeof c->first_wrong, "%.200s -> %d %.1500s (alone: %.1500s)", request, status,
                     body, c->alone[text][threshold_0]);
    }
    return NULL;
}

/* Each text's answers alone, with and without threshold 0: 2 x SERVE_TEXTS documents predicted. */
static void serve_alone(int port, char alone[SERVE_TEXTS][2][4096])
{
    char request[256];
    for (size_t t = 0; t < SERVE_TEXTS; t++)
        for (int z = 0; z < 2; z++) {
            serve_request(request, sizeof request, t, z);
            CHECK(http(port, "POST", "/predict", request, strlen(request), alone[t][z], sizeof alone[t][z]) == 200);
        }
    // threshold 0 selects every label the scoring keeps: the two answers differ
    CHECK_MSG(strcmp(alone[0][0], alone[0][1]), "threshold 0 changed nothing: %s", alone[0][0]);
}

/* Runs the clients at once; stop_pid: a server to send SIGTERM once they are started (0: none). Returns
 * the documents answered. */
static size_t serve_concurrent(int port, char alone[SERVE_TEXTS][2][4096], pid_t stop_pid)
{
    serve_client clients[SERVE_CLIENTS];
    pthread_t threads[SERVE_CLIENTS];
    bool started[SERVE_CLIENTS];
    for (int i = 0; i < SERVE_CLIENTS; i++) {
        clients[i] = (serve_client){.port = port, .client = i, .stopping = stop_pid != 0, .alone = alone};
        started[i] = pthread_create(&threads[i], NULL, serve_client_run, &clients[i]) == 0;
        CHECK(started[i]);
    }
    if (stop_pid)
        kill(stop_pid, SIGTERM);
    size_t documents = 0;
    for (int i = 0; i < SERVE_CLIENTS; i++) {
        if (!started[i])
            continue;
        pthread_join(threads[i], NULL);
        CHECK_MSG(clients[i].wrong == 0, "client %d: %d wrong answers, the first: %s", i, clients[i].wrong,
                  clients[i].first_wrong);
        documents += clients[i].answered;
    }
    return documents;
}

/* hftc serve: predictions, health, errors as JSON with their statuses, a body over the limit refused,
 * SIGHUP reloads the model file (and keeps the loaded model when the file is no model), concurrent
 * requests, SIGTERM stops it with status 0 (while clients send). model is copied, as the test damages
 * the copy. */
static void check_serve(const char *bin, const char *model_to_copy)
{
    FILE *in = fopen(model_to_copy, "rb"), *out = fopen(tmpfiles_path("serve.hftc"), "wb");
    char buf[1 << 16];
    size_t got;
    while (in && out && (got = fread(buf, 1, sizeof buf, in)) > 0)
        CHECK(fwrite(buf, 1, got, out) == got);
    CHECK(in && out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    const char *model = tmpfiles_path("serve.hftc");
    const char *const args[] = {"--model", model, "--threads", "1", "--max-request-mb", "1", "--max-request-docs",
                                "3",       NULL};
    int err, port;
    pid_t pid = serve_start(bin, args, &err, &port);
    CHECK_MSG(pid > 0 && port > 0, "hftc serve did not start");
    if (pid < 0)
        return;
    char line[256], body[4096];
    if (port > 0) {
        CHECK(http(port, "GET", "/health", "", 0, body, sizeof body) == 200 && strstr(body, "\"ok\""));
        static const char request[] = "{\"texts\": [\"the team won the match\", \"a theory of the atom\"]}";
        int status = http(port, "POST", "/predict", request, strlen(request), body, sizeof body);
        json_t *j = json_loads(body, 0, NULL), *predictions = json_object_get(j, "predictions");
        const char *first =
            json_string_value(json_array_get(json_object_get(json_array_get(predictions, 0), "labels"), 0));
        const char *second =
            json_string_value(json_array_get(json_object_get(json_array_get(predictions, 1), "labels"), 0));
        CHECK_MSG(status == 200 && json_array_size(predictions) == 2 && first && !strcmp(first, "sport") && second &&
                      !strcmp(second, "science"),
                  "status %d: %s", status, body);
        json_decref(j);
        static const char one[] = "{\"text\": \"the team won the match\", \"k\": 1, \"threshold\": 0}";
        status = http(port, "POST", "/predict", one, strlen(one), body, sizeof body);
        j = json_loads(body, 0, NULL);
        const json_t *labels = json_object_get(json_array_get(json_object_get(j, "predictions"), 0), "labels");
        CHECK_MSG(status == 200 && json_array_size(labels) == 1, "status %d: %s", status, body);
        json_decref(j);
        static const struct {
            const char *method, *path, *content, *error;
            int status;
        } bad[] = {{"POST", "/predict", "nojson", "not JSON", 400},
                   {"POST", "/predict", "{\"texts\": [1]}", "must be a string", 400},
                   {"POST", "/predict", "{\"text\": \"x\", \"scoring\": \"nope\"}", "unknown scoring", 400},
                   {"POST", "/predict", "{\"text\": \"x\", \"explain\": 2}", "bigru-att", 400},
                   {"POST", "/predict", "{\"texts\": [\"a\", \"b\", \"c\", \"d\"]}", "--max-request-docs", 413},
                   {"GET", "/predict", "", "use POST", 405},
                   {"GET", "/nope", "", "no such path", 404}};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            status = http(port, bad[i].method, bad[i].path, bad[i].content, strlen(bad[i].content), body, sizeof body);
            CHECK_MSG(status == bad[i].status && strstr(body, "\"error\"") && strstr(body, bad[i].error),
                      "%s %s: status %d: %s", bad[i].method, bad[i].path, status, body);
        }
        /* Two different Content-Length headers (issue 25, item 12): which body is meant is unknown (request
         * smuggling through a proxy that reads the other one), so 400, never an answer to either reading. */
        static const char two_lengths[] = "POST /predict HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                          "Content-Length: 34\r\nContent-Length: 35\r\n\r\n"
                                          "{\"text\": \"the team won the match\"}\n"; /* each reading valid */
        status = http_raw(port, two_lengths);
        CHECK_MSG(status == 400, "two Content-Length headers: status %d", status);
        size_t big = (size_t)3 << 19; /* 1.5 MiB of spaces in a string */
        char *huge = malloc(big);
        if (huge) {
            memset(huge, ' ', big);
            memcpy(huge, "{\"text\": \"", 10);
            memcpy(huge + big - 2, "\"}", 2);
            status = http(port, "POST", "/predict", huge, big, body, sizeof body);
            CHECK_MSG(status == 413 && strstr(body, "--max-request-mb"), "status %d: %s", status, body);
            free(huge);
        }
        // SIGHUP loads the file again; a file that is no model leaves the loaded one serving.
        static const char *const reloads[] = {"reloaded", "goes on serving"};
        for (int i = 0; i < 2; i++) {
            if (i == 1)
                tmpfiles_write_text("serve.hftc", "not a model");
            kill(pid, SIGHUP);
            CHECK_MSG(read_line_with(err, reloads[i], line, sizeof line), "SIGHUP %d: no \"%s\"", i + 1, reloads[i]);
            status = http(port, "POST", "/predict", request, strlen(request), body, sizeof body);
            CHECK_MSG(status == 200 && strstr(body, "\"sport\""), "after SIGHUP %d: status %d: %s", i + 1, status,
                      body);
        }
        /* Prometheus counters: 2 + 1 documents, then 2 after each reload; one reload of each result */
        status = http(port, "GET", "/metrics", "", 0, body, sizeof body);
        CHECK_MSG(status == 200 && strstr(body, "hftc_documents_total 7\n") &&
                      strstr(body, "hftc_requests_total{status=\"404\"} 1\n") &&
                      strstr(body, "hftc_requests_total{status=\"413\"} 2\n") &&
                      strstr(body, "hftc_model_reloads_total{result=\"loaded\"} 1\n") &&
                      strstr(body, "hftc_model_reloads_total{result=\"failed\"} 1\n") &&
                      strstr(body, "# TYPE hftc_requests_total counter"),
                  "metrics: status %d: %s", status, body);
        /* concurrent single-document requests: batched by the server, each its own answer; the batches
         * (one document at least each) are no more than the requests */
        static char alone[SERVE_TEXTS][2][4096];
        serve_alone(port, alone);
        size_t documents = 7 + 2 * SERVE_TEXTS + serve_concurrent(port, alone, 0);
        CHECK(documents == 7 + 2 * SERVE_TEXTS + SERVE_CLIENTS * SERVE_REQUESTS);
        status = http(port, "GET", "/metrics", "", 0, body, sizeof body);
        unsigned long long counted = 0, batches = 0;
        const char *at_documents = strstr(body, "\nhftc_documents_total "),
                   *at_batches = strstr(body, "\nhftc_predict_batches_total ");
        CHECK_MSG(status == 200 && at_documents && sscanf(at_documents, "\nhftc_documents_total %llu", &counted) == 1 &&
                      counted == documents && at_batches &&
                      sscanf(at_batches, "\nhftc_predict_batches_total %llu", &batches) == 1 && batches >= 1 &&
                      batches <= documents,
                  "metrics: %zu documents expected: %s", documents, body);
        // SIGTERM while clients send: the queued requests are answered, later ones refused, none wrong
        serve_concurrent(port, alone, pid);
    }
    kill(pid, SIGTERM);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    bool stopped = false;
    while (read_line_within(err, line, sizeof line, 10))
        stopped = stopped || strstr(line, "SIGTERM: stopping");
    CHECK(stopped);
    close(err);
}

/* hftc ensemble (docs/ARCHITECTURE.md, "The command-line contract"): model, a flat-cnn, and an ngram model
 * combined into one model file that test, predict, serve and info use like any other; its usage errors exit 2,
 * members that disagree on the taxonomy 1, each with a message that says why. */
static void check_ensemble(const char *bin, const char *model)
{
    char cmd[4096], out[65536];
    const char *ngram = tmpfiles_path("cli-ngram.hftc"), *ensemble = tmpfiles_path("cli-ensemble.hftc");
    snprintf(cmd, sizeof cmd,
             "%s train --preset ngram --train %s --valid %s --output %s --dim 8 --buckets 1000 --epochs 2 --threads 1 "
             "--quiet 2>&1",
             bin, path_train, path_valid, ngram);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "train printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s ensemble --model %s --model %s --valid %s --output %s --threads 1 2>&1", bin, model,
             ngram, path_valid, ensemble);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0 && strstr(out, "ensemble: weights ") && strstr(out, "saved ") &&
                  strstr(out, "member 2 (") && strstr(out, "validation micro-F1"),
              "ensemble printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s test --model %s --input %s --json", bin, ensemble, path_test);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    json_t *j = json_loads(out, 0, NULL);
    CHECK_MSG(json_integer_value(json_object_get(j, "docs")) == 150 &&
                  json_real_value(json_object_get(j, "micro_f1")) > 0.8,
              "test printed: %s", out);
    json_decref(j);
    // --member 2: the ngram member alone, under its own decision rule: what the ngram model's own file scores
    double alone[2] = {-1.0, -1.0};
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd,
                 k ? "%s test --model %s --input %s --json --member 2" : "%s test --model %s --input %s --json", bin,
                 k ? ensemble : ngram, path_test);
        CHECK(run_command(cmd, out, sizeof out) == 0);
        j = json_loads(out, 0, NULL);
        alone[k] =
            json_real_value(json_object_get(j, "micro_f1")) + 10 * json_real_value(json_object_get(j, "macro_f1"));
        CHECK_MSG(!k || (json_integer_value(json_object_get(j, "member")) == 2 &&
                         strstr(json_string_value(json_object_get(j, "member_name")), "cli-ngram")),
                  "test --member 2 printed: %s", out);
        json_decref(j);
    }
    CHECK_MSG(alone[0] > 0.0 && alone[0] == alone[1], "the ngram model scores %g, as a member %g", alone[0], alone[1]);
    snprintf(cmd, sizeof cmd, "%s test --model %s --input %s --member 3 2>&1", bin, ensemble, path_test);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 2 && strstr(out, "has 2 members: no member 3"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s test --model %s --input %s --member 1 2>&1", bin, ngram, path_test);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 2 && strstr(out, "(not an ensemble)"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s info --model %s", bin, ensemble);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "preset           ensemble") && strstr(out, "2 members, the weighted mean") &&
                  strstr(out, "  member 1       weight ") && strstr(out, "flat-cnn") && strstr(out, "cli-ngram.hftc") &&
                  strstr(out, "member1.ngram.buckets") && strstr(out, "the ensemble   independent scoring"),
              "info printed: %s", out);
    check_predict_answers_each_line(bin, ensemble);
    check_serve(bin, ensemble);

    const char *other = tmpfiles_path("cli-taxonomy.hftc");
    snprintf(cmd, sizeof cmd,
             "%s train --train %s --taxonomy %s --output %s --dim 8 --filters 4 --hidden 8 --max-len 10 --epochs 1 "
             "--threads 1 --quiet 2>&1",
             bin, path_train, tmpfiles_write_text("cli-taxonomy.tsv", "Root\ttopic\ntopic\tsport\tscience\n"), other);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "train printed: %s", out);
    static const struct {
        const char *args, *message;
        int status;
    } bad[] = {
        {"--model M --valid V --output E", "give at least two --model", 2},
        {"--model M --model N --output E", "--valid F is required", 2},
        {"--model M --model N --valid V", "--output MODEL is required", 2},
        {"--model M --model N --valid V --output E --label-thresholds maybe", "yes, no or auto", 2},
        {"--model M --model N --valid V --output M", "is the file of --model", 2},
        {"--model M --model N --valid V --output E --weight-steps 1x", "--weight-steps", 2},
        {"--model M --model N --valid V --output E --scoring nope", "unknown scoring \"nope\"", 1},
        {"--model M --model T --valid V --output E", "disagree on the taxonomy: label \"sport\" is under the root", 1},
        {"--model M --model N --valid R --output E", "is the training data of member 1", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        /* each word M, N, T (the models), V, R (validation and training data), E (an output) made its file */
        const char *files[] = {model, ngram, other, path_valid, path_train, tmpfiles_path("cli-never.hftc")};
        char args[2048] = "", words[256];
        snprintf(words, sizeof words, "%s", bad[i].args);
        for (char *save = NULL, *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            const char *at = strlen(w) == 1 ? strchr("MNTVRE", *w) : NULL;
            size_t used = strlen(args);
            snprintf(args + used, sizeof args - used, " %s", at ? files[at - "MNTVRE"] : w);
        }
        snprintf(cmd, sizeof cmd, "%s ensemble %s --threads 1 2>&1", bin, args);
        int status = run_command(cmd, out, sizeof out);
        CHECK_MSG(status == bad[i].status && strstr(out, bad[i].message), "ensemble %s: status %d: %s", bad[i].args,
                  status, out);
    }
    CHECK(access(tmpfiles_path("cli-never.hftc"), F_OK) != 0);
    snprintf(cmd, sizeof cmd, "%s ensemble --help && %s --help", bin, bin);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "--weight-steps") && strstr(out, "[10]") && strstr(out, "  ensemble  combine models"),
              "help printed: %s", out);
}

static void test_command_line(void)
{
    const char *bin = getenv("HFTC_BIN");
    if (!bin) {
        fprintf(stderr, "HFTC_BIN not set: run through ctest\n");
        CHECK(bin != NULL);
        return;
    }
    char cmd[1024], out[65536];
    // The command runs OpenBLAS's better kernels where it fell back to its generic ones here, and those
    // OPENBLAS_CORETYPE names where it is set; it says whether it trains across MPI processes.
    const char *better = hftc_blas_better_kernels(), *kernels = better ? better : hftc_blas_kernels();
    const char *mpi = hftc_mpi_library();
    char expected[256];
    snprintf(expected, sizeof expected, "(OpenBLAS %s kernels, %s%s)", kernels, mpi ? "MPI: " : "no MPI",
             mpi ? mpi : "");
    snprintf(cmd, sizeof cmd, "%s --version", bin);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, expected), "expected %s in: %s", expected, out);
    const char *model = tmpfiles_path("cli.hftc");
    snprintf(cmd, sizeof cmd,
             "%s train --preset flat-cnn --train %s --valid %s --output %s --dim 16 --filters 8 --hidden 32 "
             "--max-len 20 --batch 16 --epochs 3 --lr 0.005 --threads 2 2>&1",
             bin, path_train, path_valid, model);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "train failed: %s", out);
    CHECK_MSG(strstr(out, "valid_micro_f1") != NULL, "no per-epoch line: %s", out);

    snprintf(cmd, sizeof cmd, "%s test --model %s --input %s --json", bin, model, path_test);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    CHECK_MSG(json_is_object(j), "test --json printed: %s", out);
    static const char *const keys[] = {"docs", "labels", "micro_f1", "macro_f1", "exact_match", "p@1",
                                       "p@3",  "p@5",    "ndcg@1",   "ndcg@3",   "ndcg@5",      "levels"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        CHECK_MSG(json_object_get(j, keys[i]) != NULL, "missing key %s", keys[i]);
    CHECK(json_integer_value(json_object_get(j, "docs")) == 150);
    json_t *level = json_array_get(json_object_get(j, "levels"), 0);
    CHECK(json_object_get(level, "level") && json_object_get(level, "accuracy"));
    CHECK(json_object_get(j, "per_label") == NULL);
    double macro_f1 = json_real_value(json_object_get(j, "macro_f1")),
           micro_p = json_real_value(json_object_get(j, "micro_precision"));
    json_decref(j);

    /* --per-label: each label's counts, consistent with the summary (macro-F1: the mean F1 of the labels
     * in the gold set; micro precision: correct over predicted), a label unknown to the model at level 0 */
    const char *with_unknown = tmpfiles_path("unknown.tsv");
    snprintf(cmd, sizeof cmd, "cp %s %s && printf 'neverseen\\tthe team won\\n' >> %s", path_test, with_unknown,
             with_unknown);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    for (int unknown = 0; unknown < 2; unknown++) {
        snprintf(cmd, sizeof cmd, "%s test --model %s --input %s --json --per-label", bin, model,
                 unknown ? with_unknown : path_test);
        CHECK(run_command(cmd, out, sizeof out) == 0);
        j = json_loads(out, 0, NULL);
        json_t *labels = json_object_get(j, "per_label");
        double f1_sum = 0, weighted_sum = 0;
        size_t in_gold = 0, correct = 0, predicted = 0, level0 = 0, supports = 0;
        for (size_t i = 0; i < json_array_size(labels); i++) {
            json_t *l = json_array_get(labels, i);
            size_t support = (size_t)json_integer_value(json_object_get(l, "support"));
            f1_sum += support ? json_real_value(json_object_get(l, "f1")) : 0.0;
            weighted_sum += (double)support * json_real_value(json_object_get(l, "f1"));
            supports += support;
            in_gold += support > 0;
            correct += (size_t)json_integer_value(json_object_get(l, "correct"));
            predicted += (size_t)json_integer_value(json_object_get(l, "predicted"));
            level0 += json_integer_value(json_object_get(l, "level")) == 0 &&
                      !strcmp(json_string_value(json_object_get(l, "label")), "neverseen");
        }
        CHECK_MSG(json_array_size(labels) >= 2 && level0 == (size_t)unknown &&
                      in_gold == (size_t)json_integer_value(json_object_get(j, "labels")),
                  "per_label: %s", out);
        /* the JSON holds 6 digits */
        CHECK(fabs(f1_sum / (double)in_gold - json_real_value(json_object_get(j, "macro_f1"))) < 1e-5);
        CHECK(fabs(weighted_sum / (double)supports - json_real_value(json_object_get(j, "weighted_f1"))) < 1e-5);
        if (!unknown)
            CHECK(fabs(f1_sum / (double)in_gold - macro_f1) < 1e-5 &&
                  fabs((double)correct / (double)predicted - micro_p) < 1e-5);
        json_decref(j);
    }

    snprintf(cmd, sizeof cmd,
             "printf 'the team won the match\\na theory of the atom\\n' | %s predict --model %s --probs -", bin, model);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK_MSG(strncmp(out, "sport:", 6) == 0 && strstr(out, "\nscience:"), "predict printed: %s", out);
    /* a malformed line stops the reading after the answers of the batches before its own (256 each) */
    FILE *jsonl = fopen(tmpfiles_path("stream.jsonl"), "w");
    for (int i = 0; jsonl && i < 300; i++)
        fprintf(jsonl, "{\"text\": \"the team won match %d\"}\n", i);
    if (jsonl) {
        fputs("{\"text\": 7}\n", jsonl);
        fclose(jsonl);
    }
    snprintf(cmd, sizeof cmd,
             "%s predict --model %s --input %s 2>/dev/null | wc -l; %s predict --model %s --input %s 2>&1 >/dev/null",
             bin, model, tmpfiles_path("stream.jsonl"), bin, model, tmpfiles_path("stream.jsonl"));
    CHECK(run_command(cmd, out, sizeof out) == 1);
    CHECK_MSG(atoi(out) == 256 && strstr(out, "stream.jsonl:301"), "predict printed: %s", out);
    snprintf(cmd, sizeof cmd, "echo 'the team won' | %s predict --model %s --explain 2 2>&1", bin, model);
    CHECK(run_command(cmd, out, sizeof out) == 1 && strstr(out, "bigru-att")); /* a CNN has no word attention */
    check_predict_answers_each_line(bin, model);
    check_serve(bin, model);

    snprintf(cmd, sizeof cmd, "%s info --model %s", bin, model);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK(strstr(out, "flat-cnn") && strstr(out, "conv.2.weight"));
    check_ensemble(bin, model);

    /* a node model trained under a time limit: exit status 3 until done, then the checkpoint is removed */
    const char *checkpoint = tmpfiles_path("cli.checkpoint"), *node_model = tmpfiles_path("cli-node.hftc");
    snprintf(cmd, sizeof cmd,
             "%s train --preset gru-att --train %s --valid %s --output %s --dim 8 --rnn-hidden 4 --max-len 10 "
             "--epochs 2 --threads 1 --class-weights 1,2 --quiet --checkpoint %s --time-limit 0.000001 2>&1",
             bin, path_train, path_valid, node_model, checkpoint);
    int status, calls = 0;
    char info_cmd[1024];
    snprintf(info_cmd, sizeof info_cmd, "%s info --model %s", bin, checkpoint);
    while ((status = run_command(cmd, out, sizeof out)) == 3 && ++calls < 50) {
        CHECK_MSG(strstr(out, "time limit") && strstr(out, "cli.checkpoint"), "train printed: %s", out);
        CHECK(run_command(info_cmd, out, sizeof out) == 0);
        CHECK_MSG(strstr(out, "checkpoint ") && strstr(out, " of 4 classifier runs done"), "info printed: %s", out);
    }
    CHECK_MSG(status == 0 && calls >= 2, "status %d after %d stops: %s", status, calls, out);
    CHECK(access(node_model, F_OK) == 0 && access(checkpoint, F_OK) != 0);
    snprintf(cmd, sizeof cmd, "%s train --preset gru-att --train %s --output %s --checkpoint %s 2>&1", bin, path_train,
             node_model, node_model);
    CHECK(run_command(cmd, out, sizeof out) == 2 && strstr(out, "--checkpoint"));

    /* tokens: the words train reads, with the preset's tokeniser unless told otherwise */
    const char *words = tmpfiles_write_text("words.tsv", "sport\tThe Team WON, the match!\n");
    snprintf(cmd, sizeof cmd, "%s tokens --input %s && %s tokens --input %s --drop-punct 0 --max-len 4", bin, words,
             bin, words);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK_MSG(!strcmp(out, "the team won the match\nthe team won ,\n"), "tokens printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s tokens --input %s > /dev/full 2>&1", bin, words);
    CHECK(run_command(cmd, out, sizeof out) == 1);

    /* errors: file and line for bad data, a clear message for a bad option, output checked first */
    const char *bad = tmpfiles_write_text("bad.tsv", "sport\tthe match\nno tab on this line\n");
    snprintf(cmd, sizeof cmd, "%s train --train %s --output %s 2>&1", bin, bad, tmpfiles_path("x.hftc"));
    CHECK(run_command(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "bad.tsv:2") != NULL, "train on bad data printed: %s", out);
    snprintf(cmd, sizeof cmd, "%s train --train %s --output %s --epochs 1x 2>&1", bin, path_train,
             tmpfiles_path("x.hftc"));
    CHECK(run_command(cmd, out, sizeof out) == 2);
    CHECK(strstr(out, "--epochs") != NULL);
    snprintf(cmd, sizeof cmd, "%s train --train %s --output /nonexistent/dir/x.hftc 2>&1", bin, path_train);
    CHECK(run_command(cmd, out, sizeof out) == 1);
    CHECK(strstr(out, "/nonexistent/dir") != NULL);
    snprintf(cmd, sizeof cmd, "%s train --help", bin);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK(strstr(out, "--max-len") && strstr(out, "[13]"));
    for (size_t i = 0; hftc_preset_name(i); i++) { /* the help lists every preset */
        char listed[64];
        snprintf(listed, sizeof listed, " %s,", hftc_preset_name(i));
        bool last = !hftc_preset_name(i + 1);
        CHECK_MSG(strstr(out, last ? hftc_preset_name(i) : listed), "train --help does not list %s",
                  hftc_preset_name(i));
    }
    snprintf(cmd, sizeof cmd, "%s test --help", bin);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    CHECK(strstr(out, "--word-cache-mb") && strstr(out, "[2048]"));
}

/* The small training the output checks try (refused before it starts; were it not, over in a second). */
#define TINY_TRAINING "--preset flat-cnn --dim 8 --filters 4 --hidden 8 --max-len 10 --epochs 1 --threads 1"

static bool same_bytes(const char *a, const char *b)
{
    char cmd[1024], out[256];
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", a, b);
    return run_command(cmd, out, sizeof out) == 0;
}

/* A training whose model (or checkpoint) would replace a FIFO or a device is refused before it starts,
 * naming the file, which stays as it was (issue 25): a rename over it once replaced /dev/full. */
static void test_train_refuses_special_outputs(void)
{
    const char *bin = getenv("HFTC_BIN");
    char cmd[2048], out[65536];
    const char *fifo = tmpfiles_path("output.fifo");
    CHECK(mkfifo(fifo, 0644) == 0);
    snprintf(cmd, sizeof cmd, "%s train %s --train %s --output %s 2>&1", bin, TINY_TRAINING, path_train, fifo);
    int status = run_command(cmd, out, sizeof out);
    struct stat sb;
    bool refused = lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode);
    CHECK_MSG(status == 1 && strstr(out, "output.fifo") && strstr(out, "not a regular file") && !strstr(out, "epoch") &&
                  refused,
              "--output FIFO: status %d, %s: %s", status, refused ? "still a FIFO" : "replaced", out);
    snprintf(cmd, sizeof cmd,
             "%s train --preset gru-att --dim 8 --rnn-hidden 4 --max-len 10 --epochs 1 --threads 1 --train %s "
             "--output %s --checkpoint %s --time-limit 0.000001 2>&1",
             bin, path_train, tmpfiles_path("never.hftc"), fifo);
    status = run_command(cmd, out, sizeof out);
    bool kept = lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode);
    CHECK_MSG(status == 1 && strstr(out, "output.fifo") && strstr(out, "not a regular file") && kept,
              "--checkpoint FIFO: status %d, %s: %s", status, kept ? "still a FIFO" : "replaced", out);
    /* /dev/null (the tests run as root): tried only once a FIFO is refused, as a command that replaced the
     * FIFO would replace /dev/null */
    if (refused && kept) {
        snprintf(cmd, sizeof cmd, "%s train %s --train %s --output /dev/null 2>&1", bin, TINY_TRAINING, path_train);
        status = run_command(cmd, out, sizeof out);
        CHECK_MSG(status == 1 && strstr(out, "/dev/null") && strstr(out, "not a regular file"), "status %d: %s", status,
                  out);
        CHECK(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode));
    }
    CHECK(unlink(fifo) == 0);
}

/* Outputs refused before training (issue 25, item 12): an empty name, and a model or checkpoint that is one of
 * the training's own files (the same path, a link to it, a hard link), which it would overwrite. */
static void test_train_refuses_bad_outputs(void)
{
    const char *bin = getenv("HFTC_BIN");
    char cmd[2048], out[65536];
    snprintf(cmd, sizeof cmd, "%s train %s --train %s --output '' 2>&1", bin, TINY_TRAINING, path_train);
    int status = run_command(cmd, out, sizeof out);
    CHECK_MSG(status == 2 && strstr(out, "--output") && !strstr(out, "epoch"), "--output '': status %d: %s", status,
              out);
    const char *train = tmpfiles_path("own-train.tsv"), *valid = tmpfiles_path("own-valid.tsv");
    const char *taxonomy = tmpfiles_write_text("own-taxonomy.tsv", "Root\tsport\tscience\n");
    const char *copy = tmpfiles_path("copy.tsv"), *link = tmpfiles_path("link.tsv"), *hard = tmpfiles_path("hard.tsv");
    snprintf(cmd, sizeof cmd, "cp %s %s && cp %s %s && cp %s %s && ln -s %s %s && ln %s %s", path_train, train,
             path_valid, valid, path_train, copy, train, link, valid, hard);
    CHECK(run_command(cmd, out, sizeof out) == 0);
    const struct {
        const char *option, *path, *names;
    } cases[] = {
        {"--output", train, "--train"},
        {"--output", valid, "--valid"},
        {"--output", taxonomy, "--taxonomy"},
        {"--output", link, "--train"},
        {"--output", hard, "--valid"},
        {"--checkpoint", train, "--train"},
        {"--checkpoint", taxonomy, "--taxonomy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *output = !strcmp(cases[i].option, "--output") ? cases[i].path : tmpfiles_path("never.hftc");
        snprintf(cmd, sizeof cmd, "%s train %s --train %s --valid %s --taxonomy %s --output %s%s%s 2>&1", bin,
                 TINY_TRAINING, train, valid, taxonomy, output,
                 strcmp(cases[i].option, "--checkpoint") ? "" : " --checkpoint ",
                 strcmp(cases[i].option, "--checkpoint") ? "" : cases[i].path);
        status = run_command(cmd, out, sizeof out);
        CHECK_MSG(status == 2 && strstr(out, cases[i].option) && strstr(out, cases[i].names) && !strstr(out, "epoch"),
                  "%s %s: status %d: %s", cases[i].option, cases[i].path, status, out);
    }
    /* the checkpoint at the model's place under another name, neither written yet */
    const char *fresh = tmpfiles_path("fresh.hftc"), *dir = tmpfiles_dir();
    snprintf(cmd, sizeof cmd, "%s train %s --train %s --output %s --checkpoint %s/../%s/fresh.hftc 2>&1", bin,
             TINY_TRAINING, train, fresh, dir, strrchr(dir, '/') + 1);
    status = run_command(cmd, out, sizeof out);
    CHECK_MSG(status == 2 && strstr(out, "--checkpoint must be another file than --output"), "status %d: %s", status,
              out);
    CHECK(access(fresh, F_OK) != 0);
    CHECK_MSG(same_bytes(train, path_train) && same_bytes(copy, path_train) && same_bytes(valid, path_valid),
              "a training file was overwritten");
    struct stat sb;
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode) && access(tmpfiles_path("never.hftc"), F_OK) != 0);
    snprintf(cmd, sizeof cmd, "grep -qx 'Root.sport.science' %s", taxonomy);
    CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "the taxonomy was overwritten");
}

/* A FIFO named as the model is refused at once, not waited on for a writer (timeout: 10 s). */
static void test_model_fifo(void)
{
    const char *bin = getenv("HFTC_BIN");
    char cmd[1024], out[65536];
    const char *fifo = tmpfiles_path("model.fifo");
    CHECK(mkfifo(fifo, 0644) == 0);
    static const char *const commands[] = {"info", "predict --input /dev/null", "test --input /dev/null"};
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        snprintf(cmd, sizeof cmd, "timeout 10 %s %s --model %s 2>&1", bin, commands[i], fifo);
        int status = run_command(cmd, out, sizeof out);
        CHECK_MSG(status == 1 && strstr(out, "model.fifo") && strstr(out, "not a regular file"), "%s: status %d%s: %s",
                  commands[i], status, status == 124 ? " (hung for 10 s)" : "", out);
    }
    CHECK(unlink(fifo) == 0);
}

/* A threshold is in [0, 1], or -1 for the model's (issue 25, item 12): predict, test and serve refuse others
 * before loading the model (timeout: a serve that took it would run until stopped). */
static void test_threshold_range(void)
{
    const char *bin = getenv("HFTC_BIN"), *model = tmpfiles_path("cli.hftc");
    char cmd[1024], out[65536];
    /* serve reads no input: its port instead */
    static const char *const commands[] = {"predict", "test", "serve"};
    char input[600];
    snprintf(input, sizeof input, "--input %s", path_test);
    const char *const inputs[] = {input, input, "--port 0"};
    static const char *const bad[] = {"2", "-0.5", "1.01", "-2"};
    for (size_t c = 0; c < sizeof commands / sizeof *commands; c++)
        for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
            snprintf(cmd, sizeof cmd, "timeout 20 %s %s --model %s --threshold %s %s 2>&1 </dev/null", bin, commands[c],
                     model, bad[b], inputs[c]);
            int status = run_command(cmd, out, sizeof out);
            CHECK_MSG(status == 2 && strstr(out, "--threshold") && strstr(out, "[0, 1]"), "%s: status %d: %s", cmd,
                      status, out);
        }
    static const char *const good[] = {"-1", "0", "1", "0.5"};
    for (size_t g = 0; g < sizeof good / sizeof *good; g++) {
        snprintf(cmd, sizeof cmd, "%s test --model %s --input %s --threshold %s --json 2>&1", bin, model, path_test,
                 good[g]);
        CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "threshold %s: %s", good[g], out);
        snprintf(cmd, sizeof cmd, "echo 'the team won' | %s predict --model %s --threshold %s 2>&1", bin, model,
                 good[g]);
        CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "threshold %s: %s", good[g], out);
    }
}

int main(void)
{
    tmpfiles_init("cli");
    topics_write_splits();
    hftc_set_log(NULL, HFTC_LOG_ERROR, NULL);
    RUN_TEST(test_command_line);
    RUN_TEST(test_train_refuses_special_outputs);
    RUN_TEST(test_train_refuses_bad_outputs);
    RUN_TEST(test_model_fifo);
    RUN_TEST(test_threshold_range);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
