#include "deploy/plan.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <fmt/format.h>

#include "config/schema.hpp"
#include "deploy/quote.hpp"
#include "deploy/scripts.hpp"

namespace crawl::deploy {
namespace {

Step exec_step(std::string name, std::string command, std::string input = "") {
  Step step;
  step.name = std::move(name);
  step.command = std::move(command);
  step.input = std::move(input);
  return step;
}

std::string sh_c(std::string_view script) {
  return "sh -c " + shell_quote(script);
}

std::string header(const config::Host& host) {
  return "d=" + shell_path(host.remote_dir) + "\n";
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
  std::string out = "# Written by crawlctl deploy; it is replaced on every deploy.\n";
  out += "redis:\n";
  out += "  url: " + config::yaml_quote(redis_url) + "\n";
  out += "  key_prefix: " + config::yaml_quote(inventory.redis.key_prefix) + "\n";
  out += fmt::format("  wait_replicas: {}\n", inventory.redis.wait_replicas);
  out += fmt::format("  wait_timeout: {}ms\n", inventory.redis.wait_timeout.count());
  out += "worker:\n";
  for (const auto& field : config::worker_fields())
    if (auto value = config::value_of(inventory.worker, field))
      out += fmt::format("  {}: {}\n", field.key, config::yaml_value(field.rule, *value));
  return out;
}

std::string worker_id(std::string_view host, int index) {
  return std::string(host) + "/" + std::to_string(index);
}

std::string worker_id(const config::Host& host, int index) {
  return worker_id(host.name, index);
}

std::optional<WorkerName> parse_worker_id(std::string_view id) {
  const auto slash = id.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  WorkerName name{std::string(id.substr(0, slash)), 0};
  if (!number(id.substr(slash + 1), name.index) || name.index < 1) return std::nullopt;
  return name;
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

// With a sudo password, what runs before install_command (see plan.hpp).
constexpr std::string_view k_sudo_wrapper =
    "IFS= read -r crawl_sudo_password\n"
    "trap 'command sudo -k 2>/dev/null' EXIT\n"
    "sudo() {\n"
    "  case $- in *x*) set +x; crawl_trace=1 ;; *) crawl_trace= ;; esac\n"
    "  printf '%s\\n' \"$crawl_sudo_password\" | command sudo -S -p '' -v\n"
    "  crawl_status=$?\n"
    "  [ -z \"$crawl_trace\" ] || set -x\n"
    "  [ \"$crawl_status\" = 0 ] || return \"$crawl_status\"\n"
    "  command sudo -n \"$@\"\n"
    "}\n";

Step install_step(const config::Host& host, const Secret* sudo_password) {
  if (!sudo_password) return exec_step("install", host.install_command);
  Step step = exec_step("install", sh_c(std::string(k_sudo_wrapper) + host.install_command), "\n");
  step.secret = sudo_password;
  return step;
}

Step activate_step(const config::Host& host, const Release& release, Activate what,
                   std::chrono::milliseconds stop_grace, std::string_view deploy_id) {
  std::string s = header(host);
  // With the binary on stdin, the config before it is read by its length.
  s += what.send ? fmt::format("clen={}\n", release.config.size()) : std::string("clen=\n");
  s += "n=" + std::to_string(host.workers) + "\n";
  s += "host=" + shell_quote(host.name) + "\n";
  s += "sha=" + shell_quote(release.binary_sha256) + "\n";
  s += "want=" + shell_quote(release.os + " " + release.arch) + "\n";
  const bool arrives = what.send || what.uploaded || what.relayed;
  s += std::string("new=") + (arrives ? "bin/.crawlworker.upload" : "") + "\n";
  s += std::string("changed=") + (what.restart ? "1" : "0") + "\n";
  s += fmt::format("grace={}\n", (stop_grace.count() + 99) / 100);
  s += "deploy=" + shell_quote(deploy_id) + "\n";
  s += std::string("relayed=") + (what.relayed ? "1" : "") + "\n";
  s += "revoke=" + shell_quote(what.revoke ? relay_tag(deploy_id, host.name) : "") + "\n";
  s += "run=" + shell_quote(relay_tag(deploy_id, "")) + "\n";
  s += sh::prelude;
  s += sh::activate;
  Step step = exec_step("activate", sh_c(s), release.config);
  if (what.send) step.payload = release.payload;
  return step;
}

std::string relay_tag(std::string_view deploy_id, std::string_view host) {
  return fmt::format("{}{}-{}", k_relay_tag, deploy_id, host);
}

Step authorize_step(const config::Host& host, const Release& release, const RelayGrant& grant) {
  // The forced command, in authorized_keys' quoting: a '"' is written \".
  std::string forced = sh_c(fmt::format("cd {} && exec head -c {} > bin/.crawlworker.relayed",
                                        shell_path(host.remote_dir), release.binary_size));
  std::string quoted;
  for (const char c : forced) {
    if (c == '"') quoted += '\\';
    quoted += c;
  }
  const std::string key =
      fmt::format("restrict,command=\"{}\" {} {}", quoted, grant.public_key, grant.tag);
  std::string s = "key=" + shell_quote(key) + "\n";
  s += fmt::format("until={}\n", grant.until);
  s += sh::authorize;
  return exec_step("authorize", sh_c(s));
}

Step relay_step(const config::Host& relay, const SshEndpoint& peer, std::string private_key) {
  // An RSA host key is offered under the names of its SHA-2 signatures.
  const std::string type = peer.host_key.substr(0, peer.host_key.find(' '));
  const std::string algorithms = type == "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256" : type;
  std::string s = header(relay);
  s += "peer=" + shell_quote(peer.address) + "\n";
  s += fmt::format("port={}\n", peer.port);
  s += "user=" + shell_quote(peer.user) + "\n";
  s += "known=" + shell_quote("crawlctl-peer " + peer.host_key) + "\n";
  s += "algos=" + shell_quote(algorithms) + "\n";
  s += sh::relay;
  return exec_step("relay", sh_c(s), std::move(private_key));
}

Step stop_step(const config::Host& host, std::chrono::milliseconds grace) {
  std::string s = header(host);
  s += fmt::format("grace={}\n", (grace.count() + 99) / 100);
  s += sh::prelude;
  s += sh::stop;
  return exec_step("stop", sh_c(s));
}

Step inspect_step(const config::Host& host) {
  std::string s = header(host);
  s += sh::inspect;
  return exec_step("inspect", sh_c(s));
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
  const bool send = !uploaded && probe.binary_sha256 != release.binary_sha256;
  steps.push_back(activate_step(host, release,
                                {.send = send, .uploaded = uploaded, .restart = options.restart},
                                options.stop_grace, deploy_id));
  return steps;
}

std::vector<Step> full_plan(const config::Host& host, const Release& release,
                            const Options& options, std::string_view deploy_id) {
  const Activate first{.send = false, .uploaded = false, .restart = options.restart};
  const Activate send{.send = true, .uploaded = false, .restart = options.restart};
  std::vector<Step> steps{activate_step(host, release, first, options.stop_grace, deploy_id)};
  if (!host.install_command.empty()) steps.push_back(install_step(host));
  steps.push_back(activate_step(host, release, send, options.stop_grace, deploy_id));
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
