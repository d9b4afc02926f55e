#pragma once
// The Redis options every crawl command shares, and opening the queue they point at.

#include <string>

#include <CLI/CLI.hpp>

#include "config/inventory.hpp"
#include "core/result.hpp"
#include "queue/queue.hpp"
#include "queue/target.hpp"

namespace crawl::ctl {

struct RedisOptions {
  std::string url;         // --redis
  std::string hosts_file;  // -H: its redis: section; the default file is optional
  bool hosts_file_given = false;
};

void add_redis_options(CLI::App* app, RedisOptions& options);

// --records-dir: where this machine keeps the homes of the jobs' records it drains
// (queue/records.hpp); `dir` starts as the default.
void add_records_option(CLI::App* app, std::string& dir);

// The hosts file's settings (its redis: and job: sections): none when no -H was given and the
// default file does not exist.
Result<config::Inventory> hosts_file_settings(const RedisOptions& options);

// Where the hosts file keeps the Redis and Sentinel passwords.
inline queue::RedisSecrets secrets_of(const config::RedisSettings& r) {
  return {r.password_file, r.password_env, r.sentinel_password_file, r.sentinel_password_env};
}

// Connects as DESIGN.md section 1 says: --redis, $CRAWL_REDIS_URL, the hosts file, default.
Result<queue::Queue> open_queue(const RedisOptions& options);

// For a command that holds its connection (wait, status --watch): true, said on stderr, when a
// majority of the Sentinels now name another primary than the one connected to; the caller
// connects again.
bool primary_moved(queue::Queue& queue, queue::PrimaryCheck& check);

}  // namespace crawl::ctl
