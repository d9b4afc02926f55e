#!/usr/bin/env bash
# Installs what is missing, configures and builds with -j2.
#   scripts/build.sh              release build with warnings as errors, in build/
#   scripts/build.sh --sanitize   AddressSanitizer + UBSan build of the tests, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRAWL_WERROR=ON)
if [[ "${1:-}" == --sanitize ]]; then
  build=build-asan
  # -O1 compiles much faster than -O2 and keeps the sanitized suite quick to run.
  cmake_args+=(-DCRAWL_SANITIZE=address,undefined -DCRAWL_BUILD_BENCH=OFF
               "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g -DNDEBUG")
fi

scripts/install-deps.sh
cmake -S . -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j2
