#include "fleet.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include "commands.hpp"
#include "config/select.hpp"
#include "config/values.hpp"
#include "core/file.hpp"
#include "core/output.hpp"
#include "core/secret.hpp"
#include "core/terminal.hpp"
#include "core/text.hpp"
#include "fanout/run_record.hpp"
#include "status/text.hpp"

namespace crawl::ctl {

using status::Table;
namespace {

std::atomic<bool> g_interrupted{false};

void on_interrupt(int) {
  g_interrupted.store(true);
}

std::optional<std::string> ask_passphrase(const std::string& path) {
  if (auto env = env_secret("CRAWL_SSH_PASSPHRASE")) return std::string(*env);
  auto typed = read_secret("Passphrase for " + path + ": ");
  return typed ? std::optional<std::string>(typed->view()) : std::nullopt;
}

}  // namespace

void add_fleet_options(CLI::App* app, FleetOptions& options) {
  options.hosts_file = default_hosts_file();
  app->add_option("-H,--hosts-file", options.hosts_file,
                  "Hosts file (default: $CRAWL_HOSTS or hosts.yaml)");
  app->add_option(
      "-l,--limit", options.limit,
      "Select hosts: names, globs, ranges, groups, label=value; '!x' excludes, '&x' intersects");
  app->add_option("--fanout", options.fanout, "Hosts worked on at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app->add_option("--deadline", options.deadline,
                  "The whole run ends by then; hosts not started are reported")
      ->capture_default_str();
  app->add_option(
      "--ssh-config", options.ssh_config,
      "ssh_config file read before hosts.yaml's settings (default ~/.ssh/config; 'none')");
  app->add_flag("--json", options.json, "Print the report as JSON");
}

std::optional<Fleet> load_fleet(const FleetOptions& options, const char* command) {
  auto inventory = config::load_inventory(options.hosts_file);
  if (!inventory) {
    print_inventory_error(command, inventory.error());
    return std::nullopt;
  }
  take_env_secrets(inventory->secret_env_names());  // before any thread starts
  const std::string record_path = fanout::run_record_path(options.hosts_file, command);
  if (options.limit.find("@failed") != std::string::npos) {
    // The hosts the last run left failed, as a group the --limit grammar already combines.
    auto last = fanout::read_run_record(record_path);
    if (!last) {
      crawl::print(stderr, "crawlctl {}: --limit @failed: no {} over {} is recorded ({})\n",
                   command, command, options.hosts_file, last.error().message);
      return std::nullopt;
    }
    if (last->failed.empty()) {
      crawl::print(stderr,
                   "crawlctl {}: --limit @failed: the last {} over {} ended ok on all {} host(s)\n",
                   command, command, options.hosts_file, last->hosts);
      return std::nullopt;
    }
    std::vector<std::string> gone;
    config::Group failed = fanout::failed_group(*inventory, *last, gone);
    for (const auto& name : gone)
      crawl::print(stderr, "crawlctl {}: --limit @failed: {} is no longer in {}; skipped\n",
                   command, name, options.hosts_file);
    inventory->groups.push_back(std::move(failed));
  }
  auto selected = config::select_hosts(*inventory, options.limit);
  if (!selected) {
    crawl::print(stderr, "crawlctl {}: {}\n", command, selected.error().message);
    return std::nullopt;
  }
  auto deadline = config::parse_duration(options.deadline);
  if (!deadline) {
    crawl::print(stderr, "crawlctl {}: --deadline: {}\n", command, deadline.error().message);
    return std::nullopt;
  }
  Fleet fleet;
  for (std::size_t i : *selected) fleet.hosts.push_back(inventory->hosts[i]);
  for (const auto& host : fleet.hosts) {
    if (!host.password_file.empty()) warn_if_loose(host.password_file, "password_file");
    if (!host.sudo_password_file.empty())
      warn_if_loose(host.sudo_password_file, "sudo_password_file");
  }
  if (!inventory->redis.password_file.empty())
    warn_if_loose(inventory->redis.password_file, "redis.password_file");
  fleet.inventory = std::move(*inventory);
  fleet.pool.fanout = options.fanout;
  fleet.pool.deadline = fanout::Clock::now() + *deadline;
  fleet.pool.cancel = interrupt_flag();
  fleet.command = command;
  fleet.record_path = record_path;
  return fleet;
}

void load_keys(const std::vector<config::Host>& hosts, ssh::KeyRing& keys) {
  for (const auto& host : hosts)
    if (host.transport == config::Transport::ssh && !host.identity_file.empty())
      keys.load(host.identity_file, ask_passphrase);
}

const std::atomic<bool>* interrupt_flag() {
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return true;
  }();
  (void)installed;
  return &g_interrupted;
}

int run_on_fleet(const Fleet& fleet, const FleetOptions& options, const fanout::Task& task,
                 std::string_view verb, const fanout::RolloutOptions& rollout,
                 const fanout::CanaryCheck& check) {
  return run_on_fleet(
      fleet, options, [&task](const fanout::RemoteFactory&, fanout::PoolOptions&) { return task; },
      verb, rollout, check);
}

int run_on_fleet(const Fleet& fleet, const FleetOptions& options, const MakeTask& make,
                 std::string_view verb, const fanout::RolloutOptions& rollout,
                 const fanout::CanaryCheck& check) {
  ssh::Context context;
  context.ssh_config = options.ssh_config;
  load_keys(fleet.hosts, context.keys);
  const auto connect = ssh::remote_factory(context);
  fanout::PoolOptions pool = fleet.pool;
  const fanout::Task task = make(connect, pool);
  const auto start = fanout::Clock::now();
  ProgressPrinter progress(fleet.hosts, options.json);
  auto on_state = [&progress](std::size_t host, std::string_view state) { progress(host, state); };
  auto reports = rollout.enabled() ? fanout::run_rollout(fleet.hosts, connect, task, pool, on_state,
                                                         rollout, check,
                                                         [&](const std::string& line) {
                                                           progress.finish();
                                                           if (!options.json)
                                                             crawl::print(stderr, "{}\n", line);
                                                         })
                                   : fanout::run(fleet.hosts, connect, task, pool, on_state);
  progress.finish();
  const auto elapsed = fanout::Clock::now() - start;
  const int code = report(fleet.hosts, reports, options.json, verb, elapsed);
  if (auto kept = fanout::write_run_record(fleet.record_path, fleet.command,
                                           fanout::report_json(fleet.hosts, reports, elapsed));
      !kept)
    crawl::print(stderr, "crawlctl {}: the report was not kept: {}\n", fleet.command,
                 kept.error().message);
  else if (code != k_exit_ok && !options.json)
    crawl::print("  (--limit @failed runs the same again on the hosts that did not end ok)\n");
  return code;
}

int report(const std::vector<config::Host>& hosts, const std::vector<fanout::HostReport>& reports,
           bool json, std::string_view verb, fanout::Clock::duration elapsed) {
  const auto by_outcome = fanout::hosts_by_outcome(hosts, reports);
  const std::size_t ok = by_outcome.count("ok") ? by_outcome.at("ok").size() : 0;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  if (json) {
    crawl::print("{}\n", json_text(fanout::report_json(hosts, reports, elapsed)));
  } else {
    Table table({"HOST", "OUTCOME", "TIME", "DETAIL"});
    for (const auto& r : reports) {
      std::string detail =
          r.outcome == fanout::Outcome::ok
              ? r.result.summary
              : (r.failure.step.empty() ? "" : r.failure.step + ": ") + r.failure.message;
      if (r.attempts > 1) detail += fmt::format(" ({} attempts)", r.attempts);
      // Multi-line reasons (a log tail) are indented under the table row.
      std::string first = detail.substr(0, detail.find('\n'));
      table.add({hosts[r.host].name, std::string(fanout::to_string(r.outcome)),
                 fmt::format("{:.1f}s", r.elapsed.count() / 1000.0), first});
    }
    table.print(stdout);
    for (const auto& r : reports)
      if (const auto nl = r.failure.message.find('\n');
          r.outcome != fanout::Outcome::ok && nl != std::string::npos) {
        crawl::print("\n{}:\n", hosts[r.host].name);
        std::string rest = r.failure.message.substr(nl + 1);
        std::size_t pos = 0;
        while (pos < rest.size()) {
          auto end = rest.find('\n', pos);
          if (end == std::string::npos) end = rest.size();
          crawl::print("  | {}\n", rest.substr(pos, end - pos));
          pos = end + 1;
        }
      }
    std::vector<std::string> parts;
    for (const auto& [outcome, names] : by_outcome)
      parts.push_back(fmt::format("{} {}", names.size(), outcome));
    crawl::print("\n{} {} host(s) in {:.1f}s: {}\n", verb, hosts.size(), seconds,
                 fmt::join(parts, ", "));
    for (const auto& [outcome, names] : by_outcome)
      if (outcome != "ok") crawl::print("  {}: {}\n", outcome, fmt::join(names, " "));
  }
  if (ok == reports.size()) return k_exit_ok;
  return ok == 0 ? k_exit_none_reached : k_exit_some_failed;
}

}  // namespace crawl::ctl
