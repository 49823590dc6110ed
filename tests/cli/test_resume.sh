#!/usr/bin/env bash
# Stopping and finishing runs. Ctrl-C (once: the requests in flight are
# recorded; twice: they are abandoned) writes an interrupted summary, exits
# 3 and prints the command that finishes the run; kill -9 at a few moments
# leaves a record that --resume repairs (a cut last line is cut off, never
# read) and finishes. Each time the final record holds every (case,
# target, prompt, repeat) of an uninterrupted run exactly once, and a
# resume sends only what was missing.
. "$(dirname "$0")/lib.sh"

for i in $(seq 1 60); do
    printf '{"id": "r%d", "q": "question %d"}\n' "$i" "$i"
done >cases.jsonl
cat >suite.yaml <<'EOF'
name: resumable
targets:
  - {name: a, model: fake-a}
  - {name: b, model: fake-b}
prompts:
  - {name: plain, prompt: "{{q}}"}
  - {name: polite, prompt: "Please: {{q}}"}
repeat: 2
dataset: cases.jsonl
checks:
  - contains: "know"
EOF
# 60 cases x 2 targets x 2 prompts x 2 repeats
ALL=480
LOG=$SCRATCH/requests.jsonl
start_server --delay-ms 40 --log "$LOG"
export OPENAI_BASE_URL=$BASE_URL
requests() { if [ -f "$LOG" ]; then wc -l <"$LOG" | tr -d ' '; else echo 0; fi; }

# Every key of a record, sorted, once per result line.
keys() { jq -r 'select(.type == "result") | [.case, .target, .prompt, .repeat] | @tsv' "$1" | sort; }

run_assay run suite.yaml -j 8 -o full.jsonl --no-cache -q
expect_eq "the uninterrupted run" 0 "$CODE"
keys full.jsonl >full.keys
expect_eq "the uninterrupted run's results" "$ALL" "$(wc -l <full.keys | tr -d ' ')"
expect_eq "... each once" "$ALL" "$(uniq full.keys | wc -l | tr -d ' ')"

# expect_complete WHAT RECORD: every key of the full run, exactly once, and
# one closing summary that is not interrupted.
expect_complete() {
    keys "$2" >"$2.keys"
    expect_eq "$1: every result exactly once" "" "$(diff full.keys "$2.keys" | head -5)"
    expect_eq "$1: one summary, at the end" "1 summary" \
        "$(grep -c '"type":"summary"' "$2") $(tail -n1 "$2" | jq -r .type)"
    expect_eq "$1: not interrupted" null "$(tail -n1 "$2" | jq .interrupted)"
    expect_eq "$1: the summary counts all" "$ALL" \
        "$(tail -n1 "$2" | jq '[.groups[].results] | add')"
}

# wait_for_results RECORD N: until the record holds N results (5 s at most).
wait_for_results() {
    local i n
    for i in $(seq 1 100); do
        n=$(grep -c '"type":"result"' "$1" 2>/dev/null)
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.05
    done
}

# ---- Ctrl-C once: in flight finishes, interrupted summary, exit 3
"$ASSAY" run suite.yaml -j 8 -o int.jsonl --no-cache >int.out 2>int.err &
PID=$!
wait_for_results int.jsonl 40
kill -INT "$PID"
wait "$PID"
expect_eq "Ctrl-C exit code" 3 "$?"
expect_match "Ctrl-C says it is stopping" "^assay: stopping: the requests in flight finish" "$(cat int.err)"
expect_match "Ctrl-C says how to go on" "^assay: interrupted: [0-9]+ of $ALL done; continue with: assay run suite.yaml -j 8 --no-cache --resume int.jsonl$" "$(cat int.err)"
expect_eq "the summary is marked interrupted" true "$(tail -n1 int.jsonl | jq .interrupted)"
expect_match "the summary of what is done is printed" "^verdict: " "$(cat int.out)"
DONE=$(grep -c '"type":"result"' int.jsonl)
expect_eq "the in-flight requests were recorded, not all were sent" true \
    "$([ "$DONE" -ge 40 ] && [ "$DONE" -lt "$ALL" ] && echo true || echo "false ($DONE)")"
BEFORE=$(requests)
CONTINUE=$(sed -n 's/^assay: interrupted: .*; continue with: //p' int.err)
CONTINUE=${CONTINUE#assay }
# The command as printed, with this binary.
eval "run_assay $CONTINUE -q"
expect_eq "the printed command finishes the run" 0 "$CODE"
expect_complete "after Ctrl-C" int.jsonl
expect_eq "the resume sent only what was missing" "$((ALL - DONE))" "$(($(requests) - BEFORE))"

# ---- Ctrl-C twice: what is in flight is abandoned, not recorded. A slow
# server keeps requests in flight long enough to see it.
stop_server
start_server --delay-ms 1500 --log "$LOG"
export OPENAI_BASE_URL=$BASE_URL
"$ASSAY" run suite.yaml -j 8 -o twice.jsonl --no-cache -q >/dev/null 2>twice.err &
PID=$!
wait_for_results twice.jsonl 8
kill -INT "$PID"
sleep 0.2 # two signals at once would be one
START=$(date +%s.%N)
kill -INT "$PID"
wait "$PID"
CODE=$?
END=$(date +%s.%N)
expect_eq "Ctrl-C twice exit code" 3 "$CODE"
expect_match "Ctrl-C twice abandons" "abandoning the requests in flight" "$(cat twice.err)"
expect_eq "... without waiting for them" true "$(awk -v s="$START" -v e="$END" 'BEGIN { print (e - s < 1.2) ? "true" : "false" }')"
expect_eq "the abandoned requests are not in the record" 8 "$(grep -c '"type":"result"' twice.jsonl)"
expect_eq "an abandoned run still closes its record" true "$(tail -n1 twice.jsonl | jq .interrupted)"
stop_server
start_server --delay-ms 40 --log "$LOG"
export OPENAI_BASE_URL=$BASE_URL
run_assay run suite.yaml -j 8 --resume twice.jsonl --no-cache -q
expect_eq "resume after Ctrl-C twice" 0 "$CODE"
expect_complete "after Ctrl-C twice" twice.jsonl

# ---- kill -9 at a few moments, then --resume (twice in a row for one)
for at in 10 120 300; do
    REC=kill$at.jsonl
    "$ASSAY" run suite.yaml -j 8 -o "$REC" --no-cache -q >/dev/null 2>&1 &
    PID=$!
    wait_for_results "$REC" "$at"
    kill -9 "$PID"
    wait "$PID" 2>/dev/null
    # A crash mid-write leaves a line without its newline.
    printf '{"type":"result","case":"r1","target":"a","prompt":"pla' >>"$REC"
    if [ "$at" = 120 ]; then
        # Killed again while resuming.
        "$ASSAY" run suite.yaml -j 8 --resume "$REC" --no-cache -q >/dev/null 2>&1 &
        PID=$!
        wait_for_results "$REC" 250
        kill -9 "$PID"
        wait "$PID" 2>/dev/null
    fi
    run_assay run suite.yaml -j 8 --resume "$REC" --no-cache -q
    expect_eq "resume after kill -9 at $at results" 0 "$CODE"
    expect_complete "after kill -9 at $at results" "$REC"
    expect_eq "after kill -9 at $at: every line is whole JSON" 0 \
        "$(jq -c . "$REC" >/dev/null 2>&1; echo $?)"
done

# ---- resuming a finished run sends nothing
BEFORE=$(requests)
run_assay run suite.yaml --resume full.jsonl --no-cache -q
expect_eq "resume of a finished run" 0 "$CODE"
expect_eq "it sends nothing" "$BEFORE" "$(requests)"
expect_complete "a finished run resumed" full.jsonl

# ---- what cannot be resumed
cp full.jsonl copy.jsonl
SUM=$(md5sum <copy.jsonl)
run_assay run suite.yaml --resume copy.jsonl --target a
expect_eq "another configuration" 2 "$CODE"
expect_match "... is said" "another configuration of the suite" "$ERR"
run_assay run suite.yaml --resume copy.jsonl --limit 3
expect_eq "another selection" 2 "$CODE"
expect_match "... is said" "another selection of cases" "$ERR"
run_assay run suite.yaml --resume copy.jsonl --shard 0/2
expect_eq "another shard" 2 "$CODE"
expect_eq "a refused resume leaves the record as it was" "$SUM" "$(md5sum <copy.jsonl)"
run_assay run suite.yaml --resume nothing.jsonl
expect_eq "a record that is not there" 2 "$CODE"
run_assay run suite.yaml --resume copy.jsonl -o other.jsonl
expect_eq "--resume with another -o" 2 "$CODE"

finish
