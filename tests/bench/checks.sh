#!/usr/bin/env bash
# checks.sh - the check benchmark: checks per second for regex, bleu and
# rouge-l (and the other families listed in bench_checks.c) on 100,000
# generated answers, each with its own templated reference. Builds an
# optimised build into build-bench/ (or $BUILD) first.
#
# usage: tests/bench/checks.sh [N]     (default: 100000)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}

if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release -Dtests=disabled >/dev/null
fi
meson compile -C "$BUILD" bench_checks >/dev/null
"$BUILD/tests/bench/bench_checks" "${1:-100000}"
