#!/usr/bin/env bash
# promptfoo configs run as they are: providers, prompts (inline, chat JSON,
# a .txt of several), defaultTest, inline tests with array vars, assertions
# mapped to checks; the promptfoo samples in ../shared/data/promptfoo run
# from configs written at test time (the data is read where it lies); what
# assay cannot run is listed with its places and nothing is sent. Also the
# suite features promptfoo configs lean on: a case's own `params`, and
# few-shot messages among a case's own input messages.
. "$(dirname "$0")/lib.sh"

PF=$CASES/promptfoo
SHARED=${SHARED_DIR:-$SOURCE_ROOT/../shared}/data/promptfoo
LOG=$SCRATCH/requests.jsonl
start_server --answers "$PF/answers.jsonl" --log "$LOG"
export OPENAI_BASE_URL=$BASE_URL
export PF_TEST_KEY=sk-pf-test

results() { jq_of "$1" "[.[] | select(.type == \"result\")] | $2"; }

# The translation config: 3 tests (one expands to two) x 4 prompts x 2
# providers.
run_assay run "$PF/promptfooconfig.yaml" -o "$SCRATCH/t.jsonl"
R=$SCRATCH/t.jsonl
expect_eq "config runs" 0 "$CODE"
expect_eq "results" 32 "$(results "$R" length)"
expect_eq "suite named after its folder" '"promptfoo"' \
    "$(head -n1 "$R" | jq -c .suite)"
expect_eq "prompts" '["prompt-1","prompts/chat.json","terse:1","terse:2"]' \
    "$(results "$R" '[.[].prompt] | unique')"
expect_eq "targets" '["openai:completion:model-complete","small"]' \
    "$(results "$R" '[.[].target] | unique')"
expect_eq "defaultTest's assertions first" \
    '["not-contains","icontains","levenshtein"]' \
    "$(results "$R" '[.[] | select(.case == "1")][0] | [.checks[].type]')"
expect_eq "a translated case passes" 'true' \
    "$(results "$R" '[.[] | select(.case == "1" and .target == "small" and .prompt == "prompt-1")][0].pass')"
expect_eq "rouge-n is rouge-1, under its metric" \
    '[["2","rouge-1","overlap",true],["3","rouge-1","overlap",false]]' \
    "$(results "$R" '[.[] | select(.target == "small" and .prompt == "prompt-1" and (.case == "2" or .case == "3")) | [.case, .checks[1].type, .checks[1].metric, .checks[1].pass]] | sort')"
expect_eq "contains-any weighs 2, latency checks" '["contains-any","latency"]' \
    "$(results "$R" '[.[] | select(.case == "4")][0] | [.checks[1:][].type]')"
expect_eq "provider config in every chat request" '[[0,64,7]]' \
    "$(jq_of "$LOG" '[.[] | select(.path == "/v1/chat/completions") | .body | [.temperature, .max_tokens, .seed]] | unique')"
expect_eq "apiKeyEnvar names the key" '["Bearer sk-pf-test"]' \
    "$(jq_of "$LOG" '[.[] | select(.body.model == "model-small") | .authorization] | unique')"
expect_eq "openai:completion uses /completions" '["/v1/completions"]' \
    "$(jq_of "$LOG" '[.[] | select(.body.model == "model-complete") | .path] | unique')"
expect_eq "chat prompt from JSON, options.prefix first" \
    '[["system","Be brief. You translate into German."],["user","Good night"]]' \
    "$(jq_of "$LOG" '[.[] | select(.body.model == "model-small" and .body.messages[0].role == "system" and (.body.messages[0].content | test("German")))][0].body.messages | map([.role, .content])')"

# What assay cannot run: every item at its place, and no request at all.
: >"$LOG"
run_assay run "$PF/unsupported.yaml" -o "$SCRATCH/u.jsonl"
expect_eq "unsupported config exits 2" 2 "$CODE"
expect_match "counted" "unsupported\.yaml: 13 things assay cannot run \(nothing was sent\)" "$ERR"
expect_match "Nunjucks tag" "3:5: the Nunjucks tag '\{% if %\}'" "$ERR"
expect_match "Nunjucks filter" "4:5: the Nunjucks filter 'replace'" "$ERR"
expect_match "JavaScript prompt" "5:5: JavaScript prompts" "$ERR"
expect_match "other provider" "8:5: 'anthropic' providers" "$ERR"
expect_match "Python provider" "9:9: Python providers" "$ERR"
expect_match "literal key" "12:7: an API key written in the config" "$ERR"
expect_match "JavaScript assertion" "17:15: JavaScript assertions" "$ERR"
expect_match "Python assertion" "19:15: Python assertions" "$ERR"
expect_match "transform" "23:9: 'transform' \(JavaScript\) on an assertion" "$ERR"
expect_match "thresholds" "24:5: tests with different thresholds" "$ERR"
expect_match "missing check" "27:15: 'is-sql' assertions \(assay has no such check\)" "$ERR"
expect_match "webhook" "33:15: webhook assertions" "$ERR"
expect_eq "nothing sent" 0 "$(wc -l <"$LOG" | tr -d ' ')"
expect_eq "no record" no "$([ -e "$SCRATCH/u.jsonl" ] && echo yes || echo no)"

# The shared samples, each from a config written here that names it.
sample_config() { # NAME TESTS_FILE PROMPT [EXTRA YAML]
    mkdir -p "$SCRATCH/$1"
    {
        echo "prompts: ['$3']"
        echo "providers: [openai:chat:fake]"
        echo "tests: file://$SHARED/$2"
        [ $# -ge 4 ] && printf '%s\n' "$4"
    } >"$SCRATCH/$1/promptfooconfig.yaml"
    echo "$SCRATCH/$1/promptfooconfig.yaml"
}

C=$(sample_config simple-csv simple-csv_tests.csv 'Rephrase this in {{language}}: {{body}}')
run_assay run "$C" -o "$SCRATCH/s.jsonl"
expect_eq "simple-csv runs" 0 "$CODE"
expect_eq "simple-csv: icontains from __expected, all pass" \
    '[["1",true],["2",true],["3",true],["4",true]]' \
    "$(results "$SCRATCH/s.jsonl" '[.[] | [.case, .pass]] | sort')"

C=$(sample_config jsonl jsonl-test-cases_cases.jsonl 'Translate the following text to {{target_language}}: {{text}}')
run_assay run "$C" -o "$SCRATCH/j.jsonl"
expect_eq "jsonl runs to a verdict" 0 "$CODE"
expect_eq "jsonl: vars and equals per line" '[["1",true],["2",false]]' \
    "$(results "$SCRATCH/j.jsonl" '[.[] | [.case, .pass]] | sort')"

: >"$LOG"
C=$(sample_config simple-test simple-test_tests.csv 'Pirate: {{body}}')
run_assay run "$C"
expect_eq "fn: assertions refuse the run" 2 "$CODE"
expect_match "fn: lines named" "simple-test_tests\.csv:2, 3: JavaScript assertions" "$ERR"
expect_eq "fn: nothing sent" 0 "$(wc -l <"$LOG" | tr -d ' ')"

C=$(sample_config support eval-customer-support-rubric_tests.csv 'Reply to {{customer_message}}' \
    'defaultTest: {assert: [{type: icontains, value: "{{language}}"}]}')
run_assay run "$C"
expect_eq "mixed __threshold refuses the run" 2 "$CODE"
expect_match "threshold row named" "eval-customer-support-rubric_tests\.csv:5: tests with different thresholds" "$ERR"

C=$(sample_config metadata csv-metadata_tests.csv 'Explain {{topic}}')
run_assay validate "$C"
expect_eq "csv-metadata validates" 0 "$CODE"
expect_match "csv-metadata cases" "cases +3" "$OUT"

C=$(sample_config config-metadata config-csv-metadata_tests.csv 'Explain {{topic}}')
run_assay validate "$C"
expect_eq "config-csv-metadata validates" 0 "$CODE"

C=$(sample_config self-grading eval-self-grading_tests.csv 'You are a shop assistant. {{name}} asks: {{question}}')
run_assay validate "$C"
expect_eq "grade: cells validate" 0 "$CODE"
expect_match "self-grading cases" "cases +10" "$OUT"

C=$(sample_config mmlu mmlu_mmlu_data.csv 'Question: {{question}} Choices: {{choices}}' \
    'defaultTest: {assert: [{type: contains, value: "{{answer}}"}]}')
run_assay validate "$C"
expect_eq "mmlu validates" 0 "$CODE"
expect_match "mmlu cases" "cases +25" "$OUT"

# A case's own params over the target's.
: >"$LOG"
run_assay run "$PF/case_params.yaml" -o "$SCRATCH/p.jsonl"
expect_eq "case params run" 0 "$CODE"
expect_eq "case params merged per request" '[["one",0,10,3],["two",0.5,10,null]]' \
    "$(jq_of "$LOG" '[.[] | .body | [.messages[0].content, .temperature, .max_tokens, .seed]] | sort')"
run_assay run "$PF/case_params_bad.yaml" -o "$SCRATCH/pb.jsonl"
expect_match "stream refused in case params" "case '1': 'params' must be a mapping of request parameters, without 'stream'" "$ERR"

# Few-shot examples among a case's own messages.
: >"$LOG"
run_assay run "$PF/fewshot_input.yaml" -o "$SCRATCH/f.jsonl"
expect_eq "fewshot with input runs" 0 "$CODE"
expect_eq "shots after the system message" \
    '["system","user","assistant","user","assistant","user"]' \
    "$(jq_of "$LOG" '[.[0].body.messages[].role]')"
expect_eq "the case's question last" '"Capital of France?"' \
    "$(jq_of "$LOG" '.[0].body.messages[-1].content')"

finish
