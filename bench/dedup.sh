#!/usr/bin/env bash
# Dedup memory and submit speed at N URLs (default 1,000,000), in one run:
#   - Redis memory per seen URL: INFO used_memory before and after `crawlctl submit`, with the
#     frontier (the site queues and their indexes) deleted before the second reading;
#   - `crawlctl submit` of the N URLs against `redis-cli --pipe` loading the same N frontier
#     entries (LPUSH into their site queues) into an empty server.
# Usage: bench/dedup.sh [N] [SITES] (default 1,000 sites). Needs a build (scripts/build.sh); starts its own redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
sites=${2:-1000}
build=${BUILD:-build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crawl-dedup.XXXXXX")
redis_pid=
cleanup() {
  [[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  --logfile "$tmp/redis.log" &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
cli() { redis-cli -p "$port" "$@"; }
used() { cli info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }

# N distinct URLs on SITES hosts, and the same as RESP LPUSH commands of frontier entries.
python3 - "$n" "$tmp" "$sites" <<'PY'
import sys
n, tmp, sites = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with open(f"{tmp}/urls.txt", "w") as urls, open(f"{tmp}/pipe.resp", "w") as pipe:
    for i in range(n):
        u = f"http://host{i % sites}.example.org/section/{i // sites}/page-{i}.html"
        urls.write(u + "\n")
        e = f"1 0 0 {u}"
        q = f"crawl:q:1:http://host{i % sites}.example.org"
        pipe.write(f"*3\r\n$5\r\nLPUSH\r\n${len(q)}\r\n{q}\r\n${len(e)}\r\n{e}\r\n")
PY

url="redis://127.0.0.1:$port/0"
before=$(used)
t0=$(date +%s.%N)
"$build/apps/crawlctl/crawlctl" submit -f "$tmp/urls.txt" --redis "$url" --quiet >/dev/null
t1=$(date +%s.%N)
after=$(used)
queued() { cli --scan --pattern 'crawl:q:1:*' | sed 's/^/LLEN /' | cli | awk '{s += $1} END {print s + 0}'; }
queued=$(queued)
site_count=$(cli zcard crawl:sites:1)
seeds_bytes=$(cli memory usage crawl:job:1:seeds samples 0)  # the job's scope: its seeds' hosts
cli --scan --pattern 'crawl:q:1:*' | xargs -r -n 500 redis-cli -p "$port" del >/dev/null
cli del crawl:sites:1 crawl:sched:1 crawl:due >/dev/null
without_frontier=$(used)
buckets=$(cli --scan --pattern 'crawl:job:1:seen:*' | wc -l)

cli flushall >/dev/null
t2=$(date +%s.%N)
cli --pipe <"$tmp/pipe.resp" >/dev/null
t3=$(date +%s.%N)
piped=$(queued)

python3 - "$n" "$before" "$after" "$without_frontier" "$queued" "$buckets" "$t0" "$t1" "$t2" "$t3" "$piped" "$site_count" "$seeds_bytes" <<'PY'
import sys
n, before, after, nofront, queued, buckets, t0, t1, t2, t3, piped, site_count, seeds = sys.argv[1:]
n = int(n); before, after, nofront = int(before), int(after), int(nofront)
submit, pipe = float(t1) - float(t0), float(t3) - float(t2)
print(f"urls={n} queued={queued} seen_buckets={buckets}")
print(f"redis memory per seen URL (dedup, job and counters): {(nofront - before - int(seeds)) / n:.2f} bytes; "
      f"the job's seed hosts (its scope): {int(seeds) / 2**20:.1f} MiB")
print(f"redis memory per queued entry (site queues and their indexes, {site_count} sites): "
      f"{(after - nofront) / n:.2f} bytes; the frontier in all: {(after - nofront) / 2**20:.1f} MiB")
print(f"crawlctl submit: {submit:.2f} s ({n / submit:,.0f} URLs/s)")
print(f"redis-cli --pipe of the same {piped} entries: {pipe:.2f} s; submit / pipe = {submit / pipe:.2f}")
PY
