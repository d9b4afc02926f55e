#!/usr/bin/env bash
# quickstart.sh: a distributed crawl on this machine, in one command.
#
#   scripts/quickstart.sh [options] [URL...]
#
# Installs what is missing and builds crawlctl and crawlworker (scripts/build.sh), starts a private redis-server (AOF on)
# unless $CRAWL_REDIS_URL names one, deploys crawl workers to this machine with `crawlctl
# deploy` (the local transport, or SSH to localhost with --ssh), submits the URLs given (by
# default a demo site that this script generates and serves on 127.0.0.1, so no internet is
# needed), follows `crawlctl status` until the job finishes, saves the results and the workers'
# logs, and prints a summary. Then it stops what it started, unless --keep-running.
#
# Options:
#   --workers N       crawl workers to deploy (default 2)
#   --ssh             deploy over SSH to localhost (your SSH keys or agent) instead of locally
#   --depth N         links to follow from each URL given (default 2; the demo site: all)
#   --max-pages N     stop admitting URLs after N (default 500 for URLs given; demo: no limit)
#   --timeout T       give up waiting for the job after T (default 1h; e.g. 90s, 30m)
#   --keep-running    leave Redis, the demo site and the workers running afterwards, and start
#                     crawlctl serve: the dashboard and the HTTP API (its address is printed)
#   --stop            stop what an earlier --keep-running run left, and exit
#   --no-build        use the binaries already in the build directory
#   --build-dir DIR   where the binaries are built (default build)
#   --dir DIR         state: hosts.yaml, Redis data, demo site, results, logs
#                     (default $CRAWL_QUICKSTART_DIR, else build/quickstart)
# Running it again is fine: the build, the deploy and Redis pick up where they were, and each
# run is a new job with its own results file.
set -euo pipefail
here=$PWD
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$self")/.."
repo=$PWD

workers=2 use_ssh=0 depth="" max_pages="" timeout=1h keep=0 stop_only=0 build=1
build_dir=$repo/build
dir=${CRAWL_QUICKSTART_DIR:-$repo/build/quickstart}
urls=()
usage() { sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "quickstart: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --workers) workers=${2:?}; shift 2 ;;
    --ssh) use_ssh=1; shift ;;
    --depth) depth=${2:?}; shift 2 ;;
    --max-pages) max_pages=${2:?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --keep-running) keep=1; shift ;;
    --stop) stop_only=1; shift ;;
    --no-build) build=0; shift ;;
    --build-dir) build_dir=${2:?}; shift 2 ;;
    --dir) dir=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) urls+=("$1"); shift ;;
  esac
done
[[ $workers =~ ^[1-9][0-9]*$ ]] || die "--workers: a positive number, not '$workers'"
# Relative paths are the caller's, as with any command.
[[ $dir == /* ]] || dir=$here/$dir
[[ $build_dir == /* ]] || build_dir=$here/$build_dir
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)  # as /proc/PID/cwd shows it
crawlctl=$build_dir/apps/crawlctl/crawlctl
worker_bin=$build_dir/apps/crawlworker/crawlworker
hosts=$dir/hosts.yaml
say() { printf '\n== %s\n' "$*"; }

# ---- services this script owns: their pids are in $dir/*.pid --------------------------------

alive() {  # alive PIDFILE DIR: the pid in PIDFILE runs, and works in DIR (so it is ours, not
           # a system service that took the pid of one that died with the machine)
  local pid state
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z && $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$2" ]]
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {  # free_port FROM: the first port from FROM up that nothing listens on
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}
stop_pid() {  # stop_pid PIDFILE DIR: SIGTERM, up to 10 s to exit, then SIGKILL
  local pid i
  if alive "$1" "$2"; then
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$1" "$2" || break; sleep 0.1; done
    if alive "$1" "$2"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$1"
}
stop_workers() {
  [[ -f $hosts && -x $crawlctl ]] || return 0
  "$crawlctl" stop -H "$hosts" --grace 10s >/dev/null 2>&1 ||
    echo "quickstart: crawlctl stop failed; see crawlctl status -H $hosts" >&2
}
stop_site() { stop_pid "$dir/site/nginx.pid" "$dir/site"; }
stop_redis() { stop_pid "$dir/redis/redis.pid" "$dir/redis"; }
stop_serve() { stop_pid "$dir/serve/serve.pid" "$dir/serve"; }

if [[ $stop_only == 1 ]]; then
  stop_serve
  stop_workers
  stop_site
  stop_redis
  echo "quickstart: stopped the dashboard, the workers, the demo site and Redis of $dir"
  exit 0
fi

# ---- 1. install and build --------------------------------------------------------------------

if [[ $build == 1 ]]; then
  # Only the two programs the demo runs (the tests and benchmarks are scripts/test.sh's).
  say "Installing what is missing and building crawlctl and crawlworker (scripts/build.sh)"
  if [[ $build_dir == "$repo/build" ]]; then scripts/build.sh crawlctl crawlworker; else
    die "--build-dir works with --no-build only (scripts/build.sh builds into build/)"; fi
fi
[[ -x $crawlctl && -x $worker_bin ]] || die "no crawlctl/crawlworker in $build_dir (build first)"
if [[ $use_ssh == 1 ]] && port_free 22; then
  die "--ssh: nothing listens on 127.0.0.1:22. Start an SSH server that accepts your key
  (Debian: apt-get install openssh-server && systemctl start ssh), or leave out --ssh."
fi

# What this run uses (started, or found running from an earlier --keep-running run): stopped
# at the end, on an error and on Ctrl-C, unless --keep-running.
uses_redis=0 uses_site=0 deployed=0 watcher=""
stop_ours() {
  local stopped=()
  if [[ $deployed == 1 ]]; then stop_workers; stopped+=("the workers"); deployed=0; fi
  if [[ $uses_site == 1 ]]; then stop_site; stopped+=("the demo site"); uses_site=0; fi
  if [[ $uses_redis == 1 ]]; then stop_redis; stopped+=("Redis"); uses_redis=0; fi
  local n=${#stopped[@]} list
  ((n > 0)) || return 0
  list=${stopped[0]}
  for ((i = 1; i < n; i++)); do list+=$([[ $i == $((n - 1)) ]] && echo " and " || echo ", ")${stopped[$i]}; done
  echo "quickstart: stopped $list (--keep-running leaves them up)"
}
finish() {
  local rc=$?
  trap '' INT TERM  # a second Ctrl-C must not cut the clean-up short
  [[ -n $watcher ]] && kill "$watcher" 2>/dev/null
  if [[ $keep == 0 ]]; then stop_ours; fi
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM
redact() { sed -E 's#//[^@/]*@#//***@#' <<<"$1"; }  # a password in a Redis URL is not printed

# ---- 2. Redis ----------------------------------------------------------------------------------

if [[ -n ${CRAWL_REDIS_URL:-} ]]; then
  redis_url=$CRAWL_REDIS_URL
  say "Redis: $(redact "$redis_url") (from \$CRAWL_REDIS_URL)"
elif alive "$dir/redis/redis.pid" "$dir/redis"; then
  uses_redis=1
  redis_url=$(cat "$dir/redis/url")
  say "Redis: $redis_url (already running, pid $(cat "$dir/redis/redis.pid"))"
else
  mkdir -p "$dir/redis"
  port=$(free_port 6390)
  redis_url="redis://127.0.0.1:$port/0"
  # AOF on: the jobs and results of earlier runs are still there when it starts again.
  cat >"$dir/redis/redis.conf" <<EOF
bind 127.0.0.1
port $port
dir $dir/redis
pidfile $dir/redis/redis.pid
logfile $dir/redis/redis.log
daemonize yes
appendonly yes
appendfsync everysec
save ""
EOF
  redis-server "$dir/redis/redis.conf"
  uses_redis=1
  for ((i = 0; i < 100; i++)); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  redis-cli -p "$port" ping 2>/dev/null | grep -q PONG ||
    { cat "$dir/redis/redis.log" >&2; die "redis-server did not answer on port $port"; }
  echo "$redis_url" >"$dir/redis/url"
  say "Redis: $redis_url (started, pid $(cat "$dir/redis/redis.pid"), data in $dir/redis)"
fi

# ---- 3. the demo site --------------------------------------------------------------------------

# A field guide to 120 birds: list pages, a page per bird with its pictures, links between
# them, and the things a crawler meets on real sites: an off-site link, a page robots.txt
# forbids, a broken link. Deterministic: every run generates the same site.
generate_site() {
  local www=$1 i j n=120 per=12 pages
  pages=$(( (n + per - 1) / per ))
  rm -rf "$www"
  mkdir -p "$www/birds" "$www/img" "$www/drafts"
  printf 'User-agent: *\nDisallow: /drafts/\n' >"$www/robots.txt"
  {
    echo '<!doctype html><html><head><title>Demo field guide</title></head><body>'
    echo '<h1>Demo field guide</h1><img src="/img/logo.svg" alt="logo">'
    echo '<p><a href="/birds/page-1.html">All birds</a> | <a href="about.html">About</a>'
    echo ' | <a href="/drafts/next-edition.html">Next edition</a> | <a href="/lost.html">Lost page</a>'
    echo ' | <a href="https://example.org/birding">Elsewhere</a></p></body></html>'
  } >"$www/index.html"
  printf '<!doctype html><title>About this guide</title><p>Generated by scripts/quickstart.sh. <a href="/">Home</a>\n' \
    >"$www/about.html"
  printf '<!doctype html><title>Draft</title><p>Not for crawlers.\n' >"$www/drafts/next-edition.html"
  printf '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="30"/></svg>\n' \
    >"$www/img/logo.svg"
  for ((p = 1; p <= pages; p++)); do
    {
      echo "<!doctype html><html><head><title>Birds, page $p of $pages</title></head><body><ul>"
      for ((i = (p - 1) * per + 1; i <= p * per && i <= n; i++)); do
        printf '<li><a href="bird-%03d.html">Bird %d</a> <img src="../img/thumb-%03d.svg" alt=""></li>\n' "$i" "$i" "$i"
      done
      echo '</ul>'
      ((p > 1)) && echo "<a rel=\"prev\" href=\"page-$((p - 1)).html\">previous</a>"
      ((p < pages)) && echo "<a rel=\"next\" href=\"page-$((p + 1)).html\">next</a>"
      echo '<a href="/">home</a></body></html>'
    } >"$www/birds/page-$p.html"
  done
  for ((i = 1; i <= n; i++)); do
    {
      printf '<!doctype html><html><head><title>Bird %d</title></head><body><h1>Bird %d</h1>\n' "$i" "$i"
      printf '<img src="/img/bird-%03d.svg" alt="Bird %d" srcset="/img/bird-%03d.svg 1x, /img/bird-%03d-large.svg 2x">\n' \
        "$i" "$i" "$i" "$i"
      printf '<p>Seen with: '
      for j in $(( (i * 7) % n + 1 )) $(( (i * 13) % n + 1 )) $(( (i * 29) % n + 1 )); do
        printf '<a href="bird-%03d.html#seen">Bird %d</a> ' "$j" "$j"
      done
      printf '</p><p><a href="page-%d.html">back to the list</a></p></body></html>\n' $(( (i - 1) / per + 1 ))
    } >"$www/birds/bird-$(printf %03d "$i").html"
    for j in "bird-$(printf %03d "$i")" "bird-$(printf %03d "$i")-large" "thumb-$(printf %03d "$i")"; do
      printf '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><text y="40">%d</text></svg>\n' "$i" \
        >"$www/img/$j.svg"
    done
  done
}

if [[ ${#urls[@]} -eq 0 ]]; then
  if alive "$dir/site/nginx.pid" "$dir/site"; then
    uses_site=1
    site_url=$(cat "$dir/site/url")
    say "Demo site: $site_url (already running)"
  else
    mkdir -p "$dir/site/tmp"
    generate_site "$dir/site/www"
    port=$(free_port 8390)
    site_url="http://127.0.0.1:$port/"
    {
      [[ $(id -u) == 0 ]] && echo 'user root;'  # nginx's workers must read $dir
      echo "worker_processes 1;"
      echo "pid $dir/site/nginx.pid;"
      echo "error_log $dir/site/error.log warn;"
      echo "events { worker_connections 256; }"
      echo "http {"
      echo "  access_log off;"
      echo "  types { text/html html; image/svg+xml svg; text/plain txt; }"
      for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $dir/site/tmp/$t;"; done
      echo "  server { listen 127.0.0.1:$port; root $dir/site/www; index index.html; }"
      echo "}"
    } >"$dir/site/nginx.conf"
    (cd "$dir/site" && /usr/sbin/nginx -c "$dir/site/nginx.conf" -p "$dir/site" -e "$dir/site/error.log")
    uses_site=1
    for ((i = 0; i < 100; i++)); do
      curl -sf -o /dev/null "${site_url}robots.txt" && break
      sleep 0.1
    done
    curl -sf -o /dev/null "${site_url}robots.txt" ||
      { cat "$dir/site/error.log" >&2; die "the demo site did not answer at $site_url"; }
    echo "$site_url" >"$dir/site/url"
    say "Demo site: $site_url (nginx pid $(cat "$dir/site/nginx.pid"), files in $dir/site/www)"
  fi
  urls=("$site_url")
  depth=${depth:-50}
  max_pages=${max_pages:-0}
  # The demo site is ours, on this machine: no need to spare it. Sites of others get the polite
  # defaults (one request at a time per site, at least a second apart).
  polite=(--delay 0 --host-concurrency 8)
else
  depth=${depth:-2}
  max_pages=${max_pages:-500}
  polite=()
fi

# ---- 4. deploy -------------------------------------------------------------------------------

if [[ $use_ssh == 1 ]]; then
  host_entry="  localhost:
    address: 127.0.0.1
    transport: ssh"
else
  host_entry="  localhost:
    transport: local"
fi
# Mode 0600: it may hold a password from $CRAWL_REDIS_URL.
(umask 077 && rm -f "$hosts" && cat >"$hosts") <<EOF
# Written by scripts/quickstart.sh: this machine as a one-host fleet. docs/hosts-file.md
# describes every key; docs/fleet.hosts.yaml is a commented example for real machines.
redis:
  url: $redis_url
  key_prefix: quickstart
worker:
  concurrency: 16
  timeout: 10s
  heartbeat_interval: 1s
  heartbeat_ttl: 5s
  stats_interval: 10s
defaults:
  workers: $workers
  remote_dir: $dir/fleet
hosts:
$host_entry
EOF
ctl() { "$crawlctl" "$1" -H "$hosts" "${@:2}"; }
# The jobs' records, drained out of Redis by wait, results and serve, are kept in $dir too.
export CRAWL_RECORDS_DIR=${CRAWL_RECORDS_DIR:-$dir/records}
say "Deploying $workers workers: crawlctl deploy -H $hosts"
deployed=1
ctl deploy || die "deploy failed (see above)"

# ---- 5. submit, follow, collect ----------------------------------------------------------------

# With --keep-running, the dashboard and the HTTP API (crawlctl serve) on loopback, from now on:
# the job can be watched there while it runs.
serve_url=""
if [[ $keep == 1 ]]; then
  mkdir -p "$dir/serve"
  if alive "$dir/serve/serve.pid" "$dir/serve"; then
    serve_url=$(cat "$dir/serve/url")
    say "Dashboard: $serve_url (already running)"
  else
    serve_port=$(free_port 8080)
    serve_url="http://127.0.0.1:$serve_port/"
    (cd "$dir/serve" && exec setsid "$crawlctl" serve --listen "127.0.0.1:$serve_port" -H "$hosts" \
       </dev/null >serve.log 2>&1 & echo $! >"$dir/serve/serve.pid")
    for ((i = 0; i < 50; i++)); do grep -q "listening on" "$dir/serve/serve.log" 2>/dev/null && break; sleep 0.1; done
    grep -q "listening on" "$dir/serve/serve.log" ||
      { cat "$dir/serve/serve.log" >&2; die "crawlctl serve did not start"; }
    echo "$serve_url" >"$dir/serve/url"
    say "Dashboard and HTTP API: $serve_url (crawlctl serve, log in $dir/serve/serve.log)"
  fi
fi

say "Submitting ${urls[*]}"
job=$(ctl submit --quiet --depth "$depth" --max-pages "$max_pages" "${polite[@]}" "${urls[@]}")
echo "job $job"
say "Following the crawl: crawlctl status $job --watch"
# status --watch draws the progress and ends by itself when the job does; wait bounds it.
"$crawlctl" status -H "$hosts" "$job" --watch --interval 1s &
watcher=$!
rc=0
ctl wait "$job" --timeout "$timeout" --quiet || rc=$?
for ((i = 0; i < 30; i++)); do kill -0 "$watcher" 2>/dev/null || break; sleep 0.1; done
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true  # its exit code reports failed URLs (8), not an error
watcher=""
case $rc in
  0) ;;
  124) die "job $job has not finished after $timeout (crawlctl status $job -H $hosts shows why)" ;;
  *) die "job $job did not finish (crawlctl wait exited $rc)" ;;
esac

results=$dir/results
mkdir -p "$results"
ctl results "$job" >"$results/job-$job.jsonl"
ctl results "$job" --format json >"$results/job-$job.images.json"
ctl logs --outdir "$dir/logs" >/dev/null || echo "quickstart: crawlctl logs failed (see above)" >&2
say "Job $job finished"
ctl results "$job" --format summary
cat <<EOF

Results:
  $results/job-$job.jsonl         one JSON record per URL (status, title, links, images)
  $results/job-$job.images.json   {page URL: [image URLs]}
  $dir/logs/                      the workers' logs, brought home by crawlctl logs --outdir
EOF

if [[ $keep == 1 ]]; then
  cat <<EOF

The dashboard: $serve_url
To run the README's tour as written (its commands find the fleet through \$CRAWL_HOSTS):
  export PATH=$build_dir/apps/crawlctl:$build_dir/apps/crawlworker:\$PATH
  export CRAWL_HOSTS=$hosts
  crawlctl status $job
  crawlctl results $job --outcome failed
  curl -s ${serve_url}jobs/$job
EOF
  left="the dashboard ($serve_url), $workers workers"
  [[ $uses_redis == 1 ]] && left+=", Redis ($redis_url)"
  [[ $uses_site == 1 ]] && left+=", the demo site ($site_url)"
  stop_cmd="scripts/quickstart.sh --stop"
  [[ $dir != "$repo/build/quickstart" ]] && stop_cmd+=" --dir $dir"
  printf '\nLeft running, as asked: %s.\nStop them with:\n  %s\n' "$left" "$stop_cmd"
else
  echo
  stop_ours
  echo "quickstart: run it with --keep-running to keep the fleet up, with the dashboard, to look around"
fi
