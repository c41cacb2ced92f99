#!/usr/bin/env bash
# The main job: sets up, builds and runs the whole chain on the example case
# study for the example dairy brand. Needs a model provider: an API key in
# PIPELINE_API_KEY (or OPENROUTER_API_KEY / OPENAI_API_KEY), or a local
# OpenAI-compatible server in PIPELINE_BASE_URL. With --offline, the
# project's fake model server stands in: the cards are then generated
# placeholders that only show the tool's mechanics, not real analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh

brand=${BRAND:-hollowmere-dairy}
if [[ ${1:-} == --offline ]]; then
  log=$(mktemp)
  build/tests/fake-llm-server --first-token-ms 200 --tokens-per-second 400 >"$log" &
  server=$!
  trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
  for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
  export PIPELINE_BASE_URL=$(sed -n 's/^listening on //p' "$log")
  export PIPELINE_MODEL=test-model
  export PIPELINE_API_KEY=
  export OPENROUTER_API_KEY= OPENAI_API_KEY=
  shift
fi
build/pipeline run examples/example-case-study.pdf --brand "$brand" "$@"
