#!/usr/bin/env bash
# Reports end to end: a run against the fake server whose answers include
# markup and script, an HTTP error and wrong answers; then `assay report
# --format F` for every format, `assay run --report F:PATH`, a report with
# a baseline, and bad arguments. JUnit is validated against the JUnit
# schema CI reporters read (cases/junit.xsd, with xmllint), JSON against
# what docs/report-schema.json requires (with jq), CSV and Markdown by
# their structure. tests/cli/test_html_chromium.sh renders the HTML.
. "$(dirname "$0")/lib.sh"

DATASET=$SOURCE_ROOT/datasets/quickstart.jsonl
SUITE=$CASES/reports.yaml
HOSTILE='<script>document.body.dataset.pwned=1</script><img src=x onerror="document.body.dataset.pwned=1"> | a,"b"'

if ! command -v xmllint >/dev/null; then
    echo "xmllint is missing: install libxml2-utils (scripts/install-deps.sh --tests does)" >&2
    exit 1
fi

# answers FILE [BROKEN_ID...]: every question answered right except q02
# (the hostile answer), q03 (an HTTP 500), q04 and the ids given (wrong).
answers() {
    local out=$1
    shift
    jq -c --arg hostile "$HOSTILE" \
        --argjson wrong "$(printf '%s\n' q04 "$@" | jq -R . | jq -sc .)" \
        'if .id == "q02" then {match: .question, reply: $hostile}
         elif .id == "q03" then {match: .question, reply: "x", status: 500}
         elif (.id | IN($wrong[])) then {match: .question, reply: "I am not sure."}
         else {match: .question, reply: ("It is " + .answer + ".")} end' \
        "$DATASET" >"$out"
}

# run_with ANSWERS RECORD ARGS...: one run against a fresh server.
run_with() {
    local answers=$1 record=$2
    shift 2
    start_server --answers "$answers"
    OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITE" -j 8 -q --no-cache \
        --max-attempts 1 -o "$record" "$@"
    stop_server
}

answers "$SCRATCH/base.answers"
R=$SCRATCH/reports
mkdir -p "$R"
run_with "$SCRATCH/base.answers" "$SCRATCH/base.jsonl" \
    --report "junit:$R/run.xml" --report "html:$R/run.html" \
    --report "md:$R/run.md" --report "csv:$R/run.csv" --report "json:$R/run.json"
expect_eq "the gate fails (92.5% < 95%)" 1 "$CODE"
for f in run.xml run.html run.md run.csv run.json; do
    CHECKS=$((CHECKS + 1))
    [ -s "$R/$f" ] || fail "assay run --report wrote no $f"
done

# Every format from the record; the exit code is the gates'.
for format in text json junit markdown html csv; do
    run_assay report "$SCRATCH/base.jsonl" --format "$format" -o "$R/report.$format"
    expect_eq "report --format $format exits with the gates" 1 "$CODE"
    expect_eq "report --format $format prints nothing with -o" "" "$OUT"
done

# The reports of `run --report` are those of `report`.
expect_eq "run --report junit = report --format junit" \
    "$(cat "$R/report.junit")" "$(cat "$R/run.xml")"
expect_eq "run --report csv = report --format csv" \
    "$(cat "$R/report.csv")" "$(cat "$R/run.csv")"

# text: on stdout by default, without colour when not a terminal.
run_assay report "$SCRATCH/base.jsonl"
expect_match "text table" '^small +40 +37 +2 +1 +92\.5%' "$OUT"
expect_match "text verdict" '^verdict: FAIL$' "$OUT"
expect_absent "no colour off a terminal" $'\033' "$SCRATCH/stdout"
run_assay report "$SCRATCH/base.jsonl" --format text-color
expect_match "colour when asked" $'\033\\[31m' "$OUT"

# JSON: what the schema requires, and the numbers.
J=$R/report.json
expect_eq "json type" '"assay-report" 1' "$(jq -c '.type, .format' "$J" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "json required fields" "true" "$(jq '[has("suite","record","error_policy","pass","completed","groups","gates","comparison")] | all' "$J")"
expect_eq "json groups" '[["small",40,37,2,1],["large",40,37,2,1]]' \
    "$(jq -c '[.groups[] | [.target, .results, .passed, .failed, .errors]]' "$J")"
expect_eq "json metric fields" "true" \
    "$(jq '[.groups[].metrics[] | has("name","n","pass_rate","mean","se","low","high")] | all' "$J")"
expect_eq "json gates" '[false,false]' "$(jq -c '[.gates[].pass]' "$J")"
expect_eq "json no comparison" "null" "$(jq -c .comparison "$J")"

# JUnit: the schema CI reporters read; one test case per result; the
# failure carries the check's reason; the hostile answer is text.
X=$R/report.junit
CHECKS=$((CHECKS + 1))
xmllint --noout --schema "$CASES/junit.xsd" "$X" 2>"$SCRATCH/xmllint.err" ||
    fail "the JUnit report does not validate: $(cat "$SCRATCH/xmllint.err")"
expect_eq "junit test cases" 80 "$(xmllint --xpath 'count(//testcase)' "$X")"
expect_eq "junit failures" 4 "$(xmllint --xpath 'count(//testcase/failure)' "$X")"
expect_eq "junit errors" 2 "$(xmllint --xpath 'count(//testcase/error)' "$X")"
expect_eq "junit suite counts" "40 2 1" \
    "$(xmllint --xpath 'string(//testsuite[1]/@tests)' "$X") $(xmllint --xpath 'string(//testsuite[1]/@failures)' "$X") $(xmllint --xpath 'string(//testsuite[1]/@errors)' "$X")"
expect_match "junit failure reason" "expected to contain \(case-insensitive\) 'Canberra'" \
    "$(xmllint --xpath 'string(//testsuite[1]/testcase[@name="q04"]/failure/@message)' "$X")"
expect_eq "junit hostile answer is text" "$HOSTILE" \
    "$(xmllint --xpath 'string(//testsuite[1]/testcase[@name="q02"]/system-out)' "$X")"
expect_eq "junit no script element" 0 "$(xmllint --xpath 'count(//script)' "$X")"
expect_match "junit error" '^http 500' \
    "$(xmllint --xpath 'string(//testsuite[1]/testcase[@name="q03"]/error/@message)' "$X")"

# Markdown: the verdict first, failed gates, every table row whole.
M=$R/report.markdown
expect_match "markdown verdict first" '^## .* assay: reports — FAIL$' "$(head -1 "$M")"
expect_match "markdown failed gate" '^- \*\*FAIL\*\*: pass\\_rate &gt;= 0.95' "$(cat "$M")"
expect_match "markdown hostile answer in code" '` <script>document.body.dataset.pwned=1</script>' "$(cat "$M")"
BAD_ROWS=$(awk '/^\|/ { line = $0; gsub(/\\\|/, "", line); n = gsub(/\|/, "", line);
    if (cols == "") cols = n; else if (n != cols) print }
    !/^\|/ { cols = "" }' "$M")
expect_eq "markdown table rows have their columns" "" "$BAD_ROWS"

# CSV: a header and one row per result (no answer here spans lines).
C=$R/report.csv
expect_eq "csv header" "case,target,prompt,repeat,outcome,score,latency_ms,ttft_ms,prompt_tokens,completion_tokens,cost,attempts,cached,finish_reason,model,error_kind,error_status,error_message,failed_checks,checks,output" \
    "$(head -1 "$C" | tr -d '\r')"
expect_eq "csv rows" 81 "$(wc -l <"$C" | tr -d ' ')"
expect_eq "csv outcomes" "error:2 fail:4 pass:74" \
    "$(awk -F, 'NR > 1 { n[$5]++ } END { for (k in n) printf "%s:%d\n", k, n[k] }' "$C" | sort | tr '\n' ' ' | sed 's/ $//')"

# HTML: self-contained, the hostile answer only inside the JSON data.
H=$R/report.html
expect_eq "html script elements" 2 "$(grep -o '<script' "$H" | wc -l | tr -d ' ')"
expect_absent "html has no raw hostile markup" '<img src=x' "$H"
expect_match "html CSP" "default-src 'none'" "$(cat "$H")"

# With a baseline: the comparison is in every summary format.
answers "$SCRATCH/cand.answers" q10 q11 q12 q13 q14 q15 q16 q17
run_with "$SCRATCH/cand.answers" "$SCRATCH/cand.jsonl" \
    --baseline "$SCRATCH/base.jsonl" --report "json:$R/cand.json"
expect_eq "candidate run fails" 1 "$CODE"
expect_eq "run --report json has the comparison" 8 \
    "$(jq '.comparison.comparisons[0].newly_failing' "$R/cand.json")"
run_assay report "$SCRATCH/cand.jsonl" --baseline "$SCRATCH/base.jsonl" --format markdown
expect_eq "report with a regression exits 1" 1 "$CODE"
expect_match "markdown comparison" '^### Comparison$' "$OUT"
expect_match "markdown regression first" '^\| small \| pass \| 92.5% \| 72.5% \| -20.0' "$OUT"
expect_match "markdown newly failing" '^\*\*Newly failing\*\* \(small, 8\): ` q10 `' "$OUT"
run_assay report "$SCRATCH/cand.jsonl" --baseline "$SCRATCH/base.jsonl" --format json
expect_eq "json comparison verdict" "regressed" \
    "$(printf '%s' "$OUT" | jq -r '.comparison.comparisons[0].metrics[0].verdict')"
run_assay report "$SCRATCH/cand.jsonl" --baseline "$SCRATCH/base.jsonl"
expect_match "text comparison" '^newly failing \(8\):$' "$OUT"

# Bad arguments and bad places.
run_assay report "$SCRATCH/base.jsonl" --format pdf
expect_eq "unknown format exits 2" 2 "$CODE"
expect_match "unknown format message" "unknown report format 'pdf'" "$ERR"
run_assay report "$SCRATCH/missing.jsonl" --format json
expect_eq "missing record exits 2" 2 "$CODE"
run_assay report "$SCRATCH/base.jsonl" --format csv -o "$SCRATCH/no/such/dir/r.csv"
expect_eq "unwritable output exits 3" 3 "$CODE"
expect_match "unwritable output message" "cannot create" "$ERR"
run_assay run "$SUITE" --report junit
expect_eq "--report without a path exits 2" 2 "$CODE"
expect_match "--report message" "takes FORMAT:PATH" "$ERR"
run_assay run "$SUITE" --report pdf:x.pdf
expect_eq "--report with an unknown format exits 2" 2 "$CODE"

finish
