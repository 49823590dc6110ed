/*
 * fuzz_schema.c - fuzzes the JSON Schema validator (schema.c): compiling a
 * schema (keywords, $ref, $id, anchors, dialects, patterns) and validating
 * instances against it.
 *
 * The input is JSON: an array [schema, instance, ...], or a single value
 * that is the schema and, validated against itself, the instance. The
 * draft for a schema without $schema comes from the input's size. A
 * resolver serves the input's whole tree at https://fuzz.example/doc.json,
 * so references that leave the schema are walked too; the bundled
 * meta-schemas serve the rest.
 */
#include "fuzz.h"
#include "internal.h"

#include <string.h>

#define MAX_INSTANCES 8
#define MAX_ISSUES 8

static cJSON *resolve(const char *uri, void *user_data)
{
    if (strcmp(uri, "https://fuzz.example/doc.json"))
        return NULL;
    return cJSON_Duplicate(user_data, true);
}

/* `root` is the whole input, where a string instance is read as a pointer. */
static void validate(const assay__schema *s, const cJSON *instance,
                     const cJSON *root)
{
    assay__schema_issue issues[MAX_ISSUES];
    size_t n = 0;
    bool valid = false;
    assay_error err;
    assay__schema_validate(s, instance, &valid, issues, MAX_ISSUES, &n, &err);
    /* The first-issue-only mode is a separate path. */
    assay__schema_validate(s, instance, &valid, issues, 1, &n, &err);
    if (cJSON_IsString(instance))
        assay__schema_pointer_get(root, instance->valuestring);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (!root)
        return 0;
    bool listed = cJSON_IsArray(root) && cJSON_GetArraySize(root) > 0;
    const cJSON *schema = listed ? root->child : root;
    assay__schema_options opts = {
        .draft = size % 2 ? ASSAY__SCHEMA_DRAFT_7 : ASSAY__SCHEMA_2020_12,
        .resolve = resolve,
        .user_data = root,
    };
    assay__schema *s = NULL;
    assay__schema_fault fault;
    assay_error err;
    if (assay__schema_compile(schema, &opts, &s, &fault, &err) == ASSAY_OK) {
        if (!listed)
            validate(s, root, root);
        int n = 0;
        for (const cJSON *i = listed ? schema->next : NULL;
             i && n < MAX_INSTANCES; i = i->next, n++)
            validate(s, i, root);
        assay__schema_free(s);
    }
    cJSON_Delete(root);
    return 0;
}
