#include "worker/robots_cache.hpp"

#include <algorithm>

#include "policy/politeness.hpp"

namespace crawl::worker {

namespace {

constexpr std::int64_t k_local_ms = 10 * 60 * 1000;              // trust a local copy this long
constexpr std::chrono::milliseconds k_shared{24 * 3600 * 1000};  // the shared copy, RFC 9309 2.4
constexpr std::chrono::milliseconds k_unreachable{60 * 1000};    // "disallow all" after a 5xx
constexpr std::chrono::milliseconds k_lock{30 * 1000};
constexpr std::int64_t k_recheck_ms = 250;
constexpr std::int64_t k_refetch_ms = 1000;  // after a fetch the body memory cut short

}  // namespace

RobotsAnswer robots_answer(const fetch::Response& r, const std::string& agent,
                           std::int64_t now_ms) {
  if (r.failure != fetch::Failure::none && r.failure != fetch::Failure::redirects)
    return {policy::Robots::disallow_all(), k_unreachable, std::string(fetch::to_string(r.failure)),
            std::nullopt};
  if (r.failure == fetch::Failure::none && (r.status >= 500 || r.status == 429 || r.status < 200))
    return {policy::Robots::disallow_all(), k_unreachable, "http_" + std::to_string(r.status),
            policy::parse_retry_after(r.retry_after, now_ms)};
  if (r.failure == fetch::Failure::none && r.status >= 200 && r.status < 300)
    return {policy::parse_robots(r.body, agent), k_shared, "", std::nullopt};
  return {policy::Robots::allow_all(), k_shared, "",
          std::nullopt};  // unavailable: 3xx, 4xx, too many redirects
}

const policy::Robots* RobotsCache::lookup(const std::string& origin, std::uint64_t task,
                                          queue::Queue* queue, std::int64_t now_ms) {
  Origin& o = m_origins[origin];
  if (o.robots && now_ms < o.expires_ms) return &*o.robots;
  if (!o.fetching && now_ms >= o.recheck_ms) check(origin, o, queue, now_ms, task);
  if (o.robots && now_ms < o.expires_ms) return &*o.robots;
  if (std::find(o.waiting.begin(), o.waiting.end(), task) == o.waiting.end())
    o.waiting.push_back(task);
  return nullptr;
}

void RobotsCache::check(const std::string& origin, Origin& o, queue::Queue* queue,
                        std::int64_t now_ms, std::uint64_t task) {
  o.recheck_ms = now_ms + k_recheck_ms;
  if (o.refetch) {
    o.refetch = false;
    o.fetching = true;
    m_requests[m_start_fetch(origin + "/robots.txt", task)] = origin;
    return;
  }
  if (queue == nullptr) return;
  auto cached = queue->sites().robots(origin);
  if (cached && *cached)
    if (auto robots = policy::Robots::deserialize((*cached)->text)) {
      // Trusted here as long as the fleet's copy stands, at most k_local_ms: a short copy (an
      // unreachable robots.txt, for the site's back-off) is asked for again when it lapses.
      const std::int64_t ttl = (*cached)->ttl.count();
      o.robots = std::move(*robots);
      o.expires_ms = now_ms + (ttl >= 0 ? std::min<std::int64_t>(k_local_ms, ttl) : k_local_ms);
      return;
    }
  auto locked = queue->sites().lock_robots(origin, k_lock);
  if (locked && *locked) {
    o.fetching = true;
    m_requests[m_start_fetch(origin + "/robots.txt", task)] = origin;
  }
}

bool RobotsCache::on_response(const fetch::Response& r, queue::Queue* queue, std::int64_t now_ms) {
  auto it = m_requests.find(r.id);
  if (it == m_requests.end()) return false;
  const std::string origin = it->second;
  m_requests.erase(it);
  if (r.memory_cut) {
    // Read only in part (the worker's body memory was in use): rules past the cut would be
    // missing, so nothing is decided; this worker, which still holds the fetch lock, asks again
    // in a second, and the waiting URLs wait.
    Origin& o = m_origins[origin];
    o.fetching = false;
    o.refetch = true;
    o.recheck_ms = now_ms + k_refetch_ms;
    return true;
  }
  auto [robots, ttl, failure, retry_after] = robots_answer(r, m_agent, now_ms);
  if (!failure.empty() && queue != nullptr) {
    // The site's failure, as a page's would be: every worker leaves it alone for its back-off,
    // and the "disallow all" lasts as long, so that the next lease asks again.
    auto backoff = queue->frontier().site_failed(
        origin, failure, retry_after.value_or(std::chrono::milliseconds(0)));
    if (backoff) ttl = std::max(std::chrono::milliseconds(1000), std::min(ttl, *backoff));
  }
  if (queue != nullptr) (void)queue->sites().store_robots(origin, robots.serialize(), ttl);
  Origin& o = m_origins[origin];
  o.robots = std::move(robots);
  o.expires_ms = now_ms + std::min<std::int64_t>(k_local_ms, ttl.count());
  o.fetching = false;
  m_resolved.insert(m_resolved.end(), o.waiting.begin(), o.waiting.end());
  o.waiting.clear();
  return true;
}

std::int64_t RobotsCache::expires_in(const std::string& origin, std::int64_t now_ms) const {
  auto it = m_origins.find(origin);
  if (it == m_origins.end() || !it->second.robots) return 0;
  return std::max<std::int64_t>(0, it->second.expires_ms - now_ms);
}

std::vector<std::uint64_t> RobotsCache::ready(queue::Queue* queue, std::int64_t now_ms) {
  std::vector<std::uint64_t> out = std::move(m_resolved);
  m_resolved.clear();
  for (auto& [origin, o] : m_origins) {
    if (o.waiting.empty() || o.fetching || now_ms < o.recheck_ms) continue;
    check(origin, o, queue, now_ms, o.waiting.front());
    if (o.robots && now_ms < o.expires_ms) {
      out.insert(out.end(), o.waiting.begin(), o.waiting.end());
      o.waiting.clear();
    }
  }
  return out;
}

}  // namespace crawl::worker
