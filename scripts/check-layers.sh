#!/usr/bin/env bash
# Checks the layering docs/architecture.md describes:
# - a module under lib/ includes only itself and the modules its crawl_module() in
#   lib/CMakeLists.txt links, directly or through them, and no module links itself back (no
#   cycle);
# - apps/crawlctl stays a thin layer: no Redis commands, no SSH, SFTP or remote-exec calls, no
#   hashing or ELF parsing (each of those has its home in lib/), and no file of apps/ reaches 250
#   lines.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
say() {
  echo "check-layers: $*" >&2
  status=1
}

# Direct links of each module, from its crawl_module(NAME SOURCES ... DEPS crawl::a crawl::b ...).
declare -A direct
modules=()
while read -r name deps; do
  modules+=("$name")
  direct[$name]=$deps
done < <(awk '
  /^crawl_module\(/ { sub(/^crawl_module\(/, ""); name = $1; deps = ""; open = 1 }
  open { for (i = 1; i <= NF; i++) if ($i ~ /^crawl::/) { d = $i; sub(/^crawl::/, "", d); sub(/\)$/, "", d); deps = deps " " d } }
  open && /\)[[:space:]]*$/ { print name deps; open = 0 }
' lib/CMakeLists.txt)
[[ ${#modules[@]} -gt 0 ]] || { say "no crawl_module() found in lib/CMakeLists.txt"; exit 1; }

# Everything a module reaches through its links.
closure() {
  local seen=" " todo=("$1") m d
  while [[ ${#todo[@]} -gt 0 ]]; do
    m=${todo[0]}
    todo=("${todo[@]:1}")
    for d in ${direct[$m]:-}; do
      case $seen in *" $d "*) ;; *) seen+="$d " todo+=("$d") ;; esac
    done
  done
  echo "$seen"
}

for m in "${modules[@]}"; do
  reach=$(closure "$m")
  case $reach in *" $m "*) say "lib/CMakeLists.txt: module $m links itself back (a cycle:$reach)" ;; esac
  [[ -d lib/$m ]] || continue
  # Each include of another module's header, as file:line:module.
  while IFS=: read -r file line used; do
    [[ $used == "$m" ]] && continue
    case $reach in
      *" $used "*) ;;
      *) say "$file:$line: module $m includes $used/, which it does not link (lib/CMakeLists.txt)" ;;
    esac
  done < <(grep -rnoE '^#include "[a-z_]+/' "lib/$m" | sed -E 's|^([^:]+):([0-9]+):#include "([a-z_]+)/|\1:\2:\3|')
done

# What apps/crawlctl must not do itself: each pattern with the home of what it stands for.
forbidden=(
  'redisCommand|redisAppend|redisGetReply|hiredis|\.redis\(\)|->redis\(\)|\.command\(|\.pipeline\(|"(GET|SET|DEL|EXISTS|EXPIRE|INCR|INCRBY|HGET|HSET|HMGET|HGETALL|HINCRBY|HDEL|SADD|SREM|SMEMBERS|SCARD|ZADD|ZREM|ZRANGE|ZRANGEBYSCORE|ZCARD|LPUSH|RPUSH|LPOP|RPOP|LRANGE|LLEN|XADD|EVAL|EVALSHA|SCRIPT|SCAN|KEYS|INFO|ROLE|WAIT|MULTI|EXEC|SENTINEL)[ "]|lib/queue (Redis)'
  'libssh|ssh_session|ssh_channel|sftp_|\bexec\(|exec_stream\(|->upload\(|\.upload\(|lib/fanout and lib/ssh (remote tasks)'
  'openssl|EVP_|SHA256|sha256_file|Elf64|Elf32|e_machine|elf\.h|lib/deploy (release)'
)
for entry in "${forbidden[@]}"; do
  pattern=${entry%|*}
  home=${entry##*|}
  while IFS= read -r hit; do
    say "$hit: belongs in $home"
  done < <(grep -rnE "$pattern" apps/crawlctl | grep -vE ':[0-9]+:[[:space:]]*(//|")' || true)
done

# Text reaches a terminal in one place (lib/core/output.hpp escapes what a terminal would obey):
# nothing else writes to stdout or stderr.
while IFS= read -r hit; do
  say "$hit: print through lib/core/output.hpp (crawl::print, write_shown, write_control)"
done < <(grep -rnE '\bfmt::print\(|std::(cout|cerr)|\bprintf\(|\b(fprintf|fputs)\(std(out|err)|\bputs\(|\bfwrite\([^;]*std(out|err)' \
           apps lib --include='*.cpp' --include='*.hpp' |
         grep -vE '^lib/core/(output|terminal)\.(cpp|hpp):' | grep -vE ':[0-9]+:[[:space:]]*//' || true)

while read -r lines file; do
  [[ $file == total ]] && continue
  if ((lines >= 250)); then say "$file: $lines lines; a file of apps/ stays under 250 (move logic into lib/)"; fi
done < <(find apps -name '*.cpp' -o -name '*.hpp' | sort | xargs wc -l)

if [[ $status -eq 0 ]]; then
  echo "check-layers: ${#modules[@]} modules include only what they link; apps/crawlctl is thin"
fi
exit "$status"
