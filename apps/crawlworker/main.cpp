// crawlworker: one crawl worker process. Settings come from a config file in the hosts.yaml
// format (its redis: and worker: sections) and flags; the Redis password never from a flag.

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "config/inventory.hpp"
#include "config/values.hpp"
#include "core/dir.hpp"
#include "core/file.hpp"
#include "core/logging.hpp"
#include "core/output.hpp"
#include "queue/target.hpp"
#include "worker/worker.hpp"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop.store(true);
}

std::string hostname() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

// Written under a new name and renamed, so a reader never sees half a pid (and nothing planted
// beside it is written through).
bool write_pid_file(const std::string& path) {
  const std::filesystem::path p(path);
  auto dir = crawl::OutputDir::open(p.parent_path().empty() ? "." : p.parent_path().string());
  return dir && dir->replace(p.filename().string(), std::to_string(getpid()) + "\n");
}

// Removes the pid file unless another process has written its own pid there since.
void remove_pid_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return;
  int pid = 0;
  const bool ours = std::fscanf(f, "%d", &pid) == 1 && pid == static_cast<int>(getpid());
  std::fclose(f);
  if (ours) std::remove(path.c_str());
}

int real_main(int argc, char** argv) {
  CLI::App app{"crawlworker: pull URLs from the shared Redis frontier and crawl them"};
  std::string config_file, redis_flag, id, prefix, drain = "10s", log_file, pid_file, deploy_id;
  int concurrency = 0, parse_threads = -1;
  bool debug = false;
  app.add_option("-c,--config", config_file,
                 "Config file: the redis: and worker: sections of a hosts.yaml");
  app.add_option("--redis", redis_flag,
                 "redis://host:port/db or unix:///path (else $CRAWL_REDIS_URL, the config file, "
                 "redis://127.0.0.1:6379/0); put passwords in a file, not here");
  app.add_option(
      "--id", id,
      "Worker id, unique in the fleet and stable across restarts (default: HOSTNAME/PID)");
  app.add_option("--prefix", prefix, "Redis key prefix (default: the config file's, else crawl)");
  app.add_option("--concurrency", concurrency, "Transfers in flight");
  app.add_option("--parse-threads", parse_threads, "HTML parser threads (0 = one per core)");
  app.add_option("--drain-timeout", drain,
                 "On SIGTERM, how long in-flight pages may take before their URLs are handed back");
  app.add_flag("--debug", debug, "Log every URL's outcome");
  app.add_option(
      "--log-file", log_file,
      "Log here instead of stderr, rotated by the config's worker.log_max_size and log_keep");
  app.add_option("--pid-file", pid_file,
                 "Write the pid here once running; removed on a clean exit");
  app.add_option("--deploy-id", deploy_id, "Set by crawlctl deploy: reported in heartbeats");
  app.footer(
      "Example:\n  crawlworker --config worker.yaml --id crawl01/1\n"
      "Stops on SIGTERM or SIGINT: finishes or hands back its URLs, then exits 0.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  crawl::setup_logging("crawlworker", debug);
  // Until the config says how to rotate, the log file takes what is written (config errors).
  if (!log_file.empty() &&
      !crawl::setup_file_logging("crawlworker", debug, log_file, 64u << 20, 3)) {
    spdlog::error("event=bad_log_file path=\"{}\" error=\"{}\"", log_file, std::strerror(errno));
    return 2;
  }

  crawl::config::Inventory settings;
  if (!config_file.empty()) {
    auto parsed = crawl::config::load_inventory(config_file);
    if (!parsed) {
      if (parsed.error().kind == crawl::ErrorKind::invalid)
        crawl::print(stderr, "{}\n", parsed.error().message);
      else
        spdlog::error("event=bad_config error=\"{}\"", parsed.error().message);
      return 2;
    }
    settings = std::move(*parsed);
  }
  debug = debug || settings.worker.log_debug;
  if (!log_file.empty())
    crawl::setup_file_logging("crawlworker", debug, log_file, settings.worker.log_max_bytes,
                              static_cast<std::size_t>(settings.worker.log_keep));
  // A password in --redis would be readable by every user of the host (ps, /proc/PID/cmdline).
  if (auto flagged = crawl::queue::parse_redis_url(redis_flag);
      flagged && (!flagged->password.empty() || !flagged->sentinel_password.empty())) {
    spdlog::error(
        "event=password_on_command_line url={} error=\"refused: a password on the command "
        "line is visible to every user of this host; use redis.password_file or "
        "redis.password_env in the config file, or $CRAWL_REDIS_PASSWORD\"",
        flagged->display);
    return 2;
  }
  if (auto flagged = crawl::queue::parse_redis_url(redis_flag); flagged && !flagged->user.empty())
    spdlog::warn(
        "event=user_on_command_line url={} note=\"read as an ACL user name; if it is a "
        "password, it is visible to every user of this host: use redis.password_file\"",
        flagged->display);
  if (!settings.redis.password_file.empty())
    if (const std::string loose =
            crawl::loose_permissions(crawl::expand_home(settings.redis.password_file));
        !loose.empty())
      spdlog::warn("event=loose_password_file path=\"{}\" note=\"{}\"",
                   settings.redis.password_file, loose);
  const auto& r = settings.redis;
  auto redis = crawl::queue::redis_target(
      redis_flag, r.effective_url(),
      {r.password_file, r.password_env, r.sentinel_password_file, r.sentinel_password_env});
  if (!redis) {
    spdlog::error("event=bad_redis_url error=\"{}\"", redis.error().message);
    return 2;
  }

  crawl::worker::WorkerOptions options;
  options.host = hostname();
  options.id = id.empty() ? options.host + "/" + std::to_string(getpid()) : id;
  options.redis = *redis;
  options.key_prefix = !prefix.empty() ? prefix : settings.redis.key_prefix;
  options.durability = {settings.redis.wait_replicas, settings.redis.wait_timeout};
  options.settings = settings.worker;
  if (concurrency > 0) options.settings.concurrency = concurrency;
  if (parse_threads >= 0) options.settings.parse_threads = parse_threads;
  auto drain_timeout = crawl::config::parse_duration(drain);
  if (!drain_timeout) {
    spdlog::error("event=bad_flag flag=--drain-timeout error=\"{}\"",
                  drain_timeout.error().message);
    return 2;
  }
  options.drain_timeout = *drain_timeout;
  options.deploy_id = deploy_id;

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (!pid_file.empty() && !write_pid_file(pid_file)) {
    spdlog::error("event=bad_pid_file path=\"{}\" error=\"{}\"", pid_file, std::strerror(errno));
    return 2;
  }
  const int rc = crawl::worker::run(options, g_stop);
  if (!pid_file.empty()) remove_pid_file(pid_file);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return real_main(argc, argv);
  } catch (const std::exception& e) {
    crawl::print(stderr, "crawlworker: internal error: {}\n", e.what());
    return 70;
  }
}
