#!/usr/bin/env bash
# kill -9 at a random moment, then --resume, for several seeds: the final
# record holds every (case, target, prompt, repeat) exactly once, and each
# result is the one an uninterrupted run gives (output, verdict, score,
# check reasons, finish reason, usage). Half the seeds also cut the record
# inside its last line, as a crash in the middle of a write leaves it (and
# one cuts only the newline): the resume cuts that line off and sends its
# request again.
. "$(dirname "$0")/lib.sh"

CASES_N=300
ALL=$((CASES_N * 2))
for i in $(seq 1 "$CASES_N"); do
    printf '{"id": "k%d", "q": "question %d", "expected": "answer %d"}\n' "$i" "$i" \
        "$((i % 5 == 0 ? 0 : i))"
done >cases.jsonl
for i in $(seq 1 "$CASES_N"); do
    printf '{"match": "question %d", "reply": "The answer %d is %s."}\n' "$i" "$i" \
        "$([ $((i % 3)) = 0 ] && echo short || echo 'a longer reply of more words')"
done >answers.jsonl
cat >suite.yaml <<'EOF'
name: killed
targets:
  - {name: whole, model: fake-whole}
  - {name: streamed, model: fake-streamed, params: {stream: true}}
prompt: "{{q}}"
dataset: cases.jsonl
checks:
  - icontains: "{{expected}}"
  - word-count: {min: 4, max: 7}
EOF
# 300 cases x 2 targets at -j 8 with 20 ms a request: about 1.5 s a run.
start_server --answers answers.jsonl --delay-ms 20
export OPENAI_BASE_URL=$BASE_URL

# What a result is, less what differs from run to run (latency, ids,
# attempts), keyed by what --resume keys it by; sorted, one per line.
results() {
    jq -c 'select(.type == "result") | [.case, .target, .prompt, .repeat,
        {output, pass, score, checks, finish_reason, usage, model, error}]' "$1" | sort
}
groups() { tail -n1 "$1" | jq -c '[.groups[] | [.target, .results, .passed, .failed, .errors, .score_mean]]'; }

run_assay run suite.yaml -j 8 -o full.jsonl --no-cache -q
expect_eq "the uninterrupted run" 0 "$CODE"
results full.jsonl >full.results
expect_eq "the uninterrupted run's results" "$ALL" "$(wc -l <full.results | tr -d ' ')"

# cut_last_line RECORD HOW: truncates the file inside its last line:
# `mid` at a random byte of it, `newline` just before its newline.
cut_last_line() {
    local size last
    size=$(wc -c <"$1")
    last=$(tail -n1 "$1" | wc -c) # with its newline
    if [ "$2" = newline ]; then
        truncate -s $((size - 1)) "$1"
    else
        truncate -s $((size - last + 1 + RANDOM % (last - 2))) "$1"
    fi
}

for seed in 11 23 37 41 58; do
    RANDOM=$seed
    REC=kill$seed.jsonl
    # Killed between 0.1 s and 1.3 s in: from a few results to most.
    AT_MS=$((100 + RANDOM % 1200))
    "$ASSAY" run suite.yaml -j 8 -o "$REC" --no-cache -q >/dev/null 2>&1 &
    PID=$!
    sleep "$(printf '%d.%03d' $((AT_MS / 1000)) $((AT_MS % 1000)))"
    kill -9 "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    BEFORE=$(grep -c '"type":"result"' "$REC")
    CUT=none
    if [ $((seed % 2)) = 1 ] && [ "$(wc -l <"$REC")" -ge 2 ]; then
        CUT=mid
        [ "$seed" = 37 ] && CUT=newline
        cut_last_line "$REC" "$CUT"
    fi
    WHAT="seed $seed (killed at ${AT_MS} ms, $BEFORE results, cut: $CUT)"
    echo "$WHAT"
    expect_eq "$WHAT: killed before the end" true "$([ "$BEFORE" -lt "$ALL" ] && echo true)"
    run_assay run suite.yaml -j 8 --resume "$REC" --no-cache -q
    expect_eq "$WHAT: the resume finishes" 0 "$CODE"
    expect_eq "$WHAT: every line is whole JSON" 0 "$(jq -c . "$REC" >/dev/null 2>&1; echo $?)"
    results "$REC" >"$REC.results"
    expect_eq "$WHAT: every result exactly once" "$ALL" \
        "$(cut -d, -f1-4 "$REC.results" | uniq | wc -l | tr -d ' ')"
    expect_eq "$WHAT: the uninterrupted run's results" "" \
        "$(diff full.results "$REC.results" | head -5)"
    expect_eq "$WHAT: the uninterrupted run's summary" "$(groups full.jsonl)" "$(groups "$REC")"
    expect_eq "$WHAT: one header, one summary" "1 1" \
        "$(jq -s -r '"\(map(select(.type == "run")) | length) \(map(select(.type == "summary")) | length)"' "$REC")"
done

finish
