#!/usr/bin/env bash
# reports.sh - the report benchmark: writes every format for a generated
# record of N results (default 100,000: 10 targets x 10,000 cases, answers
# of about 120 bytes, two checks each, 10% failing, 1% errors) and prints
# the seconds and the size of each. With Chromium installed (see
# tests/cli/test_html_chromium.sh), it also opens the HTML report and
# prints how long the page took to load, run its script over every row
# and show the first page of the table: the measure of "still usable".
# Builds an optimised build into build-bench/ (or $BUILD) first.
#
# usage: tests/bench/reports.sh [N]     (default: 100000)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
N=${1:-100000}
TARGETS=10

if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" "$ROOT" --buildtype=release -Dtests=disabled >/dev/null
fi
meson compile -C "$BUILD" cli/assay:executable >/dev/null
ASSAY=$BUILD/cli/assay

WORK=$(mktemp -d "${TMPDIR:-/tmp}/assay-bench-reports.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RECORD=$WORK/run.jsonl

# The record, as the journal writes it; a fixed seed, so every run of the
# benchmark reads the same bytes.
awk -v n="$N" -v targets="$TARGETS" 'BEGIN {
    srand(7)
    printf "{\"type\":\"run\",\"format\":1,\"suite\":\"bench\",\"targets\":["
    for (t = 0; t < targets; t++)
        printf "%s{\"name\":\"model-%d\",\"model\":\"m%d\"}", t ? "," : "", t, t
    printf "],\"repeat\":1,\"gates\":{\"pass_rate\":{\"min\":0.85}}}\n"
    cases = int(n / targets)
    for (i = 0; i < n; i++) {
        c = i % cases; t = int(i / cases)
        r = rand()
        latency = 50 + 2000 * rand() * rand()
        if (r < 0.01) {
            printf "{\"type\":\"result\",\"case\":\"case-%05d\",\"target\":\"model-%d\",\"repeat\":0,\"output\":null,\"pass\":null,\"score\":null,\"checks\":[],\"latency_ms\":null,\"attempts\":5,\"cached\":false,\"error\":{\"kind\":\"http\",\"status\":503,\"message\":\"the server is overloaded <try later>\"}}\n", c, t
            continue
        }
        pass = r > 0.1
        printf "{\"type\":\"result\",\"case\":\"case-%05d\",\"target\":\"model-%d\",\"repeat\":0,\"output\":\"The answer to question %d is %s, because the passage says so in its second paragraph & \\\"quotes\\\" it.\",\"finish_reason\":\"stop\",\"pass\":%s,\"score\":%s,\"checks\":[{\"type\":\"icontains\",\"pass\":%s,\"score\":%s,\"reason\":\"expected to contain (case-insensitive) \x27answer-%d\x27; %s\"},{\"type\":\"rouge-l\",\"pass\":true,\"score\":%.3f,\"reason\":\"rouge-l %.3f >= 0.2\"}],\"latency_ms\":%.1f,\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":24,\"total_tokens\":66},\"attempts\":1,\"cached\":false,\"error\":null}\n", \
            c, t, c, pass ? "answer-" c : "unknown", pass ? "true" : "false", pass ? 1 : 0.4, \
            pass ? "true" : "false", pass ? 1 : 0, c, pass ? "found at offset 30" : "found nothing like it", \
            0.2 + 0.8 * rand(), 0.5, latency
    }
}' >"$RECORD"

echo "record: $N results, $(du -h "$RECORD" | cut -f1)"
printf '%-10s %10s %12s\n' format seconds bytes
for format in text json junit markdown html csv; do
    out=$WORK/report.$format
    start=$(date +%s.%N)
    "$ASSAY" report "$RECORD" --format "$format" -o "$out" || true
    end=$(date +%s.%N)
    printf '%-10s %10.2f %12d\n' "$format" "$(echo "$end - $start" | bc)" \
        "$(stat -c %s "$out")"
done

CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ]; then
    echo "chromium: not installed; the HTML load time is not measured"
    exit 0
fi
profile=$(mktemp -d "$WORK/profile.XXXXXX")
start=$(date +%s.%N)
timeout 300 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --dump-dom "file://$WORK/report.html" \
    >"$WORK/dom.html" 2>/dev/null
end=$(date +%s.%N)
ready=$(grep -o 'data-ready="[0-9]*"' "$WORK/dom.html" || echo 'data-ready="none"')
page_ms=$(sed -n 's/.*data-ready-ms="\([0-9]*\)".*/\1/p' "$WORK/dom.html")
rows=$(grep -oE '<tr class="(pass|fail|error)">' "$WORK/dom.html" | wc -l)
printf 'html in chromium: the page was ready %s ms after it started loading (%s, %d rows on the first page); %.2f s with the browser start and the DOM dump\n' \
    "${page_ms:-?}" "$ready" "$rows" "$(echo "$end - $start" | bc)"
