#pragma once
// The workers in Redis: heartbeats (a key with a TTL and the last report), the registered and
// the dead, and the reaper that returns a dead worker's leases. docs/redis-data-model.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "queue/heartbeat.hpp"
#include "queue/keys.hpp"
#include "queue/redis.hpp"

namespace crawl::queue {

// A worker as its last heartbeat describes it.
struct WorkerInfo {
  enum class Liveness { alive, expired, dead };  // expired: silent past its TTL, not yet reaped
  std::string id;
  Liveness liveness = Liveness::alive;
  Heartbeat report;                    // its last heartbeat
  std::int64_t heartbeat_age_ms = -1;  // -1: unknown
};

// The server the fleet talks to, as it says itself (INFO replication).
struct Replication {
  std::string server;  // host:port this connection reached
  std::string url;     // how it was found (a sentinel:// URL names the Sentinels)
  bool via_sentinels = false;
  std::string role;  // master or slave
  int replicas = 0;  // connected replicas
  int in_sync = 0;   // of them, online and at most 1 s behind
};

// `INFO replication` text as Replication's role and counts.
void parse_replication(std::string_view info, Replication& out);

class Fleet {
 public:
  Fleet(Redis& redis, const Keys& keys) : m_redis(redis), m_keys(keys) {}

  // The worker's heartbeat, standing for `ttl` (its ttl_ms is set here).
  Result<void> heartbeat(const std::string& worker, const Heartbeat& beat,
                         std::chrono::milliseconds ttl);
  // A worker leaving: every lease Redis holds under its name goes back first (how many), then
  // it is unregistered.
  Result<long long> leave(const std::string& worker);
  Result<std::vector<std::string>> worker_ids();
  // Every registered worker and every worker remembered as dead, sorted by id: two round trips
  // whatever the number of jobs or URLs. `now_ms`, if given, receives the server's clock (ms)
  // from the same round trip.
  Result<std::vector<WorkerInfo>> workers(std::int64_t* now_ms = nullptr);
  // Forgets dead workers that died before `before_ms` (0: all of them); returns how many.
  Result<long long> forget_dead(std::int64_t before_ms = 0);
  Result<bool> alive(const std::string& worker);
  // For each id: whether its heartbeat is current, and the pid, deploy id and time (by the
  // worker's clock) of the last one.
  struct Presence {
    bool alive = false;
    long pid = 0;
    std::string deploy;
    std::int64_t last_ms = 0;
  };
  Result<std::vector<Presence>> heartbeats(const std::vector<std::string>& workers);
  // Reaps every registered worker whose heartbeat has expired; returns the entries returned.
  // Jobs whose first seeds were loading when their loader went away are leased from again.
  // With `every`, sweeps only if no caller in the fleet has swept in that long (else returns 0).
  Result<long long> reap_dead(std::chrono::milliseconds every = std::chrono::milliseconds(0));
  // The server's role and its replicas.
  Result<Replication> replication();
  // The memory the server uses for its data (INFO memory's used_memory), in bytes.
  Result<long long> used_memory();

 private:
  // The last heartbeat of each of `count` workers (`id(i)`) into `out(i)`, and the PTTL of its
  // alive key (-2: none) to `alive_ttl(i, ms)`, in one round trip; a heartbeat a worker of the
  // version before wrote as a hash is read in a second.
  Result<void> reports(std::size_t count, const std::function<const std::string&(std::size_t)>& id,
                       const std::function<Heartbeat&(std::size_t)>& out,
                       const std::function<void(std::size_t, long long)>& alive_ttl);
  Redis& m_redis;
  const Keys& m_keys;
};

}  // namespace crawl::queue
