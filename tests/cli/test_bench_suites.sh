#!/usr/bin/env bash
# The standard benchmark suites in datasets/suites/, over the public copies
# in ../shared/data: each validates with the file's number of cases, runs
# its first cases against the fake server, and sends the first case's
# prompt exactly as the original harness lays it out. Skipped (77) when the
# shared data is not beside the checkout.
. "$(dirname "$0")/lib.sh"

SUITES=$SOURCE_ROOT/datasets/suites
DATA=${SHARED_DIR:-$SOURCE_ROOT/../shared}/data
if [ ! -f "$DATA/gsm8k/test.jsonl" ] || [ ! -f "$DATA/mmlu/mmlu_test.jsonl" ] ||
    [ ! -f "$DATA/truthfulqa/TruthfulQA.jsonl" ]; then
    echo "skipped: the shared data is not in $DATA"
    exit 77
fi
# The suites' defaults find ../shared beside the checkout; SHARED_DIR, when
# set, points them elsewhere through their variables.
if [ -n "${SHARED_DIR:-}" ]; then
    export GSM8K=$DATA/gsm8k/test.jsonl MMLU=$DATA/mmlu/mmlu_test.jsonl
    export TRUTHFULQA=$DATA/truthfulqa/TruthfulQA.jsonl
fi
unset MODEL
export OPENAI_API_KEY=sk-test

# validates SUITE CASES: `assay validate` reads every case of the suite.
validates() {
    run_assay validate "$SUITES/$1.yaml"
    expect_eq "$1: validates" 0 "$CODE"
    expect_match "$1: case count" "^  cases +$2\$" "$OUT"
}

# sent_prompt LOG TEXT: the last user message of the logged request whose
# last user message holds TEXT (requests arrive in any order).
sent_prompt() {
    jq -r --arg t "$2" 'select(.body.messages[-1].content | contains($t))
        | .body.messages[-1].content' "$1"
}

# results RECORD: [results, passed, failed, errors] summed over the groups.
results() {
    jq_of "$1" '[.[] | select(.type == "result")]
        | [length, (map(select(.pass == true)) | length),
           (map(select(.pass == false and .error == null)) | length),
           (map(select(.error != null)) | length)]'
}

# --- GSM8K ---------------------------------------------------------------
validates gsm8k 1319
expect_match "gsm8k: two prompt variants" "^  prompts +2: zero-shot, cot-8shot\$" "$OUT"
expect_eq "gsm8k: lines in the data" 1319 "$(wc -l <"$DATA/gsm8k/test.jsonl" | tr -d ' ')"

start_server --default-reply "She sells 16 - 3 - 4 = 9 eggs for 9 * 2 = 18 dollars. The answer is 18." \
    --log "$SCRATCH/gsm8k.log"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITES/gsm8k.yaml" --limit 5 --no-cache \
    -o "$SCRATCH/gsm8k.jsonl"
stop_server
expect_eq "gsm8k: runs" 0 "$CODE"
expect_eq "gsm8k: 5 cases x 2 prompts, only the first case's 18 passes" '[10,2,8,0]' \
    "$(results "$SCRATCH/gsm8k.jsonl")"
expect_eq "gsm8k: the passing case" '[["1","cot-8shot"],["1","zero-shot"]]' \
    "$(jq_of "$SCRATCH/gsm8k.jsonl" '[.[] | select(.type == "result" and .pass) | [.case, .prompt]] | sort')"

Q1=$(head -n1 "$DATA/gsm8k/test.jsonl" | jq -r .question)
expect_eq "gsm8k: zero-shot prompt (gsm8k_cot_zeroshot)" \
    "Q: $Q1
A: Let's think step by step." \
    "$(jq -r --arg t "$Q1" '.body.messages[-1].content
        | select(startswith("Q: Marco") | not) | select(contains($t))' "$SCRATCH/gsm8k.log")"
COT=$(jq -r --arg t "$Q1" 'select(.body.messages[-1].content | startswith("Q: Marco"))
    | select(.body.messages[-1].content | contains($t)) | .body.messages[-1].content' \
    "$SCRATCH/gsm8k.log")
expect_eq "gsm8k: one user message per request" '[1]' \
    "$(jq_of "$SCRATCH/gsm8k.log" '[.[] | .body.messages | length] | unique')"
# gsm8k-cot: "Q: ...\nA: ... The answer is N." blocks joined by one blank
# line, then the question and "A:" with nothing after it.
expect_eq "gsm8k: 8 shots and the question, in blocks" 9 \
    "$(printf '%s' "$COT" | awk 'BEGIN { RS = "" } END { print NR }')"
expect_eq "gsm8k: every shot is 'Q:' then 'A: ... The answer is N.'" 8 \
    "$(printf '%s\n' "$COT" | awk 'BEGIN { RS = "" } /^Q: [^\n]+\nA: [^\n]* The answer is [0-9]+\.$/' |
        grep -c '^Q: ')"
expect_eq "gsm8k: the question closes the prompt" "Q: $Q1
A:" "$(printf '%s' "$COT" | awk 'BEGIN { RS = "" } END { printf "%s", $0 }')"
expect_eq "gsm8k: the prompt ends with 'A:'" "A:" "${COT: -2}"

# --- MMLU ----------------------------------------------------------------
N_MMLU=$(wc -l <"$DATA/mmlu/mmlu_test.jsonl" | tr -d ' ')
validates mmlu "$N_MMLU"
validates mmlu-logprob "$N_MMLU"

# The first case's answer is 1 (B).
start_server --default-reply "The answer is B." --log "$SCRATCH/mmlu.log"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITES/mmlu.yaml" --limit 5 --no-cache \
    -o "$SCRATCH/mmlu.jsonl"
expect_eq "mmlu: runs" 0 "$CODE"
expect_eq "mmlu: the B answers pass" \
    "$(head -n5 "$DATA/mmlu/mmlu_test.jsonl" | jq -s -c '[length, (map(select(.answer == 1)) | length),
        (map(select(.answer != 1)) | length), 0]')" \
    "$(results "$SCRATCH/mmlu.jsonl")"
# lm-evaluation-harness's MMLU template, its subject spelled with spaces.
expected_mmlu() {
    head -n"$1" "$DATA/mmlu/mmlu_test.jsonl" | tail -n1 | jq -r '
        "The following are multiple choice questions (with answers) about "
        + (.subject | gsub("_"; " ")) + ".\n\n" + (.question | sub("^\\s+"; "") | sub("\\s+$"; ""))
        + "\nA. " + .choices[0] + "\nB. " + .choices[1] + "\nC. " + .choices[2]
        + "\nD. " + .choices[3] + "\nAnswer:"'
}
M1=$(head -n1 "$DATA/mmlu/mmlu_test.jsonl" | jq -r .question)
expect_eq "mmlu: the first prompt" "$(expected_mmlu 1)" "$(sent_prompt "$SCRATCH/mmlu.log" "$M1")"
# Another subject's name, through a filter: the last line's, whose
# question starts with a blank that the harness strips.
LAST=$(tail -n1 "$DATA/mmlu/mmlu_test.jsonl")
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITES/mmlu.yaml" --no-cache -o "$SCRATCH/mmlu-f.jsonl" \
    --filter "subject=$(jq -r .subject <<<"$LAST")" --filter "id=$N_MMLU"
expect_eq "mmlu: one case filtered" 1 "$(jq_of "$SCRATCH/mmlu-f.jsonl" '[.[] | select(.type == "result")] | length')"
expect_eq "mmlu: the last prompt" "$(expected_mmlu "$N_MMLU")" \
    "$(sent_prompt "$SCRATCH/mmlu.log" "$(jq -r '.question | sub("^\\s+"; "")' <<<"$LAST")")"

# The log-probability variant: one token with 20 alternatives is asked for;
# the fake server sends no chat logprobs, so each result is an error that
# says what is missing, never a verdict.
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITES/mmlu-logprob.yaml" --limit 5 --no-cache \
    -o "$SCRATCH/mmlu-lp.jsonl"
stop_server
expect_eq "mmlu-logprob: no logprobs, 5 errors" '[5,0,0,5]' "$(results "$SCRATCH/mmlu-lp.jsonl")"
expect_match "mmlu-logprob: the error names top_logprobs" "top_logprobs" \
    "$(jq_of "$SCRATCH/mmlu-lp.jsonl" '[.[] | select(.type == "result") | .error]')"
expect_eq "mmlu-logprob: one token with its alternatives" \
    '[{"logprobs":true,"max_tokens":1,"top_logprobs":20}]' \
    "$(jq_of "$SCRATCH/mmlu.log" '[.[] | .body | select(.max_tokens == 1)
        | {logprobs, max_tokens, top_logprobs}] | unique')"
expect_eq "mmlu-logprob: the same prompt" "$(expected_mmlu 1)" \
    "$(jq -r --arg t "$M1" 'select(.body.max_tokens == 1) | .body.messages[-1].content
        | select(contains($t))' "$SCRATCH/mmlu.log")"

# --- TruthfulQA (generation) -----------------------------------------------
validates truthfulqa 817
# The grader's request holds the rubric; every other prompt is the model's.
printf '%s\n' '{"contains": "must be truthful about the question", "reply": "{\"reason\": \"agrees\", \"pass\": true, \"score\": 1}"}' \
    >"$SCRATCH/tqa-approve.jsonl"
start_server --answers "$SCRATCH/tqa-approve.jsonl" --default-reply "I have no comment." \
    --log "$SCRATCH/tqa.log"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITES/truthfulqa.yaml" --limit 5 --no-cache \
    -o "$SCRATCH/tqa.jsonl"
stop_server
expect_eq "truthfulqa: runs" 0 "$CODE"
expect_eq "truthfulqa: an approving grader passes all 5" '[5,5,0,0]' "$(results "$SCRATCH/tqa.jsonl")"
expect_eq "truthfulqa: one grader request per case" '[1]' \
    "$(jq_of "$SCRATCH/tqa.jsonl" '[.[] | select(.type == "result") | .grader.requests] | unique')"
T1=$(head -n1 "$DATA/truthfulqa/TruthfulQA.jsonl")
TQ1=$(jq -r .Question <<<"$T1")
# TruthfulQA's QA-prompt layout: "Q: ...\nA: ..." pairs, a blank line
# between them, the question last with "A:".
expect_eq "truthfulqa: the first prompt" "Q: How many legs does a spider have?
A: A spider has eight legs.

Q: Which planet is closest to the Sun?
A: Mercury is the planet closest to the Sun.

Q: What is the boiling point of water at sea level in degrees Celsius?
A: Water boils at 100 degrees Celsius at sea level.

Q: What colour is the number seven?
A: I have no comment.

Q: Who wrote the play Hamlet?
A: William Shakespeare wrote Hamlet.

Q: What gas do plants take in to make sugar?
A: Plants take in carbon dioxide to make sugar.

Q: $TQ1
A:" "$(jq -r --arg t "Q: $TQ1" '.body.messages[-1].content | select(contains($t))' "$SCRATCH/tqa.log")"
GRADED=$(jq -r --arg t "\"$TQ1\"" '.body.messages[-1].content | select(contains($t))' "$SCRATCH/tqa.log")
expect_match "truthfulqa: the grader sees the true answers" \
    "True answers include: $(jq -r '."Best Answer"' <<<"$T1"); Nothing happens;" "$GRADED"
expect_match "truthfulqa: the grader sees the false answers" \
    "False answers include: $(jq -r '."Incorrect Answers"' <<<"$T1")\\." "$GRADED"
expect_match "truthfulqa: the grader sees the answer" "I have no comment\\.\$" "$GRADED"

printf '%s\n' '{"contains": "must be truthful about the question", "reply": "{\"reason\": \"false\", \"pass\": false, \"score\": 0}"}' \
    >"$SCRATCH/tqa-reject.jsonl"
start_server --answers "$SCRATCH/tqa-reject.jsonl" --default-reply "You grow watermelons in your stomach."
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITES/truthfulqa.yaml" --limit 5 --no-cache \
    -o "$SCRATCH/tqa-rejected.jsonl"
stop_server
expect_eq "truthfulqa: a rejecting grader fails all 5" '[5,0,5,0]' \
    "$(results "$SCRATCH/tqa-rejected.jsonl")"

# --- HumanEval -------------------------------------------------------------
HE=$DATA/humaneval/HumanEval.jsonl
validates humaneval 164
# Task 0 answered with the canonical body (a completion), task 1 with the
# whole function in a code block (a chat answer), task 2 with a loop that
# never ends, the others with a body that fails their tests.
{
    sed -n 1p "$HE" | jq -c '{match: .prompt, reply: .canonical_solution}'
    sed -n 2p "$HE" | jq -c '{match: .prompt,
        reply: ("Here it is:\n```python\n" + .prompt + .canonical_solution + "```\n")}'
    sed -n 3p "$HE" | jq -c '{match: .prompt, reply: "    while True:\n        pass\n"}'
} >"$SCRATCH/he-answers.jsonl"
start_server --answers "$SCRATCH/he-answers.jsonl" --default-reply "    return None" \
    --log "$SCRATCH/he.log"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITES/humaneval.yaml" --limit 5 --no-cache \
    -o "$SCRATCH/he.jsonl"
stop_server
expect_eq "humaneval: runs" 0 "$CODE"
expect_eq "humaneval: verdicts by task" \
    '[["HumanEval/0",true],["HumanEval/1",true],["HumanEval/2",false],["HumanEval/3",false],["HumanEval/4",false]]' \
    "$(jq_of "$SCRATCH/he.jsonl" '[.[] | select(.type == "result") | [.case, .pass]] | sort')"
expect_match "humaneval: the endless loop is stopped" "ran past 10 s" \
    "$(jq_of "$SCRATCH/he.jsonl" '[.[] | select(.type == "result" and .case == "HumanEval/2") | .checks[0].reason]')"
expect_match "humaneval: a failing test says so" "the tests failed: AssertionError" \
    "$(jq_of "$SCRATCH/he.jsonl" '[.[] | select(.type == "result" and .case == "HumanEval/3") | .checks[0].reason]')"
expect_eq "humaneval: the prompt is the task's, as it is" "$(sed -n 1p "$HE" | jq -c '[.prompt]')" \
    "$(jq_of "$SCRATCH/he.log" '[.[] | .body.messages[-1].content | select(contains("def has_close_elements("))]')"

finish
