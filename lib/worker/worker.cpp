#include "worker/worker.hpp"

#include <map>
#include <random>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "fetch/fetcher.hpp"
#include "html/html.hpp"
#include "policy/politeness.hpp"
#include "policy/scope.hpp"
#include "queue/queue.hpp"
#include "queue/record.hpp"
#include "sitemap/sitemap.hpp"
#include "url/url.hpp"
#include "worker/archive.hpp"
#include "worker/clock.hpp"
#include "worker/decide.hpp"
#include "worker/heartbeat_publisher.hpp"
#include "worker/job_registry.hpp"
#include "worker/pacing.hpp"
#include "worker/parse_pool.hpp"
#include "worker/robots_cache.hpp"
#include "worker/session.hpp"
#include "worker/step.hpp"
#include "worker/tasks.hpp"

namespace crawl::worker {

namespace {

using namespace std::chrono_literals;

// An idle worker whose next claim is due sooner than this sleeps until then instead of
// blocking in Redis.
constexpr std::chrono::milliseconds k_short_wait{250};

// The worker process: the task machine of worker/tasks.hpp, served as its TaskEnv with the real
// fetcher, parser threads and robots.txt cache, among the pieces that each say when they next
// need to run: the Redis session (reconnection), the heartbeat, the pacing of claims and
// outcomes, and the tasks' own timers. run() waits for the earliest of them or for I/O, then
// does what is due.
class Worker final : private TaskEnv {
 public:
  Worker(const WorkerOptions& options, const std::atomic<bool>& stop)
      : m_options(options),
        m_stop(stop),
        m_fetcher(fetch_options(options.settings)),
        m_robots(options.settings.robots_agent,
                 [this](const std::string& u, std::uint64_t task) {
                   const std::uint64_t id = m_tasks.new_id();
                   fetch::Request request{id, u, true, policy::k_max_robots_bytes + 1};
                   // robots.txt goes to the WARC files of the job whose URL asked for it.
                   const JobContext* job = m_tasks.job_of(task);
                   if (job != nullptr && job->info.options.warc)
                     request.tap = m_archive.tap(job->info.id);
                   m_fetcher.add(std::move(request));
                   return id;
                 }),
        m_parser(parse_threads(options.settings), [this] { m_fetcher.wake(); }),
        m_rng(std::random_device{}()),
        m_redis(options.redis, options.durability, options.key_prefix),
        m_beats(options.id, options.host, options.deploy_id, m_options.settings, now_ms()),
        m_pacing(static_cast<std::size_t>(options.settings.concurrency), options.claim_batch),
        m_tasks(*this, options.id, options.settings.max_redirects),
        m_archive(archive_options(options)) {}

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
  static ArchiveOptions archive_options(const WorkerOptions& w) {
    ArchiveOptions o;
    o.dir = w.settings.warc_dir;
    o.worker_id = w.id;
    o.max_file_bytes = w.settings.warc_max_bytes;
    o.info = {{"software", "crawlworker"},
              {"hostname", w.host},
              {"http-header-user-agent", w.settings.user_agent},
              {"robots", "obey, unless a job says otherwise"}};
    return o;
  }
  static unsigned parse_threads(const config::WorkerSettings& s) {
    return s.parse_threads > 0 ? static_cast<unsigned>(s.parse_threads)
                               : std::max(1u, std::thread::hardware_concurrency());
  }

  void connected(std::int64_t now);
  void heartbeat(std::int64_t now);
  // When the next claim may be made (-1: none: no connection, draining, or every slot taken).
  std::int64_t claim_at() const {
    return m_redis.connected() && !m_draining ? m_pacing.claim_at(m_tasks.size()) : -1;
  }
  void claim(std::int64_t now);
  void start(queue::Entry entry, const std::string& gone, std::int64_t now);
  void on_response(fetch::Response r, std::int64_t now);
  // When the outcomes waiting are to be recorded (-1: none wait, or there is no connection).
  std::int64_t flush_at() const {
    if (m_tasks.outcomes().empty() || !m_redis.connected()) return -1;
    return m_pacing.flush_at(m_tasks.outcomes().size(), m_tasks.outcome_bytes(),
                             m_tasks.oldest_outcome_ms(), m_draining);
  }
  void flush(std::int64_t now);
  // Idle (nothing held, nothing to record): waits for work announced in Redis, or the next
  // site's time, within a bound.
  void idle(std::int64_t now);
  // Busy: waits for I/O (transfers, parses) until the earliest deadline.
  void busy(std::int64_t now, std::int64_t next_timer, bool waiting_on_robots);
  void deregister();

  // TaskEnv
  const policy::Robots* robots(const std::string& site, std::uint64_t task,
                               std::int64_t now) override {
    return m_robots.lookup(site, task, m_redis.queue(), now);
  }
  std::chrono::milliseconds robots_expires_in(const std::string& site, std::int64_t now) override {
    return std::chrono::milliseconds(m_robots.expires_in(site, now));
  }
  void crawl_delay(const std::string& site, const policy::Robots& robots,
                   std::int64_t now) override;
  std::chrono::milliseconds site_start(const std::string& job, const std::string& site) override;
  void fetch(std::uint64_t task, const std::string& url, std::uint64_t keep_bytes, bool sitemaps,
             const std::string& warc_job) override {
    fetch::Request request{task, url, false, std::nullopt, keep_bytes};
    if (sitemaps) {
      request.keep_also = sitemap::maybe_sitemap_type;
      request.keep_also_bytes = m_options.settings.max_body_bytes;
    }
    if (!warc_job.empty()) request.tap = m_archive.tap(warc_job);
    m_fetcher.add(std::move(request));
  }
  void cancel_fetch(std::uint64_t task) override { m_fetcher.cancel(task); }
  void parse(ParseJob job) override { m_parser.submit(std::move(job)); }

  WorkerOptions m_options;
  const std::atomic<bool>& m_stop;
  fetch::Fetcher m_fetcher;  // before m_parser: parser threads wake the fetcher
  RobotsCache m_robots;
  ParsePool m_parser;
  std::mt19937 m_rng;
  RedisSession m_redis;
  bool m_old_leases_returned = false;  // those an earlier run under this id left
  HeartbeatPublisher m_beats;
  JobRegistry m_jobs;
  Pacing m_pacing;
  std::map<std::string, std::int64_t> m_crawl_delay_reported;  // site -> when to report again
  Tasks m_tasks;
  Archive m_archive;
  std::int64_t m_archive_at = -1;  // when a WARC file may next be idle long enough to close
  bool m_draining = false;
};

void Worker::connected(std::int64_t now) {
  m_beats.now_due();
  queue::Queue* queue = m_redis.queue();
  if (!m_old_leases_returned) {
    // Leases left by an earlier run under this id go back to the frontier first.
    auto returned = queue->frontier().reap(m_options.id, queue::Reap::even_alive);
    if (!m_redis.ok(returned, "reap_self")) return;
    if (*returned > 0) spdlog::info("event=returned_old_leases n={}", *returned);
    m_old_leases_returned = true;
    return;
  }
  // Reconcile with what Redis says we hold: a claim whose reply was lost, or a completion lost
  // with the server's last second of writes, leaves leases we do not know about.
  auto leased = queue->frontier().leased(m_options.id);
  if (!m_redis.ok(leased, "reconcile")) return;
  const std::set<std::string> known = m_tasks.held();
  std::size_t adopted = 0;
  for (auto& e : *leased)
    if (!known.count(queue::encode(e))) {
      start(std::move(e), "", now);
      ++adopted;
    }
  if (adopted > 0) spdlog::info("event=reconciled adopted={}", adopted);
}

// Job control reaches the worker at its heartbeat.
void Worker::heartbeat(std::int64_t now) {
  const Pulse pulse{m_tasks.stats(), m_tasks.size(), m_fetcher.active(),
                    m_fetcher.body_memory_used(), m_draining};
  if (m_beats.beat(m_redis, pulse, now)) m_jobs.refresh(m_redis, m_tasks, now);
}

void Worker::claim(std::int64_t now) {
  const std::int64_t at = claim_at();
  if (at < 0 || now < at) return;
  const std::size_t batch = m_pacing.claim_size(m_tasks.size());
  auto claimed = m_redis.queue()->frontier().claim(m_options.id, batch);
  if (!m_redis.ok(claimed, "claim")) {
    m_pacing.claim_failed(now);
    return;
  }
  if (claimed->dead_lettered > 0)
    spdlog::warn(
        "event=dead_letters n={} note=\"frontier entries that could not be read, moved to the dead "
        "letters\"",
        claimed->dead_lettered);
  m_pacing.claimed(now, batch, claimed->entries.size(), claimed->next_in_ms);
  for (std::size_t i = 0; i < claimed->entries.size(); ++i)
    start(std::move(claimed->entries[i]), claimed->gone[i], now);
}

void Worker::start(queue::Entry entry, const std::string& gone, std::int64_t now) {
  std::shared_ptr<const JobContext> ctx = m_jobs.context(entry, m_redis);
  m_tasks.start(std::move(entry), std::move(ctx), gone, now);
}

// The site's Crawl-delay, for the claims of every worker: reported when a worker learns the
// site's rules, again after ten minutes.
void Worker::crawl_delay(const std::string& site, const policy::Robots& robots, std::int64_t now) {
  queue::Queue* queue = m_redis.queue();
  if (!queue) return;
  auto [it, fresh] = m_crawl_delay_reported.try_emplace(site, 0);
  if (!fresh && now < it->second) return;
  if (m_redis.ok(queue->sites().set_crawl_delay(site, robots.crawl_delay().value_or(0ms)),
                 "crawl_delay"))
    it->second = now + 10 * 60 * 1000;
}

std::chrono::milliseconds Worker::site_start(const std::string& job, const std::string& site) {
  queue::Queue* queue = m_redis.queue();
  if (!queue) return 100ms;  // without Redis, ask again shortly
  auto started = queue->frontier().site_start(job, site);
  return m_redis.ok(started, "site_start") ? *started : 100ms;
}

void Worker::on_response(fetch::Response r, std::int64_t now) {
  std::optional<Archived> archived;
  if (r.tap) {
    archived = m_archive.write(r, now);
    r.tap.reset();  // its memory and spool file go now
    if (m_archive_at < 0) m_archive_at = m_archive.close_idle(now);
  }
  if (m_robots.on_response(r, m_redis.queue(), now)) return;
  const double jitter = std::uniform_real_distribution<double>(0, 1)(m_rng);
  m_tasks.on_response(std::move(r), now, jitter, std::move(archived));
}

// Records outcomes in one round trip when Pacing says they are due.
void Worker::flush(std::int64_t now) {
  const std::int64_t at = flush_at();
  if (at < 0 || now < at) return;
  const std::vector<queue::PageOutcome>& outcomes = m_tasks.outcomes();
  auto done = m_redis.queue()->frontier().complete(m_options.id, outcomes);
  if (!m_redis.ok(done, "complete")) {  // kept, and sent again (after reconnecting)
    m_pacing.flush_failed(now);
    return;
  }
  if (done->applied < outcomes.size())
    spdlog::info("event=stale_outcomes skipped={}", outcomes.size() - done->applied);
  m_tasks.clear_outcomes();
  m_pacing.flushed();
}

void Worker::idle(std::int64_t now) {
  // Block in Redis until work is ready (a wake-up token) or the next site's time comes, at most
  // until the next heartbeat.
  const auto until_claim =
      std::chrono::milliseconds(std::max<std::int64_t>(10, m_pacing.work_at() - now));
  if (until_claim < k_short_wait) {
    // Redis ends a blocking wait on its own clock tick (100 ms at the default hz): a site due
    // sooner is waited for here. A robots.txt fetch may outlive its tasks (paused, cancelled):
    // its answer is kept.
    for (auto& r : m_fetcher.poll(until_claim)) on_response(std::move(r), now_ms());
    return;
  }
  const auto wait_for = std::min({until_claim, 1000ms, m_options.settings.heartbeat_interval / 2});
  if (!m_pacing.may_block(now)) {  // waiting failed a moment ago: sleep, then claim
    for (auto& r : m_fetcher.poll(wait_for)) on_response(std::move(r), now_ms());
    return;
  }
  auto work = m_redis.queue()->frontier().wait_for_work(wait_for);
  if (!m_redis.ok(work, "wait"))
    m_pacing.wait_failed(now_ms());
  else if (*work)
    m_pacing.claim_soon();
}

void Worker::busy(std::int64_t now, std::int64_t next_timer, bool waiting_on_robots) {
  std::int64_t until = next_timer;
  if (waiting_on_robots) until = std::min<std::int64_t>(until, now + 50);
  // Outcomes are sent when their hold ends, a short claim is tried again when it said, and a
  // lost connection when its back-off ends.
  for (const std::int64_t at : {flush_at(), claim_at(), m_redis.connect_at(), m_archive_at})
    if (at >= 0) until = std::min(until, at);
  const std::int64_t wait = std::max<std::int64_t>(0, until - now);
  for (auto& r : m_fetcher.poll(std::chrono::milliseconds(wait)))
    on_response(std::move(r), now_ms());
  for (auto& p : m_parser.take()) m_tasks.on_parsed(std::move(p), now_ms());
}

// Leaves the fleet. A lease still held here (an outcome Redis refused, or one adopted while
// reconnecting during the drain) goes back to the frontier first: once this worker is no longer
// registered, no reaper would ever look at its in-flight list.
void Worker::deregister() {
  queue::Queue* queue = m_redis.queue();
  if (!queue) return;
  auto returned = queue->fleet().leave(m_options.id);
  if (!m_redis.ok(returned, "return_leases")) return;
  if (*returned > 0) spdlog::warn("event=returned_leases n={}", *returned);
}

int Worker::run() {
  spdlog::info("event=start id={} concurrency={} parse_threads={}", m_options.id,
               m_options.settings.concurrency, parse_threads(m_options.settings));
  m_archive.recover();
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
    if (m_redis.connect(now)) connected(now);
    heartbeat(now);
    if (m_archive_at >= 0 && now >= m_archive_at) m_archive_at = m_archive.close_idle(now);
    flush(now);  // outcomes first: they give their sites' slots back
    claim(now);
    for (std::uint64_t id : m_robots.ready(m_redis.queue(), now)) m_tasks.resume(id, now);
    // Tasks whose site's delay has passed go on; the next such time bounds the wait.
    const std::int64_t next_timer = m_tasks.wake_polite(now, now + 100);
    const bool waiting_on_robots = m_tasks.waiting_on_robots();
    flush(now);
    if (m_tasks.empty() && m_tasks.outcomes().empty() && m_redis.connected() && !m_draining)
      idle(now);
    else
      busy(now, next_timer, waiting_on_robots);
  }

  // Whatever did not finish in time goes back to the frontier for another worker.
  m_fetcher.abort_all();
  m_archive.close_all();
  m_tasks.release_all(now_ms());
  const std::int64_t give_up = now_ms() + 5000;
  while (!m_tasks.outcomes().empty() && now_ms() < give_up) {
    if (m_redis.connect(now_ms())) connected(now_ms());
    flush(now_ms());
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
