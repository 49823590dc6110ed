/*
 * target.c - how a target is reached: the keys of a suite's target that
 * are about the connection rather than the model.
 *
 *   targets:
 *     - name: azure-4o
 *       model: gpt-4o
 *       base_url: https://my-resource.openai.azure.com
 *       azure: {deployment: gpt-4o-prod, api_version: "2024-10-21"}
 *       headers: {X-Team: evals}
 *       rate_limit: {rpm: 500, tpm: 200000}
 *       max_concurrency: 32
 *       verify_tls: false          # warned about by the CLI
 *       extra: {cache_prompt: true} # merged into every request body
 *       endpoint: chat             # or completions
 *
 * This file reads those keys (with errors at their line and column) and
 * turns them into the request URL and headers; the run and the engine use
 * the result. It never reads the environment: the API key comes in from
 * the caller.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static assay_status oom(assay_error *err)
{
    return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
}

void assay__connection_init(assay__connection *c)
{
    memset(c, 0, sizeof *c);
    c->verify_tls = true;
    c->endpoint = ASSAY__ENDPOINT_CHAT;
}

void assay__connection_release(assay__connection *c)
{
    for (size_t i = 0; i < c->n_headers; i++)
        free(c->headers[i]);
    free(c->headers);
    free(c->azure_deployment);
    free(c->azure_api_version);
    cJSON_Delete(c->extra);
    assay__connection_init(c);
}

/* A header name is a token: letters, digits and !#$%&'*+-.^_`|~. */
static bool is_header_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
            return false;
    return true;
}

static assay_status read_headers(const assay__doc *doc, const cJSON *node,
                                 assay__connection *c, assay_error *err)
{
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'headers' must be a mapping of header "
                                "names to values");
    size_t n = (size_t)cJSON_GetArraySize(node);
    c->headers = calloc(n ? n : 1, sizeof *c->headers);
    if (!c->headers)
        return oom(err);
    const cJSON *h;
    cJSON_ArrayForEach(h, node)
    {
        if (!is_header_name(h->string))
            return assay__doc_error(doc, h, true, err, ASSAY_ERR_SUITE,
                                    "'%s' is not a valid header name",
                                    h->string);
        if (!cJSON_IsString(h) || strpbrk(h->valuestring, "\r\n"))
            return assay__doc_error(doc, h, false, err, ASSAY_ERR_SUITE,
                                    "a header's value must be a string on "
                                    "one line");
        assay__buf line;
        assay__buf_init(&line, 0);
        if (assay__buf_printf(&line, "%s: %s", h->string, h->valuestring))
            return oom(err);
        c->headers[c->n_headers++] = assay__buf_detach(&line, NULL);
    }
    return ASSAY_OK;
}

static assay_status read_string(const assay__doc *doc, const cJSON *map,
                                const char *key, char **out, assay_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(map, key);
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return assay__doc_error(doc, v ? v : map, false, err, ASSAY_ERR_SUITE,
                                "'azure' needs '%s', a non-empty string", key);
    *out = strdup(v->valuestring);
    return *out ? ASSAY_OK : oom(err);
}

static assay_status read_azure(const assay__doc *doc, const cJSON *node,
                               assay__connection *c, assay_error *err)
{
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'azure' must be a mapping: {deployment: "
                                "NAME, api_version: VERSION}");
    const cJSON *item;
    cJSON_ArrayForEach(item, node)
    {
        if (strcmp(item->string, "deployment") &&
            strcmp(item->string, "api_version"))
            return assay__doc_error(doc, item, true, err, ASSAY_ERR_SUITE,
                                    "unknown key '%s' in 'azure' (expected "
                                    "deployment, api_version)",
                                    item->string);
    }
    assay_status st = read_string(doc, node, "deployment",
                                  &c->azure_deployment, err);
    if (st == ASSAY_OK)
        st = read_string(doc, node, "api_version", &c->azure_api_version,
                         err);
    return st;
}

static assay_status read_rate(const assay__doc *doc, const cJSON *node,
                              assay__connection *c, assay_error *err)
{
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'rate_limit' must be a mapping: {rpm: N, "
                                "tpm: N}");
    const cJSON *item;
    cJSON_ArrayForEach(item, node)
    {
        bool rpm = !strcmp(item->string, "rpm");
        if (!rpm && strcmp(item->string, "tpm"))
            return assay__doc_error(doc, item, true, err, ASSAY_ERR_SUITE,
                                    "unknown key '%s' in 'rate_limit' "
                                    "(expected rpm, tpm)",
                                    item->string);
        if (!cJSON_IsNumber(item) || item->valuedouble <= 0)
            return assay__doc_error(doc, item, false, err, ASSAY_ERR_SUITE,
                                    "'%s' must be a positive number per "
                                    "minute",
                                    item->string);
        *(rpm ? &c->rpm : &c->tpm) = item->valuedouble;
    }
    return ASSAY_OK;
}

static assay_status read_endpoint(const assay__doc *doc, const cJSON *node,
                                  assay__connection *c, assay_error *err)
{
    if (cJSON_IsString(node) && !strcmp(node->valuestring, "chat"))
        c->endpoint = ASSAY__ENDPOINT_CHAT;
    else if (cJSON_IsString(node) &&
             !strcmp(node->valuestring, "completions"))
        c->endpoint = ASSAY__ENDPOINT_COMPLETIONS;
    else
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'endpoint' is chat or completions");
    return ASSAY_OK;
}

static assay_status read_key(const assay__doc *doc, const cJSON *item,
                             assay__connection *c, assay_error *err)
{
    const char *key = item->string;
    if (!strcmp(key, "headers"))
        return read_headers(doc, item, c, err);
    if (!strcmp(key, "azure"))
        return read_azure(doc, item, c, err);
    if (!strcmp(key, "rate_limit"))
        return read_rate(doc, item, c, err);
    if (!strcmp(key, "endpoint"))
        return read_endpoint(doc, item, c, err);
    if (!strcmp(key, "verify_tls")) {
        if (!cJSON_IsBool(item))
            return assay__doc_error(doc, item, false, err, ASSAY_ERR_SUITE,
                                    "'verify_tls' is true or false");
        c->verify_tls = cJSON_IsTrue(item);
        return ASSAY_OK;
    }
    if (!strcmp(key, "max_concurrency")) {
        double v = cJSON_IsNumber(item) ? item->valuedouble : 0;
        if (v < 1 || v > 65536 || v != (double)(int)v)
            return assay__doc_error(doc, item, false, err, ASSAY_ERR_SUITE,
                                    "'max_concurrency' is a whole number "
                                    "from 1 to 65536");
        c->max_concurrency = (int)v;
        return ASSAY_OK;
    }
    if (!strcmp(key, "extra")) {
        if (!cJSON_IsObject(item))
            return assay__doc_error(doc, item, false, err, ASSAY_ERR_SUITE,
                                    "'extra' must be a mapping, merged into "
                                    "every request body");
        c->extra = cJSON_Duplicate(item, true);
        return c->extra ? ASSAY_OK : oom(err);
    }
    return ASSAY_OK; /* not a connection key */
}

assay_status assay__connection_load(const assay__doc *doc,
                                    const cJSON *target, assay__connection *c,
                                    assay_error *err)
{
    assay__connection_init(c);
    const cJSON *item;
    cJSON_ArrayForEach(item, target)
    {
        assay_status st = read_key(doc, item, c, err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* Azure puts the deployment in the path and the version in the query. */
assay_status assay__connection_url(const assay__connection *c,
                                   const char *base_url, assay__buf *out)
{
    const char *path = c->endpoint == ASSAY__ENDPOINT_COMPLETIONS ? "completions"
                       : c->endpoint == ASSAY__ENDPOINT_EMBEDDINGS
                           ? "embeddings"
                           : "chat/completions";
    if (c->azure_deployment)
        return assay__buf_printf(out,
                                 "%s/openai/deployments/%s/%s?api-version=%s",
                                 base_url, c->azure_deployment, path,
                                 c->azure_api_version);
    return assay__buf_printf(out, "%s/%s", base_url, path);
}

assay_status assay__connection_headers(const assay__connection *c,
                                       const char *api_key,
                                       struct curl_slist **out)
{
    if (c->azure_deployment)
        return assay__engine_headers("api-key", api_key,
                                     (const char *const *)c->headers,
                                     c->n_headers, out);
    assay__buf bearer;
    assay__buf_init(&bearer, 0);
    assay_status st = api_key && *api_key
                          ? assay__buf_printf(&bearer, "Bearer %s", api_key)
                          : ASSAY_OK;
    if (st == ASSAY_OK)
        st = assay__engine_headers("Authorization", bearer.data,
                                   (const char *const *)c->headers,
                                   c->n_headers, out);
    memset(bearer.data, 0, bearer.len); /* the key must not linger */
    assay__buf_release(&bearer);
    return st;
}
