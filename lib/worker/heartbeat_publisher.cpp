#include "worker/heartbeat_publisher.hpp"

#include <cstdio>

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace crawl::worker {

std::uint64_t rss_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

HeartbeatPublisher::HeartbeatPublisher(std::string id, std::string host, std::string deploy_id,
                                       const config::WorkerSettings& settings,
                                       std::int64_t started_ms)
    : m_id(std::move(id)),
      m_host(std::move(host)),
      m_deploy(std::move(deploy_id)),
      m_settings(settings),
      m_started_ms(started_ms),
      m_next_stats_ms(started_ms + 1000) {}

bool HeartbeatPublisher::beat(RedisSession& redis, const Pulse& pulse, std::int64_t now) {
  if (!redis.connected() || now < m_next_ms) return false;
  m_next_ms = now + m_settings.heartbeat_interval.count();
  if (!redis.primary_holds(now)) return false;
  const Stats& stats = pulse.stats;
  auto number = [&](const char* k) -> std::uint64_t {
    auto it = stats.counts.find(k);
    return it == stats.counts.end() ? 0 : it->second;
  };
  queue::Heartbeat beat;
  beat.host = m_host;
  beat.pid = getpid();
  beat.state = pulse.draining ? "draining" : "running";
  beat.started_ms = m_started_ms;
  beat.deploy = m_deploy;
  beat.last_ms = now;
  beat.in_flight = pulse.in_flight;
  beat.transfers = pulse.transfers;
  beat.body_memory = pulse.body_memory;
  beat.pages = number("done");
  beat.failed = number("failed");
  beat.filtered = number("filtered");
  beat.retries = number("retries");
  beat.bytes = number("bytes");
  beat.rate = stats.rate(now);
  beat.errors = stats.errors;
  beat.rss_bytes = rss_bytes();
  beat.concurrency = m_settings.concurrency;
  if (!redis.ok(redis.queue()->fleet().heartbeat(m_id, beat, m_settings.heartbeat_ttl),
                "heartbeat"))
    return false;
  if (queue::Queue* queue = redis.queue()) {
    auto reaped = queue->fleet().reap_dead(m_settings.heartbeat_interval);
    if (redis.ok(reaped, "reap") && *reaped > 0)
      spdlog::info("event=reaped_dead_workers returned={}", *reaped);
  }
  if (m_settings.stats_interval.count() > 0 && now >= m_next_stats_ms) {
    // Progress in the log too, for whoever reads it (crawlctl logs) rather than Redis.
    m_next_stats_ms = now + m_settings.stats_interval.count();
    spdlog::info(
        "event=stats pages={} failed={} filtered={} retries={} rate={:.2f} in_flight={} "
        "rss_bytes={}",
        beat.pages, beat.failed, beat.filtered, beat.retries, beat.rate, beat.in_flight,
        beat.rss_bytes);
  }
  return true;
}

}  // namespace crawl::worker
