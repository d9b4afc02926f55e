#!/usr/bin/env bash
# scripts/install-deps.sh against fakes of apt-get, apt-cache, dpkg-query and sudo on PATH: it
# installs what is missing, exits 0, holds the services back with a policy-rc.d of its own while
# dpkg runs, and never removes a policy-rc.d it did not place (every Docker image ships one).
#   install_deps_test.sh SOURCE_DIR
set -uo pipefail
src=$1
tmp=$(mktemp -d "${CRAWL_TEST_TMPDIR:-${TMPDIR:-/tmp}}/crawl-test-install-deps-XXXXXX")
trap '[[ ${CRAWL_TEST_KEEP:-0} == 1 ]] || rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# The fakes keep their state in $FAKE: `missing` lists the packages not installed, `lists` exists
# once `apt-get update` ran, `calls` logs every apt-get call, `policy-seen` what policy-rc.d said
# while packages were installed.
bin=$tmp/bin
mkdir -p "$bin"
cat >"$bin/dpkg-query" <<'SH'
#!/bin/sh
# dpkg-query -W -f='${Status}' PACKAGE
for p; do :; done
if grep -qxF "$p" "$FAKE/missing" 2>/dev/null; then exit 1; fi
printf 'install ok installed'
SH
cat >"$bin/apt-cache" <<'SH'
#!/bin/sh
# apt-cache show PACKAGES: known only once the lists were fetched
[ -e "$FAKE/lists" ]
SH
cat >"$bin/apt-get" <<'SH'
#!/bin/sh
echo "apt-get $*" >>"$FAKE/calls"
case " $* " in
  *" update "*) touch "$FAKE/lists"; exit 0 ;;
esac
simulate=0 packages=""
for a; do
  case $a in
    -s) simulate=1 ;;
    -*|install) ;;
    *) packages="$packages $a" ;;
  esac
done
if [ "$simulate" = 1 ]; then
  for p in $packages; do echo "Inst $p (1.0 Debian:12/stable [amd64])"; done
  exit 0
fi
[ -e "$FAKE/fail-install" ] && { echo "E: Unable to fetch some archives" >&2; exit 100; }
if [ -x "$CRAWL_POLICY_RC_D" ]; then
  "$CRAWL_POLICY_RC_D" redis-server start; echo "policy-rc.d exits $?" >>"$FAKE/policy-seen"
else
  echo "no policy-rc.d" >>"$FAKE/policy-seen"
fi
for p in $packages; do
  echo "Unpacking $p (1.0) ..."
  echo "Setting up $p (1.0) ..."
  grep -vxF "$p" "$FAKE/missing" >"$FAKE/missing.new"; mv "$FAKE/missing.new" "$FAKE/missing"
done
SH
cat >"$bin/sudo" <<'SH'
#!/bin/sh
exec "$@"
SH
# npm ci into CRAWL_NPM_DIR, a copy of tests/browser's lock file: logged, node_modules made.
cat >"$bin/npm" <<'SH'
#!/bin/sh
echo "npm $*" >>"$CRAWL_NPM_DIR/calls"
mkdir -p node_modules
SH
export CRAWL_NPM_DIR=$tmp/npm
mkdir -p "$CRAWL_NPM_DIR"
cp "$src/tests/browser/package-lock.json" "$CRAWL_NPM_DIR/"
chmod +x "$bin"/*

# run NAME [policy-rc.d content]: a fresh fake machine with redis-server and dtach missing.
run() {
  local name=$1
  export FAKE=$tmp/$name CRAWL_POLICY_RC_D=$tmp/$name/policy-rc.d
  mkdir -p "$FAKE"
  printf 'redis-server\ndtach\n' >"$FAKE/missing"
  if [[ $# -gt 1 ]]; then printf '%s' "$2" >"$CRAWL_POLICY_RC_D"; chmod 755 "$CRAWL_POLICY_RC_D"; fi
  out=$(PATH=$bin:$PATH bash "$src/scripts/install-deps.sh" 2>&1)
  rc=$?
}

# 1. No policy-rc.d: one is placed while dpkg runs (services held back: exit 101) and removed.
run absent
[[ $rc == 0 ]] || fail "absent: exit $rc: $out"
[[ -s $FAKE/missing ]] && fail "absent: still missing: $(cat "$FAKE/missing")"
grep -qx 'policy-rc.d exits 101' "$FAKE/policy-seen" || fail "absent: no policy-rc.d during the install: $(cat "$FAKE/policy-seen")"
[[ -e $CRAWL_POLICY_RC_D ]] && fail "absent: the policy-rc.d it placed was left behind"
grep -q 'apt-get update' "$FAKE/calls" || fail "absent: no apt-get update although the lists were empty"
grep -q 'install-deps: \[2/2\] set up dtach' <<<"$out" || fail "absent: no progress line: $out"
grep -qx 'install-deps: done' <<<"$out" || fail "absent: no 'done': $out"
[[ $(grep -c 'npm ci' "$CRAWL_NPM_DIR/calls") == 1 ]] || fail "absent: npm ci not run once: $out"

# 2. A policy-rc.d of the machine's own (Docker's): used as it is, and left in place.
docker_policy=$'#!/bin/sh\n# the image\'s own\nexit 101\n'
run present "$docker_policy"
[[ $rc == 0 ]] || fail "present: exit $rc (a policy-rc.d it did not place must not change the exit status): $out"
[[ -s $FAKE/missing ]] && fail "present: still missing: $(cat "$FAKE/missing")"
[[ -e $CRAWL_POLICY_RC_D && $(cat "$CRAWL_POLICY_RC_D") == "${docker_policy%$'\n'}"* ]] ||
  fail "present: the machine's own policy-rc.d was removed or changed"

# 3. Everything installed: nothing is called, exit 0, policy-rc.d untouched.
export FAKE=$tmp/present
run_again_out=$(PATH=$bin:$PATH bash "$src/scripts/install-deps.sh" 2>&1); rc=$?
[[ $rc == 0 ]] || fail "installed: exit $rc: $run_again_out"
grep -q 'already installed' <<<"$run_again_out" || fail "installed: $run_again_out"
[[ $(grep -c '' "$FAKE/calls") == $(grep -c '' "$tmp/present/calls") ]] || fail "installed: apt-get was called"
[[ -e $CRAWL_POLICY_RC_D ]] || fail "installed: policy-rc.d removed"
[[ $(grep -c 'npm ci' "$CRAWL_NPM_DIR/calls") == 1 ]] || fail "installed: npm ci run again for the same lock file"

# 4. A failing install: exit 1 with apt's words, and the policy-rc.d it placed is gone.
export FAKE=$tmp/failing CRAWL_POLICY_RC_D=$tmp/failing/policy-rc.d
mkdir -p "$FAKE"; printf 'dtach\n' >"$FAKE/missing"; touch "$FAKE/lists" "$FAKE/fail-install"
out=$(PATH=$bin:$PATH bash "$src/scripts/install-deps.sh" 2>&1); rc=$?
[[ $rc == 1 ]] || fail "failing: exit $rc, expected 1: $out"
grep -q 'Unable to fetch' <<<"$out" || fail "failing: apt's error not shown: $out"
grep -q 'apt-get install failed' <<<"$out" || fail "failing: no message: $out"
[[ -e $CRAWL_POLICY_RC_D ]] && fail "failing: the policy-rc.d it placed was left behind"

if [[ $failures -gt 0 ]]; then echo "$failures failures"; exit 1; fi
echo "install-deps: all cases passed"
