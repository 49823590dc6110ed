#!/usr/bin/env bash
# A run of two targets against the fake server: the record's lines, the
# summary's numbers, the requests the server saw, the exit code, and that
# the API key appears nowhere but in the Authorization header.
. "$(dirname "$0")/lib.sh"

KEY=sk-test-DO-NOT-LEAK-4242
start_server --answers "$CASES/answers.jsonl" --log "$SCRATCH/requests.jsonl"
OPENAI_BASE_URL=$BASE_URL OPENAI_API_KEY=$KEY \
    run_assay run "$CASES/basic.yaml" -j 4 -o "$SCRATCH/run.jsonl"
RECORD=$SCRATCH/run.jsonl

expect_eq "exit code" 0 "$CODE"
expect_eq "record lines" 10 "$(wc -l <"$RECORD" | tr -d ' ')"
expect_eq "header" '["run","basic",["alpha","beta"],1]' \
    "$(head -n1 "$RECORD" | jq -c '[.type, .suite, [.targets[].name], .format]')"
expect_eq "header base_url" "\"$BASE_URL\"" \
    "$(head -n1 "$RECORD" | jq -c '.targets[0].base_url')"
expect_eq "result lines" 8 "$(jq_of "$RECORD" '[.[] | select(.type == "result")] | length')"
expect_eq "every case once per target" \
    '[["alpha","de"],["alpha","es"],["alpha","fr"],["alpha","it"],["beta","de"],["beta","es"],["beta","fr"],["beta","it"]]' \
    "$(jq_of "$RECORD" '[.[] | select(.type == "result") | [.target, .case]] | sort')"
expect_eq "failing cases" '["es","es"]' \
    "$(jq_of "$RECORD" '[.[] | select(.type == "result" and .pass == false) | .case]')"
expect_eq "failing reason" '"expected to contain (case-insensitive) '"'"'Madrid'"'"'; found '"'"'Barcelona'"'"'"' \
    "$(jq_of "$RECORD" '[.[] | select(.case == "es")][0].checks[0].reason')"
expect_eq "result fields" '["Paris.","stop",true,1,"icontains",1,null,false]' \
    "$(jq_of "$RECORD" '[.[] | select(.case == "fr" and .target == "alpha")][0] | [.output, .finish_reason, .pass, .score, .checks[0].type, .attempts, .error, .cached]')"
expect_eq "usage recorded" 'true' \
    "$(jq_of "$RECORD" '[.[] | select(.type == "result") | .usage.prompt_tokens > 0 and .usage.completion_tokens > 0 and .latency_ms > 0] | all')"
expect_eq "summary line" '[{"target":"alpha","results":4,"passed":3,"failed":1,"errors":0,"pass_rate":0.75},{"target":"beta","results":4,"passed":3,"failed":1,"errors":0,"pass_rate":0.75}]' \
    "$(tail -n1 "$RECORD" | jq -c '[.groups[] | {target, results, passed, failed, errors, pass_rate}]')"
expect_eq "summary verdict" 'true' "$(tail -n1 "$RECORD" | jq -c '.pass')"
expect_eq "wilson interval of 3/4" '[0.3006,0.9544]' \
    "$(tail -n1 "$RECORD" | jq -c '[.groups[0].pass_rate_low, .groups[0].pass_rate_high] | map(. * 10000 | round / 10000)')"

expect_match "table row" '^alpha +4 +3 +1 +0 +75\.0% \[30\.1, 95\.4\]' "$OUT"
expect_match "verdict" '^verdict: PASS$' "$OUT"
expect_match "record path" "^run record: $RECORD\$" "$OUT"

# What the server received.
REQUESTS=$SCRATCH/requests.jsonl
expect_eq "requests" 8 "$(wc -l <"$REQUESTS" | tr -d ' ')"
expect_eq "authorization" '["Bearer '"$KEY"'"]' \
    "$(jq_of "$REQUESTS" '[.[].authorization] | unique')"
expect_eq "models" '["model-a","model-b"]' "$(jq_of "$REQUESTS" '[.[].body.model] | unique')"
expect_eq "alpha params" '[0,16]' \
    "$(jq_of "$REQUESTS" '[.[] | select(.body.model == "model-a")][0].body | [.temperature, .max_tokens]')"
expect_eq "rendered messages" '[{"role":"system","content":"Answer with one word."},{"role":"user","content":"What is the capital of France?"}]' \
    "$(jq_of "$REQUESTS" '[.[] | select(.body.messages[1].content | test("France"))][0].body.messages')"

# The key went to the server and nowhere else.
expect_absent "API key" "$KEY" "$RECORD" "$SCRATCH/stdout" "$SCRATCH/stderr"

# The report of the record prints the same table as the run did.
TABLE=$(printf '%s\n' "$OUT" | sed '/^run record:/d' | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}')
run_assay report "$RECORD"
expect_eq "report exit code" 0 "$CODE"
expect_eq "report table" "$TABLE" "$OUT"

# JSON suites, JSON Lines datasets and the regex check.
stop_server
start_server --answers "$CASES/answers.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/basic.json" -o "$SCRATCH/json.jsonl"
expect_eq "json suite exit code" 0 "$CODE"
expect_eq "json suite outcomes" '[["de",true],["es",false],["fr",true]]' \
    "$(jq_of "$SCRATCH/json.jsonl" '[.[] | select(.type == "result") | [.case, .pass]] | sort')"


# A result reaches the record soon after its answer, while other requests
# are still in flight (a kill then loses only those): "fast" answers at
# once, "slow" after 3 s, and the fast line must be in the file long
# before the slow one. Not under memcheck, whose start alone takes
# seconds.
if [ -z "${ASSAY_WRAPPER:-}" ]; then
    cat >"$SCRATCH/durable.jsonl" <<'CASES'
{"id":"fast","question":"fast"}
{"id":"slow","question":"slow"}
CASES
    cat >"$SCRATCH/durable.yaml" <<'SUITE'
name: durable
targets:
  - model: m
prompt: "{{question}}"
dataset: durable.jsonl
checks:
  - contains: ok
SUITE
    echo '{"contains": "slow", "reply": "ok", "delay_ms": 3000}' \
        >"$SCRATCH/durable_answers.jsonl"
    start_server --answers "$SCRATCH/durable_answers.jsonl" --default-reply ok
    OPENAI_BASE_URL=$BASE_URL "$ASSAY" run "$SCRATCH/durable.yaml" -j 2 -q \
        -o "$SCRATCH/durable_run.jsonl" >/dev/null 2>&1 &
    RUN_PID=$!
    SEEN=false
    for _ in $(seq 1 16); do
        sleep 0.05
        if grep -q '"case":"fast"' "$SCRATCH/durable_run.jsonl" 2>/dev/null; then
            SEEN=true
            break
        fi
    done
    wait "$RUN_PID"
    expect_eq "the fast result is in the record within 0.8 s" true "$SEEN"
    expect_eq "then both are" 2 \
        "$(jq_of "$SCRATCH/durable_run.jsonl" '[.[] | select(.type == "result")] | length')"
fi

finish
