/* Fuzzing what hftc serve reads of a request (cli/serve_request.c): the route of its method and path (among those
 * of a server of one model, which has them all), the JSON of a prediction request and its options, then the
 * prediction and its JSON answer as the server makes them, with the tiny model of fuzz/corpus/model/flat-cnn.
 * Input: "METHOD PATH\n" then the body. */
#include "fuzz.h"

#include "../cli/commands.h"
#include "../cli/serve_request.h"

static hftc_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    if (hftc_model_load(&model, HFTC_FUZZ_MODEL) != HFTC_STATUS_OK) {
        fprintf(stderr, "fuzz_serve: %s\n", hftc_last_error());
        abort();
    }
    return 0;
}

typedef struct {
    json_t *answers;
    size_t k;
} answers;

static hftc_status collect(const hftc_prediction *p, void *user)
{
    answers *a = user;
    return json_array_append_new(a->answers, cli_prediction_json(model, p, a->k)) == 0 ? HFTC_STATUS_OK
                                                                                       : HFTC_STATUS_OUT_OF_MEMORY;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size),
               *space = nl ? memchr(data, ' ', (size_t)(nl - (const char *)data)) : NULL;
    if (!space || memchr(data, '\0', (size_t)(nl - (const char *)data)))
        return 0;
    char line[256];
    size_t line_len = (size_t)(nl - (const char *)data);
    if (line_len >= sizeof line)
        return 0;
    memcpy(line, data, line_len);
    line[line_len] = '\0';
    line[space - (const char *)data] = '\0';
    const char *method = line, *url = line + (space - (const char *)data) + 1;
    serve_target target;
    serve_refusal no;
    serve_route(method, url, true, &target, &no); /* as a server of several models routes it */
    if (!serve_route(method, url, false, &target, &no) ||
        (target.path != SERVE_PREDICT && target.path != SERVE_MODEL_PREDICT))
        return 0;
    /* the server's defaults: hftc serve's options unset, --max-request-docs small to keep each run short */
    serve_prediction p = {.in = {.threshold = -1.0f, .prune = 1}};
    const char *body = nl + 1;
    if (!serve_parse_prediction(body, size - (size_t)(body - (const char *)data), 8, &p, &no))
        return 0;
    answers a = {json_array(), p.k};
    if (hftc_predict_documents(model, p.texts, p.n, &p.in, 0, collect, &a) == HFTC_STATUS_OK)
        free(json_dumps(a.answers, JSON_COMPACT));
    json_decref(a.answers);
    serve_prediction_free(&p);
    return 0;
}
