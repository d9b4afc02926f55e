#!/usr/bin/env bash
# The README's first command, as a new user runs it (with the binaries this build made): a crawl
# of the demo site to completion, twice, then once more with --keep-running and --stop. Checks
# the results, the summary, the logs brought home, and that nothing it started is left running.
#   quickstart_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
# The quickstart's own Redis and hosts file, whatever the caller's environment says.
unset CRAWL_REDIS_URL CRAWL_REDIS_PASSWORD CRAWL_HOSTS CRAWL_QUICKSTART_DIR
src=$1
build=$2
tmp=$(mktemp -d "${CRAWL_TEST_TMPDIR:-${TMPDIR:-/tmp}}/crawl-test-quickstart-XXXXXX")
dir=$tmp/state
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# Processes of the quickstart: every one it started inherits this mark in its environment (the
# workers too: the local transport passes the environment on), or, for the servers that rewrite
# their environment with their process title (Redis, nginx), works in a directory under $dir.
mark="QUICKSTART_TEST_MARK=$tmp"
running() {
  {
    grep -lzsxF -- "$mark" /proc/[0-9]*/environ | sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'
    find /proc/[0-9]*/cwd -maxdepth 0 -lname "$dir/*" 2>/dev/null | sed -n 's|^/proc/\([0-9]*\)/cwd$|\1|p'
  } | sort -un
}
cleanup() {
  local left
  left=$(running)
  [[ -n $left ]] && kill -KILL $left 2>/dev/null
  [[ ${CRAWL_TEST_KEEP:-0} == 1 ]] || rm -rf "$tmp"
}
trap cleanup EXIT

quickstart() { env "$mark" "$src/scripts/quickstart.sh" --no-build --build-dir "$build" --dir "$dir" "$@"; }

# The demo site: 132 pages, each bird page with 3 images, thumbnails on the list pages, a logo;
# a broken link (404), a page robots.txt forbids and an off-site link.
check_run() {  # check_run N OUTPUT
  local n=$1 out=$2
  grep -qx "job $n" <<<"$out" || fail "run $n: no 'job $n' line"
  grep -q "job $n finished" <<<"$out" || fail "run $n: status did not follow the job to its end"
  grep -q "^  pages     132: 361 images on them (361 distinct)" <<<"$out" || fail "run $n: wrong pages/images summary"
  grep -q "^  failed    1: http_404 1" <<<"$out" || fail "run $n: wrong failures"
  grep -q "^  filtered  2: offsite 1, robots 1" <<<"$out" || fail "run $n: wrong filters"
  local lines
  lines=$(wc -l <"$dir/results/job-$n.jsonl" 2>/dev/null || echo 0)
  [[ $lines == 135 ]] || fail "run $n: results/job-$n.jsonl has $lines records, not 135"
  grep -q '"http://127.0.0.1:[0-9]*/birds/bird-007.html": \[' "$dir/results/job-$n.images.json" ||
    fail "run $n: no images map for bird-007"
  for w in 1 2; do
    grep -q "event=start" "$dir/logs/localhost/w$w.log" 2>/dev/null || fail "run $n: no log of worker $w brought home"
  done
}

for n in 1 2; do
  rm -rf "$dir/logs"  # each run must bring the logs home itself
  out=$(quickstart 2>&1)
  rc=$?
  echo "$out"
  [[ $rc == 0 ]] || fail "run $n exited $rc"
  check_run $n "$out"
  left=$(running)
  [[ -z $left ]] || fail "run $n left processes running: $(ps -o pid=,args= -p ${left//$'\n'/,})"
done

# --keep-running leaves Redis, the site and the workers up and says how to stop them.
rm -rf "$dir/logs"
out=$(quickstart --keep-running 2>&1)
rc=$?
echo "$out"
[[ $rc == 0 ]] || fail "run 3 (--keep-running) exited $rc"
check_run 3 "$out"
grep -q -- "--stop" <<<"$out" || fail "run 3 does not say how to stop what it left running"
for name in redis-server nginx crawlworker dtach crawlctl; do
  ps -o comm= -p "$(running | paste -sd, -)" | grep -q "^$name" || fail "--keep-running: no $name left running"
done
# The dashboard it prints answers, and the tour's lines it prints run as written.
dashboard=$(sed -n 's|^The dashboard: \(http://127.0.0.1:[0-9]*/\)$|\1|p' <<<"$out")
[[ -n $dashboard ]] || fail "run 3 does not print the dashboard's address"
[[ -z $dashboard ]] || curl -sf "$dashboard" | grep -q "<title>crawl</title>" || fail "the dashboard at $dashboard does not answer"
[[ -z $dashboard ]] || curl -sf "${dashboard}jobs/3" | grep -q '"state":"finished"' || fail "GET ${dashboard}jobs/3 does not show job 3 finished"
tour=$(sed -n '/^To run the README/,/^$/p' <<<"$out" | sed -n 's/^  //p')
[[ -n $tour ]] || fail "run 3 does not print the tour's commands"
(eval "$tour") >"$tmp/tour.out" 2>&1 || fail "the tour's commands failed: $(cat "$tmp/tour.out")"
grep -q "finished" "$tmp/tour.out" || fail "the tour's crawlctl status did not show job 3: $(cat "$tmp/tour.out")"
quickstart --stop || fail "--stop failed"
left=$(running)
[[ -z $left ]] || fail "--stop left processes running: $(ps -o pid=,args= -p ${left//$'\n'/,})"

if [[ $failures -gt 0 ]]; then
  echo "quickstart_test: $failures failures" >&2
  exit 1
fi
echo "quickstart_test: all checks passed"
