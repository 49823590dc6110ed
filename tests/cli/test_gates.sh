#!/usr/bin/env bash
# The pass-rate gate decides the exit code: 0 when it holds, 1 when not.
. "$(dirname "$0")/lib.sh"

start_server --answers "$CASES/answers.jsonl"
sed 's/min: 0.7/min: 0.9/' "$CASES/basic.yaml" >"$SCRATCH/strict.yaml"

OPENAI_BASE_URL=$BASE_URL run_assay run "$SCRATCH/strict.yaml" -o "$SCRATCH/run.jsonl"
expect_eq "failing gate exits 1" 1 "$CODE"
expect_match "gate line" "FAIL  pass_rate >= 0.9 for target 'alpha'" "$OUT"
expect_match "verdict" '^verdict: FAIL$' "$OUT"
expect_eq "summary verdict" 'false' "$(tail -n1 "$SCRATCH/run.jsonl" | jq -c '.pass')"

OPENAI_BASE_URL=$BASE_URL run_assay run "$SCRATCH/strict.yaml" -q -o "$SCRATCH/quiet.jsonl"
expect_eq "quiet exit code" 1 "$CODE"
expect_eq "quiet prints only the verdict" "FAIL" "$OUT"

run_assay report "$SCRATCH/run.jsonl"
expect_eq "report of a failing run exits 1" 1 "$CODE"

OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/basic.yaml" -q -o "$SCRATCH/pass.jsonl"
expect_eq "holding gate exits 0" 0 "$CODE"
expect_eq "quiet pass" "PASS" "$OUT"

finish
