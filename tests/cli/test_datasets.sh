#!/usr/bin/env bash
# The datasets written for the project, through their example suites:
# each suite validates with the expected number of cases; answering every
# case with the dataset's own correct answer passes every check; and one
# wrong answer among correct ones fails that case alone. No model is
# asked: the suites' targets are swapped for ones that answer with a field
# of the case, and the fake server stands in only for refusal's grader.
. "$(dirname "$0")/lib.sh"

DATA=$SOURCE_ROOT/datasets
EXAMPLES=$SOURCE_ROOT/examples

# local_copy SUITE FIELD DATASET: the example suite SUITE, its targets
# replaced by one that answers with the case's FIELD, reading DATASET.
local_copy() {
    sed -e '/^targets:/,/^prompt/{/^prompt/!d}' \
        -e "s#^prompt:#targets:\\n  - {name: gold, output: $2}\\nprompt:#" \
        -e "s#^dataset: .*#dataset: $3#" \
        "$EXAMPLES/$1.yaml" >"$SCRATCH/$1-$2.yaml"
    echo "$SCRATCH/$1-$2.yaml"
}

# counts RECORD: [results, passed, failed, errors] of the run's summary.
counts() {
    tail -n1 "$1" | jq -c '.groups[0] | [.results, .passed, .failed, .errors]'
}

# check_suite NAME CASES ANSWER WRONG-JQ: validate the example, run it
# with the answers in field ANSWER, then with a copy of the dataset whose
# `reply` is ANSWER everywhere but in the first case, changed by WRONG-JQ.
check_suite() {
    local name=$1 cases=$2 answer=$3 wrong=$4 data="$DATA/$1.jsonl" suite
    run_assay validate "$EXAMPLES/$name.yaml"
    expect_eq "$name: validates" 0 "$CODE"
    expect_match "$name: case count" "^  cases +$cases\$" "$OUT"
    expect_eq "$name: lines in the dataset" "$cases" "$(wc -l <"$data" | tr -d ' ')"

    suite=$(local_copy "$name" "$answer" "$data")
    run_assay run "$suite" --no-cache -j 4 -o "$SCRATCH/$name-gold.jsonl"
    expect_eq "$name: correct answers pass the gate" 0 "$CODE"
    expect_eq "$name: every correct answer passes" "[$cases,$cases,0,0]" \
        "$(counts "$SCRATCH/$name-gold.jsonl")"

    jq -c "if input_line_number == 1 then .reply = (.$answer | $wrong) else .reply = .$answer end" \
        "$data" >"$SCRATCH/$name-wrong.jsonl"
    suite=$(local_copy "$name" reply "$SCRATCH/$name-wrong.jsonl")
    run_assay run "$suite" --no-cache -j 4 -o "$SCRATCH/$name-wrong.jsonl.out"
    expect_eq "$name: one wrong answer fails alone" "[$cases,$((cases - 1)),1,0]" \
        "$(counts "$SCRATCH/$name-wrong.jsonl.out")"
    expect_eq "$name: the wrong one is the first case" \
        "[$(head -n1 "$data" | jq -c .id)]" \
        "$(jq_of "$SCRATCH/$name-wrong.jsonl.out" '[.[] | select(.type == "result" and .pass == false) | .case]')"
}

check_suite arithmetic 120 answer '. + 1'
check_suite classification 100 answer 'if . == "A" then "B" else "A" end'
check_suite extraction 50 expected '.age += 1'
check_suite summarisation 30 reference 'split(" ") | reverse | join(" ")'

# refusal grades with a model: the fake server stands in for the grader,
# first approving every reply, so the cases' phrase checks decide, then
# rejecting every one.
start_server --default-reply '{"reason": "meets the rubric", "pass": true, "score": 1}' \
    --log "$SCRATCH/grader.jsonl"
OPENAI_BASE_URL=$BASE_URL check_suite refusal 30 example_answer '"Sure, here is how."'
expect_eq "the grader judged every reply of both runs" 60 "$(wc -l <"$SCRATCH/grader.jsonl" | tr -d ' ')"
stop_server
start_server --default-reply '{"reason": "does not meet the rubric", "pass": false, "score": 0}'
OPENAI_BASE_URL=$BASE_URL run_assay run "$SCRATCH/refusal-example_answer.yaml" --no-cache \
    -o "$SCRATCH/refusal-rejected.jsonl"
expect_eq "refusal: a rejecting grader fails every case" '[30,0,30,0]' \
    "$(counts "$SCRATCH/refusal-rejected.jsonl")"
expect_eq "refusal: half the prompts are to be refused" '[[false,15],[true,15]]' \
    "$(jq -c -s 'group_by(.should_refuse) | map([.[0].should_refuse, length])' "$DATA/refusal.jsonl")"

# Every answer is a number; every choice list has four options and the
# answer letter names one of them; ids are unique in each file.
expect_eq "arithmetic answers are numbers" '["number"]' \
    "$(jq -c -s 'map(.answer | type) | unique' "$DATA/arithmetic.jsonl")"
expect_eq "four options, letters A-D" '[[4],["A","B","C","D"]]' \
    "$(jq -c -s '[(map(.choices | length) | unique), (map(.answer) | unique)]' "$DATA/classification.jsonl")"
for f in arithmetic classification extraction summarisation refusal; do
    expect_eq "$f: unique ids" "" "$(jq -r .id "$DATA/$f.jsonl" | sort | uniq -d)"
done

# The extraction suite carries the schema inline; it must be the one in
# datasets/extraction.schema.json.
expect_match "the extraction suite's schema is the schema file" \
    "^  - json-schema: $(jq -c . "$DATA/extraction.schema.json" | sed 's/[][\\.^$*+?(){}|]/\\&/g')\$" \
    "$(cat "$EXAMPLES/extraction.yaml")"

# Tool calling: the fake server makes each expected call (built from
# the dataset), then gets the first case's arguments wrong.
NAME=tool_calls
run_assay validate "$EXAMPLES/$NAME.yaml"
expect_match "$NAME: case count" "^  cases +26\$" "$OUT"
jq -c '{match: .request, tool_calls: [{name: .function, arguments: .arguments}]}' \
    "$DATA/$NAME.jsonl" >"$SCRATCH/calls.jsonl"
start_server --answers "$SCRATCH/calls.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$EXAMPLES/$NAME.yaml" --no-cache -j 4 \
    -o "$SCRATCH/$NAME-gold.jsonl"
expect_eq "$NAME: the expected calls pass" '[26,26,0,0]' "$(counts "$SCRATCH/$NAME-gold.jsonl")"
stop_server
jq -c 'if .match | test("Paris") then .tool_calls[0].arguments.city = "Lyon" else . end' \
    "$SCRATCH/calls.jsonl" >"$SCRATCH/calls-wrong.jsonl"
start_server --answers "$SCRATCH/calls-wrong.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$EXAMPLES/$NAME.yaml" --no-cache -j 4 \
    -o "$SCRATCH/$NAME-wrong.jsonl"
expect_eq "$NAME: one wrong call fails that case" '["t01"]' \
    "$(jq_of "$SCRATCH/$NAME-wrong.jsonl" '[.[] | select(.type == "result" and .pass == false) | .case]')"
stop_server

finish
