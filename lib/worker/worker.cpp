#include "worker/worker.hpp"

#include <unistd.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "fetch/fetcher.hpp"
#include "html/html.hpp"
#include "policy/politeness.hpp"
#include "policy/scope.hpp"
#include "queue/queue.hpp"
#include "queue/record.hpp"
#include "url/url.hpp"
#include "worker/decide.hpp"
#include "worker/parse_pool.hpp"
#include "worker/robots_cache.hpp"
#include "worker/step.hpp"

namespace crawl::worker {

namespace {

using namespace std::chrono_literals;
using Kind = queue::PageOutcome::Kind;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t rss_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string path_and_query(std::string_view normalized) {
  const url::Parts p = url::split(normalized);
  return std::string(p.path) + (p.query.empty() ? "" : "?" + std::string(p.query));
}

struct JobContext {
  queue::JobInfo info;
  std::shared_ptr<const policy::LinkFilter> filter;
  std::string broken;  // why the job cannot be crawled as it stands (then no filter)
};

// An idle worker whose next claim is due sooner than this sleeps until then instead of
// blocking in Redis.
constexpr std::chrono::milliseconds k_short_wait{250};

// A broken job's URLs wait this long in the delayed set before they are looked at again.
constexpr std::chrono::milliseconds k_broken_job_wait{5'000};

// One leased URL, from its lease to its outcome. Its site's slot is held from the claim on:
// the first request leaves at once; a redirect within the site waits for the site's delay
// (stage polite), a redirect to another site ends the task (the target is admitted as a URL of
// its own).
struct Task {
  std::uint64_t id = 0;
  queue::Entry entry;
  Attempt attempt;
  std::shared_ptr<const JobContext> job;
  enum class Stage { robots, polite, fetching, parsing } stage = Stage::robots;
  StepState steps;  // robots.txt, the site's delay: worker/step.hpp
  std::int64_t not_before_ms = 0;  // polite: ask again then; retry, defer: how long to wait
  std::int64_t fetch_ms = 0;
  fetch::Response last;  // body moved to the parser
  std::uint64_t body_bytes = 0;
  queue::PageOutcome::Site site = queue::PageOutcome::Site::unknown;  // what its site's answer said
  std::chrono::milliseconds site_backoff{0};
  std::optional<std::string> moved_to;  // a redirect to another site
};

// Counters for heartbeats; pages per second over the last minute from per-second buckets.
struct Stats {
  std::map<std::string, std::uint64_t> counts;  // done, failed, filtered, retries, bytes
  std::map<std::string, std::uint64_t> errors;  // by reason
  std::map<std::int64_t, std::uint64_t> per_second;

  void page(std::int64_t now) {
    ++per_second[now / 1000];
    while (!per_second.empty() && per_second.begin()->first < now / 1000 - 60)
      per_second.erase(per_second.begin());
  }
  double rate(std::int64_t now) const {
    std::uint64_t n = 0;
    for (auto [second, count] : per_second)
      if (second >= now / 1000 - 60 && second < now / 1000) n += count;
    return static_cast<double>(n) / 60.0;
  }
};

class Worker {
 public:
  Worker(const WorkerOptions& options, const std::atomic<bool>& stop)
      : m_options(options),
        m_stop(stop),
        m_fetcher(fetch_options(options.settings)),
        m_robots(options.settings.robots_agent,
                 [this](const std::string& u) {
                   const std::uint64_t id = m_next_id++;
                   m_fetcher.add({id, u, true, policy::k_max_robots_bytes + 1});
                   return id;
                 }),
        m_parser(parse_threads(options.settings), [this] { m_fetcher.wake(); }),
        m_rng(std::random_device{}()) {}

  int run();

 private:
  static fetch::Options fetch_options(const config::WorkerSettings& s) {
    fetch::Options o;
    o.user_agent = s.user_agent;
    o.max_body_bytes = s.max_body_bytes;
    // Only bodies the parser reads are kept, and only as much as it reads (one byte more, to
    // know a page was longer), all of them within the worker's body memory.
    o.keep_body = [](std::string_view content_type) { return content_type.empty() || is_html_type(content_type); };
    o.keep_body_bytes = html::k_max_parse_bytes + 1;
    o.body_memory = s.body_memory;
    o.connect_timeout = s.connect_timeout;
    o.timeout = s.timeout;
    o.low_speed_bytes = s.low_speed_bytes;
    o.low_speed_time = s.low_speed_time;
    o.max_connections = static_cast<std::size_t>(s.concurrency);
    return o;
  }
  static unsigned parse_threads(const config::WorkerSettings& s) {
    return s.parse_threads > 0 ? static_cast<unsigned>(s.parse_threads)
                               : std::max(1u, std::thread::hardware_concurrency());
  }

  // A failed Redis call drops the connection; the loop reconnects with back-off.
  template <class T>
  bool ok(const Result<T>& r, std::string_view what) {
    if (r) return true;
    spdlog::warn("event=redis_error during={} error=\"{}\"", what, r.error().message);
    if (m_queue && !m_queue->connected()) m_queue.reset();
    return false;
  }

  void connect(std::int64_t now);
  void heartbeat(std::int64_t now);
  void claim(std::int64_t now);
  std::int64_t next_claim_at() const;
  std::shared_ptr<const JobContext> job(const std::string& id);
  void start(queue::Entry entry, const std::string& gone, std::int64_t now);
  void report_crawl_delay(const std::string& site, const policy::Robots& robots, std::int64_t now);
  void advance(Task& t, std::int64_t now);
  void on_response(fetch::Response r, std::int64_t now);
  void on_parsed(Parsed p, std::int64_t now);
  void finish(Task& t, Kind kind, const std::string& reason, std::int64_t now,
              std::optional<Parsed> parsed = std::nullopt);
  void flush(std::int64_t now, bool force);
  std::int64_t outcome_hold_ms() const { return m_claim_short ? 5 : 50; }
  void release_unstarted(const std::string& job = "");
  void refresh_jobs(std::int64_t now);
  void deregister();

  WorkerOptions m_options;
  const std::atomic<bool>& m_stop;
  fetch::Fetcher m_fetcher;  // before m_parser: parser threads wake the fetcher
  RobotsCache m_robots;
  ParsePool m_parser;
  std::mt19937 m_rng;
  std::optional<queue::Queue> m_queue;
  bool m_ever_connected = false;
  std::chrono::milliseconds m_backoff{100};
  std::int64_t m_next_connect_ms = 0;
  std::int64_t m_next_heartbeat_ms = 0;
  std::int64_t m_next_stats_ms = now_ms() + 1000;
  std::int64_t m_next_claim_ms = 0;
  std::int64_t m_last_claim_ms = 0;
  bool m_claim_short = false;  // the last claim got fewer entries than it asked for
  std::map<std::string, std::int64_t> m_crawl_delay_reported;  // site -> when to report again
  std::int64_t m_oldest_outcome_ms = 0;
  std::int64_t m_next_flush_ms = 0;  // after a failed attempt to record outcomes
  std::int64_t m_started_ms = now_ms();
  std::uint64_t m_next_id = 1;
  std::unordered_map<std::uint64_t, Task> m_tasks;
  std::map<std::string, std::shared_ptr<const JobContext>> m_jobs;
  std::map<std::string, std::string> m_job_state;  // as last read: running, paused, cancelled
  std::vector<queue::PageOutcome> m_outcomes;
  Stats m_stats;
  bool m_draining = false;
};

void Worker::connect(std::int64_t now) {
  if (m_queue || now < m_next_connect_ms) return;
  auto redis = queue::Redis::connect(m_options.redis, 5s);
  if (!redis) {
    spdlog::warn("event=redis_unreachable retry_in_ms={} error=\"{}\"", m_backoff.count(),
                 redis.error().message);
    m_next_connect_ms = now + m_backoff.count();
    m_backoff = std::min<std::chrono::milliseconds>(m_backoff * 2, 5s);
    return;
  }
  m_backoff = 100ms;
  m_queue.emplace(std::move(*redis), queue::Keys{m_options.key_prefix});
  spdlog::info("event=redis_connected url={}", m_options.redis.display);
  if (!m_ever_connected) {
    // Leases left by an earlier run under this id go back to the frontier first.
    auto returned = m_queue->frontier().reap(m_options.id, queue::Reap::even_alive);
    if (!ok(returned, "reap_self")) return;
    if (*returned > 0) spdlog::info("event=returned_old_leases n={}", *returned);
    m_ever_connected = true;
  } else {
    // Reconcile with what Redis says we hold: a claim whose reply was lost, or a completion
    // lost with the server's last second of writes, leaves leases we do not know about.
    auto leased = m_queue->frontier().leased(m_options.id);
    if (!ok(leased, "reconcile")) return;
    std::set<std::string> known;
    for (const auto& [id, t] : m_tasks) known.insert(queue::encode(t.entry));
    for (const auto& o : m_outcomes) known.insert(queue::encode(o.entry));
    std::size_t adopted = 0;
    for (auto& e : *leased)
      if (!known.count(queue::encode(e))) {
        start(std::move(e), "", now);
        ++adopted;
      }
    if (adopted > 0) spdlog::info("event=reconciled adopted={}", adopted);
  }
  m_next_heartbeat_ms = 0;
}

void Worker::heartbeat(std::int64_t now) {
  if (!m_queue || now < m_next_heartbeat_ms) return;
  m_next_heartbeat_ms = now + m_options.settings.heartbeat_interval.count();
  auto count = [&](const char* k) { return std::to_string(m_stats.counts[k]); };
  std::map<std::string, std::string> fields{
      {"host", m_options.host},
      {"pid", std::to_string(getpid())},
      {"state", m_draining ? "draining" : "running"},
      {"started_ms", std::to_string(m_started_ms)},
      {"deploy", m_options.deploy_id},
      {"last_ms", std::to_string(now)},
      {"in_flight", std::to_string(m_tasks.size())},
      {"transfers", std::to_string(m_fetcher.active())},
      {"body_memory", std::to_string(m_fetcher.body_memory_used())},
      {"pages", count("done")},
      {"failed", count("failed")},
      {"filtered", count("filtered")},
      {"retries", count("retries")},
      {"bytes", count("bytes")},
      {"rate", fmt::format("{:.2f}", m_stats.rate(now))},
      {"errors", nlohmann::json(m_stats.errors).dump()},
      {"rss_bytes", std::to_string(rss_bytes())},
      {"concurrency", std::to_string(m_options.settings.concurrency)}};
  if (!ok(m_queue->fleet().heartbeat(m_options.id, fields, m_options.settings.heartbeat_ttl), "heartbeat"))
    return;
  auto reaped = m_queue->fleet().reap_dead(m_options.settings.heartbeat_interval);
  if (ok(reaped, "reap") && *reaped > 0)
    spdlog::info("event=reaped_dead_workers returned={}", *reaped);
  refresh_jobs(now);
  if (m_options.settings.stats_interval.count() > 0 && now >= m_next_stats_ms) {
    // Progress in the log too, for whoever reads it (crawlctl logs) rather than Redis.
    m_next_stats_ms = now + m_options.settings.stats_interval.count();
    spdlog::info("event=stats pages={} failed={} filtered={} retries={} rate={:.2f} in_flight={} rss_bytes={}",
                 m_stats.counts["done"], m_stats.counts["failed"], m_stats.counts["filtered"],
                 m_stats.counts["retries"], m_stats.rate(now), m_tasks.size(), rss_bytes());
  }
}

// Job control reaches the worker at its heartbeat: a cancelled job's tasks are dropped (their
// transfers ended), a paused job's tasks not yet fetching go back, to be parked. Jobs no task
// uses are forgotten, to be read again when one of their URLs comes.
void Worker::refresh_jobs(std::int64_t now) {
  if (!m_queue) return;
  if (m_tasks.empty()) {
    m_jobs.clear();
    m_job_state.clear();
    return;
  }
  std::set<std::string> used;
  for (const auto& [id, t] : m_tasks) used.insert(t.entry.job);
  for (auto it = m_jobs.begin(); it != m_jobs.end();) {
    if (!used.count(it->first)) {
      m_job_state.erase(it->first);
      it = m_jobs.erase(it);
    } else {
      ++it;
    }
  }
  // The jobs of the tasks held (whose context may have been dropped for a newer one).
  const std::vector<std::string> ids(used.begin(), used.end());
  if (ids.empty()) return;
  auto states = m_queue->jobs().states(ids);
  if (!ok(states, "job_state")) return;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    // Seeds added to the job (submit --job) widen its scope: the next of its URLs reads it again
    // (tasks under way keep the rules they started with).
    if (auto it = m_jobs.find(ids[i]); it != m_jobs.end() && it->second->info.seeds_version != (*states)[i].seeds_version)
      m_jobs.erase(it);
    const std::string& state = (*states)[i].state;
    std::string& known = m_job_state[ids[i]];
    if (state == known) continue;
    known = state;
    if (state == "cancelled" || state == "gone") {
      std::vector<std::uint64_t> drop;
      for (auto& [id, t] : m_tasks)
        if (t.entry.job == ids[i]) drop.push_back(id);
      for (auto id : drop) {
        m_fetcher.cancel(id);
        finish(m_tasks.at(id), Kind::cancel, "", now);
      }
      spdlog::info("event=job_{} job={} dropped={}", state, ids[i], drop.size());
    } else if (state == "paused") {
      release_unstarted(ids[i]);
      spdlog::info("event=job_paused job={}", ids[i]);
    }
  }
}

std::shared_ptr<const JobContext> Worker::job(const std::string& id) {
  if (auto it = m_jobs.find(id); it != m_jobs.end()) return it->second;
  if (!m_queue) return nullptr;  // the connection dropped earlier in this batch
  auto info = m_queue->jobs().job(id);
  if (!ok(info, "load_job")) return nullptr;
  auto seeds = m_queue->jobs().seed_authorities(id);
  if (!ok(seeds, "load_job")) return nullptr;
  auto ctx = std::make_shared<JobContext>();
  if (!info->problem.empty()) {
    ctx->broken = info->problem;
  } else if (auto filter = policy::LinkFilter::create(info->options, *seeds)) {
    ctx->filter = std::make_shared<const policy::LinkFilter>(std::move(*filter));
  } else {
    ctx->broken = filter.error().message;
  }
  if (!ctx->broken.empty())
    spdlog::error("event=bad_job job={} error=\"{}\" note=\"its URLs wait until the job is fixed or cancelled\"",
                  id, ctx->broken);
  ctx->info = std::move(*info);
  m_jobs[id] = ctx;
  return ctx;
}

// Leases URLs whenever slots are free: a claim gives only URLs whose sites may be fetched now,
// so they all start at once. Claims of a few slots are spaced (50 ms) so that one slow transfer
// does not cost a round trip per free slot; when nothing more was ready, the next claim waits
// for the next site's time (at most a second: other workers may free slots sooner).
// When the next claim may be made (-1: none while every task slot is taken). With less than
// half a batch free, claims are at least 50 ms apart.
std::int64_t Worker::next_claim_at() const {
  if (!m_queue || m_draining) return -1;
  const std::size_t limit = static_cast<std::size_t>(m_options.settings.concurrency);
  const std::size_t free = limit > m_tasks.size() ? limit - m_tasks.size() : 0;
  if (free == 0) return -1;
  if (free < m_options.claim_batch / 2) return std::max(m_next_claim_ms, m_last_claim_ms + 50);
  return m_next_claim_ms;
}

void Worker::claim(std::int64_t now) {
  const std::int64_t at = next_claim_at();
  if (at < 0 || now < at) return;
  const std::size_t limit = static_cast<std::size_t>(m_options.settings.concurrency);
  const std::size_t batch = std::min(limit - m_tasks.size(), m_options.claim_batch);
  m_last_claim_ms = now;
  auto claimed = m_queue->frontier().claim(m_options.id, batch);
  if (!ok(claimed, "claim")) {
    m_next_claim_ms = now + 1000;  // not at once again: the loop would spin
    return;
  }
  if (claimed->dead_lettered > 0)
    spdlog::warn("event=dead_letters n={} note=\"frontier entries that could not be read, moved to the dead letters\"",
                 claimed->dead_lettered);
  m_claim_short = claimed->entries.size() < batch;
  if (m_claim_short)
    m_next_claim_ms = now + std::clamp<std::int64_t>(claimed->next_in_ms < 0 ? 1000 : claimed->next_in_ms, 10, 1000);
  for (std::size_t i = 0; i < claimed->entries.size(); ++i) start(std::move(claimed->entries[i]), claimed->gone[i], now);
}

void Worker::start(queue::Entry entry, const std::string& gone, std::int64_t now) {
  Task t;
  t.id = m_next_id++;
  t.attempt.url = entry.url;
  t.attempt.attempt = entry.attempt;
  t.entry = std::move(entry);
  t.job = job(t.entry.job);
  // A seed outside the scope this worker knows was added to the job since (submit --job): read
  // the job again, so the new seed's own links are judged by the wider scope.
  if (t.job && t.job->filter && t.entry.depth == 0 && t.job->filter->judge(t.entry.url, 0) == policy::Drop::offsite) {
    m_jobs.erase(t.entry.job);
    t.job = job(t.entry.job);
  }
  auto [it, inserted] = m_tasks.emplace(t.id, std::move(t));
  if (!it->second.job) {
    // The job is gone or unreadable now; hand the URL back for later.
    finish(it->second, Kind::release, "", now);
    return;
  }
  if (!it->second.job->broken.empty()) {
    // Crawled by rules that cannot be read, it would be crawled wrong: it waits, unchanged.
    it->second.not_before_ms = k_broken_job_wait.count();
    finish(it->second, Kind::defer, "", now);
    return;
  }
  if (!gone.empty()) {
    // Its site was given up on (its requests failed many times in a row): failed, unfetched.
    it->second.last.error = "the site failed too many times in a row (" + gone + "); given up on for an hour";
    finish(it->second, Kind::failed, "site_unreachable", now);
    return;
  }
  advance(it->second, now);
}

// The site's Crawl-delay, for the claims of every worker: reported when a worker learns the
// site's rules, again after ten minutes.
void Worker::report_crawl_delay(const std::string& site, const policy::Robots& robots, std::int64_t now) {
  if (!m_queue) return;
  auto [it, fresh] = m_crawl_delay_reported.try_emplace(site, 0);
  if (!fresh && now < it->second) return;
  if (ok(m_queue->sites().set_crawl_delay(site, robots.crawl_delay().value_or(0ms)), "crawl_delay"))
    it->second = now + 10 * 60 * 1000;
}

// The next step for a task at its current URL (worker/step.hpp decides it), carried out.
void Worker::advance(Task& t, std::int64_t now) {
  const policy::JobOptions& o = t.job->info.options;
  const std::string site = url::origin(t.attempt.url);
  const policy::Robots* robots = nullptr;
  std::chrono::milliseconds robots_expires_in{0};
  if (o.respect_robots) {
    robots = m_robots.lookup(site, t.id, m_queue ? &*m_queue : nullptr, now);
    if (robots != nullptr && robots->unreachable())
      robots_expires_in = std::chrono::milliseconds(m_robots.expires_in(site, now));
    else if (robots != nullptr) report_crawl_delay(site, *robots, now);
  }
  t.steps.redirected = t.attempt.hops > 0;
  const Step step = next_step(t.steps, o, robots, path_and_query(t.attempt.url), robots_expires_in, [&] {
    std::chrono::milliseconds wait = 100ms;  // without Redis, ask again shortly
    if (m_queue) {
      auto started = m_queue->frontier().site_start(t.entry.job, site);
      if (ok(started, "site_start")) wait = *started;
    }
    return wait;
  });
  switch (step.kind) {
    case Step::Kind::wait_robots:
      t.stage = Task::Stage::robots;  // RobotsCache::ready() hands it back
      return;
    case Step::Kind::defer:
      t.not_before_ms = step.wait.count();
      finish(t, Kind::defer, step.reason, now);
      return;
    case Step::Kind::filtered:
      finish(t, Kind::filtered, step.reason, now);
      return;
    case Step::Kind::release:
      finish(t, Kind::release, "", now);
      return;
    case Step::Kind::polite:
      t.stage = Task::Stage::polite;
      t.not_before_ms = now + step.wait.count();
      return;
    case Step::Kind::fetch:
      t.stage = Task::Stage::fetching;
      m_fetcher.add({t.id, t.attempt.url, false, std::nullopt});
      return;
  }
}

void Worker::on_response(fetch::Response r, std::int64_t now) {
  if (m_robots.on_response(r, m_queue ? &*m_queue : nullptr, now)) return;
  auto it = m_tasks.find(r.id);
  if (it == m_tasks.end()) return;
  Task& t = it->second;
  t.fetch_ms += r.elapsed_ms;
  const double jitter = std::uniform_real_distribution<double>(0, 1)(m_rng);
  const Decision d = decide(r, t.attempt, t.job->info.options, m_options.settings.max_redirects,
                            now, jitter);
  t.body_bytes = r.body_bytes;
  t.site = d.site == Decision::Site::failed     ? queue::PageOutcome::Site::failed
           : d.site == Decision::Site::answered ? queue::PageOutcome::Site::answered
                                                : queue::PageOutcome::Site::unknown;
  t.site_backoff = d.site_backoff;
  // What is kept of a response not parsed: its status and headers, not its body, whose share of
  // the body memory goes back at once (a redirect waits for robots.txt and politeness).
  auto keep_meta = [&t](fetch::Response&& response) {
    std::string().swap(response.body);
    response.hold.release();
    t.last = std::move(response);
  };
  switch (d.next) {
    case Decision::Next::redirect: {
      t.attempt.visited.insert(t.attempt.url);
      t.attempt.url = d.redirect_to;
      ++t.attempt.hops;
      keep_meta(std::move(r));
      // Every hop is judged like a link: scope, traps, patterns; then robots and politeness.
      const policy::Drop drop = t.job->filter->judge(t.attempt.url, t.entry.depth);
      if (drop != policy::Drop::none && drop != policy::Drop::depth) {
        finish(t, Kind::filtered, std::string(policy::to_string(drop)), now);
        return;
      }
      advance(t, now);
      return;
    }
    case Decision::Next::moved: {
      // To another site: not followed here (that site's politeness is not this lease's), but
      // judged like a hop and, in scope, admitted as a URL of its own at this one's depth; this
      // one is recorded as a redirect. Out of scope, it is recorded with the reason, as a hop.
      keep_meta(std::move(r));
      t.attempt.url = d.redirect_to;
      const policy::Drop drop = t.job->filter->judge(d.redirect_to, t.entry.depth);
      if (drop != policy::Drop::none && drop != policy::Drop::depth) {
        finish(t, Kind::filtered, std::string(policy::to_string(drop)), now);
        return;
      }
      t.moved_to = d.redirect_to;
      finish(t, Kind::filtered, "redirect", now);
      return;
    }
    case Decision::Next::requeue:
      keep_meta(std::move(r));
      finish(t, Kind::requeue, d.reason, now);
      return;
    case Decision::Next::parse: {
      ParseJob job{t.id, t.attempt.url, std::move(r.body), std::move(r.hold), r.memory_cut, t.entry.depth,
                   t.job->filter, t.job->info.options.max_links_per_page};
      t.last = std::move(r);
      t.stage = Task::Stage::parsing;
      m_parser.submit(std::move(job));
      return;
    }
    case Decision::Next::retry:
      keep_meta(std::move(r));
      t.not_before_ms = d.retry_in.count();
      finish(t, Kind::retry, d.reason, now);
      return;
    case Decision::Next::done:
      keep_meta(std::move(r));
      finish(t, Kind::done, "", now);
      return;
    case Decision::Next::failed:
      keep_meta(std::move(r));
      finish(t, Kind::failed, d.reason, now);
      return;
  }
}

void Worker::on_parsed(Parsed p, std::int64_t now) {
  auto it = m_tasks.find(p.task);
  if (it == m_tasks.end()) return;
  finish(it->second, Kind::done, "", now, std::move(p));
}

// Turns a task into an outcome for the next batch and forgets it.
void Worker::finish(Task& t, Kind kind, const std::string& reason, std::int64_t now,
                    std::optional<Parsed> parsed) {
  queue::PageOutcome out;
  out.entry = t.entry;
  out.kind = kind;
  out.reason = reason;
  out.site = t.site;
  out.site_backoff = t.site_backoff;
  if (t.moved_to) out.moved_to = queue::Link{*t.moved_to, "", 0};  // judged in scope on_fetched
  if (kind == Kind::done || kind == Kind::failed || kind == Kind::filtered) {
    queue::Record r;
    r.url = t.entry.url;
    r.outcome = kind == Kind::done     ? queue::Outcome::done
                : kind == Kind::failed ? queue::Outcome::failed
                                       : queue::Outcome::filtered;
    r.reason = reason;
    r.status = static_cast<int>(t.last.status);
    if (t.last.status != 0 || !t.last.url.empty()) {
      r.final_url = t.attempt.url;
      r.content_type = t.last.content_type;
      r.bytes = t.body_bytes;
      r.truncated = t.last.truncated;
      r.fetch_ms = t.fetch_ms;
      r.error = t.last.error;
    }
    r.depth = t.entry.depth;
    r.worker = m_options.id;
    r.at_ms = now;
    if (parsed) {
      r.title = std::move(parsed->title);
      r.images = std::move(parsed->images);
      r.links = parsed->found;
      r.parse_cut = std::move(parsed->parse_cut);
      r.noindex = parsed->noindex;
      r.links_dropped = parsed->links_dropped;
      out.links = std::move(parsed->links);
      out.links_dropped = parsed->links_dropped;
    }
    out.record_json = queue::to_json(r);
    out.bytes = t.body_bytes;
    ++m_stats.counts[std::string(queue::to_string(r.outcome))];
    m_stats.counts["bytes"] += t.body_bytes;
    if (kind == Kind::done) m_stats.page(now);
    if (kind == Kind::failed) ++m_stats.errors[reason];
    spdlog::debug("event=outcome url={} outcome={} reason={} status={}", t.entry.url,
                  queue::to_string(r.outcome), reason, r.status);
  } else if (kind == Kind::retry || kind == Kind::defer) {
    out.retry_in = std::chrono::milliseconds(t.not_before_ms);
  }
  if (kind == Kind::retry || kind == Kind::requeue) {
    ++m_stats.counts["retries"];
    ++m_stats.errors[reason];
  }
  if (m_outcomes.empty()) m_oldest_outcome_ms = now;
  m_outcomes.push_back(std::move(out));
  m_tasks.erase(t.id);
}

// Records outcomes in one round trip once there are a batch of them, or they have waited.
void Worker::flush(std::int64_t now, bool force) {
  if (m_outcomes.empty() || !m_queue) return;
  // Within 50 ms: an outcome gives its site's slot back, and the site waits for it; within 5 ms
  // when the last claim came back short (the slots held here may be what it lacked).
  const std::int64_t hold = outcome_hold_ms();
  if (now < m_next_flush_ms) return;  // the last attempt failed: a second between attempts
  if (!force && m_outcomes.size() < m_options.claim_batch && now - m_oldest_outcome_ms < hold) return;
  auto done = m_queue->frontier().complete(m_options.id, m_outcomes);
  if (!ok(done, "complete")) {  // kept, and sent again (after reconnecting)
    m_next_flush_ms = now + 1000;
    return;
  }
  if (done->applied < m_outcomes.size())
    spdlog::info("event=stale_outcomes skipped={}", m_outcomes.size() - done->applied);
  m_outcomes.clear();
  // Their sites' slots are free again: a site that waited for one may be leased now.
  m_next_claim_ms = 0;
}

void Worker::release_unstarted(const std::string& job) {
  std::vector<std::uint64_t> ids;
  for (auto& [id, t] : m_tasks)
    if ((t.stage == Task::Stage::robots || t.stage == Task::Stage::polite) && (job.empty() || t.entry.job == job))
      ids.push_back(id);
  for (auto id : ids) finish(m_tasks.at(id), Kind::release, "", now_ms());
}

// Leaves the fleet. A lease still held here (an outcome Redis refused, or one adopted while
// reconnecting during the drain) goes back to the frontier first: once this worker is no longer
// registered, no reaper would ever look at its in-flight list.
void Worker::deregister() {
  if (!m_queue) return;
  auto returned = m_queue->fleet().leave(m_options.id);
  if (!ok(returned, "return_leases")) return;
  if (*returned > 0) spdlog::warn("event=returned_leases n={}", *returned);
}

int Worker::run() {
  spdlog::info("event=start id={} concurrency={} parse_threads={}", m_options.id,
               m_options.settings.concurrency, parse_threads(m_options.settings));
  std::int64_t drain_deadline = 0;
  while (true) {
    const std::int64_t now = now_ms();
    if (m_stop.load() && !m_draining) {
      m_draining = true;
      drain_deadline = now + m_options.drain_timeout.count();
      spdlog::info("event=draining in_flight={}", m_tasks.size());
      release_unstarted();
    }
    if (m_draining && (m_tasks.empty() || now >= drain_deadline)) break;
    connect(now);
    heartbeat(now);
    flush(now, m_draining);  // outcomes first: they give their sites' slots back
    claim(now);
    for (std::uint64_t id : m_robots.ready(m_queue ? &*m_queue : nullptr, now))
      if (auto it = m_tasks.find(id); it != m_tasks.end()) advance(it->second, now);
    // One pass over the tasks: politeness slots that are due, the next one to come, and whether
    // any task waits for a robots.txt.
    std::int64_t next_timer = now + 100;
    bool waiting_on_robots = false;
    std::vector<std::uint64_t> due;
    for (auto& [id, t] : m_tasks) {
      waiting_on_robots = waiting_on_robots || t.stage == Task::Stage::robots;
      if (t.stage != Task::Stage::polite) continue;
      if (t.not_before_ms <= now) due.push_back(id);
      else next_timer = std::min(next_timer, t.not_before_ms);
    }
    for (auto id : due) advance(m_tasks.at(id), now);
    flush(now, m_draining);

    const bool idle = m_tasks.empty() && m_outcomes.empty() && m_queue && !m_draining;
    if (idle) {
      // Nothing to do: block in Redis until work is ready (a wake-up token) or the next site's
      // time comes, at most until the next heartbeat.
      const auto until_claim = std::chrono::milliseconds(std::max<std::int64_t>(10, m_next_claim_ms - now));
      if (until_claim < k_short_wait) {
        // Redis ends a blocking wait on its own clock tick (100 ms at the default hz): a site
        // due sooner is waited for here.
        // A robots.txt fetch may outlive its tasks (paused, cancelled): its answer is kept.
        for (auto& r : m_fetcher.poll(until_claim)) on_response(std::move(r), now_ms());
        continue;
      }
      auto work = m_queue->frontier().wait_for_work(
          std::min({until_claim, 1000ms, m_options.settings.heartbeat_interval / 2}));
      if (ok(work, "wait") && *work) m_next_claim_ms = 0;
      continue;
    }
    std::int64_t wait = std::max<std::int64_t>(0, next_timer - now);
    if (waiting_on_robots) wait = std::min<std::int64_t>(wait, 50);
    // Outcomes are sent when their hold ends, and a short claim is tried again when it said.
    if (!m_outcomes.empty() && m_queue)
      wait = std::min<std::int64_t>(
          wait, std::max<std::int64_t>(0, std::max(m_next_flush_ms, m_oldest_outcome_ms + outcome_hold_ms()) - now));
    if (const std::int64_t at = next_claim_at(); at >= 0) wait = std::min<std::int64_t>(wait, std::max<std::int64_t>(0, at - now));
    if (!m_queue) wait = std::min<std::int64_t>(wait, std::max<std::int64_t>(0, m_next_connect_ms - now));
    for (auto& r : m_fetcher.poll(std::chrono::milliseconds(wait))) on_response(std::move(r), now_ms());
    for (auto& p : m_parser.take()) on_parsed(std::move(p), now_ms());
  }

  // Whatever did not finish in time goes back to the frontier for another worker.
  m_fetcher.abort_all();
  std::vector<std::uint64_t> left;
  for (auto& [id, t] : m_tasks) left.push_back(id);
  for (auto id : left) finish(m_tasks.at(id), Kind::release, "", now_ms());
  const std::int64_t give_up = now_ms() + 5000;
  while (!m_outcomes.empty() && now_ms() < give_up) {
    connect(now_ms());
    flush(now_ms(), true);
    if (!m_outcomes.empty()) std::this_thread::sleep_for(100ms);
  }
  if (!m_outcomes.empty())
    spdlog::warn("event=unrecorded_outcomes n={} note=\"their URLs go back to the queue, to be crawled again\"",
                 m_outcomes.size());
  deregister();
  spdlog::info("event=stopped pages={} failed={} filtered={}", m_stats.counts["done"],
               m_stats.counts["failed"], m_stats.counts["filtered"]);
  return 0;
}

}  // namespace

int run(const WorkerOptions& options, const std::atomic<bool>& stop) {
  return Worker(options, stop).run();
}

}  // namespace crawl::worker
