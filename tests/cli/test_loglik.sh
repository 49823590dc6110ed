#!/usr/bin/env bash
# Log-likelihood multiple choice (loglik-choice, loglik-choice-norm) over
# /completions with echo, against the fake server: its logprobs come from
# each word's SHA-256 (tests/server/bodies.c), so the sums below are fixed.
# A case is crafted where acc and acc_norm disagree; a server without echo
# (--no-echo, as llama-server answers) gives a specific error; a chat
# target is refused when the suite is read; datasets/suites/mmlu-loglik.yaml
# runs over the shared MMLU copy when it is beside the checkout.
. "$(dirname "$0")/lib.sh"

export OPENAI_API_KEY=sk-test
unset MODEL

# The fake server's logprobs of the options' words:
#   Paris -3.6649;  mountain -2.3243, desert -1.3859, grape -0.6044,
#   orange -1.0664 (sum -5.3810 over 28 characters);  Lyon -7.2532.
# acc picks Paris (largest sum); acc_norm picks the four words (-0.192 per
# character against Paris's -0.733).
cat >"$SCRATCH/mc.yaml" <<'EOF'
targets:
  - {model: m, endpoint: completions, params: {max_tokens: 64, seed: 7}}
prompt: "Which?\nAnswer:"
cases:
  - {id: words, answer: 1, options: [Paris, mountain desert grape orange, Lyon]}
  - {id: paris, answer: A, options: [Paris, mountain desert grape orange, Lyon]}
checks:
  - {type: loglik-choice, value: "{{answer}}", choices: "{{options}}", metric: acc}
  - {type: loglik-choice-norm, value: "{{answer}}", choices: "{{options}}",
     metric: acc_norm, weight: 0}
EOF

start_server --log "$SCRATCH/mc.log"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SCRATCH/mc.yaml" --no-cache -o "$SCRATCH/mc.jsonl"
expect_eq "crafted: runs" 0 "$CODE"
expect_eq "crafted: acc and acc_norm per case" \
    '[["paris",true,false],["words",false,true]]' \
    "$(jq_of "$SCRATCH/mc.jsonl" '[.[] | select(.type == "result")
        | [.case, .checks[0].pass, .checks[1].pass]] | sort')"
expect_eq "crafted: the metrics' means" '[["acc",0.5],["acc_norm",0.5]]' \
    "$(jq_of "$SCRATCH/mc.jsonl" '[.[] | select(.type == "summary")
        | .groups[0].metrics[] | [.name, .mean]]')"
expect_match "crafted: the sums in the reason" \
    "found \(A\) 'Paris'; log-likelihood \(A\) -3.6649, \(B\) -5.381, \(C\) -7.2532" \
    "$(jq_of "$SCRATCH/mc.jsonl" '[.[] | select(.case == "words") | .checks[0].reason]')"
expect_match "crafted: per character for acc_norm" \
    "found \(B\) 'mountain desert grape orange'; log-likelihood per character \(A\) -0.733, \(B\) -0.1922" \
    "$(jq_of "$SCRATCH/mc.jsonl" '[.[] | select(.case == "words") | .checks[1].reason]')"
# One request per case: the context then each continuation, echoed; the
# target's max_tokens gives way, its seed goes through.
expect_eq "crafted: one request per case" 2 "$(wc -l <"$SCRATCH/mc.log" | tr -d ' ')"
expect_eq "crafted: the request" \
    '{"prompt":["Which?\nAnswer: Paris","Which?\nAnswer: mountain desert grape orange","Which?\nAnswer: Lyon"],"echo":true,"logprobs":1,"max_tokens":1,"temperature":0,"seed":7}' \
    "$(jq -c -s '.[0].body | {prompt, echo, logprobs, max_tokens, temperature, seed}' "$SCRATCH/mc.log")"

# A second run replays the replies from the cache, with the same verdicts.
OPENAI_BASE_URL=$BASE_URL run_assay run "$SCRATCH/mc.yaml" --cache "$SCRATCH/cache.db" \
    -o "$SCRATCH/first.jsonl"
OPENAI_BASE_URL=$BASE_URL run_assay run "$SCRATCH/mc.yaml" --cache "$SCRATCH/cache.db" \
    -o "$SCRATCH/again.jsonl"
expect_eq "cache: replayed" '[true,true]' \
    "$(jq_of "$SCRATCH/again.jsonl" '[.[] | select(.type == "result") | .cached]')"
expect_eq "cache: same verdicts" \
    "$(jq_of "$SCRATCH/first.jsonl" '[.[] | select(.type == "result") | [.case, .checks[].pass]] | sort')" \
    "$(jq_of "$SCRATCH/again.jsonl" '[.[] | select(.type == "result") | [.case, .checks[].pass]] | sort')"
stop_server

# A server that refuses echo: each result is an error saying so.
start_server --no-echo
OPENAI_BASE_URL=$BASE_URL run_assay run "$SCRATCH/mc.yaml" --no-cache --max-attempts 1 \
    -o "$SCRATCH/no-echo.jsonl"
stop_server
expect_eq "no echo: errors, not verdicts" '[2]' \
    "$(jq_of "$SCRATCH/no-echo.jsonl" '[[.[] | select(.type == "result" and .error.status == 500)] | length]')"
expect_match "no echo: the error says why and what else to use" \
    "the server does not support echo log-likelihoods \(HTTP 500: server_error: Unsupported param: echo\).*choice-logprob" \
    "$(jq_of "$SCRATCH/no-echo.jsonl" '[.[] | select(.type == "result") | .error.message] | unique | .[0]')"

# A chat target cannot score log-likelihoods: refused before anything is sent.
sed 's/endpoint: completions, //' "$SCRATCH/mc.yaml" >"$SCRATCH/chat.yaml"
run_assay validate "$SCRATCH/chat.yaml"
expect_eq "chat target: refused" 1 "$((CODE != 0))"
expect_match "chat target: the error names the target and the way out" \
    "chat.yaml:2:.*check 'loglik-choice' scores log-likelihoods over /completions, and target 'm' is not a completions target.*choice-logprob" \
    "$ERR"

# --- MMLU, over the shared copy ---------------------------------------------
DATA=${SHARED_DIR:-$SOURCE_ROOT/../shared}/data
if [ -f "$DATA/mmlu/mmlu_test.jsonl" ]; then
    [ -n "${SHARED_DIR:-}" ] && export MMLU=$DATA/mmlu/mmlu_test.jsonl
    SUITE=$SOURCE_ROOT/datasets/suites/mmlu-loglik.yaml
    run_assay validate "$SUITE"
    expect_eq "mmlu-loglik: validates" 0 "$CODE"
    expect_match "mmlu-loglik: every case" \
        "^  cases +$(wc -l <"$DATA/mmlu/mmlu_test.jsonl" | tr -d ' ')\$" "$OUT"
    start_server --log "$SCRATCH/mmlu.log"
    OPENAI_BASE_URL=$BASE_URL run_assay run "$SUITE" --limit 5 --no-cache \
        -o "$SCRATCH/mmlu.jsonl"
    stop_server
    expect_eq "mmlu-loglik: runs" 0 "$CODE"
    # The letters' word logprobs: A -3.344, B -8.7302, C -4.1851, D -2.4698;
    # D is always the most likely, so the cases whose answer is 3 pass.
    expect_eq "mmlu-loglik: D is picked" \
        "$(head -n5 "$DATA/mmlu/mmlu_test.jsonl" | jq -s -c '[length, (map(select(.answer == 3)) | length), 0]')" \
        "$(jq_of "$SCRATCH/mmlu.jsonl" '[.[] | select(.type == "result")]
            | [length, (map(select(.pass)) | length), (map(select(.error != null)) | length)]')"
    # lm-evaluation-harness's MMLU context, then " A" ... " D".
    FIRST=$(head -n1 "$DATA/mmlu/mmlu_test.jsonl")
    expect_eq "mmlu-loglik: the first case's prompts" \
        "$(jq -c '("The following are multiple choice questions (with answers) about "
            + (.subject | gsub("_"; " ")) + ".\n\n" + (.question | sub("^\\s+"; "") | sub("\\s+$"; ""))
            + "\nA. " + .choices[0] + "\nB. " + .choices[1] + "\nC. " + .choices[2]
            + "\nD. " + .choices[3] + "\nAnswer:") as $c | [$c + " A", $c + " B", $c + " C", $c + " D"]' \
            <<<"$FIRST")" \
        "$(jq -c --argjson f "$FIRST" 'select(.body.prompt[0]
            | contains($f.question | sub("^\\s+"; "") | sub("\\s+$"; ""))) | .body.prompt' \
            "$SCRATCH/mmlu.log")"
else
    echo "the shared MMLU copy is not in $DATA: its part is skipped"
fi

# OpenAI and vLLM answer a prompt list with one object, a choice per
# prompt: the same verdicts.
stop_server
start_server --list-shape openai
OPENAI_BASE_URL=$BASE_URL run_assay run "$SCRATCH/mc.yaml" --no-cache -o "$SCRATCH/mc-one.jsonl"
expect_eq "one object: runs" 0 "$CODE"
expect_eq "one object: the same verdicts" \
    '[["paris",true,false],["words",false,true]]' \
    "$(jq_of "$SCRATCH/mc-one.jsonl" '[.[] | select(.type == "result")
        | [.case, .checks[0].pass, .checks[1].pass]] | sort')"

# The dry run estimates the request the run sends: the context and every
# continuation, more than the plain prompt alone.
prompt_tokens() { sed -n 's/^  tokens *~\([0-9]*\) prompt.*/\1/p' <<<"$OUT"; }
run_assay run "$SCRATCH/mc.yaml" --dry-run
expect_eq "dry run: exits 0" 0 "$CODE"
WITH=$(prompt_tokens)
sed '/^checks:/,$d' "$SCRATCH/mc.yaml" >"$SCRATCH/plain.yaml"
echo "checks: [{contains: Paris}]" >>"$SCRATCH/plain.yaml"
run_assay run "$SCRATCH/plain.yaml" --dry-run
WITHOUT=$(prompt_tokens)
expect_eq "dry run: the continuations are counted" true \
    "$([ -n "$WITH" ] && [ -n "$WITHOUT" ] && [ "$WITH" -gt $((WITHOUT + 10)) ] && echo true || echo "false ($WITH against $WITHOUT)")"

finish
