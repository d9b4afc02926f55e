#include "worker/worker.hpp"

#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

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
#include "worker/tasks.hpp"

namespace crawl::worker {

namespace {

using namespace std::chrono_literals;
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

// An idle worker whose next claim is due sooner than this sleeps until then instead of
// blocking in Redis.
constexpr std::chrono::milliseconds k_short_wait{250};

// Outcomes are recorded once they hold this many bytes of records and links, whatever their
// number: what waits to be recorded stays a few MB.
constexpr std::size_t k_outcome_bytes = 4u << 20;

// The worker process: Redis (connect, claim, record, heartbeat, job control) around the task
// machine of worker/tasks.hpp, which it serves as its TaskEnv with the real fetcher, parser
// threads and robots.txt cache.
class Worker final : private TaskEnv {
 public:
  Worker(const WorkerOptions& options, const std::atomic<bool>& stop)
      : m_options(options),
        m_stop(stop),
        m_fetcher(fetch_options(options.settings)),
        m_robots(options.settings.robots_agent,
                 [this](const std::string& u) {
                   const std::uint64_t id = m_tasks.new_id();
                   m_fetcher.add({id, u, true, policy::k_max_robots_bytes + 1});
                   return id;
                 }),
        m_parser(parse_threads(options.settings), [this] { m_fetcher.wake(); }),
        m_rng(std::random_device{}()),
        m_tasks(*this, options.id, options.settings.max_redirects) {}

  int run();

 private:
  static fetch::Options fetch_options(const config::WorkerSettings& s) {
    fetch::Options o;
    o.user_agent = s.user_agent;
    o.max_body_bytes = s.max_body_bytes;
    // Only bodies the parser reads are kept, and only as much as it reads (one byte more, to
    // know a page was longer), all of them within the worker's body memory.
    o.keep_body = [](std::string_view content_type) {
      return content_type.empty() || is_html_type(content_type);
    };
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

  // A call that lost its connection drops it; the loop reconnects with back-off. (An error
  // Redis answered with leaves the connection as it is: each caller waits before it tries
  // again.) At most one line per kind of call every 10 s, with how many were not logged: a
  // Redis that answers every call with an error (a key of ours of the wrong type) cannot flood
  // the log.
  template <class T>
  bool ok(const Result<T>& r, std::string_view what) {
    if (r) return true;
    auto& [next_ms, unlogged] = m_error_log[std::string(what)];
    if (const std::int64_t now = now_ms(); now >= next_ms) {
      spdlog::warn("event=redis_error during={} error=\"{}\"{}", what, r.error().message,
                   unlogged > 0 ? fmt::format(" unlogged={}", unlogged) : "");
      next_ms = now + 10'000;
      unlogged = 0;
    } else {
      ++unlogged;
    }
    if (r.error().kind == ErrorKind::connection) m_queue.reset();
    return false;
  }

  void connect(std::int64_t now);
  // Sentinels that do not name the primary the others name (down, stale, or someone else's),
  // logged when what they say changes.
  void note_dissent(const std::vector<std::string>& dissent) {
    if (dissent == m_dissent) return;
    for (const auto& line : dissent) spdlog::warn("event=sentinel_disagrees detail=\"{}\"", line);
    m_dissent = dissent;
  }
  void heartbeat(std::int64_t now);
  void claim(std::int64_t now);
  std::int64_t next_claim_at() const;
  std::shared_ptr<const JobContext> job(const std::string& id);
  void start(queue::Entry entry, const std::string& gone, std::int64_t now);
  void on_response(fetch::Response r, std::int64_t now);
  void flush(std::int64_t now, bool force);
  std::int64_t outcome_hold_ms() const { return m_claim_short ? 5 : 50; }
  void refresh_jobs(std::int64_t now);
  void deregister();

  // TaskEnv
  const policy::Robots* robots(const std::string& site, std::uint64_t task,
                               std::int64_t now) override {
    return m_robots.lookup(site, task, m_queue ? &*m_queue : nullptr, now);
  }
  std::chrono::milliseconds robots_expires_in(const std::string& site, std::int64_t now) override {
    return std::chrono::milliseconds(m_robots.expires_in(site, now));
  }
  void crawl_delay(const std::string& site, const policy::Robots& robots,
                   std::int64_t now) override;
  std::chrono::milliseconds site_start(const std::string& job, const std::string& site) override;
  void fetch(std::uint64_t task, const std::string& url) override {
    m_fetcher.add({task, url, false, std::nullopt});
  }
  void cancel_fetch(std::uint64_t task) override { m_fetcher.cancel(task); }
  void parse(ParseJob job) override { m_parser.submit(std::move(job)); }

  WorkerOptions m_options;
  const std::atomic<bool>& m_stop;
  fetch::Fetcher m_fetcher;  // before m_parser: parser threads wake the fetcher
  RobotsCache m_robots;
  ParsePool m_parser;
  std::mt19937 m_rng;
  std::optional<queue::Queue> m_queue;
  bool m_ever_connected = false;
  std::string m_server;                 // the server the last connection reached (host:port)
  queue::PrimaryCheck m_primary_check;  // does a majority of the Sentinels still name m_server?
  std::vector<std::string> m_dissent;   // as last logged
  std::chrono::milliseconds m_backoff{100};
  std::int64_t m_next_connect_ms = 0;
  std::int64_t m_next_heartbeat_ms = 0;
  std::int64_t m_next_stats_ms = now_ms() + 1000;
  std::int64_t m_next_claim_ms = 0;
  std::int64_t m_last_claim_ms = 0;
  bool m_claim_short = false;  // the last claim got fewer entries than it asked for
  std::map<std::string, std::int64_t> m_crawl_delay_reported;  // site -> when to report again
  std::int64_t m_next_flush_ms = 0;  // after a failed attempt to record outcomes
  std::int64_t m_next_wait_ms = 0;   // after a failed wait for work: idle, it sleeps instead
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>> m_error_log;  // next, unlogged
  std::int64_t m_started_ms = now_ms();
  std::map<std::string, std::shared_ptr<const JobContext>> m_jobs;
  std::map<std::string, std::string> m_job_state;  // as last read: running, paused, cancelled
  Tasks m_tasks;
  bool m_draining = false;
};

void Worker::connect(std::int64_t now) {
  if (m_queue || now < m_next_connect_ms) return;
  auto redis = queue::Redis::connect(m_options.redis, 5s);
  if (!redis) {
    spdlog::warn("event=redis_unreachable retry_in_ms={} error=\"{}\"", m_backoff.count(),
                 redis.error().message);
    m_next_connect_ms = now + m_backoff.count();
    // A restarting Redis is given room (up to 5 s between tries); with Sentinels, the primary
    // is looked for every second at most, so a failover costs little more than its own time.
    m_backoff = std::min<std::chrono::milliseconds>(m_backoff * 2,
                                                    m_options.redis.sentinels.empty() ? 5s : 1s);
    return;
  }
  m_backoff = 100ms;
  redis->set_durability(m_options.durability);
  note_dissent(redis->dissent());
  const std::string server = redis->server();
  m_queue.emplace(std::move(*redis), queue::Keys{m_options.key_prefix});
  spdlog::info("event=redis_connected url={} server={}", m_options.redis.display, server);
  // The Sentinels named another primary than the last connection's: a failover.
  if (!m_server.empty() && server != m_server)
    spdlog::warn("event=redis_failover from={} to={}", m_server, server);
  m_server = server;
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
    const std::set<std::string> known = m_tasks.held();
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
  auto named = m_primary_check.moved(m_options.redis, m_server, now);
  note_dissent(m_primary_check.dissent());
  if (named) {
    spdlog::warn("event=redis_primary_moved server={} named={}", m_server, *named);
    m_queue.reset();  // the loop connects again, to the primary the Sentinels name
    return;
  }
  const Stats& stats = m_tasks.stats();
  auto number = [&](const char* k) -> std::uint64_t {
    auto it = stats.counts.find(k);
    return it == stats.counts.end() ? 0 : it->second;
  };
  queue::Heartbeat beat;
  beat.host = m_options.host;
  beat.pid = getpid();
  beat.state = m_draining ? "draining" : "running";
  beat.started_ms = m_started_ms;
  beat.deploy = m_options.deploy_id;
  beat.last_ms = now;
  beat.in_flight = m_tasks.size();
  beat.transfers = m_fetcher.active();
  beat.body_memory = m_fetcher.body_memory_used();
  beat.pages = number("done");
  beat.failed = number("failed");
  beat.filtered = number("filtered");
  beat.retries = number("retries");
  beat.bytes = number("bytes");
  beat.rate = stats.rate(now);
  beat.errors = stats.errors;
  beat.rss_bytes = rss_bytes();
  beat.concurrency = m_options.settings.concurrency;
  if (!ok(m_queue->fleet().heartbeat(m_options.id, beat, m_options.settings.heartbeat_ttl),
          "heartbeat"))
    return;
  auto reaped = m_queue->fleet().reap_dead(m_options.settings.heartbeat_interval);
  if (ok(reaped, "reap") && *reaped > 0)
    spdlog::info("event=reaped_dead_workers returned={}", *reaped);
  refresh_jobs(now);
  if (m_options.settings.stats_interval.count() > 0 && now >= m_next_stats_ms) {
    // Progress in the log too, for whoever reads it (crawlctl logs) rather than Redis.
    m_next_stats_ms = now + m_options.settings.stats_interval.count();
    spdlog::info(
        "event=stats pages={} failed={} filtered={} retries={} rate={:.2f} in_flight={} "
        "rss_bytes={}",
        number("done"), number("failed"), number("filtered"), number("retries"), stats.rate(now),
        m_tasks.size(), rss_bytes());
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
  const std::set<std::string> used = m_tasks.jobs();
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
    if (auto it = m_jobs.find(ids[i]);
        it != m_jobs.end() && it->second->info.seeds_version != (*states)[i].seeds_version)
      m_jobs.erase(it);
    const std::string& state = (*states)[i].state;
    std::string& known = m_job_state[ids[i]];
    if (state == known) continue;
    known = state;
    if (state == "cancelled" || state == "gone") {
      const std::size_t dropped = m_tasks.cancel_job(ids[i], now);
      spdlog::info("event=job_{} job={} dropped={}", state, ids[i], dropped);
    } else if (state == "paused") {
      m_tasks.release_unstarted(ids[i], now);
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
    spdlog::error(
        "event=bad_job job={} error=\"{}\" note=\"its URLs wait until the job is fixed or "
        "cancelled\"",
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
    spdlog::warn(
        "event=dead_letters n={} note=\"frontier entries that could not be read, moved to the dead "
        "letters\"",
        claimed->dead_lettered);
  m_claim_short = claimed->entries.size() < batch;
  if (m_claim_short)
    m_next_claim_ms = now + std::clamp<std::int64_t>(
                                claimed->next_in_ms < 0 ? 1000 : claimed->next_in_ms, 10, 1000);
  for (std::size_t i = 0; i < claimed->entries.size(); ++i)
    start(std::move(claimed->entries[i]), claimed->gone[i], now);
}

void Worker::start(queue::Entry entry, const std::string& gone, std::int64_t now) {
  std::shared_ptr<const JobContext> ctx = job(entry.job);
  // A seed outside the scope this worker knows was added to the job since (submit --job): read
  // the job again, so the new seed's own links are judged by the wider scope.
  if (ctx && ctx->filter && entry.depth == 0 &&
      ctx->filter->judge(entry.url, 0) == policy::Drop::offsite) {
    m_jobs.erase(entry.job);
    ctx = job(entry.job);
  }
  m_tasks.start(std::move(entry), std::move(ctx), gone, now);
}

// The site's Crawl-delay, for the claims of every worker: reported when a worker learns the
// site's rules, again after ten minutes.
void Worker::crawl_delay(const std::string& site, const policy::Robots& robots, std::int64_t now) {
  if (!m_queue) return;
  auto [it, fresh] = m_crawl_delay_reported.try_emplace(site, 0);
  if (!fresh && now < it->second) return;
  if (ok(m_queue->sites().set_crawl_delay(site, robots.crawl_delay().value_or(0ms)), "crawl_delay"))
    it->second = now + 10 * 60 * 1000;
}

std::chrono::milliseconds Worker::site_start(const std::string& job, const std::string& site) {
  if (!m_queue) return 100ms;  // without Redis, ask again shortly
  auto started = m_queue->frontier().site_start(job, site);
  return ok(started, "site_start") ? *started : 100ms;
}

void Worker::on_response(fetch::Response r, std::int64_t now) {
  if (m_robots.on_response(r, m_queue ? &*m_queue : nullptr, now)) return;
  const double jitter = std::uniform_real_distribution<double>(0, 1)(m_rng);
  m_tasks.on_response(std::move(r), now, jitter);
}

// Records outcomes in one round trip once there are a batch of them, or they have waited.
void Worker::flush(std::int64_t now, bool force) {
  const std::vector<queue::PageOutcome>& outcomes = m_tasks.outcomes();
  if (outcomes.empty() || !m_queue) return;
  // Within 50 ms: an outcome gives its site's slot back, and the site waits for it; within 5 ms
  // when the last claim came back short (the slots held here may be what it lacked).
  const std::int64_t hold = outcome_hold_ms();
  if (now < m_next_flush_ms) return;  // the last attempt failed: a second between attempts
  // Or at once when they hold a few MB: one page can hold a 1 MiB record and 512 KiB of links,
  // and each is copied twice on its way to Redis.
  if (!force && outcomes.size() < m_options.claim_batch &&
      m_tasks.outcome_bytes() < k_outcome_bytes && now - m_tasks.oldest_outcome_ms() < hold)
    return;
  auto done = m_queue->frontier().complete(m_options.id, outcomes);
  if (!ok(done, "complete")) {  // kept, and sent again (after reconnecting)
    m_next_flush_ms = now + 1000;
    return;
  }
  if (done->applied < outcomes.size())
    spdlog::info("event=stale_outcomes skipped={}", outcomes.size() - done->applied);
  m_tasks.clear_outcomes();
  // Their sites' slots are free again: a site that waited for one may be leased now.
  m_next_claim_ms = 0;
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
      m_tasks.release_unstarted("", now);
    }
    if (m_draining && (m_tasks.empty() || now >= drain_deadline)) break;
    connect(now);
    heartbeat(now);
    flush(now, m_draining);  // outcomes first: they give their sites' slots back
    claim(now);
    for (std::uint64_t id : m_robots.ready(m_queue ? &*m_queue : nullptr, now))
      m_tasks.resume(id, now);
    // Tasks whose site's delay has passed go on; the next such time bounds the wait below.
    const std::int64_t next_timer = m_tasks.wake_polite(now, now + 100);
    const bool waiting_on_robots = m_tasks.waiting_on_robots();
    flush(now, m_draining);

    const bool idle = m_tasks.empty() && m_tasks.outcomes().empty() && m_queue && !m_draining;
    if (idle) {
      // Nothing to do: block in Redis until work is ready (a wake-up token) or the next site's
      // time comes, at most until the next heartbeat.
      const auto until_claim =
          std::chrono::milliseconds(std::max<std::int64_t>(10, m_next_claim_ms - now));
      if (until_claim < k_short_wait) {
        // Redis ends a blocking wait on its own clock tick (100 ms at the default hz): a site
        // due sooner is waited for here.
        // A robots.txt fetch may outlive its tasks (paused, cancelled): its answer is kept.
        for (auto& r : m_fetcher.poll(until_claim)) on_response(std::move(r), now_ms());
        continue;
      }
      const auto wait_for =
          std::min({until_claim, 1000ms, m_options.settings.heartbeat_interval / 2});
      if (now < m_next_wait_ms) {  // waiting failed a moment ago: sleep, then claim
        for (auto& r : m_fetcher.poll(wait_for)) on_response(std::move(r), now_ms());
        continue;
      }
      auto work = m_queue->frontier().wait_for_work(wait_for);
      if (!ok(work, "wait"))
        m_next_wait_ms = now_ms() + 1000;
      else if (*work)
        m_next_claim_ms = 0;
      continue;
    }
    std::int64_t wait = std::max<std::int64_t>(0, next_timer - now);
    if (waiting_on_robots) wait = std::min<std::int64_t>(wait, 50);
    // Outcomes are sent when their hold ends, and a short claim is tried again when it said.
    if (!m_tasks.outcomes().empty() && m_queue)
      wait = std::min<std::int64_t>(
          wait,
          std::max<std::int64_t>(
              0, std::max(m_next_flush_ms, m_tasks.oldest_outcome_ms() + outcome_hold_ms()) - now));
    if (const std::int64_t at = next_claim_at(); at >= 0)
      wait = std::min<std::int64_t>(wait, std::max<std::int64_t>(0, at - now));
    if (!m_queue)
      wait = std::min<std::int64_t>(wait, std::max<std::int64_t>(0, m_next_connect_ms - now));
    for (auto& r : m_fetcher.poll(std::chrono::milliseconds(wait)))
      on_response(std::move(r), now_ms());
    for (auto& p : m_parser.take()) m_tasks.on_parsed(std::move(p), now_ms());
  }

  // Whatever did not finish in time goes back to the frontier for another worker.
  m_fetcher.abort_all();
  m_tasks.release_all(now_ms());
  const std::int64_t give_up = now_ms() + 5000;
  while (!m_tasks.outcomes().empty() && now_ms() < give_up) {
    connect(now_ms());
    flush(now_ms(), true);
    if (!m_tasks.outcomes().empty()) std::this_thread::sleep_for(100ms);
  }
  if (!m_tasks.outcomes().empty())
    spdlog::warn(
        "event=unrecorded_outcomes n={} note=\"their URLs go back to the queue, to be crawled "
        "again\"",
        m_tasks.outcomes().size());
  deregister();
  const auto& counts = m_tasks.stats().counts;
  auto count = [&](const char* k) { return counts.count(k) ? counts.at(k) : 0; };
  spdlog::info("event=stopped pages={} failed={} filtered={}", count("done"), count("failed"),
               count("filtered"));
  return 0;
}

}  // namespace

int run(const WorkerOptions& options, const std::atomic<bool>& stop) {
  return Worker(options, stop).run();
}

}  // namespace crawl::worker
