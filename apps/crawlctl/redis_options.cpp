#include "redis_options.hpp"

#include <chrono>
#include <filesystem>

#include <fmt/core.h>

#include "commands.hpp"
#include "config/inventory.hpp"
#include "core/file.hpp"
#include "core/output.hpp"
#include "core/secret.hpp"
#include "queue/records.hpp"
#include "queue/target.hpp"

namespace crawl::ctl {

void add_redis_options(CLI::App* app, RedisOptions& options) {
  options.hosts_file = default_hosts_file();
  app->add_option("--redis", options.url,
                  "redis://host:port/db or unix:///path (else $CRAWL_REDIS_URL, the hosts file, "
                  "redis://127.0.0.1:6379/0)");
  app->add_option_function<std::string>(
      "-H,--hosts-file",
      [&options](const std::string& file) {
        options.hosts_file = file;
        options.hosts_file_given = true;
      },
      "Hosts file whose redis: section to use (default: $CRAWL_HOSTS or ./hosts.yaml, if present)");
}

void add_records_option(CLI::App* app, std::string& dir) {
  dir = queue::default_records_root();
  app->add_option("--records-dir", dir,
                  "Where the jobs' records are kept once drained out of Redis, a directory per "
                  "job (default: $CRAWL_RECORDS_DIR, else ~/.local/share/crawl/records)");
}

Result<config::Inventory> hosts_file_settings(const RedisOptions& options) {
  if (!options.hosts_file_given && !std::filesystem::exists(options.hosts_file))
    return config::Inventory{};
  auto inventory = config::load_inventory(options.hosts_file);
  if (inventory) take_env_secrets(inventory->secret_env_names());
  return inventory;
}

Result<queue::Queue> open_queue(const RedisOptions& options) {
  auto inventory = hosts_file_settings(options);
  if (!inventory) return fail(inventory.error());
  const config::RedisSettings& file = inventory->redis;
  // A password on the command line is visible to every user of this machine (ps): said once,
  // as the worker refuses one outright.
  static bool warned = false;
  if (auto flagged = queue::parse_redis_url(options.url);
      flagged && (!flagged->password.empty() || !flagged->sentinel_password.empty()) && !warned) {
    warned = true;
    crawl::print(
        stderr,
        "crawlctl: warning: the password in --redis is visible to every user of this machine "
        "(ps, /proc); put it in the hosts file's redis.password_file or redis.password_env, or "
        "in $CRAWL_REDIS_PASSWORD\n");
  }
  if (!file.password_file.empty()) warn_if_loose(file.password_file, "redis.password_file");
  if (!file.sentinel_password_file.empty())
    warn_if_loose(file.sentinel_password_file, "redis.sentinel_password_file");
  auto target = queue::redis_target(options.url, file.effective_url(), secrets_of(file));
  if (!target) return fail(target.error());
  auto redis = queue::Redis::connect(*target, std::chrono::seconds(5));
  if (!redis) return fail(redis.error());
  for (const auto& line : redis->dissent())
    crawl::print(stderr, "crawlctl: warning: a Sentinel disagrees with the majority: {}\n", line);
  redis->set_durability({file.wait_replicas, file.wait_timeout});
  return queue::Queue(std::move(*redis), queue::Keys{file.key_prefix});
}

bool primary_moved(queue::Queue& queue, queue::PrimaryCheck& check) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  auto named = queue.primary_moved(check, now);
  if (!named) return false;
  crawl::print(stderr, "crawlctl: the Sentinels now name {} as the primary: connecting again\n",
               *named);
  return true;
}

}  // namespace crawl::ctl
