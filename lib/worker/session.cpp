#include "worker/session.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "worker/clock.hpp"

namespace crawl::worker {

using namespace std::chrono_literals;

bool RedisSession::connect(std::int64_t now) {
  if (m_queue || now < m_next_connect_ms) return false;
  auto redis = queue::Redis::connect(m_url, 5s);
  if (!redis) {
    spdlog::warn("event=redis_unreachable retry_in_ms={} error=\"{}\"", m_backoff.count(),
                 redis.error().message);
    m_next_connect_ms = now + m_backoff.count();
    // A restarting Redis is given room (up to 5 s between tries); with Sentinels, the primary
    // is looked for every second at most, so a failover costs little more than its own time.
    m_backoff =
        std::min<std::chrono::milliseconds>(m_backoff * 2, m_url.sentinels.empty() ? 5s : 1s);
    return false;
  }
  m_backoff = 100ms;
  redis->set_durability(m_durability);
  note_dissent(redis->dissent());
  const std::string server = redis->server();
  m_queue.emplace(std::move(*redis), queue::Keys{m_prefix});
  spdlog::info("event=redis_connected url={} server={}", m_url.display, server);
  // The Sentinels named another primary than the last connection's: a failover.
  if (!m_server.empty() && server != m_server)
    spdlog::warn("event=redis_failover from={} to={}", m_server, server);
  m_server = server;
  return true;
}

bool RedisSession::primary_holds(std::int64_t now) {
  if (!m_queue) return false;
  auto named = m_primary_check.moved(m_url, m_server, now);
  note_dissent(m_primary_check.dissent());
  if (!named) return true;
  spdlog::warn("event=redis_primary_moved server={} named={}", m_server, *named);
  m_queue.reset();  // the next connect() reaches the primary the Sentinels name
  return false;
}

void RedisSession::failed(const Error& error, std::string_view what) {
  auto it = m_error_log.find(what);
  if (it == m_error_log.end()) it = m_error_log.emplace(std::string(what), std::pair{0, 0}).first;
  auto& [next_ms, unlogged] = it->second;
  if (const std::int64_t now = now_ms(); now >= next_ms) {
    spdlog::warn("event=redis_error during={} error=\"{}\"{}", what, error.message,
                 unlogged > 0 ? fmt::format(" unlogged={}", unlogged) : "");
    next_ms = now + 10'000;
    unlogged = 0;
  } else {
    ++unlogged;
  }
  if (error.kind == ErrorKind::connection) m_queue.reset();
}

void RedisSession::note_dissent(const std::vector<std::string>& dissent) {
  if (dissent == m_dissent) return;
  for (const auto& line : dissent) spdlog::warn("event=sentinel_disagrees detail=\"{}\"", line);
  m_dissent = dissent;
}

}  // namespace crawl::worker
