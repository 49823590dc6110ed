#!/usr/bin/env bash
# assay rescore: an earlier run's answers graded again with other checks,
# without a server; errors stay errors; a case the record lacks is named.
. "$(dirname "$0")/lib.sh"

start_server --answers "$CASES/answers.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/server_error.yaml" --no-cache \
    -o "$SCRATCH/run.jsonl"
stop_server
expect_eq "the first run" 0 "$CODE"

# New checks: the answer must start with the expected name.
sed 's/- icontains: "{{expected}}"/- starts-with: "{{expected}}"/' \
    "$CASES/server_error.yaml" >"$SCRATCH/strict.yaml"
run_assay rescore "$SCRATCH/run.jsonl" "$SCRATCH/strict.yaml" -o "$SCRATCH/new.jsonl"
expect_eq "rescored without a server" 0 "$CODE"
expect_eq "same answers, new checks" '[["fr","Paris.","starts-with",true]]' \
    "$(jq_of "$SCRATCH/new.jsonl" '[.[] | select(.type == "result" and .error == null) | [.case, .output, .checks[0].type, .pass]]')"
expect_match "the error stays an error" "the recorded result was an error: HTTP 500" \
    "$(jq_of "$SCRATCH/new.jsonl" '[.[] | select(.case == "pe")][0].error.message')"
expect_eq "latency as recorded" \
    "$(jq_of "$SCRATCH/run.jsonl" '[.[] | select(.case == "fr")][0].latency_ms')" \
    "$(jq_of "$SCRATCH/new.jsonl" '[.[] | select(.case == "fr")][0].latency_ms')"

run_assay rescore "$SCRATCH/run.jsonl" "$CASES/basic.yaml" -o "$SCRATCH/other.jsonl"
expect_match "a case the record lacks" "has no answer for case 'de', target 'alpha'" \
    "$(jq_of "$SCRATCH/other.jsonl" '[.[] | select(.case == "de")][0].error.message')"

run_assay rescore "$SCRATCH/none.jsonl" "$CASES/basic.yaml"
expect_eq "a missing record" 2 "$CODE"
expect_match "is named" "none.jsonl: cannot open the run record" "$ERR"

finish
