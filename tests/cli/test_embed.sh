#!/usr/bin/env bash
# examples/embed.c, the library evaluating an application's own function:
# the rule-based classifier answers the 100 sentences of
# datasets/classification.jsonl on worker threads, the summary is printed
# and the gate gives the exit code. No server: nothing leaves the process.
# The same dataset with every expected answer moved to another option
# fails the gate; a missing dataset is a bad input. Under
# `meson test --setup valgrind` ASSAY_WRAPPER runs the program in memcheck.
. "$(dirname "$0")/lib.sh"

: "${EXAMPLES_BUILD:?EXAMPLES_BUILD must name the built examples}"
DATA=$SOURCE_ROOT/datasets/classification.jsonl

# run_embed ARGS...: like run_assay, for the example.
run_embed() {
    ${ASSAY_WRAPPER:-} "$EXAMPLES_BUILD/embed" "$@" >"$SCRATCH/stdout" 2>"$SCRATCH/stderr"
    CODE=$?
    OUT=$(cat "$SCRATCH/stdout")
    ERR=$(cat "$SCRATCH/stderr")
}

run_embed "$DATA" embed.jsonl
expect_eq "embed: the gate passes ($ERR)" 0 "$CODE"
expect_match "embed: the summary names the suite" '^suite: embedded-classifier' "$OUT"
expect_match "embed: the callback target has a row" '^rules +100 ' "$OUT"
expect_match "embed: the verdict is printed" '^verdict: PASS' "$OUT"
expect_eq "embed: one result per case, none an error" '[100,0]' \
    "$(jq_of embed.jsonl '[map(select(.type == "result")) | length,
        (map(select(.type == "result" and .error != null)) | length)]')"
expect_eq "embed: both checks judged every answer" '["accuracy","one-letter"]' \
    "$(jq_of embed.jsonl '[.[] | select(.type == "summary") | .groups[0].metrics[].name]')"
expect_eq "embed: the record names the callback target" '"callback:rules"' \
    "$(jq_of embed.jsonl '.[0].targets[0].base_url')"
expect_eq "embed: usage from the callback is summed" 100 \
    "$(jq_of embed.jsonl '.[] | select(.type == "summary") | .groups[0].completion_tokens')"

# Every expected answer one option further on: the classifier is now wrong.
jq -c '.answer = ({"A": "B", "B": "C", "C": "D", "D": "A"}[.answer])' "$DATA" >shifted.jsonl
run_embed shifted.jsonl
expect_eq "embed: a failed gate exits 1 ($ERR)" 1 "$CODE"
expect_match "embed: the verdict says so" '^verdict: FAIL' "$OUT"

run_embed missing.jsonl
expect_eq "embed: a missing dataset is a bad input" 2 "$CODE"
expect_match "embed: the error names the file" 'missing\.jsonl' "$ERR"

run_embed a b c
expect_eq "embed: too many arguments" 2 "$CODE"

finish
