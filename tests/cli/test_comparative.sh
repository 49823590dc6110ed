#!/usr/bin/env bash
# Comparative checks end to end: max-score picks the target whose other
# checks score highest (the first one on a tie), select-best asks the
# grader once per case through the engine and its cache (a well-formed, a
# prose-wrapped and a malformed reply), results wait for every target, a
# run stopped by its deadline still records what it held, and a suite with
# one target is refused.
. "$(dirname "$0")/lib.sh"

DIR=$CASES/comparative
start_server --answers "$DIR/answers.jsonl" --log "$SCRATCH/requests.jsonl"
export OPENAI_BASE_URL=$BASE_URL

verdicts() {
    jq_of "$1" '[.[] | select(.type == "result") |
        [.case, .target, (if .error then .error.kind else .pass end)]] | sort'
}

# ---------------------------------------------------------------- max-score
run_assay run "$DIR/max_score.yaml" --no-cache -o "$SCRATCH/max.jsonl"
expect_eq "max-score: exit code (no gate)" 0 "$CODE"
expect_eq "max-score: the best target passes, a tie goes to the first" \
    '[["fr","long",false],["fr","model",false],["fr","short",true],["pe","long",false],["pe","model",true],["pe","short",false],["xx","long",false],["xx","model","http"],["xx","short",true]]' \
    "$(verdicts "$SCRATCH/max.jsonl")"
expect_eq "max-score: its outcome is one check among the others" \
    '["icontains","equals","max-score"]' \
    "$(jq_of "$SCRATCH/max.jsonl" '[.[] | select(.case == "fr" and .target == "short")][0].checks | map(.type)')"
expect_match "max-score: the winner's reason" \
    "found score 1, the highest of 3 answers" \
    "$(jq_of "$SCRATCH/max.jsonl" '[.[] | select(.case == "fr" and .target == "short")][0].checks[2].reason')"
expect_match "max-score: a loser's reason names the winner" \
    "found score 0.5, below target 'short' with 1" \
    "$(jq_of "$SCRATCH/max.jsonl" '[.[] | select(.case == "fr" and .target == "model")][0].checks[2].reason')"
expect_match "max-score: a tie says who comes first" \
    "tied with target 'model', which comes first" \
    "$(jq_of "$SCRATCH/max.jsonl" '[.[] | select(.case == "pe" and .target == "long")][0].checks[2].reason')"
expect_match "max-score: an errored target takes no part" \
    "the highest of 2 answers" \
    "$(jq_of "$SCRATCH/max.jsonl" '[.[] | select(.case == "xx" and .target == "short")][0].checks[2].reason')"
expect_eq "max-score: counts in the case's score as a check" \
    '[["long",0.333],["model",0.333],["short",1]]' \
    "$(jq_of "$SCRATCH/max.jsonl" '[.[] | select(.case == "fr") | [.target, (.score * 1000 | round / 1000)]] | sort')"

# A threshold nobody reaches: no answer is chosen.
sed 's/^  - max-score$/  - {max-score: {threshold: 1.1}}/' "$DIR/max_score.yaml" \
    >"$SCRATCH/threshold.yaml"
run_assay run "$SCRATCH/threshold.yaml" --no-cache -o "$SCRATCH/threshold.jsonl"
expect_eq "threshold: nobody passes" '[false]' \
    "$(jq_of "$SCRATCH/threshold.jsonl" '[.[] | select(.type == "result" and .error == null) | .pass] | unique')"
expect_match "threshold: and why" "is below the threshold 1.1" \
    "$(jq_of "$SCRATCH/threshold.jsonl" '[.[] | select(.case == "fr" and .target == "short")][0].checks[2].reason')"

# ---------------------------------------------------------------- select-best
: >"$SCRATCH/requests.jsonl"
run_assay run "$DIR/select_best.yaml" --cache "$SCRATCH/cache.db" -o "$SCRATCH/best.jsonl"
expect_eq "select-best: exit code (no gate)" 0 "$CODE"
expect_eq "select-best: the chosen answer passes; a reply naming none fails both" \
    '[["de","model",false],["de","terse",false],["fr","model",false],["fr","terse",true],["pe","model",true],["pe","terse",false]]' \
    "$(verdicts "$SCRATCH/best.jsonl")"
expect_match "select-best: the grader's reason is quoted" \
    "chosen by the grader among 2 answers: 'Paris is shorter.'" \
    "$(jq_of "$SCRATCH/best.jsonl" '[.[] | select(.case == "fr" and .target == "terse")][0].checks[0].reason')"
expect_match "select-best: a loser hears who won" \
    "answer 0 \\(target 'model'\\) chosen instead: 'It answers plainly.'" \
    "$(jq_of "$SCRATCH/best.jsonl" '[.[] | select(.case == "pe" and .target == "terse")][0].checks[0].reason')"
expect_match "select-best: a malformed reply fails with a reason that quotes it" \
    "no answer chosen: the grader's reply names no index: 'Both answers are equally polite" \
    "$(jq_of "$SCRATCH/best.jsonl" '[.[] | select(.case == "de" and .target == "model")][0].checks[0].reason')"
expect_eq "select-best: one grader request per case" 3 \
    "$(jq_of "$SCRATCH/requests.jsonl" '[.[] | select(.body.model == "m-grader")] | length')"
expect_eq "select-best: the question lists every answer, numbered" true \
    "$(jq_of "$SCRATCH/requests.jsonl" '[.[] | select(.body.model == "m-grader") | .body.messages[-1].content | select(contains("fr:"))][0] | contains("<answer index=\"0\">\nParis.\n</answer>\n\n<answer index=\"1\">\nParis\n</answer>")')"
expect_eq "select-best: the grader's usage is counted once per case, apart" \
    '[["de","model",1],["de","terse",0],["fr","model",1],["fr","terse",0],["pe","model",1],["pe","terse",0]]' \
    "$(jq_of "$SCRATCH/best.jsonl" '[.[] | select(.type == "result") | [.case, .target, (.grader.requests // 0)]] | sort')"
expect_eq "select-best: the target's own usage is not the grader's" '[true]' \
    "$(jq_of "$SCRATCH/best.jsonl" '[.[] | select(.target == "model") | (.usage.prompt_tokens != .grader.prompt_tokens)] | unique')"

run_assay run "$DIR/select_best.yaml" --cache "$SCRATCH/cache.db" -o "$SCRATCH/again.jsonl"
expect_eq "select-best: cached run" 0 "$CODE"
expect_eq "select-best: nothing sent again" 6 \
    "$(wc -l <"$SCRATCH/requests.jsonl" | tr -d ' ')"
expect_eq "select-best: same verdicts from the cache" \
    "$(verdicts "$SCRATCH/best.jsonl")" "$(verdicts "$SCRATCH/again.jsonl")"

# ---------------------------------------------------------------- refusals
grep -v '^  - {name: short' "$DIR/max_score.yaml" | grep -v '^  - {name: long' \
    >"$SCRATCH/one-target.yaml"
run_assay validate "$SCRATCH/one-target.yaml"
expect_eq "one target: refused" 2 "$CODE"
expect_match "one target: says why" \
    "check 'max-score': it compares the answers of two or more targets, and the suite has 1" \
    "$ERR"
run_assay run "$SCRATCH/one-target.yaml" --no-cache -o "$SCRATCH/never.jsonl"
expect_eq "one target: nothing run" 2 "$CODE"

grep -v '^grader:' "$DIR/select_best.yaml" >"$SCRATCH/no-grader.yaml"
run_assay validate "$SCRATCH/no-grader.yaml"
expect_eq "no grader: refused" 2 "$CODE"
expect_match "no grader: says what to add" \
    "check 'select-best' is model-graded: give the suite a grader" "$ERR"

# promptfoo's max-score: the providers are compared.
mkdir -p "$SCRATCH/pf"
cat >"$SCRATCH/pf/promptfooconfig.yaml" <<EOF
providers: [openai:chat:m-one, openai:chat:m-two]
prompts: ["What is the capital of {{country}}?"]
tests:
  - vars: {country: France}
    assert:
      - {type: icontains, value: paris}
      - {type: max-score, value: {method: average}}
EOF
run_assay run "$SCRATCH/pf/promptfooconfig.yaml" --no-cache -o "$SCRATCH/pf.jsonl"
expect_eq "promptfoo: max-score runs; a tie goes to the first provider" \
    '[["openai:chat:m-one",true],["openai:chat:m-two",false]]' \
    "$(jq_of "$SCRATCH/pf.jsonl" '[.[] | select(.type == "result") | [.target, .pass]] | sort')"
sed -i 's/^providers: .*/providers: [openai:chat:m-one]/' \
    "$SCRATCH/pf/promptfooconfig.yaml"
run_assay validate "$SCRATCH/pf/promptfooconfig.yaml"
expect_eq "promptfoo: one provider is not runnable" 2 "$CODE"
expect_match "promptfoo: and says so" \
    "'max-score' with fewer than two providers" "$ERR"

# ---------------------------------------------------------------- stopping
# One request at a time: the slow answer is in flight when the deadline
# passes, and the other targets of its case are never asked. It is
# recorded all the same, its comparison not made.
cat >"$SCRATCH/slow.yaml" <<EOF
name: slow
targets:
  - {name: model, model: m-answer}
  - {name: short, output: short}
prompt: "What is the capital of {{country}}?"
cases:
  - {id: slow, country: Slowland, expected: Slowtown, short: Slowtown}
  - {id: fr, country: France, expected: Paris, short: Paris}
checks:
  - icontains: "{{expected}}"
  - max-score
EOF
run_assay run "$SCRATCH/slow.yaml" --no-cache -j 1 --deadline 1 -o "$SCRATCH/slow.jsonl"
expect_eq "deadline: the run stops (resumable)" 3 "$CODE"
expect_eq "deadline: the answer held is recorded" '[["slow","model","check"]]' \
    "$(verdicts "$SCRATCH/slow.jsonl")"
expect_match "deadline: with why it was not compared" \
    "check 'max-score': not compared: the run stopped before every target answered case 'slow'" \
    "$(jq_of "$SCRATCH/slow.jsonl" '[.[] | select(.type == "result")][0].error.message')"
expect_eq "deadline: its answer is kept" '"Slowtown"' \
    "$(jq_of "$SCRATCH/slow.jsonl" '[.[] | select(.type == "result")][0].output')"

finish
