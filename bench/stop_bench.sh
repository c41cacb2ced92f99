#!/usr/bin/env bash
# Times how long `pipeline extract` takes to stop when SIGTERM arrives
# --after-s seconds into a PDF of drawing operators and no text (a small file
# whose one content stream inflates to --mb MB), for two builds side by side
# in one run: wall time from start to exit, the exit code and stderr's lines.
#
# Usage: bench/stop_bench.sh --before PATH [--after PATH] [--make-bomb PATH]
#                            [--mb N] [--after-s S]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
after="$here/../build/pipeline"
before=""
make_bomb="$here/../build/bench/make-bomb-pdf"
megabytes=4096
signal_after=0.5

while [[ $# -gt 0 ]]; do
  case "$1" in
    --before) before="$2"; shift 2 ;;
    --after) after="$2"; shift 2 ;;
    --make-bomb) make_bomb="$2"; shift 2 ;;
    --mb) megabytes="$2"; shift 2 ;;
    --after-s) signal_after="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "stop_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$before" ]] || { echo "stop_bench.sh: --before PATH is required (a build to compare with)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$make_bomb" "$work/drawing.pdf" "$megabytes" drawing >/dev/null

# Prints: build, seconds from start to exit, exit code, stderr lines, first line.
measure() {
  local label="$1" binary="$2"
  local start end code
  start=$(date +%s.%N)
  "$binary" extract "$work/drawing.pdf" >/dev/null 2>"$work/stderr" &
  local pid=$!
  sleep "$signal_after"
  kill -TERM "$pid" 2>/dev/null || true
  set +e
  wait "$pid"
  code=$?
  set -e
  end=$(date +%s.%N)
  printf '%-7s %8.2f s  exit %-3s  %s stderr line(s): %s\n' "$label" "$(echo "$end - $start" | bc)" "$code" \
    "$(wc -l <"$work/stderr")" "$(head -n 1 "$work/stderr")"
}

echo "pipeline extract on a ${megabytes} MB drawing-operator PDF ($(stat -c %s "$work/drawing.pdf") bytes), SIGTERM after ${signal_after} s"
measure before "$before"
measure after "$after"
