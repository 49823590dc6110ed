#!/usr/bin/env bash
# The standard benchmark suites in datasets/suites/, over the public copies
# in ../shared/data: each validates with the file's number of cases, runs
# its first cases against the fake server, and sends the first case's
# prompt exactly as the original harness lays it out: the expected texts
# in cases/bench_suites/ were built from the harnesses' own definitions
# (cases/bench_suites/expected.py, which names the file each follows), not
# by assay. Skipped (77) when the shared data is not beside the checkout.
. "$(dirname "$0")/lib.sh"

SUITES=$SOURCE_ROOT/datasets/suites
EXPECTED=$CASES/bench_suites
DATA=${SHARED_DIR:-$SOURCE_ROOT/../shared}/data
for f in gsm8k/test.jsonl mmlu/mmlu_test.jsonl truthfulqa/TruthfulQA.jsonl \
    truthfulqa/mc_task.jsonl humaneval/HumanEval.jsonl; do
    if [ ! -f "$DATA/$f" ]; then
        echo "skipped: the shared data is not in $DATA"
        exit 77
    fi
done
# The suites' defaults find ../shared beside the checkout; SHARED_DIR, when
# set, points them elsewhere through their variables.
if [ -n "${SHARED_DIR:-}" ]; then
    export GSM8K=$DATA/gsm8k/test.jsonl MMLU=$DATA/mmlu/mmlu_test.jsonl
    export TRUTHFULQA=$DATA/truthfulqa/TruthfulQA.jsonl
    export TRUTHFULQA_MC=$DATA/truthfulqa/mc_task.jsonl
    export HUMANEVAL=$DATA/humaneval/HumanEval.jsonl
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

# sends_exactly WHAT LOG FILTER NAME: the logged requests that the jq
# condition FILTER selects (by their `.body`) sent, byte for byte, the one
# user message in cases/bench_suites/NAME.txt (which ends with one line
# break more than the prompt).
sends_exactly() {
    local got=$SCRATCH/sent-$4.txt
    jq -j "select(.body | $3) | .body.messages
        | if length == 1 and .[0].role == \"user\" then .[0].content + \"\\n\"
          else \"not one user message: \" + tojson + \"\\n\" end" "$2" >"$got"
    CHECKS=$((CHECKS + 1))
    if ! cmp -s "$EXPECTED/$4.txt" "$got"; then
        fail "$1: the prompt sent differs from $4.txt:
$(diff "$EXPECTED/$4.txt" "$got" | head -n 20)"
    fi
}

# dry_run_shows WHAT SUITE PROMPT NAME [CASE]: `assay run --dry-run` shows
# the first case's prompt PROMPT as cases/bench_suites/NAME.txt holds it
# (the display indents continuation lines and cannot show a final line
# break). CASE is the first case's id, 1 unless given.
dry_run_shows() {
    run_assay run "$SUITES/$2.yaml" --dry-run
    expect_eq "$1: dry run" 0 "$CODE"
    local shown
    shown=$(printf '%s\n' "$OUT" | awk -v head="case '${5:-1}', prompt '$3':" '
        $0 == head { on = 1; next }
        on && /^$/ { exit }
        on == 1 { sub(/^  user: /, ""); print; on = 2; next }
        on { sub(/^    /, ""); print }')
    expect_eq "$1: the dry run shows the first case" "$(cat "$EXPECTED/$4.txt")" "$shown"
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

expect_eq "gsm8k: one user message per request" '[1]' \
    "$(jq_of "$SCRATCH/gsm8k.log" '[.[] | .body.messages | length] | unique')"
# Both lm-evaluation-harness tasks stop at "Q:" (their `until`).
expect_eq "gsm8k: the harness's stop sequences" '[["Q:","</s>","<|im_end|>"]]' \
    "$(jq_of "$SCRATCH/gsm8k.log" '[.[] | .body.stop] | unique')"
Q1=$(head -n1 "$DATA/gsm8k/test.jsonl" | jq -r .question)
# lm-evaluation-harness lm_eval/tasks/gsm8k/gsm8k-cot-zeroshot.yaml
# (doc_to_text) and lm_eval/tasks/gsm8k/gsm8k-cot.yaml (its 8 few-shot
# samples, then doc_to_text).
sends_exactly "gsm8k: zero-shot, as gsm8k_cot_zeroshot" "$SCRATCH/gsm8k.log" \
    "(.messages[0].content | contains(\"Let's think\") and contains(\"Janet\"))" \
    gsm8k-zero-shot
sends_exactly "gsm8k: 8-shot, as gsm8k_cot" "$SCRATCH/gsm8k.log" \
    "(.messages[0].content | startswith(\"Q: There are 15 trees\") and contains(\"Janet\"))" \
    gsm8k-cot-8shot
dry_run_shows "gsm8k zero-shot" gsm8k zero-shot gsm8k-zero-shot
dry_run_shows "gsm8k 8-shot" gsm8k cot-8shot gsm8k-cot-8shot
expect_eq "gsm8k: the expected text holds the data's question" 1 \
    "$(grep -cF -- "$Q1" "$EXPECTED/gsm8k-zero-shot.txt")"

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
# lm-evaluation-harness lm_eval/tasks/mmlu/default/mmlu_abstract_algebra.yaml
# (description) and _default_template_yaml (doc_to_text); the stops are
# the `until` of lm_eval/tasks/mmlu/generative/_default_template_yaml.
sends_exactly "mmlu: the first case, as the harness's template" "$SCRATCH/mmlu.log" \
    "(.max_tokens != 1 and (.messages[0].content | contains(\"sqrt(18)\")))" mmlu
dry_run_shows "mmlu" mmlu default mmlu
expect_eq "mmlu: the harness's stop sequences" '[["</s>","\n"]]' \
    "$(jq_of "$SCRATCH/mmlu.log" '[.[] | .body | select(.max_tokens != 1) | .stop] | unique')"
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
sends_exactly "mmlu-logprob: the same first prompt" "$SCRATCH/mmlu.log" \
    "(.max_tokens == 1 and (.messages[0].content | contains(\"sqrt(18)\")))" mmlu
dry_run_shows "mmlu-logprob" mmlu-logprob default mmlu

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
# lm-evaluation-harness lm_eval/tasks/truthfulqa/truthfulqa_gen.yaml
# (doc_to_text: prompt_qa + '\n\nQ: ' + question), stopped at a blank line.
sends_exactly "truthfulqa: the first case, as truthfulqa_gen" "$SCRATCH/tqa.log" \
    "(.stop == [\"\\n\\n\"] and (.messages[0].content | contains(\"watermelon\")))" truthfulqa
dry_run_shows "truthfulqa" truthfulqa default truthfulqa
expect_eq "truthfulqa: the model's requests stop at a blank line" 5 \
    "$(jq_of "$SCRATCH/tqa.log" '[.[] | select(.body.stop == ["\n\n"])] | length')"
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

# --- TruthfulQA (MC1) -------------------------------------------------------
validates truthfulqa-mc1 817
# First every answer is "A": only the cases whose true option the shuffle
# put first pass (mc_task.json lists it first in every question).
start_server --default-reply "A" --log "$SCRATCH/mc1.log"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITES/truthfulqa-mc1.yaml" --limit 20 --no-cache \
    -o "$SCRATCH/mc1-a.jsonl"
stop_server
expect_eq "truthfulqa-mc1: runs" 0 "$CODE"
# LETTERS: for each prompt sent, the letter its true option shows there.
head -n20 "$DATA/truthfulqa/mc_task.jsonl" |
    jq -c '{q: .question, t: (.mc1_targets | to_entries[] | select(.value == 1) | .key)}' \
    >"$SCRATCH/mc1-true.jsonl"
LETTERS=$(jq -n -c --slurpfile truth "$SCRATCH/mc1-true.jsonl" --slurpfile log "$SCRATCH/mc1.log" '
    [$log[] | .body.messages[0].content as $p
     | ($truth[] | select(.q as $q | $p | contains("\n\nQ: " + $q + "\n"))) as $c
     | {prompt: $p, letter: ($p | split("\n") | map(select(endswith(". " + $c.t)))
                              | .[0][0:1])}]')
expect_eq "truthfulqa-mc1: each prompt shows its true option" 20 \
    "$(jq '[.[] | select(.letter != null)] | length' <<<"$LETTERS")"
FIRST=$(jq '[.[] | select(.letter == "A")] | length' <<<"$LETTERS")
expect_eq "truthfulqa-mc1: 'A' passes where the true option is A" \
    "[20,$FIRST,$((20 - FIRST)),0]" "$(results "$SCRATCH/mc1-a.jsonl")"
expect_match "truthfulqa-mc1: the true option is not always first" "^([0-9]|1[0-5])\$" "$FIRST"
expect_match "truthfulqa-mc1: nor never" "^[1-9]" "$FIRST"
expect_eq "truthfulqa-mc1: more than A and B are true" 1 \
    "$(jq '[.[].letter] | unique | length > 2 | if . then 1 else 0 end' <<<"$LETTERS")"
# Then each prompt is answered with the letter its true option shows: the
# check finds the same letter, so all pass.
jq -c '.[] | {match: .prompt, reply: ("The answer is " + .letter + ".")}' <<<"$LETTERS" \
    >"$SCRATCH/mc1-answers.jsonl"
start_server --answers "$SCRATCH/mc1-answers.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITES/truthfulqa-mc1.yaml" --limit 20 --no-cache \
    -o "$SCRATCH/mc1-right.jsonl"
stop_server
expect_eq "truthfulqa-mc1: the shown letters pass" '[20,20,0,0]' "$(results "$SCRATCH/mc1-right.jsonl")"
# lm-evaluation-harness lm_eval/tasks/truthfulqa/truthfulqa_mc1.yaml
# (prompt_qa + '\n\nQ: ' + question), the options lettered in the
# shuffled order and "Answer:" as lm_eval/tasks/mmlu/default/
# _default_template_yaml letters its options.
sends_exactly "truthfulqa-mc1: the first case" "$SCRATCH/mc1.log" \
    "(.messages[0].content | contains(\"pomegranate?\"))" truthfulqa-mc1
dry_run_shows "truthfulqa-mc1" truthfulqa-mc1 default truthfulqa-mc1
expect_eq "truthfulqa-mc1: stops before a next question" '[["\n\nQ:"]]' \
    "$(jq_of "$SCRATCH/mc1.log" '[.[] | .body.stop] | unique')"

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
# human-eval README.md: generate_one_completion(problems[task_id]["prompt"]).
sends_exactly "humaneval: the first task's prompt" "$SCRATCH/he.log" \
    "(.messages[0].content | contains(\"def has_close_elements(\"))" humaneval
dry_run_shows "humaneval" humaneval default humaneval HumanEval/0

finish
