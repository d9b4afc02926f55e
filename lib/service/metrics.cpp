#include "service/metrics.hpp"

#include <map>
#include <sstream>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace crawl::service {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

class Families {
 public:
  // Adds a sample to the family `name` (made on first use, in order of first use). The last
  // family used is looked at first: samples of one family mostly come together.
  void add(const std::string& name, MetricType type, const std::string& help, Labels labels,
           double value) {
    MetricFamily* family = nullptr;
    if (m_last < m_families.size() && m_families[m_last].name == name) {
      family = &m_families[m_last];
    } else {
      auto [it, fresh] = m_index.try_emplace(name, m_families.size());
      if (fresh) {
        m_families.push_back(MetricFamily{name, help, type, {}});
        m_families.back().metric.reserve(m_reserve);
      }
      m_last = it->second;
      family = &m_families[m_last];
    }
    ClientMetric& m = family->metric.emplace_back();
    m.label = std::move(labels);
    if (type == MetricType::Counter)
      m.counter.value = value;
    else
      m.gauge.value = value;
  }
  void gauge(const std::string& name, const std::string& help, Labels labels, double value) {
    add(name, MetricType::Gauge, help, std::move(labels), value);
  }
  void counter(const std::string& name, const std::string& help, Labels labels, double value) {
    add(name, MetricType::Counter, help, std::move(labels), value);
  }
  // Families made from now on hold room for this many samples (the workers' count).
  void reserve(std::size_t n) { m_reserve = n; }
  std::string text() const {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, m_families);
    return std::move(out).str();
  }

 private:
  std::vector<MetricFamily> m_families;
  std::map<std::string, std::size_t> m_index;
  std::size_t m_last = 0, m_reserve = 0;
};

void add_jobs(Families& f, const status::Snapshot& s) {
  static const std::vector<std::string> states = {"queued",     "in progress", "paused",
                                                  "submitting", "finished",    "cancelling",
                                                  "cancelled",  "broken"};
  for (const auto& job : s.jobs) {
    const Labels id = {{"job", job.id}};
    f.gauge("crawl_job_info", "A job: 1, with its name", {{"job", job.id}, {"name", job.name}}, 1);
    const std::string state = status::job_state(job);
    for (const auto& st : states)
      f.gauge("crawl_job_state", "1 for the job's state, 0 for the others",
              {{"job", job.id}, {"state", st}}, st == state ? 1 : 0);
    using queue::Counter;
    f.counter("crawl_job_urls_submitted_total", "URLs admitted to be fetched (seeds and links)", id,
              static_cast<double>(job.stat(Counter::submitted)));
    f.gauge("crawl_job_urls_queued", "URLs waiting in the frontier (retries included)", id,
            static_cast<double>(job.stat(Counter::queued)));
    f.gauge("crawl_job_urls_in_flight", "URLs leased by a worker now", id,
            static_cast<double>(job.stat(Counter::in_flight)));
    for (const char* outcome : {"done", "failed", "filtered"})
      f.counter("crawl_job_urls_total", "URLs recorded, by outcome",
                {{"job", job.id}, {"outcome", outcome}},
                static_cast<double>(job.stat(std::string(outcome))));
    for (const auto& [name, value] : job.stats) {
      const auto colon = name.find(':');
      if (colon == std::string::npos) continue;
      const std::string kind = name.substr(0, colon), reason = name.substr(colon + 1);
      if (kind == "failed" || kind == "filtered")
        f.counter("crawl_job_urls_by_reason_total", "URLs failed or filtered, by reason",
                  {{"job", job.id}, {"outcome", kind}, {"reason", reason}},
                  static_cast<double>(value));
      else if (kind == "dropped")
        f.counter("crawl_job_dropped_total",
                  "What a job left out: links and images past a page's limits, URLs past "
                  "max_pages",
                  {{"job", job.id}, {"what", reason}}, static_cast<double>(value));
    }
    f.counter("crawl_job_retries_total", "Fetches tried again", id,
              static_cast<double>(job.stat(Counter::retries)));
    f.counter("crawl_job_duplicates_total", "Links found already admitted", id,
              static_cast<double>(job.stat(Counter::duplicates)));
    f.counter("crawl_job_fetched_bytes_total", "Body bytes received", id,
              static_cast<double>(job.stat(Counter::bytes)));
    f.gauge("crawl_job_pages_per_second",
            "Pages recorded per second: over the last minute while the job runs, over its life "
            "once finished",
            id, job.rate());
    if (const auto eta = status::eta_seconds(job))
      f.gauge("crawl_job_eta_seconds", "Time left at the last minute's rate", id, *eta);
    const std::vector<std::pair<const char*, long long>> sites = {
        {"queued", job.sites.queued},
        {"ready", job.sites.ready},
        {"waiting", job.sites.waiting},
        {"waiting_for_slot", job.sites.for_slot},
        {"backing_off", job.sites.backing_off}};
    for (const auto& [site_state, n] : sites)
      f.gauge("crawl_job_sites",
              "Sites with URLs queued (queued), of them: ready, waiting for their time, "
              "waiting for a slot, backing off",
              {{"job", job.id}, {"state", site_state}}, static_cast<double>(n));
  }
}

void add_workers(Families& f, const status::Snapshot& s, const status::Verdict& v) {
  f.reserve(v.rows.size());
  std::map<std::string, int> by_state = {
      {"running", 0}, {"draining", 0}, {"starting", 0}, {"dead", 0}, {"missing", 0}};
  for (const auto& row : v.rows) ++by_state[row.state];
  for (const auto& [state, n] : by_state)
    f.gauge("crawl_workers", "Workers by state, as crawlctl status judges them", {{"state", state}},
            n);
  for (const auto& row : v.rows) {
    const Labels id = {{"worker", row.id}, {"host", row.host}};
    f.gauge(
        "crawl_worker_up", "1 while the worker's heartbeat is current", id,
        row.beat != nullptr && row.beat->liveness == queue::WorkerInfo::Liveness::alive ? 1 : 0);
    if (row.beat == nullptr) continue;
    const queue::Heartbeat& b = row.beat->report;
    f.counter("crawl_worker_pages_total", "Pages the worker recorded since it started", id,
              static_cast<double>(b.pages));
    f.counter("crawl_worker_failed_pages_total", "Of them, failed", id,
              static_cast<double>(b.failed));
    for (const auto& [reason, n] : b.errors) {
      Labels labels = id;
      labels.push_back({"reason", reason});
      f.counter("crawl_worker_errors_total", "Failures and retries by reason, since its start",
                std::move(labels), static_cast<double>(n));
    }
    f.gauge("crawl_worker_in_flight_requests", "Leases the worker holds", id,
            static_cast<double>(b.in_flight));
    f.gauge("crawl_worker_resident_memory_bytes", "The worker's resident memory", id,
            static_cast<double>(b.rss_bytes));
    f.gauge("crawl_worker_pages_per_second", "Over the last minute", id, b.rate);
    if (row.beat->heartbeat_age_ms >= 0)
      f.gauge("crawl_worker_heartbeat_age_seconds", "Since its last heartbeat", id,
              static_cast<double>(row.beat->heartbeat_age_ms) / 1000.0);
  }
  (void)s;
}

}  // namespace

std::string metrics_text(const status::Snapshot* snapshot, const status::Verdict* verdict,
                         const RedisProbe& redis) {
  Families f;
  f.gauge("crawl_redis_up", "1 when Redis answered this scrape", {}, redis.up ? 1 : 0);
  if (redis.up) {
    f.gauge("crawl_redis_round_trip_seconds", "A command's round trip to Redis, this scrape", {},
            redis.round_trip_seconds);
    if (redis.used_memory_bytes >= 0)
      f.gauge("crawl_redis_used_memory_bytes", "Memory Redis uses for its data", {},
              static_cast<double>(redis.used_memory_bytes));
  }
  if (snapshot != nullptr && verdict != nullptr) {
    f.counter("crawl_dead_letters_total", "Frontier entries found unreadable", {},
              static_cast<double>(snapshot->dead_letters));
    add_jobs(f, *snapshot);
    add_workers(f, *snapshot, *verdict);
  }
  return f.text();
}

}  // namespace crawl::service
