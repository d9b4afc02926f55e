#include "queue/queue.hpp"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "policy/scope.hpp"
#include "queue/scripts.hpp"
#include "url/url.hpp"

namespace crawl::queue {

namespace {

constexpr std::size_t k_links_per_call = 1000;  // URLs per enqueue script call
constexpr std::size_t k_calls_per_trip = 4;     // script calls per round trip
using scripts::k_submitter_ttl_ms;

std::string_view kind_name(PageOutcome::Kind kind) {
  switch (kind) {
    case PageOutcome::Kind::done: return "done";
    case PageOutcome::Kind::failed: return "failed";
    case PageOutcome::Kind::filtered: return "filtered";
    case PageOutcome::Kind::retry: return "retry";
    case PageOutcome::Kind::release: return "release";
    case PageOutcome::Kind::defer: return "defer";
    case PageOutcome::Kind::cancel: return "cancel";
  }
  return "?";
}

void add_link(std::vector<std::string>& args, const Link& link) {
  args.push_back(
      fingerprint_bytes(link.fingerprint != 0 ? link.fingerprint : url::fingerprint(link.url)));
  args.push_back(link.url);
  args.push_back(link.drop);
}

Result<void> expect_ok(const Result<Reply>& reply, std::string_view what) {
  if (!reply) return fail(reply.error());
  if (!reply->ok()) return fail("{}: {}", what, reply->str);
  return {};
}

long long to_number(const std::string& s) {
  long long n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

std::vector<std::string> strings(const Reply& r) {
  std::vector<std::string> out;
  for (const Reply& e : r.elements) out.push_back(e.str);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> job_fields(const policy::JobOptions& o) {
  return {{"scope", std::string(policy::to_string(o.scope))},
          {"max_depth", std::to_string(o.max_depth)},
          {"max_pages", std::to_string(o.max_pages)},
          {"allow", nlohmann::json(o.allow).dump()},
          {"deny", nlohmann::json(o.deny).dump()},
          {"respect_robots", o.respect_robots ? "1" : "0"},
          {"delay_ms", std::to_string(o.delay.count())},
          {"max_retries", std::to_string(o.max_retries)},
          {"max_url_length", std::to_string(o.max_url_length)},
          {"max_repeats", std::to_string(o.max_repeats)}};
}

Result<policy::JobOptions> job_options(const std::map<std::string, std::string>& f) {
  policy::JobOptions o;
  auto get = [&](const char* key) -> const std::string* {
    auto it = f.find(key);
    return it == f.end() ? nullptr : &it->second;
  };
  if (auto* v = get("scope"); v && !policy::parse_scope(*v, o.scope))
    return fail("job has an unknown scope '{}'", *v);
  if (auto* v = get("max_depth")) o.max_depth = static_cast<int>(to_number(*v));
  if (auto* v = get("max_pages")) o.max_pages = static_cast<std::uint64_t>(to_number(*v));
  for (auto [key, list] : {std::pair{"allow", &o.allow}, std::pair{"deny", &o.deny}})
    if (auto* v = get(key)) {
      auto j = nlohmann::json::parse(*v, nullptr, false);
      const bool strings = j.is_array() && std::all_of(j.begin(), j.end(), [](const auto& e) { return e.is_string(); });
      if (!strings) return fail("job field '{}' is not a JSON list of strings", key);
      *list = j.get<std::vector<std::string>>();
    }
  if (auto* v = get("respect_robots")) o.respect_robots = *v != "0";
  if (auto* v = get("delay_ms")) o.delay = std::chrono::milliseconds(to_number(*v));
  if (auto* v = get("max_retries")) o.max_retries = static_cast<int>(to_number(*v));
  if (auto* v = get("max_url_length")) o.max_url_length = static_cast<std::size_t>(to_number(*v));
  if (auto* v = get("max_repeats")) o.max_repeats = static_cast<int>(to_number(*v));
  return o;
}

Result<std::string> Queue::create_job(const policy::JobOptions& options, const std::string& name,
                                      const std::vector<std::string>& seed_authorities,
                                      std::int64_t now_ms) {
  // The job's id, and its creation time by the server's clock: the rate status shows is measured
  // against the time of its pages, which the scripts take from the same clock.
  auto first = m_redis.pipeline({{"INCR", m_keys.job_seq()}, {"TIME"}});
  if (!first) return fail(first.error());
  const Reply& id = (*first)[0];
  if (!id.ok()) return fail("creating a job: {}", id.str);
  const std::string job = std::to_string(id.integer);
  if (const auto& t = (*first)[1].elements; t.size() == 2)
    now_ms = to_number(t[0].str) * 1000 + to_number(t[1].str) / 1000;
  std::vector<std::string> hset{"HSET", m_keys.job(job), "name", name, "state", "running",
                                "created_ms", std::to_string(now_ms), "submitting", "1"};
  for (auto& [k, v] : job_fields(options)) {
    hset.push_back(k);
    hset.push_back(v);
  }
  std::vector<std::vector<std::string>> commands{std::move(hset)};
  commands.push_back({"SET", m_keys.submitter(job), "1", "PX", std::to_string(k_submitter_ttl_ms)});
  commands.push_back({"HSET", m_keys.stats(job), "submitted", "0", "queued", "0", "in_flight", "0",
                      "done", "0", "failed", "0", "filtered", "0", "budget_used", "0"});
  for (std::size_t i = 0; i < seed_authorities.size(); i += 1000) {
    std::vector<std::string> sadd{"SADD", m_keys.seeds(job)};
    for (std::size_t k = i; k < std::min(i + 1000, seed_authorities.size()); ++k)
      sadd.push_back(seed_authorities[k]);
    commands.push_back(std::move(sadd));
  }
  commands.push_back({"ZADD", m_keys.jobs(), std::to_string(now_ms), job});
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail("creating job {}: {}", job, r.str);
  return job;
}

Result<void> Queue::begin_submit(const std::string& job, const std::vector<std::string>& seed_authorities) {
  auto begun = m_redis.script(scripts::begin_submit, {m_keys.prefix, job, std::to_string(k_submitter_ttl_ms)});
  if (!begun) return fail(begun.error());
  if (!begun->ok()) return fail("adding seeds to job {}: {}", job, begun->str);
  if (begun->integer == 0) return fail(ErrorKind::not_found, "no job '{}'", job);
  if (begun->integer < 0) return fail(ErrorKind::invalid, "job {} was cancelled: no seeds can be added to it", job);
  std::vector<std::vector<std::string>> commands;
  for (std::size_t i = 0; i < seed_authorities.size(); i += 1000) {
    std::vector<std::string> sadd{"SADD", m_keys.seeds(job)};
    for (std::size_t k = i; k < std::min(i + 1000, seed_authorities.size()); ++k) sadd.push_back(seed_authorities[k]);
    commands.push_back(std::move(sadd));
  }
  if (commands.empty()) return {};
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail("adding seeds to job {}: {}", job, r.str);
  return {};
}

Result<void> Queue::end_submit(const std::string& job) {
  // The last submit to end clears the mark (and the submitter key, which the others kept alive).
  auto r = m_redis.script(scripts::end_submit, {m_keys.prefix, job});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail("ending the submit of job {}: {}", job, r->str);
  return {};
}

Result<Admitted> Queue::enqueue(const std::string& job, int depth, const std::vector<Link>& links,
                                const Progress& progress) {
  std::vector<LinkView> views;
  views.reserve(links.size());
  for (const Link& l : links) views.push_back({l.url, l.drop, l.fingerprint});
  return enqueue(job, depth, views, progress);
}

Result<Admitted> Queue::enqueue(const std::string& job, int depth, const std::vector<LinkView>& links,
                                const Progress& progress) {
  // Batches are sent without waiting: while Redis runs one, the next is prepared, and its
  // replies are read after the following one has gone out.
  Admitted total;
  std::size_t in_flight = 0, sent_upto = 0, acked_upto = 0;
  std::vector<std::vector<std::string_view>> outstanding;  // the batch whose replies are awaited
  auto collect = [&]() -> Result<void> {
    auto replies = m_redis.receive(in_flight);
    if (!replies) return fail(replies.error());
    // A server that lost its script cache refused the whole batch, none of it ran: send it
    // again the slow way, which loads the script first.
    if (!replies->empty() && !replies->front().ok() && replies->front().str.starts_with("NOSCRIPT")) {
      std::vector<std::vector<std::string>> again;
      for (const auto& v : outstanding) again.emplace_back(v.begin(), v.end());
      replies = m_redis.scripts(scripts::enqueue, again);
    }
    if (!replies) return fail(replies.error());
    for (const Reply& r : *replies) {
      if (!r.ok() || r.elements.size() != 2) return fail("enqueue into job {}: {}", job, r.str);
      total.admitted += static_cast<std::uint64_t>(r.elements[0].integer);
      total.duplicates += static_cast<std::uint64_t>(r.elements[1].integer);
    }
    in_flight = 0;
    acked_upto = sent_upto;
    if (progress) progress(acked_upto, total);
    return {};
  };
  // Views into the links; the prefix, job, depth and fingerprints live in these buffers.
  const std::string depth_text = std::to_string(depth);
  std::vector<std::string> fingerprints(links.size());
  std::size_t i = 0;
  while (i < links.size()) {
    std::vector<std::vector<std::string_view>> views;
    for (std::size_t c = 0; c < k_calls_per_trip && i < links.size(); ++c) {
      std::vector<std::string_view> args{m_keys.prefix, job, depth_text};
      const std::size_t end = std::min(i + k_links_per_call, links.size());
      args.reserve(3 + 3 * (end - i));
      for (; i < end; ++i) {
        const LinkView& link = links[i];
        fingerprints[i] = fingerprint_bytes(link.fingerprint != 0 ? link.fingerprint
                                                                  : url::fingerprint(link.url));
        args.insert(args.end(), {fingerprints[i], link.url, link.drop});
      }
      views.push_back(std::move(args));
    }
    if (in_flight > 0)
      if (auto done = collect(); !done) return fail(done.error());
    if (auto sent = m_redis.send_scripts(scripts::enqueue, views); !sent) return fail(sent.error());
    in_flight = views.size();
    outstanding = std::move(views);
    sent_upto = i;
  }
  if (in_flight > 0)
    if (auto done = collect(); !done) return fail(done.error());
  return total;
}

Result<JobInfo> Queue::job(const std::string& id) {
  auto all = jobs({id});
  if (!all) return fail(all.error());
  return std::move(all->front());
}

Result<std::vector<JobInfo>> Queue::jobs(const std::vector<std::string>& ids) {
  std::vector<std::vector<std::string>> commands{{"TIME"}};
  for (const auto& id : ids) {
    commands.push_back({"HGETALL", m_keys.job(id)});
    commands.push_back({"HGETALL", m_keys.stats(id)});
    commands.push_back({"HGETALL", m_keys.rate(id)});
    commands.push_back({"EXISTS", m_keys.submitter(id)});
  }
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  const auto& time = (*replies)[0].elements;
  const long long now_s = time.size() == 2 ? to_number(time[0].str) : 0;
  const long long now_ms = time.size() == 2 ? now_s * 1000 + to_number(time[1].str) / 1000 : 0;
  auto hash = [](const Reply& r) {
    std::map<std::string, std::string> f;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) f[r.elements[i].str] = r.elements[i + 1].str;
    return f;
  };
  std::vector<JobInfo> out;
  for (std::size_t j = 0; j < ids.size(); ++j) {
    const std::string& id = ids[j];
    auto f = hash((*replies)[1 + 4 * j]);
    if (f.empty()) return fail(ErrorKind::not_found, "no job '{}'", id);
    auto options = job_options(f);
    JobInfo info;
    info.id = id;
    info.name = f["name"];
    info.state = f["state"];
    info.created_ms = to_number(f["created_ms"]);
    if (!options) {
      info.problem = options.error().message;
    } else if (auto filter = policy::LinkFilter::create(*options, {}); !filter) {
      info.problem = filter.error().message;  // an allow or deny pattern that does not compile
    } else {
      info.options = std::move(*options);
    }
    info.submitting = to_number(f["submitting"]) > 0;
    info.seeds_version = to_number(f["seeds_version"]);
    info.submitter_alive = (*replies)[4 + 4 * j].integer == 1;
    for (auto& [k, v] : hash((*replies)[2 + 4 * j])) info.stats[k] = to_number(v);
    // The pages-per-second ring (scripts.cpp, complete): the last 60 whole seconds; for a job
    // younger than a minute, every page since its creation, over its age to the millisecond.
    auto rate = hash((*replies)[3 + 4 * j]);
    info.pages_recorded = to_number(rate["pages"]);
    info.last_page_ms = to_number(rate["last_ms"]);
    if (now_ms > 0 && info.created_ms > 0 && now_ms - info.created_ms < 60'000) {
      info.recent_pages = info.pages_recorded;
      info.recent_seconds = static_cast<double>(std::max<long long>(1, now_ms - info.created_ms)) / 1000.0;
    } else if (!rate.empty() && now_s > 0) {
      info.recent_seconds = 60;
      for (int slot = 0; slot < 64; ++slot) {
        const long long second = to_number(rate["t" + std::to_string(slot)]);
        if (second >= now_s - 60 && second < now_s)
          info.recent_pages += to_number(rate["c" + std::to_string(slot)]);
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<JobChange> Queue::control(const std::string& job, JobAction action) {
  constexpr std::size_t k_chunk = 10'000;  // entries per script call: about 10 ms of Redis time
  const char* name = action == JobAction::pause ? "pause" : action == JobAction::resume ? "resume" : "cancel";
  JobChange change;
  while (true) {
    auto r = m_redis.script(scripts::control, {m_keys.prefix, job, name, std::to_string(k_chunk)});
    if (!r) return fail(r.error());
    if (!r->ok() || r->elements.size() != 2) return fail("{} job {}: {}", name, job, r->str);
    change.state = r->elements[0].str;
    change.moved += r->elements[1].integer;
    if (action != JobAction::resume || r->elements[1].integer < static_cast<long long>(k_chunk)) break;
  }
  if (action == JobAction::resume || change.state == "running") return change;
  // Settle the job's entries in the frontier now (and in the delayed set, for a cancel), in
  // chunks so that Redis keeps serving the workers meanwhile. One pass over the frontier as it
  // was: entries pushed since are settled by claim when they are met.
  auto length = m_redis.command({"LLEN", m_keys.frontier()});
  if (!length) return fail(length.error());
  long long left = length->integer;
  long long rank = action == JobAction::cancel ? 0 : -1;
  while (left > 0 || rank >= 0) {
    const long long n = std::clamp<long long>(left, 1, k_chunk);
    auto r = m_redis.script(scripts::sweep, {m_keys.prefix, std::to_string(n), std::to_string(rank)});
    if (!r) return fail(r.error());
    if (!r->ok() || r->elements.size() != 3) return fail("{} job {}: {}", name, job, r->str);
    const long long examined = r->elements[0].integer;
    if (action == JobAction::cancel) change.moved += r->elements[1].integer;
    rank = r->elements[2].integer;
    left = examined < n ? 0 : left - examined;
  }
  return change;
}

Result<std::vector<Queue::JobState>> Queue::job_states(const std::vector<std::string>& ids) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& id : ids) commands.push_back({"HMGET", m_keys.job(id), "state", "seeds_version"});
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  std::vector<JobState> out;
  for (const Reply& r : *replies) {
    JobState s;
    s.state = r.elements.size() == 2 && r.elements[0].type == Reply::Type::string ? r.elements[0].str : "gone";
    if (r.elements.size() == 2) s.seeds_version = to_number(r.elements[1].str);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<std::string>> Queue::seed_authorities(const std::string& job) {
  auto r = m_redis.command({"SMEMBERS", m_keys.seeds(job)});
  if (!r) return fail(r.error());
  return strings(*r);
}

Result<std::vector<std::string>> Queue::job_ids() {
  auto r = m_redis.command({"ZRANGE", m_keys.jobs(), "0", "-1"});
  if (!r) return fail(r.error());
  return strings(*r);
}

Result<std::vector<std::string>> Queue::results(const std::string& job, std::string& cursor,
                                                std::size_t count) {
  auto r = m_redis.command({"HSCAN", m_keys.results(job), cursor, "COUNT", std::to_string(count)});
  if (!r) return fail(r.error());
  if (!r->ok() || r->elements.size() != 2) return fail("reading results of job {}: {}", job, r->str);
  cursor = r->elements[0].str;
  std::vector<std::string> records;
  const auto& pairs = r->elements[1].elements;
  for (std::size_t i = 1; i < pairs.size(); i += 2) records.push_back(pairs[i].str);
  return records;
}

Result<std::vector<Entry>> Queue::claim(const std::string& worker, std::size_t n,
                                        std::int64_t now_ms) {
  auto r = m_redis.script(scripts::claim,
                          {m_keys.prefix, worker, std::to_string(n), std::to_string(now_ms)});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail("claim: {}", r->str);
  std::vector<Entry> entries;
  for (const Reply& e : r->elements)
    if (auto entry = decode(e.str)) entries.push_back(std::move(*entry));
  return entries;
}

Result<bool> Queue::wait_for_work(std::chrono::milliseconds timeout) {
  // BLMOVE from the frontier onto itself blocks until an entry exists and moves nothing out
  // of the list: the entry is only rotated, so a worker that dies here loses nothing.
  const double seconds = static_cast<double>(timeout.count()) / 1000.0;
  auto r = m_redis.command({"BLMOVE", m_keys.frontier(), m_keys.frontier(), "RIGHT", "LEFT",
                            fmt::format("{:.3f}", seconds)});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail("waiting for work: {}", r->str);
  return r->type == Reply::Type::string;
}

Result<Completed> Queue::complete(const std::string& worker, const std::vector<PageOutcome>& pages) {
  if (pages.empty()) return Completed{};
  std::vector<std::string> args{m_keys.prefix, worker};
  for (const PageOutcome& p : pages) {
    Entry retry = p.entry;
    ++retry.attempt;
    args.push_back(encode(p.entry));
    args.push_back(std::string(kind_name(p.kind)));
    args.push_back(p.reason);
    args.push_back(p.entry.url);
    args.push_back(p.record_json);
    args.push_back(std::to_string(p.bytes));
    args.push_back(p.kind == PageOutcome::Kind::retry   ? encode(retry)
                   : p.kind == PageOutcome::Kind::defer ? encode(p.entry)
                                                        : std::string());
    args.push_back(std::to_string(p.not_before_ms));
    args.push_back(std::to_string(p.entry.depth + 1));
    args.push_back(std::to_string(p.links.size()));
    for (const Link& link : p.links) add_link(args, link);
  }
  auto r = m_redis.script(scripts::complete, args);
  if (!r) return fail(r.error());
  if (!r->ok() || r->elements.size() != 2) return fail("recording outcomes: {}", r->str);
  return Completed{static_cast<std::uint64_t>(r->elements[0].integer),
                   static_cast<std::uint64_t>(r->elements[1].integer)};
}

Result<long long> Queue::reap(const std::string& worker, bool force) {
  auto r = m_redis.script(scripts::reap, {m_keys.prefix, worker, force ? "1" : "0"});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail("reaping worker {}: {}", worker, r->str);
  return r->integer;
}

Result<std::vector<Entry>> Queue::leased(const std::string& worker) {
  auto r = m_redis.command({"LRANGE", m_keys.inflight(worker), "0", "-1"});
  if (!r) return fail(r.error());
  std::vector<Entry> entries;
  for (const Reply& e : r->elements)
    if (auto entry = decode(e.str)) entries.push_back(std::move(*entry));
  return entries;
}

Result<void> Queue::heartbeat(const std::string& worker,
                              const std::map<std::string, std::string>& fields,
                              std::chrono::milliseconds ttl) {
  std::vector<std::string> hset{"HSET", m_keys.worker(worker)};
  for (const auto& [k, v] : fields) {
    hset.push_back(k);
    hset.push_back(v);
  }
  hset.push_back("ttl_ms");
  hset.push_back(std::to_string(ttl.count()));
  auto replies = m_redis.pipeline({{"SET", m_keys.alive(worker), "1", "PX", std::to_string(ttl.count())},
                                   std::move(hset),
                                   {"SADD", m_keys.workers(), worker},
                                   {"ZREM", m_keys.dead_workers(), worker}});
  if (!replies) return fail(replies.error());
  for (const Reply& r : *replies)
    if (!r.ok()) return fail("heartbeat of {}: {}", worker, r.str);
  return {};
}

Result<std::vector<std::string>> Queue::worker_ids() {
  auto r = m_redis.command({"SMEMBERS", m_keys.workers()});
  if (!r) return fail(r.error());
  return strings(*r);
}

Result<std::vector<WorkerInfo>> Queue::workers(std::int64_t* now_ms) {
  auto first = m_redis.pipeline({{"SMEMBERS", m_keys.workers()}, {"ZRANGE", m_keys.dead_workers(), "0", "-1"}, {"TIME"}});
  if (!first) return fail(first.error());
  std::map<std::string, WorkerInfo::Liveness> ids;
  for (const Reply& e : (*first)[1].elements) ids[e.str] = WorkerInfo::Liveness::dead;
  for (const Reply& e : (*first)[0].elements) ids[e.str] = WorkerInfo::Liveness::alive;
  const auto& time = (*first)[2].elements;
  const std::int64_t now = time.size() == 2 ? to_number(time[0].str) * 1000 + to_number(time[1].str) / 1000 : 0;
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
    for (std::size_t i = 0; i + 1 < hash.elements.size(); i += 2) w.fields[hash.elements[i].str] = hash.elements[i + 1].str;
    w.liveness = liveness == WorkerInfo::Liveness::dead ? liveness
                 : pttl >= 0                            ? WorkerInfo::Liveness::alive
                                                        : WorkerInfo::Liveness::expired;
    // Ages by the Redis clock: the heartbeat's TTL left, else the worker's own clock.
    const long long ttl = to_number(w.field("ttl_ms"));
    if (w.liveness == WorkerInfo::Liveness::alive && ttl > 0) w.heartbeat_age_ms = std::max(0LL, ttl - pttl);
    else if (const long long last = to_number(w.field("last_ms")); last > 0 && now > 0)
      w.heartbeat_age_ms = std::max<std::int64_t>(0, now - last);
    out.push_back(std::move(w));
  }
  return out;
}

Result<long long> Queue::forget_dead(std::int64_t before_ms) {
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
    if ((*replies)[2 * i + 1].integer == 0) deletes.push_back({"DEL", m_keys.worker(ids->elements[i].str)});
  if (!deletes.empty())
    if (auto d = m_redis.pipeline(deletes); !d) return fail(d.error());
  return static_cast<long long>(ids->elements.size());
}

Result<bool> Queue::alive(const std::string& worker) {
  auto r = m_redis.command({"EXISTS", m_keys.alive(worker)});
  if (!r) return fail(r.error());
  return r->integer == 1;
}

Result<std::vector<Queue::Heartbeat>> Queue::heartbeats(const std::vector<std::string>& workers) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& id : workers) {
    commands.push_back({"EXISTS", m_keys.alive(id)});
    commands.push_back({"HMGET", m_keys.worker(id), "pid", "deploy"});
  }
  auto replies = m_redis.pipeline(commands);
  if (!replies) return fail(replies.error());
  std::vector<Heartbeat> out(workers.size());
  for (std::size_t i = 0; i < workers.size(); ++i) {
    out[i].alive = (*replies)[2 * i].integer == 1;
    const auto& fields = (*replies)[2 * i + 1].elements;
    if (fields.size() == 2) {
      const std::string& pid = fields[0].str;
      std::from_chars(pid.data(), pid.data() + pid.size(), out[i].pid);
      out[i].deploy = fields[1].str;
    }
  }
  return out;
}

Result<long long> Queue::reap_dead(std::chrono::milliseconds every) {
  if (every.count() > 0) {
    // One sweep per interval for the whole fleet, not one per worker: a sweep reads every
    // worker's key, so N workers each sweeping would cost N^2 reads per interval.
    auto turn = m_redis.command({"SET", m_keys.reaper(), "1", "NX", "PX", std::to_string(every.count())});
    if (!turn) return fail(turn.error());
    if (turn->str != "OK") return 0;
  }
  auto ids = worker_ids();
  if (!ids) return fail(ids.error());
  std::vector<std::vector<std::string>> checks;
  for (const auto& id : *ids) checks.push_back({"EXISTS", m_keys.alive(id)});
  auto alive = m_redis.pipeline(checks);
  if (!alive) return fail(alive.error());
  long long returned = 0;
  for (std::size_t i = 0; i < ids->size(); ++i) {
    if ((*alive)[i].integer == 1) continue;
    auto n = reap((*ids)[i], false);  // the script checks again, atomically
    if (!n) return fail(n.error());
    if (*n > 0) returned += *n;
  }
  return returned;
}

Result<std::optional<std::string>> Queue::robots(const std::string& origin) {
  auto r = m_redis.command({"GET", m_keys.robots(origin)});
  if (!r) return fail(r.error());
  if (r->type != Reply::Type::string) return std::optional<std::string>();
  return std::optional<std::string>(r->str);
}

Result<void> Queue::store_robots(const std::string& origin, const std::string& serialized,
                                 std::chrono::milliseconds ttl) {
  return expect_ok(m_redis.command({"SET", m_keys.robots(origin), serialized, "PX",
                                    std::to_string(ttl.count())}),
                   "caching robots.txt");
}

Result<bool> Queue::lock_robots(const std::string& origin, std::chrono::milliseconds ttl) {
  auto r = m_redis.command({"SET", m_keys.robots_lock(origin), "1", "NX", "PX",
                            std::to_string(ttl.count())});
  if (!r) return fail(r.error());
  return r->type == Reply::Type::status;
}

Result<std::int64_t> Queue::reserve(const std::string& authority, std::int64_t now_ms,
                                    std::chrono::milliseconds delay) {
  auto r = m_redis.script(scripts::reserve, {m_keys.prefix, authority, std::to_string(now_ms),
                                             std::to_string(delay.count())});
  if (!r) return fail(r.error());
  if (!r->ok()) return fail("politeness for {}: {}", authority, r->str);
  return to_number(r->str);
}

}  // namespace crawl::queue
