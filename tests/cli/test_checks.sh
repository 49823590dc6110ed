#!/usr/bin/env bash
# The check families through the real binary: verdicts and reasons in the
# record, and the response-based checks (latency, tokens, finish reason,
# cost) fed from what the fake server answered.
. "$(dirname "$0")/lib.sh"

DIR="$CASES/checks"
start_server --answers "$DIR/answers.jsonl"

OPENAI_BASE_URL=$BASE_URL run_assay run "$DIR/suite.yaml" -o "$SCRATCH/run.jsonl"
expect_eq "one of two passes: the gate-less run exits 0" 0 "$CODE"

result() { # result CASE FILTER
    jq -c -s ".[] | select(.type == \"result\" and .case == \"$1\") | $2" \
        "$SCRATCH/run.jsonl"
}

expect_eq "no errors" '[null,null]' "$(jq_of "$SCRATCH/run.jsonl" '[.[] | select(.type == "result") | .error]')"
expect_eq "the good answer passes every check" \
    '[true,true,true,true,true,true,true,true,true,true]' \
    "$(result good '[.checks[].pass]')"
expect_eq "the good case passes" 'true' "$(result good '.pass')"
expect_eq "the check types in order" \
    '["numeric","choice","rouge-l","bleu","contains-all","not-is-refusal","latency","completion-tokens","finish-reason","cost"]' \
    "$(result good '[.checks[].type]')"
expect_match "numeric's reason" "found 18 \\(after '####'" "$(result good '.checks[0].reason')"
expect_match "cost's reason" "tokens of 'gpt-4o-mini' at \\\$0.15 and \\\$0.6 per million" \
    "$(result good '.checks[9].reason')"

expect_eq "the refusal fails" 'false' "$(result refuses '.pass')"
expect_eq "which checks fail on the refusal" \
    '[false,false,false,false,false,false,true,true,true,true]' \
    "$(result refuses '[.checks[].pass]')"
expect_match "is-refusal's reason" "expected not to be a refusal; found the refusal phrase 'i'm sorry, but'" \
    "$(result refuses '.checks[5].reason')"
expect_match "rouge-l's score is kept (F 12/17)" '^0\.70588' "$(result good '.checks[2].score')"

finish
