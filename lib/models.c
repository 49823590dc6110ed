/*
 * models.c - asking a target which models it serves (GET /models).
 *
 * One small synchronous request, outside the run's loop: it is what a user
 * does before a run to find the name to put in a suite. The reply is the
 * OpenAI list shape {"object": "list", "data": [{"id": ...}, ...]}; each id
 * goes to the caller's callback.
 */
#include "internal.h"

#include <curl/curl.h>
#include <string.h>

#define MAX_MODELS_REPLY ((size_t)8 << 20)

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
    return assay__buf_append(user, data, size * count) == ASSAY_OK
               ? size * count
               : 0;
}

static assay_status fetch(const char *url, const struct curl_slist *headers,
                          long timeout_ms, assay__buf *body, long *status,
                          assay_error *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return assay__error(err, ASSAY_ERR_NOMEM, NULL, 0, 0, "out of memory");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "assay/" ASSAY_VERSION_STRING);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return assay__error(err, rc == CURLE_OPERATION_TIMEDOUT
                                     ? ASSAY_ERR_TIMEOUT
                                     : ASSAY_ERR_TRANSPORT,
                            NULL, 0, 0, "%s: %s", url,
                            errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return ASSAY_OK;
}

static assay_status read_list(const char *url, long status,
                              const assay__buf *body, assay_model_fn fn,
                              void *user_data, assay_error *err)
{
    assay__response scratch;
    assay__response_init(&scratch);
    cJSON *root = cJSON_ParseWithLength(body->data, body->len);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    assay_status st = ASSAY_OK;
    if (status < 200 || status > 299 || !cJSON_IsArray(data)) {
        /* Reuse the reply parser's wording for errors and odd bodies. */
        st = assay__openai_parse_chat(status, body->data, body->len, &scratch,
                                      err);
        if (st == ASSAY_OK || (status >= 200 && status <= 299))
            st = assay__error(err, ASSAY_ERR_RESPONSE, NULL, 0, 0,
                              "%s: HTTP %ld: the reply is not a list of "
                              "models",
                              url, status);
        else
            assay__error_prefix(err, "%s", url);
    }
    const cJSON *model;
    if (st == ASSAY_OK)
        cJSON_ArrayForEach(model, data)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(model, "id");
            if (cJSON_IsString(id))
                fn(id->valuestring, user_data);
        }
    cJSON_Delete(root);
    assay__response_release(&scratch);
    return st;
}

assay_status assay_list_models(const char *base_url, const char *api_key,
                               long timeout_ms, assay_model_fn fn,
                               void *user_data, assay_error *err)
{
    if (!base_url || !fn)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_list_models needs a base URL and a "
                            "callback");
    assay__buf url, bearer, body;
    assay__buf_init(&url, 0);
    assay__buf_init(&bearer, 0);
    assay__buf_init(&body, MAX_MODELS_REPLY);
    size_t len = strlen(base_url);
    while (len && base_url[len - 1] == '/')
        len--;
    assay_status st = assay__buf_printf(&url, "%.*s/models", (int)len,
                                        base_url);
    if (st == ASSAY_OK && api_key && *api_key)
        st = assay__buf_printf(&bearer, "Bearer %s", api_key);
    struct curl_slist *headers = NULL;
    if (st == ASSAY_OK)
        st = assay__engine_headers("Authorization", bearer.data, NULL, 0,
                                   &headers);
    memset(bearer.data, 0, bearer.len);
    long status = 0;
    if (st != ASSAY_OK)
        assay__error(err, st, NULL, 0, 0, "out of memory");
    else
        st = fetch(url.data, headers, timeout_ms > 0 ? timeout_ms : 30000,
                   &body, &status, err);
    if (st == ASSAY_OK)
        st = read_list(url.data, status, &body, fn, user_data, err);
    assay__engine_headers_free(headers);
    assay__buf_release(&url);
    assay__buf_release(&bearer);
    assay__buf_release(&body);
    return st;
}
