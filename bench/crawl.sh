#!/usr/bin/env bash
# Crawl benchmark, everything side by side in one run on this machine:
#   1. the server's own limit: wrk fetching the same pages from the same nginx;
#   2. Gumbo's parse-only rate on the same pages (CPU time of one thread);
#   3. crawlworker crawling the whole site from its root through Redis, politeness off
#      (--delay 0 --host-concurrency CONCURRENCY): pages/s, CPU seconds per 1,000 pages, peak
#      RSS, and the Redis and nginx CPU beside it; crawlctl wait runs beside it, as an operator
#      would run it, draining the job's records home, and Redis's memory is measured from the
#      300th page recorded to the end: what a recorded page leaves in Redis.
# Usage: [WAIT_REPLICAS=N] [JOB_FLAGS='--warc ...'] bench/crawl.sh [PAGES] [PAGE_BYTES]
#          [CONCURRENCY] [PARSE_THREADS]
# JOB_FLAGS: more options for the job's submit (with --warc, the WARC files' size is reported).
# Needs a build (scripts/build.sh). Starts and stops its own redis-server and nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-20000}
page_bytes=${2:-24000}
concurrency=${3:-64}
parse_threads=${4:-2}
build=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crawl-bench.XXXXXX")
export CRAWL_TEST_TMPDIR=$tmp
pids=()
site_pid=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  exec 3>&- 2>/dev/null || true  # site_server stops nginx when its stdin closes
  [[ -n $site_pid ]] && wait "$site_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# CPU ticks (user + system) of every process in a process group: nginx's workers are children.
cpu_ticks() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$1" '$5 == g {t += $14 + $15} END {print t + 0}'; }
hz=$(getconf CLK_TCK)

# The site, served by nginx with 1 worker process.
mkfifo "$tmp/site.in"
"$build/bench/site_server" --pages "$pages" --page-bytes "$page_bytes" --body-cap 10485760 \
  --workers 1 --out "$tmp" <"$tmp/site.in" >/dev/null &
site_pid=$!
exec 3>"$tmp/site.in"
for _ in $(seq 600); do [[ -f $tmp/site.env ]] && break; sleep 0.1; done
[[ -f $tmp/site.env ]] || { echo "the site did not come up" >&2; exit 1; }
# shellcheck disable=SC1091
source "$tmp/site.env"
echo "site: $ENTRIES URLs, $pages pages of ~$page_bytes bytes at $ROOT_URL"

# 1. The server's limit on the same pages.
cat >"$tmp/pages.lua" <<LUA
local i = 0
request = function()
  i = (i + 1) % $pages
  return wrk.format("GET", "/page/" .. i .. ".html")
end
LUA
wrk_rps=$(wrk -t1 -c64 -d10s -s "$tmp/pages.lua" "$ROOT_URL" | awk '/Requests\/sec/ {print $2}')
echo "wrk (1 thread, 64 connections, 10 s): $wrk_rps pages/s"

# 2. Parse-only rates on the same pages.
parse=$("$build/bench/parse_bench" "$WWW/page" "${ROOT_URL%/}")
echo "$parse"
gumbo_rate=$(sed -n 's/.*gumbo_pages_per_cpu_s=\([0-9]*\).*/\1/p' <<<"$parse")
worker_parse_rate=$(sed -n 's/.*worker_parse_pages_per_cpu_s=\([0-9]*\).*/\1/p' <<<"$parse")

# 3. The crawl.
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --logfile "$tmp/redis.log" &
pids+=($!)
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
url="redis://127.0.0.1:$redis_port/0"
# WAIT_REPLICAS=N: N replicas beside it, and the workers' writes that cannot be redone wait for
# them (redis.wait_replicas), to measure what that costs.
wait_replicas=${WAIT_REPLICAS:-0}
for ((r = 0; r < wait_replicas; r++)); do
  replica_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$tmp/replica$r"
  redis-server --port "$replica_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$tmp/replica$r" --logfile "$tmp/replica$r.log" --replicaof 127.0.0.1 "$redis_port" &
  pids+=($!)
done
if ((wait_replicas > 0)); then
  for _ in $(seq 100); do
    [[ $(redis-cli -p "$redis_port" INFO replication | tr -d '\r' | grep -c 'state=online') -ge $wait_replicas ]] && break
    sleep 0.1
  done
  echo "replicas: $wait_replicas in sync; the workers WAIT for $wait_replicas"
fi
cat >"$tmp/worker.yaml" <<YAML
redis:
  url: $url
  wait_replicas: $wait_replicas
worker:
  concurrency: $concurrency
  parse_threads: $parse_threads
  timeout: 5s
  connect_timeout: 2s
  low_speed_bytes: 100
  low_speed_time: 3s
YAML
# (Only then: a build from before WARC output knows no such key.)
[[ ${JOB_FLAGS:-} == *--warc* ]] && echo "  warc_dir: $tmp/warc" >>"$tmp/worker.yaml"
redis_before=$(awk '{print $14 + $15}' "/proc/$redis_pid/stat")
redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
nginx_before=$(cpu_ticks "$NGINX_PID")
${WORKER_WRAPPER:-} "$build/apps/crawlworker/crawlworker" --config "$tmp/worker.yaml" --id bench/1 \
  2>"$tmp/worker.log" &
worker_pid=$!
pids+=($worker_pid)
sleep 0.5
start=$(date +%s.%N)
# Politeness off: this is a site we run (a build from before the per-site frontier has no flags).
fast=(--delay 0 --host-concurrency "$concurrency")
"$build/apps/crawlctl/crawlctl" submit --help | grep -q -- --host-concurrency || fast=()
read -ra job_flags <<<"${JOB_FLAGS:-}"
job=$("$build/apps/crawlctl/crawlctl" submit "$ROOT_URL" --redis "$url" --retries 0 --quiet "${fast[@]}" "${job_flags[@]}")
[[ -n $job ]] || { echo "submit failed" >&2; exit 1; }
finished() { python3 -c 'import json,sys; print(json.load(sys.stdin).get("finished"))'; }
used_memory() { redis-cli -p "$redis_port" INFO memory | tr -d '\r' | sed -n 's/^used_memory://p'; }
# What an operator runs beside a crawl: crawlctl wait, which drains the job's records home as it
# waits (a build from before records left Redis has no --records-dir: it only waits there).
records_dir=(--records-dir "$tmp/records")
"$build/apps/crawlctl/crawlctl" wait --help | grep -q -- --records-dir || records_dir=()
"$build/apps/crawlctl/crawlctl" wait "$job" --redis "$url" --quiet "${records_dir[@]}" &
wait_pid=$!
pids+=($wait_pid)
# Redis's memory from the 300th page recorded to the end: what each recorded page leaves there
# (the counter read straight from Redis, every 10 ms, to catch the 300th page; at most 10 s).
mem_from_done=0
mem_from=0
for _ in $(seq 1000); do
  d=$(redis-cli -p "$redis_port" HGET "crawl:job:$job:stats" done) || d=0
  if ((${d:-0} >= 300)); then mem_from_done=$d; mem_from=$(used_memory); break; fi
  sleep 0.01
done
((mem_from_done > 0)) || echo "Redis memory: the 300th page was not recorded within 10 s; not measured"
deadline=$(( $(date +%s) + 600 ))
# The most tasks the worker held at once (claimed, waiting, fetching or parsing) and the most
# transfers libcurl ran at once, as its heartbeats report them.
peak_tasks=0
peak_transfers=0
while true; do
  # status exits non-zero to flag problems (failed URLs: 8); the JSON is what is read here.
  status=$("$build/apps/crawlctl/crawlctl" status "$job" --redis "$url" --json) || true
  [[ $(finished <<<"$status") == True ]] && break
  # The heartbeat is a value of name=value lines (a hash in builds before 2026-12-06).
  if [[ $(redis-cli -p "$redis_port" TYPE crawl:worker:bench/1) == hash ]]; then
    read -r tasks transfers < <(redis-cli -p "$redis_port" HMGET crawl:worker:bench/1 in_flight transfers | paste -sd ' ')
  else
    read -r tasks transfers < <(redis-cli -p "$redis_port" GET crawl:worker:bench/1 |
                                  awk -F= '$1 == "in_flight" {t = $2} $1 == "transfers" {x = $2} END {print t + 0, x + 0}')
  fi
  (( ${tasks:-0} > peak_tasks )) && peak_tasks=$tasks
  (( ${transfers:-0} > peak_transfers )) && peak_transfers=$transfers
  (( $(date +%s) < deadline )) || { echo "crawl did not finish in 600 s" >&2; exit 1; }
  sleep 0.2
done
end=$(date +%s.%N)
# The last of the records drained (when it drains), then what Redis holds.
wait "$wait_pid" || echo "crawlctl wait exited $?: its records may not all be drained" >&2
kept=()
for p in "${pids[@]}"; do [[ $p == "$wait_pid" ]] || kept+=("$p"); done
pids=("${kept[@]}")
mem_to=$(used_memory)
left=$(redis-cli -p "$redis_port" XLEN "crawl:job:$job:records") || left=?
[[ $left == 0 ]] || echo "records left in Redis after the crawl: $left"

redis_cpu=$(( $(awk '{print $14 + $15}' "/proc/$redis_pid/stat") - redis_before ))
nginx_cpu=$(( $(cpu_ticks "$NGINX_PID") - nginx_before ))
read -r user_ticks sys_ticks < <(awk '{print $14, $15}' "/proc/$worker_pid/stat")
user=$(python3 -c "print($user_ticks / $hz)")
sys=$(python3 -c "print($sys_ticks / $hz)")
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$worker_pid/status")
kill -TERM "$worker_pid"
wait "$worker_pid" || true
if [[ -d $tmp/warc ]]; then
  echo "WARC files: $(find "$tmp/warc" -name '*.warc.gz' | wc -l), $(du -sb "$tmp/warc" | cut -f1) bytes"
fi
done_pages=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["done"])' <<<"$status")
# Where Redis's time went, by command (a script's calls are its EVALSHA's), per page recorded.
redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' |
  awk -F'[:,=]' -v pages="$((done_pages > 0 ? done_pages : 1))" '/^cmdstat_/ {
      sub("cmdstat_", "", $1); printf "%s %d %.1f\n", $1, $3, $5 / pages }' |
  sort -k3 -nr | head -n 8 |
  awk '{printf "%s%s: %s calls, %s us/page", (NR > 1 ? "; " : "Redis time by command: "), $1, $2, $3} END {print ""}'
if ((mem_from_done > 0 && done_pages > mem_from_done)); then
  echo "Redis memory from page $mem_from_done to page $done_pages: $mem_from -> $mem_to bytes =" \
    "$(( (mem_to - mem_from) / (done_pages - mem_from_done) )) bytes per page recorded"
fi

# 4. Scrapy on the same site, if Debian's python3-scrapy is installed: CPU per 1,000 pages.
scrapy_line="Scrapy: not installed (apt-get install python3-scrapy)"
if /usr/bin/python3 -c 'import scrapy' 2>/dev/null; then
  scrapy_pages=${SCRAPY_PAGES:-3000}
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/scrapy.time" /usr/bin/python3 bench/scrapy_site.py \
    "$ROOT_URL" "$scrapy_pages" "$tmp/scrapy.jsonl" 2>"$tmp/scrapy.log"
  read -r s_wall s_user s_sys s_rss <"$tmp/scrapy.time"
  s_items=$(wc -l <"$tmp/scrapy.jsonl")
  scrapy_line=$(python3 -c "w,u,s,r,n=$s_wall,$s_user,$s_sys,$s_rss,$s_items; print(f'Scrapy: {n} pages in {w:.1f} s = {n/w:.0f} pages/s; {(u+s)/n*1000:.2f} CPU-s per 1,000 pages; peak RSS {r/1024:.0f} MB')")
fi
echo "$scrapy_line"

python3 - "$done_pages" "$start" "$end" "$user" "$sys" "$rss_kb" "$wrk_rps" "$gumbo_rate" \
  "$worker_parse_rate" "$redis_cpu" "$nginx_cpu" "$hz" "$concurrency" "$parse_threads" \
  "$peak_tasks" "$peak_transfers" <<'PY'
import sys
pages, start, end, user, sys_, rss, wrk, gumbo, wparse, rcpu, ncpu, hz, conc, threads, ptasks, ptransfers = sys.argv[1:]
pages = int(pages); wall = float(end) - float(start); cpu = float(user) + float(sys_)
gumbo = float(gumbo); wparse = float(wparse); hz = float(hz)
print(f"crawl: {pages} pages in {wall:.2f} s = {pages / wall:.0f} pages/s "
      f"(concurrency {conc}, {threads} parse threads)")
print(f"worker CPU: {cpu:.2f} s = {cpu / pages * 1000:.3f} CPU-s per 1,000 pages; peak RSS {int(rss) / 1024:.1f} MB")
print(f"peak tasks held: {ptasks}; peak transfers in libcurl: {ptransfers} (sampled every ~0.2 s)")
print(f"Gumbo alone: {1000 / gumbo:.3f} CPU-s per 1,000 pages; worker parse step: {1000 / wparse:.3f}")
print(f"crawl rate per worker CPU-second / Gumbo's parse-only rate: {pages / cpu / gumbo * 100:.0f}%; "
      f"/ the worker's own parse step: {pages / cpu / wparse * 100:.0f}%")
print(f"redis-server CPU: {float(rcpu) / hz:.2f} s; nginx CPU: {float(ncpu) / hz:.2f} s; "
      f"server limit (wrk): {float(wrk):.0f} pages/s")
PY
