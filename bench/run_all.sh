#!/usr/bin/env bash
# Runs every benchmark of bench/ in one invocation and writes bench/RESULTS.md:
# 1. the tool's own overhead per run beside extraction and model time,
# 2. wall time against the critical path of model calls (with and without
#    parallel calls),
# 3. a 6-document x 4-brand batch at --jobs 1, 4 and 8,
# 4. PDF extraction beside mutool and pdftotext (extract_bench.sh),
# 5. `pipeline serve`: GETs with event streams open, memory per stream, the
#    delay of stage events to an SSE client, a run through serve against
#    `pipeline run` (serve_bench.sh).
# Each figure's variants are measured side by side in this one run, against the
# project's fake model server. See README.md ("All benchmarks: run_all.sh").
#
# Usage: bench/run_all.sh [--build DIR] [--pipeline PATH] [--fake-server PATH]
#                         [--make-pdf PATH] [--serve-load PATH] [--out FILE] [--runs N]
#                         [--extract-pages N] [--extract-runs N]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="$root/build"
pipeline_bin=""
fake_server=""
make_pdf=""
serve_load=""
out="$here/RESULTS.md"
overhead_runs=7
extract_pages=320
extract_runs=7
command_line="bench/run_all.sh${*:+ $*}"
command_line="${command_line//"$root"\//}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --pipeline) pipeline_bin="$2"; shift 2 ;;
    --fake-server) fake_server="$2"; shift 2 ;;
    --make-pdf) make_pdf="$2"; shift 2 ;;
    --serve-load) serve_load="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --runs) overhead_runs="$2"; shift 2 ;;
    --extract-pages) extract_pages="$2"; shift 2 ;;
    --extract-runs) extract_runs="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
pipeline_bin="${pipeline_bin:-$build/pipeline}"
fake_server="${fake_server:-$build/tests/fake-llm-server}"
make_pdf="${make_pdf:-$build/bench/make-bench-pdf}"
serve_load="${serve_load:-$build/bench/serve-load}"

die() { echo "run_all.sh: $*" >&2; exit 1; }
say() { echo "run_all.sh: $*" >&2; }

for tool in "$pipeline_bin" "$fake_server" "$make_pdf" "$serve_load"; do
  [[ -x $tool ]] || die "$tool not found (ninja -C build pipeline fake-llm-server make-bench-pdf serve-load)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time; scripts/setup.sh installs it)"
((BASH_VERSINFO[0] >= 5)) || die "needs bash 5 (EPOCHREALTIME)"

example_pdf="$root/examples/example-case-study.pdf"
brands_dir="$root/examples/brands"

work="$(mktemp -d "${TMPDIR:-/tmp}/pipeline-bench.XXXXXX")"
shm_work=""
server_pids=()
cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" ${shm_work:+"$shm_work"}
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Only what this script sets reaches the tool.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^PIPELINE_' || true)
export PIPELINE_MODEL=test-model PIPELINE_API_KEY='' OPENROUTER_API_KEY='' OPENAI_API_KEY=''

# ---------------------------------------------------------------- helpers

# Starts the fake model server with the given pace options; sets server_pid,
# server_log and PIPELINE_BASE_URL.
start_server() {
  server_log="$work/server-${#server_pids[@]}.log"
  "$fake_server" "$@" >"$server_log" 2>&1 &
  server_pid=$!
  server_pids+=("$server_pid")
  local _
  for _ in $(seq 100); do
    grep -q '^listening on ' "$server_log" && break
    sleep 0.05
  done
  PIPELINE_BASE_URL="$(sed -n 's/^listening on //p' "$server_log")"
  [[ -n $PIPELINE_BASE_URL ]] || die "the fake server did not start: $(cat "$server_log")"
  export PIPELINE_BASE_URL
}

# Stops the server started last; sets server_requests and server_max_in_flight
# (it prints both when it stops).
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_requests="$(sed -n 's/^requests: //p' "$server_log")"
  server_max_in_flight="$(sed -n 's/^max in flight: //p' "$server_log")"
}

# Seconds since the epoch, without forking a process.
now() { echo "${EPOCHREALTIME/,/.}"; }
# Runs a command with its output thrown away and prints "wall cpu" in seconds
# (cpu = user + system, of the command and its children); fails with it.
timed() {
  local TIMEFORMAT='%3R %3U %3S' times
  times="$({ time "$@" >/dev/null 2>&1; } 2>&1)" || return
  awk '{printf "%.4f %.4f\n", $1, $2 + $3}' <<<"$times"
}
# Wall seconds of a command whose output is thrown away; fails with it.
wall_of() {
  local times
  times="$(timed "$@")" || return
  echo "${times%% *}"
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# calc EXPR NAME=VALUE...: evaluates an awk expression over the named values.
calc() {
  local expr="$1"; shift
  local args=() pair
  for pair in "$@"; do args+=(-v "$pair"); done
  awk "${args[@]}" "BEGIN {print ($expr)}"
}
ms() { awk -v s="$1" 'BEGIN {printf "%.1f", 1000 * s}'; }
sec() { awk -v s="$1" 'BEGIN {printf "%.2f", s}'; }
# The average milliseconds of one 4 KiB write with its data synced (O_DSYNC,
# as fdatasync) in a folder: what each durable write of the tool waits for.
sync_ms() {
  local start="$EPOCHREALTIME"
  dd if=/dev/zero of="$1/sync-test" bs=4k count=100 oflag=dsync 2>/dev/null || { echo "?"; return; }
  local end="$EPOCHREALTIME"
  rm -f "$1/sync-test"
  calc 'sprintf("%.2f", 1000 * (b - a) / 100)' a="${start/,/.}" b="${end/,/.}"
}

# Reads a run's events.ndjson and prints one line of name=value figures, in
# seconds. A stage's model time is its HTTP attempts' time as the client's
# transport measured it (stage_done.attempts[].duration_s, summed per part),
# which leaves out waiting for a free request slot. Per stage, the critical
# path is its serial parts ("answer", "plan", "merge") plus the slowest of its
# parallel ones ("chunk-N", "card-<pattern>"). The same sum over
# stage_part_done.duration_s (the call as the stage saw it, slot waits
# included) is parts_crit.
# The events are compact JSON with sorted keys: in a stage_done line every
# attempt's duration_s comes before its part, and the stage's own duration_s
# is the last one of the line.
run_figures() {
  awk '
    function tokens(line,    n, tok, c) {
      n = 0
      while (match(line, /"[a-z_]+":("[^"]*"|[-0-9.eE+]+|true|false|null)/)) {
        tok = substr(line, RSTART, RLENGTH)
        line = substr(line, RSTART + RLENGTH)
        c = index(tok, ":")
        n++
        K[n] = substr(tok, 2, c - 3)
        V[n] = substr(tok, c + 1)
        gsub(/"/, "", V[n])
      }
      return n
    }
    function add_part(table, stage, part, seconds) {
      if (part ~ /^(chunk|card)-/) {
        if (seconds > table[stage, "par"]) table[stage, "par"] = seconds
      } else {
        table[stage, "ser"] += seconds
      }
    }
    {
      n = tokens($0)
      event = ""; stage = ""; last = ""
      for (i = 1; i <= n; i++) {
        if (K[i] == "event") event = V[i]
        if (K[i] == "stage") stage = V[i]
      }
      if (event == "stage_part_done") {
        for (i = 1; i <= n; i++) {
          if (K[i] == "duration_s" && d == "") d = V[i]
          if (K[i] == "part") part = V[i]
        }
        add_part(P, stage, part, d)
        if (stage == 5 && part ~ /^card-/) cards_part_sum += d
        calls++
        d = ""
      } else if (event == "stage_done") {
        for (i = 1; i <= n; i++) {
          if (K[i] == "duration_s") last = V[i]
          if (K[i] == "part") {
            add_part(H, stage, V[i], last)
            attempts++
            if (stage == 5 && V[i] == "plan") plan += last
            if (stage == 5 && V[i] ~ /^card-/) { cards_sum += last; if (last > card_max) card_max = last }
          }
          if (K[i] == "cached" && V[i] == "true") cached++
        }
        stage_wall[stage] = last
        stages_sum += last
      } else if (event == "run_finished") {
        for (i = 1; i <= n; i++) if (K[i] == "status") status = V[i]
      }
    }
    END {
      for (s = 1; s <= 5; s++) {
        crit += H[s, "ser"] + H[s, "par"]
        parts_crit += P[s, "ser"] + P[s, "par"]
      }
      printf "crit=%.4f parts_crit=%.4f stages_sum=%.4f s5_wall=%.4f plan=%.4f card_max=%.4f cards_sum=%.4f calls=%d attempts=%d cached=%d status=%s\n",
        crit, parts_crit, stages_sum, stage_wall[5], plan, card_max, cards_sum, calls, attempts, cached + 0, status
    }' "$1"
}

# value NAME LINE: the value of NAME=... in a run_figures line.
value() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

results="$work/results.md"
emit() { printf '%s\n' "$@" >>"$results"; }

# ---------------------------------------------------------------- 1. overhead

# The runs folder of each variant of figure 1: the temporary folder (a disk
# for most machines) and, where /dev/shm is a tmpfs, memory, where fsync costs
# nothing, which shows how much of the overhead is durable writing.
overhead_variant_names=(disk)
overhead_variant_dirs=("$work/overhead-runs")
if [[ -d /dev/shm && -w /dev/shm && $(df -T /dev/shm 2>/dev/null | awk 'NR == 2 {print $2}') == tmpfs ]]; then
  shm_work="$(mktemp -d /dev/shm/pipeline-bench.XXXXXX)"
  overhead_variant_names+=(tmpfs)
  overhead_variant_dirs+=("$shm_work/overhead-runs")
fi

# column FILE N: the median of column N of a file of samples.
column_median() { awk -v n="$2" '{print $n}' "$1" | median; }

bench_overhead() {
  say "1/5 overhead: $overhead_runs runs against an instant fake server (${overhead_variant_names[*]})"
  start_server
  local brand="$brands_dir/hollowmere-dairy.json"
  local v i run extract figures crit stages_sum dir
  for v in "${!overhead_variant_names[@]}"; do
    # Warm-up: binary, PDF and brand in the page cache, server threads started.
    PIPELINE_RUNS_DIR="${overhead_variant_dirs[$v]}" \
      "$pipeline_bin" run "$example_pdf" --brand "$brand" --no-cache --run-id warm-up >/dev/null 2>&1 ||
      die "the warm-up run failed"
    : >"$work/overhead-$v.samples"
  done
  for ((i = 1; i <= overhead_runs; i++)); do
    extract="$(timed "$pipeline_bin" extract "$example_pdf")" || die "pipeline extract failed"
    for v in "${!overhead_variant_names[@]}"; do
      dir="${overhead_variant_dirs[$v]}"
      run="$(PIPELINE_RUNS_DIR="$dir" timed "$pipeline_bin" run "$example_pdf" --brand "$brand" --no-cache \
        --run-id "overhead-$i")" || die "run overhead-$i failed (see $dir/overhead-$i/events.ndjson)"
      figures="$(run_figures "$dir/overhead-$i/events.ndjson")"
      [[ $(value status "$figures") == completed ]] || die "run overhead-$i did not complete"
      crit="$(value crit "$figures")"
      stages_sum="$(value stages_sum "$figures")"
      # wall, extract, model, own, in stages, outside stages, run cpu, extract cpu, own cpu
      calc 'sprintf("%.4f %.4f %.4f %.4f %.4f %.4f %.4f %.4f %.4f", w, e, c, w - e - c, s - c, w - e - s, rc, ec, rc - ec)' \
        w="${run%% *}" e="${extract%% *}" c="$crit" s="$stages_sum" rc="${run#* }" ec="${extract#* }" \
        >>"$work/overhead-$v.samples"
    done
  done
  stop_server

  emit "## 1. Own overhead of a run" ""
  emit "\`pipeline run examples/example-case-study.pdf --brand hollowmere-dairy --no-cache\` against the" \
    "fake server answering at once (no pace), $overhead_runs rounds after a warm-up; each round times" \
    "one \`pipeline extract\` of the same PDF and then the run once per runs folder: on the disk" \
    "of the temporary folder and, side by side, on a tmpfs (\`/dev/shm\`), where flushing to disk costs nothing." \
    "*Model time* is the critical path of the run's HTTP attempts (from \`stage_done.attempts[]\` in" \
    "events.ndjson, see figure 2), which with this server is mostly its own work of generating" \
    "the answers; *own overhead* = wall − extract − model time: everything the tool does besides" \
    "extracting and waiting for the model (creating the run folder, prompts, validation, artifacts," \
    "checkpoints and events, written atomically, and the syncfs once per stage). It splits into time inside the" \
    "stages beyond their model calls (sum of \`stage_done.duration_s\` − model time; waiting for a" \
    "request slot counts here) and time outside the stages (wall − extract − sum of stage times)." \
    "The extract wall includes starting the process, so process start is not counted as overhead." \
    "The CPU rows (user + system time of the process, from bash's \`time\`) are steadier on a busy" \
    "machine: own CPU = the run's CPU − the extract's, the tool's own work without any waiting." \
    "Medians of the rounds, each row on its own, so the parts need not add up exactly." ""
  local header="| figure |" rule="|---|" names=("run wall" "\`pipeline extract\` wall (process start included)" \
    "model time on the critical path" "**own overhead** (wall − extract − model time)" \
    "of which inside stages, beyond the model calls" "of which outside stages (run creation, report, exit)" "run CPU time" \
    "\`pipeline extract\` CPU time" "**own CPU time** (run CPU − extract CPU)")
  for v in "${!overhead_variant_names[@]}"; do
    header+=" runs folder on ${overhead_variant_names[$v]} (ms) |"
    rule+="---:|"
  done
  emit "$header" "$rule"
  local n row verdicts=""
  for n in 1 2 3 4 5 6 7 8 9; do
    row="| ${names[$((n - 1))]} |"
    for v in "${!overhead_variant_names[@]}"; do
      row+=" $(ms "$(column_median "$work/overhead-$v.samples" "$n")") |"
    done
    emit "$row"
  done
  for v in "${!overhead_variant_names[@]}"; do
    verdicts+="${verdicts:+; }${overhead_variant_names[$v]}: **$(calc '(o < 0.050) ? "PASS" : "FAIL"' \
      o="$(column_median "$work/overhead-$v.samples" 4)")**"
  done
  emit "" "Target: own overhead under 50 ms per run. $verdicts." ""
  for v in "${!overhead_variant_names[@]}"; do
    emit "Each round on ${overhead_variant_names[$v]}, in ms (wall / extract / model / own):" \
      "$(awk '{printf "%s%.1f / %.1f / %.1f / %.1f", (NR > 1 ? "; " : ""), 1000 * $1, 1000 * $2, 1000 * $3, 1000 * $4}' \
        "$work/overhead-$v.samples")." ""
  done
  say "   own overhead median: $verdicts"
}

# ---------------------------------------------------------------- 2. latency

latency_ftms=500
latency_tps=60
bench_latency() {
  say "2/5 latency: fake server at --first-token-ms $latency_ftms --tokens-per-second $latency_tps"
  start_server --first-token-ms "$latency_ftms" --tokens-per-second "$latency_tps"
  export PIPELINE_RUNS_DIR="$work/latency-runs"
  local brand="$brands_dir/hollowmere-dairy.json"
  local labels=("default (--max-concurrency 8)" "--max-concurrency 4" "--max-concurrency 1")
  local options=("" "--max-concurrency 4" "--max-concurrency 1")
  local i walls=() figs=()
  for i in 0 1 2; do
    say "   run: ${labels[$i]}"
    # shellcheck disable=SC2086 # the options are words on purpose
    walls[i]="$(wall_of "$pipeline_bin" run "$example_pdf" --brand "$brand" --no-cache --run-id "latency-$i" ${options[$i]})" ||
      die "run latency-$i failed"
    figs[i]="$(run_figures "$PIPELINE_RUNS_DIR/latency-$i/events.ndjson")"
    [[ $(value status "${figs[$i]}") == completed ]] || die "run latency-$i did not complete"
  done
  stop_server

  emit "## 2. Wall time against the model's critical path" ""
  emit "One full run (fresh, \`--no-cache\`) against the fake server at \`--first-token-ms $latency_ftms" \
    "--tokens-per-second $latency_tps\`, three times side by side: with the default" \
    "\`--max-concurrency\` (8: all five cards of stage 5 at once), with 4 (the fifth card waits) and with 1 (every call in" \
    "turn, the sequential cost). *Model time* of a call is its HTTP attempts' time as the client's" \
    "transport measured it (\`stage_done.attempts[].duration_s\`), which leaves out waiting for a" \
    "request slot; the *critical path* is stage 1's answer (or its slowest chunk + merge), stages 2–4's" \
    "answers, and stage 5's plan + its slowest card. wall / critical path shows what the tool adds" \
    "on top of the calls that cannot overlap (target ≤ 1.05); stage 5 shows how far its five cards" \
    "overlap: its wall against plan + slowest card (perfect overlap) and against plan + all five" \
    "cards (no overlap)." ""
  emit "| figure | ${labels[0]} | ${labels[1]} | ${labels[2]} |" "|---|---:|---:|---:|"
  row() { # title, then a function of a figures line and a wall
    local title="$1" fn="$2" cells="" j
    for j in 0 1 2; do cells+=" $("$fn" "${figs[$j]}" "${walls[$j]}") |"; done
    emit "| $title |$cells"
  }
  f_wall() { sec "$2"; }
  f_crit() { sec "$(value crit "$1")"; }
  f_ratio() { calc 'sprintf("%.3f", w / c)' w="$2" c="$(value crit "$1")"; }
  f_pass() { calc '(w / c <= 1.05) ? "PASS" : "FAIL"' w="$2" c="$(value crit "$1")"; }
  f_s5() { sec "$(value s5_wall "$1")"; }
  f_plan() { sec "$(value plan "$1")"; }
  f_cardmax() { sec "$(value card_max "$1")"; }
  f_ideal() { calc 'sprintf("%.2f", p + c)' p="$(value plan "$1")" c="$(value card_max "$1")"; }
  f_serial() { calc 'sprintf("%.2f", p + c)' p="$(value plan "$1")" c="$(value cards_sum "$1")"; }
  f_s5_ratio() { calc 'sprintf("%.3f", s / (p + c))' s="$(value s5_wall "$1")" p="$(value plan "$1")" c="$(value card_max "$1")"; }
  f_s5_serial() { calc 'sprintf("%.3f", s / (p + c))' s="$(value s5_wall "$1")" p="$(value plan "$1")" c="$(value cards_sum "$1")"; }
  f_calls() { value attempts "$1"; }
  row "run wall (s)" f_wall
  row "critical path of model time (s)" f_crit
  row "**wall / critical path**" f_ratio
  row "target ≤ 1.05" f_pass
  row "model calls (HTTP attempts)" f_calls
  row "stage 5 wall (s)" f_s5
  row "stage 5 plan call (s)" f_plan
  row "stage 5 slowest card call (s)" f_cardmax
  row "plan + slowest card (s)" f_ideal
  row "plan + five cards, one after another (s)" f_serial
  row "stage 5 wall / (plan + slowest card)" f_s5_ratio
  row "stage 5 wall / (plan + five cards)" f_s5_serial
  emit ""
  emit "Whole-run speed-up of parallel calls: the \`--max-concurrency 1\` run's wall is" \
    "$(calc 'sprintf("%.2f", a / b)' a="${walls[2]}" b="${walls[0]}")× the default run's and" \
    "$(calc 'sprintf("%.2f", a / b)' a="${walls[2]}" b="${walls[1]}")× the \`--max-concurrency 4\` run's." ""
  say "   walls: ${walls[*]}"
}

# ---------------------------------------------------------------- 3. batch

batch_ftms=100
batch_tps=2000
bench_batch() {
  say "3/5 batch: 6 documents x 4 brands at --jobs 1, 4 and 8"
  mkdir -p "$work/docs" "$work/brands"
  local docs=() seed
  for seed in 1 2 3 4 5 6; do
    "$make_pdf" "$work/docs/report-$seed.pdf" 3 "$seed" >/dev/null || die "make-bench-pdf failed"
    docs+=("$work/docs/report-$seed.pdf")
  done
  local distinct
  distinct="$(sha256sum "${docs[@]}" | awk '{print $1}' | sort -u | wc -l)"
  ((distinct == 6)) || die "the six benchmark documents are not all different"
  # A fourth brand: marigold-mill (its research is inline) under another name.
  sed -e 's/^  "id": .*/  "id": "bench-pantry",/' \
    -e 's/^  "company_name": .*/  "company_name": "Bench Pantry Foods",/' \
    -e 's/^  "positioning": .*/  "positioning": "Store-cupboard staples for busy households, plain packs and fair prices, sold through discounters.",/' \
    "$brands_dir/marigold-mill.json" >"$work/brands/bench-pantry.json"
  "$pipeline_bin" brands validate "$work/brands/bench-pantry.json" >/dev/null 2>&1 ||
    die "the fourth brand file is invalid"
  local brand_args=()
  for brand in "$brands_dir/hollowmere-dairy.json" "$brands_dir/larchline-outdoor.json" \
    "$brands_dir/marigold-mill.json" "$work/brands/bench-pantry.json"; do
    brand_args+=(--brand "$brand")
  done

  emit "## 3. Batch: 6 documents × 4 brands" ""
  emit "\`pipeline batch <6 PDFs> --brand ×4 --jobs N --max-concurrency 16\` (so that \`--jobs\` is the" \
    "limit, not the request slots), each \`--jobs\` in a fresh runs folder, a fresh stage cache and a" \
    "fresh fake server at \`--first-token-ms $batch_ftms --tokens-per-second $batch_tps\`. The six" \
    "documents are \`make-bench-pdf <out> 3 <seed>\` for seeds 1–6: three pages each, different" \
    "texts. The brands are the three examples and a copy of marigold-mill with another id, company" \
    "and positioning. *Stage computations* are the stages not taken from the cache, counted over" \
    "every run's checkpoint (\`stages[].cached\` false); the naive count is 5 × 24 = 120, the" \
    "expected 3 × 6 + 2 × 24 = 66. *Model calls* are the \`stage_part_done\` events of every run;" \
    "*HTTP requests* are the chat requests the fake server answered (retries would count here);" \
    "naive: 10 per run (stages 1–4 one each, stage 5 a plan and five cards) × 24 = 240, expected" \
    "3 × 6 + 7 × 24 = 186. *Peak memory* is the \`pipeline batch\` process's maximum resident set" \
    "size, from GNU time's \`%M\`." ""
  emit "| --jobs | runs completed | stage computations | model calls | HTTP requests | most requests in flight | wall (s) | peak RSS (MiB) | speed-up vs --jobs 1 |" \
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  local jobs wall1="" wall rss runs_dir completed computations calls
  for jobs in 1 4 8; do
    say "   --jobs $jobs"
    runs_dir="$work/batch-$jobs/runs"
    mkdir -p "$runs_dir"
    start_server --first-token-ms "$batch_ftms" --tokens-per-second "$batch_tps"
    local start="$EPOCHREALTIME"
    PIPELINE_RUNS_DIR="$runs_dir" PIPELINE_CACHE_DIR="$work/batch-$jobs/cache" \
      /usr/bin/time -f %M -o "$work/batch-$jobs/rss" \
      "$pipeline_bin" batch "${docs[@]}" "${brand_args[@]}" --jobs "$jobs" --max-concurrency 16 \
      --batch-id "bench-jobs-$jobs" >"$work/batch-$jobs/out.log" 2>&1 ||
      die "the batch at --jobs $jobs failed: $(tail -3 "$work/batch-$jobs/out.log")"
    local end="$EPOCHREALTIME"
    stop_server
    wall="$(calc 'sprintf("%.2f", b - a)' a="${start/,/.}" b="${end/,/.}")"
    [[ -n $wall1 ]] || wall1="$wall"
    rss="$(calc 'sprintf("%.1f", k / 1024)' k="$(tail -1 "$work/batch-$jobs/rss")")"
    completed="$(cat "$runs_dir"/*/events.ndjson | grep '"event":"run_finished"' | grep -c '"status":"completed"' || true)"
    # checkpoint.json is pretty-printed: "cached" appears once per stage.
    computations="$(cat "$runs_dir"/*/checkpoint.json | grep -c '"cached": *false' || true)"
    calls="$(cat "$runs_dir"/*/events.ndjson | grep -c '"event":"stage_part_done"' || true)"
    emit "| $jobs | $completed / 24 | $computations (naive 120) | $calls | $server_requests (naive 240) | $server_max_in_flight | $wall | $rss | $(calc 'sprintf("%.2f", a / b)' a="$wall1" b="$wall") |"
    say "   --jobs $jobs: $wall s, $computations stage computations, $server_requests requests, $rss MiB"
  done
  emit ""
}

# ---------------------------------------------------------------- 4. extraction

bench_extract() {
  say "4/5 extraction: extract_bench.sh --pages $extract_pages --runs $extract_runs"
  local table
  table="$("$here/extract_bench.sh" --pipeline "$pipeline_bin" --make-pdf "$make_pdf" \
    --pages "$extract_pages" --runs "$extract_runs")" || die "extract_bench.sh failed"
  emit "## 4. PDF text extraction" ""
  emit "\`bench/extract_bench.sh --pages $extract_pages --runs $extract_runs\`: \`pipeline extract\` beside" \
    "\`mutool draw -F txt\` (MuPDF, the engine pipeline uses) and \`pdftotext\` (Poppler) on a generated" \
    "PDF, median of the runs after a warm-up. CPU time (user + system) is the fairer figure on a busy" \
    "machine; a ratio above 1 means pipeline is faster. Target: as fast as mutool, about 1 ms per page." ""
  emit '```' "$table" '```' ""
}

# ---------------------------------------------------------------- 5. serve

bench_serve() {
  say "5/5 pipeline serve: serve_bench.sh"
  local text
  text="$("$here/serve_bench.sh" --pipeline "$pipeline_bin" --fake-server "$fake_server" \
    --serve-load "$serve_load")" || die "serve_bench.sh failed"
  emit "## 5. \`pipeline serve\`" ""
  emit "\`bench/serve_bench.sh\` (defaults), its four tables; see bench/README.md." "" "$text" ""
}

# ---------------------------------------------------------------- main

started="$EPOCHREALTIME"
cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ $commit != unknown && -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]]; then
  commit+=" (with uncommitted changes)"
fi
{
  echo "# Benchmark results"
  echo
  echo "Written by \`$command_line\` (\`ninja -C build bench\` runs the same); every figure below"
  echo "comes from that one invocation, its variants measured side by side. The model is the"
  echo "project's fake server (\`tests/fake_server\`), so model time is a set pace, not a real"
  echo "provider's. These machines are noisy: read the ratios and medians, not single numbers."
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores (nproc), ${cpu_model:-unknown CPU}, $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
  echo "- kernel: $(uname -sr); runs folder on $(df -T "$work" | awk 'NR == 2 {print $2}'), one 4 KiB write + fdatasync there takes $(sync_ms "$work") ms (average of 100, \`dd oflag=dsync\`)"
  echo "- pipeline: $("$pipeline_bin" --version 2>/dev/null | head -1 || echo unknown), commit $commit, binary \`${pipeline_bin#"$root"/}\`"
  echo
} >"$results"

bench_overhead
bench_latency
bench_batch
bench_extract
bench_serve

emit "Total time of the benchmark: $(calc 'sprintf("%.0f", (b - a))' a="${started/,/.}" b="$(now)") s."
mkdir -p "$(dirname "$out")"
cp "$results" "$out"
say "wrote $out"
