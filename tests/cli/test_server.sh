#!/usr/bin/env bash
# The fake server itself, driven with curl: the shape of its streams,
# /v1/completions (echo, logprobs, prompt lists), /v1/embeddings, every
# fault mode's status and headers, fail_times, seeded fault rates, the rate
# limiter, the request log's fields, and the concurrency report.
. "$(dirname "$0")/lib.sh"

ANSWERS=$SCRATCH/answers.jsonl
cat >"$ANSWERS" <<'EOF'
{"match": "hello", "reply": "Hi there, how are you?"}
{"match": "paced", "reply": "one two three", "chunk_delay_ms": 300}
{"match": "Once upon a time", "reply": " there was a cat."}
{"match": "The capital of France is", "reply": " Paris."}
{"match": "f500", "fault": "500"}
{"match": "f502", "fault": "502"}
{"match": "f503", "fault": "503"}
{"match": "f400", "fault": "400"}
{"match": "f401", "fault": "401"}
{"match": "f404", "fault": "404"}
{"match": "f408", "fault": "408"}
{"match": "f429", "fault": "429"}
{"match": "f429s", "fault": "429", "retry_after": 7}
{"match": "f429d", "fault": "429", "retry_after": "+30"}
{"match": "f429h", "fault": "429", "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}
{"match": "f429ms", "fault": "429", "retry_after_ms": 1500}
{"match": "fquota", "fault": "429-quota"}
{"match": "fnoretry", "fault": "should-retry-false"}
{"match": "freset", "fault": "reset"}
{"match": "fstall", "fault": "stall"}
{"match": "fmalformed", "fault": "malformed"}
{"match": "ftruncate", "reply": "alpha beta gamma delta", "fault": "truncate"}
{"match": "ftruncate-twin", "reply": "alpha beta gamma delta"}
{"match": "fhuge", "fault": "huge"}
{"match": "flaky", "reply": "at last", "fault": "503", "fail_times": 2}
{"match": "flaky-status", "reply": "better", "status": 500, "fail_times": 1}
{"match": "flaky-embed", "fault": "502", "fail_times": 1}
EOF

# post PATH JSON [CURL-ARGS...]: POSTs to the server; the status goes in
# STATUS, the body in $SCRATCH/body, the headers (lower-cased) in
# $SCRATCH/headers, curl's exit code in CURL.
post() {
    local path=$1 json=$2
    shift 2
    STATUS=$(curl -sS -o "$SCRATCH/body" -D "$SCRATCH/headers.raw" -w '%{http_code}' \
        -H 'Content-Type: application/json' -d "$json" "$@" "$BASE_URL$path" 2>/dev/null)
    CURL=$?
    tr -d '\r' <"$SCRATCH/headers.raw" | tr 'A-Z' 'a-z' >"$SCRATCH/headers"
}

chat() { # chat PROMPT [EXTRA-JSON-FIELDS [CURL-ARGS...]]
    local prompt=$1 extra=${2:-}
    shift
    [ $# -gt 0 ] && shift
    post /chat/completions "{\"messages\":[{\"role\":\"user\",\"content\":\"$prompt\"}]$extra}" "$@"
}

# serve ARGS...: start_server, which reads the port from $SCRATCH/server.out;
# removing the last server's file first keeps a slow start from reading
# a stale port.
serve() {
    rm -f "$SCRATCH/server.out"
    start_server "$@"
}

header() { sed -n "s/^$1: //p" "$SCRATCH/headers"; }
body() { cat "$SCRATCH/body"; }
# The data: payloads of an event stream, one per line.
events() { sed -n 's/^data: //p' "$SCRATCH/body"; }

# ------------------------------------------------------------ the command line
"$FAKE_SERVER" --help >"$SCRATCH/help" 2>&1
expect_eq "--help exits 0" 0 $?
expect_match "--help names the fault modes" 'should-retry-false' "$(cat "$SCRATCH/help")"
"$FAKE_SERVER" --faults 500=0.7,429=0.5 2>"$SCRATCH/err"
expect_eq "fault rates over 1 are a usage error" 2 $?
expect_match "and say so" 'add up to 1.2' "$(cat "$SCRATCH/err")"
"$FAKE_SERVER" --faults boom=0.1 2>"$SCRATCH/err"
expect_eq "unknown fault mode" 2 $?
printf '{"match": "x", "reply": "y", "fault": "boom"}\n' >"$SCRATCH/bad.jsonl"
"$FAKE_SERVER" --answers "$SCRATCH/bad.jsonl" 2>"$SCRATCH/err"
expect_eq "unknown fault in an answer" 2 $?
expect_match "names the line" 'bad.jsonl:1: .fault. must be one of' "$(cat "$SCRATCH/err")"
printf '\n{"match": "x", "reply": "y", "fail_times": 2}\n' >"$SCRATCH/bad.jsonl"
"$FAKE_SERVER" --answers "$SCRATCH/bad.jsonl" 2>"$SCRATCH/err"
expect_match "fail_times needs a fault" 'bad.jsonl:2: .fail_times. needs' "$(cat "$SCRATCH/err")"

# ------------------------------------------------------------ streams
serve --answers "$ANSWERS"

chat hello ',"stream":true,"stream_options":{"include_usage":true}'
expect_eq "stream status" 200 "$STATUS"
expect_eq "stream content type" "text/event-stream" "$(header content-type)"
expect_eq "role chunk first" '{"role":"assistant","content":""}' \
    "$(events | head -n1 | jq -c '.choices[0].delta')"
expect_eq "deltas give the reply" '"Hi there, how are you?"' \
    "$(events | grep -v DONE | jq -s -c '[.[].choices[0].delta.content // empty] | add')"
expect_eq "a content chunk per word" 5 \
    "$(events | grep -v DONE | jq -s '[.[] | select(.choices[0].delta.content // "" | length > 0)] | length')"
expect_eq "finish chunk, then usage chunk" '[["stop"],[]]' \
    "$(events | grep -v DONE | tail -n2 | jq -s -c '[(.[0].choices | map(.finish_reason)), .[1].choices]')"
expect_eq "usage" '{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}' \
    "$(events | grep -v DONE | tail -n1 | jq -c .usage)"
expect_eq "usage null on the other chunks" '[null]' \
    "$(events | grep -v DONE | head -n -1 | jq -s -c 'map(.usage) | unique')"
expect_eq "chunk object" '["chat.completion.chunk"]' \
    "$(events | grep -v DONE | jq -s -c 'map(.object) | unique')"
expect_eq "ends with [DONE]" 'data: [DONE]' "$(grep . "$SCRATCH/body" | tail -n1)"

chat hello ',"stream":true'
expect_eq "no usage chunk unless asked" '[null]' \
    "$(events | grep -v DONE | jq -s -c 'map(.usage) | unique')"
expect_eq "the finish chunk is last" '"stop"' \
    "$(events | grep -v DONE | tail -n1 | jq -c '.choices[0].finish_reason')"

read -r FIRST TOTAL <<<"$(curl -s -o /dev/null -w '%{time_starttransfer} %{time_total}' \
    -d '{"messages":[{"role":"user","content":"paced"}],"stream":true}' \
    "$BASE_URL/chat/completions")"
# 6 events (role, 3 words, finish, [DONE]) with 300 ms between them.
expect_eq "the first event comes at once" true "$(jq -n "$FIRST < 0.28")"
expect_eq "chunk_delay_ms paces the rest" true "$(jq -n "$TOTAL >= 1.49")"
stop_server

serve --answers "$ANSWERS" --stream-chunks 2 --stream-shape llama
chat hello ',"stream":true'
expect_eq "--stream-chunks 2" '["Hi there,"," how are you?"]' \
    "$(events | grep -v DONE | jq -s -c '[.[].choices[0].delta.content // empty]')"
expect_eq "llama shape: no role chunk" null "$(events | head -n1 | jq -c '.choices[0].delta.role')"
expect_eq "llama shape: usage on the finish chunk" '["stop",10]' \
    "$(events | grep -v DONE | tail -n1 | jq -c '[.choices[0].finish_reason, .usage.total_tokens]')"
stop_server

serve --answers "$ANSWERS" --chunk-delay-ms 200
read -r FIRST TOTAL <<<"$(curl -s -o /dev/null -w '%{time_starttransfer} %{time_total}' \
    -d '{"messages":[{"role":"user","content":"hello"}],"stream":true}' \
    "$BASE_URL/chat/completions")"
# 8 events: role, 5 words, finish, [DONE], with 200 ms between them.
expect_eq "--chunk-delay-ms: first event at once" true "$(jq -n "$FIRST < 0.18")"
expect_eq "--chunk-delay-ms: the rest paced" true "$(jq -n "$TOTAL >= 1.39")"
stop_server

# ------------------------------------------------------------ /v1/completions
serve --answers "$ANSWERS"
post /completions '{"prompt":"Once upon a time","max_tokens":16}'
expect_eq "completion" '["text_completion"," there was a cat.",0,"stop",4,4]' \
    "$(body | jq -c '[.object, .choices[0].text, .choices[0].index, .choices[0].finish_reason, .usage.prompt_tokens, .usage.completion_tokens]')"
post /completions '{"prompt":["Once upon a time","The capital of France is"]}'
expect_eq "a prompt list gives an array" '[[" there was a cat.",0],[" Paris.",1]]' \
    "$(body | jq -c 'map([.choices[0].text, .choices[0].index])')"
post /completions '{"prompt":"Once upon a time","stream":true,"stream_options":{"include_usage":true}}'
expect_eq "streamed completion" '" there was a cat."' \
    "$(events | grep -v DONE | jq -s -c '[.[].choices[0].text // empty] | add')"
expect_eq "streamed completion ends" '[["stop"],[],"data: [DONE]"]' \
    "$(events | grep -v DONE | tail -n2 | jq -s -c --arg done "$(grep . "$SCRATCH/body" | tail -n1)" '[(.[0].choices | map(.finish_reason)), .[1].choices, $done]')"

post /completions '{"prompt":"The capital of France is Paris.","echo":true,"logprobs":2,"max_tokens":0}'
expect_eq "echo gives the prompt back" '"The capital of France is Paris."' \
    "$(body | jq -c '.choices[0].text')"
expect_eq "tokens are words with their leading space" '["The"," capital"," of"," France"," is"," Paris."]' \
    "$(body | jq -c '.choices[0].logprobs.tokens')"
expect_eq "text_offset" '[0,3,11,14,21,24]' "$(body | jq -c '.choices[0].logprobs.text_offset')"
expect_eq "the first echoed token has no logprob" '[null,null]' \
    "$(body | jq -c '.choices[0].logprobs | [.token_logprobs[0], .top_logprobs[0]]')"
# A word's logprob is -10 * (the first 8 bytes of its SHA-256, big-endian, >> 11) / 2^53.
EXPECTED=$(printf '%s' 'Paris.' | sha256sum | python3 -c 'import sys; h = int(sys.stdin.read()[:16], 16); print(repr(-(h >> 11) * 2.0**-53 * 10.0))')
expect_eq "a word's logprob comes from its hash" true \
    "$(body | jq --argjson want "$EXPECTED" '.choices[0].logprobs.token_logprobs[5] - $want | fabs < 1e-12')"
expect_eq "top_logprobs: the token first, then lower alternatives" true \
    "$(body | jq '.choices[0].logprobs | (.top_logprobs[5] | to_entries) as $t | $t[0].key == " Paris." and $t[0].value == .token_logprobs[5] and ($t | length) == 2 and $t[1].value < $t[0].value')"
post /completions '{"prompt":"The capital of France is","logprobs":1}'
expect_eq "logprobs of the completion only" '[[" Paris."],[0]]' \
    "$(body | jq -c '.choices[0].logprobs | [.tokens, .text_offset]')"
post /completions '{"max_tokens":4}'
expect_eq "a missing prompt" '[400,"'"'"'prompt'"'"' is required"]' "$(body | jq -c "[$STATUS, .error.message]")"
stop_server

serve --no-echo
post /completions '{"prompt":"Once","echo":true,"logprobs":1}'
expect_eq "--no-echo answers like llama-server" '[500,"Unsupported param: echo","server_error"]' \
    "$(body | jq -c "[$STATUS, .error.message, .error.type]")"
stop_server

# ------------------------------------------------------------ /v1/embeddings
serve --answers "$ANSWERS"
post /embeddings '{"input":"hello world","model":"emb"}'
expect_eq "one embedding of 8" '["list","emb",8,0,"embedding",2]' \
    "$(body | jq -c '[.object, .model, (.data[0].embedding | length), .data[0].index, .data[0].object, .usage.prompt_tokens]')"
expect_eq "unit length" true "$(body | jq '.data[0].embedding | map(. * .) | add | . - 1 | fabs < 1e-9')"
FIRST_VECTOR=$(body | jq -c '.data[0].embedding')
post /embeddings '{"input":["hello world","goodbye moon"]}'
expect_eq "a list gives one per input" '[0,1]' "$(body | jq -c '[.data[].index]')"
expect_eq "the same text, the same vector" "$FIRST_VECTOR" "$(body | jq -c '.data[0].embedding')"
post /embeddings '{"input":["the cat sat on the mat","The cat sat on a hat.","quantum physics lecture notes"],"dimensions":64}'
expect_eq "shared words lie closer" true \
    "$(body | jq '[.data[].embedding] as $e | def dot(a; b): [a, b] | transpose | map(.[0] * .[1]) | add; (dot($e[0]; $e[1]) > 0.3) and (dot($e[0]; $e[1]) > dot($e[0]; $e[2]) + 0.3)')"
post /embeddings '{"input":"x","encoding_format":"base64"}'
expect_eq "base64 is refused" 400 "$STATUS"
stop_server

# ------------------------------------------------------------ fault modes
serve --answers "$ANSWERS" --stall-ms 300 --huge-bytes 100000 --log "$SCRATCH/faults.jsonl"
for mode in 500:500 502:502 503:503 400:400 401:401 404:404 408:408 429:429 quota:429 noretry:503; do
    chat "f${mode%%:*}"
    expect_eq "fault ${mode%%:*}: status" "${mode##*:}" "$STATUS"
    expect_eq "fault ${mode%%:*}: an OpenAI error body" true "$(body | jq '.error.message | type == "string"')"
done
chat f429
expect_eq "429: default retry-after" 1 "$(header retry-after)"
chat f429s
expect_eq "429: the answer's retry_after" 7 "$(header retry-after)"
chat f429h
expect_eq "429: an HTTP date as given" 'wed, 21 oct 2015 07:28:00 gmt' "$(header retry-after)"
chat f429d
AHEAD=$(( $(date -d "$(header retry-after)" +%s) - $(date +%s) ))
expect_eq "429: \"+30\" is a date 30 s ahead" true "$(jq -n "$AHEAD >= 28 and $AHEAD <= 31")"
chat f429ms
expect_eq "429: retry-after-ms alone" '1500:' "$(header retry-after-ms):$(header retry-after)"
chat fquota
expect_eq "429-quota" '["insufficient_quota",""]' "$(body | jq -c --arg ra "$(header retry-after)" '[.error.code, $ra]')"
chat fnoretry
expect_eq "should-retry-false" 'false' "$(header x-should-retry)"
chat freset
expect_eq "reset: an empty reply" 52 "$CURL"
START=$(date +%s%N)
chat fstall
ELAPSED_MS=$(( ($(date +%s%N) - START) / 1000000 ))
expect_eq "stall: held, then closed" 52 "$CURL"
expect_eq "stall: held for --stall-ms" true "$(jq -n "$ELAPSED_MS >= 290")"
chat fstall '' --max-time 0.1
expect_eq "stall: a client's timeout ends it" 28 "$CURL"
chat fmalformed
expect_eq "malformed: 200" 200 "$STATUS"
expect_eq "malformed: not JSON" fails "$(jq . "$SCRATCH/body" >/dev/null 2>&1 && echo parses || echo fails)"
chat fmalformed ',"stream":true'
expect_eq "malformed stream: an event that is not JSON" fails \
    "$(events | head -n1 | jq . >/dev/null 2>&1 && echo parses || echo fails)"
chat ftruncate
CUT=$(body | wc -c)
expect_eq "truncate: 200" 200 "$STATUS"
expect_eq "truncate: not JSON" fails "$(jq . "$SCRATCH/body" >/dev/null 2>&1 && echo parses || echo fails)"
# The twin's whole body is as long as the cut one was: the same reply and usage.
FULL=$(curl -s -d '{"messages":[{"role":"user","content":"ftruncate-twin"}]}' "$BASE_URL/chat/completions" | wc -c)
expect_eq "truncate: half a body ($CUT of $FULL bytes)" true "$(jq -n "$CUT == (($FULL / 2) | floor)")"
chat ftruncate ',"stream":true'
expect_eq "truncate: a stream cut after its first content" '[{"role":"assistant","content":""},{"content":"alpha"}]' \
    "$(events | jq -s -c 'map(.choices[0].delta)')"
expect_absent "truncate: no [DONE]" '[DONE]' "$SCRATCH/body"
chat fhuge
expect_eq "huge: 200, valid JSON, a long content" '[200,100000]' \
    "$(body | jq -c "[$STATUS, (.choices[0].message.content | length)]")"
expect_eq "faults are logged" '["400","401","404","408","429","429","429","429","429","429","429-quota","429-quota","500","502","503","huge","malformed","malformed","reset","should-retry-false","should-retry-false","stall","stall","truncate","truncate"]' \
    "$(jq_of "$SCRATCH/faults.jsonl" '[.[] | .fault // empty] | sort')"
expect_eq "reset and stall log no status" '[true,true,true]' \
    "$(jq_of "$SCRATCH/faults.jsonl" '[.[] | select(.fault == "reset" or .fault == "stall") | .reset]')"

# ------------------------------------------------------------ fail_times and the log
stop_server
serve --answers "$ANSWERS" --log "$SCRATCH/log.jsonl"
SEEN=
for i in 1 2 3 4; do chat flaky; SEEN="$SEEN $STATUS"; done
expect_eq "fail_times 2: two faults, then answers" ' 503 503 200 200' "$SEEN"
expect_eq "and the answer" '"at last"' "$(body | jq -c '.choices[0].message.content')"
SEEN=
for i in 1 2; do chat flaky-status; SEEN="$SEEN $STATUS"; done
expect_eq "fail_times with a status" ' 500 200' "$SEEN"
post /embeddings '{"input":"flaky-embed"}'
SEEN=$STATUS
post /embeddings '{"input":"flaky-embed"}'
expect_eq "faults on embeddings" '502 200' "$SEEN $STATUS"
post /completions '{"prompt":"Once upon a time"}'
expect_eq "log: attempts" '[1,2,3,4,1,2,1,2,1]' "$(jq_of "$SCRATCH/log.jsonl" 'map(.attempt)')"
expect_eq "log: paths" '["/v1/chat/completions","/v1/completions","/v1/embeddings"]' \
    "$(jq_of "$SCRATCH/log.jsonl" 'map(.path) | unique')"
expect_eq "log: statuses and faults" '[[503,"503"],[503,"503"],[200,null],[200,null],[500,null],[200,null],[502,"502"],[200,null],[200,null]]' \
    "$(jq_of "$SCRATCH/log.jsonl" 'map([.status, .fault])')"
expect_eq "log: t_ms grows, in ms since start" true \
    "$(jq_of "$SCRATCH/log.jsonl" 'map(.t_ms) | . == sort and .[0] > 0 and .[-1] < 60000')"
stop_server

# ------------------------------------------------------------ seeded fault rates
rate_run() { # rate_run ARGS...: the statuses of 40 requests, in order
    serve "$@"
    local i out=
    for i in $(seq 1 40); do chat "q$i"; out="$out$STATUS "; done
    stop_server
    printf '%s' "$out"
}
A=$(rate_run --faults 500=0.3,429=0.2 --seed 5)
B=$(rate_run --faults 500=0.3,429=0.2 --seed 5)
C=$(rate_run --faults 500=0.3,429=0.2 --seed 6)
expect_eq "the same seed, the same faults" "$A" "$B"
expect_eq "another seed, other faults" true "$([ "$A" != "$C" ] && echo true || echo false)"
N500=$(grep -o 500 <<<"$A" | wc -l)
N429=$(grep -o 429 <<<"$A" | wc -l)
expect_eq "rates roughly kept (500: $N500/40, 429: $N429/40)" true \
    "$(jq -n "$N500 >= 5 and $N500 <= 20 and $N429 >= 2 and $N429 <= 16")"
expect_eq "--fail-rate 1 is 500=1" "$(printf '500 %.0s' $(seq 1 40))" "$(rate_run --fail-rate 1)"

# ------------------------------------------------------------ the rate limiter
serve --ratelimit-rpm 3 --ratelimit-tpm 1000
SEEN=
for i in 1 2 3 4; do
    chat "r$i"
    SEEN="$SEEN $STATUS/$(header x-ratelimit-remaining-requests)"
done
expect_eq "rpm 3: three pass, the fourth is limited" ' 200/2 200/1 200/0 429/0' "$SEEN"
expect_eq "limited: retry-after within the minute" true \
    "$(jq -n "$(header retry-after) >= 59 and $(header retry-after) <= 60")"
expect_eq "limit headers" '3:1000' "$(header x-ratelimit-limit-requests):$(header x-ratelimit-limit-tokens)"
expect_match "reset header" '^(59(\.[0-9]+)?|60)s$' "$(header x-ratelimit-reset-requests)"
expect_eq "tokens spent" 976 "$(header x-ratelimit-remaining-tokens)"
stop_server
serve --ratelimit-tpm 20 --log "$SCRATCH/limited.jsonl"
chat "one two three four five six seven eight nine ten"
SEEN=$STATUS
chat "one two three four five six seven eight nine ten"
expect_eq "tpm 20: the second request of 17 tokens is limited" '200 429' "$SEEN $STATUS"
stop_server
expect_eq "the log says which 429 was the limiter's" '[null,"ratelimit"]' \
    "$(jq_of "$SCRATCH/limited.jsonl" 'map(.fault)')"

# ------------------------------------------------------------ concurrency
# 500 keep-alive connections at once, two requests each, one after the
# other on the same connection; the server holds each request 1 s.
serve --delay-ms 1000 --concurrency-report
RESULT=$(python3 - "$PORT" <<'PY'
import http.client, json, sys, threading
port, results = int(sys.argv[1]), []
def client(i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for n in range(2):
            body = json.dumps({"messages": [{"role": "user", "content": f"c{i}-{n}"}]})
            conn.request("POST", "/v1/chat/completions", body,
                          {"Content-Type": "application/json"})
            reply = conn.getresponse()
            reply.read()
            results.append(reply.status)
    except Exception as e:
        results.append(type(e).__name__)
    finally:
        conn.close()
threads = [threading.Thread(target=client, args=(i,)) for i in range(500)]
for t in threads: t.start()
for t in threads: t.join()
print(len(results), sorted(set(map(str, results))))
PY
)
expect_eq "500 keep-alive connections, 1000 answers" "1000 ['200']" "$RESULT"
stop_server
expect_match "the report counts them" '^max concurrent requests: (4[5-9][0-9]|500)$' "$(cat "$SCRATCH/server.err")"

finish
