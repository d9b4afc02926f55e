#pragma once
// The crawl loop of one crawlworker process: lease URLs from the shared frontier in batches,
// fetch them (libcurl multi), parse HTML on a thread pool, record outcomes and admit new links,
// all in one-trip batches; heartbeat and reap dead workers; survive Redis restarts; on stop,
// drain within a deadline and hand back whatever is unfinished.

#include <atomic>
#include <chrono>
#include <string>

#include "config/inventory.hpp"
#include "queue/redis.hpp"

namespace crawl::worker {

struct WorkerOptions {
  std::string id;                // unique in the fleet, stable across restarts (deploy: host/n)
  std::string host;              // the machine's name, for status
  queue::RedisUrl redis;         // with its password applied
  queue::Durability durability;  // WAIT for the replicas after recording outcomes
  std::string key_prefix = "crawl";
  config::WorkerSettings settings;
  std::size_t claim_batch = 16;
  std::chrono::milliseconds drain_timeout{10'000};
  std::string deploy_id;  // set by crawlctl deploy; reported in heartbeats so it can tell
                          // the worker it started from an older one under the same id
};

// Runs until `stop` is set, then drains and returns 0. Redis being unreachable is waited out
// (with back-off), not fatal.
int run(const WorkerOptions& options, const std::atomic<bool>& stop);

}  // namespace crawl::worker
