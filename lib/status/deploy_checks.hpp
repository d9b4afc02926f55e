#pragma once
// What deploy asks of Redis about the workers it started: their first heartbeats (verify), and
// for a canary wave, heartbeats that go on for the canary wait.

#include <atomic>
#include <chrono>
#include <vector>

#include "config/inventory.hpp"
#include "fanout/host_tasks.hpp"
#include "fanout/rollout.hpp"
#include "queue/redis.hpp"

namespace crawl::status {

// Waits until every expected worker heartbeats (with the expected deploy id), or the time is up
// (max(10 s, 3 heartbeat intervals)); gives up at `deadline` or on `cancel` too.
fanout::VerifyWorkers heartbeat_check(const queue::RedisUrl& url,
                                      const config::Inventory& inventory,
                                      fanout::Clock::time_point deadline,
                                      const std::atomic<bool>* cancel);

// After the canary wave: every worker of the canary hosts must go on heartbeating for the whole
// `wait`, the same process throughout. Its heartbeats' own times (by its clock) must span the
// wait, less two heartbeat intervals, so a worker that died during the wait fails even while
// its liveness key has yet to expire.
fanout::CanaryCheck canary_check(const queue::RedisUrl& url, const config::Inventory& inventory,
                                 std::vector<config::Host> hosts, std::chrono::milliseconds wait,
                                 fanout::Clock::time_point deadline,
                                 const std::atomic<bool>* cancel);

}  // namespace crawl::status
