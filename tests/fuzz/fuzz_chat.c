/*
 * fuzz_chat.c - fuzzes the parsing of replies to /chat/completions and
 * /completions (openai.c's assay__openai_parse_chat) and to /embeddings
 * (embeddings.c) and, when the input is a JSON object, the building of a
 * request body with it as the target's `params`.
 *
 * The input is a reply body as the server sent it. It is parsed as a
 * success (HTTP 200) and as a failure (HTTP 500), the two paths an engine
 * takes, into one response reused as the engine reuses it. Streams are
 * fuzz_sse.c's.
 */
#include "fuzz.h"
#include "internal.h"

#include <string.h>

/* A request with `params` from the input, as suite.c would pass them. */
static void build_request(const char *body, size_t len)
{
    cJSON *params = cJSON_ParseWithLength(body, len);
    if (cJSON_IsObject(params)) {
        static const char *const roles[] = {"system", "user"};
        assay__buf contents[2];
        assay__buf request;
        assay__buf_init(&contents[0], 0);
        assay__buf_init(&contents[1], 0);
        assay__buf_init(&request, (size_t)1 << 20);
        assay__buf_puts(&contents[0], "Answer briefly.");
        assay__buf_puts(&contents[1], "What is 2 + 2?");
        assay__openai_chat_request(&request, "fuzz-model", params, roles,
                                   contents, 2);
        assay__buf_release(&request);
        assay__buf_release(&contents[0]);
        assay__buf_release(&contents[1]);
    }
    cJSON_Delete(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    assay__response r;
    assay_error err;
    assay__response_init(&r);
    assay__openai_parse_chat(200, body, size, &r, &err);
    assay__response_reset(&r);
    assay__openai_parse_chat(500, body, size, &r, &err);
    assay__response_release(&r);

    assay__embeddings e;
    assay__embeddings_init(&e);
    if (assay__openai_parse_embeddings(200, body, size, &e, &err) == ASSAY_OK)
        for (size_t i = 0; i < e.count; i++)
            (void)assay__embeddings_vector(&e, i);
    assay__embeddings_release(&e);

    build_request(body, size);
    return 0;
}
