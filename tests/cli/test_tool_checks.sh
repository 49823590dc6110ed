#!/usr/bin/env bash
# The tool-call checks, perplexity and assert-set through the real binary.
# The fake server never calls a tool, so here the tool checks meet answers
# without calls (the calls themselves are covered by tests/unit/test_tools.c);
# its /completions logprobs give perplexity a value known in advance.
. "$(dirname "$0")/lib.sh"

DIR="$CASES/tool_checks"
start_server --answers "$DIR/answers.jsonl" --log "$SCRATCH/requests.jsonl"

result() { # result FILE FILTER
    jq -c -s ".[] | select(.type == \"result\") | $2" "$1"
}

# ---- a target with tools, an answer without calls
OPENAI_BASE_URL=$BASE_URL run_assay run "$DIR/tools.yaml" -o "$SCRATCH/tools.jsonl"
expect_eq "the run finishes" 0 "$CODE"
R="$SCRATCH/tools.jsonl"
expect_eq "no error" 'null' "$(result "$R" '.error')"
expect_eq "the tools went out with the request" '"get_weather"' \
    "$(jq -c -s '.[0].body.tools[0].function.name' "$SCRATCH/requests.jsonl")"
expect_eq "the check types" \
    '["is-valid-openai-tools-call","tool-call","not-tool-call","tool-call-f1","tool-call-f1","assert-set"]' \
    "$(result "$R" '[.checks[].type]')"
expect_eq "which pass" '[false,false,true,true,false,true]' \
    "$(result "$R" '[.checks[].pass]')"
expect_eq "is-valid's reason" \
    '"expected to call the target'"'"'s tools (get_weather) with valid arguments; found no tool call (the answer: '"'"'Sunny in Paris.'"'"')"' \
    "$(result "$R" '.checks[0].reason')"
expect_eq "tool-call's reason, its arguments rendered for the case" \
    '"expected to call get_weather({\"city\":\"Paris\"}); found no tool call (the answer: '"'"'Sunny in Paris.'"'"')"' \
    "$(result "$R" '.checks[1].reason')"
expect_eq "tool-call-f1 with nothing expected scores 1" '1' \
    "$(result "$R" '.checks[3].score')"
expect_eq "tool-call-f1 with a call expected scores 0, weight 0" '[0,0]' \
    "$(result "$R" '[.checks[4].score, .checks[4].weight]')"
expect_eq "the set: half its checks pass, its threshold is 0.5" '[0.5,true]' \
    "$(result "$R" '[.checks[5].score, .checks[5].pass]')"
expect_eq "the set is recorded under its metric" '"answered"' \
    "$(result "$R" '.checks[5].metric')"
expect_match "the set's reason lists its checks" \
    "found 1 of 2 passed, score 0.5: #1 contains passed: .* \\| #2 tool-call failed: expected to call get_weather\\(\\.\\.\\.\\)" \
    "$(result "$R" '.checks[5].reason')"
expect_eq "two counted checks fail, so the case fails" 'false' \
    "$(result "$R" '.pass')"

# ---- no tools to judge against: an error of the result, not a failure
OPENAI_BASE_URL=$BASE_URL run_assay run "$DIR/no_tools.yaml" -o "$SCRATCH/none.jsonl"
expect_eq "the error's kind" '"check"' "$(result "$SCRATCH/none.jsonl" '.error.kind')"
expect_match "the error says what to give" \
    "check 'is-valid-openai-tools-call' on case 'paris': the target has no tools to check the calls against: give it params: \\{tools: " \
    "$(result "$SCRATCH/none.jsonl" '.error.message')"

# ---- perplexity from /completions logprobs
# The reply "Sunny in Paris." is three tokens whose logprobs the fake server
# derives from SHA-256 of each word (tests/server/README.md):
#   -6.794792391631539, -3.4438176902500417, -7.421806011067994
# so perplexity = exp(5.886805364316525) = 360.25256838879653 and the score
# 1 / (1 + 360.25...) = 0.0027681464092007627.
OPENAI_BASE_URL=$BASE_URL run_assay run "$DIR/perplexity.yaml" -o "$SCRATCH/ppl.jsonl"
P="$SCRATCH/ppl.jsonl"
completions() { jq -c -s ".[] | select(.type == \"result\" and .target == \"completions\") | $1" "$P"; }
chat() { jq -c -s ".[] | select(.type == \"result\" and .target == \"chat\") | $1" "$P"; }
expect_eq "no error on /completions" 'null' "$(completions '.error')"
expect_eq "both pass" '[true,true]' "$(completions '[.checks[].pass]')"
expect_eq "perplexity's reason" \
    '"expected to have a perplexity of at most 400; found 360.253 over 3 tokens"' \
    "$(completions '.checks[0].reason')"
expect_match "perplexity-score's score" '^0\.00276814640920' \
    "$(completions '.checks[1].score')"
expect_eq "the chat target asked for no logprobs" '"check"' "$(chat '.error.kind')"
expect_match "and is told how to ask" \
    "the response has no logprobs: ask for them with params: \\{logprobs: true\\}" \
    "$(chat '.error.message')"

# Real tool calls, scripted by the fake server.
stop_server
start_server --answers "$CASES/tool_checks/calls.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$CASES/tool_checks/calls.yaml" --no-cache \
    -o "$SCRATCH/calls.jsonl"
expect_eq "calls: per check" \
    '[["bad-args",[false,false,true]],["right",[true,true,true]],["wrong-city",[true,false,true]]]' \
    "$(jq_of "$SCRATCH/calls.jsonl" '[.[] | select(.type == "result") | [.case, (.checks | map(.pass))]] | sort')"
expect_eq "calls: recorded" '"get_weather"' \
    "$(jq_of "$SCRATCH/calls.jsonl" '[.[] | select(.case == "right")][0].tool_calls[0].name')"
expect_match "calls: the reason names the difference" "Marseille" \
    "$(jq_of "$SCRATCH/calls.jsonl" '[.[] | select(.case == "wrong-city")][0].checks[1].reason')"

finish
