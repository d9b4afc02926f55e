#include "fanout/host_tasks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "deploy/quote.hpp"

namespace crawl::fanout {
namespace {

Clock::time_point step_deadline(const config::Host& host, Clock::time_point deadline,
                                std::chrono::milliseconds extra = std::chrono::milliseconds(0)) {
  return std::min(deadline, Clock::now() + host.command_timeout + extra);
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  constexpr std::size_t k_max = 2000;  // a runaway command's stderr is cut, keeping its end
  if (s.size() > k_max) s = "..." + s.substr(s.size() - k_max);
  return s;
}

// Runs an exec step; a non-zero exit fails the step with its exit status and stderr.
// A step that may stop workers (activate, stop) may also take their drain time, and 5 s for
// each one that has to be killed.
Expected<ExecResult> run_step(Remote& remote, const config::Host& host, const deploy::Step& step,
                              Clock::time_point deadline,
                              std::chrono::milliseconds grace = std::chrono::milliseconds(0)) {
  const auto extra = grace.count() > 0 ? grace + std::chrono::seconds(5) * host.workers : grace;
  std::string_view body;
  if (step.payload) {
    const auto& packed = step.payload->compressed();
    if (!packed)
      return failure(Outcome::step_failed, step.name,
                     "compressing the binary: " + packed.error().message);
    body = *packed;
  }
  const std::string_view input[] = {step.secret ? step.secret->view() : std::string_view(),
                                    step.input, body};
  auto result = remote.exec(step.command, input, step_deadline(host, deadline, extra));
  if (!result && result.error().step.empty()) result.error().step = step.name;
  return result;
}

tl::unexpected<Failure> step_failed(const deploy::Step& step, const ExecResult& result) {
  std::string message = fmt::format("exit status {}", result.status);
  if (const auto err = trimmed(result.err); !err.empty()) message += ": " + err;
  return failure(Outcome::step_failed, step.name, std::move(message));
}

std::string megabytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

// install_command as a step, with the host's sudo password on its stdin when it has one.
Expected<deploy::Step> install_for(const config::Host& host, const DeployTask& task) {
  if (!task.sudo) return deploy::install_step(host);
  auto password = task.sudo->of(host);
  if (!password) return failure(Outcome::step_failed, "install", password.error().message);
  return deploy::install_step(host, *password);
}

// deploy --relay: the group's relay passes the binary on to this host, then it is activated.
// A failure is a lost connection; `why_not` says why the relay could not (the controller then
// sends the binary itself, the key removed by that activate).
struct Relayed {
  std::optional<ExecResult> ran;  // the activate's, when the binary arrived
  std::string why_not;
};

Expected<Relayed> relay_binary(Remote& remote, const config::Host& host, const DeployTask& task,
                               const config::Host& relay,
                               const std::function<void(std::string_view)>& state) {
  auto peer = remote.endpoint();
  if (!peer) return Relayed{{}, "no SSH host key to give the relay"};
  if (!host.relay_address.empty()) peer->address = host.relay_address;
  if (host.relay_port > 0) peer->port = host.relay_port;
  if (host.remote_dir.find_first_of("\r\n") != std::string::npos)
    return Relayed{{}, "remote_dir holds a line break, which authorized_keys cannot"};
  if (auto no_key = task.relays->no_key(relay); !no_key.empty()) return Relayed{{}, no_key};
  // The key goes in first, and a session to the relay opens meanwhile: the relay may still be
  // getting the binary.
  task.relays->prepare(relay);
  state("authorizing");
  const auto authorize =
      deploy::authorize_step(host, task.release, task.relays->grant(relay, host));
  auto ran = run_step(remote, host, authorize, task.deadline);
  if (!ran) return tl::unexpected(ran.error());
  if (ran->status != 0)
    return Relayed{{}, "authorize: " + step_failed(authorize, *ran).value().message};
  state("waiting for the relay");
  if (auto why = task.relays->wait(relay, task.deadline); !why.empty()) return Relayed{{}, why};
  state("relaying");
  if (auto passed = task.relays->pass_on(relay, *peer, task.deadline); !passed)
    return Relayed{{}, passed.error().message};
  state("activating");
  const auto activate = deploy::activate_step(
      host, task.release, {.restart = task.options.restart, .relayed = true, .revoke = true},
      task.options.stop_grace, task.deploy_id);
  ran = run_step(remote, host, activate, task.deadline, task.options.stop_grace);
  if (!ran) return tl::unexpected(ran.error());
  if (ran->status == 3)  // cut short, or another sha256: not the binary
    return Relayed{{}, "the relayed binary: " + step_failed(activate, *ran).value().message};
  return Relayed{std::move(*ran), ""};
}

}  // namespace

Expected<TaskResult> deploy_host(Remote& remote, const config::Host& host, const DeployTask& task,
                                 const std::function<void(std::string_view)>& state) {
  // One command first, without the binary: an unchanged host is done by it, and one that needs
  // the binary (or something installed) says so, and what it has.
  TaskResult result;
  std::string relayed_by, relay_note;  // deploy --relay: who passed the binary on, or why none did
  state("activating");
  // With relays, it also removes what a killed relay deploy left in authorized_keys.
  const auto first =
      deploy::activate_step(host, task.release,
                            {.send = false,
                             .uploaded = false,
                             .restart = task.options.restart,
                             .revoke = task.relays && host.transport == config::Transport::ssh},
                            task.options.stop_grace, task.deploy_id);
  auto ran = run_step(remote, host, first, task.deadline, task.options.stop_grace);
  if (!ran) return tl::unexpected(ran.error());
  bool installed_now = false;
  if (ran->status == deploy::k_exit_not_ready) {
    // The binary differs, or something is missing: install, then activate again with the binary.
    auto probe = deploy::parse_probe(ran->out, host.name);
    if (!probe) return failure(Outcome::step_failed, "activate", probe.error().message);
    auto steps = deploy::plan(host, task.release, *probe, false, task.options, task.deploy_id);
    if (!steps) return failure(Outcome::step_failed, "activate", steps.error().message);
    for (deploy::Step step : *steps) {
      if (step.name == "install") {
        auto with_password = install_for(host, task);
        if (!with_password) return tl::unexpected(with_password.error());
        step = std::move(*with_password);
      }
      const config::Host* relay = task.relays ? task.relays->relay_of(host) : nullptr;
      if (step.payload && relay) {
        auto relayed = relay_binary(remote, host, task, *relay, state);
        if (!relayed) return tl::unexpected(relayed.error());
        if (relayed->ran) {
          ran = std::move(*relayed->ran);
          relayed_by = relay->name;
          continue;
        }
        relay_note = std::move(relayed->why_not);
        // The controller sends it; that activate removes the key.
        step = deploy::activate_step(
            host, task.release, {.send = true, .restart = task.options.restart, .revoke = true},
            task.options.stop_grace, task.deploy_id);
      }
      state(step.name == "install" ? "installing" : step.payload ? "uploading" : "activating");
      ran = run_step(
          remote, host, step, task.deadline,
          step.name == "activate" ? task.options.stop_grace : std::chrono::milliseconds(0));
      if (!ran) return tl::unexpected(ran.error());
      if (step.payload) result.bytes_uploaded += step.payload->compressed()->size();
      if (step.name == "install") {
        if (ran->status != 0) return step_failed(step, *ran);
        installed_now = true;
      }
    }
    if (ran->status == deploy::k_exit_not_ready) {
      auto again = deploy::parse_probe(ran->out, host.name);
      std::string what = "the host is still not ready";
      if (again && !again->missing.empty())
        what =
            fmt::format("still missing after install_command: {}", fmt::join(again->missing, ", "));
      return failure(Outcome::step_failed, installed_now ? "install" : "activate", what);
    }
  }
  if (ran->status == deploy::k_exit_missing_libraries && !installed_now &&
      !host.install_command.empty()) {
    // The new binary lacks a library here: install, then activate it.
    state("installing");
    auto with_password = install_for(host, task);
    if (!with_password) return tl::unexpected(with_password.error());
    const deploy::Step install = std::move(*with_password);
    auto ran_install = run_step(remote, host, install, task.deadline);
    if (!ran_install) return tl::unexpected(ran_install.error());
    if (ran_install->status != 0) return step_failed(install, *ran_install);
    installed_now = true;
    state("activating");
    // The upload is still there, unused: activate it now that its libraries are.
    ran = run_step(
        remote, host,
        deploy::activate_step(host, task.release,
                              {.send = false,
                               .uploaded = result.bytes_uploaded > 0 || !relayed_by.empty(),
                               .restart = true},
                              task.options.stop_grace, task.deploy_id),
        task.deadline, task.options.stop_grace);
    if (!ran) return tl::unexpected(ran.error());
  }
  if (ran->status != 0) return step_failed(first, *ran);
  const deploy::Activation activation = deploy::parse_activation(ran->out);
  // A relay has the release's binary now: its group need not wait for its workers' heartbeats.
  if (task.relays) task.relays->binary_ready(host);

  if (task.verify && host.workers > 0) {
    state("verifying");
    std::vector<ExpectedWorker> expected;
    for (const int index : activation.started)
      expected.push_back({deploy::worker_id(host, index), task.deploy_id});
    for (const int index : activation.kept)
      expected.push_back({deploy::worker_id(host, index), ""});
    auto silent = task.verify(expected);
    if (!silent) {
      auto f = silent.error();
      f.step = "verify";
      return tl::unexpected(f);
    }
    if (!silent->empty()) {
      std::string message =
          "no heartbeat in Redis from " + fmt::format("{}", fmt::join(*silent, ", "));
      // The first silent worker's log usually says why (a Redis it cannot reach, a bad config).
      const auto name = deploy::parse_worker_id(silent->front());
      const std::string log = "log/w" + std::to_string(name ? name->index : 1) + ".log";
      const std::string tail =
          "cd " + deploy::shell_path(host.remote_dir) + " && tail -n 5 " + deploy::shell_quote(log);
      if (auto t = remote.exec(tail, "", step_deadline(host, task.deadline)); t && !t->out.empty())
        message += "; the end of " + log + ":\n" + trimmed(t->out);
      return failure(Outcome::step_failed, "verify", message);
    }
  }

  std::vector<std::string> parts;
  if (!activation.started.empty())
    parts.push_back(fmt::format("{} started", activation.started.size()));
  if (!activation.kept.empty()) parts.push_back(fmt::format("{} kept", activation.kept.size()));
  if (!activation.stopped.empty() || !activation.killed.empty())
    parts.push_back(
        fmt::format("{} stopped", activation.stopped.size() + activation.killed.size()));
  if (installed_now) parts.push_back("prerequisites installed");
  if (!relayed_by.empty())
    parts.push_back("binary relayed by " + relayed_by);
  else if (result.bytes_uploaded)
    parts.push_back("binary sent (" + megabytes(result.bytes_uploaded) + " compressed" +
                    (relay_note.empty() ? "" : "; not relayed: " + relay_note) + ")");
  else
    parts.push_back("binary unchanged");
  result.summary = fmt::format("{}", fmt::join(parts, ", "));
  return result;
}

Expected<TaskResult> stop_host(Remote& remote, const config::Host& host,
                               std::chrono::milliseconds grace, Clock::time_point deadline,
                               const std::function<void(std::string_view)>& state) {
  state("stopping");
  const auto step = deploy::stop_step(host, grace);
  auto ran = run_step(remote, host, step, deadline, grace);
  if (!ran) return tl::unexpected(ran.error());
  if (ran->status != 0) return step_failed(step, *ran);
  const auto a = deploy::parse_activation(ran->out);
  TaskResult result;
  if (a.stopped.empty() && a.killed.empty())
    result.summary = "no worker running";
  else if (a.killed.empty())
    result.summary = fmt::format("{} stopped", a.stopped.size());
  else
    result.summary = fmt::format("{} stopped, {} killed after {} s", a.stopped.size(),
                                 a.killed.size(), grace.count() / 1000.0);
  return result;
}

Expected<deploy::Inspection> inspect_host(Remote& remote, const config::Host& host,
                                          Clock::time_point deadline) {
  const auto step = deploy::inspect_step(host);
  auto ran = run_step(remote, host, step, deadline);
  if (!ran) return tl::unexpected(ran.error());
  if (ran->status != 0) return step_failed(step, *ran);
  auto parsed = deploy::parse_inspection(ran->out);
  if (!parsed) return failure(Outcome::step_failed, step.name, parsed.error().message);
  return std::move(*parsed);
}

}  // namespace crawl::fanout
