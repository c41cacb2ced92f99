#!/usr/bin/env bash
# The per-run overhead of the Redis store beside the folder store: the whole
# offline example (examples/example-case-study.pdf for hollowmere-dairy,
# --no-cache, the fake model answering at once, so the tool's own work is all
# that is timed) run in a folder, in a local redis-server over TCP, over TLS
# (rediss:// with a test CA) and over TCP with appendonly yes (fsync every
# second), the stores taking turns in each round so that the machine's noise
# falls on all of them alike; and in a folder on tmpfs (/dev/shm), where the
# flushes a folder run makes once per stage cost nothing. Prints each store's median wall time per run,
# the difference and the ratio to the folder store, and Redis commands per run.
#
# Usage: bench/store_bench.sh [--runs 9] [--pipeline build/pipeline] [--fake-server build/tests/fake-llm-server]
#        (needs redis-server, redis-cli and openssl)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pipeline="$here/../build/pipeline"
fake_server="$here/../build/tests/fake-llm-server"
runs=9
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --pipeline) pipeline=$2; shift 2 ;;
    --fake-server) fake_server=$2; shift 2 ;;
    *) echo "store_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench_processes.sh
source "$(dirname "$0")/bench_processes.sh"

# A test CA and a certificate for 127.0.0.1, for the TLS server.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/ca.key" -out "$work/ca.crt" \
  -days 1 -subj "/CN=store bench CA" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$work/server.key" -out "$work/server.csr" \
  -subj "/CN=store bench server" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/server.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -set_serial 1 -days 1 \
  -extfile "$work/server.ext" -out "$work/server.crt" 2>/dev/null

base_port=$(( 20000 + RANDOM % 20000 ))
plain_port=$base_port
tls_port=$(( base_port + 1 ))
aof_port=$(( base_port + 2 ))
mkdir -p "$work/plain" "$work/tls" "$work/aof"
redis-server --port "$plain_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/plain" >"$work/plain.log" 2>&1 &
pids+=($!)
redis-server --port 0 --tls-port "$tls_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/tls" \
  --tls-cert-file "$work/server.crt" --tls-key-file "$work/server.key" --tls-ca-cert-file "$work/ca.crt" \
  --tls-auth-clients no >"$work/tls.log" 2>&1 &
pids+=($!)
redis-server --port "$aof_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec --dir "$work/aof" \
  >"$work/aof.log" 2>&1 &
pids+=($!)
"$fake_server" --cost none >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q listening "$work/server.log" && redis-cli -p "$plain_port" PING >/dev/null 2>&1 &&
    redis-cli -p "$aof_port" PING >/dev/null 2>&1 && break
  sleep 0.1
done

export PIPELINE_BASE_URL="$(sed -n 's/^listening on //p' "$work/server.log")"
export PIPELINE_MODEL=test-model PIPELINE_API_KEY= OPENROUTER_API_KEY= OPENAI_API_KEY= PIPELINE_NO_CACHE=1
unset PIPELINE_STORE PIPELINE_RUNS_DIR PIPELINE_CACHE_DIR PIPELINE_REDIS_CA
pdf="$here/../examples/example-case-study.pdf"

shm=""
if [[ -d /dev/shm && -w /dev/shm ]]; then
  shm="$(mktemp -d /dev/shm/store-bench-XXXXXX)"
  cleanup_paths+=("$shm")
fi
declare -A store_url=(
  [folder]="$work/runs"
  [redis]="redis://127.0.0.1:$plain_port/0"
  [rediss]="rediss://127.0.0.1:$tls_port/0"
  [redis-aof]="redis://127.0.0.1:$aof_port/0"
)
stores=(folder redis rediss redis-aof)
# A folder on tmpfs, where flushing costs nothing: the tool's own work alone.
if [[ -n $shm ]]; then
  store_url[folder-shm]="$shm/runs"
  stores=(folder folder-shm redis rediss redis-aof)
fi
declare -A times=()

one_run() {  # store, run id; prints the wall time in ms
  local start end
  start=$(date +%s%N)
  "$pipeline" run "$pdf" --brand hollowmere-dairy --store "${store_url[$1]}" --redis-ca "$work/ca.crt" \
    --run-id "$2" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# One warm-up run per store (page cache, TLS library, the servers' first script loads).
for store in "${stores[@]}"; do one_run "$store" "warmup-$store" >/dev/null; done
calls_before=$(redis-cli -p "$plain_port" INFO stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')
for round in $(seq "$runs"); do
  for store in "${stores[@]}"; do times[$store]+="$(one_run "$store" "r$round-$store") "; done
done
calls_after=$(redis-cli -p "$plain_port" INFO stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p')

echo "store benchmark: $runs runs per store of the offline example (--no-cache, fake model answering at once), $(nproc) cores"
echo "runs folder: $work/runs on $(df -T "$work" | awk 'NR==2 {print $2}'); redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1"
echo
folder_ms=$(echo "${times[folder]}" | median)
printf "%-10s %12s %14s %10s\n" store median_ms "minus folder" ratio
for store in "${stores[@]}"; do
  ms=$(echo "${times[$store]}" | median)
  printf "%-10s %12s %14s %10s\n" "$store" "$ms" "$(awk "BEGIN {printf \"%+.0f ms\", $ms - $folder_ms}")" \
    "$(awk "BEGIN {printf \"%.2f\", $ms / $folder_ms}")"
done
echo
echo "Redis commands per run (plain TCP server, heartbeat and scripts included): $(( (calls_after - calls_before) / runs ))"
echo "each store's runs (ms):"
for store in "${stores[@]}"; do echo "  $store: ${times[$store]}"; done
