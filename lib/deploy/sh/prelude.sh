# prelude.sh: shell functions the deploy's remote steps start with (activate, stop), written
# with builtins only: a fork costs a millisecond or two, and fifty hosts sharing two cores feel
# each one. `alive F` is true when the pid in file F is a running crawlworker (a zombie or a
# recycled pid is not); it leaves the pid in $p. `stop_workers I...` sends SIGTERM to those
# workers, waits up to $grace tenths of a second for them to drain, then SIGKILLs the rest.
# `indices` leaves the indices of the workers with a pid file in $found.
# crawlctl sets: grace
trap '' PIPE  # if crawlctl goes away mid-step, finish the step rather than die half-way
alive() {
  read -r p 2>/dev/null < "$1" || return 1
  case $p in ''|*[!0-9]*) return 1 ;; esac
  read -r st 2>/dev/null < "/proc/$p/stat" || return 1
  st=${st##*) }
  case $st in Z*|X*) return 1 ;; esac
  read -r c 2>/dev/null < "/proc/$p/comm" && [ "$c" = crawlworker ]
}
stop_workers() {
  pids=""
  for i in "$@"; do
    if alive "run/w$i.pid"; then
      kill -TERM "$p" 2>/dev/null; pids="$pids $i:$p"
    else
      rm -f "run/w$i.pid" "run/w$i.sock"
    fi
  done
  t=0
  while [ -n "$pids" ] && [ "$t" -lt "$grace" ]; do
    still=0
    for e in $pids; do alive "run/w${e%%:*}.pid" && still=1; done
    [ "$still" = 0 ] && break
    sleep 0.1; t=$((t + 1))
  done
  for e in $pids; do
    i=${e%%:*}
    if alive "run/w$i.pid"; then
      kill -KILL "${e#*:}" 2>/dev/null; echo "killed=$i"
      k=0; while alive "run/w$i.pid" && [ "$k" -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
      # Still there (stuck in the kernel): keep its files, so it is not started twice.
      alive "run/w$i.pid" && continue
    else
      echo "stopped=$i"
    fi
    rm -f "run/w$i.pid" "run/w$i.sock"
  done
}
indices() {
  found=""
  for f in run/w*.pid; do [ -e "$f" ] || continue; f=${f#run/w}; found="$found ${f%.pid}"; done
}
