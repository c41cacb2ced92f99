#!/usr/bin/env bash
# Prompt caching (issue 20): prompt tokens, cached tokens and modelled cost per
# stage, for one run and for a batch of one document and three brands, with
# the fake model server playing OpenAI's automatic cache and Anthropic's
# cache_control breakpoints; and the wall time of stage 5. See README.md.
#
# Usage: bench/cache_bench.sh [--pipeline PATH] [--fake PATH] [--label NAME] [--brands DIR]
#   --pipeline  the pipeline binary to measure (e.g. one built at an earlier
#               commit, for "before"); --fake is always this tree's fake server.
#   --brands    read the three brands from DIR/<id>.json instead of the
#               examples (e.g. profiles an older binary understands, so that
#               before and after are measured on the same input).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
pipeline_bin="$root/build/pipeline"
fake_bin="$root/build/tests/fake-llm-server"
label="this tree"
brands_dir=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --pipeline) pipeline_bin="$2"; shift 2 ;;
    --fake) fake_bin="$2"; shift 2 ;;
    --label) label="$2"; shift 2 ;;
    --brands) brands_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "cache_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in "$pipeline_bin" "$fake_bin" python3; do
  command -v "$tool" >/dev/null || { echo "cache_bench.sh: $tool not found" >&2; exit 1; }
done

work="$(mktemp -d)"
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A fresh fake server (an empty cache) playing `rules`, paced like the
# offline example (200 ms to the first token, 400 tokens a second).
start_fake() {
  local rules=$1 dialect=$2 log="$work/fake-$1.log"
  "$fake_bin" --cache "$rules" --dialect "$dialect" --cost none --first-token-ms 200 --tokens-per-second 400 >"$log" &
  server=$!
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.05; done
  base_url=$(sed -n 's/^listening on //p' "$log")
}
fail() { cat "$work/pipeline.log" >&2; exit 1; }
stop_fake() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

pdf="$root/examples/example-case-study.pdf"
# A brand by its id, or its file under --brands.
brand() { if [[ -n $brands_dir ]]; then echo "$brands_dir/$1.json"; else echo "$1"; fi; }
for rules in openai anthropic; do
  export PIPELINE_MODEL=test-model PIPELINE_API_KEY= OPENROUTER_API_KEY= OPENAI_API_KEY=
  start_fake "$rules" "$rules"
  PIPELINE_BASE_URL=$base_url "$pipeline_bin" run "$pdf" --brand "$(brand hollowmere-dairy)" --run-id one \
    --runs-dir "$work/$rules-run" --schema-dialect "$rules" >/dev/null 2>>"$work/pipeline.log" || fail
  stop_fake
  start_fake "$rules" "$rules"
  PIPELINE_BASE_URL=$base_url "$pipeline_bin" batch "$pdf" --brand "$(brand hollowmere-dairy)" --brand "$(brand larchline-outdoor)" \
    --brand "$(brand marigold-mill)" --jobs 1 --runs-dir "$work/$rules-batch" --schema-dialect "$rules" >/dev/null 2>>"$work/pipeline.log" || fail
  stop_fake
done

python3 - "$work" "$label" <<'PY'
import glob, json, os, sys
work, label = sys.argv[1], sys.argv[2]
# Published prices, US dollars per million tokens: input, cached input (read),
# cache write, output. GPT-4.1 (OpenAI): 2.00, 0.50, writes free, 8.00.
# Claude Sonnet 4 (Anthropic): 3.00, 0.30, 3.75 (5-minute writes), 15.00.
prices = {"openai": ("gpt-4.1", 2.00, 0.50, 2.00, 8.00), "anthropic": ("claude-sonnet-4", 3.00, 0.30, 3.75, 15.00)}
def cost(rules, u):
    _, fresh, read, write, out = prices[rules]
    p, c, r, w = u["prompt"], u["completion"], u["cached"], u["write"]
    return ((p - r - w) * fresh + r * read + w * write + c * out) / 1e6
def usage(stage):
    u = stage.get("usage") or {}
    return {"prompt": u.get("prompt_tokens") or 0, "completion": u.get("completion_tokens") or 0,
            "cached": u.get("cached_tokens") or 0, "write": u.get("cache_write_tokens") or 0}
print(f"## Prompt caching: {label}\n")
for rules in ("openai", "anthropic"):
    for kind in ("run", "batch"):
        checkpoints = sorted(glob.glob(os.path.join(work, f"{rules}-{kind}", "**", "checkpoint.json"), recursive=True))
        per_stage, stage5_wall, card_times = {}, [], []
        for path in checkpoints:
            state = json.load(open(path))
            # One card's time: the slowest card request of the run (the target allows stage 5 to grow by that much).
            events = os.path.join(os.path.dirname(path), "events.ndjson")
            if os.path.exists(events):
                parts = [json.loads(line) for line in open(events) if '"stage_part_done"' in line]
                cards = [e["duration_s"] for e in parts if e.get("stage") == 5 and e.get("part", "").startswith("card-")]
                if cards: card_times.append(max(cards))
            for stage in state["stages"]:
                total = per_stage.setdefault(stage["number"], {"prompt": 0, "completion": 0, "cached": 0, "write": 0})
                for key, value in usage(stage).items(): total[key] += value
                if stage["number"] == 5 and stage.get("duration_s") is not None: stage5_wall.append(stage["duration_s"])
        model = prices[rules][0]
        title = "one run" if kind == "run" else f"batch, 1 document x {len(checkpoints)} brands"
        print(f"### {rules} cache rules, {title}, priced as {model}\n")
        print("| stage | prompt tokens | cached | cached % | cache writes | completion | cost USD |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        run = {"prompt": 0, "completion": 0, "cached": 0, "write": 0}
        for number in sorted(per_stage):
            u = per_stage[number]
            for key in run: run[key] += u[key]
            share = 100.0 * u["cached"] / u["prompt"] if u["prompt"] else 0.0
            print(f"| {number} | {u['prompt']} | {u['cached']} | {share:.0f}% | {u['write']} | {u['completion']} | {cost(rules, u):.4f} |")
        share = 100.0 * run["cached"] / run["prompt"] if run["prompt"] else 0.0
        print(f"| all | {run['prompt']} | {run['cached']} | {share:.0f}% | {run['write']} | {run['completion']} | {cost(rules, run):.4f} |")
        print(f"\nStage 5 wall time: {', '.join(f'{s:.2f} s' for s in stage5_wall)}")
        print(f"One card's time (the slowest card request): {', '.join(f'{s:.2f} s' for s in card_times)}\n")
PY
