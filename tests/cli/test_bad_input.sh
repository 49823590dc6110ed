#!/usr/bin/env bash
# Bad input exits 2 with a message that names the file, line and field;
# results computed before a bad dataset line stay in the record.
. "$(dirname "$0")/lib.sh"

run_assay run "$CASES/unknown_key.yaml"
expect_eq "unknown key exits 2" 2 "$CODE"
expect_match "unknown key message" \
    "^assay: .*unknown_key\.yaml:7:1: unknown key 'chekcs' in the suite" "$ERR"

run_assay run "$CASES/unknown_check.yaml"
expect_eq "unknown check exits 2" 2 "$CODE"
expect_match "unknown check message" \
    "unknown_check\.yaml:8:5: unknown check 'icontain' \(did you mean 'icontains'\?\)" "$ERR"

run_assay validate "$CASES/syntax_error.yaml"
expect_eq "syntax error exits 2" 2 "$CODE"
expect_match "syntax error position" "syntax_error\.yaml:[0-9]+:[0-9]+: " "$ERR"

run_assay run "$SCRATCH/no-such-suite.yaml"
expect_eq "missing suite exits 2" 2 "$CODE"
expect_match "missing suite message" "cannot read .*no-such-suite\.yaml" "$ERR"

run_assay run "$CASES/basic.yaml" -j 0
expect_eq "bad -j exits 2" 2 "$CODE"
expect_match "bad -j message" "^assay: -j takes a number" "$ERR"

run_assay frobnicate
expect_eq "unknown command exits 2" 2 "$CODE"

start_server --answers "$CASES/answers.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/missing_var.yaml" -o "$SCRATCH/missing.jsonl"
expect_eq "missing variable exits 2" 2 "$CODE"
expect_match "missing variable message" "case 'fr': variable 'contry' is not defined" "$ERR"

OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/bad_dataset.yaml" -j 4 -o "$SCRATCH/bad.jsonl"
expect_eq "bad dataset line exits 2" 2 "$CODE"
expect_match "bad dataset message" "bad_line\.jsonl:3:[0-9]+: not valid JSON" "$ERR"
expect_match "says where the results are" "results before this are in $SCRATCH/bad.jsonl" "$ERR"
expect_eq "results before the bad line are kept" '["de","fr"]' \
    "$(jq_of "$SCRATCH/bad.jsonl" '[.[] | select(.type == "result") | .case] | sort')"
expect_eq "no summary for a stopped run" '[]' \
    "$(jq_of "$SCRATCH/bad.jsonl" '[.[] | select(.type == "summary")]')"

run_assay validate "$CASES/basic.yaml"
expect_eq "valid suite exits 0" 0 "$CODE"
expect_match "validate says so" "suite 'basic' is valid, with 2 target" "$OUT"

finish
