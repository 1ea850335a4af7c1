/* hftc serve with several models (issue 27, item 5): two models of different taxonomies behind one server, each
 * request answered by its own model under concurrent clients of both; GET /openapi.json checked against the
 * router's table and against the running server (every documented route answers a documented status with a body of
 * the documented schema); unknown models, reloads without --allow-reload and bad --model values refused; a model
 * whose file fails to reload goes on serving and says so. The command is $HFTC_BIN, set by ctest; the router's table
 * and the document's maker are linked in (cli/serve_request.c, cli/serve_openapi.c). */
#include "../cli/serve.h"
#include "command.h"
#include "http_client.h"
#include "test.h"
#include "tmpfiles.h"
#include "topics.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

static const char *bin, *news, *shop;

enum { BODY = 1 << 20 };

/* The texts the clients send, and each model's answers to them from hftc predict --json --threshold 0. */
enum { TEXTS = 4 };
static const char *const texts[TEXTS] = {"the team won the match", "a theory of the atom", "the coach said the league",
                                         "energy of the cell and a goal"};
static json_t *expected[2][TEXTS]; /* [news, shop][text] */

/* Writes to path the lines of from with the labels renamed (sport -> goods, science -> books): the second model's
 * taxonomy shares no label with the first's. */
static void write_relabelled(const char *from, const char *path)
{
    FILE *in = fopen(from, "r"), *out = fopen(path, "w");
    char line[4096];
    CHECK(in && out);
    while (in && out && fgets(line, sizeof line, in)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        const char *labels = !strcmp(line, "sport") ? "goods" : !strcmp(line, "science") ? "books" : "goods,books";
        fprintf(out, "%s\t%s", labels, tab + 1);
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

/* Each model's predictions of the texts by hftc predict, one JSON object per text. */
static void predict_expected(void)
{
    FILE *f = fopen(tmpfiles_path("texts.txt"), "w");
    for (size_t t = 0; f && t < TEXTS; t++)
        fprintf(f, "%s\n", texts[t]);
    CHECK(f && fclose(f) == 0);
    const char *models[2] = {news, shop};
    for (int m = 0; m < 2; m++) {
        char cmd[2048], out[16384];
        snprintf(cmd, sizeof cmd, "%s predict --model %s --input %s --json --threshold 0 --threads 1", bin, models[m],
                 tmpfiles_path("texts.txt"));
        CHECK_MSG(run_command(cmd, out, sizeof out) == 0, "%s printed: %s", cmd, out);
        char *line = out;
        for (size_t t = 0; t < TEXTS; t++) {
            char *end = strchr(line, '\n');
            if (end)
                *end = '\0';
            expected[m][t] = json_loads(line, 0, NULL);
            CHECK_MSG(expected[m][t], "hftc predict printed: %s", line);
            line = end ? end + 1 : line + strlen(line);
        }
    }
}

/* true if answer (a server's reply to one text) holds expected's labels with scores within 1e-5 (a text's batch
 * may differ from hftc predict's). */
static bool same_prediction(const char *answer, const json_t *expect)
{
    json_t *j = json_loads(answer, 0, NULL);
    const json_t *p = json_array_get(json_object_get(j, "predictions"), 0);
    const json_t *scores = json_object_get(p, "scores"), *want = json_object_get(expect, "scores");
    bool same = p && json_array_size(json_object_get(j, "predictions")) == 1 &&
                json_equal(json_object_get(p, "labels"), json_object_get(expect, "labels")) &&
                json_array_size(scores) == json_array_size(want) && json_array_size(want) > 0;
    for (size_t i = 0; same && i < json_array_size(scores); i++)
        same = fabs(json_number_value(json_array_get(scores, i)) - json_number_value(json_array_get(want, i))) < 1e-5;
    json_decref(j);
    return same;
}

/* Waits for the server (pid) to exit after SIGTERM; its exit status, -1 if it had to be killed. */
static int stop_server(pid_t pid, int err)
{
    int status = -1;
    if (pid > 0) {
        kill(pid, SIGTERM);
        for (int i = 0; i < 600 && waitpid(pid, &status, WNOHANG) != pid; i++)
            nanosleep(&(struct timespec){0, 100000000}, NULL);
        if (!WIFEXITED(status)) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
    }
    if (err >= 0)
        close(err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts hftc serve with args (NULL-terminated) and --threads 1 --quiet; its pid, the port in *port. */
static pid_t start(const char *const *args, int *port, int *err)
{
    const char *argv[24] = {"--threads", "1", "--quiet"};
    for (size_t i = 0; args[i] && i < 20; i++)
        argv[3 + i] = args[i];
    pid_t pid = serve_start(bin, argv, err, port);
    CHECK_MSG(pid > 0 && *port > 0, "hftc serve did not start");
    return pid;
}

/* The router's table and the document agree, for a server of one model and of several: every route the router
 * knows is documented with its method, and the document has no other operation; the routes from before several
 * models are neither routed nor documented when there are several. */
static void test_route_table(void)
{
    for (int several = 0; several < 2; several++) {
        json_t *doc = serve_openapi(several);
        const json_t *paths = json_object_get(doc, "paths");
        CHECK(doc && !strncmp(json_string_value(json_object_get(doc, "openapi")), "3.", 2));
        size_t routed = 0, documented = 0;
        for (size_t i = 0; i < serve_n_routes; i++) {
            const serve_route_spec *r = &serve_routes[i];
            char method[8] = "", url[128];
            for (size_t c = 0; r->method[c] && c + 1 < sizeof method; c++)
                method[c] = (char)tolower((unsigned char)r->method[c]), method[c + 1] = '\0';
            const char *at = strstr(r->pattern, "{name}");
            if (at)
                snprintf(url, sizeof url, "%.*smodel%s", (int)(at - r->pattern), r->pattern, at + 6);
            else
                snprintf(url, sizeof url, "%s", r->pattern);
            serve_target t;
            serve_refusal no;
            bool found = serve_route(r->method, url, several, &t, &no);
            bool op = json_object_get(json_object_get(paths, r->pattern), method) != NULL;
            if (several && r->one_model) {
                CHECK_MSG(!found && no.status == 404 && !op, "%s %s with several models", r->method, r->pattern);
                continue;
            }
            routed++;
            CHECK_MSG(found && t.path == r->path && (!at || (t.name_len == 5 && !strncmp(t.name, "model", 5))),
                      "%s %s: not routed (%u %s)", r->method, url, no.status, no.message);
            CHECK_MSG(op, "%s %s: not in the document", r->method, r->pattern);
        }
        const char *path;
        const json_t *item;
        json_object_foreach((json_t *)paths, path, item) documented += json_object_size(item);
        CHECK_MSG(documented == routed, "%zu operations documented, %zu routed", documented, routed);
        json_decref(doc);
    }
}

/* Whether v conforms to schema (its $ref resolved in doc): the type, the required keys of an object and the
 * properties it has, the items of an array; why not, at which place, in why. */
static bool conforms(const json_t *doc, const json_t *schema, const json_t *v, const char *at, char *why, size_t size)
{
    const char *ref = json_string_value(json_object_get(schema, "$ref"));
    if (ref) {
        const char *prefix = "#/components/schemas/";
        schema =
            !strncmp(ref, prefix, strlen(prefix))
                ? json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), ref + strlen(prefix))
                : NULL;
        if (!schema) {
            snprintf(why, size, "%s: $ref %s resolves to nothing", at, ref);
            return false;
        }
    }
    const char *type = json_string_value(json_object_get(schema, "type"));
    bool nullable = json_is_true(json_object_get(schema, "nullable"));
    bool ok = !type || (nullable && json_is_null(v)) ||
              (!strcmp(type, "object")    ? json_is_object(v)
               : !strcmp(type, "array")   ? json_is_array(v)
               : !strcmp(type, "string")  ? json_is_string(v)
               : !strcmp(type, "integer") ? json_is_integer(v)
               : !strcmp(type, "number")  ? json_is_number(v)
               : !strcmp(type, "boolean") ? json_is_boolean(v)
                                          : false);
    if (!ok) {
        snprintf(why, size, "%s: not of type %s", at, type);
        return false;
    }
    char inner[512];
    size_t i;
    const json_t *item;
    json_array_foreach(json_object_get(schema, "required"), i, item)
    {
        if (json_is_object(v) && !json_object_get(v, json_string_value(item))) {
            snprintf(why, size, "%s: no \"%s\"", at, json_string_value(item));
            return false;
        }
    }
    const char *key;
    const json_t *property;
    json_object_foreach((json_t *)json_object_get(schema, "properties"), key, property)
    {
        const json_t *value = json_is_object(v) ? json_object_get(v, key) : NULL;
        snprintf(inner, sizeof inner, "%s.%s", at, key);
        if (value && !conforms(doc, property, value, inner, why, size))
            return false;
    }
    const json_t *items = json_object_get(schema, "items");
    json_array_foreach(json_is_array(v) && items ? v : NULL, i, item)
    {
        snprintf(inner, sizeof inner, "%s[%zu]", at, i);
        if (!conforms(doc, items, item, inner, why, size))
            return false;
    }
    return true;
}

/* Sends each operation of the server's own document (GET /openapi.json) with {name} as model and the request
 * schema's example as the body: each answers want (200; 403 for a reload without --allow-reload), which the
 * document lists, with a body of the listed schema; with an unknown name, a listed 404. Also a path the document
 * lacks: 404. Returns the operations checked. */
static size_t check_documented_routes(int port, const char *model, bool reload_allowed)
{
    char *body = malloc(BODY), *answer = malloc(BODY), why[1024];
    size_t checked = 0;
    if (!body || !answer) {
        free(body), free(answer);
        return 0;
    }
    int status = http(port, "GET", "/openapi.json", "", 0, body, BODY);
    json_t *doc = json_loads(body, 0, NULL);
    CHECK_MSG(status == 200 && doc, "GET /openapi.json: %d %.300s", status, body);
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            const char *at = strstr(path, "{name}");
            for (int unknown = 0; unknown < (at ? 2 : 1); unknown++) {
                char url[256], upper[8] = "";
                if (at)
                    snprintf(url, sizeof url, "%.*s%s%s", (int)(at - path), path, unknown ? "nosuch" : model, at + 6);
                else
                    snprintf(url, sizeof url, "%s", path);
                for (size_t c = 0; method[c] && c + 1 < sizeof upper; c++)
                    upper[c] = (char)toupper((unsigned char)method[c]), upper[c + 1] = '\0';
                const json_t *request = json_object_get(
                    json_object_get(json_object_get(json_object_get(op, "requestBody"), "content"), "application/json"),
                    "schema");
                const char *ref = json_string_value(json_object_get(request, "$ref"));
                const json_t *example =
                    ref ? json_object_get(
                              json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                                              strrchr(ref, '/') + 1),
                              "example")
                        : NULL;
                CHECK_MSG(!request || example, "%s %s: a request body without an example", upper, path);
                char *content = example ? json_dumps(example, JSON_COMPACT) : NULL;
                status = http(port, upper, url, content ? content : "", content ? strlen(content) : 0, answer, BODY);
                free(content);
                int want = unknown ? 404 : strstr(path, "/reload") && !reload_allowed ? 403 : 200;
                char code[16];
                snprintf(code, sizeof code, "%d", status);
                const json_t *reply = json_object_get(json_object_get(op, "responses"), code);
                const json_t *media = json_object_get(reply, "content");
                const json_t *json_media = json_object_get(media, "application/json");
                json_t *got = json_loads(answer, 0, NULL);
                bool valid = json_media ? got && conforms(doc, json_object_get(json_media, "schema"), got, "body", why,
                                                          sizeof why)
                                        : json_object_get(media, "text/plain") && answer[0];
                CHECK_MSG(status == want && reply && json_is_string(json_object_get(reply, "description")) && valid,
                          "%s %s: status %d (want %d, %s), %s: %.300s", upper, url, status, want,
                          reply ? "documented" : "not documented", valid ? "conforms" : why, answer);
                json_decref(got);
                checked++;
            }
        }
    }
    status = http(port, "GET", "/undocumented", "", 0, answer, BODY);
    CHECK_MSG(status == 404 && strstr(answer, "no such path"), "GET /undocumented: %d %s", status, answer);
    json_decref(doc);
    free(body), free(answer);
    return checked;
}

/* Both servers' documents: every operation answered as documented. Several models with --allow-reload (7
 * operations, 3 with a name, so 10 requests); one model without it (its reload refused with 403), the routes from
 * before several included (9 operations, 12 requests). */
static void test_openapi(void)
{
    int port, err;
    char news_arg[512], shop_arg[512];
    snprintf(news_arg, sizeof news_arg, "news=%s", news);
    snprintf(shop_arg, sizeof shop_arg, "shop=%s", shop);
    pid_t pid =
        start((const char *const[]){"--model", news_arg, "--model", shop_arg, "--allow-reload", NULL}, &port, &err);
    size_t checked = port ? check_documented_routes(port, "shop", true) : 0;
    CHECK_MSG(checked == 10, "%zu requests for the operations of several models", checked);
    CHECK(stop_server(pid, err) == 0);
    pid = start((const char *const[]){"--model", news, NULL}, &port, &err);
    checked = port ? check_documented_routes(port, "default", false) : 0;
    CHECK_MSG(checked == 12, "%zu requests for the operations of one model", checked);
    CHECK(stop_server(pid, err) == 0);
}

enum { CLIENTS = 8, REQUESTS = 8 };

typedef struct {
    int port, client;
    size_t answered;
    int wrong;
    char first_wrong[2048];
} client;

/* Requests in turn to either model, each text with threshold 0: every answer must be that model's. */
static void *client_run(void *arg)
{
    client *c = arg;
    static const char *const names[2] = {"news", "shop"};
    char request[256], url[64], *body = malloc(BODY);
    for (int i = 0; body && i < REQUESTS; i++) {
        int m = (c->client + i) % 2;
        size_t t = (size_t)(c->client / 2 + i) % TEXTS;
        snprintf(request, sizeof request, "{\"text\": \"%s\", \"threshold\": 0}", texts[t]);
        snprintf(url, sizeof url, "/models/%s/predict", names[m]);
        int status = http(c->port, "POST", url, request, strlen(request), body, BODY);
        bool right = status == 200 && same_prediction(body, expected[m][t]);
        c->answered += right;
        if (!right && !c->wrong++) {
            char *want = json_dumps(expected[m][t], JSON_COMPACT);
            snprintf(c->first_wrong, sizeof c->first_wrong, "%s %s -> %d %.800s (hftc predict: %.800s)", url, request,
                     status, body, want ? want : "?");
            free(want);
        }
    }
    free(body);
    return NULL;
}

/* Two models of different taxonomies (news: sport, science by a flat-cnn; shop: goods, books by an ngram model),
 * 8 clients sending 8 requests each to both at once: every answer is its model's (the labels of its taxonomy, the
 * scores hftc predict gives with it); GET /models lists both, with their presets; an unknown model is a JSON 404, and
 * so is POST /predict, which is for one model. */
static void test_two_models(void)
{
    int port, err;
    char news_arg[512], shop_arg[512], *body = malloc(BODY);
    snprintf(news_arg, sizeof news_arg, "news=%s", news);
    snprintf(shop_arg, sizeof shop_arg, "shop=%s", shop);
    pid_t pid = start((const char *const[]){"--model", news_arg, "--model", shop_arg, NULL}, &port, &err);
    if (!port || !body) {
        free(body);
        stop_server(pid, err);
        return;
    }
    CHECK(json_array_size(json_object_get(expected[0][0], "labels")) == 2 &&
          json_array_size(json_object_get(expected[1][0], "labels")) == 2);
    client clients[CLIENTS];
    pthread_t threads[CLIENTS];
    bool started[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = (client){.port = port, .client = i};
        started[i] = pthread_create(&threads[i], NULL, client_run, &clients[i]) == 0;
        CHECK(started[i]);
    }
    size_t answered = 0;
    for (int i = 0; i < CLIENTS; i++) {
        if (!started[i])
            continue;
        pthread_join(threads[i], NULL);
        CHECK_MSG(clients[i].wrong == 0, "client %d: %d wrong answers, the first: %s", i, clients[i].wrong,
                  clients[i].first_wrong);
        answered += clients[i].answered;
    }
    CHECK_MSG(answered == CLIENTS * REQUESTS, "%zu of %d answered by their model", answered, CLIENTS * REQUESTS);

    int status = http(port, "GET", "/models", "", 0, body, BODY);
    json_t *j = json_loads(body, 0, NULL), *models = json_object_get(j, "models");
    const json_t *first = json_array_get(models, 0), *second = json_array_get(models, 1);
    CHECK_MSG(
        status == 200 && json_array_size(models) == 2 &&
            !strcmp(json_string_value(json_object_get(first, "name")), "news") &&
            !strcmp(json_string_value(json_object_get(second, "name")), "shop") &&
            !strcmp(json_string_value(json_object_get(json_object_get(first, "description"), "preset")), "flat-cnn") &&
            !strcmp(json_string_value(json_object_get(json_object_get(second, "description"), "preset")), "ngram"),
        "GET /models: %d %.500s", status, body);
    json_decref(j);
    static const struct {
        const char *method, *path, *error;
        int status;
    } refused[] = {{"POST", "/models/nosuch/predict", "no model named \"nosuch\"", 404},
                   {"GET", "/models/nosuch", "no model named", 404},
                   {"GET", "/models/%FF%22", "no model of that name", 404}, /* not UTF-8: not in the message */
                   {"POST", "/models/news/reload", "--allow-reload", 403},
                   {"POST", "/predict", "no such path", 404},
                   {"GET", "/info", "no such path", 404},
                   {"GET", "/models/news/predict", "use POST", 405}};
    static const char one[] = "{\"text\": \"the team won the match\"}";
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        status = http(port, refused[i].method, refused[i].path, one, strlen(one), body, BODY);
        j = json_loads(body, 0, NULL);
        const char *error = json_string_value(json_object_get(j, "error"));
        CHECK_MSG(status == refused[i].status && error && strstr(error, refused[i].error), "%s %s: %d %s",
                  refused[i].method, refused[i].path, status, body);
        json_decref(j);
    }
    CHECK(stop_server(pid, err) == 0);
    free(body);
}

/* Copies the file from to the file to. */
static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[1 << 16];
    size_t got;
    while (in && out && (got = fread(buf, 1, sizeof buf, in)) > 0)
        CHECK(fwrite(buf, 1, got, out) == got);
    CHECK(in && out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

/* Reloads with --allow-reload: POST /models/shop/reload loads it again (200); once its file is no model, 500, the
 * failure kept in GET /models/shop (whose file's name, not UTF-8, has '?' for its
 * byte past ASCII) and in /metrics, shop still
 * answering with its own taxonomy; SIGHUP then reloads news and logs shop's failure by its name. */
static void test_reload(void)
{
    const char *copy = tmpfiles_path("shop-\xff.hftc"); /* a name JSON cannot carry as it is */
    copy_file(shop, copy);
    int port, err;
    char news_arg[512], shop_arg[512], line[512], *body = malloc(BODY);
    snprintf(news_arg, sizeof news_arg, "news=%s", news);
    snprintf(shop_arg, sizeof shop_arg, "shop=%s", copy);
    pid_t pid =
        start((const char *const[]){"--model", news_arg, "--model", shop_arg, "--allow-reload", NULL}, &port, &err);
    if (!port || !body) {
        free(body);
        stop_server(pid, err);
        return;
    }
    int status = http(port, "POST", "/models/shop/reload", "", 0, body, BODY);
    CHECK_MSG(status == 200 && strstr(body, "\"reloaded\""), "reload: %d %s", status, body);
    tmpfiles_write_text("shop-\xff.hftc", "not a model");
    status = http(port, "POST", "/models/shop/reload", "", 0, body, BODY);
    CHECK_MSG(status == 500 && strstr(body, "goes on serving"), "reload of no model: %d %s", status, body);
    status = http(port, "GET", "/models/shop", "", 0, body, BODY);
    json_t *j = json_loads(body, 0, NULL), *reloads = json_object_get(j, "reloads");
    CHECK_MSG(status == 200 && json_integer_value(json_object_get(reloads, "loaded")) == 1 &&
                  json_integer_value(json_object_get(reloads, "failed")) == 1 &&
                  json_is_string(json_object_get(reloads, "last_error")) &&
                  json_is_string(json_object_get(j, "file")) &&
                  strstr(json_string_value(json_object_get(j, "file")), "shop-?.hftc"),
              "GET /models/shop: %d %.500s", status, body);
    json_decref(j);
    static const char request[] = "{\"text\": \"the team won the match\", \"threshold\": 0}";
    status = http(port, "POST", "/models/shop/predict", request, strlen(request), body, BODY);
    CHECK_MSG(status == 200 && same_prediction(body, expected[1][0]), "after the failed reload: %d %s", status, body);
    kill(pid, SIGHUP);
    CHECK_MSG(read_line_with(err, "model news: reloaded", line, sizeof line), "SIGHUP: news not reloaded");
    CHECK_MSG(read_line_with(err, "model shop:", line, sizeof line) && strstr(line, "goes on serving"),
              "SIGHUP: shop's failure: %s", line);
    status = http(port, "GET", "/metrics", "", 0, body, BODY);
    CHECK_MSG(status == 200 && strstr(body, "hftc_model_reloads_total{result=\"loaded\"} 2\n") &&
                  strstr(body, "hftc_model_reloads_total{result=\"failed\"} 2\n") &&
                  strstr(body, "hftc_model_labels{model=\"shop\"} 2\n"),
              "metrics: %s", body);
    CHECK(stop_server(pid, err) == 0);
    free(body);
}

/* --model values the server refuses before loading anything, exit status 2 with why. */
static void test_bad_models(void)
{
    static const struct {
        const char *args, *error;
    } bad[] = {{"--model news=a.hftc --model b.hftc", "give each model a name"},
               {"--model a=x.hftc --model a=y.hftc", "the name a is given twice"},
               {"--model 'my model=x.hftc'", "a model's name is"},
               {"--model =x.hftc", "a model's name is"},
               {"--model .hidden=x.hftc", "a model's name is"},
               {"--model news=", "no file after the name"},
               {"--port 0", "--model is required"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char cmd[1024], out[4096];
        snprintf(cmd, sizeof cmd, "%s serve %s 2>&1", bin, bad[i].args);
        int status = run_command(cmd, out, sizeof out);
        CHECK_MSG(status == 2 && strstr(out, bad[i].error), "%s: status %d: %s", cmd, status, out);
    }
}

int main(void)
{
    bin = getenv("HFTC_BIN");
    if (!bin) {
        fprintf(stderr, "HFTC_BIN not set: run through ctest\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    tmpfiles_init("serve-models");
    topics_write_splits();
    news = tmpfiles_path("news.hftc"), shop = tmpfiles_path("shop.hftc");
    const char *shop_train = tmpfiles_path("shop-train.tsv"), *shop_valid = tmpfiles_path("shop-valid.tsv");
    write_relabelled(path_train, shop_train);
    write_relabelled(path_valid, shop_valid);
    /* news: a flat-cnn on sport and science; shop: an ngram model on goods and books */
    const struct {
        const char *train, *valid, *model, *options;
    } models[2] = {{path_train, path_valid, news,
                    "--preset flat-cnn --dim 16 --filters 8 --hidden 32 --max-len 20 --batch 16 --epochs 3 --lr 0.005"},
                   {shop_train, shop_valid, shop, "--preset ngram --dim 8 --buckets 1000 --epochs 2"}};
    int trained = 0;
    for (int m = 0; m < 2; m++) {
        char cmd[2048], out[4096];
        snprintf(cmd, sizeof cmd, "%s train %s --train %s --valid %s --output %s --threads 1 --quiet 2>&1", bin,
                 models[m].options, models[m].train, models[m].valid, models[m].model);
        int status = run_command(cmd, out, sizeof out);
        CHECK_MSG(status == 0, "%s: status %d: %s", cmd, status, out);
        trained += status == 0;
    }
    RUN_TEST(test_route_table);
    RUN_TEST(test_bad_models);
    if (trained == 2) {
        predict_expected();
        RUN_TEST(test_two_models);
        RUN_TEST(test_openapi);
        RUN_TEST(test_reload);
    }
    for (int m = 0; m < 2; m++)
        for (size_t t = 0; t < TEXTS; t++)
            json_decref(expected[m][t]);
    tmpfiles_cleanup();
    TEST_MAIN_END();
}
