#!/usr/bin/env bash
# Engine throughput against the fake server on 127.0.0.1, next to a bare
# libcurl multi loop (tests/bench/bare_multi.c) sending the same requests
# to the same server, so that what the harness costs is told apart from
# what the server and loopback allow:
#  1. requests per second at zero server delay, N = 10,000 (64 in flight);
#  2. wall time against the ideal N x delay / concurrency at a 50 ms delay
#     with 256 in flight (target: within 5%).
# Builds an optimised copy in build-bench/ and prints the figures.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. scripts/install-deps.sh
install_deps --with bc
build=build-bench
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
meson compile -C "$build" >/dev/null
meson compile -C "$build" bare_multi >/dev/null
assay=$build/cli/assay
bare=$build/tests/bench/bare_multi
server=$build/tests/server/assay-fake-server

scratch=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$scratch"; }
trap cleanup EXIT

# dataset N: N cases whose questions the server answers from its table.
make_cases() {
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
        printf "{\"id\":\"c%d\",\"question\":\"q%d\",\"answer\":\"a%d\"}\n", i, i % 100, i % 100 }' \
        >"$scratch/cases.jsonl"
    awk 'BEGIN { for (i = 0; i < 100; i++)
        printf "{\"match\":\"q%d\",\"reply\":\"the answer is a%d\"}\n", i, i }' \
        >"$scratch/answers.jsonl"
    cat >"$scratch/suite.yaml" <<SUITE
name: bench
targets:
  - model: bench
prompt: "{{question}}"
dataset: cases.jsonl
checks:
  - contains: "{{answer}}"
  - regex: "answer is a[0-9]+"
SUITE
}

start_server() {
    "$server" --port 0 --answers "$scratch/answers.jsonl" "$@" >"$scratch/port" &
    server_pid=$!
    for _ in $(seq 1 100); do grep -q '^port ' "$scratch/port" && break; sleep 0.05; done
    export OPENAI_BASE_URL="http://127.0.0.1:$(sed -n 's/^port //p' "$scratch/port")/v1"
}

stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=; }

# run_timed J: runs the suite with J in flight; prints wall seconds.
run_timed() {
    local start end
    start=$(date +%s.%N)
    "$assay" run "$scratch/suite.yaml" -j "$1" --no-cache -q -o "$scratch/run.jsonl" >/dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

# bare_timed N J: the bare loop's wall seconds for N requests, J in flight.
bare_timed() {
    "$bare" "$OPENAI_BASE_URL/chat/completions" "$1" "$2" |
        sed -n 's/.*in flight: \([0-9.]*\) s.*/\1/p'
}

n=10000
make_cases $n
start_server
wall=$(run_timed 64)
bare_wall=$(bare_timed $n 64)
stop_server
printf 'zero delay, N=%d, 64 in flight:\n' $n
printf '  assay      %6.2f s  %6.0f cases/s\n' "$wall" "$(echo "$n / $wall" | bc -l)"
printf '  bare loop  %6.2f s  %6.0f requests/s  (assay reaches %.0f%% of it)\n' \
    "$bare_wall" "$(echo "$n / $bare_wall" | bc -l)" "$(echo "100 * $bare_wall / $wall" | bc -l)"

n=5000
make_cases $n
start_server --delay-ms 50
wall=$(run_timed 256)
bare_wall=$(bare_timed $n 256)
stop_server
ideal=$(echo "$n * 0.05 / 256" | bc -l)
printf '50 ms delay, N=%d, 256 in flight (ideal %.2f s):\n' $n "$ideal"
printf '  assay      %6.2f s  %5.1f%% over the ideal\n' "$wall" "$(echo "($wall / $ideal - 1) * 100" | bc -l)"
printf '  bare loop  %6.2f s  %5.1f%% over the ideal\n' "$bare_wall" "$(echo "($bare_wall / $ideal - 1) * 100" | bc -l)"
