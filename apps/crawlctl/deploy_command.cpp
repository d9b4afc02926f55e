// crawlctl deploy: install and start crawlworkers on every selected host, in parallel.

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "commands.hpp"
#include "config/values.hpp"
#include "deploy/plan.hpp"
#include "deploy/release.hpp"
#include "fanout/host_tasks.hpp"
#include "fleet.hpp"
#include "queue/queue.hpp"
#include "queue/target.hpp"
#include "redis_options.hpp"

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

// Waits until every expected worker heartbeats with the expected pid, or the time is up.
// Gives up at the run's deadline or on Ctrl-C too.
fanout::VerifyWorkers heartbeat_check(const queue::RedisUrl& url,
                                      const config::Inventory& inventory,
                                      fanout::Clock::time_point deadline,
                                      const std::atomic<bool>* cancel) {
  const auto patience =
      std::max(std::chrono::milliseconds(10'000), 3 * inventory.worker.heartbeat_interval);
  const std::string prefix = inventory.redis.key_prefix;
  return
      [url, patience, prefix, deadline, cancel](const std::vector<fanout::ExpectedWorker>& workers)
          -> fanout::Expected<std::vector<std::string>> {
        auto redis = queue::Redis::connect(url, std::chrono::seconds(5));
        if (!redis)
          return fanout::failure(fanout::Outcome::step_failed, "verify",
                                 "cannot check heartbeats: " + redis.error().message);
        queue::Queue queue(std::move(*redis), queue::Keys{prefix});
        std::vector<std::string> ids;
        for (const auto& w : workers) ids.push_back(w.id);
        const auto until = std::min(deadline, fanout::Clock::now() + patience);
        for (;;) {
          auto beats = queue.fleet().heartbeats(ids);
          if (!beats)
            return fanout::failure(fanout::Outcome::step_failed, "verify",
                                   "cannot check heartbeats: " + beats.error().message);
          std::vector<std::string> silent;
          for (std::size_t i = 0; i < workers.size(); ++i)
            if (!(*beats)[i].alive ||
                (!workers[i].deploy_id.empty() && (*beats)[i].deploy != workers[i].deploy_id))
              silent.push_back(workers[i].id);
          if (silent.empty() || fanout::Clock::now() >= until || (cancel && cancel->load()))
            return silent;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      };
}

// Random, so a worker started by this run is told apart from an older one under the same id.
std::string new_deploy_id() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

void print_plan(const config::Host& host, const std::vector<deploy::Step>& steps) {
  fmt::print("# {} ({}, {}:{}, {} workers, remote_dir {})\n", host.name,
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
    fmt::print("## {}{}\n{}\n", step.name, note, step.command);
  }
  fmt::print("\n");
}

int run_deploy(const DeployOptions& options) {
  auto fleet = load_fleet(options.fleet, "deploy");
  if (!fleet) return k_exit_usage;
  auto grace = config::parse_duration(options.stop_grace);
  if (!grace) {
    fmt::print(stderr, "crawlctl deploy: --stop-grace: {}\n", grace.error().message);
    return k_exit_usage;
  }
  deploy::Release release;
  release.binary_path =
      options.worker_binary.empty() ? find_worker_binary() : options.worker_binary;
  if (release.binary_path.empty()) {
    fmt::print(
        stderr,
        "crawlctl deploy: no crawlworker found beside crawlctl; name it with --worker-binary\n");
    return k_exit_usage;
  }
  auto described = deploy::describe_release(release.binary_path);
  if (!described) {
    fmt::print(stderr, "crawlctl deploy: --worker-binary: {}\n", described.error().message);
    return k_exit_usage;
  }
  release = std::move(*described);

  const auto& redis_settings = fleet->inventory.redis;
  auto target = queue::redis_target(options.redis, redis_settings.effective_url(),
                                    secrets_of(redis_settings));
  if (!target) {
    fmt::print(stderr, "crawlctl deploy: {}\n", target.error().message);
    return k_exit_usage;
  }
  auto url = queue::format_redis_url(*target);
  if (!url) {
    fmt::print(stderr, "crawlctl deploy: {}\n", url.error().message);
    return k_exit_usage;
  }
  release.config = deploy::worker_config(fleet->inventory, *url);
  deploy::Options deploy_options;
  deploy_options.restart = options.restart;
  deploy_options.stop_grace = *grace;

  if (options.dry_run) {
    fmt::print("# crawlctl deploy --dry-run: {} host(s); nothing is contacted.\n",
               fleet->hosts.size());
    fmt::print("# worker binary {} ({} bytes, sha256 {})\n\n", release.binary_path,
               release.binary_size, release.binary_sha256);
    for (const auto& host : fleet->hosts)
      print_plan(host, deploy::full_plan(host, release, deploy_options, "DEPLOY-ID"));
    return k_exit_ok;
  }

  fanout::DeployTask task;
  task.release = release;
  task.options = deploy_options;
  task.deadline = fleet->pool.deadline;
  task.deploy_id = new_deploy_id();
  if (!options.no_verify)
    task.verify =
        heartbeat_check(*target, fleet->inventory, fleet->pool.deadline, fleet->pool.cancel);

  return run_on_fleet(
      *fleet, options.fleet,
      [&task](fanout::Remote& remote, const config::Host& host, const auto& state) {
        return fanout::deploy_host(remote, host, task, state);
      },
      "deployed to");
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
  sub->footer(
      "Each host, over one SSH connection: probe (platform, dtach, installed binary's sha256);\n"
      "install what is missing (install_command); upload crawlworker by SFTP unless its sha256\n"
      "matches; write its config (0600); (re)start `workers` processes under dtach; check each\n"
      "heartbeats in Redis. A redeploy with nothing changed is one command on each host: it\n"
      "uploads nothing and restarts nothing.\n"
      "Exit: 0 all hosts ok, 1 some failed, 3 none succeeded, 2 bad input.\n\n"
      "Examples:\n"
      "  crawlctl deploy -H hosts.yaml\n"
      "  crawlctl deploy -H hosts.yaml --limit eu --fanout 128 --deadline 5m\n"
      "  crawlctl deploy -H hosts.yaml --dry-run\n"
      "  crawlctl deploy -H hosts.yaml --restart --json > deploy.json");
  sub->callback([options, &run] { run = [options] { return run_deploy(*options); }; });
}

}  // namespace crawl::ctl
