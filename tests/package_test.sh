#!/usr/bin/env bash
# The package installs and works on a fresh Debian 12: builds the .deb
# (scripts/package.sh), makes a minimal bookworm root with debootstrap from
# the package mirror this machine uses, installs the .deb into it with
# apt-get (which must pull its runtime libraries and nothing for building),
# and inside it runs --version, brands list, the man page and completion
# checks, and the example against the fake model server started outside on
# 127.0.0.1. The debootstrapped root is kept in build/package-test/ for the
# next run; each run installs into a fresh copy of it. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

fail() {
  echo "package test: $*" >&2
  exit 1
}
[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap, mount, chroot)"

# The mirror of the machine's own bookworm sources (deb822 or one-line format).
mirror() {
  local uri
  uri=$(awk '/^URIs:/ {uri=$2} /^Suites:/ && / bookworm( |$)/ && uri != "" {print uri; exit}' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n $uri ]] || uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

package=$(scripts/package.sh | tail -n 1)
flock /tmp/pipeline-build.lock cmake --build build --target fake-llm-server >/dev/null

work=build/package-test
base=$work/bookworm-minbase
root=$work/root
mkdir -p "$work"
if [[ ! -f $base/.complete ]]; then
  rm -rf "$base"
  echo "package test: debootstrap --variant=minbase bookworm from $(mirror)" >&2
  debootstrap --variant=minbase bookworm "$base" "$(mirror)" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log: $work/debootstrap.log)"; }
  touch "$base/.complete"
fi

server_log=$(mktemp)
server=
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null || true
  rm -f "$server_log"
  if mountpoint -q "$root/proc"; then umount "$root/proc"; fi
  # Never remove the root while something is still mounted inside it.
  if [[ -d $root ]] && ! grep -q " $(realpath "$root")/" /proc/mounts; then rm -rf "$root"; fi
}
trap cleanup EXIT

rm -rf "$root"
cp -a "$base" "$root"
rm -f "$root/.complete"
cp "$package" "$root/tmp/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"

inside() {  # inside <command>...: runs in the root with a clean environment
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}
expect() {  # expect <what> <text> <pattern>
  grep -qF -- "$3" <<<"$2" || fail "$1 did not show: $3 (it showed: ${2:0:400})"
}

before=$(inside dpkg-query -W -f='${Package}\n' | sort)
inside apt-get update -qq >/dev/null
inside apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$package")" >"$work/apt.log" 2>&1 ||
  { tail -n 20 "$work/apt.log" >&2; fail "apt-get install of the package failed (log: $work/apt.log)"; }
added=$(comm -13 <(echo "$before") <(inside dpkg-query -W -f='${Package}\n' | sort))
echo "package test: apt-get installed $(wc -l <<<"$added") packages: $(tr '\n' ' ' <<<"$added")" >&2
building=$(grep -E -- '-dev$|^(gcc|g\+\+|cpp|make|cmake|binutils)(-|$)' <<<"$added" || true)
[[ -z $building ]] || fail "the package pulled build packages: $building"
missing=$(inside ldd /usr/bin/pipeline | grep 'not found' || true)
[[ -z $missing ]] || fail "libraries the package does not depend on: $missing"

expect "--version" "$(inside pipeline --version)" "pipeline "
expect "brands list" "$(inside pipeline brands list)" "/usr/share/pipeline/brands/hollowmere-dairy.json"
[[ -f $root/usr/share/man/man1/pipeline.1.gz ]] || fail "no /usr/share/man/man1/pipeline.1.gz"
if [[ -x $root/usr/bin/man ]]; then
  expect "man -w" "$(inside man -w pipeline)" "/usr/share/man/man1/pipeline.1.gz"
fi
inside bash -n /usr/share/bash-completion/completions/pipeline || fail "the bash completion does not parse"
[[ -f $root/usr/share/zsh/vendor-completions/_pipeline ]] || fail "no zsh completion"
[[ -f $root/usr/share/doc/pipeline/copyright ]] || fail "no copyright file"
if file "$root/usr/bin/pipeline" | grep -q 'with debug_info'; then fail "the packaged binary is not stripped"; fi

# The example, offline: the fake model server runs outside; the root shares the network.
build/tests/fake-llm-server >"$server_log" &
server=$!
for _ in $(seq 100); do grep -q '^listening on ' "$server_log" && break; sleep 0.1; done
base_url=$(sed -n 's/^listening on //p' "$server_log")
[[ -n $base_url ]] || fail "the fake model server did not start"
run_log=$work/run.log
if ! chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
    PIPELINE_BASE_URL="$base_url" PIPELINE_MODEL=test-model PIPELINE_RUNS_DIR=/root/runs \
    pipeline run /usr/share/pipeline/examples/example-case-study.pdf --brand hollowmere-dairy --json \
    >"$run_log" 2>&1; then
  tail -n 20 "$run_log" >&2
  fail "the example run failed (log: $run_log)"
fi
reports=("$root"/root/runs/*/report.md)
[[ -f ${reports[0]} ]] || fail "the example run left no report.md"
expect "the example's report" "$(head -n 1 "${reports[0]}")" "# Innovation report: example-case-study-hollowmere-dairy-"
cards=$(find "$(dirname "${reports[0]}")/cards" -name '*.md' | wc -l)
[[ $cards -eq 5 ]] || fail "the example run wrote $cards cards, not 5"

echo "package test: ok: $(basename "$package") ($(du -k "$package" | cut -f1) KiB) installs and runs on a fresh" \
     "Debian 12 in $((SECONDS - started))s" >&2
