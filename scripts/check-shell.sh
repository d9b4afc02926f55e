#!/usr/bin/env bash
# Checks the deploy's remote shell scripts (lib/deploy/sh/*.sh) with shellcheck, as POSIX sh, each
# as crawlctl sends it: the variables crawlctl sets first ("# crawlctl sets:" in its header), then
# the script it comes after ("# after:"), then the script itself. A script that others come after
# is checked as part of them.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo "check-shell: shellcheck is not installed (run scripts/install-deps.sh)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-shell.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dir=lib/deploy/sh
befores=$(sed -n 's/^# after: //p' "$dir"/*.sh | sort -u)
status=0
checked=0
for f in "$dir"/*.sh; do
  name=$(basename "$f")
  case " $befores " in *" $name "*) continue ;; esac
  vars=$(sed -n 's/^# crawlctl sets: //p' "$f")
  after=$(sed -n 's/^# after: //p' "$f")
  out="$tmp/$name"
  {
    echo "#!/bin/sh"
    echo "# $name as crawlctl sends it: its variables, ${after:-nothing before it}, then the script"
    for v in $vars; do echo "$v=''"; done
    if [[ -n $after ]]; then cat "$dir/$after"; fi
  } > "$out"
  offset=$(wc -l < "$out")
  cat "$f" >> "$out"
  if ! shellcheck -s sh -f gcc "$out" > "$tmp/report"; then
    status=1
    # Lines of the script itself are told as its own; those before it as the sent text's.
    awk -F: -v off="$offset" -v f="$f" -v sent="$name (as sent)" \
      '{ if ($2 > off) { $1 = f; $2 = $2 - off } else { $1 = sent } print }' OFS=: "$tmp/report" >&2
  fi
  checked=$((checked + 1))
done
echo "check-shell: $checked scripts checked as POSIX sh"
exit "$status"
