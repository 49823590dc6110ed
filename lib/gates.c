/*
 * gates.c - the suite's `gates:` block: the conditions that decide the exit
 * code.
 *
 *   gates:
 *     pass_rate: {min: 0.9}     # or the short form `pass_rate: 0.9`
 *
 * Each gate holds for every target on its own. This file only reads and
 * writes the block; summary.c evaluates it against the counts.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

void assay__gates_init(assay__gates *g)
{
    g->pass_rate_min = NAN;
}

static assay_status read_fraction(const assay__doc *doc, const cJSON *node,
                                  double *out, assay_error *err)
{
    if (!cJSON_IsNumber(node) || node->valuedouble < 0 ||
        node->valuedouble > 1)
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "expected a number from 0 to 1");
    *out = node->valuedouble;
    return ASSAY_OK;
}

/* `{min: X}` or the bare number X. */
static assay_status read_min(const assay__doc *doc, const cJSON *node,
                             double *out, assay_error *err)
{
    if (!cJSON_IsObject(node))
        return read_fraction(doc, node, out, err);
    const cJSON *item;
    bool have_min = false;
    cJSON_ArrayForEach(item, node)
    {
        if (strcmp(item->string, "min"))
            return assay__doc_error(doc, item, true, err, ASSAY_ERR_SUITE,
                                    "unknown key '%s' in gate (expected 'min')",
                                    item->string);
        assay_status st = read_fraction(doc, item, out, err);
        if (st != ASSAY_OK)
            return st;
        have_min = true;
    }
    if (!have_min)
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "the gate needs 'min'");
    return ASSAY_OK;
}

assay_status assay__gates_parse(const assay__doc *doc, const cJSON *node,
                                assay__gates *out, assay_error *err)
{
    assay__gates_init(out);
    if (!node || cJSON_IsNull(node))
        return ASSAY_OK;
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'gates' must be a mapping");
    const cJSON *item;
    cJSON_ArrayForEach(item, node)
    {
        if (strcmp(item->string, "pass_rate"))
            return assay__doc_error(doc, item, true, err, ASSAY_ERR_SUITE,
                                    "unknown gate '%s' (known: pass_rate)",
                                    item->string);
        assay_status st = read_min(doc, item, &out->pass_rate_min, err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

cJSON *assay__gates_to_json(const assay__gates *g)
{
    cJSON *json = cJSON_CreateObject();
    if (!json)
        return NULL;
    if (!isnan(g->pass_rate_min)) {
        cJSON *gate = cJSON_AddObjectToObject(json, "pass_rate");
        if (!gate || !cJSON_AddNumberToObject(gate, "min", g->pass_rate_min)) {
            cJSON_Delete(json);
            return NULL;
        }
    }
    return json;
}

bool assay__gates_from_json(const cJSON *json, assay__gates *out)
{
    assay__gates_init(out);
    if (!json)
        return true;
    if (!cJSON_IsObject(json))
        return false;
    const cJSON *gate = cJSON_GetObjectItemCaseSensitive(json, "pass_rate");
    if (!gate)
        return true;
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(gate, "min");
    if (!cJSON_IsNumber(min))
        return false;
    out->pass_rate_min = min->valuedouble;
    return true;
}
