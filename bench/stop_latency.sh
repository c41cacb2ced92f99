#!/usr/bin/env bash
# How quickly `pipeline` stops a run in flight: after SIGTERM, and after its
# --deadline passes, while a (fake, slow) model call is streaming. Prints the
# median delay over several runs; the promise is under one second.
#
# Usage: bench/stop_latency.sh [--runs N]   (after building into ./build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/../build"
runs=5
[[ ${1:-} == --runs ]] && runs=$2

work="$(mktemp -d)"
"$build/tests/fake-llm-server" --first-token-ms 200 --tokens-per-second 20 >"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q listening "$work/server.log" && break; sleep 0.1; done
export PIPELINE_BASE_URL="$(sed -n 's/^listening on //p' "$work/server.log")"
export PIPELINE_MODEL=test-model PIPELINE_RUNS_DIR="$work/runs" PIPELINE_API_KEY= OPENROUTER_API_KEY= OPENAI_API_KEY=
pdf="$here/../examples/example-case-study.pdf"
brand="$here/../examples/brands/hollowmere-dairy.json"

now() { date +%s.%N; }
minus() { awk -v a="$1" -v b="$2" -v c="${3:-0}" 'BEGIN {printf "%.4f\n", a - b - c}'; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

term_delays=()
deadline_overshoots=()
for i in $(seq "$runs"); do
  "$build/pipeline" new "$pdf" --brand "$brand" --run-id "term-$i" >/dev/null
  "$build/pipeline" resume "term-$i" 2>/dev/null &
  pid=$!
  sleep 1.5
  sent=$(now)
  kill -TERM "$pid"
  wait "$pid" || code=$?
  term_delays+=("$(minus "$(now)" "$sent")")
  [[ ${code:-0} == 143 ]] || { echo "stop_latency.sh: SIGTERM exit was ${code:-0}, not 143" >&2; exit 1; }

  "$build/pipeline" new "$pdf" --brand "$brand" --run-id "deadline-$i" >/dev/null
  start=$(now)
  "$build/pipeline" resume "deadline-$i" --deadline 1.5s 2>/dev/null || code=$?
  [[ ${code:-0} == 75 ]] || { echo "stop_latency.sh: deadline exit was ${code:-0}, not 75" >&2; exit 1; }
  deadline_overshoots+=("$(minus "$(now)" "$start" 1.5)")
done

printf 'runs: %d (fake model streaming at 20 tokens/s, so every call is still in flight)\n' "$runs"
printf 'SIGTERM to exit 143, median:        %.3f s\n' "$(printf '%s\n' "${term_delays[@]}" | median)"
printf 'deadline passed to exit 75, median: %.3f s\n' "$(printf '%s\n' "${deadline_overshoots[@]}" | median)"
