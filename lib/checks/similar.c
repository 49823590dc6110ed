/*
 * checks/similar.c - `similar`: the cosine similarity of the answer's and
 * the expected text's embeddings, from the suite's embedder target.
 *
 *   embedder: {model: text-embedding-3-small}
 *   checks:
 *     - {type: similar, value: "{{expected}}", threshold: 0.8}
 *
 * The run sends both texts in one /embeddings request (through the engine,
 * with the cache, retries and rate limits of the embedder) and hands the
 * reply to run(), which reads the two vectors and scores their cosine,
 * clipped to [0, 1]. It passes at the threshold (default 0.75).
 */
#include "checks.h"

#include <math.h>
#include <string.h>

/* The texts to embed: the answer (as `system`) and the value (`user`). */
static assay_status similar_ask(void *state, const assay__check_input *in,
                                assay__buf *system, assay__buf *user,
                                assay_error *err)
{
    (void)state;
    (void)err;
    assay_status st = assay__buf_append(system, in->output, in->output_len);
    return st == ASSAY_OK ? assay__buf_append(user, in->value, in->value_len)
                          : st;
}

static double cosine(const double *a, const double *b, size_t n)
{
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    return na > 0 && nb > 0 ? dot / (sqrt(na) * sqrt(nb)) : 0;
}

static assay_status similar_run(void *state, const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    (void)state;
    if (!in->grader_reply)
        return assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                            "'similar' needs the embeddings of both texts");
    assay__embeddings e;
    assay__embeddings_init(&e);
    assay_status st = assay__openai_parse_embeddings(
        200, in->grader_reply, in->grader_reply_len, &e, err);
    if (st == ASSAY_OK && e.count != 2)
        st = assay__error(err, ASSAY_ERR_CHECK, NULL, 0, 0,
                          "the embedder returned %zu vectors for 2 texts",
                          e.count);
    if (st == ASSAY_OK) {
        double c = cosine(assay__embeddings_vector(&e, 0),
                          assay__embeddings_vector(&e, 1), e.dim);
        out->score = c < 0 ? 0 : c > 1 ? 1 : c;
        st = assay__buf_puts(out->want, "be similar to ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->want, in->value, in->value_len,
                                     ASSAY__CHECK_EXCERPT);
        if (st == ASSAY_OK)
            st = assay__buf_printf(out->want, " (cosine >= %.2f)",
                                   in->threshold);
        if (st == ASSAY_OK)
            st = assay__buf_printf(out->found, "cosine %.4f for ", c);
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->found, in->output, in->output_len,
                                     ASSAY__CHECK_EXCERPT);
    }
    assay__embeddings_release(&e);
    return st;
}

const assay__check_family assay__checks_similar = {
    .name = "similar",
    .value_is_template = true,
    .scored = true,
    .default_threshold = 0.75,
    .run = similar_run,
    .ask = similar_ask,
    .embeds = true,
};
