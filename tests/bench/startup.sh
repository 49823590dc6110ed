#!/usr/bin/env bash
# startup.sh - benchmark 5: what one `assay run` costs before and after
# its requests: a one-case suite against nginx on 127.0.0.1 (instant
# reply), the run record written and the summary printed. Measured
# with hyperfine (10 warm-up runs, then 100), next to `assay version`
# (process start and dynamic linking alone) and the same request sent by
# curl. Without hyperfine, a loop of 100 runs gives the mean. CPU is user
# plus system time, which other work on the machine disturbs less than
# wall time.
# Target (issue 10): under 10 ms for the one-case suite.
#
#   tests/bench/startup.sh             RUNS (100)
set -euo pipefail
. "$(dirname "$0")/nginx.sh"
bench_init

runs=${RUNS:-100}
bench_cases "$SCRATCH/cases.jsonl" 1
bench_suite "$SCRATCH/suite.yaml" cases.jsonl
nginx_start 0
run_cmd="$ASSAY run $SCRATCH/suite.yaml -j 1 --no-cache -q -o $SCRATCH/run.jsonl"
version_cmd="$ASSAY version"
curl_cmd="curl -s -o /dev/null -H Content-Type:application/json -d '$BENCH_REQUEST' $OPENAI_BASE_URL/chat/completions"
$run_cmd >/dev/null
grep -q '^{"type":"result".*"pass":true' "$SCRATCH/run.jsonl" ||
    { echo "startup.sh: the one case did not pass" >&2; exit 1; }

echo "benchmark 5: startup, a one-case suite"
echo "machine: $(bench_machine)"
echo "endpoint: $(nginx -v 2>&1 | sed 's/.*: //'), ${NGINX_WORKERS:-1} worker, 127.0.0.1, instant reply"
printf '%-28s %10s %10s %10s %10s\n' command mean "+/- sd" min "CPU"
if command -v hyperfine >/dev/null; then
    echo "(hyperfine, $runs runs after 10 warm-up runs)"
    hyperfine --shell=none --warmup 10 --runs "$runs" --style none \
        --export-csv "$SCRATCH/startup.csv" \
        -n "assay run (1 case)" "$run_cmd" \
        -n "assay version" "$version_cmd" \
        -n "curl (the same request)" "$curl_cmd" >/dev/null
    # command,mean,stddev,median,user,system,min,max (seconds)
    tail -n +2 "$SCRATCH/startup.csv" |
        while IFS=, read -r name mean sd _ user system min _; do
            printf '%-28s %7.2f ms %7.2f ms %7.2f ms %7.2f ms\n' "$name" \
                "$(calc "$mean * 1000")" "$(calc "$sd * 1000")" \
                "$(calc "$min * 1000")" "$(calc "($user + $system) * 1000")"
        done
    mean=$(sed -n '2p' "$SCRATCH/startup.csv" | cut -d, -f2)
else
    echo "(a loop of $runs runs; no hyperfine)"
    start=$(date +%s.%N)
    for _ in $(seq 1 "$runs"); do $run_cmd >/dev/null; done
    end=$(date +%s.%N)
    mean=$(calc "($end - $start) / $runs")
    printf '%-28s %7.2f ms\n' "assay run (1 case)" "$(calc "$mean * 1000")"
fi
verdict=missed
awk -v m="$mean" 'BEGIN { exit !(m < 0.010) }' && verdict=met
echo "target: under 10 ms for a one-case suite: $(calc "$mean * 1000" '%.2f') ms ($verdict)"
