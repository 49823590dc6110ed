#!/usr/bin/env bash
# Sharding and merge on one machine: runs examples/quickstart.yaml as two
# shards (in parallel, as two CI jobs or two pods would), joins their
# records with `assay merge`, which prints the merged record's summary,
# whose statistics and gates are those of the unsharded run. A shard's own
# gates judge only its half, so its exit code 1 is not a failure here; the
# merged record's verdict is the script's exit code.
#
#   examples/shard.sh [OUT_DIR] [assay run options...]
#
# OUT_DIR (default assay-shards) gets shard-0.jsonl, shard-1.jsonl and
# run.jsonl. ASSAY names the assay binary (default build/cli/assay);
# OPENAI_BASE_URL and OPENAI_API_KEY the endpoint. The README shows the
# same split as a GitHub Actions matrix and a Kubernetes Indexed Job.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
assay=${ASSAY:-$root/build/cli/assay}
out=${1:-assay-shards}
shift $(($# > 0 ? 1 : 0))
suite=$root/examples/quickstart.yaml
shards=2
mkdir -p "$out" || exit 3

pids=()
records=()
for i in $(seq 0 $((shards - 1))); do
    "$assay" run "$suite" --shard "$i/$shards" -o "$out/shard-$i.jsonl" -q "$@" >/dev/null &
    pids+=($!)
    records+=("$out/shard-$i.jsonl")
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
    code=$?
    if [ "$code" -gt 1 ]; then
        echo "shard $i/$shards could not be completed (exit $code)" >&2
        exit "$code"
    fi
done

exec "$assay" merge "${records[@]}" -o "$out/run.jsonl"
