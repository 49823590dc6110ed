#!/usr/bin/env bash
# The quickstart: installs what is missing, builds assay, and runs
# examples/quickstart.yaml. It uses your endpoint when OPENAI_BASE_URL (and
# OPENAI_API_KEY) are set; otherwise it starts the project's local stand-in
# server on a free loopback port. Extra arguments go to `assay run`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/install-deps.sh
install_deps

build=${ASSAY_BUILD:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release >/dev/null
meson compile -C "$build" >/dev/null

server_pid=
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap stop_server EXIT

if [ -z "${OPENAI_BASE_URL:-}" ]; then
    ready=$(mktemp)
    "$build/tests/server/assay-fake-server" --port 0 \
        --answers tests/server/answers/quickstart.jsonl >"$ready" &
    server_pid=$!
    for _ in $(seq 1 100); do grep -q '^port ' "$ready" && break; sleep 0.05; done
    port=$(sed -n 's/^port //p' "$ready")
    rm -f "$ready"
    [ -n "$port" ] || { echo "the stand-in server did not start" >&2; exit 3; }
    export OPENAI_BASE_URL="http://127.0.0.1:$port/v1"
    echo "OPENAI_BASE_URL is not set: using the local stand-in server at $OPENAI_BASE_URL" >&2
fi

set +e
"$build/cli/assay" run examples/quickstart.yaml "$@"
code=$?
set -e
exit "$code"
