#!/usr/bin/env bash
# A CI gate: runs examples/ci_gate.yaml, compares it with a baseline
# record, writes a JUnit report (for the CI's test view) and a Markdown
# one (for the job summary or a pull-request comment), and exits with
# assay's code: 0 when every gate holds and nothing regressed, 1 when a
# gate failed or a metric regressed, 2 for a bad suite or baseline, 3 when
# the run could not be completed. It does not make the baseline: run the
# suite once on the main branch (`assay run examples/ci_gate.yaml -o
# baseline.jsonl`) and keep that record (committed, or as an artifact).
#
#   examples/ci_gate.sh BASE.jsonl [assay run options...]
#
# ASSAY names the assay binary (default build/cli/assay); OPENAI_BASE_URL
# and OPENAI_API_KEY the endpoint; CI_GATE_DIR where the record and the
# reports go (default assay-ci). In GitHub Actions the Markdown report is
# appended to the job's summary page:
#
#   - run: examples/ci_gate.sh baseline.jsonl -j 16
#     env:
#       OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}
#   # ... which, with GITHUB_STEP_SUMMARY set by the runner, does
#   #     cat assay-ci/summary.md >> "$GITHUB_STEP_SUMMARY"
#   - uses: mikepenz/action-junit-report@v4   # or any JUnit reader
#     if: always()
#     with: {report_paths: assay-ci/junit.xml}
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
assay=${ASSAY:-$root/build/cli/assay}
if [ $# -lt 1 ]; then
    echo "usage: $0 BASE.jsonl [assay run options...]" >&2
    exit 2
fi
baseline=$1
shift
# Checked before the run, so a wrong path costs no requests.
if [ ! -r "$baseline" ]; then
    echo "$0: cannot read the baseline record '$baseline'" >&2
    exit 2
fi
out=${CI_GATE_DIR:-assay-ci}
mkdir -p "$out" || exit 3

"$assay" run "$root/examples/ci_gate.yaml" --baseline "$baseline" \
    -o "$out/run.jsonl" \
    --report "junit:$out/junit.xml" \
    --report "markdown:$out/summary.md" \
    "$@"
code=$?

# The summary is written even when the gate fails: that is when it is read.
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/summary.md" ]; then
    cat "$out/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi
exit "$code"
