#!/usr/bin/env bash
# The CI examples of examples/ci/: both files are YAML the library's own
# loader reads (no duplicate keys, no merge keys), with the shape their CI
# system needs; every `assay` command line in them names a real command
# and only options and ASSAY_* variables that command's --help lists; and
# the shell that runs assay is run here, as the CI system would run it,
# against the fake server: first a passing run (the record main keeps as
# its baseline), then one with 12 answers wrong against that baseline,
# which must fail the job with the Markdown and JUnit reports written.
# What needs the CI system itself (installing, gh, the GitLab API) is
# checked for shape only.
. "$(dirname "$0")/lib.sh"
: "${YAML_TO_JSON:?YAML_TO_JSON must name the yaml_to_json program}"

CI_DIR=$SOURCE_ROOT/examples/ci
GITHUB_YML=$CI_DIR/github-actions.yml
GITLAB_YML=$CI_DIR/gitlab-ci.yml

# (1) Well-formed, by the library's loader.
for f in "$GITHUB_YML" "$GITLAB_YML"; do
    "$YAML_TO_JSON" "$f" >"$(basename "$f").json" 2>"$(basename "$f").err"
    code=$?
    expect_eq "$(basename "$f"): loads ($(cat "$(basename "$f").err"))" 0 "$code"
done
GH=$(cat github-actions.yml.json)
GL=$(cat gitlab-ci.yml.json)

# (2) The shape each CI system reads.
expect_eq "github: pushes to main and pull requests" '[["main"],true]' \
    "$(jq -c '[.on.push.branches, (.on | has("pull_request"))]' <<<"$GH")"
expect_eq "github: may comment on pull requests and read other runs" '["write","read"]' \
    "$(jq -c '[.permissions["pull-requests"], .permissions.actions]' <<<"$GH")"
expect_eq "github: each step either uses an action or runs a script" '[]' \
    "$(jq -c '[.jobs[].steps[] | select((has("uses") | not) == (has("run") | not))]' <<<"$GH")"
expect_eq "github: the reports and the baseline are artifacts" \
    '[["assay-reports","assay-out/"],["assay-baseline","assay-out/run.jsonl"]]' \
    "$(jq -c '[.jobs[].steps[] | select(.uses // "" | startswith("actions/upload-artifact@"))
        | [.with.name, .with.path]]' <<<"$GH")"
expect_eq "github: the summary and the comment read the Markdown report" '2' \
    "$(jq '[.jobs[].steps[].run // "" | select(test("GITHUB_STEP_SUMMARY|gh pr comment"))
        | select(test("assay-out/summary.md"))] | length' <<<"$GH")"
expect_eq "gitlab: the job's scripts are lists of commands" '["array","array","array"]' \
    "$(jq -c '[.assay.before_script, .assay.script, .assay.after_script | type]' <<<"$GL")"
expect_eq "gitlab: JUnit in the merge request, artifacts kept on failure" \
    '["assay-out/junit.xml","always",["assay-out/"]]' \
    "$(jq -c '[.assay.artifacts.reports.junit, .assay.artifacts.when, .assay.artifacts.paths]' <<<"$GL")"
expect_eq "gitlab: merge requests and the default branch" 2 "$(jq '.assay.rules | length' <<<"$GL")"

# Every shell script of both files, one per line as JSON strings.
jq -c '.jobs[].steps[].run // empty' <<<"$GH" >scripts.jsonl
jq -c '.assay | (.before_script, .script, .after_script)[]' <<<"$GL" >>scripts.jsonl

# (3) Every assay command line: its command exists, and each option and
# ASSAY_* variable it uses is in that command's --help. A continued line
# (a trailing backslash) is one command.
jq -r '.' scripts.jsonl | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
    grep -oE 'build/cli/assay [a-z]+.*' >commands.txt
expect_eq "assay command lines found" true "$([ -s commands.txt ] && echo true || echo false)"
while read -r _ command rest; do
    run_assay "$command" --help
    expect_eq "'assay $command --help' exits 0" 0 "$CODE"
    help=$OUT
    for option in $(grep -oE '(^|[[:space:]])--?[a-z][-a-z]*' <<<"$rest"); do
        expect_match "assay $command: $option is an option" "(^|[ ,])$option([ ,=]|\$)" "$help"
    done
    for format in $(grep -oE -- '--report [a-z]+' <<<"$rest" | cut -d' ' -f2); do
        expect_match "assay $command: --report $format is a format" "[(, ]${format}[,)]" \
            "$(sed -n '/--report F:PATH/,/PATH/p' <<<"$help")"
    done
done <commands.txt
run_assay run --help
for variable in $(jq -r '.' scripts.jsonl | cat - "$GITHUB_YML" "$GITLAB_YML" |
    grep -oE 'ASSAY_[A-Z_]+' | sort -u); do
    expect_match "$variable is one assay run reads" "^  $variable " "$OUT"
done

# (4) The scripts that run assay, run: build/cli/assay and examples/ as a
# checkout has them, the CI system's variables, a bash -e shell (GitHub's
# default; GitLab stops at a failing command too).
mkdir -p ws/build/cli
printf '#!/usr/bin/env bash\nexec %s "%s" "$@"\n' "${ASSAY_WRAPPER:-}" "$ASSAY" >ws/build/cli/assay
chmod +x ws/build/cli/assay
ln -s "$SOURCE_ROOT/examples" ws/examples
ln -s "$SOURCE_ROOT/datasets" ws/datasets

# run_ci NAME SCRIPT: runs SCRIPT in a fresh copy of the checkout ws-NAME
# with the variables exported by the caller; CODE is its exit status.
run_ci() {
    rm -rf "ws-$1"
    cp -a ws "ws-$1"
    (cd "ws-$1" && bash -e -c "$2") >"$1.out" 2>"$1.err"
    CODE=$?
}

github_evaluate=$(jq -r '.jobs[].steps[] | select(.id == "evaluate") | .run' <<<"$GH")
gitlab_script=$(jq -r '.assay.script | join("\n")' <<<"$GL")
gitlab_after=$(jq -r '.assay.after_script | join("\n")' <<<"$GL")
# The jobs' own settings, except what GitHub expressions fill in.
eval "$(jq -r '.jobs.evaluate.env | to_entries[] | select(.value | tostring | contains("${{") | not)
    | "export \(.key)=\(.value | tostring | @sh)"' <<<"$GH")"
expect_eq "github: the job names the suite" examples/ci_gate.yaml "$SUITE"

DATA=$SOURCE_ROOT/datasets/quickstart.jsonl
jq -c '{match: .question, reply: "It is \(.answer)."}' "$DATA" >right.jsonl
jq -c 'if input_line_number <= 12 then .reply = "Not sure." else . end' right.jsonl >worse.jsonl
start_server --answers right.jsonl
export OPENAI_BASE_URL=$BASE_URL

# GitHub, on main: no baseline; the run passes and keeps its record.
export GITHUB_OUTPUT=$SCRATCH/gh-main.output GITHUB_STEP_SUMMARY=$SCRATCH/gh-main.summary
run_ci gh-main "$github_evaluate"
expect_eq "github main: the job passes ($(cat gh-main.err))" 0 "$CODE"
expect_eq "github main: the exit code is a step output" "code=0" "$(cat "$GITHUB_OUTPUT")"
expect_eq "github main: the job summary is the Markdown report" \
    "$(cat ws-gh-main/assay-out/summary.md)" "$(cat "$GITHUB_STEP_SUMMARY")"
expect_eq "github main: JUnit has a test case per question" 40 \
    "$(grep -c '<testcase ' ws-gh-main/assay-out/junit.xml)"
expect_match "github main: the HTML report is written" '^<!DOCTYPE html>' \
    "$(head -c 200 ws-gh-main/assay-out/report.html)"
cp ws-gh-main/assay-out/run.jsonl main-baseline.jsonl

# GitLab, on the default branch: the download is skipped, the run passes.
export CI_DEFAULT_BRANCH=main CI_COMMIT_BRANCH=main
eval "$(jq -r '.assay.variables | to_entries[] | "export \(.key)=\(.value | tostring | @sh)"' <<<"$GL")"
run_ci gl-main "$gitlab_script"
expect_eq "gitlab main: the job passes ($(cat gl-main.err))" 0 "$CODE"
for report in junit.xml report.html run.jsonl summary.md; do
    expect_eq "gitlab main: $report is written" true \
        "$([ -s "ws-gl-main/assay-out/$report" ] && echo true || echo false)"
done
stop_server

# Pull and merge requests, against main's record: 12 answers now wrong.
start_server --answers worse.jsonl
export OPENAI_BASE_URL=$BASE_URL ASSAY_BASELINE=$SCRATCH/main-baseline.jsonl
export GITHUB_OUTPUT=$SCRATCH/gh-pr.output GITHUB_STEP_SUMMARY=$SCRATCH/gh-pr.summary
run_ci gh-pr "$github_evaluate"
expect_eq "github pr: a regression fails the job" 1 "$CODE"
expect_eq "github pr: the exit code is a step output" "code=1" "$(cat "$GITHUB_OUTPUT")"
expect_match "github pr: the job summary says it regressed" 'regressed' "$(cat "$GITHUB_STEP_SUMMARY")"
expect_match "github pr: the Markdown verdict is FAIL" '^## .*assay: ci-gate .* FAIL' \
    "$(head -n1 ws-gh-pr/assay-out/summary.md)"
expect_eq "github pr: JUnit counts the 12 failures" 12 \
    "$(grep -c '<failure ' ws-gh-pr/assay-out/junit.xml)"
run_ci gl-mr "$gitlab_script"
expect_eq "gitlab mr: a regression fails the job" 1 "$CODE"
expect_match "gitlab mr: the Markdown report says it regressed" 'regressed' \
    "$(cat ws-gl-mr/assay-out/summary.md)"
# Without GITLAB_API_TOKEN no note is posted, and nothing fails.
run_ci gl-after "$gitlab_after"
expect_eq "gitlab after_script: nothing to post without a token" "0 " "$CODE $(cat gl-after.err)"
stop_server

finish
