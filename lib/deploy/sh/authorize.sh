# authorize.sh: on a host of a `deploy --relay` whose binary differs: adds the deploy's own key to
# ~/.ssh/authorized_keys for one thing only, writing what the group's relay sends into
# bin/.crawlworker.relayed (its forced command, in $key), and only until the deploy's deadline
# (expiry-time, by this host's clock). The activate after it removes the line.
# crawlctl sets: key until
umask 077
# expiry-time in UTC ("Z") where sshd is known to read it (OpenSSH 9.2, whose manual says so, and
# later; sshd -V, or the usage an older one prints, says the version), else in the system's time
# zone, which sshd reads as standard time: an hour late under daylight saving time.
v=$(sshd -V 2>&1 || /usr/sbin/sshd -V 2>&1)
case $v in *OpenSSH_*) v=${v#*OpenSSH_} ;; *) v= ;; esac
major=${v%%.*}
minor=${v#*.}
minor=${minor%%[!0-9]*}
case $major$minor in
  '' | *[!0-9]*) utc= ;;
  *) if [ "$major" -gt 9 ] || { [ "$major" = 9 ] && [ "$minor" -ge 2 ]; }; then utc=1; else utc=; fi ;;
esac
if [ -n "$utc" ]; then exp=$(date -u -d "@$until" +%Y%m%d%H%M%S 2> /dev/null)Z
else exp=$(unset TZ; date -d "@$until" +%Y%m%d%H%M%S 2> /dev/null); fi
case $exp in
  '' | Z | *[!0-9Z]*) echo "date cannot say when the key expires (date -d @SECONDS)" >&2; exit 1 ;;
esac
f=$HOME/.ssh/authorized_keys
[ -d "$HOME/.ssh" ] || mkdir "$HOME/.ssh" || exit 1
# The activate after it writes a new file there to remove the line: it must be able to.
[ -w "$HOME/.ssh" ] || { echo "$HOME/.ssh is not writable" >&2; exit 1; }
if command -v flock > /dev/null 2>&1; then
  command exec 9>> "$HOME/.ssh/.crawlctl.lock" && flock -w 30 9 || exit 1
fi
# A file that does not end with a line break would run the line into its last key.
if [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then echo >> "$f" || exit 1; fi
printf 'expiry-time="%s",%s\n' "$exp" "$key" >> "$f" || exit 1
