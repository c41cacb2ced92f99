#!/usr/bin/env bash
# The installed tool finds the data it ships (example brands) beside its own
# bin/, wherever the install prefix is and whatever the working directory.
set -euo pipefail
build_dir=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
cd "$prefix"

expect() {  # expect <what> <text> <pattern>
  if ! grep -qF -- "$3" <<<"$2"; then
    echo "install test: $1 did not show: $3" >&2
    exit 1
  fi
}
# The brands must come from the prefix, not from the source tree the binary was built in.
expect "brands list" "$("$prefix/bin/pipeline" brands list --json)" \
  "\"source\": \"$prefix/share/pipeline/brands/hollowmere-dairy.json\""
expect "brands show" "$("$prefix/bin/pipeline" brands show hollowmere-dairy --json)" '"company_name"'
expect "extract" "$("$prefix/bin/pipeline" extract "$prefix/share/pipeline/examples/example-case-study.pdf")" 'Kettle'
expect "--version" "$("$prefix/bin/pipeline" --version)" 'pipeline '
echo "install test: ok"
