# activate.sh: a host's deploy step: probe, write the worker config (stdin), receive the binary
# when it follows the config on stdin (gzip-compressed; clen is the config's length), install a
# new binary if its checksum is right and it runs here, stop what changed and start the workers
# that are not running, each under dtach.
# With relayed set, the binary is the one the group's relay left in bin/.crawlworker.relayed;
# with revoke set (deploy --relay), this host's relay key (tagged so) and those of other deploys
# (run is this deploy's tags' start) leave ~/.ssh/authorized_keys first.
# crawlctl sets: d n host sha want clen new changed grace deploy relayed revoke run
# after: prelude.sh
# Prints key=value lines (os, arch, missing, sha256, kept, stopped, killed, started); exits 10
# when the host is not ready for the release, 3 when the binary sent did not arrive whole (cut
# short, not gzip, or another sha256), 4 or 7 for a binary that does not run here, 5 when dtach
# could not start a worker.
# `revoke_key TAG RUN` removes from ~/.ssh/authorized_keys the relay key tagged TAG (the key's
# comment) and those of other deploys (a crawlctl-relay- tag that does not start with RUN), under
# a lock that authorize.sh takes too (flock, where there is one: a home shared by hosts). It
# writes a new file beside it (beside the file a symbolic link names) and renames it over the
# old one, so a failed write leaves it as it was.
revoke_key() {
  rk=$HOME/.ssh/authorized_keys
  [ -f "$rk" ] || return 0
  if [ -L "$rk" ]; then rk=$(readlink -f "$rk") && [ -f "$rk" ] || return 1; fi
  grep -qF crawlctl-relay- "$rk"
  case $? in 0) ;; 1) return 0 ;; *) return 1 ;; esac
  if command -v flock > /dev/null 2>&1; then
    command exec 9>> "$HOME/.ssh/.crawlctl.lock" && flock -w 30 9 || return 1
  fi
  rt=$(mktemp "$rk.XXXXXX") &&
    awk -v own="$1" -v run="$2" '{ t = $NF }
      !(index(t, "crawlctl-relay-") == 1 && (t == own || index(t, run) != 1))' "$rk" > "$rt" &&
    mv -f "$rt" "$rk"
  rs=$?
  [ "$rs" = 0 ] || rm -f "$rt"
  exec 9>&-
  return "$rs"
}
[ -d "$d/log" ] || mkdir -p "$d/bin" "$d/run" "$d/log" || exit 1
cd "$d" || exit 1
umask 077
if [ -n "$revoke" ]; then
  revoke_key "$revoke" "$run" ||
    { echo "cannot remove the relay's key from ~/.ssh/authorized_keys" >&2; exit 1; }
  [ -n "$relayed" ] || rm -f bin/.crawlworker.relayed
fi
# The probe: is this host ready to run the release as it stands?
have=$(uname -sm)
echo "os=${have% *}"
echo "arch=${have#* }"
ready=1
[ "$have" = "$want" ] || ready=0
installed=""
[ -x bin/crawlworker ] && read -r installed 2>/dev/null < bin/crawlworker.sha256
echo "sha256=$installed"
# What it takes to run the release, and to receive it when the binary here is another one.
need="dtach sha256sum cmp"
[ "$installed" = "$sha" ] || need="$need gzip dd wc"
for c in $need; do command -v "$c" >/dev/null 2>&1 || { echo "missing=$c"; ready=0; }; done
[ -n "$new" ] || [ "$installed" = "$sha" ] || ready=0
[ "$ready" = 1 ] || exit 10
if [ -n "$clen" ]; then
  # The config by its length (dd reads a pipe a byte at a time: nothing of the binary after it is
  # taken), then the binary to the end of stdin.
  if ! dd bs=1 count="$clen" of=worker.yaml.new 2> run/dd.err; then
    cat run/dd.err >&2; exit 1
  fi
  got=$(($(wc -c < worker.yaml.new)))
  if [ "$got" -ne "$clen" ]; then
    echo "the input ended after $got of the config's $clen bytes" >&2; exit 3
  fi
  if ! gzip -dc > "$new" 2> run/gzip.err; then
    rm -f "$new"; echo "the binary sent did not arrive whole: $(cat run/gzip.err)" >&2; exit 3
  fi
fi
# Copied, not renamed: a session the relay opened before the key went could still write to the
# file it sent, but not to the copy that is checked and run.
if [ -n "$relayed" ]; then
  if [ ! -f bin/.crawlworker.relayed ]; then echo "nothing was relayed to this host" >&2; exit 3; fi
  cat bin/.crawlworker.relayed > "$new" && rm -f bin/.crawlworker.relayed || exit 1
fi
if [ -n "$new" ]; then
  got=$(sha256sum < "$new") && got=${got%% *}
  if [ "$got" != "$sha" ]; then
    rm -f "$new"; echo "the binary received has sha256 $got, expected $sha" >&2; exit 3
  fi
  [ -x "$new" ] || chmod 700 "$new" || exit 1
  # Does it run here? A missing library stops it in the dynamic loader, which says which.
  "$new" --help > /dev/null 2> run/check.err
  status=$?
  if [ "$status" != 0 ]; then
    why=""
    read -r why < run/check.err
    echo "the new binary does not run here: ${why:-it exited with status $status, saying nothing}" >&2
    case $why in *"loading shared libraries"*) exit 4 ;; esac  # kept for after install_command
    rm -f "$new"; exit 7
  fi
  mv -f "$new" bin/crawlworker && echo "$sha" > bin/crawlworker.sha256 || exit 1
  changed=1
fi
[ -n "$clen" ] || cat > worker.yaml.new || exit 1
if cmp -s worker.yaml.new worker.yaml; then rm -f worker.yaml.new
else mv -f worker.yaml.new worker.yaml || exit 1; changed=1; fi
indices
if [ "$changed" = 1 ]; then
  # shellcheck disable=SC2086 # a list of worker indices, split on purpose
  stop_workers $found
else
  extra=""
  for i in $found; do [ "$i" -gt "$n" ] 2>/dev/null && extra="$extra $i"; done
  # shellcheck disable=SC2086 # a list of worker indices, split on purpose
  stop_workers $extra
fi
started=""
i=1
while [ "$i" -le "$n" ]; do
  if alive "run/w$i.pid"; then echo "kept=$i"; else started="$started $i"; fi
  i=$((i + 1))
done
stale=""
for i in $started; do
  for f in "run/w$i.pid" "run/w$i.sock"; do [ ! -e "$f" ] || stale="$stale $f"; done
done
# shellcheck disable=SC2086 # a list of run/wI.* files, split on purpose
[ -z "$stale" ] || rm -f $stale
# Started, not waited for: crawlctl checks each one's heartbeat (with this deploy's id) in Redis.
for i in $started; do
  dtach -n "run/w$i.sock" bin/crawlworker --config worker.yaml --id "$host/$i" \
    --log-file "log/w$i.log" --pid-file "run/w$i.pid" --deploy-id "$deploy" < /dev/null ||
    { echo "dtach could not start worker $i" >&2; exit 5; }
  echo "started=$i"
done
exit 0
