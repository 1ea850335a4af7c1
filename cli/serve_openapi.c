/* GET /openapi.json: the OpenAPI 3 document of hftc serve, made from the router's own table (serve_routes in
 * serve_request.c) and the reply schemas below, so that a route cannot be served undocumented nor documented
 * unserved. tests/test_serve_models.c checks every documented route against a running server. */
#include "serve.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The schemas the routes name, with the example request a client (and the test) can send. */
static const char schemas[] =
    "{"
    "\"Error\": {\"type\": \"object\", \"required\": [\"error\"], \"properties\": {\"error\": {\"type\": \"string\"}}},"
    "\"PredictRequest\": {\"type\": \"object\","
    " \"description\": \"texts (a list) or text (one); the other fields override the server's options\","
    " \"properties\": {\"texts\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"
    "  \"text\": {\"type\": \"string\"}, \"k\": {\"type\": \"integer\", \"minimum\": 0},"
    "  \"threshold\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1}, \"scoring\": {\"type\": \"string\"},"
    "  \"explain\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 100}},"
    " \"example\": {\"texts\": [\"the team won the match\", \"a theory of the atom\"]}},"
    "\"Prediction\": {\"type\": \"object\", \"required\": [\"doc\", \"labels\", \"scores\"],"
    " \"properties\": {\"doc\": {\"type\": \"integer\", \"description\": \"the text's number in the request, from 1\"},"
    "  \"labels\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}},"
    "  \"scores\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}},"
    "  \"words\": {\"type\": \"array\", \"items\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}},"
    "  \"word_weights\": {\"type\": \"array\", \"items\": {\"type\": \"array\", \"items\": {\"type\": \"number\"}}}}},"
    "\"Predictions\": {\"type\": \"object\", \"required\": [\"predictions\", \"seconds\"],"
    " \"properties\": {\"predictions\": {\"type\": \"array\", \"items\": {\"$ref\": "
    "\"#/components/schemas/Prediction\"}},"
    "  \"seconds\": {\"type\": \"number\", \"description\": \"the prediction of the batch the request was part of\"}}},"
    "\"Health\": {\"type\": \"object\", \"required\": [\"status\"],"
    " \"properties\": {\"status\": {\"type\": \"string\", \"enum\": [\"ok\"]}}},"
    "\"Description\": {\"type\": \"object\", \"description\": \"what hftc info --json prints\","
    " \"required\": [\"format\", \"format_version\", \"preset\", \"labels_count\", \"labels\"],"
    " \"properties\": {\"format\": {\"type\": \"string\"}, \"format_version\": {\"type\": \"integer\"},"
    "  \"preset\": {\"type\": \"string\"}, \"labels_count\": {\"type\": \"integer\"}, \"labels\": {\"type\": "
    "\"array\"}}},"
    "\"Metrics\": {\"type\": \"string\", \"description\": \"Prometheus' text exposition format 0.0.4\"},"
    "\"Model\": {\"type\": \"object\", \"required\": [\"name\", \"file\", \"labels\", \"description\", \"reloads\"],"
    " \"properties\": {\"name\": {\"type\": \"string\"}, \"file\": {\"type\": \"string\"},"
    "  \"labels\": {\"type\": \"integer\"}, \"description\": {\"$ref\": \"#/components/schemas/Description\"},"
    "  \"reloads\": {\"type\": \"object\", \"required\": [\"loaded\", \"failed\", \"last_error\"],"
    "   \"properties\": {\"loaded\": {\"type\": \"integer\"}, \"failed\": {\"type\": \"integer\"},"
    "    \"last_error\": {\"type\": \"string\", \"nullable\": true,"
    "     \"description\": \"why the latest reload failed; null if it did not\"}}}}},"
    "\"ModelList\": {\"type\": \"object\", \"required\": [\"models\"],"
    " \"properties\": {\"models\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/components/schemas/Model\"}}}},"
    "\"Reloaded\": {\"type\": \"object\", \"required\": [\"name\", \"status\", \"labels\"],"
    " \"properties\": {\"name\": {\"type\": \"string\"}, \"status\": {\"type\": \"string\", \"enum\": [\"reloaded\"]},"
    "  \"labels\": {\"type\": \"integer\"}}},"
    "\"OpenAPI\": {\"type\": \"object\", \"required\": [\"openapi\", \"info\", \"paths\"]}"
    "}";

static json_t *ref(const char *schema)
{
    char at[128];
    snprintf(at, sizeof at, "#/components/schemas/%s", schema);
    return json_pack("{s:s}", "$ref", at);
}

/* One reply: {"description", "content": {media type: {"schema": {"$ref"}}}}. */
static json_t *reply_json(const char *schema, const char *when)
{
    const char *media = !strcmp(schema, "Metrics") ? "text/plain" : "application/json";
    return json_pack("{s:s, s:{s:{s:o}}}", "description", when, "content", media, "schema", ref(schema));
}

static json_t *operation(const serve_route_spec *r)
{
    json_t *replies = json_object();
    for (size_t i = 0; i < SERVE_ROUTE_REPLIES && r->replies[i].status; i++) {
        char status[16];
        snprintf(status, sizeof status, "%u", r->replies[i].status);
        json_object_set_new(replies, status, reply_json(r->replies[i].schema, r->replies[i].when));
    }
    json_object_set_new(replies, "503", reply_json("Error", "the server is stopping"));
    json_t *op = json_pack("{s:s, s:o}", "summary", r->summary, "responses", replies);
    if (op && strstr(r->pattern, "{name}"))
        json_object_set_new(op, "parameters",
                            json_pack("[{s:s, s:s, s:b, s:s, s:{s:s, s:s}}]", "name", "name", "in", "path", "required",
                                      1, "description",
                                      "the model's name: --model NAME=PATH, or \"default\" for a plain --model PATH",
                                      "schema", "type", "string", "pattern", "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"));
    if (op && r->request_schema)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content", "application/json", "schema",
                                      ref(r->request_schema)));
    return op;
}

json_t *serve_openapi(bool several)
{
    json_t *paths = json_object(), *components = json_loads(schemas, 0, NULL);
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.3", "info", "title", "hftc serve", "version", "1",
        "description",
        several ? "Several models, each by its name; every route may also answer 400 to a request with conflicting "
                  "Content-Length headers, and 405 (with Allow) to another method."
                : "One model, also under the name \"default\" (or the one given); every route may also answer 400 to a "
                  "request with conflicting Content-Length headers, and 405 (with Allow) to another method.",
        "paths", paths, "components", "schemas", components);
    if (!doc)
        return NULL;
    for (size_t i = 0; i < serve_n_routes; i++) {
        const serve_route_spec *r = &serve_routes[i];
        if (several && r->one_model)
            continue;
        json_t *item = json_object_get(paths, r->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        char method[8];
        size_t n = 0;
        for (; r->method[n] && n + 1 < sizeof method; n++)
            method[n] = (char)tolower((unsigned char)r->method[n]);
        method[n] = '\0';
        json_t *op = operation(r);
        if (!item || !op || json_object_set_new(item, method, op) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}
