#!/usr/bin/env bash
# The job queue's figures: throughput with 1, 2, 4 and 8 workers against the
# fake model at 2 s per call (as a ratio to N x one worker's; target >= 0.9),
# the time from a worker's SIGKILL to another worker's resumption of its job,
# and Redis commands per idle worker per second.
#
# Usage: bench/queue_bench.sh [--workers "1 2 4 8"] [--jobs-per-worker 2] [--latency-ms 2000] [--lease 3s]
#        (after building pipeline and fake-llm-server into ./build; needs redis-server and redis-cli)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/../build"
worker_counts="1 2 4 8"
jobs_per_worker=2
latency_ms=2000
lease=3s
while [[ $# -gt 0 ]]; do
  case $1 in
    --workers) worker_counts=$2; shift 2 ;;
    --jobs-per-worker) jobs_per_worker=$2; shift 2 ;;
    --latency-ms) latency_ms=$2; shift 2 ;;
    --lease) lease=$2; shift 2 ;;
    *) echo "queue_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench_processes.sh
source "$(dirname "$0")/bench_processes.sh"
start_redis
"$build/tests/fake-llm-server" --first-token-ms "$latency_ms" >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q listening "$work/server.log" && redis-cli -p "$port" PING >/dev/null 2>&1 && break
  sleep 0.1
done
rcli() { redis-cli -p "$port" "$@"; }
export PIPELINE_BASE_URL="$(sed -n 's/^listening on //p' "$work/server.log")"
export PIPELINE_MODEL=test-model PIPELINE_API_KEY= OPENROUTER_API_KEY= OPENAI_API_KEY=
export PIPELINE_STORE="redis://127.0.0.1:$port/0" PIPELINE_NO_CACHE=1 PIPELINE_CACHE_DIR="$work/cache"
pdf="$here/../examples/example-case-study.pdf"
brand="$here/../examples/brands/hollowmere-dairy.json"
now() { date +%s.%N; }
calc() { awk "BEGIN {printf \"%.3f\", $1}"; }

start_workers() {  # count, log prefix; prints nothing, fills worker_pids
  worker_pids=()
  for i in $(seq "$1"); do
    "$build/pipeline" worker --lease "$lease" >"$work/$2-$i.out" 2>"$work/$2-$i.err" &
    worker_pids+=($!)
    pids+=($!)
  done
}
stop_workers() {
  for pid in "${worker_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${worker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
all_done() {  # prefix, count
  for i in $(seq 0 $(( $2 - 1 ))); do
    [[ "$(rcli HGET "pipeline:job:$1-$i" state)" == done ]] || return 1
  done
}

echo "queue benchmark: fake model at ${latency_ms} ms per call, lease $lease, $(nproc) cores"
echo
echo "throughput ($jobs_per_worker jobs per worker, each a full run of examples/example-case-study.pdf, no stage cache)"
printf "%-8s %-6s %-10s %-12s %s\n" workers jobs wall_s jobs_per_min "ratio to N x one worker"
single=""
for n in $worker_counts; do
  jobs=$(( n * jobs_per_worker ))
  for i in $(seq 0 $(( jobs - 1 ))); do
    "$build/pipeline" submit "$pdf" --brand "$brand" --run-id "tp$n-$i" >/dev/null
  done
  start=$(now)
  start_workers "$n" "tp$n"
  until all_done "tp$n" "$jobs"; do sleep 0.1; done
  wall=$(calc "$(now) - $start")
  stop_workers
  rate=$(calc "$jobs / $wall * 60")
  [[ -z $single ]] && single=$rate
  printf "%-8s %-6s %-10s %-12s %s\n" "$n" "$jobs" "$wall" "$rate" "$(calc "$rate / ($n * $single)")"
done
echo "(wall includes each worker's start; the first worker's figure is the unit)"

echo
echo "takeover after SIGKILL (lease $lease, a second worker idle and waiting)"
"$build/pipeline" submit "$pdf" --brand "$brand" --run-id takeover >/dev/null
"$build/pipeline" worker --lease "$lease" >"$work/a.out" 2>"$work/a.err" &
a=$!; pids+=($a)
until [[ "$(rcli HGET pipeline:status:takeover stage)" == signals ]]; do sleep 0.05; done
"$build/pipeline" worker --lease "$lease" >"$work/b.out" 2>"$work/b.err" &
b=$!; pids+=($b)
sleep 1
first_worker="$(rcli HGET pipeline:status:takeover worker)"
kill -KILL "$a"
killed=$(now)
{ wait "$a"; } 2>/dev/null || true
until [[ "$(rcli HGET pipeline:status:takeover worker)" != "$first_worker" ]]; do sleep 0.02; done
resumed=$(now)
until [[ "$(rcli HGET pipeline:job:takeover state)" == done ]]; do sleep 0.1; done
kill -TERM "$b"; wait "$b" || true
echo "SIGKILL to resumption by the other worker: $(calc "$resumed - $killed") s (bound: lease + lease/3 + 1 s)"

echo
echo "Redis commands per idle worker per second (worker --lease 30s, nothing queued, 20 s)"
for concurrency in 1 4; do
  "$build/pipeline" worker --concurrency "$concurrency" >"$work/idle.out" 2>"$work/idle.err" &
  idle=$!; pids+=($idle)
  sleep 3
  before=$(rcli INFO stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
  sleep 20
  after=$(rcli INFO stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
  kill -TERM "$idle"; wait "$idle" || true
  # The second INFO is counted too.
  echo "--concurrency $concurrency: $(calc "($after - $before - 1) / 20") commands/s"
done
