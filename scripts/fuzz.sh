#!/usr/bin/env bash
# Fuzzes every parser fed by the outside world (tests/fuzz/*_fuzz.cpp) with libFuzzer, under
# AddressSanitizer and UBSan, starting from the seed corpus in tests/fuzz/corpus.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default: 10 seconds each, every target
#   scripts/fuzz.sh 600 url html            ten minutes each for two of them, by hand
#
# Builds with clang in build-fuzz/. New inputs that found new paths go to build-fuzz/corpus/
# (not into the tree); a crash stops that target, leaves its input in build-fuzz/crashes/, and
# makes the script fail. Keep a crasher, once fixed, in tests/fuzz/regressions/TARGET/: the
# ordinary test suite replays those (Fuzz.Replay.*), and so does this script first.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-10}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a whole number, not '$seconds'" >&2; exit 2; }
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=()
  for f in tests/fuzz/*_fuzz.cpp; do f=${f##*/}; targets+=("${f%_fuzz.cpp}"); done
fi

scripts/install-deps.sh
build=build-fuzz
mkdir -p "$build"
if ! CC=clang CXX=clang++ cmake -S . -B "$build" -DCRAWL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
     "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" >"$build/configure.log" 2>&1; then
  cat "$build/configure.log" >&2
  echo "fuzz: cmake could not configure the fuzz build (its output is above)" >&2
  exit 1
fi
cmake --build "$build" -j2 --target "${targets[@]/%/_fuzz}"

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/${t}_fuzz
  corpus=$build/corpus/$t crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  log=$build/$t.log
  # The regression cases first: each must pass as it is.
  mapfile -t regressions < <(find "tests/fuzz/regressions/$t" -type f ! -name .keep 2>/dev/null)
  if [[ ${#regressions[@]} -gt 0 ]] && ! "$bin" "${regressions[@]}" >"$log" 2>&1; then
    echo "fuzz: $t: a regression case fails again:" >&2
    tail -n 30 "$log" >&2
    failed+=("$t")
    continue
  fi
  # -rss_limit_mb: a parser that takes more than this on one input is a finding too.
  if "$bin" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$crashes/" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $t: ${runs:-?} inputs in ${seconds}s, nothing found (${#regressions[@]} regression cases pass)"
  else
    echo "fuzz: $t: FOUND a failure; its input is in $crashes/:" >&2
    grep -E "property failed|ERROR|SUMMARY" "$log" | head -n 5 >&2 || true
    failed+=("$t")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: failures in ${failed[*]} (logs in $build/*.log)" >&2
  exit 1
fi
