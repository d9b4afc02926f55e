#!/usr/bin/env bash
# Installs every Debian package that building, testing, benchmarking and running the crawler
# need. Non-interactive and idempotent: packages already present are not touched, and nothing
# is downloaded when everything is installed.
#
# The servers among them (redis-server, sshd, nginx) are installed for their binaries only: the
# tests and the demo start private instances. While this script installs them, a temporary
# policy-rc.d keeps Debian's maintainer scripts from starting the system-wide services (set
# CRAWL_START_SYSTEM_SERVICES=1 to let them start as usual).
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git
  libssh-dev libssl-dev libcurl4-openssl-dev libgumbo-dev libhiredis-dev libyaml-cpp-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libcpp-httplib-dev libxxhash-dev libexpected-dev libidn2-dev libpsl-dev libspdlog-dev zlib1g-dev libicu-dev libexpat1-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer's runtime
  clang libclang-rt-14-dev
  # style checks in CI (scripts/check-format.sh, scripts/check-shell.sh)
  clang-format-14 shellcheck
  # servers and tools used by the test harness and by deploy
  python3 redis-server redis-tools openssh-server openssh-client dtach ca-certificates sudo
  nginx-light libnginx-mod-http-echo curl procps iproute2
  # crawlctl serve's tests: promtool (checks /metrics), headless Chromium (the dashboard), and
  # Node.js for the npm checkers of tests/browser (installed below)
  prometheus chromium
  # benchmarks
  wrk
)
# Node.js and npm: Debian's, unless the machine has its own (e.g. NodeSource's, whose nodejs
# carries npm and conflicts with Debian's npm package).
if ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# The npm packages of the browser and API tests (tests/browser/package-lock.json), once per
# version of the lock file (CRAWL_NPM_DIR moves the directory, for the script's own test).
npm_packages() {
  local dir=${CRAWL_NPM_DIR:-$(cd "$(dirname "$0")/.." && pwd)/tests/browser} stamp want
  stamp=$dir/node_modules/.installed-lock-sha256
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return 0; fi
  echo "install-deps: npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  npm_packages
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  # sudo resets the environment: the frontend is passed through it explicitly.
  sudo=(sudo env DEBIAN_FRONTEND=noninteractive)
fi

# CRAWL_POLICY_RC_D moves the file, for the script's own test only.
policy=${CRAWL_POLICY_RC_D:-/usr/sbin/policy-rc.d}
placed_policy=0
if [[ "${CRAWL_START_SYSTEM_SERVICES:-0}" != 1 && ! -e $policy ]]; then
  printf '#!/bin/sh\n# placed by install-deps.sh while it runs\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
  placed_policy=1
fi
# Removes only a policy-rc.d this run placed (a Docker image ships its own), and keeps the
# script's exit status: an EXIT trap's last command would otherwise become it.
log=""
cleanup() {
  local rc=$?
  if [[ $placed_policy == 1 ]]; then "${sudo[@]}" rm -f "$policy" || true; fi
  if [[ -n $log ]]; then rm -f "$log"; fi
  exit "$rc"
}
trap cleanup EXIT

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists when a package is not known yet (fresh machines ship none), and
# once more if the install fails on lists gone stale.
if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
  echo "install-deps: apt-get update"
  "${sudo[@]}" apt-get update -qq
fi
# Progress: one line per package as dpkg sets it up (a fresh machine sets up some 300, the
# packages asked for and what they need); apt's full output is kept in a log and shown if the
# install fails.
log=$(mktemp "${TMPDIR:-/tmp}/install-deps.XXXXXX")
install() {
  local n=0 got=0 total
  total=$("${sudo[@]}" apt-get install -s -q --no-install-recommends "${missing[@]}" 2>/dev/null | grep -c '^Inst ') ||
    total="?"
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" 2>&1 | tee "$log" |
    while IFS= read -r line; do
      # apt downloads first (a minute or more from a cold mirror), then sets up.
      if [[ $line == Get:* ]]; then
        got=$((got + 1))
        if ((got == 1 || got % 25 == 0)); then echo "install-deps: downloading package $got of $total"; fi
      elif [[ $line == "Setting up "* ]]; then
        n=$((n + 1))
        line=${line#Setting up }
        echo "install-deps: [$n/$total] set up ${line%% *}"
      fi
    done
  return "${PIPESTATUS[0]}"
}
if ! install; then
  "${sudo[@]}" apt-get update -qq
  if ! install; then
    tail -n 30 "$log" >&2
    echo "install-deps: apt-get install failed (its last lines are above)" >&2
    exit 1
  fi
fi
npm_packages
echo "install-deps: done"
