#!/usr/bin/env bash
# The quickstart suite against the stand-in server: 37 of 40 answers are
# right, so the 0.9 gate holds.
. "$(dirname "$0")/lib.sh"

start_server --answers "$SOURCE_ROOT/tests/server/answers/quickstart.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SOURCE_ROOT/examples/quickstart.yaml" \
    -j 8 -o "$SCRATCH/run.jsonl"
expect_eq "exit code" 0 "$CODE"
expect_eq "counts" '[40,37,3,0]' \
    "$(tail -n1 "$SCRATCH/run.jsonl" | jq -c '.groups[0] | [.results, .passed, .failed, .errors]')"
expect_match "verdict" '^verdict: PASS$' "$OUT"

finish
