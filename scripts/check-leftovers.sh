#!/usr/bin/env bash
# check-leftovers.sh TMPDIR RUN_ID: lists, kills and fails on any process that a test run left
# behind: one whose environment carries CRAWL_TEST_RUN=RUN_ID, or whose command line or working
# directory lies under TMPDIR (processes started over SSH do not inherit the environment).
set -uo pipefail
tmp=$1
run=$2
leftovers=()
for proc in /proc/[0-9]*; do
  pid=${proc#/proc/}
  [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
  cmdline=$(tr '\0' ' ' 2>/dev/null <"$proc/cmdline") || continue
  [[ -z $cmdline ]] && continue  # kernel threads and zombies
  hit=0
  if tr '\0' '\n' 2>/dev/null <"$proc/environ" | grep -qxF "CRAWL_TEST_RUN=$run"; then hit=1; fi
  [[ $cmdline == *"$tmp"* ]] && hit=1
  cwd=$(readlink "$proc/cwd" 2>/dev/null || true)
  [[ -n $cwd && ( $cwd == "$tmp" || $cwd == "$tmp"/* ) ]] && hit=1
  if [[ $hit == 1 ]]; then leftovers+=("$pid"); fi
done
if [[ ${#leftovers[@]} -eq 0 ]]; then
  echo "check-leftovers: no test process left running"
  exit 0
fi
echo "check-leftovers: ${#leftovers[@]} processes outlived the tests:" >&2
for pid in "${leftovers[@]}"; do
  echo "  $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" >&2
done
kill -KILL "${leftovers[@]}" 2>/dev/null
exit 1
