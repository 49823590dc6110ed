# shellcheck shell=bash disable=SC2034 # its variables are for the sourcer
# nginx.sh - sourced by the benchmarks in tests/bench/: the local endpoint
# they all measure against, and the few helpers they share (the build, the
# workload, the measurement of one command).
#
# The endpoint is Debian's nginx answering every request (POST included;
# the body is read and dropped) with one fixed chat completion, either at
# once (`return 200`) or after a delay (echo_sleep, from
# libnginx-mod-http-echo), so that what is measured is the client, not the
# server. It runs in the foreground of a background job with its own
# prefix, configuration, logs and pid file in a scratch folder, as an
# ordinary process on a free 127.0.0.1 port; it binds nothing else and
# touches nothing outside that folder.
#
#   . tests/bench/nginx.sh
#   bench_init                       # deps, release build, $SCRATCH, trap
#   nginx_start [DELAY_MS]           # sets NGINX_PORT and OPENAI_BASE_URL
#   nginx_stop                       # idempotent; the trap calls it too
#
# NGINX_WORKERS (default 1) sets worker_processes; BUILD (default
# build-bench/) is the release build measured, BENCH_SKIP_BUILD=1 measures
# it as it is; BENCH_REPEATS (default 3) is how often each figure is
# measured, the median being printed; BENCH_NICE (say -10) runs everything
# at that niceness.
# What it does not do: serve anything but the one reply, or print figures.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# The reply, shaped like a real chat completion (id, usage, fingerprint),
# so that parsing it costs what parsing a real one costs.
NGINX_REPLY='{"id":"chatcmpl-bench0001","object":"chat.completion","created":1700000000,"model":"bench-model-2024-01-01","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"The capital of France is Paris."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":8,"total_tokens":32}}'

# The body assay sends for the first case of the workload below.
BENCH_REQUEST='{"model":"bench","messages":[{"role":"user","content":"What is the capital of Country 1?"}]}'

NGINX_PID=
NGINX_PORT=
SCRATCH=

# bench_init: installs what the benchmarks need, builds assay and the bare
# loop optimised, makes $SCRATCH and stops everything on exit.
bench_init() {
    cd "$BENCH_ROOT" || return 1
    # shellcheck source=../../scripts/install-deps.sh
    . scripts/install-deps.sh
    install_deps --with nginx libnginx-mod-http-echo wrk hyperfine curl time
    # On a shared machine, a negative niceness (root only) lets the
    # benchmark and its server win the CPU from background work.
    [ -z "${BENCH_NICE:-}" ] || renice -n "$BENCH_NICE" -p $$ >/dev/null
    SCRATCH=$(mktemp -d)
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    BUILD=${BUILD:-$BENCH_ROOT/build-bench}
    ASSAY=$BUILD/cli/assay
    BARE=$BUILD/tests/bench/bare_multi
    BENCH_REPEATS=${BENCH_REPEATS:-3}
    [ "${BENCH_SKIP_BUILD:-0}" = 1 ] && return 0
    if ! { { [ -f "$BUILD/build.ninja" ] ||
        meson setup "$BUILD" "$BENCH_ROOT" --buildtype=release \
            -Dtests=disabled; } &&
        meson compile -C "$BUILD" &&
        meson compile -C "$BUILD" bare_multi; } >"$SCRATCH/build.log" 2>&1; then
        cat "$SCRATCH/build.log" >&2
        echo "nginx.sh: the build in $BUILD failed" >&2
        return 1
    fi
}

bench_cleanup() {
    nginx_stop
    [ -n "$SCRATCH" ] && rm -rf "$SCRATCH"
}

# nginx_conf PORT DELAY_MS: prints the configuration.
nginx_conf() {
    local port=$1 delay_ms=$2 dir=$SCRATCH/nginx module='' answer
    if [ "$delay_ms" -gt 0 ]; then
        module='load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;'
        # echo_sleep takes seconds. The body is read before the reply, as
        # a real server does, so that none of it is left on the connection.
        answer="echo_read_request_body; echo_sleep $((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000))); echo -n '$NGINX_REPLY';"
    else
        answer="return 200 '$NGINX_REPLY';"
    fi
    cat <<CONF
$module
worker_processes ${NGINX_WORKERS:-1};
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    client_body_buffer_size 64k;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    default_type application/json;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location / { $answer }
    }
}
CONF
}

# nginx_start [DELAY_MS]: starts nginx on a free port and waits until it
# answers. The port is drawn below the kernel's ephemeral range, so that
# no client connection holds it; a taken one makes nginx exit, and
# another is tried.
nginx_start() {
    local delay_ms=${1:-0} dir=$SCRATCH/nginx port low
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
    [ "$low" -gt 12000 ] || low=61000
    mkdir -p "$dir"
    for _ in $(seq 1 20); do
        port=$((10000 + RANDOM % (low - 10000)))
        nginx_conf "$port" "$delay_ms" >"$dir/nginx.conf"
        nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
            -g 'daemon off;' 2>>"$dir/stderr" &
        NGINX_PID=$!
        for _ in $(seq 1 100); do
            kill -0 "$NGINX_PID" 2>/dev/null || break
            if curl -sf -o /dev/null --max-time 2 -d '{}' \
                "http://127.0.0.1:$port/v1/chat/completions"; then
                NGINX_PORT=$port
                export OPENAI_BASE_URL="http://127.0.0.1:$port/v1"
                export OPENAI_API_KEY=bench
                return 0
            fi
            sleep 0.05
        done
        nginx_stop
    done
    echo "nginx.sh: nginx did not start:" >&2
    cat "$dir/stderr" "$dir/error.log" >&2
    return 1
}

nginx_stop() {
    [ -n "$NGINX_PID" ] || return 0
    kill "$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
    NGINX_PID=
    NGINX_PORT=
}

# bench_cases FILE N [noid]: N cases, each a country whose expected answer
# the fixed reply contains, so that every check runs to a pass. Each has
# an `id` field, unless `noid` (then its line number names it).
bench_cases() {
    awk -v n="$2" -v noid="${3:-}" 'BEGIN { for (i = 1; i <= n; i++) {
        if (noid == "") printf "{\"id\":\"c%d\",", i; else printf "{"
        printf "\"country\":\"Country %d\",\"answer\":\"Paris\"}\n", i } }' >"$1"
}

# bench_suite FILE DATASET: the suite every benchmark runs: one templated
# prompt, a `contains` check with a variable and a `regex` check.
bench_suite() {
    cat >"$1" <<SUITE
name: bench
targets:
  - model: bench
prompt: "What is the capital of {{country}}?"
dataset: $2
checks:
  - contains: "{{answer}}"
  - regex: 'capital of \\w+ is \\w+'
SUITE
}

# measure CMD...: runs CMD (killed after 15 minutes) and sets M_WALL and
# M_CPU (seconds, user + system, children included) and M_RSS (peak
# resident set of the largest process, MB). CMD's stdout is dropped.
measure() {
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$SCRATCH/time" \
        timeout 900 "$@" >/dev/null
    end=$(date +%s.%N)
    M_WALL=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')
    # The last line: GNU time puts "Command exited with..." before it.
    read -r M_CPU M_RSS < <(tail -n 1 "$SCRATCH/time" |
        awk '{ printf "%.2f %.1f\n", $1 + $2, $3 / 1024 }')
}

# median: the median of the numbers on stdin, one a line.
median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# calc EXPR [FORMAT]: EXPR evaluated by awk, printed with FORMAT (%.6f).
calc() { awk "BEGIN { printf \"${2:-%.6f}\\n\", $1 }"; }

# bench_machine: one line naming the machine the figures come from, with
# its load: other work on a small machine skews every figure here.
bench_machine() {
    local cpu load
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    load=$(cut -d' ' -f1 /proc/loadavg)
    printf '%s, %s cores, %s MB of memory, Linux %s; load average %s%s%s\n' \
        "$cpu" "$(nproc)" \
        "$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)" \
        "$(uname -r)" "$load" \
        "$(awk -v l="$load" 'BEGIN { if (l > 0.5) print " (busy: figures skewed)" }')" \
        "${BENCH_NICE:+; run at niceness $BENCH_NICE}"
}
