/*
 * checks.h - the interface between check.c and the check families in
 * lib/checks/. Private to those files.
 *
 * A family is a const table of function pointers. check.c does everything
 * the families share: it reads the suite's spec (short and long form), finds
 * the family by name, handles the `not-` prefix, compiles and renders the
 * value template, and writes the reason. A family only compiles its own
 * state and judges one output. To add a family, write its table in a file
 * here, declare it below and list it in check.c's registry.
 */
#ifndef ASSAY_CHECKS_H
#define ASSAY_CHECKS_H

#include "internal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Bytes of the output or of a value quoted in a reason. */
#define ASSAY__CHECK_EXCERPT 80

/* What a family's compile() gets: the spec as written in the suite. */
typedef struct assay__check_spec {
    const assay__doc *doc; /* for errors at a node (assay__doc_error) */
    const char *type;      /* the family's name, without `not-` */
    const cJSON *value;    /* the value node */
    /*
     * The long form's object, to read the family's extra keys (`flags`);
     * NULL for the short form. Keys not listed in the family's `options`
     * have already been refused.
     */
    const cJSON *options;
    /*
     * For a family whose value is a template: its text when the template has
     * no variable (then run() always gets this same value), else NULL.
     */
    const char *constant;
    size_t constant_len;
} assay__check_spec;

/* A piece of text: one item of a list-valued check, one option of a case. */
typedef struct assay__text_ref {
    const char *s; /* NUL-terminated */
    size_t len;
} assay__text_ref;

/* What a family's run() judges. A struct, so that it can grow. */
typedef struct assay__check_input {
    const char *output; /* the answer, never NULL; maybe not NUL-terminated */
    size_t output_len;
    const char *value; /* the rendered value, NUL-terminated */
    size_t value_len;
    /*
     * A family with `list` set gets its value as items (the value, when it
     * is one text, is then the first item or ""). Others get their value as
     * the one item.
     */
    const assay__text_ref *items;
    size_t n_items;
    /* The threshold a scored family's score is held to (for the reason). */
    double threshold;
    /* The case, for families that render templates of their own options. */
    const cJSON *vars;
    const char *case_id;
    /* What the endpoint said; NULL when the check runs on bare text. */
    const assay__response *response;
    double latency_ms; /* NaN when unknown */
    double ttft_ms;    /* NaN when unknown */
    /* The target's `tools` (params.tools), or NULL. */
    const cJSON *tools;
    bool cached; /* the reply came from the cache: timings are old */
    /* For a model-graded family's run(): what the grader answered. */
    const char *grader_reply;
    size_t grader_reply_len;
} assay__check_input;

/*
 * What run() fills in. check.c turns it into the reason
 * "expected [not ]to <want>; found <found>", so both are phrases:
 * want "contain 'Paris'", found "'The capital is Lyon.'".
 */
typedef struct assay__check_finding {
    bool pass;
    double score; /* in [0, 1]; 1 or 0 for the families so far */
    assay__buf *want;
    assay__buf *found;
} assay__check_finding;

/* Whether a family takes a value. */
typedef enum assay__check_value_use {
    ASSAY__VALUE_REQUIRED = 0,
    ASSAY__VALUE_OPTIONAL, /* the long form may leave it out */
    ASSAY__VALUE_NONE      /* `- is-xml`, {is-xml: true}, {type: is-xml} */
} assay__check_value_use;

/* Whether a template family's value is a list of texts. */
typedef enum assay__check_list_kind {
    ASSAY__LIST_NONE = 0,
    /* A list of templates, or one template; one that renders to a JSON
     * array (of strings, or of two or more numbers) gives its elements. */
    ASSAY__LIST_ITEMS,
    /* The same, and one text that is no array is split at commas, trimmed
     * (promptfoo's convention for contains-any and friends). */
    ASSAY__LIST_COMMAS
} assay__check_list_kind;

/* A comparative check's finding on one of the answers it compares. */
typedef struct assay__compare_finding {
    bool pass;
    double score;
    assay__buf *found; /* the "found" phrase of its reason */
} assay__compare_finding;

typedef struct assay__check_family {
    const char *name;
    /* True: the value is a string compiled as a template and rendered per
     * case. False: compile() gets the value node to read as it likes. */
    bool value_is_template;
    assay__check_value_use value_use;
    assay__check_list_kind list; /* only with value_is_template */
    /* With value_is_template: a number or boolean value is taken as its
     * text (`numeric: 42`) instead of being refused. */
    bool value_scalar;
    /*
     * A scored family grades with a score in [0, 1] and check.c passes it
     * when score >= threshold (the check's `threshold`, else this
     * default); run() then sets only the score. Other families pass or fail
     * on their own and refuse a `threshold`.
     */
    bool scored;
    double default_threshold;
    /*
     * A family that is not scored but takes an optional `threshold`
     * (assert-set): without one, run()'s pass stands; with one, check.c
     * passes it when score >= threshold. in->threshold is NaN when none
     * is given.
     */
    bool threshold_optional;
    /* Long-form keys besides `type` and `value`; NULL-terminated or NULL. */
    const char *const *options;
    /*
     * Builds the family's state (*state may stay NULL). Errors point at a
     * node of the spec. Called once, when the suite is loaded. NULL for a
     * family that keeps no state; `free` may then be NULL too.
     */
    assay_status (*compile)(const assay__check_spec *spec, void **state,
                            assay_error *err);
    /*
     * Judges one output. An error means the check could not run (a regex
     * too costly for its limits); a wrong answer is a finding with pass
     * false. Messages need no position: check.c adds the check's place and
     * the case. May run on one state from several threads at once.
     */
    assay_status (*run)(void *state, const assay__check_input *in,
                        assay__check_finding *out, assay_error *err);
    void (*free)(void *state); /* accepts NULL */
    /*
     * Model-graded families only (NULL for the others): the grader's
     * messages for one answer. run() then gets the grader's reply in
     * in->grader_reply and judges it.
     */
    assay_status (*ask)(void *state, const assay__check_input *in,
                        assay__buf *system, assay__buf *user,
                        assay_error *err);
    /* With `ask`: the two texts ask() gives are embedded by the suite's
       embedder instead of being sent to the grader, and run() gets the
       /embeddings reply. */
    bool embeds;
    /*
     * Comparative families only (NULL for the others): the check judges
     * the answers of every target to one case together. compare() gives
     * each answer a finding (out[i] for answers->n[i]); `want` is the one
     * "expected to" phrase they share. in->value is the rendered value and
     * in->grader_reply the grader's reply when compare_ask is set: the one
     * question, listing every answer, that the grader is asked first. The
     * run never calls run() on a comparative check.
     */
    assay_status (*compare)(void *state, const assay__check_input *in,
                            const assay__compare_input *answers,
                            assay__buf *want,
                            assay__compare_finding *out,
                            assay_error *err);
    assay_status (*compare_ask)(void *state, const assay__check_input *in,
                                const assay__compare_input *answers,
                                assay__buf *system, assay__buf *user,
                                assay_error *err);
    /*
     * Log-likelihood families only (NULL for the others): the
     * continuations whose log-likelihoods the case's request asks for
     * (assay__check_continuations); run() then reads them from the
     * reply's choices.
     */
    assay_status (*continuations)(void *state, const cJSON *vars,
                                  const char *case_id, assay__buf *out,
                                  size_t *n, assay_error *err);
} assay__check_family;

/*
 * A list of templates compiled from a suite, rendered per case: a check's
 * list value, or a family's own list option (choice's `choices`). Written
 * as a YAML list of strings (numbers taken as their text) or as one
 * string; see assay__check_list_kind for how one string becomes items.
 */
typedef struct assay__check_list assay__check_list;

/* The rendered items of one case, in scratch space the caller owns. */
typedef struct assay__check_items {
    assay__buf text;       /* the items, each followed by a NUL */
    size_t *offsets;       /* where each item starts in text */
    assay__text_ref *refs; /* into text, valid until the next render */
    size_t n;
    size_t cap;
} assay__check_items;

/* At most this many items in a list, written or rendered. */
#define ASSAY__CHECK_MAX_ITEMS 4096

/* `what` names the list in errors ("check 'contains-any'"). */
assay_status assay__check_list_compile(const assay__doc *doc, const cJSON *node,
                                       assay__check_list_kind kind,
                                       const char *what,
                                       assay__check_list **out,
                                       assay_error *err);
void assay__check_list_free(assay__check_list *l);
void assay__check_items_init(assay__check_items *it);
void assay__check_items_release(assay__check_items *it);
/*
 * The items for the case `vars`: the list's own when it has no variable
 * (rendered once, at compile), else rendered into `scratch`. *refs stays
 * valid until the list is freed or scratch is rendered into again.
 */
assay_status assay__check_list_render(const assay__check_list *l,
                                      const cJSON *vars, const char *case_id,
                                      assay__check_items *scratch,
                                      const assay__text_ref **refs, size_t *n,
                                      assay_error *err);

/*
 * A check of `family` made in code rather than read from a suite (a
 * callback check): `state` is taken (freed with family->free, also on
 * failure); `options` (may be NULL, a node of `doc`) gives weight, metric
 * and threshold as the long form does. `type` names it in the record.
 */
assay_status assay__check_new(const assay__check_family *family,
                              const char *type, void *state,
                              const assay__doc *doc, const cJSON *options,
                              assay__check **out, assay_error *err);

/* checks/text.c */
extern const assay__check_family assay__checks_equals;
extern const assay__check_family assay__checks_contains;
extern const assay__check_family assay__checks_icontains;
extern const assay__check_family assay__checks_starts_with;
extern const assay__check_family assay__checks_ends_with;

/*
 * The length of the well-formed UTF-8 character at `s` (`n` bytes
 * available), or 0 when the bytes there are not one.
 */
size_t assay__checks_utf8_char(const char *s, size_t n);

/* checks/regex.c */
extern const assay__check_family assay__checks_regex;

/*
 * checks/regex.c also holds the PCRE2 matcher the families share: a
 * pattern compiled once when it is constant, else compiled per distinct
 * rendered pattern and kept in a small cache. Patterns and subjects are
 * UTF-8; invalid UTF-8 in a subject cannot match but is no error. Matching
 * runs under match, depth and heap limits, and hitting one is
 * ASSAY_ERR_LIMIT, so that a hostile pattern or output cannot hang a run.
 */
typedef struct assay__matcher assay__matcher;

/*
 * `options` are pcre2_compile options; PCRE2_UTF and
 * PCRE2_MATCH_INVALID_UTF are always added. With a `constant` pattern, it
 * is compiled now and a compile error is ASSAY_ERR_CHECK with PCRE2's
 * message and the offset ("missing closing parenthesis at offset 3").
 */
assay_status assay__matcher_new(uint32_t options, const char *constant,
                                size_t constant_len, assay__matcher **out,
                                assay_error *err);
void assay__matcher_free(assay__matcher *m);
/*
 * Searches `subject` for `pattern` (ignored when the matcher was given a
 * constant). On a match *matched is true and [*start, *end) is the match.
 */
assay_status assay__matcher_find(assay__matcher *m, const char *pattern,
                                 size_t pattern_len, const char *subject,
                                 size_t subject_len, bool *matched,
                                 size_t *start, size_t *end, assay_error *err);

/* checks/text.c: text helpers the families share */

/*
 * The code point at `s` (`n` bytes available) and its length in *len;
 * U+FFFD with *len 1 for a byte that starts no well-formed character.
 */
uint32_t assay__checks_utf8_decode(const char *s, size_t n, size_t *len);
/*
 * Appends `v` with at most `digits` decimals, trailing zeros dropped
 * (0.5, 12, 0.667), the same in every locale. For reasons, not for data.
 */
assay_status assay__checks_put_number(assay__buf *out, double v, int digits);
/* A family's value items for a reason: "'a'" or "one of 'a', 'b'", at most
   `max_items` of them, each excerpted to `bytes`. */
assay_status assay__checks_put_items(assay__buf *out,
                                     const assay__check_input *in,
                                     size_t max_items, size_t bytes);
/* Whitespace as Python's str.isspace() and str.split() know it. */
bool assay__checks_is_space(uint32_t c);
/* Appends `s` with runs of whitespace made single spaces and the ends
   trimmed: Python's ' '.join(s.split()). */
assay_status assay__checks_collapse_space(const char *s, size_t n,
                                          assay__buf *out);
/*
 * Finds `needle` in `hay` in linear time (ASCII letters folded when asked).
 * Sets *at to the offset of the first match, or to (size_t)-1.
 */
assay_status assay__checks_find(const char *hay, size_t n, const char *needle,
                                size_t m, bool ascii_fold, size_t *at);
/*
 * Finds `needle` in `hay` ignoring case, as icontains does: an ASCII fold
 * when both are ASCII (or the needle is not UTF-8), else PCRE2's caseless
 * matching through `m` (a PCRE2_LITERAL | PCRE2_CASELESS matcher). Sets
 * [*at, *end) to the match, *at to (size_t)-1 when there is none.
 */
assay_status assay__checks_ifind(assay__matcher *m, const char *hay, size_t n,
                                 const char *needle, size_t len, size_t *at,
                                 size_t *end, assay_error *err);

/* checks/unicode.c */

/* The lowercase of `c` by Python's str.lower() (single characters only). */
uint32_t assay__checks_lower(uint32_t c);
/* Writes `c` as UTF-8 into out (4 bytes of room); returns the length. */
size_t assay__checks_utf8_encode(uint32_t c, char *out);
/*
 * Lowercases the character at s[at] as Python's str.lower() would in its
 * context (İ becomes two characters, a final Σ becomes ς): writes it into
 * out (8 bytes of room), returns the bytes written and sets *len to the
 * bytes read. A malformed byte is copied as it is.
 */
size_t assay__checks_lower_utf8(const char *s, size_t n, size_t at, size_t *len,
                                char *out);

/* checks/textsets.c */
extern const assay__check_family assay__checks_contains_all;
extern const assay__check_family assay__checks_contains_any;
extern const assay__check_family assay__checks_icontains_all;
extern const assay__check_family assay__checks_icontains_any;
extern const assay__check_family assay__checks_word_count;
extern const assay__check_family assay__checks_length;
extern const assay__check_family assay__checks_is_refusal;

/* checks/markup.c */
extern const assay__check_family assay__checks_is_xml;
extern const assay__check_family assay__checks_contains_xml;
extern const assay__check_family assay__checks_is_html;
extern const assay__check_family assay__checks_contains_html;

/* checks/squad.c */
extern const assay__check_family assay__checks_exact_match;
extern const assay__check_family assay__checks_f1;
/* SQuAD's normalize_answer() of `s`, appended to out. */
assay_status assay__squad_normalize(const char *s, size_t n, assay__buf *out,
                                    assay_error *err);

/* checks/numeric.c */
extern const assay__check_family assay__checks_numeric;
/* The number `numeric` reads from a text; false when there is none. */
bool assay__numeric_final(const char *s, size_t n, double *value,
                          bool *percent);

/* checks/choice.c */
extern const assay__check_family assay__checks_choice;

/* checks/similarity.c */
extern const assay__check_family assay__checks_levenshtein;
extern const assay__check_family assay__checks_bleu;
extern const assay__check_family assay__checks_rouge_1;
extern const assay__check_family assay__checks_rouge_2;
extern const assay__check_family assay__checks_rouge_l;

/*
 * BLEU's sufficient statistics, as sacreBLEU keeps them: clipped n-gram
 * matches and hypothesis n-grams for n = 1..4, and the lengths. Summed
 * over answers they give corpus BLEU.
 */
typedef struct assay__bleu_stats {
    double correct[4];
    double total[4];
    double sys_len;
    double ref_len;
} assay__bleu_stats;

/* sacreBLEU's 13a tokenisation of one text: tokens joined by spaces. */
assay_status assay__bleu_tokenize(const char *s, size_t n, assay__buf *out);
assay_status assay__bleu_sentence_stats(const char *hyp, size_t n,
                                        const assay__text_ref *refs,
                                        size_t n_refs, assay__bleu_stats *out);
void assay__bleu_add(assay__bleu_stats *sum, const assay__bleu_stats *s);
/*
 * BLEU in 0..100 with exponential smoothing; effective_order as sacreBLEU's
 * sentence_bleu (true) or corpus_bleu (false). *bp (may be NULL) gets the
 * brevity penalty.
 */
double assay__bleu_score(const assay__bleu_stats *s, bool effective_order,
                         double *bp);

typedef struct assay__rouge_score {
    double precision;
    double recall;
    double fmeasure;
} assay__rouge_score;

/* rouge-score's default tokens of one text, joined by spaces. */
assay_status assay__rouge_tokenize(const char *s, size_t n, assay__buf *out);
/*
 * ROUGE-`kind` (1 or 2 for n-grams, 'L' for the longest common
 * subsequence) of `hyp` against the best of `refs` by F-measure.
 */
assay_status assay__rouge(const char *hyp, size_t n,
                          const assay__text_ref *refs, size_t n_refs, int kind,
                          assay__rouge_score *best, size_t *best_at);
/*
 * The edit distance of two code point strings if <= max, else max + 1;
 * SIZE_MAX when out of memory.
 */
size_t assay__levenshtein(const uint32_t *a, size_t n, const uint32_t *b,
                          size_t m, size_t max);

/* checks/operational.c */
extern const assay__check_family assay__checks_latency;
extern const assay__check_family assay__checks_ttft;
extern const assay__check_family assay__checks_cost;
extern const assay__check_family assay__checks_prompt_tokens;
extern const assay__check_family assay__checks_completion_tokens;
extern const assay__check_family assay__checks_total_tokens;
extern const assay__check_family assay__checks_finish_reason;
/* The built-in price of a model, US dollars per million tokens. */
bool assay__price_of(const char *model, double *input, double *output);

/* checks/json.c */
extern const assay__check_family assay__checks_is_json;
extern const assay__check_family assay__checks_contains_json;
extern const assay__check_family assay__checks_json_path;
extern const assay__check_family assay__checks_json_schema;

/* checks/tools.c */
extern const assay__check_family assay__checks_is_valid_openai_tools_call;
extern const assay__check_family assay__checks_tool_call;
extern const assay__check_family assay__checks_tool_call_f1;

/* checks/perplexity.c */
extern const assay__check_family assay__checks_perplexity;
extern const assay__check_family assay__checks_perplexity_score;

/* checks/group.c */
extern const assay__check_family assay__checks_assert_set;

/* checks/graded.c: model-graded families */
extern const assay__check_family assay__checks_llm_rubric;
extern const assay__check_family assay__checks_closedqa;
extern const assay__check_family assay__checks_factuality;
extern const assay__check_family assay__checks_g_eval;
extern const assay__check_family assay__checks_answer_relevance;
extern const assay__check_family assay__checks_context_faithfulness;
extern const assay__check_family assay__checks_context_recall;
extern const assay__check_family assay__checks_context_relevance;
/* The first JSON object in `text`: bare, in prose or in a code fence. */
cJSON *assay__checks_first_object(const char *text, size_t len);

/* checks/comparative.c */
extern const assay__check_family assay__checks_select_best;
extern const assay__check_family assay__checks_max_score;
/*
 * The index of the highest of `scores` (the first of equal ones, as
 * promptfoo breaks ties), or (size_t)-1 when there is none or the highest
 * is below `threshold` (NaN: no threshold).
 */
size_t assay__max_score_pick(const double *scores, size_t n,
                             double threshold);
/*
 * max-score's score of one answer from its other checks' outcomes: the
 * weighted mean (`sum` false) or weighted sum. A check's weight is
 * weights[its type] when `weights` (a JSON object) names it, else its own.
 */
double assay__max_score_of(const struct assay__check_outcome *outcomes,
                           size_t n, const cJSON *weights, bool sum);
/*
 * The answer the grader chose for select-best: `best` (or `index`) of the
 * first JSON object of the reply, else the reply itself when it is only a
 * whole number. False when the reply names none.
 */
bool assay__select_best_read(const char *reply, size_t len, long *index);
/* checks/choice_logprob.c */
extern const assay__check_family assay__checks_choice_logprob;
/* checks/loglik.c */
extern const assay__check_family assay__checks_loglik_choice;
extern const assay__check_family assay__checks_loglik_choice_norm;
/*
 * The log-likelihood of a continuation, from one choice of an echoed
 * /completions reply: `text` is the choice's text (the prompt, then what
 * was generated), whose first `prompt_len` bytes are the prompt and the
 * first `context_len` of those the context; `logprobs` is the choice's
 * `logprobs` as it came: legacy arrays (tokens, token_logprobs and maybe
 * text_offset) or the chat shape ({content: [{token, logprob}]}). Sums
 * the logprobs of the tokens holding any byte of the continuation; *n
 * says how many there were. An error says why it cannot.
 */
assay_status assay__loglik_sum(const char *text, size_t text_len,
                               size_t prompt_len, size_t context_len,
                               const cJSON *logprobs, double *sum, size_t *n,
                               assay_error *err);
/* checks/exec.c */
extern const assay__check_family assay__checks_exec;
/* checks/similar.c */
extern const assay__check_family assay__checks_similar;

#endif /* ASSAY_CHECKS_H */
