#!/usr/bin/env bash
# Requests that fail become error results (counted apart from failures),
# never silence: HTTP errors, refused connections and timeouts.
. "$(dirname "$0")/lib.sh"

start_server --answers "$CASES/answers.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/server_error.yaml" -o "$SCRATCH/http.jsonl"
expect_eq "one error of two holds a 0.5 gate" 0 "$CODE"
expect_eq "http error result" '{"kind":"http","status":500,"message":"HTTP 500: server_error: scripted failure"}' \
    "$(jq_of "$SCRATCH/http.jsonl" '[.[] | select(.case == "pe")][0].error')"
expect_eq "error has no verdict" '[null,null]' \
    "$(jq_of "$SCRATCH/http.jsonl" '[.[] | select(.case == "pe")][0] | [.pass, .score]')"
expect_eq "errors counted apart" '[1,0,1]' \
    "$(tail -n1 "$SCRATCH/http.jsonl" | jq -c '.groups[0] | [.passed, .failed, .errors]')"
stop_server

start_server --fail-rate 1 --seed 7
OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/basic.yaml" -o "$SCRATCH/all.jsonl"
expect_eq "all errors fail the gate" 1 "$CODE"
expect_eq "all errors" '[0,0,4]' \
    "$(tail -n1 "$SCRATCH/all.jsonl" | jq -c '.groups[0] | [.passed, .failed, .errors]')"
expect_match "table shows errors" '^alpha +4 +0 +0 +4 ' "$OUT"
stop_server

# A port that was just free: nothing listens there now.
start_server
DEAD_URL=$BASE_URL
stop_server
OPENAI_BASE_URL=$DEAD_URL run_assay run "$CASES/server_error.yaml" -o "$SCRATCH/refused.jsonl"
expect_eq "refused connections fail the gate" 1 "$CODE"
expect_eq "transport errors" '["transport","transport"]' \
    "$(jq_of "$SCRATCH/refused.jsonl" '[.[] | select(.type == "result") | .error.kind]')"

start_server --answers "$CASES/answers.jsonl" --delay-ms 3000
OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/server_error.yaml" --timeout 1 -o "$SCRATCH/slow.jsonl"
expect_eq "timeouts fail the gate" 1 "$CODE"
expect_eq "timeout errors" '["timeout","timeout"]' \
    "$(jq_of "$SCRATCH/slow.jsonl" '[.[] | select(.type == "result") | .error.kind]')"

finish
