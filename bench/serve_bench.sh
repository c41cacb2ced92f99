#!/usr/bin/env bash
# Figures of `pipeline serve` against the project's fake model server, printed
# as Markdown on stdout (progress on stderr):
# 1. requests per second of GET /v1/runs/<id> (a completed run) with 0 and with
#    100 event streams open on a run still running, in interleaved rounds, on
#    keep-alive connections and with a new connection per request;
# 2. serve's memory (VmRSS) and threads per open event stream;
# 3. the delay from a stage_done event's own "time" to its arrival at an SSE
#    client, with a folder store (serve's workers ring a bell) and with a Redis
#    store and a `pipeline worker` process (serve polls the store);
# 4. the wall time of a run through serve (curl POST + its event stream to the
#    end) against `pipeline run`, interleaved.
# The clients are bench/serve_load.cpp (`serve-load`) and curl. See README.md.
#
# Usage: bench/serve_bench.sh [--build DIR] [--pipeline PATH] [--fake-server PATH]
#                             [--serve-load PATH] [--pace-ms 20] [--rounds 3]
#                             [--seconds 5] [--threads 4] [--streams 100]
#                             [--delay-runs 20] [--overhead-runs 7]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="$root/build"
pipeline_bin=""
fake_server=""
serve_load=""
pace_ms=20
rounds=3
seconds=5
threads=4
streams=100
delay_runs=20
overhead_runs=7

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --pipeline) pipeline_bin="$2"; shift 2 ;;
    --fake-server) fake_server="$2"; shift 2 ;;
    --serve-load) serve_load="$2"; shift 2 ;;
    --pace-ms) pace_ms="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --delay-runs) delay_runs="$2"; shift 2 ;;
    --overhead-runs) overhead_runs="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "serve_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
pipeline_bin="${pipeline_bin:-$build/pipeline}"
fake_server="${fake_server:-$build/tests/fake-llm-server}"
serve_load="${serve_load:-$build/bench/serve-load}"

die() { echo "serve_bench.sh: $*" >&2; exit 1; }
say() { echo "serve_bench.sh: $*" >&2; }

for tool in "$pipeline_bin" "$fake_server" "$serve_load"; do
  [[ -x $tool ]] || die "$tool not found (cmake --build build --target pipeline fake-llm-server serve-load)"
done
command -v curl >/dev/null || die "needs curl"
((BASH_VERSINFO[0] >= 5)) || die "needs bash 5 (EPOCHREALTIME)"
have_redis=1
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || have_redis=0

example_pdf="$root/examples/example-case-study.pdf"
brands_dir="$root/examples/brands"
brand=hollowmere-dairy

work="$(mktemp -d "${TMPDIR:-/tmp}/pipeline-serve-bench.XXXXXX")"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Only what this script sets reaches the tool; no stage cache, so every run computes.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^PIPELINE_' || true)
export PIPELINE_MODEL=test-model PIPELINE_API_KEY='' OPENROUTER_API_KEY='' OPENAI_API_KEY=''
export PIPELINE_NO_CACHE=1 PIPELINE_CACHE_DIR="$work/cache" PIPELINE_BRANDS_DIR="$brands_dir"

# ---------------------------------------------------------------- helpers

now() { echo "${EPOCHREALTIME/,/.}"; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# calc EXPR NAME=VALUE...: evaluates an awk expression over the named values.
calc() {
  local expr="$1"; shift
  local args=() pair
  for pair in "$@"; do args+=(-v "$pair"); done
  awk "${args[@]}" "BEGIN {print ($expr)}"
}
# value NAME LINE: the value of NAME=... in a line of name=value words.
value() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }
# A field of /proc/<pid>/status as a number (VmRSS in kB, Threads).
proc_status() { awk -v field="$2:" '$1 == field {print $2}' "/proc/$1/status"; }

# Waits up to 20 s for "listening on URL" in a log; prints the URL.
wait_listening() {
  local log="$1" pid="$2" _
  for _ in $(seq 400); do
    if grep -q '^listening on ' "$log"; then
      sed -n 's/^listening on //p' "$log" | head -1
      return
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  die "$(basename "$log" .log) did not start: $(tail -5 "$log")"
}

# Starts a fake model server with the given pace options; prints its base URL.
# Sets fake_pid.
start_fake() {
  local log="$work/fake-$1.log"; shift
  "$fake_server" "$@" >"$log" 2>&1 &
  fake_pid=$!
  pids+=("$fake_pid")
  fake_url="$(wait_listening "$log" "$fake_pid")"
}

# start_serve NAME MODEL-URL [serve options...]: starts `pipeline serve` on a
# free port; sets serve_pid and serve_url.
start_serve() {
  local name="$1" model="$2"; shift 2
  local log="$work/serve-$name.log"
  PIPELINE_BASE_URL="$model" "$pipeline_bin" serve --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  serve_url="$(wait_listening "$log" "$serve_pid")"
}

# Stops a process with SIGTERM and waits for it.
stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# Reads a URL's body; fails when curl does.
get() { curl -sS --fail --max-time 30 "$@"; }

# The gauge pipeline_event_streams_open from serve's /metrics.
streams_open() { get "$serve_url/metrics" | awk '$1 == "pipeline_event_streams_open" {print $2}'; }

# Waits up to $2 seconds (default 30) for the gauge to read $1; prints the seconds waited.
wait_streams() {
  local want="$1" limit="${2:-30}" start
  start="$(now)"
  until [[ "$(streams_open)" == "$want" ]]; do
    (($(calc "(b - a) > $limit" a="$start" b="$(now)"))) && die "the event streams did not reach $want (now $(streams_open))"
    sleep 0.05
  done
  calc 'sprintf("%.1f", b - a)' a="$start" b="$(now)"
}

# POSTs the example PDF to serve for the example brand (optionally with a run
# id); prints the run id.
post_run() {
  local args=(-F "file=@$example_pdf;type=application/pdf" -F "brand=$brand")
  [[ -n ${1:-} ]] && args+=(-F "run_id=$1")
  get "${args[@]}" "$serve_url/v1/runs" | sed -n 's/.*"run_id": *"\([^"]*\)".*/\1/p'
}

# Reads a run's event stream to its end; fails unless the run completed.
follow_to_end() {
  local events finished
  events="$(curl -sS -N --max-time 120 "$serve_url/v1/runs/$1/events")" || return
  finished="$(grep '^data: .*"event": *"run_finished"' <<<"$events")" || return
  [[ $finished =~ \"status\":\ *\"completed\" ]]
}

say "fake model at --first-token-ms $pace_ms; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
start_fake fast --first-token-ms "$pace_ms"
fast_url="$fake_url"
started="$(now)"

# ---------------------------------------------------------------- 1 and 2: GET with streams open, memory

say "1/3 GET /v1/runs/<id> with 0 and $streams event streams, $rounds rounds of ${seconds} s each"
store="$work/get-runs"
# The completed run, made by a serve on the fast model.
start_serve make-done "$fast_url" --store "$store" --workers 1
done_id="$(post_run bench-done)"
[[ $done_id == bench-done ]] || die "POST /v1/runs did not answer the run id"
follow_to_end "$done_id" || die "run $done_id did not complete"
stop_pid "$serve_pid"
# A serve on the same store whose model never answers during the benchmark:
# the held run stays in stage 1, as a run does during a long model call.
start_fake slow --first-token-ms 3600000
slow_fake_pid="$fake_pid"
start_serve streams "$fake_url" --store "$store" --workers 1 --drain-timeout 2s \
  --first-token-timeout 2h --request-timeout 2h
held_id="$(post_run bench-held)"
for _ in $(seq 200); do
  [[ "$(get "$serve_url/v1/runs/$held_id" | grep -o '"status": *"running"' | head -1)" ]] && break
  sleep 0.05
done
[[ $(get "$serve_url/v1/runs/$done_id" | grep -c '"status": *"completed"') -ge 1 ]] || die "run $done_id is not completed"

# Figures per phase ("keep-alive 0", "close 100", ...): lists of each round's values.
declare -A rps=() lat=() p99=()
# measure_get CONNECTION STREAMS: one GET phase of $seconds s; adds its figures.
measure_get() {
  local key="$1 $2" line
  line="$("$serve_load" get "$serve_url" "/v1/runs/$done_id" --threads "$threads" --seconds "$seconds" --connection "$1")"
  [[ $(value errors "$line") == 0 ]] || die "GET errors ($key streams): $line"
  rps[$key]+=" $(value per_second "$line")" lat[$key]+=" $(value median_ms "$line")" p99[$key]+=" $(value p99_ms "$line")"
  say "   round $round, $1, $2 streams: $line"
}
rss_per=() threads_added=() close_waits=()
rss_before_1="" rss_after_1="" threads_before_1="" threads_after_1=""
for round in $(seq "$rounds"); do
  measure_get keep-alive 0
  measure_get close 0

  rss_before="$(proc_status "$serve_pid" VmRSS)"
  threads_before="$(proc_status "$serve_pid" Threads)"
  "$serve_load" hold "$serve_url" "/v1/runs/$held_id/events" --streams "$streams" >"$work/hold.out" 2>"$work/hold.err" &
  hold_pid=$!
  pids+=("$hold_pid")
  for _ in $(seq 600); do
    grep -q '^open ' "$work/hold.out" && break
    sleep 0.05
  done
  [[ "$(cat "$work/hold.out")" == "open $streams" ]] || die "the streams did not open: $(cat "$work/hold.out" "$work/hold.err")"
  wait_streams "$streams" >/dev/null
  # Every stream has been through its first look at the store.
  sleep 1.5
  rss_after="$(proc_status "$serve_pid" VmRSS)"
  threads_after="$(proc_status "$serve_pid" Threads)"
  rss_per+=("$(calc 'sprintf("%.1f", (b - a) / n)' a="$rss_before" b="$rss_after" n="$streams")")
  threads_added+=("$((threads_after - threads_before))")
  if ((round == 1)); then
    rss_before_1="$rss_before" rss_after_1="$rss_after" threads_before_1="$threads_before" threads_after_1="$threads_after"
  fi
  say "   round $round: RSS $rss_before -> $rss_after kB, threads $threads_before -> $threads_after"

  measure_get keep-alive "$streams"
  measure_get close "$streams"

  kill -TERM "$hold_pid"
  wait "$hold_pid" || die "a held stream ended early: $(cat "$work/hold.err")"
  # serve notices a client gone when it next writes or checks the socket.
  close_waits+=("$(wait_streams 0 40)")
done
get -X POST -d '' "$serve_url/v1/runs/$held_id/cancel" >/dev/null || die "the held run could not be cancelled"
stop_pid "$serve_pid"
{ kill -KILL "$slow_fake_pid"; wait "$slow_fake_pid"; } 2>/dev/null || true

# ---------------------------------------------------------------- 3: SSE delay

delay_line() { # label: runs sse-delay against the serve started last; prints its line
  local line
  line="$("$serve_load" sse-delay "$serve_url" --pdf "$example_pdf" --brand "$brand" --runs "$delay_runs")" ||
    die "sse-delay ($1) failed"
  [[ $(value runs_completed "$line") == "$delay_runs" ]] || die "not every run completed ($1): $line"
  say "   $1: $line"
  echo "$line"
}

say "2/3 stage_done delay to an SSE client: $delay_runs runs, folder store (serve --workers 2)"
start_serve delay-folder "$fast_url" --store "$work/delay-runs" --workers 2
folder_delay="$(delay_line folder)"
stop_pid "$serve_pid"

redis_delay=""
if ((have_redis)); then
  say "   Redis store: serve --workers 0 and one pipeline worker --concurrency 2"
  mkdir -p "$work/redis"
  redis_port=""
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/redis" \
      >"$work/redis/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 50); do
      redis-cli -p "$port" PING >/dev/null 2>&1 && break
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$redis_pid" 2>/dev/null && redis-cli -p "$port" PING >/dev/null 2>&1; then
      redis_port="$port"
      pids+=("$redis_pid")
      break
    fi
    wait "$redis_pid" 2>/dev/null || true
  done
  [[ -n $redis_port ]] || die "redis-server did not start: $(tail -3 "$work/redis/redis.log")"
  redis_store="redis://127.0.0.1:$redis_port/0"
  start_serve delay-redis "$fast_url" --store "$redis_store" --workers 0
  PIPELINE_BASE_URL="$fast_url" "$pipeline_bin" worker --store "$redis_store" --concurrency 2 \
    >"$work/worker.log" 2>&1 &
  worker_pid=$!
  pids+=("$worker_pid")
  redis_delay="$(delay_line redis)"
  stop_pid "$worker_pid"
  stop_pid "$serve_pid"
  stop_pid "$redis_pid"
else
  say "   no redis-server: the Redis figure is skipped"
fi

# ---------------------------------------------------------------- 4: serve against pipeline run

say "3/3 a run through serve against pipeline run: $overhead_runs each after a warm-up, interleaved"
start_serve overhead "$fast_url" --store "$work/overhead-serve" --workers 1
# Seconds since the epoch of an event's "time" in lines of events (the first
# line that names the event).
event_epoch() {
  local stamp
  stamp="$(grep "\"event\": *\"$1\"" | head -1 | sed -n 's/.*"time": *"\([^"]*\)".*/\1/p')"
  [[ -n $stamp ]] || return
  date -u -d "$stamp" +%s.%3N
}
# serve_once RUN-ID: curl POSTs the run, a second curl reads its event stream to
# the end. Prints wall= post= started= chain= after= (seconds: the whole, the
# POST's answer, start to the run_started stamp, run_started to run_finished,
# run_finished to the stream's end).
serve_once() {
  local start posted id events ended first last
  start="$(now)"
  id="$(post_run "$1")" && [[ $id == "$1" ]] || return
  posted="$(now)"
  events="$(curl -sS -N --max-time 120 "$serve_url/v1/runs/$id/events")" || return
  ended="$(now)"
  grep '^data: .*"event": *"run_finished"' <<<"$events" | grep -q '"status": *"completed"' || return
  first="$(event_epoch run_started <<<"$events")" && last="$(event_epoch run_finished <<<"$events")" || return
  calc 'sprintf("wall=%.4f post=%.4f started=%.4f chain=%.4f after=%.4f", e - s, p - s, f - s, l - f, e - l)' \
    s="$start" p="$posted" e="$ended" f="$first" l="$last"
}
# cli_once RUN-ID: `pipeline run`, timed the same way from its events.ndjson.
cli_once() {
  local start ended first last log="$work/overhead-cli/$1/events.ndjson"
  start="$(now)"
  PIPELINE_BASE_URL="$fast_url" "$pipeline_bin" run "$example_pdf" --brand "$brand" \
    --runs-dir "$work/overhead-cli" --run-id "$1" >/dev/null 2>&1 || return
  ended="$(now)"
  first="$(event_epoch run_started <"$log")" && last="$(event_epoch run_finished <"$log")" || return
  calc 'sprintf("wall=%.4f post=0 started=%.4f chain=%.4f after=%.4f", e - s, f - s, l - f, e - l)' \
    s="$start" e="$ended" f="$first" l="$last"
}
serve_once warm-serve >/dev/null || die "the warm-up run through serve failed"
cli_once warm-cli >/dev/null || die "the warm-up pipeline run failed"
serve_lines=() cli_lines=() ratios=()
for i in $(seq "$overhead_runs"); do
  # Who goes first alternates, so that neither always follows the other.
  if ((i % 2)); then
    s="$(serve_once "serve-$i")" || die "run serve-$i failed"
    c="$(cli_once "cli-$i")" || die "run cli-$i failed"
  else
    c="$(cli_once "cli-$i")" || die "run cli-$i failed"
    s="$(serve_once "serve-$i")" || die "run serve-$i failed"
  fi
  serve_lines+=("$s") cli_lines+=("$c")
  ratios+=("$(calc 'sprintf("%.2f", s / c)' s="$(value wall "$s")" c="$(value wall "$c")")")
  say "   round $i: serve $s; pipeline run $c"
done
stop_pid "$serve_pid"
grep -q '"cached": *true' "$work"/overhead-cli/*/checkpoint.json && die "a pipeline run took a stage from the cache"

# ---------------------------------------------------------------- report

joined() { local IFS=','; local list="$*"; echo "${list//,/, }"; }
# A space-separated list with commas.
commas_of() { tr -s ' ' '\n' <<<"$1" | grep . | paste -sd, | sed 's/,/, /g'; }
# NAME's values over lines of name=value words, in whole ms, with commas.
ms_list() {
  local name="$1" line; shift
  for line in "$@"; do calc 'sprintf("%.0f", 1000 * v)' v="$(value "$name" "$line")"; done | paste -sd, | sed 's/,/, /g'
}
# The median of a space-separated list.
median_of() { tr ' ' '\n' <<<"$1" | grep . | median; }
# The median of NAME over lines of name=value words, in ms.
median_ms() {
  local name="$1" line; shift
  for line in "$@"; do value "$name" "$line"; done | median | awk '{printf "%.0f", 1000 * $1}'
}
ratio() { calc 'sprintf("%.2f", b / a)' a="$1" b="$2"; }

echo "### Reading a run while event streams are open"
echo
echo "\`serve-load get\`: $threads client threads GET \`/v1/runs/<id>\` of a completed run one after another"
echo "for $seconds s, each on its own keep-alive connection, then each with a new connection per request;"
echo "then $streams event streams are opened (\`serve-load hold\`, one connection and thread each) on a"
echo "second run that is running, its stage 1 waiting on a model call that does not answer during the"
echo "benchmark (a second fake server at \`--first-token-ms 3600000\`), both GET loads run again, and the"
echo "streams are closed before the next round. Folder store, \`--workers 1\`; the streams wait on the"
echo "run's bell and look at the store once a second. Medians of $rounds rounds."
echo
echo "| | 0 streams | $streams streams | $streams / 0 |"
echo "|---|---:|---:|---:|"
for connection in keep-alive close; do
  label="keep-alive connections"
  [[ $connection == close ]] && label="a new connection per request"
  a="$(median_of "${rps[$connection 0]}")" b="$(median_of "${rps[$connection $streams]}")"
  echo "| **requests per second**, $label | $a | $b | **$(ratio "$a" "$b")** |"
  echo "| each round | $(commas_of "${rps[$connection 0]}") | $(commas_of "${rps[$connection $streams]}") | |"
  echo "| median / 99th percentile latency (ms) | $(median_of "${lat[$connection 0]}") / $(median_of "${p99[$connection 0]}") | $(median_of "${lat[$connection $streams]}") / $(median_of "${p99[$connection $streams]}") | |"
done
echo
echo "### Memory and threads per open event stream"
echo
echo "serve's \`VmRSS\` and \`Threads\` (\`/proc/<pid>/status\`) just before the $streams streams open and 1.5 s"
echo "after all are open (\`pipeline_event_streams_open\` reads $streams), in each round above; then how long"
echo "after the clients closed their streams serve's gauge read 0 again."
echo
echo "| | round 1 | every round |"
echo "|---|---:|---:|"
echo "| VmRSS before → with $streams streams (MiB) | $(calc 'sprintf("%.1f → %.1f", a / 1024, b / 1024)' a="$rss_before_1" b="$rss_after_1") | |"
echo "| **RSS per stream (KiB)** | ${rss_per[0]} | $(joined "${rss_per[@]}") |"
echo "| threads before → with $streams streams | $threads_before_1 → $threads_after_1 | |"
echo "| threads added | ${threads_added[0]} | $(joined "${threads_added[@]}") |"
echo "| seconds until serve counted the closed streams gone | ${close_waits[0]} | $(joined "${close_waits[@]}") |"
echo
echo "### From a stage's end to its event at an SSE client"
echo
echo "\`serve-load sse-delay\`: $delay_runs runs of the example POSTed at once, each one's"
echo "\`/v1/runs/<id>/events\` read to its end by its own client; for each \`stage_done\` the arrival time"
echo "minus the event's own \`time\`. That time is taken when the chain emits the event, just before the"
echo "store append, with millisecond precision (truncated, so the figures read up to 1 ms high); both"
echo "clocks are this machine's. Events stamped before their stream opened (replayed history) are left"
echo "out. Fake model at \`--first-token-ms $pace_ms\`; the 99th percentile is by nearest rank."
echo
echo "| store | stage_done events | left out | median (ms) | 99th percentile (ms) | max (ms) |"
echo "|---|---:|---:|---:|---:|---:|"
delay_row() { echo "| $1 | $(value events "$2") | $(value skipped "$2") | **$(value median_ms "$2")** | **$(value p99_ms "$2")** | $(value max_ms "$2") |"; }
delay_row "folder, \`serve --workers 2\` (its workers ring a bell)" "$folder_delay"
if [[ -n $redis_delay ]]; then
  delay_row "Redis, \`serve --workers 0\` + \`pipeline worker --concurrency 2\` (serve polls every 250 ms)" "$redis_delay"
else
  echo "| Redis | skipped: no redis-server | | | | |"
fi
echo
echo "### A run through serve against \`pipeline run\`"
echo
echo "The example for $brand, no stage cache, fake model at \`--first-token-ms $pace_ms\`, after one"
echo "warm-up each, $overhead_runs rounds that alternate which goes first. Through serve (folder store,"
echo "\`--workers 1\`): curl POSTs the PDF, a second curl reads \`/v1/runs/<id>/events\` until serve ends it"
echo "(the run is final), timed from before the POST. \`pipeline run\`: the process from start to exit."
echo "The parts split each wall at the run_started and run_finished events' own times (medians, each"
echo "row on its own)."
echo
echo "| ms | through serve | \`pipeline run\` | serve − run | serve / run |"
echo "|---|---:|---:|---:|---:|"
sw="$(median_ms wall "${serve_lines[@]}")" cw="$(median_ms wall "${cli_lines[@]}")"
echo "| **wall per run** | $sw | $cw | $((sw - cw)) | **$(ratio "$cw" "$sw")** |"
echo "| each round | $(ms_list wall "${serve_lines[@]}") | $(ms_list wall "${cli_lines[@]}") | | $(joined "${ratios[@]}") |"
for part in "post:of which the POST, answered (the PDF read during it)" \
  "started:start → run_started (serve: POST + taking the job; run: process start, reading the PDF)" \
  "chain:run_started → run_finished (the five stages)" \
  "after:run_finished → the end (serve: the stream ends; run: the process exits)"; do
  name="${part%%:*}"
  sp="$(median_ms "$name" "${serve_lines[@]}")" cp="$(median_ms "$name" "${cli_lines[@]}")"
  if [[ $name == post ]]; then
    echo "| ${part#*:} | $sp | | | |"
  else
    echo "| ${part#*:} | $sp | $cp | $((sp - cp)) | |"
  fi
done
echo
echo "serve_bench.sh took $(calc 'sprintf("%.0f", b - a)' a="$started" b="$(now)") s."
