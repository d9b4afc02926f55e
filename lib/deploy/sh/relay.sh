# relay.sh: on the relay of a `deploy --relay`: passes its own binary (checked by its deploy) on
# to one host of its group, over their network, with the deploy's key (on stdin; in a file only
# while ssh runs) and the host key crawlctl verified for that host: nothing else is trusted, and
# the key opens nothing there but the upload of one file.
# crawlctl sets: d peer port user known algos
cd "$d" || exit 1
umask 077
command -v ssh > /dev/null 2>&1 || { echo "the relay has no ssh client (openssh-client)" >&2; exit 6; }
k=run/relay.$$.key
kh=run/relay.$$.known
trap 'rm -f "$k" "$kh"' EXIT
trap 'exit 1' HUP INT TERM
cat > "$k" || exit 1
printf '%s\n' "$known" > "$kh" || exit 1
ssh -F /dev/null -i "$k" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes \
  -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" -o GlobalKnownHostsFile=/dev/null \
  -o HostKeyAlias=crawlctl-peer -o HostKeyAlgorithms="$algos" -o CheckHostIP=no \
  -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 \
  -p "$port" -l "$user" -- "$peer" relay < bin/crawlworker
