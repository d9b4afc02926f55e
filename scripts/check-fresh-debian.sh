#!/usr/bin/env bash
# Runs the README's two commands on a Debian 12 system as fresh as they come: a minimal root
# made by debootstrap, made to hold what Docker's debian:12 image holds (bookworm,
# bookworm-updates and bookworm-security in its sources, no package lists, the policy-rc.d
# that keeps services from starting, no compiler), with this checkout cloned into it, entered
# with chroot (/proc, /sys, /dev and /dev/pts mounted). For
# maintainers, before a release or after touching scripts/install-deps.sh; needs root and
# Debian's package archive.
#
#   scripts/check-fresh-debian.sh [DIR]    default DIR: build/fresh-debian (removed first)
#
# Prints each command's last lines and exits non-zero if either fails; the chroot's logs stay
# in DIR/*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dir=${1:-$repo/build/fresh-debian}
[[ $(id -u) == 0 ]] || { echo "check-fresh-debian: run as root (debootstrap and chroot)" >&2; exit 2; }
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
root=$dir/root
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
if mountpoint -q "$root/proc" 2>/dev/null; then umount -l "$root/proc" "$root/sys" "$root/dev/pts" "$root/dev" 2>/dev/null || true; fi
rm -rf "$dir"
mkdir -p "$dir"
echo "check-fresh-debian: debootstrap --variant=minbase bookworm $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
  { tail -n 20 "$dir/debootstrap.log" >&2; exit 1; }
# As Docker's image: the three suites, no package lists, services held back.
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
  "$mirror" "$mirror" "$security" >"$root/etc/apt/sources.list"
find "$root/var/lib/apt/lists" -mindepth 1 -delete
# CRAWL_FRESH_NO_POLICY_RC_D=1: without one, as a machine that is not a container has none.
if [[ ${CRAWL_FRESH_NO_POLICY_RC_D:-0} != 1 ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
fi
for m in proc sys dev dev/pts; do
  case $m in
    proc) mount -t proc proc "$root/proc" ;;
    sys) mount -t sysfs sysfs "$root/sys" ;;
    *) mount --bind "/$m" "$root/$m" ;;
  esac
  mounted+=("$root/$m")
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This machine's way out, as it is: its resolver, and the certificate authorities it adds for a
# proxy on the way to the registries (ca-certificates takes them in when install-deps installs it).
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
git clone -q "$repo" "$root/root/crawl"

status=0
for command in scripts/quickstart.sh scripts/test.sh; do
  echo "check-fresh-debian: $command"
  start=$(date +%s)
  if chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
       PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
       /bin/bash -c "cd /root/crawl && $command" >"$dir/${command##*/}.log" 2>&1; then
    echo "check-fresh-debian: $command passed in $(($(date +%s) - start)) s"
  else
    echo "check-fresh-debian: $command FAILED after $(($(date +%s) - start)) s; its last lines:" >&2
    tail -n 30 "$dir/${command##*/}.log" >&2
    status=1
  fi
done
exit $status
