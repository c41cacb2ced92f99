#!/usr/bin/env bash
# Installs what pipeline needs to build and test, from Debian 12 packages
# only. Idempotent: packages already present are skipped; run as root.
# With --test-tools (scripts/test.sh) it also installs the test-only tools
# pinned in package.json and package-lock.json (a browser driver, an OpenAPI
# linter, a webhook verifier, TypeScript) with `npm ci`, and Node.js from
# Debian where the machine has none; nothing from npm ships in the program,
# and the main job (scripts/run-example.sh) never needs the network.
set -euo pipefail
cd "$(dirname "$0")/.."
test_tools=false
[[ ${1:-} == --test-tools ]] && test_tools=true

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libcli11-dev libcurl4-openssl-dev nlohmann-json3-dev libfmt-dev doctest-dev libssl-dev
  libcpp-httplib-dev
  libmupdf-dev libharfbuzz-dev libfreetype-dev libjbig2dec0-dev libopenjp2-7-dev libjpeg-dev
  libgumbo-dev libmujs-dev zlib1g-dev
  libhiredis-dev redis-server redis-tools openssl
  mupdf-tools poppler-utils time chromium
  dpkg-dev file groff-base man-db zsh debootstrap
)

if $test_tools && ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages are installed"
else
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    sudo=sudo
  else
    sudo=
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if $test_tools; then
  # npm ci replaces node_modules whole; a stamp of the lock file skips it
  # when the tools installed are the ones pinned.
  stamp=node_modules/.pipeline-lock.sha256
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    echo "setup: the npm test tools are installed"
  else
    echo "setup: installing the npm test tools (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
  fi
fi
