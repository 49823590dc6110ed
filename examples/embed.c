/*
 * embed.c - evaluating your own function from C, with no model and no
 * server: a tiny rule-based topic classifier is the "application", and
 * libassay puts the 100 sentences of datasets/classification.jsonl to it.
 *
 * The program builds its suite in code: a callback target (the
 * classifier, called on worker threads with each rendered prompt), the
 * prompt of examples/classification.yaml, the dataset, a `choice` check
 * that reads the option letter from the answer, a callback check of its
 * own (the answer is one letter and nothing else) and a pass-rate gate.
 * It prints the summary and exits with the gate's verdict, as `assay run`
 * would.
 *
 *   embed [DATASET.jsonl [RECORD.jsonl]]
 *
 * DATASET defaults to datasets/classification.jsonl (run it from the
 * source tree); with RECORD, the run record is written there, for
 * `assay report` and `assay compare`.
 *
 * Exit codes, those of the assay command: 0 the gate passed, 1 it failed,
 * 2 a bad dataset or arguments, 3 the run could not be completed.
 */
#include <assay.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

enum { EXIT_PASSED = 0, EXIT_FAILED = 1, EXIT_BAD_INPUT = 2, EXIT_INCOMPLETE = 3 };

/* ------------------------------------------------------------ the application */

/*
 * The classifier: counts the words of each topic's list that start a word
 * of the sentence. The lists were written for these four topics; a real
 * application would be a model, a retrieval pipeline or an agent step.
 */
typedef struct topic {
    const char *name;
    const char *const *stems;
} topic;

static const char *const science[] = {
    "scien", "research", "lab", "experiment", "study", "telescope",
    "astronom", "physic", "chemi", "biolog", "geolog", "fossil", "dinosaur",
    "species", "microscope", "protein", "enzyme", "bacteria", "genome",
    "cells", "robot", "engineer", "quantum", "qubit", "satellite", "probe",
    "rover", "crater", "comet", "planet", "moon", "lunar", "sun", "neutron",
    "particle", "magnet", "battery", "energy", "carbon", "ice core",
    "coral", "volcano", "seismic", "bees", "turtle", "neural", "ocean", NULL};
static const char *const sports[] = {
    "team", "match", "goal", "penalt", "derby", "boxer", "champion",
    "serve", "cricket", "marathon", "club", "coach", "cyclist", "jersey",
    "golf", "gymnast", "gold", "hockey", "overtime", "inning", "league",
    "season", "quarterback", "touchdown", "referee", "red card", "relay",
    "baton", "rookie", "points", "rugby", "clean sheet", "ski", "race",
    "sprinter", "striker", "scored", "cup final", "swimmer", "metres",
    "tennis", "kick", NULL};
static const char *const business[] = {
    "pric", "shares", "investor", "bank", "econom", "inflation",
    "spending", "market", "bond", "stock", "trad", "profit", "revenue",
    "sales", "company", "firm", "chief executive", "startup", "funding",
    "dollar", "currency", "jobs", "unemployment", "factory", "carmaker",
    "retailer", "forecast", "brand", "chain", "shops", "brewery", "equity",
    "insurer", "reserves", "regulator", "fined", "freight", "subscription",
    "supermarket", "orders", "airline", "merge", "deal", "billion",
    "million", "oil", "housing", "rates", NULL};
static const char *const arts[] = {
    "manuscript", "composer", "composed", "novel", "literary", "actor",
    "award", "animated", "film", "art", "author", "memoir", "book",
    "ballet", "perform", "band", "album", "tour", "choir", "sang", "dance",
    "troupe", "director", "premiere", "festival", "soundtrack", "gallery",
    "portrait", "jazz", "museum", "exhibition", "painting", "painted",
    "opera", "orchestra", "symphony", "photograph", "playwright", "comedy",
    "stage", "poet", "sculptor", "statue", "singer", "ballad", "charts",
    "mural", "theatre", "musical", "television", "series", NULL};

static const topic topics[] = {
    {"Science", science}, {"Sports", sports},
    {"Business", business}, {"Arts", arts}};
#define N_TOPICS (sizeof topics / sizeof topics[0])

/* True when `stem` starts a word of `text` (both lowercase). */
static bool starts_a_word(const char *text, const char *stem)
{
    size_t n = strlen(stem);
    for (const char *p = strstr(text, stem); p; p = strstr(p + 1, stem))
        if ((p == text || !isalpha((unsigned char)p[-1])) &&
            strncmp(p, stem, n) == 0)
            return true;
    return false;
}

static int topic_score(const char *sentence, const topic *t)
{
    int score = 0;
    for (const char *const *s = t->stems; *s; s++)
        score += starts_a_word(sentence, *s);
    return score;
}

/*
 * Reads the prompt as a model would: the sentence is what the question
 * quotes, the options are the lines "A) Science". Answers with the letter
 * of the option whose topic matches the most words.
 */
static void classify(const assay_request *req, assay_response *resp,
                     void *user_data)
{
    (void)user_data;
    size_t last = assay_request_message_count(req) - 1;
    const char *prompt = assay_request_message_content(req, last);
    const char *open = prompt ? strchr(prompt, '"') : NULL;
    const char *close = open ? strchr(open + 1, '"') : NULL;
    if (!close) {
        assay_response_set_error(resp, "the prompt quotes no sentence");
        return;
    }
    char sentence[512];
    size_t n = (size_t)(close - open - 1);
    if (n >= sizeof sentence)
        n = sizeof sentence - 1;
    for (size_t i = 0; i < n; i++)
        sentence[i] = (char)tolower((unsigned char)open[1 + i]);
    sentence[n] = '\0';

    char best = '?';
    int best_score = 0;
    for (const char *line = close; (line = strchr(line, '\n')) != NULL;) {
        line++;
        if (!isupper((unsigned char)line[0]) || line[1] != ')')
            continue;
        for (size_t t = 0; t < N_TOPICS; t++) {
            size_t len = strlen(topics[t].name);
            if (strncmp(line + 3, topics[t].name, len) != 0)
                continue;
            int score = topic_score(sentence, &topics[t]);
            if (score > best_score) {
                best_score = score;
                best = line[0];
            }
        }
    }
    char answer[2] = {best, '\0'};
    assay_response_set_text(resp, answer);
    /* A model would report tokens; words stand in for them here. */
    assay_response_set_usage(resp, (long)(strlen(prompt) / 4), 1);
}

/* ------------------------------------------------------------ a check of our own */

/* The answer is one capital letter: nothing for a parser to guess at. */
static void one_letter(const char *answer, size_t len, const assay_case *kase,
                       assay_check_verdict *verdict, void *user_data)
{
    (void)kase;
    (void)user_data;
    bool ok = len == 1 && answer[0] >= 'A' && answer[0] <= 'Z';
    assay_check_verdict_set(verdict, ok, ok ? 1.0 : 0.0);
    assay_check_verdict_set_reason(verdict, ok ? "one letter"
                                               : "not a single letter");
}

/* ------------------------------------------------------------ the evaluation */

static assay_suite *build_suite(const char *dataset, assay_error *err)
{
    static const char *const roles[] = {"system", "user"};
    static const char *const contents[] = {
        "Answer with the letter of the correct option only.",
        "{{question}}\n"
        "{{#each choices}}\n"
        "{{#if @index == 0}}A{{else if @index == 1}}B{{else if @index == "
        "2}}C{{else}}D{{/if}}) {{.}}\n"
        "{{/each}}\n"};
    assay_suite *suite = NULL;
    assay_status st = assay_suite_new("embedded-classifier", &suite, err);
    if (st == ASSAY_OK)
        st = assay_suite_add_target_callback(suite, "rules", classify, NULL,
                                             err);
    if (st == ASSAY_OK)
        st = assay_suite_add_prompt_messages(suite, NULL, roles, contents, 2,
                                             err);
    if (st == ASSAY_OK)
        st = assay_suite_set_dataset(suite, dataset, err);
    if (st == ASSAY_OK)
        st = assay_suite_add_check_text(suite,
                                        "type: choice\n"
                                        "value: '{{answer}}'\n"
                                        "choices: '{{choices}}'\n"
                                        "metric: accuracy\n",
                                        err);
    if (st == ASSAY_OK)
        st = assay_suite_add_check_callback(suite, "one-letter", one_letter,
                                            NULL, err);
    if (st == ASSAY_OK)
        st = assay_suite_set_gate(suite, "pass_rate.min", 0.9, err);
    if (st != ASSAY_OK) {
        assay_suite_free(suite);
        return NULL;
    }
    return suite;
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: embed [DATASET.jsonl [RECORD.jsonl]]\n");
        return EXIT_BAD_INPUT;
    }
    const char *dataset = argc > 1 ? argv[1] : "datasets/classification.jsonl";
    const char *record = argc > 2 ? argv[2] : NULL;
    if (assay_global_init() != ASSAY_OK) {
        fprintf(stderr, "embed: cannot initialise libcurl\n");
        return EXIT_INCOMPLETE;
    }
    int code = EXIT_INCOMPLETE;
    assay_error err;
    assay_error_clear(&err);
    assay_run *run = NULL;
    assay_suite *suite = build_suite(dataset, &err);
    assay_status st = suite ? assay_run_new(suite, &run, &err) : err.status;
    if (st == ASSAY_OK)
        st = assay_run_set_workers(run, 4);
    if (st == ASSAY_OK && record)
        st = assay_run_set_record_path(run, record);
    if (st == ASSAY_OK)
        st = assay_run_execute(run, &err);
    const assay_summary *summary = run ? assay_run_summary(run) : NULL;
    if (st == ASSAY_OK)
        st = assay_summary_write(summary, ASSAY_FORMAT_TEXT, stdout, &err);
    if (st == ASSAY_OK)
        code = assay_summary_passed(summary) ? EXIT_PASSED : EXIT_FAILED;
    else if (st == ASSAY_ERR_DATASET || st == ASSAY_ERR_IO ||
             st == ASSAY_ERR_SUITE || st == ASSAY_ERR_CHECK)
        code = EXIT_BAD_INPUT;
    if (st != ASSAY_OK)
        fprintf(stderr, "embed: %s\n", err.message);
    assay_run_free(run);
    assay_suite_free(suite);
    assay_global_cleanup();
    return code;
}
