#pragma once
// What the fleet knows of each site (scheme://host:port), shared by every worker: its robots.txt
// rules (cached with a TTL, fetched by one worker at a time), the Crawl-delay they ask for, and
// how the site stands in a job's frontier (for status --sites). docs/redis-data-model.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "queue/keys.hpp"
#include "queue/redis.hpp"

namespace crawl::queue {

// One site of a job, as status --sites shows it. Times are ms by Redis's clock.
struct SiteInfo {
  std::string site;
  long long queued = 0;      // entries of the job waiting on it
  long long busy = 0;        // requests in flight, fleet-wide
  std::int64_t due_ms = 0;   // when the job may next lease from it (0: waiting for a slot)
  std::int64_t last_ms = 0;  // start of its last request
  std::int64_t backoff_until_ms = 0;
  std::string backoff_reason;
  long long failures = 0;  // site-level failures in a row
  std::int64_t crawl_delay_ms = 0;
  std::int64_t gone_until_ms = 0;  // given up on until then
  bool for_slot = false;           // waiting for a request in flight to end
};

class Sites {
 public:
  Sites(Redis& redis, const Keys& keys) : m_redis(redis), m_keys(keys) {}

  // The fleet's copy of a site's rules (serialized) and how long it still stands (-1 ms: no
  // expiry), so a worker holds a short one (an unreachable robots.txt, kept for the site's
  // back-off) no longer than the fleet does.
  struct CachedRobots {
    std::string text;
    std::chrono::milliseconds ttl{-1};
  };
  Result<std::optional<CachedRobots>> robots(const std::string& origin);
  // Caches the rules for `ttl` and frees the fetch lock.
  Result<void> store_robots(const std::string& origin, const std::string& serialized,
                            std::chrono::milliseconds ttl);
  // True if this caller should fetch the origin's robots.txt (a lock held for `ttl`).
  Result<bool> lock_robots(const std::string& origin, std::chrono::milliseconds ttl);
  // The Crawl-delay robots.txt gives the site (0: none): claims space its requests by it.
  Result<void> set_crawl_delay(const std::string& site, std::chrono::milliseconds delay);
  // The job's `n` sites with the most queued entries, and the server's clock (ms): O(n).
  Result<std::vector<SiteInfo>> busiest(const std::string& job, std::size_t n,
                                        std::int64_t* now_ms = nullptr);

 private:
  Redis& m_redis;
  const Keys& m_keys;
};

}  // namespace crawl::queue
