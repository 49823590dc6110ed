#!/usr/bin/env bash
# Static analysis of lib/ and cli/ with cppcheck (warnings and portability;
# a false positive is suppressed inline, with a comment saying why). It
# passes when cppcheck finds nothing.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
command -v cppcheck >/dev/null || { echo "cppcheck is not installed"; exit 77; }
cppcheck --quiet --enable=warning,portability --std=c11 -I "$root/include" \
    -I "$root/lib" --suppress=missingIncludeSystem --inline-suppr \
    --error-exitcode=1 "$root/lib" "$root/cli"
status=$?
[ $status -eq 0 ] && echo "cppcheck: no findings in lib/ and cli/"
exit $status
