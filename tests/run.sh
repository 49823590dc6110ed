#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds with
# AddressSanitizer and UndefinedBehaviorSanitizer and warnings as errors,
# and runs every test (unit and end-to-end) with meson.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/install-deps.sh
install_deps --tests

build=${ASSAY_TEST_BUILD:-build-test}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=debug -Dtests=enabled -Dwerror=true \
        -Db_sanitize=address,undefined -Db_lundef=false
fi
meson compile -C "$build"
# Any sanitizer report fails the test that caused it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
meson test -C "$build" --print-errorlogs --num-processes 2 "$@"

# CI only (CI=true, whole suite): a short libFuzzer pass over each fuzz
# target in its own clang build; tests/fuzz/run.sh alone runs them long.
if [ "${CI:-}" = true ] && [ $# -eq 0 ]; then
    tests/fuzz/run.sh "${ASSAY_CI_FUZZ_SECONDS:-10}"
fi
