#!/usr/bin/env bash
# clang-tidy over lib/ and cli/ with the checks of .clang-tidy, using the
# build's compile_commands.json: it passes when clang-tidy warns of
# nothing. Two files at a time (clang-tidy is slow with the analyzer on).
#
#   tests/tidy.sh BUILD_DIR
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: tests/tidy.sh BUILD_DIR}
tidy=$(command -v clang-tidy || command -v clang-tidy-14)
if [ -z "$tidy" ]; then
    echo "clang-tidy is not installed (Debian: apt-get install clang-tidy); skipped"
    exit 77
fi
db=$build/compile_commands.json
[ -f "$db" ] || { echo "no $db: is $build a configured build?" >&2; exit 1; }

# The sources of lib/ and cli/ as the build compiles them (a file the
# build does not compile has no flags to analyse it with).
files=$(jq -r '.[] | if (.file | startswith("/")) then .file else .directory + "/" + .file end' "$db" |
    while read -r f; do
        f=$(realpath -m "$f")
        case $f in "$root"/lib/*.c | "$root"/cli/*.c) echo "$f" ;; esac
    done | sort -u)
[ -n "$files" ] || { echo "no file of lib/ or cli/ in $db" >&2; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# One file per clang-tidy call, so that a crash names its file; --quiet
# drops the "N warnings generated" counts of the suppressed ones.
printf '%s\n' "$files" | xargs -P 2 -n 1 "$tidy" -p "$build" --quiet \
    --config-file="$root/.clang-tidy" >"$out" 2>&1
status=$?
findings=$(grep -cE '^[^ ].*: (warning|error): ' "$out")
if [ "$findings" -gt 0 ] || [ $status -ne 0 ]; then
    grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$out"
    echo "clang-tidy: $findings finding(s) in lib/ and cli/ (exit $status)"
    exit 1
fi
echo "clang-tidy: no findings in $(printf '%s\n' "$files" | wc -l) files of lib/ and cli/"
