#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"
#include "redis_server.hpp"

namespace crawl::testing {

struct SentinelSetOptions {
  int replicas = 2;
  int sentinels = 3;
  // down-after-milliseconds. Above the stalls of a loaded 2-core machine running the suite: at
  // 1000 a Sentinel once took a newly promoted primary's slow PING reply for a failure and
  // promoted again (docs/operations.md: above the longest stall).
  std::chrono::milliseconds down_after{2500};
  std::string sentinel_password;  // requirepass of the Sentinels
  std::string password;           // requirepass (and masterauth) of the Redis servers
};

// A Redis primary with replicas, watched by Sentinels (quorum 2), all on loopback: what a
// failover test needs. Ready once every replica is in sync and every Sentinel knows the
// replicas and the other Sentinels. Every process is stopped, by pid, on destruction.
class RedisSentinelSet {
 public:
  explicit RedisSentinelSet(SentinelSetOptions options = {});
  ~RedisSentinelSet();

  static constexpr const char* k_master_name = "crawl";
  // sentinel://127.0.0.1:S1,127.0.0.1:S2,.../crawl/0 (without the Sentinels' password).
  std::string url() const;
  std::vector<int> sentinel_ports() const;

  std::size_t size() const { return m_servers.size(); }
  RedisServer& server(std::size_t i) { return *m_servers[i]; }
  // The server that says it is the primary (ROLE), or -1 when none does.
  int primary();
  // The servers that say they are replicas of `primary` and are in sync with it (INFO: online).
  int replicas_in_sync(std::size_t primary);

  // Waits until a server other than `old` is the primary and the Sentinels name it.
  bool wait_for_failover(std::size_t old, std::chrono::milliseconds timeout);

  void kill_sentinel(std::size_t i);  // SIGKILL
  // What the Sentinels logged (their +sdown, +odown, +switch-master ... events), for a failure
  // message.
  std::string sentinel_logs() const;

 private:
  void start_sentinel(std::size_t i);
  bool sentinels_ready();

  SentinelSetOptions m_options;
  std::vector<std::unique_ptr<RedisServer>> m_servers;
  TempDir m_dir{"sentinel"};
  std::vector<int> m_ports;
  std::vector<Process> m_sentinels;
};

}  // namespace crawl::testing
