#!/usr/bin/env bash
# What the engine does with a server's faults: what is retried and how
# often, that retry-after is honoured, what is never retried, that every
# case still ends as exactly one result or error line; and streaming, with
# its time to first token.
. "$(dirname "$0")/lib.sh"

start_server --answers "$CASES/faults.jsonl" --log "$SCRATCH/requests.jsonl" \
    --stream-chunks 4 --chunk-delay-ms 30
OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/faults.yaml" -j 4 \
    --max-attempts 3 -o "$SCRATCH/run.jsonl"
RECORD=$SCRATCH/run.jsonl

# The fail_times counters are per prompt, shared by both targets: each
# target's first request may meet the fault. Look at one target at a time
# through the attempts each case took, and at the totals.
for target in plain streamed; do
    expect_eq "$target: one line per case" 9 \
        "$(jq_of "$RECORD" "[.[] | select(.type == \"result\" and .target == \"$target\")] | length")"
done
expect_eq "no case twice" 18 \
    "$(jq_of "$RECORD" '[.[] | select(.type == "result") | [.target, .case]] | unique | length')"

verdict() {
    jq_of "$RECORD" "[.[] | select(.type == \"result\" and .case == \"$1\")] | map(if .error then .error.kind + \"/\" + (.error.status | tostring) else (.pass | tostring) end) | unique"
}
expect_eq "503 twice, then the answer" '["true"]' "$(verdict fr)"
expect_eq "429 with retry-after, then the answer" '["true"]' "$(verdict de)"
expect_eq "reset, then the answer" '["true"]' "$(verdict cl)"
expect_eq "malformed JSON, then the answer" '["true"]' "$(verdict ke)"
expect_eq "a cut stream, then the answer" '["true"]' "$(verdict jp)"
expect_eq "500 more often than allowed" '["http/500"]' "$(verdict pe)"
expect_eq "Peru took every allowed attempt" '[3,3]' \
    "$(jq_of "$RECORD" '[.[] | select(.case == "pe") | .attempts]')"

# Not retried at all: the first target to ask gets the fault and stops.
expect_match "400 is not retried" 'http/400' "$(verdict it)"
expect_match "a spent quota is not retried" 'http/429' "$(verdict es)"
expect_match "x-should-retry: false is obeyed" 'http/503' "$(verdict eg)"
expect_eq "faults that are final took one attempt" '[1]' \
    "$(jq_of "$RECORD" '[.[] | select(.error and .error.status != 500) | .attempts] | unique')"

# retry-after: 1 second between Germany's 429 and the same target's next
# request.
GAP=$(jq -s '[.[] | select(.body.messages[0].content | test("Germany"))] | group_by(.body.model) | map(select(length == 2) | sort_by(.t_ms) | .[1].t_ms - .[0].t_ms) | max' "$SCRATCH/requests.jsonl")
expect_eq "waited as retry-after said" true "$(jq -n "$GAP >= 1000")"

# The server saw exactly the attempts the record counts, but for the
# reset: libcurl itself resends a request once when a reused connection
# turns out dead before any reply, within the same attempt.
expect_eq "attempts add up" \
    "$(jq_of "$RECORD" '[.[] | select(.type == "result" and .case != "cl") | .attempts] | add')" \
    "$(jq -s '[.[] | select(.body.messages[0].content | test("Chile") | not)] | length' "$SCRATCH/requests.jsonl")"

# Streams: the same answers, with a time to first token before the end.
expect_eq "streamed answers" '"Paris."' \
    "$(jq_of "$RECORD" '[.[] | select(.target == "streamed" and .case == "fr")][0].output')"
expect_eq "ttft only for streams" '[true,true]' \
    "$(jq_of "$RECORD" '[([.[] | select(.type == "result" and .target == "plain")] | all(.ttft_ms == null)), ([.[] | select(.type == "result" and .target == "streamed" and .pass == true)] | all(.ttft_ms > 0 and .ttft_ms < .latency_ms))]')"
expect_eq "streams report usage" 'true' \
    "$(jq_of "$RECORD" '[.[] | select(.target == "streamed" and .pass == true) | .usage.completion_tokens > 0] | all')"
expect_eq "the exit code" 0 "$CODE"

# The summary's attempts and retries add up to what the result lines say.
for target in plain streamed; do
    expect_eq "$target: summary attempts and retries" \
        "$(jq_of "$RECORD" "[.[] | select(.type == \"result\" and .target == \"$target\") | .attempts] | [add, (map(if . > 1 then . - 1 else 0 end) | add)]")" \
        "$(tail -n1 "$RECORD" | jq -c "[.groups[] | select(.target == \"$target\") | .attempts, .retries]")"
done


# A retry that comes due while every slot is taken waits for a slot, and
# the loop sleeps meanwhile: "flaky" fails once and its retry waits about
# 1.5 s for one of the two slow requests. The loop once spun through that
# wait, as much CPU time as wall time; a sleeping one needs a few tens of
# milliseconds (under memcheck, far more: not measured then).
cat >"$SCRATCH/idle.jsonl" <<'CASES'
{"id":"flaky","question":"flaky"}
{"id":"s1","question":"slow 1"}
{"id":"s2","question":"slow 2"}
{"id":"s3","question":"slow 3"}
CASES
cat >"$SCRATCH/idle_answers.jsonl" <<'ANSWERS'
{"contains": "flaky", "reply": "ok", "fault": "500", "fail_times": 1}
{"contains": "slow", "reply": "ok", "delay_ms": 1500}
ANSWERS
cat >"$SCRATCH/idle.yaml" <<'SUITE'
name: idle
targets:
  - model: m
prompt: "{{question}}"
dataset: idle.jsonl
checks:
  - contains: ok
SUITE
start_server --answers "$SCRATCH/idle_answers.jsonl"
TIMEFORMAT='%U %S'
{ time OPENAI_BASE_URL=$BASE_URL run_assay run "$SCRATCH/idle.yaml" -j 2 \
    -o "$SCRATCH/idle_run.jsonl"; } 2>"$SCRATCH/idle_time"
expect_eq "waiting: the exit code" 0 "$CODE"
expect_eq "waiting: flaky was retried" 2 \
    "$(jq_of "$SCRATCH/idle_run.jsonl" '.[] | select(.case == "flaky") | .attempts')"
if [ -z "${ASSAY_WRAPPER:-}" ]; then
    CPU=$(awk '{ print $1 + $2 }' "$SCRATCH/idle_time")
    expect_eq "waiting for a slot costs no CPU ($CPU s)" true \
        "$(awk -v c="$CPU" 'BEGIN { print (c < 0.5) ? "true" : "false" }')"
fi

finish
