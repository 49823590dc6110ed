#!/usr/bin/env bash
# Sharding: --shard I/N runs a deterministic part of the cases, by a hash
# of the case id, so shards stay the same when the dataset grows; the
# shards of a run together are exactly its cases; `assay merge` joins
# them into a record whose statistics equal the unsharded run's, and
# refuses shards that do not belong together.
. "$(dirname "$0")/lib.sh"

# 50 questions: most answered right, some wrong, some with a server error
# (errors count apart, and must merge the same way).
: >answers.jsonl
for i in $(seq 1 60); do
    printf '{"id": "q%d", "q": "What is %d plus %d?", "expected": "%d"}\n' \
        "$i" "$i" "$i" $((2 * i))
    if [ $((i % 7)) -eq 0 ]; then
        printf '{"match": "What is %d plus %d?", "reply": "no", "status": 500}\n' "$i" "$i" >>answers.jsonl
    elif [ $((i % 3)) -eq 0 ]; then
        printf '{"match": "What is %d plus %d?", "reply": "%d"}\n' "$i" "$i" $((2 * i + 1)) >>answers.jsonl
    else
        printf '{"match": "What is %d plus %d?", "reply": "%d"}\n' "$i" "$i" $((2 * i)) >>answers.jsonl
    fi
done >all.jsonl
head -n 50 all.jsonl >cases.jsonl
cat >suite.yaml <<'EOF'
name: sums
targets:
  - {name: a, model: fake-a}
  - {name: b, model: fake-b}
prompt: "{{q}}"
repeat: 2
dataset: cases.jsonl
checks:
  - equals: "{{expected}}"
gates:
  pass_rate: {min: 0.5}
EOF
sed 's/cases.jsonl/all.jsonl/' suite.yaml >grown.yaml

start_server --answers answers.jsonl
export OPENAI_BASE_URL=$BASE_URL
ids() { jq -r 'select(.type == "result") | .case' "$1" | sort -u; }
keys() { jq -r 'select(.type == "result") | [.case, .target, .prompt, .repeat] | @tsv' "$1" | sort; }
# The summary's statistics, less latency (which differs from run to run).
stats() { tail -n1 "$1" | jq -S -c '[.groups[] | del(.latency_mean_ms, .latency_p95_ms)], .gates, .pass'; }

run_assay run suite.yaml --max-attempts 1 -o full.jsonl --no-cache -q
expect_eq "the unsharded run" 0 "$CODE"
expect_eq "it has errors and failures" true \
    "$(tail -n1 full.jsonl | jq '.groups[0] | .errors > 0 and .failed > 0')"

for i in 0 1 2 3; do
    run_assay run suite.yaml --shard "$i/4" --max-attempts 1 -o "shard-$i.jsonl" --no-cache -q
    expect_eq "shard $i/4 runs" true "$([ "$CODE" -le 1 ] && echo true || echo "false ($CODE)")"
    expect_eq "shard $i/4 header" "{\"index\":$i,\"count\":4}" "$(head -n1 "shard-$i.jsonl" | jq -c .shard)"
done
cat shard-*.jsonl | jq -r 'select(.type == "result") | .case' | sort -u >union.ids
expect_eq "the shards cover every case" "$(ids full.jsonl)" "$(cat union.ids)"
expect_eq "no case is in two shards" 50 \
    "$(for i in 0 1 2 3; do ids "shard-$i.jsonl"; done | sort | uniq | wc -l | tr -d ' ')"
expect_eq "every shard has cases" true \
    "$(for i in 0 1 2 3; do [ "$(ids "shard-$i.jsonl" | wc -l)" -gt 3 ] || echo no; done | grep -q no && echo false || echo true)"

# The same shard again, and from ASSAY_SHARD: the same cases.
ASSAY_SHARD=1/4 run_assay run suite.yaml --max-attempts 1 -o again-1.jsonl --no-cache -q
expect_eq "a shard is deterministic (and ASSAY_SHARD works)" "$(ids shard-1.jsonl)" "$(ids again-1.jsonl)"
# A grown dataset keeps every case in its shard.
run_assay run grown.yaml --shard 1/4 --max-attempts 1 -o grown-1.jsonl --no-cache -q
expect_eq "a grown dataset keeps the shard's cases" "" \
    "$(comm -23 <(ids shard-1.jsonl) <(ids grown-1.jsonl))"
expect_eq "... and adds only new ones" "" \
    "$(comm -13 <(ids shard-1.jsonl) <(ids grown-1.jsonl) | grep -vE '^q(5[1-9]|60)$')"

# ---- merge
run_assay merge shard-2.jsonl shard-0.jsonl shard-3.jsonl shard-1.jsonl -o merged.jsonl
expect_eq "merge exit code" 0 "$CODE"
expect_match "merge says what it did" "^merged 4 of 4 shards, 200 results: merged.jsonl$" "$OUT"
expect_eq "the merged record has every result once" "$(keys full.jsonl)" "$(keys merged.jsonl)"
expect_eq "its statistics equal the unsharded run's" "$(stats full.jsonl)" "$(stats merged.jsonl)"
expect_eq "its header is no shard's" '[null,{"count":4,"shards":[0,1,2,3]}]' \
    "$(head -n1 merged.jsonl | jq -c '[.shard, .merged]')"
run_assay report full.jsonl
FULL_TABLE=$(printf '%s\n' "$OUT" | sed -E 's/ +[0-9.]+ m?s +[0-9.]+ m?s / /')
run_assay report merged.jsonl
expect_eq "report of the merged record" 0 "$CODE"
expect_eq "its report is the unsharded one (less latency)" "$FULL_TABLE" \
    "$(printf '%s\n' "$OUT" | sed -E 's/ +[0-9.]+ m?s +[0-9.]+ m?s / /')"

# ---- what merge refuses
run_assay merge shard-0.jsonl shard-1.jsonl shard-2.jsonl -o part.jsonl
expect_eq "a missing shard" 2 "$CODE"
expect_match "... is named" "1 of the 4 shards are missing \(index 3\)" "$ERR"
expect_eq "... and nothing is written" false "$([ -e part.jsonl ] && echo true || echo false)"
run_assay merge shard-0.jsonl shard-1.jsonl shard-2.jsonl -o part.jsonl --partial
expect_eq "--partial merges what is there" 0 "$CODE"
expect_match "--partial warns" "warning: 1 of the 4 shards are missing" "$ERR"
run_assay merge shard-0.jsonl shard-1.jsonl shard-1.jsonl shard-3.jsonl -o twice.jsonl
expect_eq "a shard given twice" 2 "$CODE"
run_assay run suite.yaml --shard 2/4 --repeat 1 --max-attempts 1 -o other-2.jsonl --no-cache -q
run_assay merge shard-0.jsonl shard-1.jsonl other-2.jsonl shard-3.jsonl -o mixed.jsonl
expect_eq "shards of different configurations" 2 "$CODE"
expect_match "... are named" "other-2.jsonl:1: this shard is of another suite or configuration" "$ERR"
run_assay run suite.yaml --shard 2/4 --limit 40 --max-attempts 1 -o limited-2.jsonl --no-cache -q
run_assay merge shard-0.jsonl shard-1.jsonl limited-2.jsonl shard-3.jsonl -o mixed.jsonl
expect_eq "shards of different selections" 2 "$CODE"
run_assay merge shard-0.jsonl full.jsonl -o mixed.jsonl
expect_eq "a record that is no shard" 2 "$CODE"
run_assay merge shard-0.jsonl shard-1.jsonl shard-2.jsonl shard-3.jsonl -o shard-0.jsonl
expect_eq "the output may not be a shard" 2 "$CODE"
run_assay merge shard-0.jsonl nothing.jsonl -o mixed.jsonl
expect_eq "a shard that is not there" 2 "$CODE"
run_assay run suite.yaml --shard 4/4
expect_eq "--shard past the count" 2 "$CODE"
run_assay run suite.yaml --shard 1
expect_eq "--shard without a count" 2 "$CODE"

finish
