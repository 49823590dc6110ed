#!/usr/bin/env bash
# assay compare: two runs of one suite against the fake server, the
# candidate scripted to break known cases. The comparison must find exactly
# those transitions and exit 1; a change too small to detect must say so and
# exit 0. Also: the reverse comparison improves, the matrix of a run with
# two targets, the regression flags, reproducible bootstrap intervals, and
# bad input.
. "$(dirname "$0")/lib.sh"

DATASET=$SOURCE_ROOT/datasets/quickstart.jsonl
SUITE=$CASES/compare.yaml

# answers_breaking FILE IDS...: an answer table that answers every question
# of the dataset right except the listed cases, which get a wrong answer
# (or an HTTP 500 for ids given as ID:500).
answers_breaking() {
    local out=$1
    shift
    local wrong=() failing=() id
    for id in "$@"; do
        case $id in
        *:500) failing+=("${id%:500}") ;;
        *) wrong+=("$id") ;;
        esac
    done
    jq -c --argjson wrong "$(printf '%s\n' "${wrong[@]}" | jq -R . | jq -sc 'map(select(. != ""))')" \
        --argjson failing "$(printf '%s\n' "${failing[@]}" | jq -R . | jq -sc 'map(select(. != ""))')" \
        'if (.id | IN($failing[])) then {match: .question, reply: "x", status: 500}
         elif (.id | IN($wrong[])) then {match: .question, reply: "I am not sure."}
         else {match: .question, reply: ("It is " + .answer + ".")} end' \
        "$DATASET" >"$out"
}

# run_with ANSWERS RECORD [SUITE]: one run of the suite against a fresh server.
run_with() {
    start_server --answers "$1"
    OPENAI_BASE_URL=$BASE_URL run_assay run "${3:-$SUITE}" -j 8 -q -o "$2"
    stop_server
}

answers_breaking "$SCRATCH/base.answers"
run_with "$SCRATCH/base.answers" "$SCRATCH/base.jsonl"
expect_eq "baseline run" 0 "$CODE"
expect_eq "baseline passes all" 40 \
    "$(jq_of "$SCRATCH/base.jsonl" '[.[] | select(.type == "result" and .pass == true)] | length')"

# The candidate breaks nine answers and gets an HTTP error on a tenth.
BROKEN="q03 q07 q11 q15 q19 q23 q27 q31 q35"
answers_breaking "$SCRATCH/broken.answers" $BROKEN q05:500
run_with "$SCRATCH/broken.answers" "$SCRATCH/broken.jsonl"

run_assay compare "$SCRATCH/base.jsonl" "$SCRATCH/broken.jsonl"
expect_eq "a regression exits 1" 1 "$CODE"
expect_match "pairs" "^target 'main': 40 pairs$" "$OUT"
FAILING=$(printf '%s\n' "$OUT" | sed -n '/^newly failing/,/^newly passing/p' | sed '1d;$d' | awk '{print $1}' | tr '\n' ' ')
expect_eq "exactly the broken cases, sorted" "q03 q05 q07 q11 q15 q19 q23 q27 q31 q35 " "$FAILING"
expect_match "the error is shown as such" '^  q05  \[pass -> error\]$' "$OUT"
expect_match "newly failing count" '^newly failing \(10\):$' "$OUT"
expect_match "nothing newly passing" '^newly passing \(0\)$' "$OUT"
# McNemar exact: b = 10, c = 0, p = 2 / 2^10
expect_match "pass regressed" '^pass +40 +100\.0% +75\.0% +-25\.0 +\[-[0-9.]+, -[0-9.]+\] +0\.0020 +[0-9.]+ +regressed$' "$OUT"
expect_match "score regressed" '^score +40 .* regressed$' "$OUT"
expect_match "verdict" '^verdict: FAIL \([0-9]+ metrics regressed\)$' "$OUT"

# The same inputs give the same intervals.
FIRST=$OUT
run_assay compare "$SCRATCH/base.jsonl" "$SCRATCH/broken.jsonl"
expect_eq "reproducible" "$FIRST" "$OUT"
run_assay compare "$SCRATCH/base.jsonl" "$SCRATCH/broken.jsonl" --seed 7 --resamples 500
expect_match "seed shown" 'bootstrap: 500 resamples, seed 7' "$OUT"
expect_eq "still a regression" 1 "$CODE"

# Tolerating a drop of 30 points: significant, but within the margin.
run_assay compare "$SCRATCH/base.jsonl" "$SCRATCH/broken.jsonl" --max-drop 0.3
expect_eq "within the allowed drop exits 0" 0 "$CODE"
expect_match "allowed drop" '^pass .* dropped within the allowed margin$' "$OUT"
expect_match "passing verdict" '^verdict: PASS$' "$OUT"

# The other way round: ten cases newly pass.
run_assay compare "$SCRATCH/broken.jsonl" "$SCRATCH/base.jsonl"
expect_eq "an improvement exits 0" 0 "$CODE"
expect_match "improved" '^pass +40 +75\.0% +100\.0% +\+25\.0 .* improved$' "$OUT"
expect_match "newly passing" '^newly passing \(10\):$' "$OUT"
expect_match "error to pass" '^  q05  \[error -> pass\]$' "$OUT"

# One broken case of 40: too small a change for this suite to see.
answers_breaking "$SCRATCH/one.answers" q20
run_with "$SCRATCH/one.answers" "$SCRATCH/one.jsonl"
run_assay compare "$SCRATCH/base.jsonl" "$SCRATCH/one.jsonl"
expect_eq "an undetectable change exits 0" 0 "$CODE"
expect_match "the one transition" '^newly failing \(1\):$' "$OUT"
expect_match "q20" '^  q20$' "$OUT"
expect_match "too small to tell" '^pass +40 +100\.0% +97\.5% +-2\.5 .* 1\.0000 +[0-9.]+ +suite too small to tell$' "$OUT"
expect_match "one case verdict" '^verdict: PASS$' "$OUT"

# Two targets in one run: the comparison matrix, each pair with its test.
run_with "$SCRATCH/one.answers" "$SCRATCH/two.jsonl" "$CASES/compare_two.yaml"
expect_eq "two-target run" 0 "$CODE"
run_assay compare "$SCRATCH/two.jsonl"
expect_eq "the matrix exits 0" 0 "$CODE"
expect_match "matrix heading" '^comparison matrix: compare-two' "$OUT"
expect_match "the pair" "^target 'small' -> 'large': 40 pairs$" "$OUT"

# Bad input exits 2.
run_assay compare "$SCRATCH/base.jsonl" "$SCRATCH/missing.jsonl"
expect_eq "missing record" 2 "$CODE"
expect_match "names the file" 'missing\.jsonl' "$ERR"
run_assay compare "$SCRATCH/base.jsonl" "$SCRATCH/broken.jsonl" --alpha 1.5
expect_eq "bad alpha" 2 "$CODE"
run_assay compare
expect_eq "no arguments" 2 "$CODE"
head -n1 "$SCRATCH/base.jsonl" >"$SCRATCH/twice.jsonl"
grep '"type":"result"' "$SCRATCH/base.jsonl" | head -n1 >>"$SCRATCH/twice.jsonl"
grep '"type":"result"' "$SCRATCH/base.jsonl" | head -n1 >>"$SCRATCH/twice.jsonl"
run_assay compare "$SCRATCH/twice.jsonl" "$SCRATCH/base.jsonl"
expect_eq "a result twice" 2 "$CODE"
expect_match "says which" 'twice\.jsonl:3: a result appears twice: case' "$ERR"
run_assay compare --help
expect_eq "help" 0 "$CODE"
expect_match "help text" '^usage: assay compare BASE\.jsonl CAND\.jsonl' "$OUT"

finish
