/*
 * checks/similarity.c - how close the answer is to a reference text:
 * `levenshtein` (an edit-distance bound), `bleu` (sacreBLEU's BLEU) and
 * `rouge-1`, `rouge-2`, `rouge-l` (Google's rouge-score F-measure).
 *
 * BLEU copies sacreBLEU 2.x's defaults exactly: the 13a tokeniser
 * (mteval-v13a: HTML entities, punctuation split off, periods and commas
 * kept inside numbers), n-grams up to 4, clipped counts with the maximum
 * over references, the closest reference length for the brevity penalty,
 * and exponential smoothing ("exp", mteval's method 3). A check scores
 * one answer, so it is sentence BLEU, with the effective order that
 * sacreBLEU's sentence_bleu uses; the statistics add up into corpus BLEU
 * (assay__bleu_add, assay__bleu_score without effective order), which is
 * what a corpus-level figure must be computed from, never a mean of
 * sentence scores. Scores are BLEU / 100, in [0, 1].
 *
 * ROUGE copies rouge-score's default tokeniser (lowercase, every run of
 * characters other than a-z and 0-9 separates tokens, no stemming: so
 * text in other scripts has no tokens) and its scores: n-gram overlap or
 * the longest common subsequence, as precision, recall and their harmonic
 * mean, the F-measure, which is the score. With several references the
 * best F-measure counts, as in rouge-score's score_multi.
 *
 * Levenshtein counts Unicode code points (insertions, deletions and
 * substitutions of one each) and passes when the distance is at most
 * `max` (default 5, as promptfoo). It computes only the band of width
 * 2 max + 1, so a long answer costs O(max * length).
 */
#include "checks/checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX ((size_t)16 << 20)   /* bytes of a tokenised text */
#define LCS_MAX_CELLS 50000000.0      /* tokens x tokens for ROUGE-L */
#define LEVENSHTEIN_MAX_CHARS 1000000 /* code points of either text */

static assay_status failed(assay_status st, assay_error *err)
{
    if (st == ASSAY_OK)
        return st;
    return assay__error(err, st, NULL, 0, 0, "%s", assay_strerror(st));
}

/* ------------------------------------------------------------ tokens */

/* A text's tokens: ids (equal tokens, equal ids) over shared storage. */
typedef struct token_list {
    uint32_t *ids;
    size_t n;
} token_list;

/* Interns tokens into ids; one table for a hypothesis and its references. */
typedef struct interner {
    assay__text_ref *slots; /* open addressing; s NULL when empty */
    uint32_t *slot_ids;
    size_t cap;
    uint32_t next;
} interner;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void interner_release(interner *t)
{
    free(t->slots);
    free(t->slot_ids);
    memset(t, 0, sizeof *t);
}

static assay_status interner_grow(interner *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    assay__text_ref *slots = calloc(cap, sizeof *slots);
    uint32_t *ids = calloc(cap, sizeof *ids);
    if (!slots || !ids) {
        free(slots);
        free(ids);
        return ASSAY_ERR_NOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].s)
            continue;
        size_t j = hash_bytes(t->slots[i].s, t->slots[i].len) & (cap - 1);
        while (slots[j].s)
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
        ids[j] = t->slot_ids[i];
    }
    free(t->slots);
    free(t->slot_ids);
    t->slots = slots;
    t->slot_ids = ids;
    t->cap = cap;
    return ASSAY_OK;
}

/* The id of a token; the bytes must outlive the interner. */
static assay_status intern(interner *t, const char *s, size_t n, uint32_t *id)
{
    if ((size_t)t->next * 2 >= t->cap) {
        assay_status st = interner_grow(t);
        if (st != ASSAY_OK)
            return st;
    }
    size_t j = hash_bytes(s, n) & (t->cap - 1);
    while (t->slots[j].s) {
        if (t->slots[j].len == n && !memcmp(t->slots[j].s, s, n)) {
            *id = t->slot_ids[j];
            return ASSAY_OK;
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->slots[j] = (assay__text_ref){s, n};
    t->slot_ids[j] = t->next;
    *id = t->next++;
    return ASSAY_OK;
}

static assay_status push_id(token_list *l, size_t *cap, uint32_t id)
{
    if (l->n == *cap) {
        size_t c = *cap ? *cap * 2 : 32;
        uint32_t *ids = realloc(l->ids, c * sizeof *ids);
        if (!ids)
            return ASSAY_ERR_NOMEM;
        l->ids = ids;
        *cap = c;
    }
    l->ids[l->n++] = id;
    return ASSAY_OK;
}

/* The tokens of a text that tokenisers left separated by single spaces. */
static assay_status split_tokens(const assay__buf *text, interner *t,
                                 token_list *out)
{
    size_t cap = 0;
    out->ids = NULL;
    out->n = 0;
    assay_status st = ASSAY_OK;
    for (size_t i = 0; i < text->len && st == ASSAY_OK;) {
        size_t j = i;
        while (j < text->len && text->data[j] != ' ')
            j++;
        if (j > i) {
            uint32_t id;
            st = intern(t, text->data + i, j - i, &id);
            if (st == ASSAY_OK)
                st = push_id(out, &cap, id);
        }
        i = j + 1;
    }
    return st;
}

/* ------------------------------------------------------------ n-grams */

typedef struct ngram {
    uint32_t id[4]; /* unused places hold UINT32_MAX */
    uint32_t count;
} ngram;

static int ngram_cmp(const void *a, const void *b)
{
    const ngram *x = a, *y = b;
    for (int k = 0; k < 4; k++)
        if (x->id[k] != y->id[k])
            return x->id[k] < y->id[k] ? -1 : 1;
    return 0;
}

/* The distinct n-grams of orders lo..hi with their counts, sorted. */
static assay_status count_ngrams(const token_list *t, int lo, int hi,
                                 ngram **out, size_t *n_out)
{
    size_t n = 0;
    for (int k = lo; k <= hi; k++)
        n += t->n >= (size_t)k ? t->n - (size_t)k + 1 : 0;
    ngram *g = malloc((n ? n : 1) * sizeof *g);
    if (!g)
        return ASSAY_ERR_NOMEM;
    size_t m = 0;
    for (int k = lo; k <= hi; k++)
        for (size_t i = 0; i + (size_t)k <= t->n; i++) {
            for (int d = 0; d < 4; d++)
                g[m].id[d] = d < k ? t->ids[i + (size_t)d] : UINT32_MAX;
            g[m++].count = 1;
        }
    qsort(g, m, sizeof *g, ngram_cmp);
    size_t w = 0;
    for (size_t i = 0; i < m; i++) {
        if (w > 0 && !ngram_cmp(&g[w - 1], &g[i]))
            g[w - 1].count++;
        else
            g[w++] = g[i];
    }
    *out = g;
    *n_out = w;
    return ASSAY_OK;
}

static int order_of(const ngram *g)
{
    int k = 0;
    while (k < 4 && g->id[k] != UINT32_MAX)
        k++;
    return k;
}

/* ------------------------------------------------------------ BLEU */

/*
 * mteval-v13a's tokenisation as sacreBLEU's Tokenizer13a does it, rule by
 * rule. The regular expressions there look at one character at a time
 * and only ASCII digits and punctuation take part, so the same passes over
 * bytes give the same text for any UTF-8 input.
 */
static bool in_13a_class(unsigned char c)
{
    return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2B) ||
           (c >= 0x3A && c <= 0x40) || c == '/';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* str.replace(from, to) */
static assay_status replace_all(assay__buf *text, const char *from,
                                const char *to)
{
    size_t flen = strlen(from);
    if (!strstr(text->data, from))
        return ASSAY_OK;
    assay__buf out;
    assay__buf_init(&out, TEXT_MAX);
    assay_status st = ASSAY_OK;
    for (size_t i = 0; i < text->len && st == ASSAY_OK;) {
        if (i + flen <= text->len && !memcmp(text->data + i, from, flen)) {
            st = assay__buf_puts(&out, to);
            i += flen;
        } else {
            st = assay__buf_putc(&out, text->data[i++]);
        }
    }
    if (st == ASSAY_OK) {
        assay__buf old = *text;
        *text = out;
        out = old;
    }
    assay__buf_release(&out);
    return st;
}

/* One of the four regular expression rules of TokenizerRegexp. */
static assay_status apply_rule(assay__buf *text, int rule)
{
    assay__buf out;
    assay__buf_init(&out, TEXT_MAX);
    const unsigned char *s = (const unsigned char *)text->data;
    size_t n = text->len;
    assay_status st = ASSAY_OK;
    size_t run = 0; /* start of the bytes copied as they are */
    for (size_t i = 0; i < n && st == ASSAY_OK;) {
        unsigned char c = s[i];
        bool has_next = i + 1 < n;
        unsigned char d = has_next ? s[i + 1] : 0;
        char piece[5];
        size_t len = 0, used = 1;
        if (rule == 1 && in_13a_class(c)) { /* ' \1 ' */
            piece[0] = ' ';
            piece[1] = (char)c;
            piece[2] = ' ';
            len = 3;
        } else if (rule == 2 && has_next && !is_digit(c) &&
                   (d == '.' || d == ',')) { /* '\1 \2 ' */
            piece[0] = (char)c;
            piece[1] = ' ';
            piece[2] = (char)d;
            piece[3] = ' ';
            len = 4;
            used = 2;
        } else if (rule == 3 && has_next && (c == '.' || c == ',') &&
                   !is_digit(d)) { /* ' \1 \2' */
            piece[0] = ' ';
            piece[1] = (char)c;
            piece[2] = ' ';
            piece[3] = (char)d;
            len = 4;
            used = 2;
        } else if (rule == 4 && has_next && is_digit(c) && d == '-') {
            piece[0] = (char)c; /* '\1 \2 ' */
            piece[1] = ' ';
            piece[2] = '-';
            piece[3] = ' ';
            len = 4;
            used = 2;
        } else {
            i++;
            continue;
        }
        st = assay__buf_append(&out, s + run, i - run);
        if (st == ASSAY_OK)
            st = assay__buf_append(&out, piece, len);
        i += used;
        run = i;
    }
    if (st == ASSAY_OK)
        st = assay__buf_append(&out, s + run, n - run);
    if (st == ASSAY_OK) {
        assay__buf old = *text;
        *text = out;
        out = old;
    }
    assay__buf_release(&out);
    return st;
}

/* The length of s without trailing Python whitespace: str.rstrip(). */
static size_t rstrip_len(const char *s, size_t n)
{
    size_t end = 0;
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t c = assay__checks_utf8_decode(s + i, n - i, &k);
        if (!(assay__checks_utf8_char(s + i, n - i) &&
              assay__checks_is_space(c)))
            end = i + k;
    }
    return end;
}

assay_status assay__bleu_tokenize(const char *s, size_t n, assay__buf *out)
{
    assay__buf text;
    assay__buf_init(&text, TEXT_MAX);
    assay_status st = assay__buf_putc(&text, ' ');
    if (st == ASSAY_OK)
        st = assay__buf_append(&text, s, rstrip_len(s, n));
    static const char *const pairs[][2] = {
        {"<skipped>", ""}, {"-\n", ""},   {"\n", " "},   {"&quot;", "\""},
        {"&amp;", "&"},    {"&lt;", "<"}, {"&gt;", ">"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs && st == ASSAY_OK; i++)
        st = replace_all(&text, pairs[i][0], pairs[i][1]);
    if (st == ASSAY_OK)
        st = assay__buf_putc(&text, ' ');
    for (int rule = 1; rule <= 4 && st == ASSAY_OK; rule++)
        st = apply_rule(&text, rule);
    if (st == ASSAY_OK)
        st = assay__checks_collapse_space(text.data, text.len, out);
    assay__buf_release(&text);
    return st;
}

void assay__bleu_add(assay__bleu_stats *sum, const assay__bleu_stats *s)
{
    for (int k = 0; k < 4; k++) {
        sum->correct[k] += s->correct[k];
        sum->total[k] += s->total[k];
    }
    sum->sys_len += s->sys_len;
    sum->ref_len += s->ref_len;
}

/* sacreBLEU's _get_closest_ref_len: the nearest; the shorter on a tie. */
static double closest_ref_len(double hyp, const double *lens, size_t n)
{
    double best = -1, best_diff = -1;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs(hyp - lens[i]);
        if (best_diff < 0 || diff < best_diff) {
            best_diff = diff;
            best = lens[i];
        } else if (diff == best_diff && lens[i] < best) {
            best = lens[i];
        }
    }
    return best;
}

/* Max count per n-gram over the references: merges sorted lists. */
static assay_status merge_max(ngram **acc, size_t *n_acc, const ngram *g,
                              size_t n)
{
    ngram *m = malloc((*n_acc + n + 1) * sizeof *m);
    if (!m)
        return ASSAY_ERR_NOMEM;
    size_t i = 0, j = 0, w = 0;
    while (i < *n_acc || j < n) {
        int c = i == *n_acc ? 1 : j == n ? -1 : ngram_cmp(&(*acc)[i], &g[j]);
        if (c < 0)
            m[w++] = (*acc)[i++];
        else if (c > 0)
            m[w++] = g[j++];
        else {
            m[w] = (*acc)[i++];
            if (g[j].count > m[w].count)
                m[w].count = g[j].count;
            w++;
            j++;
        }
    }
    free(*acc);
    *acc = m;
    *n_acc = w;
    return ASSAY_OK;
}

assay_status assay__bleu_sentence_stats(const char *hyp, size_t n,
                                        const assay__text_ref *refs,
                                        size_t n_refs, assay__bleu_stats *out)
{
    memset(out, 0, sizeof *out);
    interner names = {0};
    assay__buf hyp_text;
    assay__buf_init(&hyp_text, TEXT_MAX);
    token_list hyp_tokens = {0};
    ngram *ref_max = NULL, *hyp_grams = NULL;
    size_t n_ref_max = 0, n_hyp_grams = 0;
    double *ref_lens = calloc(n_refs ? n_refs : 1, sizeof *ref_lens);
    assay__buf *ref_texts = calloc(n_refs ? n_refs : 1, sizeof *ref_texts);
    assay_status st = ref_lens && ref_texts ? ASSAY_OK : ASSAY_ERR_NOMEM;
    for (size_t r = 0; ref_texts && r < n_refs; r++)
        assay__buf_init(&ref_texts[r], TEXT_MAX);

    if (st == ASSAY_OK)
        st = assay__bleu_tokenize(hyp, n, &hyp_text);
    if (st == ASSAY_OK)
        st = split_tokens(&hyp_text, &names, &hyp_tokens);
    for (size_t r = 0; r < n_refs && st == ASSAY_OK; r++) {
        token_list t = {0};
        ngram *g = NULL;
        size_t ng = 0;
        st = assay__bleu_tokenize(refs[r].s, refs[r].len, &ref_texts[r]);
        if (st == ASSAY_OK)
            st = split_tokens(&ref_texts[r], &names, &t);
        if (st == ASSAY_OK)
            st = count_ngrams(&t, 1, 4, &g, &ng);
        if (st == ASSAY_OK)
            st = merge_max(&ref_max, &n_ref_max, g, ng);
        ref_lens[r] = (double)t.n;
        free(t.ids);
        free(g);
    }
    if (st == ASSAY_OK)
        st = count_ngrams(&hyp_tokens, 1, 4, &hyp_grams, &n_hyp_grams);
    if (st == ASSAY_OK) {
        out->sys_len = (double)hyp_tokens.n;
        out->ref_len = closest_ref_len(out->sys_len, ref_lens, n_refs);
        if (out->ref_len < 0)
            out->ref_len = 0;
        for (size_t i = 0, j = 0; i < n_hyp_grams; i++) {
            int k = order_of(&hyp_grams[i]) - 1;
            out->total[k] += hyp_grams[i].count;
            while (j < n_ref_max && ngram_cmp(&ref_max[j], &hyp_grams[i]) < 0)
                j++;
            if (j < n_ref_max && !ngram_cmp(&ref_max[j], &hyp_grams[i]))
                out->correct[k] += hyp_grams[i].count < ref_max[j].count
                                       ? hyp_grams[i].count
                                       : ref_max[j].count;
        }
    }
    for (size_t r = 0; ref_texts && r < n_refs; r++)
        assay__buf_release(&ref_texts[r]);
    free(ref_texts);
    free(ref_lens);
    free(ref_max);
    free(hyp_grams);
    free(hyp_tokens.ids);
    interner_release(&names);
    assay__buf_release(&hyp_text);
    return st;
}

double assay__bleu_score(const assay__bleu_stats *s, bool effective_order,
                         double *bp_out)
{
    double bp = 1.0;
    if (s->sys_len < s->ref_len)
        bp = s->sys_len > 0 ? exp(1 - s->ref_len / s->sys_len) : 0.0;
    if (bp_out)
        *bp_out = bp;
    bool any = false;
    for (int k = 0; k < 4; k++)
        any = any || s->correct[k] > 0;
    if (!any) /* sacreBLEU's early stop: no match at all is 0 */
        return 0.0;
    double precisions[4] = {0, 0, 0, 0};
    double smooth = 1.0;
    int order = 4;
    for (int k = 0; k < 4; k++) {
        if (s->total[k] == 0)
            break;
        if (effective_order)
            order = k + 1;
        if (s->correct[k] == 0) { /* "exp": halve for each zero order */
            smooth *= 2;
            precisions[k] = 100.0 / (smooth * s->total[k]);
        } else {
            precisions[k] = 100.0 * s->correct[k] / s->total[k];
        }
    }
    double sum = 0;
    for (int k = 0; k < order; k++) /* sacreBLEU's my_log(0) is -9999999999 */
        sum += precisions[k] > 0 ? log(precisions[k]) : -9999999999.0;
    return bp * exp(sum / order);
}

/* ------------------------------------------------------------ ROUGE */

/* rouge-score's tokenize(): lower(), then runs of [a-z0-9]. */
assay_status assay__rouge_tokenize(const char *s, size_t n, assay__buf *out)
{
    assay_status st = ASSAY_OK;
    bool pending = false;
    for (size_t i = 0, k; i < n && st == ASSAY_OK; i += k) {
        char low[8];
        size_t m;
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) { /* ASCII, the common case, without a lookup */
            low[0] = b >= 'A' && b <= 'Z' ? (char)(b + 32) : (char)b;
            m = k = 1;
        } else {
            m = assay__checks_lower_utf8(s, n, i, &k, low);
        }
        for (size_t j = 0; j < m && st == ASSAY_OK; j++) {
            char c = low[j];
            bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (!keep) {
                pending = out->len > 0;
                continue;
            }
            if (pending)
                st = assay__buf_putc(out, ' ');
            pending = false;
            if (st == ASSAY_OK)
                st = assay__buf_putc(out, c);
        }
    }
    return st;
}

static double fmeasure(double p, double r)
{
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

/* rouge-score's _score_ngrams. */
static assay_status rouge_n(const token_list *hyp, const token_list *ref,
                            int order, assay__rouge_score *out)
{
    ngram *h = NULL, *r = NULL;
    size_t nh = 0, nr = 0;
    assay_status st = count_ngrams(hyp, order, order, &h, &nh);
    if (st == ASSAY_OK)
        st = count_ngrams(ref, order, order, &r, &nr);
    if (st == ASSAY_OK) {
        double overlap = 0, total_h = 0, total_r = 0;
        for (size_t i = 0; i < nh; i++)
            total_h += h[i].count;
        for (size_t j = 0; j < nr; j++)
            total_r += r[j].count;
        for (size_t i = 0, j = 0; i < nh && j < nr;) {
            int c = ngram_cmp(&h[i], &r[j]);
            if (c == 0)
                overlap += h[i].count < r[j].count ? h[i].count : r[j].count;
            i += c <= 0;
            j += c >= 0;
        }
        out->precision = overlap / (total_h > 1 ? total_h : 1);
        out->recall = overlap / (total_r > 1 ? total_r : 1);
        out->fmeasure = fmeasure(out->precision, out->recall);
    }
    free(h);
    free(r);
    return st;
}

/* rouge-score's _score_lcs, in two rows. */
static assay_status rouge_l(const token_list *hyp, const token_list *ref,
                            assay__rouge_score *out)
{
    *out = (assay__rouge_score){0, 0, 0};
    if (hyp->n == 0 || ref->n == 0)
        return ASSAY_OK;
    if ((double)hyp->n * (double)ref->n > LCS_MAX_CELLS)
        return ASSAY_ERR_LIMIT;
    uint32_t *prev = calloc(hyp->n + 1, sizeof *prev);
    uint32_t *cur = calloc(hyp->n + 1, sizeof *cur);
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return ASSAY_ERR_NOMEM;
    }
    for (size_t i = 1; i <= ref->n; i++) {
        for (size_t j = 1; j <= hyp->n; j++) {
            if (ref->ids[i - 1] == hyp->ids[j - 1])
                cur[j] = prev[j - 1] + 1;
            else
                cur[j] = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
        }
        uint32_t *t = prev;
        prev = cur;
        cur = t;
    }
    double lcs = prev[hyp->n];
    free(prev);
    free(cur);
    out->precision = lcs / (double)hyp->n;
    out->recall = lcs / (double)ref->n;
    out->fmeasure = fmeasure(out->precision, out->recall);
    return ASSAY_OK;
}

assay_status assay__rouge(const char *hyp, size_t n,
                          const assay__text_ref *refs, size_t n_refs, int kind,
                          assay__rouge_score *best, size_t *best_at)
{
    *best = (assay__rouge_score){0, 0, 0};
    *best_at = 0;
    interner names = {0};
    assay__buf text;
    assay__buf_init(&text, TEXT_MAX);
    token_list h = {0};
    assay_status st = assay__rouge_tokenize(hyp, n, &text);
    if (st == ASSAY_OK)
        st = split_tokens(&text, &names, &h);
    assay__buf *ref_texts = calloc(n_refs ? n_refs : 1, sizeof *ref_texts);
    if (!ref_texts)
        st = ASSAY_ERR_NOMEM;
    for (size_t r = 0; ref_texts && r < n_refs; r++)
        assay__buf_init(&ref_texts[r], TEXT_MAX);
    bool first = true;
    for (size_t r = 0; r < n_refs && st == ASSAY_OK; r++) {
        token_list t = {0};
        assay__rouge_score s = {0};
        st = assay__rouge_tokenize(refs[r].s, refs[r].len, &ref_texts[r]);
        if (st == ASSAY_OK)
            st = split_tokens(&ref_texts[r], &names, &t);
        if (st == ASSAY_OK)
            st = kind == 'L' ? rouge_l(&h, &t, &s) : rouge_n(&h, &t, kind, &s);
        if (st == ASSAY_OK && (first || s.fmeasure > best->fmeasure)) {
            *best = s;
            *best_at = r;
            first = false;
        }
        free(t.ids);
    }
    for (size_t r = 0; ref_texts && r < n_refs; r++)
        assay__buf_release(&ref_texts[r]);
    free(ref_texts);
    free(h.ids);
    interner_release(&names);
    assay__buf_release(&text);
    return st;
}

/* ------------------------------------------------------------ reasons */

/* "have NAME >= 0.5 against 'ref'" */
static assay_status put_want(assay__check_finding *out,
                             const assay__check_input *in, const char *name)
{
    assay_status st = assay__buf_printf(out->want, "have %s >= ", name);
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->want, in->threshold, 3);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->want, " against ");
    if (st == ASSAY_OK)
        st = assay__checks_put_items(out->want, in, 4, 60);
    return st;
}

/* ------------------------------------------------------------ bleu */

static assay_status bleu_run(void *state, const assay__check_input *in,
                             assay__check_finding *out, assay_error *err)
{
    (void)state;
    assay__bleu_stats s;
    assay_status st = assay__bleu_sentence_stats(in->output, in->output_len,
                                                 in->items, in->n_items, &s);
    if (st != ASSAY_OK)
        return failed(st, err);
    double bp;
    double bleu = assay__bleu_score(&s, true, &bp);
    out->score = bleu / 100.0;
    st = put_want(out, in, "BLEU");
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, "BLEU ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, out->score, 4);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, " (n-gram matches ");
    for (int k = 0; k < 4 && st == ASSAY_OK; k++)
        st = assay__buf_printf(out->found, "%s%.0f/%.0f", k ? ", " : "",
                               s.correct[k], s.total[k]);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, "; brevity penalty ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, bp, 3);
    if (st == ASSAY_OK)
        st = assay__buf_printf(out->found, "; %.0f tokens, reference %.0f)",
                               s.sys_len, s.ref_len);
    return failed(st, err);
}

const assay__check_family assay__checks_bleu = {
    .name = "bleu",
    .value_is_template = true,
    .list = ASSAY__LIST_ITEMS,
    .scored = true,
    .default_threshold = 0.5,
    .run = bleu_run,
};

/* ------------------------------------------------------------ rouge */

static assay_status rouge_run(int kind, const char *name,
                              const assay__check_input *in,
                              assay__check_finding *out, assay_error *err)
{
    assay__rouge_score s;
    size_t at;
    assay_status st = assay__rouge(in->output, in->output_len, in->items,
                                   in->n_items, kind, &s, &at);
    if (st == ASSAY_ERR_LIMIT)
        return assay__error(err, st, NULL, 0, 0,
                            "the answer and reference are too long for "
                            "ROUGE-L (more than %.0f token pairs)",
                            LCS_MAX_CELLS);
    if (st != ASSAY_OK)
        return failed(st, err);
    out->score = s.fmeasure;
    st = put_want(out, in, name);
    if (st == ASSAY_OK)
        st = assay__buf_printf(out->found, "%s ", name);
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, s.fmeasure, 4);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, " (precision ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, s.precision, 3);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, ", recall ");
    if (st == ASSAY_OK)
        st = assay__checks_put_number(out->found, s.recall, 3);
    if (st == ASSAY_OK && in->n_items > 1) {
        st = assay__buf_puts(out->found, ", best against ");
        if (st == ASSAY_OK)
            st = assay__text_excerpt(out->found, in->items[at].s,
                                     in->items[at].len, 40);
    }
    if (st == ASSAY_OK)
        st = assay__buf_putc(out->found, ')');
    return failed(st, err);
}

static assay_status rouge_1_run(void *state, const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    (void)state;
    return rouge_run(1, "ROUGE-1", in, out, err);
}

static assay_status rouge_2_run(void *state, const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    (void)state;
    return rouge_run(2, "ROUGE-2", in, out, err);
}

static assay_status rouge_l_run(void *state, const assay__check_input *in,
                                assay__check_finding *out, assay_error *err)
{
    (void)state;
    return rouge_run('L', "ROUGE-L", in, out, err);
}

const assay__check_family assay__checks_rouge_1 = {
    .name = "rouge-1",
    .value_is_template = true,
    .list = ASSAY__LIST_ITEMS,
    .scored = true,
    .default_threshold = 0.75,
    .run = rouge_1_run,
};

const assay__check_family assay__checks_rouge_2 = {
    .name = "rouge-2",
    .value_is_template = true,
    .list = ASSAY__LIST_ITEMS,
    .scored = true,
    .default_threshold = 0.75,
    .run = rouge_2_run,
};

const assay__check_family assay__checks_rouge_l = {
    .name = "rouge-l",
    .value_is_template = true,
    .list = ASSAY__LIST_ITEMS,
    .scored = true,
    .default_threshold = 0.75,
    .run = rouge_l_run,
};

/* ------------------------------------------------------------ levenshtein */

typedef struct lev_state {
    long max;
} lev_state;

/* The code points of a text; malformed bytes count one each. */
static uint32_t *code_points(const char *s, size_t n, size_t *count)
{
    uint32_t *cp = malloc((n ? n : 1) * sizeof *cp);
    size_t m = 0;
    for (size_t i = 0, k; cp && i < n; i += k)
        cp[m++] = assay__checks_utf8_decode(s + i, n - i, &k);
    *count = m;
    return cp;
}

/*
 * The distance when it is at most `max`, else max + 1: Ukkonen's band,
 * only the cells with |i - j| <= max. SIZE_MAX when out of memory.
 */
size_t assay__levenshtein(const uint32_t *a, size_t n, const uint32_t *b,
                          size_t m, size_t max)
{
    if ((n > m ? n - m : m - n) > max)
        return max + 1;
    size_t width = 2 * max + 3; /* the band, plus one sentinel each side */
    size_t *prev = malloc(width * sizeof *prev);
    size_t *cur = malloc(width * sizeof *cur);
    size_t result = max + 1;
    if (!prev || !cur) {
        result = SIZE_MAX;
        goto done;
    }
    const size_t inf = max + 1;
    /* cell (i, j) lives at index j - i + max + 1 */
    for (size_t x = 0; x < width; x++)
        prev[x] = inf;
    for (size_t j = 0; j <= m && j <= max; j++)
        prev[j + max + 1] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t x = 0; x < width; x++)
            cur[x] = inf;
        size_t lo = i > max ? i - max : 0;
        size_t hi = i + max < m ? i + max : m;
        size_t row_min = inf;
        for (size_t j = lo; j <= hi; j++) {
            size_t x = j + max + 1 - i;
            size_t best;
            if (j == 0)
                best = i;
            else {
                best = prev[x] + (a[i - 1] != b[j - 1]); /* (i-1, j-1) */
                if (cur[x - 1] + 1 < best)               /* (i, j-1) */
                    best = cur[x - 1] + 1;
            }
            if (prev[x + 1] + 1 < best) /* (i-1, j) */
                best = prev[x + 1] + 1;
            cur[x] = best < inf ? best : inf;
            if (cur[x] < row_min)
                row_min = cur[x];
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
        if (row_min > max) /* every path already costs too much */
            goto done;
    }
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): |n - m| <= max, so the index is in 1..2max+1 of the band's 2max+3
    result = prev[m + max + 1 - n] <= max ? prev[m + max + 1 - n] : max + 1;
done:
    free(prev);
    free(cur);
    return result;
}

static assay_status lev_compile(const assay__check_spec *spec, void **state,
                                assay_error *err)
{
    long max = 5;
    const cJSON *node =
        spec->options ? cJSON_GetObjectItemCaseSensitive(spec->options, "max")
                      : NULL;
    if (node) {
        if (!cJSON_IsNumber(node) || node->valuedouble < 0 ||
            node->valuedouble > 100000 ||
            node->valuedouble != floor(node->valuedouble))
            return assay__doc_error(spec->doc, node, false, err,
                                    ASSAY_ERR_CHECK,
                                    "'max' must be a whole number of edits "
                                    "from 0 to 100000");
        max = (long)node->valuedouble;
    }
    lev_state *s = malloc(sizeof *s);
    if (!s)
        return failed(ASSAY_ERR_NOMEM, err);
    s->max = max;
    *state = s;
    return ASSAY_OK;
}

static void lev_free(void *state)
{
    free(state);
}

static assay_status lev_run(void *state, const assay__check_input *in,
                            assay__check_finding *out, assay_error *err)
{
    const lev_state *s = state;
    size_t n, m;
    if (in->output_len > LEVENSHTEIN_MAX_CHARS * 4 ||
        in->value_len > LEVENSHTEIN_MAX_CHARS * 4)
        return assay__error(err, ASSAY_ERR_LIMIT, NULL, 0, 0,
                            "levenshtein compares texts of at most %d "
                            "characters",
                            LEVENSHTEIN_MAX_CHARS);
    uint32_t *a = code_points(in->output, in->output_len, &n);
    uint32_t *b = code_points(in->value, in->value_len, &m);
    if (!a || !b) {
        free(a);
        free(b);
        return failed(ASSAY_ERR_NOMEM, err);
    }
    size_t d = assay__levenshtein(a, n, b, m, (size_t)s->max);
    free(a);
    free(b);
    if (d == SIZE_MAX)
        return failed(ASSAY_ERR_NOMEM, err);
    out->pass = d <= (size_t)s->max;
    out->score = out->pass ? 1.0 : 0.0;
    assay_status st =
        assay__buf_printf(out->want, "be within %ld edits of ", s->max);
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out->want, in->value, in->value_len,
                                 ASSAY__CHECK_EXCERPT);
    if (st == ASSAY_OK && out->pass)
        st = assay__buf_printf(out->found, "%zu edits", d);
    else if (st == ASSAY_OK)
        st = assay__buf_printf(out->found, "more than %ld edits", s->max);
    if (st == ASSAY_OK)
        st = assay__buf_puts(out->found, " in ");
    if (st == ASSAY_OK)
        st = assay__text_excerpt(out->found, in->output, in->output_len,
                                 ASSAY__CHECK_EXCERPT);
    return failed(st, err);
}

static const char *const lev_options[] = {"max", NULL};

const assay__check_family assay__checks_levenshtein = {
    .name = "levenshtein",
    .value_is_template = true,
    .options = lev_options,
    .compile = lev_compile,
    .run = lev_run,
    .free = lev_free,
};
