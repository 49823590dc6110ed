#!/usr/bin/env bash
# The shared library exports the public API and nothing else: every
# dynamic symbol it defines starts with "assay_" (internal names are
# "assay__" and hidden), and every function the header declares is there.
set -u
lib=$1
header=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort)
bad=$(printf '%s\n' "$exported" | grep -v '^assay_' | grep -v '^_' || true)
internal=$(printf '%s\n' "$exported" | grep '^assay__' || true)
declared=$(grep -oE 'ASSAY_API [^(]*\b(assay_[a-z0-9_]+)\(' "$header" |
    grep -oE 'assay_[a-z0-9_]+\($' | tr -d '(' | sort -u)
missing=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported"))
status=0
[ -z "$bad" ] || { echo "exported but not public: $bad"; status=1; }
[ -z "$internal" ] || { echo "internal names exported: $internal"; status=1; }
[ -z "$missing" ] || { echo "declared but not exported: $missing"; status=1; }
echo "$(printf '%s\n' "$exported" | grep -c '^assay_') public symbols exported, $(printf '%s\n' "$declared" | wc -l) declared"
exit $status
