#pragma once
// The crawl's Redis data model (docs/redis-data-model.md), over one connection: jobs, the
// frontier partitioned by site, the fleet of workers, and what is known of each site. All key
// names come from Keys, all scripts from lib/queue/lua. Hot-path calls take batches and cost one
// round trip each.

#include <utility>

#include "queue/fleet.hpp"
#include "queue/frontier.hpp"
#include "queue/jobs.hpp"
#include "queue/keys.hpp"
#include "queue/records.hpp"
#include "queue/redis.hpp"
#include "queue/sites.hpp"

namespace crawl::queue {

class Queue {
 public:
  Queue(Redis redis, Keys keys) : m_redis(std::move(redis)), m_keys(std::move(keys)) {}
  Queue(Queue&&) noexcept = default;
  Queue& operator=(Queue&&) noexcept = default;

  Jobs jobs() { return Jobs(m_redis, m_keys); }
  Frontier frontier() { return Frontier(m_redis, m_keys); }
  Fleet fleet() { return Fleet(m_redis, m_keys); }
  Sites sites() { return Sites(m_redis, m_keys); }
  // One drainer's pass (queue/records.hpp): the jobs' records out of Redis, into their homes
  // under `root`.
  Result<std::vector<DrainedJob>> drain_records(const std::string& root,
                                                const std::vector<std::string>& only = {}) {
    return drain_jobs(m_redis, m_keys, root, only);
  }

  const Keys& keys() const { return m_keys; }
  // Redis::confirm_writes for the writes of this connection so far.
  Result<void> confirm_writes() { return m_redis.confirm_writes(); }
  // With Sentinels, when `check` is due: the primary a majority of them name, if it is not this
  // connection's server (see PrimaryCheck).
  std::optional<std::string> primary_moved(PrimaryCheck& check, std::int64_t now_ms) {
    return check.moved(m_redis.url(), m_redis.server(), now_ms);
  }
  // False once a command found the connection broken: open a new Queue.
  bool connected() const { return m_redis.connected(); }
  // The connection itself, for tests and diagnostics that look at keys directly; the crawler's
  // own code goes through the classes above.
  Redis& redis() { return m_redis; }

 private:
  Redis m_redis;
  Keys m_keys;
};

}  // namespace crawl::queue
