#!/usr/bin/env bash
# overhead.sh - benchmark 1: what the harness costs when the server costs
# nothing. nginx on 127.0.0.1 answers every POST at once with a fixed chat
# completion; `assay run` sends N cases (a templated prompt, a `contains`
# and a `regex` check, the run record written) at 1, 16 and 64 in flight.
# Next to it, at the same connection counts and against the same server:
# the bare libcurl multi loop (bare_multi.c: sends and receives, nothing
# else) for the same N, and wrk POSTing the same body for a few seconds.
# assay/bare says what the harness adds to libcurl; assay/wrk how close it
# is to what the server and loopback allow. The target (issue 10) is
# assay >= 75% of the bare loop at 64 in flight.
#
#   tests/bench/overhead.sh            N=20000 by default; BENCH_REPEATS,
#                                      WRK_SECONDS (3), NGINX_WORKERS (1)
# assay's figure is for the whole command: start, dataset, requests,
# checks, the record and the summary.
set -euo pipefail
. "$(dirname "$0")/nginx.sh"
bench_init

n=${N:-20000}
wrk_seconds=${WRK_SECONDS:-3}
bench_cases "$SCRATCH/cases.jsonl" "$n"
bench_suite "$SCRATCH/suite.yaml" cases.jsonl
cat >"$SCRATCH/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BENCH_REQUEST'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
LUA

# assay_rate J: cases per second of one run with J in flight; also sets
# cpu_us, the CPU time per case in microseconds.
assay_rate() {
    measure "$ASSAY" run "$SCRATCH/suite.yaml" -j "$1" --no-cache -q \
        -o "$SCRATCH/run.jsonl"
    local ok
    ok=$(grep -c '^{"type":"result".*"pass":true' "$SCRATCH/run.jsonl" || true)
    if [ "$ok" -ne "$n" ]; then
        echo "overhead.sh: only $ok of $n cases passed; see $SCRATCH/run.jsonl" >&2
        exit 1
    fi
    cpu_us=$(calc "$M_CPU * 1e6 / $n" '%.1f')
    calc "$n / $M_WALL" '%.0f'
}

# assay_once J: one assay_rate, its rate and CPU time kept.
assay_once() {
    assay_rate "$1" >>"$SCRATCH/assay"
    echo "$cpu_us" >>"$SCRATCH/cpu"
}

# bare_rate C: the bare loop's requests per second; also sets bare_us, its
# CPU time per request in microseconds (on a busy machine the CPU times
# are steadier than the rates).
bare_rate() {
    /usr/bin/time -f '%U %S' -o "$SCRATCH/bare_time" \
        timeout 300 "$BARE" "$OPENAI_BASE_URL/chat/completions" "$n" "$1" \
        >"$SCRATCH/bare_out"
    bare_us=$(tail -n 1 "$SCRATCH/bare_time" |
        awk -v n="$n" '{ printf "%.1f", ($1 + $2) * 1e6 / n }')
    sed -n 's/.*s, \([0-9]*\)\/s$/\1/p' "$SCRATCH/bare_out"
}

wrk_rate() {
    local threads=$(($1 < 2 ? 1 : 2))
    timeout $((wrk_seconds + 30)) wrk -t "$threads" -c "$1" \
        -d "${wrk_seconds}s" -s "$SCRATCH/post.lua" \
        "$OPENAI_BASE_URL/chat/completions" |
        sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
}

nginx_start 0
echo "benchmark 1: harness overhead at zero latency"
echo "machine: $(bench_machine)"
echo "endpoint: $(nginx -v 2>&1 | sed 's/.*: //'), ${NGINX_WORKERS:-1} worker, 127.0.0.1, return 200 with a ${#NGINX_REPLY}-byte completion"
echo "N = $n cases, checks: contains + regex; median of $BENCH_REPEATS runs each"
printf '%9s %14s %12s %14s %12s %11s %11s %10s\n' "in flight" \
    "assay cases/s" "assay us/case" "bare req/s" "bare us/req" "wrk req/s" \
    "assay/bare" "assay/wrk"
for c in 1 16 64; do
    rm -f "$SCRATCH/assay" "$SCRATCH/cpu" "$SCRATCH/bare" "$SCRATCH/bare_cpu" \
        "$SCRATCH/wrk"
    # assay and the bare loop interleaved, so that a slow moment of the
    # machine hits both, each first in turn; wrk after them, since its
    # seconds of both cores flat out slow whatever runs next.
    for i in $(seq 1 "$BENCH_REPEATS"); do
        [ $((i % 2)) -eq 0 ] || assay_once "$c"
        bare_rate "$c" >>"$SCRATCH/bare"
        echo "$bare_us" >>"$SCRATCH/bare_cpu"
        [ $((i % 2)) -eq 1 ] || assay_once "$c"
    done
    for _ in $(seq 1 "$BENCH_REPEATS"); do
        wrk_rate "$c" >>"$SCRATCH/wrk"
    done
    a=$(median <"$SCRATCH/assay")
    b=$(median <"$SCRATCH/bare")
    w=$(median <"$SCRATCH/wrk")
    printf '%9d %14.0f %12.1f %14.0f %12.1f %11.0f %10.1f%% %9.1f%%\n' \
        "$c" "$a" "$(median <"$SCRATCH/cpu")" "$b" \
        "$(median <"$SCRATCH/bare_cpu")" "$w" \
        "$(calc "100 * $a / $b")" "$(calc "100 * $a / $w")"
    [ "$c" -eq 64 ] && share64=$(calc "100 * $a / $b" '%.1f')
done
verdict=missed
awk -v s="$share64" 'BEGIN { exit !(s >= 75) }' && verdict=met
echo "target: assay >= 75% of the bare loop at 64 in flight: $share64% ($verdict)"
