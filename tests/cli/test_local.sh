#!/usr/bin/env bash
# Output and echo targets: scoring answers produced elsewhere, and trying
# checks on the rendered prompt, with no server at all.
. "$(dirname "$0")/lib.sh"

OPENAI_BASE_URL=http://127.0.0.1:9/v1 run_assay run "$CASES/local.yaml" --no-cache \
    -o "$SCRATCH/run.jsonl"
RECORD=$SCRATCH/run.jsonl
expect_eq "runs without a server" 0 "$CODE"
expect_eq "recorded answers" '[["a","yes, of course",true],["b","maybe",false],["c","42",true]]' \
    "$(jq_of "$RECORD" '[.[] | select(.target == "recorded") | [.case, .output, .pass]] | sort')"
expect_eq "the prompt as the answer" '[["a","Say yes.",true],["b","Say no.",true],["c","Say 42.",true]]' \
    "$(jq_of "$RECORD" '[.[] | select(.target == "prompt") | [.case, .output, .pass]] | sort')"
expect_eq "no attempts, no errors" '[[0,null]]' \
    "$(jq_of "$RECORD" '[.[] | select(.type == "result") | [.attempts, .error]] | unique')"

sed 's/output: answer/output: reply/' "$CASES/local.yaml" >"$SCRATCH/missing.yaml"
run_assay run "$SCRATCH/missing.yaml" --no-cache -o "$SCRATCH/missing.jsonl"
expect_eq "a missing field is an error result" \
    '"the case has no field '"'"'reply'"'"' to answer with"' \
    "$(jq_of "$SCRATCH/missing.jsonl" '[.[] | select(.target == "recorded")][0].error.message')"

finish
