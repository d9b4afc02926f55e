# inspect.sh: what runs on the host, for `status --hosts`: a line `now SECONDS`, then for each
# worker with a pid file or a log `worker I PID STATE LOG_BYTES LOG_MTIME` (STATE running,
# exited or none).
# crawlctl sets: d
echo "now $(date +%s)"
cd "$d" 2>/dev/null || exit 0
list=""
for f in run/w*.pid log/w*.log; do
  [ -e "$f" ] || continue
  case $f in log/w*.*.log) continue ;; esac  # rotated logs
  i=${f#*/w}; i=${i%.*}
  case $i in ''|*[!0-9]*) continue ;; esac
  case " $list " in *" $i "*) ;; *) list="$list $i" ;; esac
done
for i in $list; do
  p=0; state=none
  if read -r p 2>/dev/null < "run/w$i.pid"; then
    case $p in ''|*[!0-9]*) p=0 ;; esac
    state=exited
    if [ "$p" != 0 ] && read -r st 2>/dev/null < "/proc/$p/stat"; then
      st=${st##*) }
      case $st in
        Z*|X*) ;;  # dead, not yet reaped by its parent: exited
        *) read -r c 2>/dev/null < "/proc/$p/comm" && [ "$c" = crawlworker ] && state=running ;;
      esac
    fi
  fi
  log=$(stat -c '%s %Y' "log/w$i.log" 2>/dev/null) || log="-1 0"
  echo "worker $i $p $state $log"
done
