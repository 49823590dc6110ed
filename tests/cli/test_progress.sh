#!/usr/bin/env bash
# Progress on stderr in both modes. In a log: plain lines (every 10% or
# 5 s) with no control character at all. On a terminal (a pseudo-terminal
# made by script(1)): one live line redrawn in place, with a bar, counts,
# rate, time left, pass rate, errors, retries and tokens, at most 4 times
# a second, cleared before the summary. -q shows none of it.
. "$(dirname "$0")/lib.sh"

if ! command -v script >/dev/null; then
    echo "script(1) from util-linux is needed for the terminal half" >&2
    exit 1
fi

for i in $(seq 1 40); do
    printf '{"id": "p%d", "q": "question %d"}\n' "$i" "$i"
done >cases.jsonl
cat >suite.yaml <<'EOF'
name: progress
targets:
  - {name: t, model: fake, params: {max_tokens: 8}}
prompt: "{{q}}"
dataset: cases.jsonl
checks:
  - contains: "know"
EOF

start_server --delay-ms 100
export OPENAI_BASE_URL=$BASE_URL

# ---- a log: plain lines only
run_assay run suite.yaml -j 2 -o log.jsonl --no-cache
expect_eq "log run exit" 0 "$CODE"
expect_match "plain progress lines" '^progress: [0-9]+ of 40 \([0-9]+%\) done, [0-9.]+ requests/s, [0-9:]+ left, 100\.0% passed, 0 errors, 0 retries, [0-9]+\+[0-9]+ tokens$' "$ERR"
LINES=$(grep -c '^progress:' "$SCRATCH/stderr")
expect_eq "about one line per 10%" true "$([ "$LINES" -ge 9 ] && [ "$LINES" -le 16 ] && echo true || echo "false ($LINES lines)")"
expect_match "the last line says all is done" '^progress: 40 of 40 \(100%\) done' "$(tail -n1 "$SCRATCH/stderr")"
expect_eq "no control characters in a log" 0 "$(LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]' "$SCRATCH/stderr")"
expect_eq "stdout holds the summary only" 0 "$(grep -c '^progress' "$SCRATCH/stdout")"

# ---- a terminal: one live line
START=$(date +%s.%N)
script -qfec "stty cols 120; '$ASSAY' run suite.yaml -j 2 -o tty.jsonl --no-cache" /dev/null >tty.out 2>&1
CODE=$?
END=$(date +%s.%N)
expect_eq "tty run exit" 0 "$CODE"
TTY=$(LC_ALL=C tr -d '\000' <tty.out)
CR=$'\r'
ESC=$'\033'
expect_match "redrawn in place" "${CR}${ESC}\[K\[#+\.*\] [0-9]+/40 " "$TTY"
expect_match "the live line's fields" "[0-9]+/40 [0-9.]+/s ETA [0-9?:]+ pass 100\.0% 0 err 0 retry [0-9.k]+/[0-9.k]+ tok" "$TTY"
expect_match "the bar fills as it goes" "\[#{20,}\.*\] 3[0-9]/40 " "$TTY"
DRAWS=$(printf '%s' "$TTY" | grep -o "${ESC}\[K\[" | wc -l)
MAX=$(awk -v s="$START" -v e="$END" 'BEGIN { printf "%d", (e - s) * 4 + 3 }')
expect_eq "at most 4 redraws a second ($DRAWS in $(awk -v s="$START" -v e="$END" 'BEGIN { printf "%.1f", e - s }') s)" true \
    "$([ "$DRAWS" -ge 2 ] && [ "$DRAWS" -le "$MAX" ] && echo true || echo false)"
expect_match "cleared before the summary" "${CR}${ESC}\[K(${CR})?suite: progress" "$TTY"
expect_eq "no plain lines on a terminal" 0 "$(grep -c '^progress:' tty.out)"

# -v on a terminal: the failure replaces the live line, which comes back.
cat >answers.jsonl <<'EOF'
{"match": "question 3", "reply": "Paris"}
EOF
stop_server
start_server --delay-ms 50 --answers answers.jsonl
export OPENAI_BASE_URL=$BASE_URL
script -qfec "stty cols 120; '$ASSAY' run suite.yaml -j 2 -v -o v.jsonl --no-cache" /dev/null >v.out 2>&1
VOUT=$(LC_ALL=C tr -d '\000' <v.out)
expect_match "-v on a terminal" "${CR}${ESC}\[KFAIL case 'p3', target 't':" "$VOUT"

# -q: nothing but the verdict
script -qfec "'$ASSAY' run suite.yaml -q -o q.jsonl --no-cache" /dev/null >q.out 2>&1
expect_eq "-q on a terminal" "PASS" "$(tr -d '\r' <q.out)"

finish
