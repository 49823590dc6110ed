#!/usr/bin/env bash
# dataset.sh - the dataset benchmark: cases per second and peak memory for
# loading, checking and rendering 100,000 and 1,000,000 generated JSON Lines
# cases (GSM8K-sized), so that one can see memory stay flat as the file
# grows. Builds an optimised library into build-bench/ (or $BUILD) first.
#
# usage: tests/bench/dataset.sh [N...]     (default: 100000 1000000)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)

if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release -Dtests=disabled >/dev/null
fi
meson compile -C "$BUILD" lib/assay:shared_library >/dev/null
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -I"$ROOT/include" \
    "$ROOT/tests/bench/bench_dataset.c" -o "$BUILD/bench_dataset" \
    -L"$BUILD/lib" -lassay -Wl,-rpath,"$BUILD/lib"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "loading + checking + rendering (assay_suite_validate), one process each:"
for n in "${SIZES[@]}"; do
    "$BUILD/bench_dataset" "$n" plain "$WORK"
done
# Explicit ids cost 16 bytes each in the duplicate-id set.
"$BUILD/bench_dataset" "${SIZES[-1]}" ids "$WORK"
