#include "deploy/plan.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <fmt/format.h>

#include "deploy/quote.hpp"

namespace crawl::deploy {
namespace {

// Shell functions every script starts with, written with builtins only: a fork costs a
// millisecond or two, and fifty hosts sharing two cores feel each one. `alive F` is true when
// the pid in file F is a running crawlworker (a zombie or a recycled pid is not); it leaves
// the pid in $p. `stop_workers I...` sends SIGTERM to
// those workers, waits up to $grace tenths of a second for them to drain, then SIGKILLs the rest.
constexpr std::string_view k_prelude = R"sh(
trap '' PIPE  # if crawlctl goes away mid-step, finish the step rather than die half-way
alive() {
  read -r p 2>/dev/null < "$1" || return 1
  case $p in ''|*[!0-9]*) return 1 ;; esac
  read -r st 2>/dev/null < "/proc/$p/stat" || return 1
  st=${st##*) }
  case $st in Z*|X*) return 1 ;; esac
  read -r c 2>/dev/null < "/proc/$p/comm" && [ "$c" = crawlworker ]
}
stop_workers() {
  pids=""
  for i in "$@"; do
    if alive "run/w$i.pid"; then
      kill -TERM "$p" 2>/dev/null; pids="$pids $i:$p"
    else
      rm -f "run/w$i.pid" "run/w$i.sock"
    fi
  done
  t=0
  while [ -n "$pids" ] && [ "$t" -lt "$grace" ]; do
    still=0
    for e in $pids; do alive "run/w${e%%:*}.pid" && still=1; done
    [ "$still" = 0 ] && break
    sleep 0.1; t=$((t + 1))
  done
  for e in $pids; do
    i=${e%%:*}
    if alive "run/w$i.pid"; then
      kill -KILL "${e#*:}" 2>/dev/null; echo "killed=$i"
      k=0; while alive "run/w$i.pid" && [ "$k" -lt 50 ]; do sleep 0.1; k=$((k + 1)); done
      # Still there (stuck in the kernel): keep its files, so it is not started twice.
      alive "run/w$i.pid" && continue
    else
      echo "stopped=$i"
    fi
    rm -f "run/w$i.pid" "run/w$i.sock"
  done
}
indices() {
  found=""
  for f in run/w*.pid; do [ -e "$f" ] || continue; f=${f#run/w}; found="$found ${f%.pid}"; done
}
)sh";

Step exec_step(std::string name, std::string command, std::string input = "") {
  Step step;
  step.name = std::move(name);
  step.command = std::move(command);
  step.input = std::move(input);
  return step;
}

std::string sh(std::string_view script) {
  return "sh -c " + shell_quote(script);
}

std::string header(const config::Host& host) {
  return "d=" + shell_path(host.remote_dir) + "\n";
}

std::string yaml_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out + "\"";
}

// The key=value lines of a script's output; other lines (a login banner, an rc file's chatter)
// are skipped.
std::vector<std::pair<std::string_view, std::string_view>> key_values(std::string_view output) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  std::size_t pos = 0;
  while (pos < output.size()) {
    auto end = output.find('\n', pos);
    if (end == std::string_view::npos) end = output.size();
    const std::string_view line = output.substr(pos, end - pos);
    pos = end + 1;
    if (const auto eq = line.find('='); eq != std::string_view::npos)
      out.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

template <class T>
bool number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string worker_config(const config::Inventory& inventory, std::string_view redis_url) {
  const auto& w = inventory.worker;
  std::string out = "# Written by crawlctl deploy; it is replaced on every deploy.\n";
  out += "redis:\n";
  out += "  url: " + yaml_string(redis_url) + "\n";
  out += "  key_prefix: " + yaml_string(inventory.redis.key_prefix) + "\n";
  out += "worker:\n";
  out += fmt::format("  concurrency: {}\n", w.concurrency);
  out += fmt::format("  parse_threads: {}\n", w.parse_threads);
  out += "  user_agent: " + yaml_string(w.user_agent) + "\n";
  out += "  robots_agent: " + yaml_string(w.robots_agent) + "\n";
  out += fmt::format("  max_body: {}\n", w.max_body_bytes);
  out += fmt::format("  body_memory: {}\n", w.body_memory);
  out += fmt::format("  connect_timeout: {}ms\n", w.connect_timeout.count());
  out += fmt::format("  timeout: {}ms\n", w.timeout.count());
  out += fmt::format("  low_speed_bytes: {}\n", w.low_speed_bytes);
  out += fmt::format("  low_speed_time: {}ms\n", w.low_speed_time.count());
  out += fmt::format("  max_redirects: {}\n", w.max_redirects);
  out += fmt::format("  heartbeat_interval: {}ms\n", w.heartbeat_interval.count());
  out += fmt::format("  heartbeat_ttl: {}ms\n", w.heartbeat_ttl.count());
  out += fmt::format("  log_max_size: {}\n", w.log_max_bytes);
  out += fmt::format("  log_keep: {}\n", w.log_keep);
  out += fmt::format("  log_level: {}\n", w.log_debug ? "debug" : "info");
  out += fmt::format("  stats_interval: {}ms\n", w.stats_interval.count());
  return out;
}

std::string worker_id(const config::Host& host, int index) {
  return host.name + "/" + std::to_string(index);
}

Result<Probe> parse_probe(std::string_view output, std::string_view where) {
  Probe probe;
  for (const auto& [key, value] : key_values(output)) {
    if (key == "os")
      probe.os = value;
    else if (key == "arch")
      probe.arch = value;
    else if (key == "missing")
      probe.missing.emplace_back(value);
    else if (key == "sha256")
      probe.binary_sha256 = value;
  }
  if (probe.os.empty() || probe.arch.empty())
    return fail("{}: the probe printed no platform (is the login shell POSIX?)", where);
  return probe;
}

Step install_step(const config::Host& host) {
  return exec_step("install", host.install_command);
}

Step activate_step(const config::Host& host, const Release& release, bool uploaded, bool restart,
                   const Options& options, std::string_view deploy_id) {
  std::string s = header(host);
  s += "n=" + std::to_string(host.workers) + "\n";
  s += "host=" + shell_quote(host.name) + "\n";
  s += "sha=" + shell_quote(release.binary_sha256) + "\n";
  s += "want=" + shell_quote(release.os + " " + release.arch) + "\n";
  s += std::string("new=") + (uploaded ? "bin/.crawlworker.upload" : "") + "\n";
  s += std::string("changed=") + (restart ? "1" : "0") + "\n";
  s += fmt::format("grace={}\n", (options.stop_grace.count() + 99) / 100);
  s += "deploy=" + shell_quote(deploy_id) + "\n";
  s += k_prelude;
  s += R"sh(
[ -d "$d/log" ] || mkdir -p "$d/bin" "$d/run" "$d/log" || exit 1
cd "$d" || exit 1
umask 077
# The probe: is this host ready to run the release as it stands?
have=$(uname -sm)
echo "os=${have% *}"
echo "arch=${have#* }"
ready=1
[ "$have" = "$want" ] || ready=0
for c in dtach sha256sum cmp; do command -v "$c" >/dev/null 2>&1 || { echo "missing=$c"; ready=0; }; done
installed=""
[ -x bin/crawlworker ] && read -r installed 2>/dev/null < bin/crawlworker.sha256
echo "sha256=$installed"
[ -n "$new" ] || [ "$installed" = "$sha" ] || ready=0
[ "$ready" = 1 ] || exit 10
if [ -n "$new" ]; then
  got=$(sha256sum < "$new") && got=${got%% *}
  if [ "$got" != "$sha" ]; then
    rm -f "$new"; echo "the uploaded binary has sha256 $got, expected $sha" >&2; exit 3
  fi
  [ -x "$new" ] || chmod 700 "$new" || exit 1
  # Does it run here? A missing library stops it in the dynamic loader, which says which.
  if ! "$new" --help > /dev/null 2> run/check.err; then
    read -r why < run/check.err
    echo "the new binary does not run here: $why" >&2
    case $why in *"loading shared libraries"*) exit 4 ;; esac  # kept for after install_command
    rm -f "$new"; exit 7
  fi
  mv -f "$new" bin/crawlworker && echo "$sha" > bin/crawlworker.sha256 || exit 1
  changed=1
fi
cat > worker.yaml.new || exit 1
if cmp -s worker.yaml.new worker.yaml; then rm -f worker.yaml.new
else mv -f worker.yaml.new worker.yaml || exit 1; changed=1; fi
indices
if [ "$changed" = 1 ]; then
  stop_workers $found
else
  extra=""
  for i in $found; do [ "$i" -gt "$n" ] 2>/dev/null && extra="$extra $i"; done
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
[ -z "$stale" ] || rm -f $stale
# Started, not waited for: crawlctl checks each one's heartbeat (with this deploy's id) in Redis.
for i in $started; do
  dtach -n "run/w$i.sock" bin/crawlworker --config worker.yaml --id "$host/$i" \
    --log-file "log/w$i.log" --pid-file "run/w$i.pid" --deploy-id "$deploy" < /dev/null ||
    { echo "dtach could not start worker $i" >&2; exit 5; }
  echo "started=$i"
done
exit 0
)sh";
  return exec_step("activate", sh(s), release.config);
}

Step stop_step(const config::Host& host, std::chrono::milliseconds grace) {
  std::string s = header(host);
  s += fmt::format("grace={}\n", (grace.count() + 99) / 100);
  s += k_prelude;
  s += R"sh(
cd "$d" 2>/dev/null || exit 0
indices
stop_workers $found
exit 0
)sh";
  return exec_step("stop", sh(s));
}

Step inspect_step(const config::Host& host) {
  std::string s = header(host);
  s += R"sh(
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
)sh";
  return exec_step("inspect", sh(s));
}

std::string_view to_string(WorkerProcess::State state) {
  switch (state) {
    case WorkerProcess::State::running:
      return "running";
    case WorkerProcess::State::exited:
      return "exited";
    case WorkerProcess::State::none:
      return "none";
  }
  return "?";
}

Result<Inspection> parse_inspection(std::string_view output) {
  Inspection out;
  std::size_t pos = 0;
  while (pos < output.size()) {
    std::size_t end = output.find('\n', pos);
    if (end == std::string_view::npos) end = output.size();
    const std::string line(output.substr(pos, end - pos));
    pos = end + 1;
    char state[16] = {};
    WorkerProcess w;
    long long bytes = 0, mtime = 0, now = 0;
    if (std::sscanf(line.c_str(), "now %lld", &now) == 1) {
      out.now = now;
    } else if (std::sscanf(line.c_str(), "worker %d %ld %15s %lld %lld", &w.index, &w.pid, state,
                           &bytes, &mtime) == 5) {
      const std::string_view st = state;
      w.state = st == "running"                    ? WorkerProcess::State::running
                : st == "exited" || st == "zombie" ? WorkerProcess::State::exited
                                                   : WorkerProcess::State::none;
      w.log_bytes = bytes;
      w.log_mtime = mtime;
      out.workers.push_back(w);
    }
    // Anything else came from the login shell's startup files: not ours to judge.
  }
  if (out.now == 0) return fail("the host did not report its clock");
  std::sort(out.workers.begin(), out.workers.end(),
            [](const WorkerProcess& a, const WorkerProcess& b) { return a.index < b.index; });
  return out;
}

Step upload_step(const config::Host& host, const Release& release) {
  Step step;
  step.kind = Step::Kind::upload;
  step.name = "upload";
  step.local_path = release.binary_path;
  step.remote_path = host.remote_dir + "/bin/.crawlworker.upload";
  step.mode = 0700;
  return step;
}

Step read_sha_step(const config::Host& host) {
  Step step;
  step.kind = Step::Kind::read;
  step.name = "check";
  step.remote_path = host.remote_dir + "/bin/crawlworker.sha256";
  return step;
}

Result<std::vector<Step>> plan(const config::Host& host, const Release& release, const Probe& probe,
                               bool uploaded, const Options& options, std::string_view deploy_id) {
  if (probe.os != release.os || probe.arch != release.arch)
    return fail("the host runs {} on {}; the worker binary is built for {} on {}", probe.os,
                probe.arch, release.os, release.arch);
  std::vector<Step> steps;
  if (!probe.missing.empty()) {
    std::string missing;
    for (const auto& m : probe.missing) missing += (missing.empty() ? "" : ", ") + m;
    if (host.install_command.empty())
      return fail("missing on the host: {} (install it, or set install_command in hosts.yaml)",
                  missing);
    steps.push_back(install_step(host));
  }
  // An upload that went in already stays (the activate that refused it did not touch it).
  const bool upload = !uploaded && probe.binary_sha256 != release.binary_sha256;
  if (upload) steps.push_back(upload_step(host, release));
  steps.push_back(
      activate_step(host, release, uploaded || upload, options.restart, options, deploy_id));
  return steps;
}

std::vector<Step> full_plan(const config::Host& host, const Release& release,
                            const Options& options, std::string_view deploy_id) {
  std::vector<Step> steps{read_sha_step(host), upload_step(host, release),
                          activate_step(host, release, true, options.restart, options, deploy_id)};
  if (!host.install_command.empty()) {
    steps.push_back(install_step(host));
    steps.push_back(activate_step(host, release, true, options.restart, options, deploy_id));
  }
  return steps;
}

Activation parse_activation(std::string_view output) {
  Activation a;
  for (const auto& [key, value] : key_values(output)) {
    int i = 0;
    if (number(value, i)) {
      if (key == "started")
        a.started.push_back(i);
      else if (key == "kept")
        a.kept.push_back(i);
      else if (key == "stopped")
        a.stopped.push_back(i);
      else if (key == "killed")
        a.killed.push_back(i);
    }
  }
  return a;
}

}  // namespace crawl::deploy
