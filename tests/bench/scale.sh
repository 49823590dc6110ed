#!/usr/bin/env bash
# scale.sh - benchmark 4: memory does not grow with the dataset. `assay
# run` streams a generated JSONL dataset of 10,000, 100,000 and 1,000,000
# cases to nginx on 127.0.0.1 (instant replies, 64 in flight) and writes
# the full run record; its peak resident set is printed for each size,
# once for cases with an `id` field (the dataset keeps a digest of each to
# refuse duplicates) and once for cases named by their line number.
# Targets (issue 10): under 20 MB at 100,000 cases, and at 1,000,000
# within 10% of that.
#
#   tests/bench/scale.sh               SIZES ("10000 100000 1000000")
# Needs about 0.7 KB of scratch disk per case for the record.
set -euo pipefail
. "$(dirname "$0")/nginx.sh"
bench_init

sizes=${SIZES:-10000 100000 1000000}
bench_suite "$SCRATCH/suite.yaml" cases.jsonl
nginx_start 0
echo "benchmark 4: peak memory against dataset size"
echo "machine: $(bench_machine)"
echo "endpoint: $(nginx -v 2>&1 | sed 's/.*: //'), ${NGINX_WORKERS:-1} worker, 127.0.0.1, instant replies; 64 in flight"
printf '%-13s %9s %10s %9s %11s %10s\n' ids cases wall cases/s "peak RSS" record
for ids in explicit line; do
    for n in $sizes; do
        bench_cases "$SCRATCH/cases.jsonl" "$n" "$([ "$ids" = line ] && echo noid)"
        measure "$ASSAY" run "$SCRATCH/suite.yaml" -j 64 --no-cache -q \
            -o "$SCRATCH/run.jsonl"
        results=$(grep -c '^{"type":"result".*"pass":true' "$SCRATCH/run.jsonl" || true)
        if [ "$results" -ne "$n" ]; then
            echo "scale.sh: $results of $n cases passed" >&2
            exit 1
        fi
        printf '%-13s %9d %9.2fs %9.0f %8.1f MB %7.0f MB\n' "$ids" "$n" \
            "$M_WALL" "$(calc "$n / $M_WALL")" "$M_RSS" \
            "$(calc "$(stat -c %s "$SCRATCH/run.jsonl") / 1048576")"
        eval "rss_${ids}_$n=$M_RSS"
        rm -f "$SCRATCH/run.jsonl"
    done
done
# target LABEL: the two targets for one kind of ids, when both were measured.
target() {
    local small big growth verdict
    eval "small=\${rss_${1}_100000:-} big=\${rss_${1}_1000000:-}"
    [ -n "$small" ] || return 0
    verdict=missed
    awk -v r="$small" 'BEGIN { exit !(r < 20) }' && verdict=met
    echo "target ($1 ids): under 20 MB at 100,000 cases: $small MB ($verdict)"
    [ -n "$big" ] || return 0
    growth=$(calc "100 * ($big / $small - 1)" '%+.1f')
    verdict=missed
    awk -v g="$growth" 'BEGIN { exit !(g <= 10) }' && verdict=met
    echo "target ($1 ids): 1,000,000 cases within 10% of 100,000: $growth% ($verdict)"
}
target explicit
target line
