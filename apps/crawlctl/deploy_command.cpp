// crawlctl deploy: install and start crawlworkers on every selected host, in parallel.

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "commands.hpp"
#include "config/values.hpp"
#include "core/output.hpp"
#include "core/terminal.hpp"
#include "core/text.hpp"
#include "deploy/plan.hpp"
#include "deploy/release.hpp"
#include "deploy/sudo.hpp"
#include "fanout/host_tasks.hpp"
#include "fleet.hpp"
#include "queue/queue.hpp"
#include "queue/target.hpp"
#include "redis_options.hpp"
#include "status/deploy_checks.hpp"

namespace crawl::ctl {
namespace {

struct DeployOptions {
  FleetOptions fleet;
  std::string worker_binary;
  std::string redis;
  bool dry_run = false;
  bool restart = false;
  bool no_verify = false;
  std::string stop_grace = "15s";
  std::string batch, max_fail, canary_wait = "60s";
  std::size_t canary = 0;
  bool ask_sudo_password = false;
  bool relay = false;
};

std::string self_dir() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

// The crawlworker beside this crawlctl (an installed pair), or in the build tree's layout.
std::string find_worker_binary() {
  const std::string dir = self_dir();
  for (const auto& candidate : {dir + "/crawlworker", dir + "/../crawlworker/crawlworker"})
    if (access(candidate.c_str(), X_OK) == 0)
      return std::filesystem::weakly_canonical(candidate).string();
  return "";
}

// Random, so a worker started by this run is told apart from an older one under the same id.
std::string new_deploy_id() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

void print_plan(const config::Host& host, const std::vector<deploy::Step>& steps) {
  crawl::print("# {} ({}, {}:{}, {} workers, remote_dir {})\n", host.name,
               config::to_string(host.transport), host.address, host.port, host.workers,
               host.remote_dir);
  for (const auto& step : steps) {
    std::string note;
    if (step.name == "install") note = " (only when activate finds something missing)";
    if (step.name == "activate")
      note = !step.payload
                 ? " (probes first and stops if the host lacks something or its binary differs; "
                   "stdin: the worker config)"
                 : " (when the binary there differs; stdin: the worker config, then the "
                   "binary, gzip-compressed)";
    crawl::print("## {}{}\n{}\n", step.name, note, step.command);
  }
  crawl::print("\n");
}

int run_deploy(const DeployOptions& options) {
  auto fleet = load_fleet(options.fleet, "deploy");
  if (!fleet) return k_exit_usage;
  auto grace = config::parse_duration(options.stop_grace);
  if (!grace) {
    crawl::print(stderr, "crawlctl deploy: --stop-grace: {}\n", grace.error().message);
    return k_exit_usage;
  }
  deploy::Release release;
  release.binary_path =
      options.worker_binary.empty() ? find_worker_binary() : options.worker_binary;
  if (release.binary_path.empty()) {
    crawl::print(
        stderr,
        "crawlctl deploy: no crawlworker found beside crawlctl; name it with --worker-binary\n");
    return k_exit_usage;
  }
  auto described = deploy::describe_release(release.binary_path);
  if (!described) {
    crawl::print(stderr, "crawlctl deploy: --worker-binary: {}\n", described.error().message);
    return k_exit_usage;
  }
  release = std::move(*described);

  const auto& redis_settings = fleet->inventory.redis;
  auto target = queue::redis_target(options.redis, redis_settings.effective_url(),
                                    secrets_of(redis_settings));
  if (!target) {
    crawl::print(stderr, "crawlctl deploy: {}\n", target.error().message);
    return k_exit_usage;
  }
  auto url = queue::format_redis_url(*target);
  if (!url) {
    crawl::print(stderr, "crawlctl deploy: {}\n", url.error().message);
    return k_exit_usage;
  }
  release.config = deploy::worker_config(fleet->inventory, *url);
  deploy::Options deploy_options;
  deploy_options.restart = options.restart;
  deploy_options.stop_grace = *grace;

  if (options.dry_run) {
    crawl::print("# crawlctl deploy --dry-run: {} host(s); nothing is contacted.\n",
                 fleet->hosts.size());
    crawl::print("# worker binary {} ({} bytes, sha256 {})\n\n", release.binary_path,
                 release.binary_size, release.binary_sha256);
    for (const auto& host : fleet->hosts)
      print_plan(host, deploy::full_plan(host, release, deploy_options, "DEPLOY-ID"));
    return k_exit_ok;
  }

  auto parsed = fanout::parse_rollout(options.batch, options.max_fail, options.canary);
  if (!parsed) {
    crawl::print(stderr, "crawlctl deploy: {}\n", parsed.error().message);
    return k_exit_usage;
  }
  fanout::RolloutOptions rollout = *parsed;
  if (options.canary > 0) {
    auto wait =
        fanout::parse_canary_wait(options.canary_wait, !options.no_verify,
                                  fleet->inventory.worker.heartbeat_interval, fleet->pool.deadline);
    if (!wait) {
      crawl::print(stderr, "crawlctl deploy: {}\n", wait.error().message);
      return k_exit_usage;
    }
    rollout.canary_wait = *wait;
  }
  const std::size_t relay_count = options.relay ? fanout::relays_first(fleet->hosts) : 0;
  // Asked once, before any host is contacted; read by the hosts that name no password source.
  std::optional<Secret> asked;
  if (options.ask_sudo_password && deploy::SudoPasswords::may_ask(fleet->hosts)) {
    asked = read_secret("sudo password (for install_command): ");
    if (!asked) {
      crawl::print(stderr, "crawlctl deploy: -K: no password read (it needs a terminal)\n");
      return k_exit_usage;
    }
    // The time spent typing is not the run's.
    fleet->pool.deadline = fanout::Clock::now() + *config::parse_duration(options.fleet.deadline);
  }
  const auto sudo = deploy::SudoPasswords::load(fleet->hosts, std::move(asked));

  fanout::DeployTask task;
  task.release = release;
  task.options = deploy_options;
  task.deadline = fleet->pool.deadline;
  task.deploy_id = new_deploy_id();
  task.sudo = &sudo;
  if (!options.no_verify)
    task.verify = status::heartbeat_check(*target, fleet->inventory, fleet->pool.deadline,
                                          fleet->pool.cancel);
  fanout::CanaryCheck check;
  if (options.canary > 0)
    check = status::canary_check(*target, fleet->inventory, fleet->hosts, rollout.canary_wait,
                                 fleet->pool.deadline, fleet->pool.cancel);
  const auto make_task = [&](const fanout::RemoteFactory& connect, fanout::PoolOptions& pool) {
    // Owned by the run, so the sessions to the relays close with its SSH context.
    std::shared_ptr<fanout::Relays> relays;
    if (relay_count > 0) {
      relays = std::make_shared<fanout::Relays>(fleet->hosts, relay_count, connect,
                                                ssh::new_key_pair, task.deploy_id, pool.deadline);
      pool.on_done = [relays](const config::Host& host, const auto&) { relays->ended(host); };
    }
    task.relays = relays.get();
    return [&task, relays](fanout::Remote& remote, const config::Host& host, const auto& state) {
      return fanout::deploy_host(remote, host, task, state);
    };
  };
  return run_on_fleet(*fleet, options.fleet, MakeTask(make_task), "deployed to", rollout, check);
}

}  // namespace

void add_deploy_command(CLI::App& app, Action& run) {
  auto options = std::make_shared<DeployOptions>();
  CLI::App* sub =
      app.add_subcommand("deploy", "Install and start crawlworkers on the selected hosts");
  add_fleet_options(sub, options->fleet);
  sub->add_option("--worker-binary", options->worker_binary,
                  "The crawlworker to install (default: the one beside crawlctl)");
  sub->add_option("--redis", options->redis,
                  "Redis URL for the workers (default: the hosts file's redis.url)");
  sub->add_flag("--dry-run", options->dry_run, "Print each host's plan; contact no host");
  sub->add_flag("--restart", options->restart,
                "Restart workers even when binary and config are unchanged");
  sub->add_flag("--no-verify", options->no_verify,
                "Do not wait for the workers' heartbeats in Redis");
  sub->add_option("--stop-grace", options->stop_grace,
                  "When restarting, how long workers may drain before SIGKILL")
      ->capture_default_str();
  sub->add_flag("-K,--ask-sudo-password", options->ask_sudo_password,
                "Ask once for the password sudo wants in install_command (hosts without "
                "sudo_password_file or sudo_password_env)");
  sub->add_option("--batch", options->batch,
                  "Rolling deploy: hosts per wave, N or P% of the hosts (default: all at once)");
  sub->add_option("--max-fail", options->max_fail,
                  "Stop the rollout once more than N (or P%) hosts failed; the rest are left "
                  "untouched");
  sub->add_option("--canary", options->canary,
                  "The first N hosts go first, alone; the rest only once they are up and "
                  "heartbeating for --canary-wait");
  sub->add_option("--canary-wait", options->canary_wait,
                  "How long the canary hosts' workers must heartbeat before the rest")
      ->capture_default_str();
  sub->add_flag("--relay", options->relay,
                "Per group, one host gets the binary and passes it on to the others of its group "
                "(docs/operations.md, \"Relays\")");
  sub->footer(
      "Each host, over one SSH connection: probe (platform, dtach, installed binary's sha256);\n"
      "install what is missing (install_command); send crawlworker, gzip-compressed, on the\n"
      "activate command's stdin unless its sha256 matches, and check it there; write its config\n"
      "(0600); (re)start `workers` processes under dtach; check each heartbeats in Redis. A\n"
      "redeploy with nothing changed is one command on each host: it sends no binary and\n"
      "restarts nothing.\n"
      "Exit: 0 all hosts ok, 1 some failed, 3 none succeeded, 2 bad input.\n\n"
      "Examples:\n"
      "  crawlctl deploy -H hosts.yaml\n"
      "  crawlctl deploy -H hosts.yaml --limit eu --fanout 128 --deadline 5m\n"
      "  crawlctl deploy -H hosts.yaml --dry-run\n"
      "  crawlctl deploy -H hosts.yaml --canary 2 --batch 10% --max-fail 3\n"
      "  crawlctl deploy -H hosts.yaml --relay            # one copy per group from here\n"
      "  crawlctl deploy -H hosts.yaml --limit @failed    # the hosts the last deploy failed on\n"
      "  crawlctl deploy -H hosts.yaml --restart --json > deploy.json");
  sub->callback([options, &run] { run = [options] { return run_deploy(*options); }; });
}

}  // namespace crawl::ctl
