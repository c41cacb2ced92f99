#!/usr/bin/env bash
# Installs what pipeline needs to build and test, from Debian 12 packages
# only. Idempotent: packages already present are skipped; run as root.
set -euo pipefail

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

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
