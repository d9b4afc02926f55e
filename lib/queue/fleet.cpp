#include "queue/fleet.hpp"

#include <algorithm>
#include <charconv>

#include "queue/frontier.hpp"
#include "queue/replies.hpp"
#include "queue/scripts.hpp"

namespace crawl::queue {

Result<void> Fleet::heartbeat(const std::string& worker, const Heartbeat& beat,
                              std::chrono::milliseconds ttl) {
  Heartbeat b = beat;
  b.ttl_ms = ttl.count();
  std::vector<std::string> hset{"HSET", m_keys.worker(worker)};
  for (auto& [k, v] : heartbeat_fields(b)) {
    hset.push_back(std::move(k));
    hset.push_back(std::move(v));
  }
  auto replies =
      m_redis.pipeline({{"SET", m_keys.alive(worker), "1", "PX", std::to_string(ttl.count())},
                        std::move(hset),
                        {"SADD", m_keys.workers(), worker},
                        {"ZREM", m_keys.dead_workers(), worker}});
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail(ErrorKind::remote, "heartbeat of {}: {}", worker, r.str);
  return {};
}

Result<std::vector<std::string>> Fleet::worker_ids() {
  auto r = m_redis.command({"SMEMBERS", m_keys.workers()});
  if (!r) return fail(r.error());
  return strings_of(*r);
}

Result<std::vector<WorkerInfo>> Fleet::workers(std::int64_t* now_ms) {
  auto first = m_redis.pipeline(
      {{"SMEMBERS", m_keys.workers()}, {"ZRANGE", m_keys.dead_workers(), "0", "-1"}, {"TIME"}});
  if (!first) return fail(first.error());
  std::map<std::string, WorkerInfo::Liveness> ids;
  for (const Reply& e : (*first)[1].elements) ids[e.str] = WorkerInfo::Liveness::dead;
  for (const Reply& e : (*first)[0].elements) ids[e.str] = WorkerInfo::Liveness::alive;
  const auto& time = (*first)[2].elements;
  const std::int64_t now =
      time.size() == 2 ? to_number(time[0].str) * 1000 + to_number(time[1].str) / 1000 : 0;
  if (now_ms) *now_ms = now;
  std::vector<std::vector<std::string>> commands;
  for (const auto& [id, liveness] : ids) {
    commands.push_back({"HGETALL", m_keys.worker(id)});
    commands.push_back({"PTTL", m_keys.alive(id)});
  }
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  std::vector<WorkerInfo> out;
  std::size_t k = 0;
  for (const auto& [id, liveness] : ids) {
    WorkerInfo w;
    w.id = id;
    const Reply& hash = (*replies)[2 * k];
    const long long pttl = (*replies)[2 * k + 1].integer;
    ++k;
    std::map<std::string, std::string> fields;
    for (std::size_t i = 0; i + 1 < hash.elements.size(); i += 2)
      fields[hash.elements[i].str] = hash.elements[i + 1].str;
    w.report = parse_heartbeat(fields);
    w.liveness = liveness == WorkerInfo::Liveness::dead ? liveness
                 : pttl >= 0                            ? WorkerInfo::Liveness::alive
                                                        : WorkerInfo::Liveness::expired;
    // Ages by the Redis clock: the heartbeat's TTL left, else the worker's own clock.
    const long long ttl = w.report.ttl_ms;
    if (w.liveness == WorkerInfo::Liveness::alive && ttl > 0)
      w.heartbeat_age_ms = std::max(0LL, ttl - pttl);
    else if (const long long last = w.report.last_ms; last > 0 && now > 0)
      w.heartbeat_age_ms = std::max<std::int64_t>(0, now - last);
    out.push_back(std::move(w));
  }
  return out;
}

Result<long long> Fleet::forget_dead(std::int64_t before_ms) {
  const std::string max = before_ms > 0 ? "(" + std::to_string(before_ms) : "+inf";
  auto ids = m_redis.command({"ZRANGEBYSCORE", m_keys.dead_workers(), "-inf", max});
  if (!ids) return fail(ids.error());
  std::vector<std::vector<std::string>> commands;
  for (const Reply& e : ids->elements) {
    // Only if it is still dead: a worker back under this id keeps its heartbeat.
    commands.push_back({"ZREM", m_keys.dead_workers(), e.str});
    commands.push_back({"SISMEMBER", m_keys.workers(), e.str});
  }
  if (commands.empty()) return 0;
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  std::vector<std::vector<std::string>> deletes;
  for (std::size_t i = 0; i < ids->elements.size(); ++i)
    if ((*replies)[2 * i + 1].integer == 0)
      deletes.push_back({"DEL", m_keys.worker(ids->elements[i].str)});
  if (!deletes.empty())
    if (auto d = m_redis.pipeline(deletes); !d) return fail(d.error());
  return static_cast<long long>(ids->elements.size());
}

Result<bool> Fleet::alive(const std::string& worker) {
  auto r = m_redis.command({"EXISTS", m_keys.alive(worker)});
  if (!r) return fail(r.error());
  return r->integer == 1;
}

Result<std::vector<Fleet::Presence>> Fleet::heartbeats(const std::vector<std::string>& workers) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& id : workers) {
    commands.push_back({"EXISTS", m_keys.alive(id)});
    commands.push_back({"HMGET", m_keys.worker(id), std::string(k_heartbeat_pid),
                        std::string(k_heartbeat_deploy), std::string(k_heartbeat_last_ms)});
  }
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  std::vector<Presence> out(workers.size());
  for (std::size_t i = 0; i < workers.size(); ++i) {
    out[i].alive = (*replies)[2 * i].integer == 1;
    const auto& fields = (*replies)[2 * i + 1].elements;
    if (fields.size() == 3) {
      const std::string& pid = fields[0].str;
      std::from_chars(pid.data(), pid.data() + pid.size(), out[i].pid);
      out[i].deploy = fields[1].str;
      const std::string& last = fields[2].str;
      std::from_chars(last.data(), last.data() + last.size(), out[i].last_ms);
    }
  }
  return out;
}

Result<long long> Fleet::reap_dead(std::chrono::milliseconds every) {
  if (every.count() > 0) {
    // One sweep per interval for the whole fleet, not one per worker: a sweep reads every
    // worker's key, so N workers each sweeping would cost N^2 reads per interval.
    auto turn =
        m_redis.command({"SET", m_keys.reaper(), "1", "NX", "PX", std::to_string(every.count())});
    if (!turn) return fail(turn.error());
    if (turn->str != "OK") return 0;
  }
  // Jobs whose loader is gone go on; a refusal of that script is said after the dead are reaped.
  auto released = m_redis.script(scripts::loading, {m_keys.prefix});
  if (!released) return fail(released.error());
  auto ids = worker_ids();
  if (!ids) return fail(ids.error());
  std::vector<std::vector<std::string>> checks;
  for (const auto& id : *ids) checks.push_back({"EXISTS", m_keys.alive(id)});
  auto alive = m_redis.pipeline(checks);
  if (!alive) return fail(alive.error());
  long long returned = 0;
  for (std::size_t i = 0; i < ids->size(); ++i) {
    if ((*alive)[i].integer == 1) continue;
    auto n = Frontier(m_redis, m_keys)
                 .reap((*ids)[i], Reap::if_dead);  // the script checks again, atomically
    if (!n) return fail(n.error());
    if (*n > 0) returned += *n;
  }
  if (!released->ok())
    return fail(ErrorKind::remote, "releasing jobs whose loader is gone: {}", released->str);
  return returned;
}

Result<long long> Fleet::leave(const std::string& worker) {
  // A lease still held (an outcome Redis refused, one adopted while reconnecting during a drain)
  // goes back first: once the worker is no longer registered, no reaper would look at it.
  auto returned = Frontier(m_redis, m_keys).reap(worker, Reap::even_alive);
  if (!returned) return fail(returned.error());
  auto replies = m_redis.pipeline({{"DEL", m_keys.alive(worker), m_keys.worker(worker)},
                                   {"SREM", m_keys.workers(), worker},
                                   {"ZREM", m_keys.dead_workers(), worker}});
  if (!replies) return fail(replies.error());
  return *returned;
}

void parse_replication(std::string_view info, Replication& out) {
  // Lines "role:master", "connected_slaves:2",
  // "slave0:ip=...,port=...,state=online,offset=...,lag=0".
  std::size_t pos = 0;
  while (pos < info.size()) {
    std::size_t end = info.find('\n', pos);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("role:")) {
      out.role = std::string(line.substr(5));
    } else if (line.starts_with("slave") && line.find(":ip=") != std::string_view::npos) {
      ++out.replicas;
      const auto lag_at = line.find("lag=");
      long lag = 1 << 30;
      if (lag_at != std::string_view::npos) {
        const std::string_view v = line.substr(lag_at + 4, line.find(',', lag_at) - lag_at - 4);
        std::from_chars(v.data(), v.data() + v.size(), lag);
      }
      if (line.find("state=online") != std::string_view::npos && lag <= 1) ++out.in_sync;
    }
  }
}

Result<Replication> Fleet::replication() {
  auto info = m_redis.command({"INFO", "replication"});
  if (!info) return fail(info.error());
  if (!info->ok())
    return fail(ErrorKind::remote, "Redis at {}: INFO: {}", m_redis.url().display, info->str);
  Replication r;
  r.server = m_redis.server();
  r.url = m_redis.url().display;
  r.via_sentinels = !m_redis.url().sentinels.empty();
  parse_replication(info->str, r);
  return r;
}

Result<long long> Fleet::used_memory() {
  auto info = m_redis.command({"INFO", "memory"});
  if (!info) return fail(info.error());
  if (!info->ok())
    return fail(ErrorKind::remote, "Redis at {}: INFO: {}", m_redis.url().display, info->str);
  const std::string_view text = info->str;
  constexpr std::string_view key = "used_memory:";
  for (std::size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    if (at != 0 && text[at - 1] != '\n') continue;
    long long bytes = 0;
    const char* begin = text.data() + at + key.size();
    std::from_chars(begin, text.data() + text.size(), bytes);
    return bytes;
  }
  return fail(ErrorKind::remote, "Redis at {}: INFO memory has no used_memory",
              m_redis.url().display);
}

}  // namespace crawl::queue
