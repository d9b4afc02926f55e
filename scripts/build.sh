#!/usr/bin/env bash
# Installs what is missing, configures and builds with -j2.
#   scripts/build.sh              release build with warnings as errors, in build/
#   scripts/build.sh --sanitize   AddressSanitizer + UBSan build of the tests, in build-asan/
#   scripts/build.sh TARGET...    only these targets (e.g. crawlctl crawlworker), in build/
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
# -g1: line tables and function names, enough for backtraces, at a fraction of full debug
# info's compile time (a heavy test file: 48 s -> 29 s under ASan).
# A unity build compiles each target's sources in batches of 8, so that the header-only libraries
# (CLI11, nlohmann-json, GoogleTest) are parsed and their inline code generated once per batch,
# not once per file: a clean build took 2 min 6 s instead of 3 min 42 s. (Precompiled headers
# were tried and were slower: the cost is code generation, not parsing.)
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRAWL_WERROR=ON -DCMAKE_UNITY_BUILD=ON
            "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
targets=()
if [[ "${1:-}" == --sanitize ]]; then
  shift
  build=build-asan
  # -O0 compiles 40% faster than -O1 (measured on the largest test file: 21.7 s against 35.2 s)
  # and the suite, which waits on servers far more than it computes, hardly runs slower; without
  # debug info (-g0) it compiles a fifth faster again, and sanitizer reports still name functions.
  # A unity build too, as the release build: file by file it had grown to 551 s from scratch on 2
  # cores, a third of CI. (A file of lib/ that uses a header it does not include is still caught
  # there: the fuzz build, scripts/fuzz.sh, compiles the libraries its targets link file by file.)
  cmake_args+=(-DCRAWL_SANITIZE=address,undefined -DCRAWL_BUILD_BENCH=OFF
               "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g0 -DNDEBUG")
fi

targets=("$@")

scripts/install-deps.sh
# Configure quietly, but show what it said if it failed.
mkdir -p "$build"
if ! cmake -S . -B "$build" "${cmake_args[@]}" >"$build/configure.log" 2>&1; then
  cat "$build/configure.log" >&2
  echo "build: cmake could not configure the build (its output is above)" >&2
  exit 1
fi
if [[ ${#targets[@]} -gt 0 ]]; then
  cmake --build "$build" -j2 --target "${targets[@]}"
else
  cmake --build "$build" -j2
fi
