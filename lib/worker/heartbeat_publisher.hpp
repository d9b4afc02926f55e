#pragma once
// A worker's heartbeat (P:worker:{id}, lib/queue/heartbeat.hpp), written every
// heartbeat_interval, with the fleet's sweep for dead workers that follows it and the stats line
// of the log every stats_interval.

#include <cstdint>
#include <string>

#include "config/inventory.hpp"
#include "worker/session.hpp"
#include "worker/tasks.hpp"

namespace crawl::worker {

// What the worker says of itself at this moment, besides its counters.
struct Pulse {
  const Stats& stats;
  std::uint64_t in_flight = 0;    // leases held
  std::uint64_t transfers = 0;    // requests under way
  std::uint64_t body_memory = 0;  // bytes of bodies held
  bool draining = false;
};

class HeartbeatPublisher {
 public:
  HeartbeatPublisher(std::string id, std::string host, std::string deploy_id,
                     const config::WorkerSettings& settings, std::int64_t started_ms);

  // When the next heartbeat is due.
  std::int64_t due_at() const { return m_next_ms; }
  // The next one at once (a new connection: the fleet sees the worker again without delay).
  void now_due() { m_next_ms = 0; }

  // If due and connected: writes the heartbeat and sweeps for dead workers. True when the
  // heartbeat was written. A primary the Sentinels no longer name is left first (false).
  bool beat(RedisSession& redis, const Pulse& pulse, std::int64_t now_ms);

 private:
  std::string m_id, m_host, m_deploy;
  const config::WorkerSettings& m_settings;
  std::int64_t m_started_ms;
  std::int64_t m_next_ms = 0;
  std::int64_t m_next_stats_ms;
};

// The process's resident memory, in bytes (0 if it cannot be read).
std::uint64_t rss_bytes();

}  // namespace crawl::worker
