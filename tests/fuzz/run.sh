#!/usr/bin/env bash
# Fuzzes every target (or those named) with libFuzzer, SECONDS each
# (default 300): builds them with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer into build-fuzzclang/ (ASSAY_FUZZ_BUILD), and
# runs them one after the other over the seed corpus in tests/fuzz/corpus/.
# What libFuzzer finds stays in the build folder: the grown corpus in
# fuzz-work/corpus/TARGET, crashes, leaks and hangs (over 5 s) in
# fuzz-work/artifacts/. docs/fuzzing.md says what to do with them.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# Exits 1 when any target found something, after running them all.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. scripts/install-deps.sh
# shellcheck disable=SC2086
install_deps --with $FUZZ_PACKAGES

seconds=${1:-300}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] &&
    targets=(suite jsonl csv template chat sse schema record)

build=${ASSAY_FUZZ_BUILD:-build-fuzzclang}
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" --buildtype=debugoptimized \
        -Dfuzzing=true -Dtests=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
meson compile -C "$build" "${targets[@]/#/fuzz_}" >/dev/null

# A UBSan report is a crash too: halt_on_error makes libFuzzer keep the
# input that caused it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The dictionary each target mutates with (tests/fuzz/dict/).
dict_of() {
    case $1 in
        chat|jsonl|record) echo json ;;
        *) echo "$1" ;;
    esac
}

work=$build/fuzz-work
mkdir -p "$work/artifacts"
found=()
for t in "${targets[@]}"; do
    mkdir -p "$work/corpus/$t"
    log=$work/$t.log
    status=0
    # The first folder receives what libFuzzer finds; the seeds stay clean.
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=5 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="tests/fuzz/dict/$(dict_of "$t").dict" \
        -artifact_prefix="$work/artifacts/$t-" \
        "$work/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    if [ "$status" -eq 0 ]; then
        printf '%-9s ok     %s runs, %s\n' "$t" "${runs:-?}" "${cov:-cov: ?}"
    else
        printf '%-9s FOUND  see %s\n' "$t" "$log"
        found+=("$t")
    fi
done
if [ ${#found[@]} -gt 0 ]; then
    echo "fuzzing found problems in: ${found[*]} (inputs in $work/artifacts)"
    exit 1
fi
