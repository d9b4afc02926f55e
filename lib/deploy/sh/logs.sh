# logs.sh: `crawlctl logs` on one host: frames of the workers' log bytes after the cursors
# given on stdin ("I INODE OFFSET" lines), or their last $lines lines (matching $grep), then, with
# $follow, new bytes every $poll seconds and a heartbeat frame every $beats polls. POSIX sh and
# coreutils (stat, dd, head, tail, grep). Every length is in bytes (LC_ALL=C). A file is opened
# once as fd 3 and everything about it (inode, size, bytes) is read through /dev/fd/3, so a
# rotation between two reads cannot mix two files in one frame.
# crawlctl sets: d lines follow poll beats grep
LC_ALL=C; export LC_ALL
nl='
'
cd "$d" 2>/dev/null || { printf '\036E nothing deployed: no %s\n' "$d"; exit 0; }
while read -r i x y; do
  case "$i$x$y" in ''|*[!0-9]*) continue ;; esac
  [ -n "$y" ] || continue
  eval "ino_$i=$x off_$i=$y"
done
# send KIND I FILE FROM: FILE's bytes from offset FROM to its end, as one frame.
# (sh has no local variables: each function's names start with its own letter.)
send() {
  # (`command`: a file rotated away meanwhile fails this call; a failed redirection of a bare
  # exec would end sh.)
  { command exec 3< "$3"; } 2>/dev/null || return 1
  # shellcheck disable=SC2046 # the inode and the size, two words on purpose
  set -- "$1" "$2" "$3" "$4" $(stat -L -c '%i %s' /dev/fd/3)
  s_from=$4
  if [ "$6" -lt "$s_from" ]; then printf '\036G %s\n' "$2"; s_from=0; fi  # truncated
  s_n=$(( $6 - s_from ))
  printf '\036%s %s %s %s %s\n' "$1" "$2" "$5" "$6" "$s_n"
  [ "$s_n" -gt 0 ] && dd if=/dev/fd/3 bs=65536 iflag=skip_bytes,count_bytes skip="$s_from" count="$s_n" status=none
  exec 3<&-
  eval "ino_$2=$5 off_$2=$6"
}
# history I: everything after worker I's cursor, across rotations; without a cursor, the whole
# log, oldest rotated file first.
history() {
  h_i=$1
  eval "h_ino=\${ino_$h_i:-} h_off=\${off_$h_i:-0}"
  h_k=1; h_from=""
  while [ -e "log/w$h_i.$h_k.log" ]; do
    [ -n "$h_ino" ] && [ "$(stat -c %i "log/w$h_i.$h_k.log")" = "$h_ino" ] && { h_from=$h_k; break; }
    h_k=$((h_k + 1))
  done
  if [ -z "$h_from" ]; then
    [ -n "$h_ino" ] && printf '\036G %s\n' "$h_i"
    h_from=$((h_k - 1)); h_off=0
  fi
  while [ "$h_from" -ge 1 ]; do
    send D "$h_i" "log/w$h_i.$h_from.log" "$h_off"
    h_off=0; h_from=$((h_from - 1))
  done
  send D "$h_i" "log/w$h_i.log" 0
}
# last I: worker I's last $lines lines (matching $grep), whole lines only: a line still being
# written is left for later.
last() {
  l_i=$1
  { command exec 3< "log/w$l_i.log"; } 2>/dev/null || return 1
  # shellcheck disable=SC2046 # the inode and the size, two words on purpose
  set -- $(stat -L -c '%i %s' /dev/fd/3)
  l_from=$(( $2 > 65536 ? $2 - 65536 : 0 ))
  l_t=$(dd if=/dev/fd/3 bs=65536 iflag=skip_bytes,count_bytes skip="$l_from" count=$(( $2 - l_from )) status=none; echo .)
  l_t=${l_t%.}
  # $l_t: the bytes after the last newline (a line longer than 64 kB counts as whole)
  case $l_t in *"$nl"*) l_t=${l_t##*"$nl"} ;; *) [ "$l_from" -gt 0 ] && l_t="" ;; esac
  l_end=$(( $2 - ${#l_t} ))
  if [ -n "$grep" ]; then
    l_k=1; l_old=""
    while [ -e "log/w$l_i.$l_k.log" ]; do l_old="log/w$l_i.$l_k.log $l_old"; l_k=$((l_k + 1)); done
    # shellcheck disable=SC2086 # $l_old: a list of rotated logs, log/wI.K.log, split on purpose
    l_body=$( { [ -z "$l_old" ] || cat $l_old; head -c "$l_end" /dev/fd/3; } | grep -E -e "$grep" | tail -n "$lines"; echo .)
  else
    l_body=$( { [ -e "log/w$l_i.1.log" ] && tail -n "$lines" "log/w$l_i.1.log"; head -c "$l_end" /dev/fd/3 | tail -n "$lines"; } | tail -n "$lines"; echo .)
  fi
  l_body=${l_body%.}
  exec 3<&-
  printf '\036T %s %s %s %s\n%s' "$l_i" "$1" "$l_end" "${#l_body}" "$l_body"
  eval "ino_$l_i=$1 off_$l_i=$l_end"
}
# One look at every worker's log: new bytes since its cursor, or (first sight) its tail.
tick() {
  t_logs=$(stat -c '%n %i %s' log/w[0-9]*.log 2>/dev/null)
  while read -r t_f t_ino t_size; do
    t_i=${t_f#log/w}; t_i=${t_i%.log}
    case $t_i in ''|*[!0-9]*) continue ;; esac  # a rotated file
    t_cino="" t_coff=""
    eval "t_cino=\${ino_$t_i:-} t_coff=\${off_$t_i:-}"
    if [ -z "$t_cino" ]; then
      if [ "$lines" -ge 0 ]; then last "$t_i"; else history "$t_i"; fi
    elif [ "$t_cino" != "$t_ino" ]; then
      history "$t_i"
    elif [ "$t_size" != "$t_coff" ]; then
      send D "$t_i" "$t_f" "$t_coff"
    fi
  done <<EOF
$t_logs
EOF
}
tick
[ "$follow" = 1 ] || exit 0
printf '\036H\n'  # the first pass is complete
lines=-1  # a worker that appears from now on is sent whole
beat=0
while :; do
  sleep "$poll"
  tick
  beat=$((beat + 1))
  if [ "$beat" -ge "$beats" ]; then printf '\036H\n'; beat=0; fi
done
