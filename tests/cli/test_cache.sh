#!/usr/bin/env bash
# The response cache: a second run is answered from it without a request,
# with the same results; replay mode runs offline and fails clearly on a
# miss; the cache file never holds the API key.
. "$(dirname "$0")/lib.sh"

KEY=sk-test-CACHE-SECRET-7
CACHE=$SCRATCH/cache.db
start_server --answers "$CASES/answers.jsonl" --log "$SCRATCH/requests.jsonl"
export OPENAI_BASE_URL=$BASE_URL OPENAI_API_KEY=$KEY

run_assay run "$CASES/basic.yaml" --cache "$CACHE" -o "$SCRATCH/first.jsonl"
expect_eq "first run" 0 "$CODE"
expect_eq "first run sent everything" 8 "$(wc -l <"$SCRATCH/requests.jsonl" | tr -d ' ')"
expect_eq "nothing cached yet" '[false]' \
    "$(jq_of "$SCRATCH/first.jsonl" '[.[] | select(.type == "result") | .cached] | unique')"

run_assay run "$CASES/basic.yaml" --cache "$CACHE" -o "$SCRATCH/second.jsonl"
expect_eq "second run" 0 "$CODE"
expect_eq "second run sent nothing" 8 "$(wc -l <"$SCRATCH/requests.jsonl" | tr -d ' ')"
expect_eq "all cached, no attempts" '[[true,0]]' \
    "$(jq_of "$SCRATCH/second.jsonl" '[.[] | select(.type == "result") | [.cached, .attempts]] | unique')"
same() { jq_of "$1" '[.[] | select(.type == "result") | [.target, .case, .output, .pass, .latency_ms]] | sort'; }
expect_eq "same results, same latencies" "$(same "$SCRATCH/first.jsonl")" "$(same "$SCRATCH/second.jsonl")"

# Replay with the server gone.
stop_server
run_assay run "$CASES/basic.yaml" --cache "$CACHE" --cache-mode read -o "$SCRATCH/replay.jsonl"
expect_eq "replay offline" 0 "$CODE"
expect_eq "replayed results" "$(same "$SCRATCH/first.jsonl")" "$(same "$SCRATCH/replay.jsonl")"

sed 's/Answer with one word./Answer with a word./' "$CASES/basic.yaml" >"$SCRATCH/changed.yaml"
run_assay run "$SCRATCH/changed.yaml" --cache "$CACHE" --cache-mode read -o "$SCRATCH/miss.jsonl"
expect_eq "a miss in replay mode stops the run" 3 "$CODE"
expect_match "the miss is named" "case '[a-z]+', target '[a-z]+': the reply is not in the cache .*cache.db" "$ERR"

run_assay run "$CASES/basic.yaml" --cache "$SCRATCH/none.db" --cache-mode read -o "$SCRATCH/none.jsonl"
expect_eq "replay from a missing cache" 3 "$CODE"
expect_eq "which is not created" "no" "$([ -e "$SCRATCH/none.db" ] && echo yes || echo no)"

run_assay run "$CASES/basic.yaml" --cache-mode sometimes
expect_eq "a bad mode" 2 "$CODE"

expect_absent "API key" "$KEY" "$CACHE" "$SCRATCH"/first.jsonl "$SCRATCH"/second.jsonl "$SCRATCH"/replay.jsonl "$SCRATCH/stdout" "$SCRATCH/stderr"

run_assay cache stats --cache "$CACHE"
expect_match "stats count the entries" "8" "$OUT"

finish
