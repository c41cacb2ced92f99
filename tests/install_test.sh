#!/usr/bin/env bash
# The installed tool finds the data it ships (example brands) beside its own
# bin/, wherever the install prefix is and whatever the working directory.
set -euo pipefail
build_dir=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
cd "$prefix"
# The brands must come from the prefix, not from the source tree the binary was built in.
"$prefix/bin/pipeline" brands list --json | grep -q "\"source\": \"$prefix/share/pipeline/brands/hollowmere-dairy.json\""
"$prefix/bin/pipeline" brands show hollowmere-dairy --json | grep -q '"company_name"'
"$prefix/bin/pipeline" extract "$prefix/share/pipeline/examples/example-case-study.pdf" | grep -q 'Kettle'
"$prefix/bin/pipeline" --version | grep -q '^pipeline '
echo "install test: ok"
