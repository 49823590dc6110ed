#!/usr/bin/env bash
# Suites as users bring them: targets x prompt variants with the prompt's
# name in each result, a CSV dataset whose `__expected` columns are checks,
# ${ENV} and file: references, OpenAI-evals samples run as they are, the
# selection options (--limit, --filter, --sample --seed) and
# --skip-bad-lines, and `assay validate`'s counts.
. "$(dirname "$0")/lib.sh"

SUITES=$CASES/suites
start_server --answers "$CASES/answers.jsonl"
export OPENAI_BASE_URL=$BASE_URL

# The comparison matrix: 4 cases x 2 targets x 2 prompts.
MATRIX_MODEL=model-x run_assay run "$SUITES/matrix.yaml" -o "$SCRATCH/m.jsonl"
R=$SCRATCH/m.jsonl
expect_eq "matrix runs (no gates)" 0 "$CODE"
expect_eq "matrix results" 16 "$(jq_of "$R" '[.[] | select(.type == "result")] | length')"
expect_eq "prompt names" '["plain","shouted"]' \
    "$(jq_of "$R" '[.[] | select(.type == "result") | .prompt] | unique')"
expect_eq "each cell once per case" '[4,4,4,4]' \
    "$(jq_of "$R" '[.[] | select(.type == "result")] | group_by([.target, .prompt]) | map(length)')"
expect_eq "model from the environment" '"model-x"' \
    "$(head -n1 "$R" | jq -c '.targets[0].model')"
expect_eq "__expected checks after the suite's" '[["not-contains","icontains"]]' \
    "$(jq_of "$R" '[.[] | select(.type == "result" and .case == "2") | [.checks[].type]] | unique')"
expect_eq "a bare __expected is equals" '["equals"]' \
    "$(jq_of "$R" '[.[] | select(.type == "result" and .case == "4") | .checks[1].type] | unique')"
expect_eq "failures are Spain's" '["5"]' \
    "$(jq_of "$R" '[.[] | select(.type == "result" and .pass == false) | .case] | unique')"

# Selection: the filter, then the sample, then the limit.
run_assay run "$SUITES/matrix.yaml" -o "$SCRATCH/f.jsonl" --filter country=France
expect_eq "filter" '["2"]' \
    "$(jq_of "$SCRATCH/f.jsonl" '[.[] | select(.type == "result") | .case] | unique')"
run_assay run "$SUITES/matrix.yaml" -o "$SCRATCH/l.jsonl" --limit 2
expect_eq "limit" '["2","3"]' \
    "$(jq_of "$SCRATCH/l.jsonl" '[.[] | select(.type == "result") | .case] | unique')"
run_assay run "$SUITES/matrix.yaml" -o "$SCRATCH/s1.jsonl" --sample 2 --seed 7
run_assay run "$SUITES/matrix.yaml" -o "$SCRATCH/s2.jsonl" --sample 2 --seed 7
S1=$(jq_of "$SCRATCH/s1.jsonl" '[.[] | select(.type == "result") | .case] | unique')
expect_eq "sample size" 2 "$(echo "$S1" | jq length)"
expect_eq "same seed, same sample" "$S1" \
    "$(jq_of "$SCRATCH/s2.jsonl" '[.[] | select(.type == "result") | .case] | unique')"
run_assay run "$SUITES/matrix.yaml" --filter nocolon
expect_eq "bad filter exits 2" 2 "$CODE"
expect_match "bad filter message" "--filter takes KEY=VALUE" "$ERR"

# OpenAI-evals samples: the third line is bad.
run_assay run "$SUITES/evals.yaml" -o "$SCRATCH/e.jsonl"
expect_eq "bad line stops the run" 2 "$CODE"
expect_match "bad line named" "evals\.jsonl:3:1: not valid JSON" "$ERR"
run_assay run "$SUITES/evals.yaml" -o "$SCRATCH/e.jsonl" --skip-bad-lines
expect_eq "skipping goes on" 0 "$CODE"
expect_match "skipped line reported" "skipped: .*evals\.jsonl:3:1: not valid JSON" "$ERR"
expect_eq "samples as they are" '[["1",true],["2",true],["4",false]]' \
    "$(jq_of "$SCRATCH/e.jsonl" '[.[] | select(.type == "result") | [.case, .pass]]')"

# Prompt variants carry their own params (the stop of their format) over
# the target's; a case's params go over both; `stream` stays the target's.
stop_server
start_server --answers "$CASES/answers.jsonl" --log "$SCRATCH/stops-log.jsonl"
cat >"$SCRATCH/stops.yaml" <<YAML
targets:
  - {name: t, model: m-stops, base_url: "$BASE_URL", params: {stop: ["T"], max_tokens: 9}}
prompts:
  - {name: qa, prompt: "Q: {{q}}", params: {stop: ["Q:"]}}
  - {name: plain, prompt: "{{q}}"}
cases:
  - {id: a, q: one}
  - {id: b, q: two, params: {max_tokens: 3}}
checks:
  - contains: x
YAML
run_assay run "$SCRATCH/stops.yaml" -o "$SCRATCH/stops.jsonl"
expect_eq "four requests answered" 4 \
    "$(jq_of "$SCRATCH/stops.jsonl" '[.[] | select(.type == "result")] | length')"
expect_eq "prompt params over the target's, case params over both" \
    '[["Q: one",["Q:"],9],["Q: two",["Q:"],3],["one",["T"],9],["two",["T"],3]]' \
    "$(jq_of "$SCRATCH/stops-log.jsonl" '[.[] | select(.body.model == "m-stops") | [.body.messages[-1].content, .body.stop, .body.max_tokens]] | sort')"
sed 's/params: {stop: \["Q:"\]}/params: {stream: true}/' "$SCRATCH/stops.yaml" >"$SCRATCH/stops-bad.yaml"
run_assay validate "$SCRATCH/stops-bad.yaml"
expect_eq "stream in a prompt's params exits 2" 2 "$CODE"
expect_match "stream in a prompt's params named" "stops-bad\.yaml:4:45: 'stream' belongs to the target" "$ERR"

# validate: counts, and every bad line listed.
run_assay validate "$SUITES/matrix.yaml"
expect_eq "validate exits 0" 0 "$CODE"
expect_match "validate counts requests" "requests  16 " "$OUT"
expect_match "validate names prompts" "prompts   2: plain, shouted" "$OUT"
run_assay validate "$SUITES/evals.yaml"
expect_eq "validate with a bad line exits 2" 2 "$CODE"
expect_match "validate lists the line" "evals\.jsonl:3:1: not valid JSON" "$ERR"
run_assay validate --skip-bad-lines "$SUITES/evals.yaml"
expect_eq "validate skipping exits 0" 0 "$CODE"
expect_match "validate counts skips" "cases     3 \(1 bad line skipped\)" "$OUT"

finish
