#!/usr/bin/env bash
# Runs a check with the test tools pinned in package.json, in the source tree:
#   run_node_tool.sh <source dir> <tool> [args...]      node_modules/.bin/<tool>
#   run_node_tool.sh <source dir> --script <file.mjs> [args...]   node <file.mjs>
# Without the tools installed it fails, so that a check is never skipped unseen.
set -euo pipefail
source_dir=$1
shift
if [[ $1 == --script ]]; then
  need=$source_dir/node_modules/.bin
  command=(node "$2")
  shift 2
else
  need=$source_dir/node_modules/.bin/$1
  command=("$need")
  shift
fi
if [[ ! -e $need ]] || ! command -v node >/dev/null; then
  echo "the npm test tools are not installed ($need is missing): run scripts/setup.sh --test-tools" >&2
  exit 1
fi
cd "$source_dir"
exec "${command[@]}" "$@"
