# lib.sh - what the end-to-end tests share: a scratch folder, the fake
# server on a free loopback port, and assertions that print both values.
#
# Each test is a bash script that sources this file; meson passes ASSAY
# (the binary under test), FAKE_SERVER and SOURCE_ROOT in the environment.
set -u

: "${ASSAY:?ASSAY must name the assay binary}"
: "${FAKE_SERVER:?FAKE_SERVER must name the fake server binary}"
: "${SOURCE_ROOT:?SOURCE_ROOT must name the source tree}"

CASES="$SOURCE_ROOT/tests/cli/cases"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/assay-e2e.XXXXXX")
SERVER_PID=
FAILURES=0
CHECKS=0

cleanup() {
    stop_server
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
# Each test works in its own folder, so that what a run keeps relative to
# the working directory (the response cache in .assay/, records named by
# default) is its own: tests run in parallel, and one's cached answers
# would be another's hits.
cd "$SCRATCH" || exit 1

# start_server ARGS...: starts the fake server on port 0 and sets PORT and
# BASE_URL from the "port N" line it prints when ready.
start_server() {
    stop_server # one server at a time: a second would outlive the test
    local out="$SCRATCH/server.out"
    rm -f "$out" # else the last server's "port N" line may be read
    "$FAKE_SERVER" --port 0 "$@" >"$out" 2>"$SCRATCH/server.err" &
    SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        if grep -q '^port ' "$out" 2>/dev/null; then
            PORT=$(sed -n 's/^port //p' "$out")
            BASE_URL="http://127.0.0.1:$PORT/v1"
            return 0
        fi
        sleep 0.05
    done
    echo "the fake server did not start:" >&2
    cat "$SCRATCH/server.err" >&2
    exit 1
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=
    fi
}

# run_assay ARGS...: runs assay, keeping stdout, stderr and the exit code in
# OUT, ERR and CODE.
run_assay() {
    # ASSAY_WRAPPER (set by `meson test --setup valgrind`) runs the binary
    # under memcheck; unset, it is run as it is.
    ${ASSAY_WRAPPER:-} "$ASSAY" "$@" >"$SCRATCH/stdout" 2>"$SCRATCH/stderr"
    CODE=$?
    OUT=$(cat "$SCRATCH/stdout")
    ERR=$(cat "$SCRATCH/stderr")
}

fail() {
    FAILURES=$((FAILURES + 1))
    echo "FAIL: $*" >&2
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
    CHECKS=$((CHECKS + 1))
    if [ "$2" != "$3" ]; then
        fail "$1: expected '$2', got '$3'"
    fi
}

# expect_match WHAT REGEX TEXT
expect_match() {
    CHECKS=$((CHECKS + 1))
    if ! printf '%s' "$3" | grep -Eq -- "$2"; then
        fail "$1: /$2/ not found in:
$3"
    fi
}

# expect_no_match WHAT FIXED-STRING FILE...
expect_absent() {
    local what=$1 needle=$2
    shift 2
    CHECKS=$((CHECKS + 1))
    if grep -rqF -- "$needle" "$@"; then
        fail "$what: '$needle' found in $(grep -rlF -- "$needle" "$@" | tr '\n' ' ')"
    fi
}

# jq_of FILE FILTER: jq over a JSON Lines file, as one compact answer.
jq_of() {
    jq -c -s "$2" "$1"
}

finish() {
    echo "$CHECKS checks, $FAILURES failed"
    [ "$FAILURES" -eq 0 ]
}
