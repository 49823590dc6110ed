#!/usr/bin/env bash
# latency.sh - benchmark 2: a latency-bound run, where the harness should
# cost nothing but the server's time. nginx on 127.0.0.1 answers every
# POST after 50 ms (echo_sleep); `assay run` sends N = 5,000 cases with 256
# in flight, then N = 2,000 with 64 in flight, and its wall time is set
# against the ideal N x 0.05 / concurrency (the issue's measure; the
# target is within 5%) and against the bare libcurl loop's for the same N.
# The requests go in waves, so ceil(N / concurrency) x 0.05 s is the
# floor any client meets; it is printed too.
#
#   tests/bench/latency.sh             BENCH_REPEATS, DELAY_MS (50),
#                                      NGINX_WORKERS (1)
# assay's wall time is the whole command, start and summary included.
set -euo pipefail
. "$(dirname "$0")/nginx.sh"
bench_init

delay_ms=${DELAY_MS:-50}
delay=$(calc "$delay_ms / 1000")
bench_suite "$SCRATCH/suite.yaml" cases.jsonl

# assay_wall N J: wall seconds of one run of N cases with J in flight.
assay_wall() {
    measure "$ASSAY" run "$SCRATCH/suite.yaml" -j "$2" --no-cache -q \
        -o "$SCRATCH/run.jsonl"
    local ok
    ok=$(grep -c '^{"type":"result".*"pass":true' "$SCRATCH/run.jsonl" || true)
    if [ "$ok" -ne "$1" ]; then
        echo "latency.sh: only $ok of $1 cases passed; see $SCRATCH/run.jsonl" >&2
        exit 1
    fi
    echo "$M_WALL"
}

bare_wall() {
    timeout 300 "$BARE" "$OPENAI_BASE_URL/chat/completions" "$1" "$2" |
        sed -n 's/.*in flight: \([0-9.]*\) s.*/\1/p'
}

nginx_start "$delay_ms"
echo "benchmark 2: latency-bound, $delay_ms ms per request"
echo "machine: $(bench_machine)"
echo "endpoint: $(nginx -v 2>&1 | sed 's/.*: //') with echo_sleep, ${NGINX_WORKERS:-1} worker, 127.0.0.1"
echo "checks: contains + regex; median of $BENCH_REPEATS runs each"
printf '%6s %9s %9s %9s %8s %9s %11s %9s\n' N "in flight" ideal waves \
    assay "vs ideal" "bare loop" "vs ideal"
within=yes
for run in "5000 256" "2000 64"; do
    read -r n c <<<"$run"
    bench_cases "$SCRATCH/cases.jsonl" "$n"
    rm -f "$SCRATCH/assay" "$SCRATCH/bare"
    for _ in $(seq 1 "$BENCH_REPEATS"); do
        assay_wall "$n" "$c" >>"$SCRATCH/assay"
        bare_wall "$n" "$c" >>"$SCRATCH/bare"
    done
    a=$(median <"$SCRATCH/assay")
    b=$(median <"$SCRATCH/bare")
    ideal=$(calc "$n * $delay / $c")
    waves=$(calc "int(($n + $c - 1) / $c) * $delay")
    over=$(calc "100 * ($a / $ideal - 1)" '%.1f')
    printf '%6d %9d %8.2fs %8.2fs %7.3fs %+8.1f%% %10.3fs %+8.1f%%\n' "$n" "$c" \
        "$ideal" "$waves" "$a" "$over" "$b" "$(calc "100 * ($b / $ideal - 1)")"
    awk -v o="$over" 'BEGIN { exit !(o <= 5) }' || within=no
done
verdict=missed
[ "$within" = yes ] && verdict=met
echo "target: within 5% of the ideal: $verdict"
