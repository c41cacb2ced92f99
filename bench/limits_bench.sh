#!/usr/bin/env bash
# Times `pipeline extract` on hostile PDFs (small files whose content streams
# inflate to many MB) and on ordinary ones, for two builds side by side in one
# run: wall time and peak memory (GNU time's maximum resident set size), the
# median of --runs runs each, and the ratio after / before. See README.md.
#
# Usage: bench/limits_bench.sh --before PATH [--after PATH] [--make-bomb PATH]
#                              [--make-pdf PATH] [--runs N]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
after="$here/../build/pipeline"
before=""
make_bomb="$here/../build/bench/make-bomb-pdf"
make_pdf="$here/../build/bench/make-bench-pdf"
runs=3

while [[ $# -gt 0 ]]; do
  case "$1" in
    --before) before="$2"; shift 2 ;;
    --after) after="$2"; shift 2 ;;
    --make-bomb) make_bomb="$2"; shift 2 ;;
    --make-pdf) make_pdf="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "limits_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$before" ]] || { echo "limits_bench.sh: --before PATH is required (a build without the limits)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "limits_bench.sh: needs GNU time (apt-get install time)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# name | how it is made | whether the build without limits may run it
"$make_bomb" "$work/text-40mb.pdf" 40 text >/dev/null
"$make_bomb" "$work/text-400mb.pdf" 400 text >/dev/null
"$make_bomb" "$work/text-100x1mb.pdf" 1 text 100 >/dev/null
"$make_bomb" "$work/drawing-400mb.pdf" 400 drawing >/dev/null
"$make_bomb" "$work/pages-2500.pdf" 0.001 text 2500 >/dev/null
"$make_pdf" "$work/report-320p.pdf" 320 >/dev/null
cp "$here/../examples/example-case-study.pdf" "$work/example.pdf"

# One run: prints "wall-seconds max-rss-KB exit-code".
run_once() {
  local binary="$1" pdf="$2" exit_code=0
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$binary" extract "$pdf" >/dev/null 2>"$work/err.txt" || exit_code=$?
  echo "$(tail -1 "$work/time.txt") $exit_code"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Prints one table row; "-" for a build that is not run on the file.
measure() {
  local name="$1" pdf="$work/$1.pdf" run_before="$2"
  local bw=() bm=() aw=() am=() bexit="-" aexit="-" line
  for ((i = 0; i < runs; i++)); do
    if [[ "$run_before" == yes ]]; then
      read -r w m bexit <<<"$(run_once "$before" "$pdf")"; bw+=("$w"); bm+=("$m")
    fi
    read -r w m aexit <<<"$(run_once "$after" "$pdf")"; aw+=("$w"); am+=("$m")
  done
  local a_wall a_mem b_wall="-" b_mem="-" r_wall="-" r_mem="-"
  a_wall="$(printf '%s\n' "${aw[@]}" | median)"
  a_mem="$(printf '%s\n' "${am[@]}" | median)"
  if [[ "$run_before" == yes ]]; then
    b_wall="$(printf '%s\n' "${bw[@]}" | median)"
    b_mem="$(printf '%s\n' "${bm[@]}" | median)"
    r_wall="$(awk -v a="$a_wall" -v b="$b_wall" 'BEGIN {printf "%.3f", (b > 0) ? a / b : 0}')"
    r_mem="$(awk -v a="$a_mem" -v b="$b_mem" 'BEGIN {printf "%.3f", a / b}')"
  fi
  printf '| %s | %s KB | %s | %s s | %s MB | %s | %s s | %s MB | %s | %s | %s |\n' "$name" \
    "$(( $(stat -c %s "$pdf") / 1024 ))" "$bexit" "$b_wall" \
    "$( [[ "$b_mem" == - ]] && echo - || awk -v k="$b_mem" 'BEGIN {printf "%.1f", k / 1024}')" "$aexit" "$a_wall" \
    "$(awk -v k="$a_mem" 'BEGIN {printf "%.1f", k / 1024}')" "$r_wall" "$r_mem" "$(head -c 160 "$work/err.txt" | tr '\n' ' ')"
}

echo "before: $before"
echo "after:  $after"
echo "runs: $runs (medians); $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| file | size | exit before | wall before | peak RSS before | exit after | wall after | peak RSS after | wall after/before | RSS after/before | after's message |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
measure example yes
measure report-320p yes
measure text-40mb yes
measure text-100x1mb yes
measure drawing-400mb yes
measure pages-2500 yes
# Without the cap this one needs about 20 GB (75 bytes per character): after only.
measure text-400mb no
