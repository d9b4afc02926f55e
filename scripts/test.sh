#!/usr/bin/env bash
# The project's test command: installs what is missing, builds with -j2 (scripts/build.sh) and
# runs the whole CTest suite (labels: unit, integration, e2e), then checks that no process the
# tests started is still running. Extra arguments go to ctest (e.g. -L unit, -R Inventory).
#
#   scripts/test.sh              release build with warnings as errors, in build/
#   scripts/test.sh --sanitize   the same under AddressSanitizer + UBSan, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

case ${1:-} in
  -h|--help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    echo "ctest's own options: ctest --help (e.g. -L unit, -R Serve, -E Deploy, -j2)"
    exit 0 ;;
esac

build=build
if [[ "${1:-}" == --sanitize ]]; then
  shift
  build=build-asan
  scripts/build.sh --sanitize
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  scripts/build.sh
fi

# Every fixture makes its temp dirs under this one directory, and every process the tests start
# inherits CRAWL_TEST_RUN: that is how leftovers are recognised afterwards.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crawl-tests.XXXXXX")
run_id="$(date +%s)-$$"
status=0
(cd "$build" && CRAWL_TEST_TMPDIR="$tmp" CRAWL_TEST_RUN="$run_id" \
   ctest --output-on-failure --no-tests=error -j2 --timeout 600 "$@") || status=$?
scripts/check-leftovers.sh "$tmp" "$run_id" || status=1
if [[ "${CRAWL_TEST_KEEP:-0}" == 1 ]]; then
  echo "test.sh: kept the harness's files (configs, server logs) in $tmp"
else
  rm -rf "$tmp"
fi
exit $status
