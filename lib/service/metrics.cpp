#include "service/metrics.hpp"

#include <cmath>
#include <iterator>
#include <map>

#include <fmt/format.h>

#include "core/text.hpp"

namespace crawl::service {

namespace {

using Label = std::pair<std::string_view, std::string_view>;

// The text format, written straight into one string: a family's HELP and TYPE lines, then its
// samples. Through prometheus-cpp (a MetricFamily of ClientMetrics, then an ostream), a scrape of
// 10,000 workers (9 samples each) took 159 ms; written this way, 45 ms (docs/performance.md).
class Exposition {
 public:
  // `bytes`: what the text is expected to take, made room for at once (a scrape of 10,000
  // workers is 6 MB: grown by doubling, it was copied a dozen times).
  explicit Exposition(std::size_t bytes) { m_out.reserve(bytes); }

  // Starts a family; its samples follow, all of them, before the next family. A family with no
  // sample is left out.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    m_name = name;
    m_type = type;
    m_help = help;
    m_pending = true;
  }

  void sample(std::initializer_list<Label> labels, double value) {
    if (m_pending) header();
    m_out += m_name;
    if (labels.size() > 0) {
      char sep = '{';
      for (const auto& [name, text] : labels) {
        m_out += sep;
        m_out += name;
        m_out += "=\"";
        label_value(text);
        m_out += '"';
        sep = ',';
      }
      m_out += '}';
    }
    m_out += ' ';
    if (std::isnan(value))
      m_out += "NaN";
    else if (std::isinf(value))
      m_out += value > 0 ? "+Inf" : "-Inf";
    else if (value == std::trunc(value) && std::fabs(value) < 9.0e15)
      fmt::format_to(std::back_inserter(m_out), "{}", static_cast<long long>(value));
    else
      fmt::format_to(std::back_inserter(m_out), "{}", value);
    m_out += '\n';
  }

  // One family of one sample.
  void single(std::string_view name, std::string_view type, std::string_view help, double value) {
    family(name, type, help);
    sample({}, value);
  }

  std::string take() { return std::move(m_out); }

 private:
  void header() {
    m_pending = false;
    m_out += "# HELP ";
    m_out += m_name;
    m_out += ' ';
    for (char c : m_help) {
      if (c == '\\')
        m_out += "\\\\";
      else if (c == '\n')
        m_out += "\\n";
      else
        m_out += c;
    }
    m_out += "\n# TYPE ";
    m_out += m_name;
    m_out += ' ';
    m_out += m_type;
    m_out += '\n';
  }

  // Escaped as the format says (backslash, quote, line feed); a byte that is not part of valid
  // UTF-8 (a job name from anyone, a host name from Redis) as U+FFFD, which Prometheus requires.
  void label_value(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x80) {
        if (c == '\\')
          m_out += "\\\\";
        else if (c == '"')
          m_out += "\\\"";
        else if (c == '\n')
          m_out += "\\n";
        else
          m_out += static_cast<char>(c);
        ++i;
        continue;
      }
      const std::size_t n = utf8_length(text.substr(i));
      if (n == 0) {
        m_out += "\xEF\xBF\xBD";
        ++i;
      } else {
        m_out.append(text.data() + i, n);
        i += n;
      }
    }
  }

  std::string m_out;
  std::string_view m_name, m_type, m_help;
  bool m_pending = false;
};

constexpr std::string_view gauge = "gauge", counter = "counter";

void add_jobs(Exposition& e, const status::Snapshot& s) {
  static const std::vector<std::string> states = {"queued",     "in progress", "paused",
                                                  "submitting", "finished",    "cancelling",
                                                  "cancelled",  "broken"};
  using queue::Counter;
  // Each family's samples, one job after another.
  const auto per_job = [&](std::string_view name, std::string_view type, std::string_view help,
                           Counter c) {
    e.family(name, type, help);
    for (const auto& job : s.jobs) e.sample({{"job", job.id}}, static_cast<double>(job.stat(c)));
  };
  e.family("crawl_job_info", gauge, "A job: 1, with its name");
  for (const auto& job : s.jobs) e.sample({{"job", job.id}, {"name", job.name}}, 1);
  e.family("crawl_job_state", gauge, "1 for the job's state, 0 for the others");
  for (const auto& job : s.jobs) {
    const std::string state = status::job_state(job);
    for (const auto& st : states) e.sample({{"job", job.id}, {"state", st}}, st == state ? 1 : 0);
  }
  per_job("crawl_job_urls_submitted_total", counter,
          "URLs admitted to be fetched (seeds and links)", Counter::submitted);
  per_job("crawl_job_urls_queued", gauge, "URLs waiting in the frontier (retries included)",
          Counter::queued);
  per_job("crawl_job_urls_in_flight", gauge, "URLs leased by a worker now", Counter::in_flight);
  e.family("crawl_job_urls_total", counter, "URLs recorded, by outcome");
  for (const auto& job : s.jobs)
    for (const char* outcome : {"done", "failed", "filtered"})
      e.sample({{"job", job.id}, {"outcome", outcome}},
               static_cast<double>(job.stat(std::string(outcome))));
  // "failed:timeout" -> (failed, timeout); "dropped:links" -> (dropped, links); "cut:size" ->
  // (cut, size).
  const auto by_reason = [&](std::string_view name, std::string_view help, std::string_view only) {
    e.family(name, counter, help);
    for (const auto& job : s.jobs)
      for (const auto& [stat, value] : job.stats) {
        const auto colon = stat.find(':');
        if (colon == std::string::npos) continue;
        const std::string_view kind = std::string_view(stat).substr(0, colon),
                               reason = std::string_view(stat).substr(colon + 1);
        if (only == "dropped" && kind == "dropped")
          e.sample({{"job", job.id}, {"what", reason}}, static_cast<double>(value));
        else if (only == "cut" && kind == "cut")
          e.sample({{"job", job.id}, {"reason", reason}}, static_cast<double>(value));
        else if (only.empty() && (kind == "failed" || kind == "filtered"))
          e.sample({{"job", job.id}, {"outcome", kind}, {"reason", reason}},
                   static_cast<double>(value));
      }
  };
  by_reason("crawl_job_urls_by_reason_total", "URLs failed or filtered, by reason", "");
  by_reason("crawl_job_dropped_total",
            "What a job left out: links and images past a page's limits, URLs past max_pages",
            "dropped");
  by_reason("crawl_job_pages_cut_total",
            "Pages parsed only in part: past max_parse_bytes (size), the element or nesting "
            "caps, or the worker's body memory",
            "cut");
  per_job("crawl_job_retries_total", counter, "Fetches tried again", Counter::retries);
  per_job("crawl_job_duplicates_total", counter, "Links found already admitted",
          Counter::duplicates);
  per_job("crawl_job_fetched_bytes_total", counter, "Body bytes received", Counter::bytes);
  e.family("crawl_job_pages_per_second", gauge,
           "Pages recorded per second: over the last minute while the job runs, over its life "
           "once finished");
  for (const auto& job : s.jobs) e.sample({{"job", job.id}}, job.rate());
  e.family("crawl_job_eta_seconds", gauge, "Time left at the last minute's rate");
  for (const auto& job : s.jobs)
    if (const auto eta = status::eta_seconds(job)) e.sample({{"job", job.id}}, *eta);
  e.family("crawl_job_sites", gauge,
           "Sites with URLs queued (queued), of them: ready, waiting for their time, waiting "
           "for a slot, backing off");
  for (const auto& job : s.jobs) {
    const std::pair<const char*, long long> sites[] = {{"queued", job.sites.queued},
                                                       {"ready", job.sites.ready},
                                                       {"waiting", job.sites.waiting},
                                                       {"waiting_for_slot", job.sites.for_slot},
                                                       {"backing_off", job.sites.backing_off}};
    for (const auto& [site_state, n] : sites)
      e.sample({{"job", job.id}, {"state", site_state}}, static_cast<double>(n));
  }
}

void add_workers(Exposition& e, const status::Verdict& v) {
  std::map<std::string, int> by_state = {
      {"running", 0}, {"draining", 0}, {"starting", 0}, {"dead", 0}, {"missing", 0}};
  for (const auto& row : v.rows) ++by_state[row.state];
  e.family("crawl_workers", gauge, "Workers by state, as crawlctl status judges them");
  for (const auto& [state, n] : by_state) e.sample({{"state", state}}, n);

  e.family("crawl_worker_up", gauge, "1 while the worker's heartbeat is current");
  for (const auto& row : v.rows)
    e.sample(
        {{"worker", row.id}, {"host", row.host}},
        row.beat != nullptr && row.beat->liveness == queue::WorkerInfo::Liveness::alive ? 1 : 0);
  // A family of one number from each worker's last heartbeat.
  const auto per_worker = [&](std::string_view name, std::string_view type, std::string_view help,
                              auto value) {
    e.family(name, type, help);
    for (const auto& row : v.rows)
      if (row.beat != nullptr)
        if (const auto x = value(*row.beat); x)
          e.sample({{"worker", row.id}, {"host", row.host}}, *x);
  };
  using Value = std::optional<double>;
  using Info = queue::WorkerInfo;
  per_worker("crawl_worker_pages_total", counter, "Pages the worker recorded since it started",
             [](const Info& w) -> Value { return static_cast<double>(w.report.pages); });
  per_worker("crawl_worker_failed_pages_total", counter, "Of them, failed",
             [](const Info& w) -> Value { return static_cast<double>(w.report.failed); });
  e.family("crawl_worker_errors_total", counter, "Failures and retries by reason, since its start");
  for (const auto& row : v.rows)
    if (row.beat != nullptr)
      for (const auto& [reason, n] : row.beat->report.errors)
        e.sample({{"worker", row.id}, {"host", row.host}, {"reason", reason}},
                 static_cast<double>(n));
  per_worker("crawl_worker_in_flight_requests", gauge, "Leases the worker holds",
             [](const Info& w) -> Value { return static_cast<double>(w.report.in_flight); });
  per_worker("crawl_worker_resident_memory_bytes", gauge, "The worker's resident memory",
             [](const Info& w) -> Value { return static_cast<double>(w.report.rss_bytes); });
  per_worker("crawl_worker_pages_per_second", gauge, "Over the last minute",
             [](const Info& w) -> Value { return w.report.rate; });
  per_worker("crawl_worker_heartbeat_age_seconds", gauge, "Since its last heartbeat",
             [](const Info& w) -> Value {
               if (w.heartbeat_age_ms < 0) return std::nullopt;
               return static_cast<double>(w.heartbeat_age_ms) / 1000.0;
             });
}

}  // namespace

std::string metrics_text(const status::Snapshot* snapshot, const status::Verdict* verdict,
                         const RedisProbe& redis) {
  // About 100 bytes a sample: ~11 a worker, ~40 a job.
  Exposition e(4096 + (verdict != nullptr ? verdict->rows.size() * 1200 : 0) +
               (snapshot != nullptr ? snapshot->jobs.size() * 4000 : 0));
  e.single("crawl_redis_up", gauge, "1 when Redis answered this scrape", redis.up ? 1 : 0);
  if (redis.up) {
    e.single("crawl_redis_round_trip_seconds", gauge,
             "A command's round trip to Redis, this scrape", redis.round_trip_seconds);
    if (redis.used_memory_bytes >= 0)
      e.single("crawl_redis_used_memory_bytes", gauge, "Memory Redis uses for its data",
               static_cast<double>(redis.used_memory_bytes));
  }
  if (snapshot != nullptr && verdict != nullptr) {
    e.single("crawl_dead_letters_total", counter, "Frontier entries found unreadable",
             static_cast<double>(snapshot->dead_letters));
    add_jobs(e, *snapshot);
    add_workers(e, *verdict);
  }
  return e.take();
}

}  // namespace crawl::service
