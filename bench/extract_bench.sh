#!/usr/bin/env bash
# Times `pipeline extract` beside `mutool draw -F txt` and `pdftotext` on the
# same 300+ page PDF and prints pages per second and the ratios. See README.md.
#
# Usage: bench/extract_bench.sh [--pipeline PATH] [--make-pdf PATH] [--pdf FILE]
#                               [--pages N] [--runs N]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
pipeline_bin="$here/../build/pipeline"
make_pdf="$here/../build/bench/make-bench-pdf"
pdf=""
pages_wanted=320
runs=7

while [[ $# -gt 0 ]]; do
  case "$1" in
    --pipeline) pipeline_bin="$2"; shift 2 ;;
    --make-pdf) make_pdf="$2"; shift 2 ;;
    --pdf) pdf="$2"; shift 2 ;;
    --pages) pages_wanted="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "extract_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in "$pipeline_bin" mutool pdftotext pdfinfo; do
  if ! command -v "$tool" >/dev/null; then
    echo "extract_bench.sh: $tool not found (build pipeline; apt-get install mupdf-tools poppler-utils)" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ -z "$pdf" ]]; then
  pdf="$work/bench.pdf"
  "$make_pdf" "$pdf" "$pages_wanted" >/dev/null
fi
pages="$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')"

# One timed run: prints "wall cpu" in seconds (cpu = user + system).
time_once() {
  local TIMEFORMAT='%R %U %S'
  { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{printf "%.4f %.4f\n", $1, $2 + $3}'
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A wall cpu
measure() {
  local name="$1"; shift
  "$@" >/dev/null 2>&1 || { echo "extract_bench.sh: $name failed on $pdf" >&2; exit 1; }  # warm-up
  local samples=()
  for ((i = 0; i < runs; i++)); do samples+=("$(time_once "$@")"); done
  wall[$name]="$(printf '%s\n' "${samples[@]}" | awk '{print $1}' | median)"
  cpu[$name]="$(printf '%s\n' "${samples[@]}" | awk '{print $2}' | median)"
}

measure pipeline "$pipeline_bin" extract "$pdf"
measure mutool mutool draw -q -F txt -o /dev/null "$pdf"
measure pdftotext pdftotext "$pdf" /dev/null

echo "PDF: $pages pages, $(stat -c %s "$pdf") bytes; median of $runs runs after a warm-up"
printf '%-10s %10s %10s %12s %12s\n' tool wall_s cpu_s pages/s_wall ms/page_cpu
for name in pipeline mutool pdftotext; do
  awk -v n="$name" -v w="${wall[$name]}" -v c="${cpu[$name]}" -v p="$pages" \
    'BEGIN {printf "%-10s %10.3f %10.3f %12.0f %12.2f\n", n, w, c, p / w, 1000 * c / p}'
done
awk -v pw="${wall[pipeline]}" -v mw="${wall[mutool]}" -v tw="${wall[pdftotext]}" \
    -v pc="${cpu[pipeline]}" -v mc="${cpu[mutool]}" -v tc="${cpu[pdftotext]}" 'BEGIN {
  printf "speed ratio pipeline/mutool:    %.2f (wall)  %.2f (cpu)\n", mw / pw, mc / pc
  printf "speed ratio pipeline/pdftotext: %.2f (wall)  %.2f (cpu)\n", tw / pw, tc / pc
  print  "(a ratio above 1 means pipeline is faster)"
}'
