# collect.sh: `crawlctl collect` on one host: the closed WARC files of the workers' warc_dir $w
# (relative to $d, the workers' directory, unless absolute), those of job $job only if it is
# set, as frames: "\036F NAME SIZE SHA256 FROM\n" and the file's bytes from offset FROM to SIZE.
# stdin names what crawlctl holds: "NAME -" a file it has whole (not sent), "NAME OFFSET" one it
# has up to OFFSET (sent from there). A file being written (NAME.warc.gz.open) is not sent: only
# closed files are complete. Each file is opened once as fd 3 and its size, digest and bytes
# are read through /dev/fd/3. POSIX sh and coreutils (stat, sha256sum, dd, awk, grep).
# crawlctl sets: d w job
LC_ALL=C; export LC_ALL
cd "$d" 2>/dev/null || { printf '\036E nothing deployed: no %s\n' "$d"; exit 0; }
cd "$w" 2>/dev/null || exit 0  # no WARC file was written here
have=$(cat)
if [ -n "$job" ]; then set -- "job$job"-*.warc.gz; else set -- job*-*.warc.gz; fi
for f in "$@"; do
  [ -f "$f" ] || continue
  case $f in *[!A-Za-z0-9._-]*) continue ;; esac
  # Only the workers' names (lib/warc): PREFIX-TIME(17 digits)-SERIAL-WRITER.warc.gz.
  printf '%s\n' "$f" | grep -Eq '^job[A-Za-z0-9._-]*-[0-9]{17}-[0-9]{5,}-[A-Za-z0-9._-]+\.warc\.gz$' || continue
  from=$(printf '%s\n' "$have" | awk -v n="$f" '$1 == n { print $2; exit }')
  [ "$from" = - ] && continue
  case $from in '' | *[!0-9]*) from=0 ;; esac
  # (`command`: a file gone meanwhile is skipped; a failed redirection of exec would end sh.)
  { command exec 3< "$f"; } 2>/dev/null || continue
  size=$(stat -L -c %s /dev/fd/3)
  [ "$from" -le "$size" ] || from=0
  sum=$(sha256sum < /dev/fd/3)
  printf '\036F %s %s %s %s\n' "$f" "$size" "${sum%% *}" "$from"
  [ "$size" -gt "$from" ] && dd if=/dev/fd/3 bs=65536 iflag=skip_bytes,count_bytes skip="$from" count=$((size - from)) status=none
  exec 3<&-
done
