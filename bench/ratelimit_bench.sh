#!/usr/bin/env bash
# Shared rate limits (issue 22): jobs per minute of 1, 2, 4 and 8 `pipeline
# worker` processes under one provider token limit, beside the limit's ideal
# (the token budget divided by the tokens one job is charged), with the 429s
# the fake provider refused; and the Redis commands per acquired request.
#
# The fake provider's window and the tool's (PIPELINE_RATE_WINDOW) are both
# shortened to --window-ms so that a run of many windows takes minutes; the
# figures per minute are scaled from it.
#
# Usage: bench/ratelimit_bench.sh [--workers "1 2 4 8"] [--jobs 16] [--window-ms 5000]
#                                 [--jobs-per-window 2] [--latency-ms 100] [--no-configure]
#        (after building pipeline and fake-llm-server into ./build; needs redis-server, redis-cli, jq)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/../build"
worker_counts="1 2 4 8"
jobs=16
window_ms=5000
jobs_per_window=2
latency_ms=100
configure=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --workers) worker_counts=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --window-ms) window_ms=$2; shift 2 ;;
    --jobs-per-window) jobs_per_window=$2; shift 2 ;;
    --latency-ms) latency_ms=$2; shift 2 ;;
    --no-configure) configure=0; shift ;;
    *) echo "ratelimit_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench_processes.sh
source "$(dirname "$0")/bench_processes.sh"
start_redis
rcli() { redis-cli -p "$port" "$@"; }
start_server() {  # log name, extra options
  local log=$1; shift
  "$build/tests/fake-llm-server" --first-token-ms "$latency_ms" "$@" >"$work/$log" 2>&1 &
  server_pid=$!
  pids+=($server_pid)
  for _ in $(seq 100); do grep -q listening "$work/$log" && break; sleep 0.1; done
  export PIPELINE_BASE_URL="$(sed -n 's/^listening on //p' "$work/$log")"
}
for _ in $(seq 100); do rcli PING >/dev/null 2>&1 && break; sleep 0.1; done
export PIPELINE_MODEL=test-model PIPELINE_API_KEY= OPENROUTER_API_KEY= OPENAI_API_KEY=
export PIPELINE_STORE="redis://127.0.0.1:$port/0" PIPELINE_NO_CACHE=1 PIPELINE_CACHE_DIR="$work/cache"
pdf="$here/../examples/example-case-study.pdf"
brand="$here/../examples/brands/hollowmere-dairy.json"
now() { date +%s.%N; }
calc() { awk "BEGIN {printf \"%.3f\", $1}"; }
all_done() {  # prefix, count
  for i in $(seq 0 $(( $2 - 1 ))); do
    [[ "$(rcli HGET "pipeline:job:$1-$i" state)" == done ]] || return 1
  done
}
script_calls() {  # EVAL and EVALSHA calls so far
  rcli INFO commandstats | tr -d '\r' | awk -F'[=,:]' '/^cmdstat_eval(sha)?:/ {n += $3} END {print n + 0}'
}
limiter_field() {  # field of the one limiter's info hash
  local key
  key="$(rcli --scan --pattern 'pipeline:{limit:*}:info' | head -1)"
  rcli HGET "$key" "$1"
}

# What one job is charged: one job against a provider without limits, with
# a window long enough to hold all of its grants.
start_server calibrate.log
"$build/pipeline" submit "$pdf" --brand "$brand" --run-id calibrate >/dev/null
PIPELINE_RATE_WINDOW=1h "$build/pipeline" worker --once >"$work/calibrate.out" 2>&1
job_tokens=$("$build/pipeline" queue --json | jq '.rate_limits[0].used.tokens')
job_requests=$("$build/pipeline" queue --json | jq '.rate_limits[0].used.requests')
kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
rcli FLUSHALL >/dev/null

tpm=$(( job_tokens * jobs_per_window ))
ideal=$(calc "$jobs_per_window * 60000 / $window_ms")
export PIPELINE_RATE_WINDOW="${window_ms}ms"
[[ $configure == 1 ]] && export PIPELINE_TPM="$tpm"

echo "rate limit benchmark: one job = $job_requests requests, $job_tokens tokens (prompt + max_tokens);"
echo "provider limit $tpm tokens per ${window_ms} ms window (ideal $ideal jobs per minute at that window),"
echo "tool $( [[ $configure == 1 ]] && echo "given --tpm $tpm" || echo "given no limit (headers only)"), fake model at ${latency_ms} ms per call, $jobs jobs per row, $(nproc) cores"
echo
printf "| %s | %s | %s | %s | %s | %s | %s |\n" workers wall_s jobs_per_min "of ideal" "429s" "script calls per grant" "limiter tries per grant"
printf "|---:|---:|---:|---:|---:|---:|---:|\n"
for n in $worker_counts; do
  for i in $(seq 0 $(( jobs - 1 ))); do
    "$build/pipeline" submit "$pdf" --brand "$brand" --run-id "rl$n-$i" >/dev/null
  done
  start_server "limited-$n.log" --tpm "$tpm" --limit-window-ms "$window_ms"
  calls_before=$(script_calls)
  granted_before=$(limiter_field granted || true); granted_before=${granted_before:-0}
  waits_before=$(limiter_field waits || true); waits_before=${waits_before:-0}
  start=$(now)
  worker_pids=()
  for w in $(seq "$n"); do
    "$build/pipeline" worker --lease 10s >"$work/w$n-$w.out" 2>"$work/w$n-$w.err" &
    worker_pids+=($!); pids+=($!)
  done
  until all_done "rl$n" "$jobs"; do sleep 0.1; done
  wall=$(calc "$(now) - $start")
  for pid in "${worker_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${worker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  calls=$(( $(script_calls) - calls_before ))
  granted=$(( $(limiter_field granted) - granted_before ))
  waits=$(( $(limiter_field waits) - waits_before ))
  kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
  requests=$(sed -n 's/^requests: //p' "$work/limited-$n.log")
  refused=$(sed -n 's/^rate limited: //p' "$work/limited-$n.log")
  rate=$(calc "$jobs / $wall * 60")
  printf "| %s | %s | %s | %s | %s | %s | %s |\n" "$n" "$wall" "$rate" "$(calc "$rate / $ideal")" "$refused of $requests" \
    "$(calc "$calls / $granted")" "$(calc "($granted + $waits) / $granted")"
done
echo
echo "(the first window of each row is free, so a short row can pass the ideal; script calls count every"
echo " EVAL/EVALSHA of the workers, the queue's and the leases' included; limiter tries are the limiter's own)"
