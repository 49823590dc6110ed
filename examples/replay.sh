#!/usr/bin/env bash
# Replay from a committed cache: the first run sends every request of
# examples/quickstart.yaml and keeps each reply in a cache file; every run
# after it replays the suite from that file with `--cache-mode read`,
# sending nothing, so CI can rerun the suite with no key and no network,
# with the same answers and the same verdict every time. A reply the cache
# lacks is an error, never a request.
#
#   examples/replay.sh [CACHE.db [OUT_DIR]]
#
# CACHE.db defaults to examples/quickstart.cache.db (commit it once the
# first run is over), OUT_DIR (the run records) to assay-replay. ASSAY
# names the assay binary (default build/cli/assay). OPENAI_BASE_URL must
# be the same for the filling and the replays: it is part of each cache
# key (no connection is made to it during a replay).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
assay=${ASSAY:-$root/build/cli/assay}
cache=${1:-$root/examples/quickstart.cache.db}
out=${2:-assay-replay}
suite=$root/examples/quickstart.yaml
mkdir -p "$out" || exit 3

if [ ! -e "$cache" ]; then
    echo "filling $cache from ${OPENAI_BASE_URL:-the default endpoint}" >&2
    "$assay" run "$suite" --cache "$cache" --cache-mode write -q \
        -o "$out/fill.jsonl"
    code=$?
    # A fill that could not finish leaves a cache a replay would miss in.
    [ "$code" -le 1 ] || exit "$code"
fi

echo "replaying from $cache" >&2
exec "$assay" run "$suite" --cache "$cache" --cache-mode read \
    -o "$out/replay.jsonl"
