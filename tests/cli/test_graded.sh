#!/usr/bin/env bash
# Model-graded checks end to end: grader requests go through the engine
# (and the cache), replies are read leniently (code fences, a verdict on
# the last line), the grader's usage is counted apart, and a suite with a
# model-graded check but no grader is refused.
. "$(dirname "$0")/lib.sh"

DIR=$CASES/graded
start_server --answers "$DIR/answers.jsonl" --log "$SCRATCH/requests.jsonl"
export OPENAI_BASE_URL=$BASE_URL
run_assay run "$DIR/suite.yaml" --cache "$SCRATCH/cache.db" -o "$SCRATCH/run.jsonl"
RECORD=$SCRATCH/run.jsonl
expect_eq "exit code (no gate)" 0 "$CODE"
expect_eq "verdicts" '[["es",false],["fr",true]]' \
    "$(jq_of "$RECORD" '[.[] | select(.type == "result") | [.case, .pass]] | sort')"
expect_eq "check verdicts for fr" '[["llm-rubric",true],["factuality",true],["icontains",true]]' \
    "$(jq_of "$RECORD" '[.[] | select(.case == "fr")][0].checks | map([.type, .pass])')"
expect_eq "check verdicts for es" '[["llm-rubric",false],["factuality",false],["icontains",false]]' \
    "$(jq_of "$RECORD" '[.[] | select(.case == "es")][0].checks | map([.type, .pass])')"
expect_match "the grader's reason is quoted" "It says Barcelona, not Madrid" \
    "$(jq_of "$RECORD" '[.[] | select(.case == "es")][0].checks[0].reason')"
expect_match "the grader's letter is named" "verdict D" \
    "$(jq_of "$RECORD" '[.[] | select(.case == "es")][0].checks[1].reason')"
expect_eq "grader usage, apart" '[2,true]' \
    "$(jq_of "$RECORD" '[.[] | select(.case == "fr")][0] | [.grader.requests, (.grader.prompt_tokens > 0)]')"
expect_eq "the grader was asked with its own model" '["m-answer","m-grader"]' \
    "$(jq_of "$SCRATCH/requests.jsonl" '[.[].body.model] | unique')"
expect_eq "six requests: two answers, four grades" 6 "$(wc -l <"$SCRATCH/requests.jsonl" | tr -d ' ')"
expect_match "the factuality question came from the option" "\\[Question\\]: Capital of France\\?" \
    "$(jq_of "$SCRATCH/requests.jsonl" '[.[] | select(.body.model == "m-grader") | .body.messages[-1].content] | join("\n")')"

# Again: answers and grades come from the cache.
run_assay run "$DIR/suite.yaml" --cache "$SCRATCH/cache.db" -o "$SCRATCH/again.jsonl"
expect_eq "cached run" 0 "$CODE"
expect_eq "nothing sent again" 6 "$(wc -l <"$SCRATCH/requests.jsonl" | tr -d ' ')"
expect_eq "same verdicts" '[["es",false],["fr",true]]' \
    "$(jq_of "$SCRATCH/again.jsonl" '[.[] | select(.type == "result") | [.case, .pass]] | sort')"

# A grader that answers nonsense: the result is an error, not a verdict.
sed 's/llm-rubric: "The answer names/llm-rubric: "Unscripted: the answer names/' \
    "$DIR/suite.yaml" >"$SCRATCH/nonsense.yaml"
run_assay run "$SCRATCH/nonsense.yaml" --no-cache -o "$SCRATCH/nonsense.jsonl"
expect_eq "unreadable grades are errors" '["check"]' \
    "$(jq_of "$SCRATCH/nonsense.jsonl" '[.[] | select(.type == "result") | .error.kind] | unique')"
expect_match "and say why" "grader's reply is not a JSON object with a score" \
    "$(jq_of "$SCRATCH/nonsense.jsonl" '[.[] | select(.type == "result")][0].error.message')"

# similar: embeddings from the embedder, one request per answer.
stop_server
start_server --answers "$DIR/answers.jsonl" --log "$SCRATCH/embed.jsonl" \
    --embedding-dim 256
export OPENAI_BASE_URL=$BASE_URL
run_assay run "$DIR/similar.yaml" --no-cache -o "$SCRATCH/similar.jsonl"
expect_eq "similar: verdicts" '[["es",false],["fr",true]]' \
    "$(jq_of "$SCRATCH/similar.jsonl" '[.[] | select(.type == "result") | [.case, .pass]] | sort')"
expect_eq "similar: the same text has cosine 1" 1 \
    "$(jq_of "$SCRATCH/similar.jsonl" '[.[] | select(.case == "fr")][0].checks[0].score')"
expect_eq "similar: both texts in one embeddings request" '[["Paris.","Paris."]]' \
    "$(jq_of "$SCRATCH/embed.jsonl" '[.[] | select(.path == "/v1/embeddings") | .body.input] | map(select(.[0] == "Paris."))')"
grep -v '^embedder:' "$DIR/similar.yaml" >"$SCRATCH/no-embedder.yaml"
run_assay validate "$SCRATCH/no-embedder.yaml"
expect_eq "no embedder, no run" 2 "$CODE"
expect_match "says what to add" "check 'similar' compares embeddings: give the suite an embedder" "$ERR"

grep -v '^grader:' "$DIR/suite.yaml" >"$SCRATCH/no-grader.yaml"
run_assay validate "$SCRATCH/no-grader.yaml"
expect_eq "no grader, no run" 2 "$CODE"
expect_match "says what to add" "check 'llm-rubric' is model-graded: give the suite a grader" "$ERR"

# A case's own model-graded check needs the suite's grader too: refused
# before anything is sent, naming the case's line.
cat >"$SCRATCH/case-grader.yaml" <<'YAML'
targets: [{model: m}]
prompt: "{{q}}"
cases:
  - {id: plain, q: a, checks: [{contains: a}]}
  - {id: judged, q: b, checks: [{llm-rubric: is polite}]}
YAML
run_assay validate "$SCRATCH/case-grader.yaml"
expect_eq "case check without a grader: exit 2" 2 "$CODE"
expect_match "case check without a grader: named" \
    "case-grader\.yaml:5:.*case 'judged': check 'llm-rubric' needs the suite's grader" "$ERR"
# A run reads cases as it goes: there the case is an error of its own.
run_assay run "$SCRATCH/case-grader.yaml" --no-cache -o "$SCRATCH/case-grader.jsonl"
expect_eq "case check without a grader: run goes on" '[["judged","grader"],["plain",null]]' \
    "$(jq_of "$SCRATCH/case-grader.jsonl" '[.[] | select(.type == "result") | [.case, .error.kind]] | sort')"

finish
