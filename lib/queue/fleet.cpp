#include "queue/fleet.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "queue/frontier.hpp"
#include "queue/replies.hpp"
#include "queue/scripts.hpp"

namespace crawl::queue {

Result<void> Fleet::heartbeat(const std::string& worker, const Heartbeat& beat,
                              std::chrono::milliseconds ttl) {
  Heartbeat b = beat;
  b.ttl_ms = ttl.count();
  auto replies =
      m_redis.pipeline({{"SET", m_keys.alive(worker), "1", "PX", std::to_string(ttl.count())},
                        {"SET", m_keys.worker(worker), encode_heartbeat(b)},
                        {"SADD", m_keys.workers(), worker},
                        {"ZREM", m_keys.dead_workers(), worker}});
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail(ErrorKind::remote, "heartbeat of {}: {}", worker, r.str);
  return {};
}

Result<void> Fleet::reports(std::size_t count,
                            const std::function<const std::string&(std::size_t)>& id,
                            const std::function<Heartbeat&(std::size_t)>& out,
                            const std::function<void(std::size_t, long long)>& alive_ttl) {
  std::vector<std::size_t> hashes;  // written as a hash by a worker of the version before
  auto read = m_redis.stream(
      2 * count,
      [&](std::size_t i, Redis::Args& args) {
        if (i % 2 == 0) {
          args.arg({"GET"});
          args.arg({m_keys.prefix, Keys::k_worker, id(i / 2)});
        } else {
          args.arg({"PTTL"});
          args.arg({m_keys.prefix, Keys::k_worker, id(i / 2), Keys::k_alive});
        }
      },
      [&](std::size_t i, const Redis::ReplyView& r) {
        if (i % 2 == 1)
          alive_ttl(i / 2, r.type == Reply::Type::integer ? r.integer : -2);
        else if (r.type == Reply::Type::string)
          out(i / 2) = decode_heartbeat(r.str);
        else if (r.type == Reply::Type::error && r.str.starts_with("WRONGTYPE"))
          hashes.push_back(i / 2);
      });
  if (!read) return fail(read.error());
  if (hashes.empty()) return {};
  std::vector<std::vector<std::string>> commands;
  for (std::size_t i : hashes) commands.push_back({"HGETALL", m_keys.worker(id(i))});
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  for (std::size_t k = 0; k < hashes.size(); ++k) {
    std::map<std::string, std::string> fields;
    const auto& e = (*replies)[k].elements;
    for (std::size_t i = 0; i + 1 < e.size(); i += 2) fields[e[i].str] = e[i + 1].str;
    out(hashes[k]) = parse_heartbeat_hash(fields);
  }
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
  const auto& time = (*first)[2].elements;
  const std::int64_t now =
      time.size() == 2 ? to_number(time[0].str) * 1000 + to_number(time[1].str) / 1000 : 0;
  if (now_ms) *now_ms = now;
  // The registered and the dead, sorted by id; one registered again is not dead.
  std::vector<std::pair<std::string, bool>> ids;  // id, dead
  ids.reserve((*first)[0].elements.size() + (*first)[1].elements.size());
  for (Reply& e : (*first)[0].elements) ids.emplace_back(std::move(e.str), false);
  for (Reply& e : (*first)[1].elements) ids.emplace_back(std::move(e.str), true);
  std::sort(ids.begin(), ids.end());
  std::vector<WorkerInfo> out;
  out.reserve(ids.size());
  for (auto& [id, dead] : ids) {
    if (!out.empty() && out.back().id == id) continue;
    WorkerInfo& w = out.emplace_back();
    w.id = std::move(id);
    if (dead) w.liveness = WorkerInfo::Liveness::dead;
  }
  std::vector<long long> pttl(out.size(), -2);
  auto read = reports(
      out.size(), [&](std::size_t i) -> const std::string& { return out[i].id; },
      [&](std::size_t i) -> Heartbeat& { return out[i].report; },
      [&](std::size_t i, long long left) { pttl[i] = left; });
  if (!read) return fail(read.error());
  for (std::size_t k = 0; k < out.size(); ++k) {
    WorkerInfo& w = out[k];
    const long long left = pttl[k];
    if (w.liveness != WorkerInfo::Liveness::dead)
      w.liveness = left >= 0 ? WorkerInfo::Liveness::alive : WorkerInfo::Liveness::expired;
    if (w.liveness == WorkerInfo::Liveness::dead) {
      w.report.state = "dead";  // reaped: it holds nothing
      w.report.in_flight = 0;
      w.report.transfers = 0;
    }
    // Ages by the Redis clock: the heartbeat's TTL left, else the worker's own clock.
    const long long ttl = w.report.ttl_ms;
    if (w.liveness == WorkerInfo::Liveness::alive && ttl > 0)
      w.heartbeat_age_ms = std::max(0LL, ttl - left);
    else if (const long long last = w.report.last_ms; last > 0 && now > 0)
      w.heartbeat_age_ms = std::max<std::int64_t>(0, now - last);
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
  std::vector<Heartbeat> beats(workers.size());
  std::vector<Presence> out(workers.size());
  auto read = reports(
      workers.size(), [&](std::size_t i) -> const std::string& { return workers[i]; },
      [&](std::size_t i) -> Heartbeat& { return beats[i]; },
      [&](std::size_t i, long long left) { out[i].alive = left != -2; });  // -2: no such key
  if (!read) return fail(read.error());
  for (std::size_t i = 0; i < workers.size(); ++i) {
    out[i].pid = beats[i].pid;
    out[i].deploy = std::move(beats[i].deploy);
    out[i].last_ms = beats[i].last_ms;
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
