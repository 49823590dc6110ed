#!/usr/bin/env bash
# The examples of examples/ that show a workflow, run as a user would run
# them, against the fake server: two models and two prompts side by side
# (the comparison matrix), the CI gate against a baseline, a RAG suite
# judged by a grader, repeats with pass@k, replay from a cache with the
# server gone, two shards merged, and the C program compare_models.c
# pairing two targets. The server answers the quickstart
# questions from datasets/quickstart.jsonl's own answers, so every
# difference between runs below is one the test made on purpose.
. "$(dirname "$0")/lib.sh"

EXAMPLES=$SOURCE_ROOT/examples
DATA=$SOURCE_ROOT/datasets/quickstart.jsonl
# The scripts read the binary from ASSAY, as lib.sh does; any wrapper
# (valgrind) goes with it.
SCRIPT_ASSAY=$ASSAY

# counts RECORD: [target, prompt, results, passed, failed, errors] per group.
counts() {
    tail -n1 "$1" | jq -c '[.groups[] | [.target, .prompt, .results, .passed, .failed, .errors]]'
}

# run_script SCRIPT ARGS...: like run_assay, for a script of examples/.
run_script() {
    ASSAY=$SCRIPT_ASSAY "$EXAMPLES/$1" "${@:2}" >"$SCRATCH/stdout" 2>"$SCRATCH/stderr"
    CODE=$?
    OUT=$(cat "$SCRATCH/stdout")
    ERR=$(cat "$SCRATCH/stderr")
}

# Right answers to every quickstart question, as asked plainly and as
# compare_prompts' "terse" prompt asks them; the terse prompt gets the
# first 12 wrong.
jq -c '{match: .question, reply: "It is \(.answer)."}' "$DATA" >right.jsonl
jq -c '{match: "Answer in at most three words. \(.question)",
        reply: (if input_line_number <= 12 then "Not sure." else .answer end)}' \
    "$DATA" >terse.jsonl
cat right.jsonl terse.jsonl >answers.jsonl
start_server --answers answers.jsonl --log requests.jsonl
export OPENAI_BASE_URL=$BASE_URL

# (1) Two models: a row each, then the matrix pairing them.
run_assay run "$EXAMPLES/compare_models.yaml" --no-cache -o models.jsonl
expect_eq "compare_models: both targets pass the gate" 0 "$CODE"
expect_eq "compare_models: a group per target" \
    '[["small","default",40,40,0,0],["large","default",40,40,0,0]]' "$(counts models.jsonl)"
expect_match "compare_models: the comparison matrix is printed" \
    '^comparison matrix: compare-models' "$OUT"
expect_match "compare_models: the pair is named" 'large.*small|small.*large' \
    "$(printf '%s\n' "$OUT" | sed -n '/^comparison matrix/,$p')"

# (2) Two prompts: the terse one misses 12 answers and fails its gate.
run_assay run "$EXAMPLES/compare_prompts.yaml" --no-cache -o prompts.jsonl
expect_eq "compare_prompts: the terse prompt fails the gate" 1 "$CODE"
expect_eq "compare_prompts: a group per prompt" \
    '[["default","plain",40,40,0,0],["default","terse",40,28,12,0]]' "$(counts prompts.jsonl)"
expect_eq "compare_prompts: each result names its prompt" '["plain","terse"]' \
    "$(jq_of prompts.jsonl '[.[] | select(.type == "result") | .prompt] | unique')"
expect_match "compare_prompts: the comparison matrix is printed" \
    '^comparison matrix: compare-prompts' "$OUT"

# (3) The CI gate: a baseline, then the same answers (pass), then 12 of
# them wrong (regressed, exit 1); both write the JUnit and Markdown reports
# and append the Markdown to the job summary.
run_assay run "$EXAMPLES/ci_gate.yaml" --no-cache -q -o baseline.jsonl
expect_eq "ci_gate: the baseline run passes" 0 "$CODE"
export GITHUB_STEP_SUMMARY=$SCRATCH/step-summary.md
CI_GATE_DIR=ci-same run_script ci_gate.sh baseline.jsonl --no-cache
expect_eq "ci_gate: no change passes" 0 "$CODE"
expect_match "ci_gate: the verdict heads the Markdown" '^## .*assay: ci-gate .* PASS' \
    "$(head -n1 ci-same/summary.md)"
expect_eq "ci_gate: the job summary got the Markdown report" \
    "$(cat ci-same/summary.md)" "$(cat "$GITHUB_STEP_SUMMARY")"
expect_eq "ci_gate: JUnit holds a test case per question" 40 \
    "$(grep -c '<testcase ' ci-same/junit.xml)"
stop_server
jq -c 'if input_line_number <= 12 then .reply = "Not sure." else . end' right.jsonl >worse.jsonl
start_server --answers worse.jsonl
export OPENAI_BASE_URL=$BASE_URL
CI_GATE_DIR=ci-worse run_script ci_gate.sh baseline.jsonl --no-cache
expect_eq "ci_gate: a regression exits 1" 1 "$CODE"
expect_match "ci_gate: the summary says it regressed" 'regressed' "$OUT"
expect_match "ci_gate: the Markdown verdict is FAIL" '^## .*assay: ci-gate .* FAIL' \
    "$(head -n1 ci-worse/summary.md)"
expect_eq "ci_gate: JUnit counts the 12 failures" 12 "$(grep -c '<failure ' ci-worse/junit.xml)"
expect_eq "ci_gate: the job summary got both reports" 2 \
    "$(grep -c 'assay: ci-gate' "$GITHUB_STEP_SUMMARY")"
unset GITHUB_STEP_SUMMARY
CI_GATE_DIR=ci-bad run_script ci_gate.sh missing.jsonl --no-cache
expect_eq "ci_gate: a missing baseline is refused" 2 "$CODE"
expect_match "ci_gate: it names the baseline" "cannot read the baseline record 'missing.jsonl'" "$ERR"
expect_eq "ci_gate: nothing was run without it" false "$([ -e ci-bad/run.jsonl ] && echo true || echo false)"
run_script ci_gate.sh
expect_eq "ci_gate: no baseline is a usage error" 2 "$CODE"
stop_server

# (4) RAG: the grader is played by answers matching its prompts. The
# target invents a date for the Eiffel Tower; the faithfulness prompt
# (the context's end, then "Question:" on its own line) gets a low score
# for it, and every other grader prompt a good one.
cat >rag-answers.jsonl <<'EOF2'
{"contains": "Question: When was the Eiffel Tower completed?", "reply": "It was completed in 1925."}
{"contains": "completed in March 1889.\n\nQuestion:\n", "reply": "{\"reason\": \"The context gives 1889, not 1925.\", \"score\": 0}"}
{"contains": "\n\nAnswer:\n", "reply": "{\"reason\": \"Supported and on the question.\", \"score\": 1}"}
EOF2
start_server --answers rag-answers.jsonl --log rag-requests.jsonl \
    --default-reply "The context answers it."
export OPENAI_BASE_URL=$BASE_URL
run_assay run "$EXAMPLES/rag.yaml" --no-cache -o rag.jsonl
expect_eq "rag: 5 of 6 pass, above the 0.8 gate" 0 "$CODE"
expect_eq "rag: the counts" '[["default","default",6,5,1,0]]' "$(counts rag.jsonl)"
expect_eq "rag: the invented date fails faithfulness alone" \
    '[{"case":"eiffel","failed":["context-faithfulness"]}]' \
    "$(jq_of rag.jsonl '[.[] | select(.type == "result" and .pass == false)
        | {case, failed: [.checks[] | select(.pass == false) | .type]}]')"
expect_eq "rag: 6 answers and 12 gradings were asked" 18 "$(wc -l <rag-requests.jsonl | tr -d ' ')"
expect_eq "rag: the grader saw each case's context" 6 \
    "$(jq -s '[.[] | select(.body.messages[-1].content | startswith("Context:\n"))
        | select(.body.messages[0].content | test("claims"))] | length' rag-requests.jsonl)"
stop_server

# (5) Repeats: 5 samples a case; two questions fail their first two
# attempts with a server error that is not retried (--max-attempts 1), so
# they pass 3 times in 5 and are flaky.
jq -c 'if .match == "What is the capital of France?" or .match == "What is the capital of Japan?"
       then . + {status: 500, fail_times: 2} else . end' right.jsonl >flaky.jsonl
start_server --answers flaky.jsonl
export OPENAI_BASE_URL=$BASE_URL
run_assay run "$EXAMPLES/repeats.yaml" --no-cache --max-attempts 1 -o repeats.jsonl \
    --report json:repeats.json
expect_eq "repeats: 196 of 200 samples pass the 0.8 gate" 0 "$CODE"
expect_eq "repeats: the counts" '[["default","default",200,196,0,4]]' "$(counts repeats.jsonl)"
expect_eq "repeats: 5 samples of 40 cases" '[40,5]' \
    "$(jq -c '.groups[0].repeats | [.cases, .samples_per_case]' repeats.json)"
expect_eq "repeats: pass@k for k = 1..5" '[1,2,3,4,5]' \
    "$(jq -c '[.groups[0].repeats.pass_at_k[].k]' repeats.json)"
# pass@k = 1 - C(5-c, k)/C(5, k) per case, averaged: c = 3 for the flaky
# two gives 3/5, 9/10, then 1; c = 5 for the 38 others gives 1.
expect_eq "repeats: pass@1, pass@2, pass@3" '[0.98,0.995,1]' \
    "$(jq -c '[.groups[0].repeats.pass_at_k[0:3][].value | . * 1000 | round / 1000]' repeats.json)"
expect_eq "repeats: the flaky cases" '[["q01",3,5],["q02",3,5]]' \
    "$(jq -c '[.groups[0].repeats.flaky[] | [.case, .passed, .samples]] | sort' repeats.json)"
stop_server

# (6) Replay: the first run fills the cache and replays it; the replay
# sends nothing. Then, with the server gone, it replays again.
start_server --answers right.jsonl --log replay-requests.jsonl
export OPENAI_BASE_URL=$BASE_URL
run_script replay.sh "$SCRATCH/replay.db" replay-out
expect_eq "replay: fill and replay pass" 0 "$CODE"
expect_eq "replay: only the fill reached the server" 40 "$(wc -l <replay-requests.jsonl | tr -d ' ')"
expect_eq "replay: every replayed answer came from the cache" '[true]' \
    "$(jq_of replay-out/replay.jsonl '[.[] | select(.type == "result") | .cached] | unique')"
stop_server
rm -f replay-out/replay.jsonl
run_script replay.sh "$SCRATCH/replay.db" replay-out
expect_eq "replay: offline, it still passes" 0 "$CODE"
expect_eq "replay: offline, the same counts" "$(counts replay-out/fill.jsonl)" \
    "$(counts replay-out/replay.jsonl)"
expect_eq "replay: offline, the same answers" \
    "$(jq -c -s 'map(select(.type == "result") | [.case, .output]) | sort' replay-out/fill.jsonl)" \
    "$(jq -c -s 'map(select(.type == "result") | [.case, .output]) | sort' replay-out/replay.jsonl)"

# (7) Shards: two shards and their merge give the unsharded run's counts;
# 10 wrong answers make the merged verdict FAIL (37.5% of 40 > 10% failed).
jq -c 'if input_line_number <= 10 then .reply = "Not sure." else . end' right.jsonl >shard-answers.jsonl
start_server --answers shard-answers.jsonl
export OPENAI_BASE_URL=$BASE_URL
run_assay run "$EXAMPLES/quickstart.yaml" --no-cache -q -o unsharded.jsonl
expect_eq "shard: the unsharded run fails its gate" 1 "$CODE"
run_script shard.sh shards --no-cache
expect_eq "shard: the merged verdict is the unsharded one" 1 "$CODE"
expect_eq "shard: the merged counts are the unsharded ones" \
    "$(counts unsharded.jsonl)" "$(counts shards/run.jsonl)"
expect_eq "shard: the merge names both shards" '{"count":2,"shards":[0,1]}' \
    "$(head -n1 shards/run.jsonl | jq -c .merged)"
expect_eq "shard: each shard ran part of the cases" true \
    "$(jq -s '[.[] | select(.type == "result")] | length | . > 0 and . < 40' shards/shard-0.jsonl)"
expect_match "shard: the merged summary is printed" '^verdict: FAIL' "$OUT"
stop_server

# (8) compare_models.c, the library from a C program: one run of two
# targets, then the matrix pairing them. Same answers: no regression.
# Then the second target on a server that gets 12 answers wrong (the
# first keeps the right one through its base_url): it regressed, exit 1.
# run_example PROGRAM ARGS...: like run_assay, for a C example.
run_example() {
    ${ASSAY_WRAPPER:-} "$EXAMPLES_BUILD/$1" "${@:2}" >"$SCRATCH/stdout" 2>"$SCRATCH/stderr"
    CODE=$?
    OUT=$(cat "$SCRATCH/stdout")
    ERR=$(cat "$SCRATCH/stderr")
}
start_server --answers right.jsonl
RIGHT_PID=$SERVER_PID RIGHT_URL=$BASE_URL
trap 'kill "$RIGHT_PID" 2>/dev/null; cleanup' EXIT
export OPENAI_BASE_URL=$BASE_URL
run_example compare_models "$EXAMPLES/compare_models.yaml" c-same.jsonl
expect_eq "compare_models.c: no regression exits 0 ($ERR)" 0 "$CODE"
expect_eq "compare_models.c: a group per target" \
    '[["small","default",40,40,0,0],["large","default",40,40,0,0]]' "$(counts c-same.jsonl)"
expect_match "compare_models.c: the summary comes first" '^verdict: PASS$' "$OUT"
expect_match "compare_models.c: the pair is compared" "^target 'small' -> 'large': 40 pairs" "$OUT"
expect_match "compare_models.c: its verdict" '^verdict: no regression$' "$OUT"
SERVER_PID=
start_server --answers worse.jsonl
export OPENAI_BASE_URL=$BASE_URL
sed "/^  - name: small\$/a\\    base_url: $RIGHT_URL" "$EXAMPLES/compare_models.yaml" |
    sed "s|^dataset: .*|dataset: $DATA|" >two-servers.yaml
run_example compare_models two-servers.yaml c-worse.jsonl
expect_eq "compare_models.c: a regression exits 1 ($ERR)" 1 "$CODE"
expect_eq "compare_models.c: the second target missed 12" \
    '[["small","default",40,40,0,0],["large","default",40,28,12,0]]' "$(counts c-worse.jsonl)"
expect_match "compare_models.c: it names what regressed" \
    "^regressed: 'large' against 'small' on pass: -0\.300 " "$OUT"
expect_match "compare_models.c: and says so last" '^verdict: REGRESSED$' "$(tail -n1 <<<"$OUT")"
run_example compare_models "$EXAMPLES/quickstart.yaml" c-one.jsonl
expect_eq "compare_models.c: one target is refused" 2 "$CODE"
expect_match "compare_models.c: saying why" 'has 1 targets; this example compares exactly two' "$ERR"
stop_server
kill "$RIGHT_PID" 2>/dev/null
wait "$RIGHT_PID" 2>/dev/null

finish
