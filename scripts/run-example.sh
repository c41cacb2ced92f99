#!/usr/bin/env bash
# The main job: sets up, builds and runs the whole chain on the example case
# study for the example dairy brand. With an API key in the environment
# (PIPELINE_API_KEY, OPENROUTER_API_KEY or OPENAI_API_KEY) or a local server in
# PIPELINE_BASE_URL, it uses that provider. Without either, or with
# --offline, the project's fake model server stands in, and it says so: the
# cards are then generated placeholders that only show the tool's mechanics,
# not real analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Only what the example needs: the tool and the fake model server, not the tests.
scripts/build.sh pipeline fake-llm-server

brand=${BRAND:-hollowmere-dairy}
offline=false
if [[ ${1:-} == --offline ]]; then
  offline=true
  shift
elif [[ -z ${PIPELINE_API_KEY:-}${OPENROUTER_API_KEY:-}${OPENAI_API_KEY:-} && -z ${PIPELINE_BASE_URL:-} ]]; then
  offline=true
  echo "run-example: no API key in the environment (PIPELINE_API_KEY, OPENROUTER_API_KEY or OPENAI_API_KEY)" \
       "and no PIPELINE_BASE_URL, so this runs against the built-in fake model server: the cards are" \
       "placeholders that show the mechanics, not analysis. Set a key to use the real provider." >&2
fi
if $offline; then
  log=$(mktemp)
  # The fake's money is not real, so it reports none.
  build/tests/fake-llm-server --first-token-ms 200 --tokens-per-second 400 --cost none >"$log" &
  server=$!
  trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
  for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
  export PIPELINE_BASE_URL=$(sed -n 's/^listening on //p' "$log")
  export PIPELINE_MODEL=test-model
  export PIPELINE_API_KEY=
  export OPENROUTER_API_KEY= OPENAI_API_KEY=
fi
build/pipeline run examples/example-case-study.pdf --brand "$brand" "$@"
