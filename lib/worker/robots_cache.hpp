#pragma once
// robots.txt per origin for one worker: a local cache over the cluster-wide one in Redis, and
// at most one fetch per origin across the fleet (a Redis lock decides who fetches).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fetch/fetcher.hpp"
#include "policy/robots.hpp"
#include "queue/queue.hpp"

namespace crawl::worker {

// What a robots.txt response means (RFC 9309 2.3.1): its rules when it came (2xx); allow all
// when it is unavailable (4xx but 429, or a redirect chain longer than 5 hops, or a 3xx not
// followed); disallow all while it is unreachable (5xx, 429, network failure), for a shorter
// time. An unreachable robots.txt is the site's failure (`failure` names it, `retry_after` is
// its Retry-After): the site is backed off, and the rules kept as long as the back-off. Pure.
struct RobotsAnswer {
  policy::Robots robots;
  std::chrono::milliseconds ttl;
  std::string failure;  // empty when the site answered
  std::optional<std::chrono::milliseconds> retry_after;
};
RobotsAnswer robots_answer(const fetch::Response& response, const std::string& agent,
                           std::int64_t now_ms);

class RobotsCache {
 public:
  // `start_fetch` sends a robots.txt request for a task that waits on it, and returns its
  // request id.
  using StartFetch = std::function<std::uint64_t(const std::string& url, std::uint64_t task)>;
  RobotsCache(std::string agent, StartFetch start_fetch)
      : m_agent(std::move(agent)), m_start_fetch(std::move(start_fetch)) {}

  // The rules for `origin`, or nullptr while they are being found; then `task` is remembered
  // and handed back by ready() once they are known. `queue` may be null while disconnected.
  const policy::Robots* lookup(const std::string& origin, std::uint64_t task, queue::Queue* queue,
                               std::int64_t now_ms);
  // True when `request` was a robots.txt fetch; its outcome is then recorded (an unreachable
  // one backs the site off, fleet-wide).
  bool on_response(const fetch::Response& response, queue::Queue* queue, std::int64_t now_ms);
  // Looks again for origins another worker is fetching; returns tasks whose rules are now known.
  std::vector<std::uint64_t> ready(queue::Queue* queue, std::int64_t now_ms);
  // How long the rules known for `origin` hold (0 if none are known).
  std::int64_t expires_in(const std::string& origin, std::int64_t now_ms) const;

 private:
  struct Origin {
    std::optional<policy::Robots> robots;
    std::int64_t expires_ms = 0;
    bool fetching = false;
    bool refetch = false;  // fetch again, without asking for the lock: this worker holds it
    std::int64_t recheck_ms = 0;
    std::vector<std::uint64_t> waiting;
  };
  void check(const std::string& origin, Origin& o, queue::Queue* queue, std::int64_t now_ms,
             std::uint64_t task);

  std::string m_agent;
  StartFetch m_start_fetch;
  std::map<std::string, Origin> m_origins;
  std::map<std::uint64_t, std::string> m_requests;  // robots.txt request id -> origin
  std::vector<std::uint64_t> m_resolved;            // tasks freed by a finished fetch
};

}  // namespace crawl::worker
