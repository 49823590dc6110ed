#!/usr/bin/env bash
# `assay cache stats` and `assay cache clear`: a missing cache (never
# created by asking), a cache with entries (made here with the sqlite3
# command after the schema in docs/cache.md), clearing it, and the clear
# errors for files that are not a cache.
. "$(dirname "$0")/lib.sh"

if ! command -v sqlite3 >/dev/null; then
    echo "the sqlite3 command is needed (scripts/install-deps.sh installs it)" >&2
    exit 1
fi

run_assay cache --help
expect_eq "help exits 0" 0 "$CODE"
expect_match "help shows both commands" 'assay cache stats \[--cache PATH\]' "$OUT"
expect_match "help shows an example" '^  assay cache stats --cache ' "$OUT"
run_assay cache stats --help
expect_eq "stats --help exits 0" 0 "$CODE"
expect_match "stats --help" 'assay cache clear' "$OUT"
run_assay --help
expect_match "listed among the commands" '^  cache +show or clear the response cache' "$OUT"

run_assay cache
expect_eq "no subcommand" 2 "$CODE"
run_assay cache frob
expect_eq "unknown subcommand" 2 "$CODE"
expect_match "unknown subcommand named" "unknown cache command 'frob'" "$ERR"
run_assay cache stats extra
expect_eq "stray argument" 2 "$CODE"
run_assay cache stats --cache
expect_eq "--cache without a path" 2 "$CODE"

# A missing cache is empty, and neither command creates it.
MISSING=$SCRATCH/none/cache.db
run_assay cache stats --cache "$MISSING"
expect_eq "stats of a missing cache" 0 "$CODE"
expect_match "says there is no file" "^cache: $MISSING \(no file yet\)" "$OUT"
expect_match "no entries" '^entries: 0$' "$OUT"
run_assay cache clear --cache "$MISSING"
expect_eq "clear of a missing cache" 0 "$CODE"
expect_match "nothing to clear" 'nothing to clear' "$OUT"
expect_eq "nothing created" no "$([ -e "$SCRATCH/none" ] && echo yes || echo no)"

# The default path is relative to the working directory.
mkdir "$SCRATCH/work"
(cd "$SCRATCH/work" && "$ASSAY" cache stats >"$SCRATCH/default.out" 2>&1)
expect_eq "default path exits 0" 0 "$?"
expect_match "default path" '^cache: \.assay/cache\.db \(no file yet\)' \
    "$(cat "$SCRATCH/default.out")"

# A cache with entries of two targets; the third URL had credentials,
# which the cache never stores.
CACHE=$SCRATCH/cache.db
sqlite3 "$CACHE" <<'SQL'
CREATE TABLE assay_meta (name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE responses (key BLOB PRIMARY KEY NOT NULL, body BLOB NOT NULL,
  stream INTEGER NOT NULL, latency_ms REAL NOT NULL, ttft_ms REAL,
  stored_at INTEGER NOT NULL, base_url TEXT NOT NULL, model TEXT NOT NULL);
INSERT INTO assay_meta VALUES ('schema_version', '1');
INSERT INTO responses VALUES (randomblob(32), CAST('0123456789' AS BLOB), 0, 12.5, NULL, 1700000000, 'http://127.0.0.1:9/v1', 'small');
INSERT INTO responses VALUES (randomblob(32), CAST('01234' AS BLOB), 1, 20, 3.5, 1700000000, 'http://127.0.0.1:9/v1', 'small');
INSERT INTO responses VALUES (randomblob(32), CAST('0123456' AS BLOB), 0, 40, NULL, 1700000000, 'https://api.example/v1', 'large');
SQL
run_assay cache stats --cache "$CACHE"
expect_eq "stats exits 0" 0 "$CODE"
expect_match "entries and bytes" '^entries: 3 \(22 bytes of responses\)$' "$OUT"
expect_match "first target row" '^http://127\.0\.0\.1:9/v1 +small +2 +15$' "$OUT"
expect_match "second target row" '^https://api\.example/v1 +large +1 +7$' "$OUT"

run_assay cache clear --cache "$CACHE"
expect_eq "clear exits 0" 0 "$CODE"
expect_match "clear says how many" '^removed: 3 entries$' "$OUT"
run_assay cache stats --cache "$CACHE"
expect_match "empty after clear" '^entries: 0 \(0 bytes of responses\)$' "$OUT"
expect_eq "the file stays" yes "$([ -f "$CACHE" ] && echo yes || echo no)"
expect_eq "the schema stays" 1 \
    "$(sqlite3 "$CACHE" "SELECT value FROM assay_meta WHERE name = 'schema_version'")"

# Files that are not a cache: clear errors naming the file, exit 2, and
# the file left as it was.
BAD=$SCRATCH/bad.db
printf 'not a database, just text\n%.0s' $(seq 1 50) >"$BAD"
BEFORE=$(cksum <"$BAD")
for cmd in stats clear; do
    run_assay cache "$cmd" --cache "$BAD"
    expect_eq "$cmd of a text file" 2 "$CODE"
    expect_match "$cmd names the file" "^assay: $BAD: not an SQLite database" "$ERR"
done
expect_eq "text file untouched" "$BEFORE" "$(cksum <"$BAD")"

OTHER=$SCRATCH/other.db
sqlite3 "$OTHER" 'CREATE TABLE notes (t TEXT)'
run_assay cache clear --cache "$OTHER"
expect_eq "clear of another database" 2 "$CODE"
expect_match "not an assay cache" "^assay: $OTHER: an SQLite database, but not an assay cache" "$ERR"
expect_eq "other database untouched" notes "$(sqlite3 "$OTHER" .tables)"

sqlite3 "$CACHE" "UPDATE assay_meta SET value = '7' WHERE name = 'schema_version'"
run_assay cache stats --cache "$CACHE"
expect_eq "stats of another version" 2 "$CODE"
expect_match "version named" "^assay: $CACHE: cache schema version 7, but this assay reads version 1" "$ERR"

finish
