#!/usr/bin/env bash
# Output and echo targets: scoring answers produced elsewhere, and trying
# checks on the rendered prompt, with no server at all.
. "$(dirname "$0")/lib.sh"

OPENAI_BASE_URL=http://127.0.0.1:9/v1 run_assay run "$CASES/local.yaml" --no-cache \
    -o "$SCRATCH/run.jsonl"
RECORD=$SCRATCH/run.jsonl
expect_eq "runs without a server" 0 "$CODE"
expect_eq "recorded answers" '[["a","yes, of course",true],["b","maybe",false],["c","42",true]]' \
    "$(jq_of "$RECORD" '[.[] | select(.target == "recorded") | [.case, .output, .pass]] | sort')"
expect_eq "the prompt as the answer" '[["a","Say yes.",true],["b","Say no.",true],["c","Say 42.",true]]' \
    "$(jq_of "$RECORD" '[.[] | select(.target == "prompt") | [.case, .output, .pass]] | sort')"
expect_eq "no attempts, no errors" '[[0,null]]' \
    "$(jq_of "$RECORD" '[.[] | select(.type == "result") | [.attempts, .error]] | unique')"

sed 's/output: answer/output: reply/' "$CASES/local.yaml" >"$SCRATCH/missing.yaml"
run_assay run "$SCRATCH/missing.yaml" --no-cache -o "$SCRATCH/missing.jsonl"
expect_eq "a missing field is an error result" \
    '"the case has no field '"'"'reply'"'"' to answer with"' \
    "$(jq_of "$SCRATCH/missing.jsonl" '[.[] | select(.target == "recorded")][0].error.message')"

# exec checks: exit status, a JSON verdict, a timeout, and the opt-in.
run_assay run "$CASES/exec.yaml" --no-cache -o "$SCRATCH/exec.jsonl"
expect_eq "exec verdicts" '[["a",[true,true]],["b",[false,false]]]' \
    "$(jq_of "$SCRATCH/exec.jsonl" '[.[] | select(.type == "result") | [.case, (.checks | map(.pass))]] | sort')"
expect_match "exit status reason" "exit status 1" \
    "$(jq_of "$SCRATCH/exec.jsonl" '[.[] | select(.case == "b")][0].checks[0].reason')"
expect_match "a JSON verdict's reason" "read 14 bytes" \
    "$(jq_of "$SCRATCH/exec.jsonl" '[.[] | select(.case == "a")][0].checks[1].reason')"
run_assay run "$CASES/exec_slow.yaml" --no-cache -o "$SCRATCH/slow.jsonl"
expect_match "a program past its timeout is stopped" "'sleep' ran past 200 ms" \
    "$(jq_of "$SCRATCH/slow.jsonl" '[.[] | select(.type == "result")][0].error.message')"
grep -v '^allow_exec' "$CASES/exec.yaml" >"$SCRATCH/no-exec.yaml"
run_assay validate "$SCRATCH/no-exec.yaml"
expect_eq "exec is off unless allowed" 2 "$CODE"
expect_match "and says how" "allow it with .allow_exec: true." "$ERR"

finish
