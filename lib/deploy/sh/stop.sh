# stop.sh: stops every worker of the host (SIGTERM, then SIGKILL after the grace).
# crawlctl sets: d grace
# after: prelude.sh
cd "$d" 2>/dev/null || exit 0
indices
# shellcheck disable=SC2086 # a list of worker indices, split on purpose
stop_workers $found
exit 0
