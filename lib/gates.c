/*
 * gates.c - the suite's `gates:` block: the conditions that decide the exit
 * code.
 *
 *   gates:
 *     pass_rate: {min: 0.9}          # or the short form `pass_rate: 0.9`
 *     metrics:                       # the mean of a metric, per group
 *       icontains: {min: 0.8}        # "score" names the mean result score
 *     error_rate: {max: 0.05}        # above it the run did not complete
 *     latency_p95_ms: {max: 2000}
 *     cost: {max: 1.50}              # the sum of the results' cost
 *     regression: {max_drop: 0.02, alpha: 0.05}   # against --baseline
 *
 * This file reads the block, writes it into the run record's header and
 * back, and applies overrides by dotted name (`pass_rate.min`) for command
 * lines. summary.c evaluates the gates on a run's statistics and compare.c
 * the regression gate on a comparison.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void assay__gates_init(assay__gates *g)
{
    memset(g, 0, sizeof *g);
    g->pass_rate_min = NAN;
    g->error_rate_max = NAN;
    g->latency_p95_ms_max = NAN;
    g->cost_max = NAN;
    g->regression_max_drop = NAN;
    g->regression_alpha = NAN;
}

/* ------------------------------------------------------------ limits */

/* What values a gate's limit may take. */
typedef enum limit_range {
    LIMIT_FRACTION,    /* 0 to 1 */
    LIMIT_ALPHA,       /* strictly between 0 and 1 */
    LIMIT_NONNEGATIVE, /* 0 or more */
} limit_range;

static bool in_range(double v, limit_range range)
{
    switch (range) {
    case LIMIT_FRACTION:
        return v >= 0 && v <= 1;
    case LIMIT_ALPHA:
        return v > 0 && v < 1;
    case LIMIT_NONNEGATIVE:
    default:
        return v >= 0 && isfinite(v);
    }
}

static const char *range_text(limit_range range)
{
    switch (range) {
    case LIMIT_FRACTION:
        return "a number from 0 to 1";
    case LIMIT_ALPHA:
        return "a number strictly between 0 and 1";
    case LIMIT_NONNEGATIVE:
    default:
        return "a number of 0 or more";
    }
}

/* One gate of the block: its key, the key of its limit and where it goes. */
typedef struct gate_field {
    const char *gate;
    const char *limit;
    limit_range range;
    size_t offset;
} gate_field;

static const gate_field fields[] = {
    {"pass_rate", "min", LIMIT_FRACTION, offsetof(assay__gates, pass_rate_min)},
    {"error_rate", "max", LIMIT_FRACTION,
     offsetof(assay__gates, error_rate_max)},
    {"latency_p95_ms", "max", LIMIT_NONNEGATIVE,
     offsetof(assay__gates, latency_p95_ms_max)},
    {"cost", "max", LIMIT_NONNEGATIVE, offsetof(assay__gates, cost_max)},
    {"regression", "max_drop", LIMIT_FRACTION,
     offsetof(assay__gates, regression_max_drop)},
    {"regression", "alpha", LIMIT_ALPHA,
     offsetof(assay__gates, regression_alpha)},
};
#define N_FIELDS (sizeof fields / sizeof *fields)

static double *field_of(assay__gates *g, const gate_field *f)
{
    return (double *)(void *)((char *)g + f->offset);
}

static double field_value(const assay__gates *g, const gate_field *f)
{
    return *(const double *)(const void *)((const char *)g + f->offset);
}

/* ------------------------------------------------------------ parsing */

static assay_status read_limit(const assay__doc *doc, const cJSON *node,
                               limit_range range, double *out, assay_error *err)
{
    if (!cJSON_IsNumber(node) || !in_range(node->valuedouble, range))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "expected %s", range_text(range));
    *out = node->valuedouble;
    return ASSAY_OK;
}

/* `{min: X}` (or max) or the bare number X. */
static assay_status read_simple(const assay__doc *doc, const cJSON *node,
                                const char *limit, limit_range range,
                                double *out, assay_error *err)
{
    if (!cJSON_IsObject(node))
        return read_limit(doc, node, range, out, err);
    const cJSON *item;
    bool have = false;
    cJSON_ArrayForEach (item, node) {
        if (strcmp(item->string, limit))
            return assay__doc_error(doc, item, true, err, ASSAY_ERR_SUITE,
                                    "unknown key '%s' in gate (expected '%s')",
                                    item->string, limit);
        assay_status st = read_limit(doc, item, range, out, err);
        if (st != ASSAY_OK)
            return st;
        have = true;
    }
    if (!have)
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "the gate needs '%s'", limit);
    return ASSAY_OK;
}

/* `regression: {max_drop: D, alpha: A}`; either may be left out. */
static assay_status read_regression(const assay__doc *doc, const cJSON *node,
                                    assay__gates *out, assay_error *err)
{
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'regression' must be a mapping with "
                                "'max_drop' and 'alpha'");
    out->regression_max_drop = ASSAY__DEFAULT_MAX_DROP;
    out->regression_alpha = ASSAY__DEFAULT_ALPHA;
    const cJSON *item;
    cJSON_ArrayForEach (item, node) {
        const gate_field *f = NULL;
        for (size_t i = 0; i < N_FIELDS; i++)
            if (!strcmp(fields[i].gate, "regression") &&
                !strcmp(fields[i].limit, item->string))
                f = &fields[i];
        if (!f)
            return assay__doc_error(doc, item, true, err, ASSAY_ERR_SUITE,
                                    "unknown key '%s' in 'regression' "
                                    "(known: max_drop, alpha)",
                                    item->string);
        assay_status st =
            read_limit(doc, item, f->range, field_of(out, f), err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static assay__metric_gate *metric_gate(assay__gates *g, const char *name)
{
    for (size_t i = 0; i < g->n_metrics; i++)
        if (!strcmp(g->metrics[i].name, name))
            return &g->metrics[i];
    return NULL;
}

/* Adds (or finds) the gate of a metric; NULL when the name or the count is
   past its cap. */
static assay__metric_gate *add_metric_gate(assay__gates *g, const char *name)
{
    assay__metric_gate *m = metric_gate(g, name);
    if (m)
        return m;
    if (g->n_metrics >= ASSAY__MAX_METRIC_GATES ||
        strlen(name) >= ASSAY__METRIC_NAME_MAX || !*name)
        return NULL;
    m = &g->metrics[g->n_metrics++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->min = NAN;
    return m;
}

static assay_status read_metrics(const assay__doc *doc, const cJSON *node,
                                 assay__gates *out, assay_error *err)
{
    if (!cJSON_IsObject(node))
        return assay__doc_error(doc, node, false, err, ASSAY_ERR_SUITE,
                                "'metrics' must map metric names to "
                                "{min: X}");
    const cJSON *item;
    cJSON_ArrayForEach (item, node) {
        assay__metric_gate *m = add_metric_gate(out, item->string);
        if (!m)
            return assay__doc_error(
                doc, item, true, err, ASSAY_ERR_SUITE,
                "too many metric gates or a metric name too long (at most "
                "%d gates, names of at most %d bytes)",
                ASSAY__MAX_METRIC_GATES, ASSAY__METRIC_NAME_MAX - 1);
        assay_status st =
            read_simple(doc, item, "min", LIMIT_FRACTION, &m->min, err);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

static const gate_field *simple_field(const char *gate)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp(fields[i].gate, gate) && strcmp(gate, "regression"))
            return &fields[i];
    return NULL;
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
    cJSON_ArrayForEach (item, node) {
        const gate_field *f = simple_field(item->string);
        assay_status st;
        if (f)
            st = read_simple(doc, item, f->limit, f->range, field_of(out, f),
                             err);
        else if (!strcmp(item->string, "metrics"))
            st = read_metrics(doc, item, out, err);
        else if (!strcmp(item->string, "regression"))
            st = read_regression(doc, item, out, err);
        else
            st = assay__doc_error(doc, item, true, err, ASSAY_ERR_SUITE,
                                  "unknown gate '%s' (known: pass_rate, "
                                  "metrics, error_rate, latency_p95_ms, cost, "
                                  "regression)",
                                  item->string);
        if (st != ASSAY_OK)
            return st;
    }
    return ASSAY_OK;
}

/* ------------------------------------------------------------ overrides */

static assay_status set_metric(assay__gates *g, const char *name, double value,
                               assay_error *err)
{
    /* "metrics.NAME.min": NAME may itself hold dots. */
    const char *rest = name + strlen("metrics.");
    const char *suffix = strrchr(rest, '.');
    if (!suffix || strcmp(suffix, ".min") || suffix == rest)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "unknown gate '%s' (a metric gate is "
                            "metrics.NAME.min)",
                            name);
    char metric[ASSAY__METRIC_NAME_MAX];
    size_t len = (size_t)(suffix - rest);
    if (len >= sizeof metric)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "metric name too long in gate '%s'", name);
    memcpy(metric, rest, len);
    metric[len] = '\0';
    if (isnan(value)) {
        assay__metric_gate *m = metric_gate(g, metric);
        if (m) {
            size_t i = (size_t)(m - g->metrics);
            memmove(m, m + 1, (g->n_metrics - i - 1) * sizeof *m);
            g->n_metrics--;
        }
        return ASSAY_OK;
    }
    if (!in_range(value, LIMIT_FRACTION))
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "gate '%s' takes %s", name,
                            range_text(LIMIT_FRACTION));
    assay__metric_gate *m = add_metric_gate(g, metric);
    if (!m)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "too many metric gates (at most %d)",
                            ASSAY__MAX_METRIC_GATES);
    m->min = value;
    return ASSAY_OK;
}

assay_status assay__gates_set(assay__gates *g, const char *name, double value,
                              assay_error *err)
{
    if (!name)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "a gate needs a name");
    if (!strncmp(name, "metrics.", strlen("metrics.")))
        return set_metric(g, name, value, err);
    for (size_t i = 0; i < N_FIELDS; i++) {
        const gate_field *f = &fields[i];
        size_t len = strlen(f->gate);
        if (strncmp(name, f->gate, len) || name[len] != '.' ||
            strcmp(name + len + 1, f->limit))
            continue;
        if (!isnan(value) && !in_range(value, f->range))
            return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                                "gate '%s' takes %s", name,
                                range_text(f->range));
        *field_of(g, f) = value;
        return ASSAY_OK;
    }
    return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                        "unknown gate '%s' (known: pass_rate.min, "
                        "metrics.NAME.min, error_rate.max, "
                        "latency_p95_ms.max, cost.max, regression.max_drop, "
                        "regression.alpha)",
                        name);
}

assay_status assay_suite_set_gate(assay_suite *suite, const char *name,
                                  double value, assay_error *err)
{
    if (!suite)
        return assay__error(err, ASSAY_ERR_INVALID, NULL, 0, 0,
                            "assay_suite_set_gate needs a suite");
    return assay__gates_set(&suite->gates, name, value, err);
}

/* ------------------------------------------------------------ JSON */

static cJSON *gate_object(cJSON *json, const char *key)
{
    cJSON *gate = cJSON_GetObjectItemCaseSensitive(json, key);
    return gate ? gate : cJSON_AddObjectToObject(json, key);
}

cJSON *assay__gates_to_json(const assay__gates *g)
{
    cJSON *json = cJSON_CreateObject();
    bool ok = json != NULL;
    for (size_t i = 0; ok && i < N_FIELDS; i++) {
        double v = field_value(g, &fields[i]);
        if (isnan(v))
            continue;
        cJSON *gate = gate_object(json, fields[i].gate);
        ok = gate && cJSON_AddNumberToObject(gate, fields[i].limit, v);
    }
    cJSON *metrics = NULL;
    if (ok && g->n_metrics)
        ok = (metrics = cJSON_AddObjectToObject(json, "metrics")) != NULL;
    for (size_t i = 0; ok && i < g->n_metrics; i++) {
        cJSON *gate = cJSON_AddObjectToObject(metrics, g->metrics[i].name);
        ok = gate && cJSON_AddNumberToObject(gate, "min", g->metrics[i].min);
    }
    if (!ok) {
        cJSON_Delete(json);
        return NULL;
    }
    return json;
}

static bool limit_from_json(const cJSON *gate, const char *limit,
                            limit_range range, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(gate, limit);
    if (!v)
        return true;
    if (!cJSON_IsNumber(v) || !in_range(v->valuedouble, range))
        return false;
    *out = v->valuedouble;
    return true;
}

bool assay__gates_from_json(const cJSON *json, assay__gates *out)
{
    assay__gates_init(out);
    if (!json)
        return true;
    if (!cJSON_IsObject(json))
        return false;
    for (size_t i = 0; i < N_FIELDS; i++) {
        const cJSON *gate =
            cJSON_GetObjectItemCaseSensitive(json, fields[i].gate);
        if (gate && (!cJSON_IsObject(gate) ||
                     !limit_from_json(gate, fields[i].limit, fields[i].range,
                                      field_of(out, &fields[i]))))
            return false;
    }
    const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(json, "metrics");
    if (metrics && !cJSON_IsObject(metrics))
        return false;
    const cJSON *item;
    cJSON_ArrayForEach (item, metrics) {
        assay__metric_gate *m = add_metric_gate(out, item->string);
        if (!m || !cJSON_IsObject(item) ||
            !limit_from_json(item, "min", LIMIT_FRACTION, &m->min) ||
            isnan(m->min))
            return false;
    }
    return true;
}
