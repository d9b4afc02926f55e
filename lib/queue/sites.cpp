#include "queue/sites.hpp"

#include <algorithm>

#include "queue/replies.hpp"

namespace crawl::queue {

namespace {

constexpr long long k_site_ttl_ms = 86'400'000;  // as lua/prelude.lua: an idle site's state lapses

}  // namespace

Result<std::optional<Sites::CachedRobots>> Sites::robots(const std::string& origin) {
  auto r = m_redis.pipeline({{"GET", m_keys.robots(origin)}, {"PTTL", m_keys.robots(origin)}});
  if (!r) return fail(r.error());
  if ((*r)[0].type != Reply::Type::string) return std::optional<CachedRobots>();
  return std::optional<CachedRobots>(CachedRobots{
      (*r)[0].str, std::chrono::milliseconds((*r)[1].integer < 0 ? -1 : (*r)[1].integer)});
}

Result<void> Sites::store_robots(const std::string& origin, const std::string& serialized,
                                 std::chrono::milliseconds ttl) {
  // Stored, the fetch lock goes: when the copy lapses (a short one, for an unreachable
  // robots.txt, lasts as long as the site's back-off), the next worker to ask fetches again.
  auto replies = m_redis.pipeline(
      {{"SET", m_keys.robots(origin), serialized, "PX", std::to_string(ttl.count())},
       {"DEL", m_keys.robots_lock(origin)}});
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail(ErrorKind::remote, "caching robots.txt of {}: {}", origin, r.str);
  return {};
}

Result<bool> Sites::lock_robots(const std::string& origin, std::chrono::milliseconds ttl) {
  auto r = m_redis.command(
      {"SET", m_keys.robots_lock(origin), "1", "NX", "PX", std::to_string(ttl.count())});
  if (!r) return fail(r.error());
  return r->type == Reply::Type::status;
}

Result<void> Sites::set_crawl_delay(const std::string& site, std::chrono::milliseconds delay) {
  auto replies =
      m_redis.pipeline({{"HSET", m_keys.site(site), "crawl_delay", std::to_string(delay.count())},
                        {"PEXPIRE", m_keys.site(site), std::to_string(k_site_ttl_ms)}});
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail(ErrorKind::remote, "recording the Crawl-delay of {}: {}", site, r.str);
  return {};
}

Result<std::vector<SiteInfo>> Sites::busiest(const std::string& job, std::size_t n,
                                             std::int64_t* now_ms) {
  auto top = m_redis.pipeline({{"ZREVRANGE", m_keys.sites(job), "0",
                                std::to_string(static_cast<long long>(n) - 1), "WITHSCORES"},
                               {"TIME"}});
  if (!top) return fail(top.error());
  if (now_ms) *now_ms = server_ms((*top)[1]);
  const auto& pairs = (*top)[0].elements;
  std::vector<SiteInfo> out;
  std::vector<std::vector<std::string>> commands;
  for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
    SiteInfo s;
    s.site = pairs[i].str;
    s.queued = to_number(pairs[i + 1].str);
    out.push_back(std::move(s));
    commands.push_back({"HMGET", m_keys.site(pairs[i].str), "busy", "last", "backoff_until",
                        "backoff_reason", "failures", "crawl_delay", "gone_until"});
    commands.push_back({"ZSCORE", m_keys.schedule(job), pairs[i].str});
    commands.push_back({"SISMEMBER", m_keys.blocked(job), pairs[i].str});
    commands.push_back({"LLEN", m_keys.queue(job, pairs[i].str)});  // the score is a guide
  }
  if (commands.empty()) return out;
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  for (std::size_t k = 0; k < out.size(); ++k) {
    const auto& f = (*replies)[4 * k].elements;
    SiteInfo& s = out[k];
    if (f.size() == 7) {
      s.busy = to_number(f[0].str);
      s.last_ms = to_number(f[1].str);
      s.backoff_until_ms = to_number(f[2].str);
      s.backoff_reason = f[3].str;
      s.failures = to_number(f[4].str);
      s.crawl_delay_ms = to_number(f[5].str);
      s.gone_until_ms = to_number(f[6].str);
    }
    s.due_ms = to_number((*replies)[4 * k + 1].str);
    s.for_slot = (*replies)[4 * k + 2].integer == 1;
    s.queued = (*replies)[4 * k + 3].integer;
  }
  // Chosen by their counts in P:sites (right within 2x), shown in the order of their lengths.
  std::stable_sort(out.begin(), out.end(),
                   [](const SiteInfo& a, const SiteInfo& b) { return a.queued > b.queued; });
  return out;
}

}  // namespace crawl::queue
