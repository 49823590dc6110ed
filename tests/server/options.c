/*
 * options.c - the fake server's command line: a table of options, each
 * with its parser, and the --help text.
 *
 * It only fills struct server_options; it opens no file and checks no
 * answer table (fake_server.c does both when it starts).
 */
#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void options_print_usage(FILE *to)
{
    fputs("usage: assay-fake-server [options]\n"
          "  --port N              listen on 127.0.0.1:N (default 0: a free port)\n"
          "  --answers FILE        answer table, JSON Lines (see tests/server/README.md):\n"
          "                        {\"match\": TEXT, \"reply\": TEXT, \"status\": N,\n"
          "                         \"finish_reason\": TEXT, \"delay_ms\": N,\n"
          "                         \"chunk_delay_ms\": N, \"fault\": NAME, \"fail_times\": N,\n"
          "                         \"retry_after\": N|DATE|\"+N\", \"retry_after_ms\": N}\n"
          "  --default-reply T     reply when nothing matches (default \"" DEFAULT_REPLY "\")\n"
          "  --delay-ms N          wait N ms before answering each API request\n"
          "  --log FILE            append each API request as a JSON line\n"
          "streams (\"stream\": true):\n"
          "  --stream-chunks N     split a reply into at most N chunks (default 0: a chunk\n"
          "                        per word)\n"
          "  --chunk-delay-ms N    wait N ms between events\n"
          "  --stream-shape S      openai (default: role chunk first, usage chunk only with\n"
          "                        stream_options.include_usage) or llama (no role chunk,\n"
          "                        usage on the finish_reason chunk, as llama-server)\n"
          "/v1/completions and /v1/embeddings:\n"
          "  --no-echo             answer \"echo\": true with 500 like llama-server\n"
          "  --list-shape S        a prompt list's answer: llama (default: an array of\n"
          "                        completions) or openai (one, a choice per prompt)\n"
          "  --embedding-dim N     embedding length (default 8)\n"
          "faults:\n"
          "  --faults SPEC         NAME=RATE,... fault modes drawn at random per request\n"
          "  --fail-rate R         the same as --faults 500=R\n"
          "  --seed S              seed for the random draws (default 1)\n"
          "  --retry-after S       retry-after seconds of a 429 (default 1)\n"
          "  --stall-ms N          how long 'stall' holds a request (default 30000)\n"
          "  --huge-bytes N        content size of 'huge' (default 20 MiB)\n"
          "  --ratelimit-rpm N     allow N requests per rolling minute, then 429\n"
          "  --ratelimit-tpm N     allow N tokens per rolling minute, then 429\n"
          "  --concurrency-report  at exit, print the most requests handled at once\n"
          "  -h, --help            show this help\n"
          "fault modes: ",
          to);
    fault_mode_list(to, ", ");
    fputs("\nPrints \"port N\" once listening; stops on SIGTERM or SIGINT.\n", to);
}

static bool parse_long(const char *text, long min, long max, long *out)
{
    if (!isdigit((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || value < min || value > max)
        return false;
    *out = value;
    return true;
}

static bool parse_seed(const char *text, uint64_t *out)
{
    if (!isdigit((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || *end)
        return false;
    *out = (uint64_t)value;
    return true;
}

static bool parse_probability(const char *text, double *out)
{
    if (!isdigit((unsigned char)text[0]) && text[0] != '.')
        return false;
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || *end || !(value >= 0.0 && value <= 1.0))
        return false;
    *out = value;
    return true;
}

/* --------------------------------------------------------- one setter per option */

typedef bool (*option_setter)(struct server_options *opt, const char *value);

static bool set_port(struct server_options *opt, const char *value)
{
    long number;
    if (!parse_long(value, 0, 65535, &number))
        return false;
    opt->port = (unsigned)number;
    return true;
}

static bool set_answers(struct server_options *opt, const char *value)
{
    opt->answers_path = value;
    return true;
}

static bool set_log(struct server_options *opt, const char *value)
{
    opt->log_path = value;
    return true;
}

static bool set_default_reply(struct server_options *opt, const char *value)
{
    opt->default_reply = value;
    return true;
}

static bool set_delay(struct server_options *opt, const char *value)
{
    return parse_long(value, 0, MAX_DELAY_MS, &opt->delay_ms);
}

static bool set_chunk_delay(struct server_options *opt, const char *value)
{
    return parse_long(value, 0, MAX_DELAY_MS, &opt->chunk_delay_ms);
}

static bool set_stream_chunks(struct server_options *opt, const char *value)
{
    return parse_long(value, 0, 1000000, &opt->stream_chunks);
}

static bool set_stream_shape(struct server_options *opt, const char *value)
{
    if (!strcmp(value, "openai"))
        opt->stream_shape = STREAM_SHAPE_OPENAI;
    else if (!strcmp(value, "llama"))
        opt->stream_shape = STREAM_SHAPE_LLAMA;
    else
        return false;
    return true;
}

static bool set_no_echo(struct server_options *opt, const char *value)
{
    (void)value;
    opt->no_echo = true;
    return true;
}

static bool set_list_shape(struct server_options *opt, const char *value)
{
    if (!strcmp(value, "openai"))
        opt->list_in_one = true;
    else if (!strcmp(value, "llama"))
        opt->list_in_one = false;
    else
        return false;
    return true;
}

static bool set_embedding_dim(struct server_options *opt, const char *value)
{
    return parse_long(value, 1, MAX_EMBEDDING_DIM, &opt->embedding_dim);
}

static bool set_faults(struct server_options *opt, const char *value)
{
    return fault_rates_parse(opt, value);
}

static bool set_fail_rate(struct server_options *opt, const char *value)
{
    double rate;
    return parse_probability(value, &rate) && fault_rates_set(opt, fault_mode_find("500"), rate);
}

static bool set_seed(struct server_options *opt, const char *value)
{
    return parse_seed(value, &opt->seed);
}

static bool set_retry_after(struct server_options *opt, const char *value)
{
    return parse_long(value, 0, 86400, &opt->retry_after_s);
}

static bool set_stall(struct server_options *opt, const char *value)
{
    return parse_long(value, 0, MAX_DELAY_MS, &opt->stall_ms);
}

static bool set_huge_bytes(struct server_options *opt, const char *value)
{
    return parse_long(value, 1, MAX_HUGE_BYTES, &opt->huge_bytes);
}

static bool set_rpm(struct server_options *opt, const char *value)
{
    return parse_long(value, 1, MAX_RATELIMIT, &opt->ratelimit_rpm);
}

static bool set_tpm(struct server_options *opt, const char *value)
{
    return parse_long(value, 1, MAX_RATELIMIT, &opt->ratelimit_tpm);
}

static bool set_concurrency_report(struct server_options *opt, const char *value)
{
    (void)value;
    opt->concurrency_report = true;
    return true;
}

struct option_spec {
    const char *name;
    bool takes_value;
    option_setter set;
};

static const struct option_spec option_specs[] = {
    {"--port", true, set_port},
    {"--answers", true, set_answers},
    {"--log", true, set_log},
    {"--default-reply", true, set_default_reply},
    {"--delay-ms", true, set_delay},
    {"--chunk-delay-ms", true, set_chunk_delay},
    {"--stream-chunks", true, set_stream_chunks},
    {"--stream-shape", true, set_stream_shape},
    {"--no-echo", false, set_no_echo},
    {"--list-shape", true, set_list_shape},
    {"--embedding-dim", true, set_embedding_dim},
    {"--faults", true, set_faults},
    {"--fail-rate", true, set_fail_rate},
    {"--seed", true, set_seed},
    {"--retry-after", true, set_retry_after},
    {"--stall-ms", true, set_stall},
    {"--huge-bytes", true, set_huge_bytes},
    {"--ratelimit-rpm", true, set_rpm},
    {"--ratelimit-tpm", true, set_tpm},
    {"--concurrency-report", false, set_concurrency_report},
};

/* The option `arg` names (before any '='), or NULL if there is none such. */
static const struct option_spec *known_option(const char *arg)
{
    size_t len = strcspn(arg, "=");
    for (size_t i = 0; i < sizeof option_specs / sizeof option_specs[0]; i++)
        if (strlen(option_specs[i].name) == len && !strncmp(arg, option_specs[i].name, len))
            return &option_specs[i];
    return NULL;
}

/*
 * Accepts "--name value" and "--name=value" (flags take none); the last of
 * a repeated option wins. --faults and --fail-rate each set the rates of
 * the modes they name and leave the others' as they are.
 */
enum options_result options_parse(int argc, char **argv, struct server_options *opt)
{
    *opt = (struct server_options){
        .default_reply = DEFAULT_REPLY,
        .seed = 1,
        .embedding_dim = 8,
        .retry_after_s = 1,
        .stall_ms = 30000,
        .huge_bytes = 20L << 20,
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
            return OPTIONS_HELP;
        const struct option_spec *spec = known_option(arg);
        if (!spec) {
            fprintf(stderr, "assay-fake-server: unknown option '%s'\n", arg);
            return OPTIONS_BAD;
        }
        const char *equals = strchr(arg, '=');
        const char *value = NULL;
        if (!spec->takes_value && equals) {
            fprintf(stderr, "assay-fake-server: %s takes no value\n", spec->name);
            return OPTIONS_BAD;
        }
        if (spec->takes_value) {
            value = equals ? equals + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value) {
                fprintf(stderr, "assay-fake-server: %s needs a value\n", spec->name);
                return OPTIONS_BAD;
            }
        }
        if (!spec->set(opt, value)) {
            fprintf(stderr, "assay-fake-server: bad value '%s' for %s\n", value, spec->name);
            return OPTIONS_BAD;
        }
    }
    return OPTIONS_RUN;
}
