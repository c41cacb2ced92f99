#!/usr/bin/env bash
# Builds build/package/pipeline_<version>_amd64.deb with CPack from the
# existing build in build/ (configured by scripts/build.sh or by hand): the
# stripped binary, the brands and example under /usr/share/pipeline, the man
# page, the bash and zsh completions, the license and the copyright file.
# Depends is computed by dpkg-shlibdeps. Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Only what the package holds; flock so that a build already running in the same tree goes first.
flock /tmp/pipeline-build.lock cmake --build build --target pipeline pipeline-docs >/dev/null
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! (cd build && cpack -G DEB -D CPACK_STRIP_FILES=ON) >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' build/CMakeCache.txt)
package=build/package/pipeline_${version}_$(dpkg --print-architecture).deb
[[ -f $package ]] || { echo "package: cpack wrote no $package" >&2; exit 1; }
echo "$package"
