#!/usr/bin/env bash
# The command line itself: every command's --help, success and failure
# paths and exit codes; -q, -v and --json; ASSAY_* variables and which
# wins; --target, --prompt, --repeat; --dry-run and --max-cost; and an
# unwritable record refused before a single request is sent.
. "$(dirname "$0")/lib.sh"

LOG=$SCRATCH/requests.jsonl
requests() { if [ -f "$LOG" ]; then wc -l <"$LOG" | tr -d ' '; else echo 0; fi; }
results() { jq_of "$1" '[.[] | select(.type == "result")] | length'; }

start_server --answers "$CASES/answers.jsonl" --log "$LOG"
export OPENAI_BASE_URL=$BASE_URL

# ---- assay --help, unknown commands
run_assay --help
expect_eq "--help exit" 0 "$CODE"
for c in run compare report validate merge models cache version; do
    expect_match "--help lists $c" "^  $c " "$OUT"
done
run_assay
expect_eq "no command" 2 "$CODE"
run_assay frobnicate
expect_eq "unknown command" 2 "$CODE"
expect_match "unknown command message" "unknown command 'frobnicate'" "$ERR"
for c in run compare report validate merge models cache version; do
    run_assay "$c" --help
    expect_eq "$c --help exit" 0 "$CODE"
    expect_match "$c --help example" "^ *assay $c" "$OUT"
done

# ---- run: the four exit codes
run_assay run "$CASES/basic.yaml" -o run.jsonl
expect_eq "run passes" 0 "$CODE"
expect_match "run prints the verdict" '^verdict: PASS$' "$OUT"
sed 's/min: 0.7/min: 0.9/' "$CASES/basic.yaml" >strict.yaml
run_assay run strict.yaml -o strict.jsonl
expect_eq "a failed gate" 1 "$CODE"
run_assay run missing.yaml
expect_eq "a missing suite" 2 "$CODE"
run_assay run "$CASES/basic.yaml" -j 0
expect_eq "a bad option value" 2 "$CODE"
expect_match "bad -j said" "^assay: -j takes a number" "$ERR"
run_assay run "$CASES/basic.yaml" --no-such-option
expect_eq "an unknown option" 2 "$CODE"
run_assay run "$CASES/basic.yaml" -q -v
expect_eq "-q with -v" 2 "$CODE"

# An output that cannot be written fails before any request is sent.
BEFORE=$(requests)
run_assay run "$CASES/basic.yaml" -o /dev/full
expect_eq "a full disk" 3 "$CODE"
expect_match "full disk said" "/dev/full: cannot write the run record: No space left on device" "$ERR"
touch plainfile
run_assay run "$CASES/basic.yaml" -o plainfile/run.jsonl
expect_eq "an unwritable path" 3 "$CODE"
expect_match "unwritable path said" "plainfile" "$ERR"
expect_eq "nothing was sent for either" "$BEFORE" "$(requests)"

# ---- -q, -v, --json
run_assay run "$CASES/basic.yaml" -q -o q.jsonl
expect_eq "-q exit" 0 "$CODE"
expect_eq "-q prints only the verdict" "PASS" "$OUT"
expect_eq "-q prints no progress" "" "$ERR"
run_assay run strict.yaml -q -o q2.jsonl
expect_eq "-q failing verdict" "FAIL" "$OUT"
run_assay run "$CASES/basic.yaml" -v -o v.jsonl
expect_match "-v names each failing case" "^FAIL case 'es', target 'alpha':" "$ERR"
expect_match "-v gives the reason" "^  icontains: expected to contain \(case-insensitive\) 'Madrid'; found 'Barcelona'" "$ERR"
expect_eq "-v: only the failures" 2 "$(grep -c '^FAIL case' "$SCRATCH/stderr")"
run_assay run "$CASES/basic.yaml" --json -o j.jsonl
expect_eq "--json exit" 0 "$CODE"
expect_eq "--json is one JSON document" "true" "$(printf '%s' "$OUT" | jq -e -s 'length == 1' 2>&1)"
expect_match "--json holds the suite" '"basic"' "$OUT"

# ---- report, compare, validate, models, cache, version, merge
run_assay report run.jsonl
expect_eq "report" 0 "$CODE"
run_assay report strict.jsonl
expect_eq "report of a failed gate" 1 "$CODE"
run_assay report nothing.jsonl
expect_eq "report of a missing record" 2 "$CODE"
run_assay compare run.jsonl q.jsonl
expect_eq "compare" 0 "$CODE"
run_assay compare run.jsonl nothing.jsonl
expect_eq "compare with a missing record" 2 "$CODE"
run_assay validate "$CASES/basic.yaml"
expect_eq "validate" 0 "$CODE"
run_assay validate "$CASES/unknown_key.yaml"
expect_eq "validate a bad suite" 2 "$CODE"
run_assay models "$CASES/basic.yaml"
expect_eq "models" 0 "$CODE"
expect_match "models lists the server's" "fake-model" "$OUT"
run_assay models "$CASES/basic.yaml" --target nope
expect_eq "models of an unknown target" 2 "$CODE"
run_assay cache stats --cache "$SCRATCH/.assay/cache.db"
expect_eq "cache stats" 0 "$CODE"
run_assay cache frobnicate
expect_eq "cache with a bad subcommand" 2 "$CODE"
run_assay version
expect_eq "version" 0 "$CODE"
expect_match "version says it" '^assay [0-9]+\.[0-9]+\.[0-9]+$' "$OUT"
run_assay version extra
expect_eq "version takes no argument" 2 "$CODE"
run_assay merge run.jsonl
expect_eq "merge without -o" 2 "$CODE"
run_assay merge run.jsonl -o merged.jsonl
expect_eq "merge of a record that is no shard" 2 "$CODE"
expect_match "merge says why" "not a shard record" "$ERR"

# ---- the environment, and the command line over it
ASSAY_CONCURRENCY=lots run_assay run "$CASES/basic.yaml"
expect_eq "a bad ASSAY_CONCURRENCY" 2 "$CODE"
expect_match "the variable is named" "ASSAY_CONCURRENCY" "$ERR"
ASSAY_LIMIT=1 run_assay run "$CASES/basic.yaml" -o env1.jsonl
expect_eq "ASSAY_LIMIT takes one case" 2 "$(results env1.jsonl)"
ASSAY_LIMIT=1 run_assay run "$CASES/basic.yaml" --limit 3 -o env3.jsonl
expect_eq "--limit wins over ASSAY_LIMIT" 6 "$(results env3.jsonl)"
ASSAY_OUTPUT=$SCRATCH/envout.jsonl ASSAY_QUIET=1 run_assay run "$CASES/basic.yaml"
expect_eq "ASSAY_QUIET" "PASS" "$OUT"
expect_eq "ASSAY_OUTPUT" 8 "$(results envout.jsonl)"
ASSAY_QUIET=maybe run_assay run "$CASES/basic.yaml"
expect_eq "a flag takes 1 or 0" 2 "$CODE"

# ---- the suite, narrowed and overridden
run_assay run "$CASES/basic.yaml" --target beta -o beta.jsonl
expect_eq "--target exit" 0 "$CODE"
expect_eq "--target keeps one" '["beta"]' "$(jq_of beta.jsonl '[.[] | select(.type == "result") | .target] | unique')"
expect_eq "--target header" '["beta"]' "$(head -n1 beta.jsonl | jq -c '[.targets[].name]')"
run_assay run "$CASES/basic.yaml" --target gamma
expect_eq "--target unknown" 2 "$CODE"
expect_match "--target names the known" "it has: alpha, beta" "$ERR"
run_assay run "$CASES/basic.yaml" --prompt default --repeat 2 -o rep.jsonl
expect_eq "--repeat 2" 16 "$(results rep.jsonl)"
expect_eq "--repeat in the header" 2 "$(head -n1 rep.jsonl | jq .repeat)"
run_assay run "$CASES/basic.yaml" --prompt other
expect_eq "--prompt unknown" 2 "$CODE"
run_assay run "$CASES/basic.yaml" --repeat 0
expect_eq "--repeat 0" 2 "$CODE"

# ---- --dry-run sends nothing
BEFORE=$(requests)
RECORDS=$(ls .assay/runs 2>/dev/null | wc -l)
run_assay run "$CASES/basic.yaml" --dry-run
expect_eq "--dry-run exit" 0 "$CODE"
expect_match "--dry-run renders" "^  user: What is the capital of France\?$" "$OUT"
expect_match "--dry-run counts" "^  requests   8 = cases x 2 target" "$OUT"
run_assay run "$CASES/basic.yaml" --dry-run --json --repeat 3 --limit 2
expect_eq "--dry-run --json" '[2,12]' "$(printf '%s' "$OUT" | jq -c '[.cases, .requests]')"
expect_eq "--dry-run sent nothing" "$BEFORE" "$(requests)"
expect_eq "--dry-run wrote no record" "$RECORDS" "$(ls .assay/runs 2>/dev/null | wc -l)"

# ---- --max-cost
run_assay run "$CASES/basic.yaml" --max-cost 1
expect_eq "--max-cost without prices" 2 "$CODE"
expect_match "--max-cost names the model" "no price is known for model 'model-a'" "$ERR"
sed 's/model: model-a/model: gpt-4o-mini/; s/model: model-b/model: gpt-4o/' "$CASES/basic.yaml" >priced.yaml
run_assay run priced.yaml --dry-run --json
expect_eq "a priced dry run has a cost" "true" "$(printf '%s' "$OUT" | jq '.cost > 0 and .unpriced == 0')"
run_assay run priced.yaml --max-cost 0.001 -j 1 -o capped.jsonl --no-cache
expect_eq "--max-cost stops the run" 3 "$CODE"
expect_match "--max-cost says so" "stopped at the cost limit of \\\$0.0010" "$ERR"
expect_match "--max-cost says how to go on" "continue with: assay run priced.yaml --max-cost 0.001 -j 1 --no-cache --resume capped.jsonl" "$ERR"
expect_eq "--max-cost record is interrupted" true "$(tail -n1 capped.jsonl | jq .interrupted)"
expect_eq "--max-cost sent less than all" true "$(jq_of capped.jsonl '[.[] | select(.type == "result")] | length < 8')"

finish
