#!/usr/bin/env bash
# The HTML report in a real browser: headless Chromium (Debian's
# `chromium`) opens a report of a run against the fake server whose
# answers carry <script> and an <img onerror>, and the test checks that the
# page renders (a screenshot is taken), that its script ran (it marks the
# body with the number of rows), that the charts (SVG) and the first page
# of the case table are there, that no console message was logged (errors,
# uncaught exceptions and Content Security Policy violations all show up as
# CONSOLE lines), and that the hostile answer is text on the page: no
# element it carries exists and its script did not run.
#
# Chromium is installed with apt-get when it is missing (it is large, so
# only this test pays for it); the test is skipped (exit 77) only when that
# install cannot be done, and says why.
. "$(dirname "$0")/lib.sh"

SKIP=77
DATASET=$SOURCE_ROOT/datasets/quickstart.jsonl
SUITE=$CASES/reports.yaml
HOSTILE='<script>document.body.dataset.pwned=1</script><img src=x onerror="document.body.dataset.pwned=1"> | a,"b"'

find_chromium() {
    command -v chromium || command -v chromium-browser || true
}

CHROMIUM=$(find_chromium)
if [ -z "$CHROMIUM" ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "SKIP: chromium is not installed and cannot be (not root, or no apt-get)"
        exit $SKIP
    fi
    echo "installing Debian's chromium for this test..." >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends chromium; } \
        >"$SCRATCH/apt.log" 2>&1; then
        echo "SKIP: chromium could not be installed with apt-get:"
        tail -5 "$SCRATCH/apt.log"
        exit $SKIP
    fi
    CHROMIUM=$(find_chromium)
fi
echo "browser: $("$CHROMIUM" --version 2>/dev/null)"

# chromium_run ARGS... PAGE: headless, offline, a fresh profile; stderr (the
# browser's log, console messages included) in $SCRATCH/chromium.log.
chromium_run() {
    local profile
    profile=$(mktemp -d "$SCRATCH/profile.XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --user-data-dir="$profile" --enable-logging=stderr --v=0 \
        "$@" 2>>"$SCRATCH/chromium.log"
}

jq -c --arg hostile "$HOSTILE" \
    'if .id == "q02" then {match: .question, reply: $hostile}
     elif .id == "q03" then {match: .question, reply: "x", status: 500}
     elif .id == "q04" then {match: .question, reply: "I am not sure."}
     else {match: .question, reply: ("It is " + .answer + ".")} end' \
    "$DATASET" >"$SCRATCH/answers"
start_server --answers "$SCRATCH/answers"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITE" -j 8 -q --no-cache \
    --max-attempts 1 -o "$SCRATCH/run.jsonl" --report "html:$SCRATCH/report.html"
stop_server
expect_eq "the run writes its report" 1 "$CODE"

# A comparison too: the same run as its own baseline (nothing changes).
run_assay report "$SCRATCH/run.jsonl" --baseline "$SCRATCH/run.jsonl" \
    --format html -o "$SCRATCH/compare.html"
expect_eq "report --baseline --format html (the gates fail)" 1 "$CODE"

for page in report compare; do
    : >"$SCRATCH/chromium.log"
    chromium_run --dump-dom "file://$SCRATCH/$page.html" >"$SCRATCH/$page.dom"
    expect_eq "$page: chromium exits 0" 0 "$?"
    DOM=$(cat "$SCRATCH/$page.dom")
    expect_match "$page: the script ran over every result" '<body data-ready="80"' "$DOM"
    expect_match "$page: the pass-rate chart" '<div class="chart" id="chart-pass-rate"><svg' "$DOM"
    expect_match "$page: charts drawn (at least 5)" '^([5-9]|[1-9][0-9]+)$' \
        "$(grep -o '<svg' "$SCRATCH/$page.dom" | wc -l | tr -d ' ')"
    expect_eq "$page: the first page of the case table" 50 \
        "$(grep -oE '<tr class="(pass|fail|error)"><td class="case">' "$SCRATCH/$page.dom" | wc -l | tr -d ' ')"
    expect_match "$page: the table says where it is" 'results 1-50 of 80 shown \(80 in all\)' "$DOM"
    expect_match "$page: the hostile answer is text" \
        '<td class="answer">&lt;script&gt;document.body.dataset.pwned=1&lt;/script&gt;&lt;img src=x onerror="document.body.dataset.pwned=1"&gt; \| a,"b"</td>' "$DOM"
    expect_eq "$page: no script but the page's own" 2 "$(grep -o '<script' "$SCRATCH/$page.dom" | wc -l | tr -d ' ')"
    expect_absent "$page: no image element" '<img' "$SCRATCH/$page.dom"
    expect_absent "$page: the hostile script did not run" 'data-pwned' "$SCRATCH/$page.dom"
    expect_absent "$page: nothing on the console" ':CONSOLE' "$SCRATCH/chromium.log"
    if grep -q ':CONSOLE' "$SCRATCH/chromium.log"; then
        grep ':CONSOLE' "$SCRATCH/chromium.log" >&2
    fi
done
expect_match "compare: the comparison section" '<section id="comparison">' "$(cat "$SCRATCH/compare.dom")"

# It renders: a screenshot of the page.
chromium_run --window-size=1280,2000 --screenshot="$SCRATCH/report.png" \
    "file://$SCRATCH/report.html" >/dev/null
CHECKS=$((CHECKS + 1))
if [ ! -s "$SCRATCH/report.png" ] || [ "$(head -c 8 "$SCRATCH/report.png" | od -An -tx1 | tr -d ' \n')" != 89504e470d0a1a0a ]; then
    fail "no PNG screenshot of the report"
fi
if [ -n "${ASSAY_KEEP_SCREENSHOT:-}" ]; then
    cp "$SCRATCH/report.png" "$ASSAY_KEEP_SCREENSHOT"
fi

finish
