#pragma once
// The life of each leased URL in a worker, from its lease to its outcome: robots.txt, the
// site's delay, the request, redirects, the parse, and the record. Everything outside (the
// frontier, the robots.txt cache, the fetcher, the parser threads, the clock) comes through a
// TaskEnv and the times passed in, so the whole machine runs in unit tests against fakes.
// worker.cpp wires it to the real ones.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fetch/fetcher.hpp"
#include "policy/robots.hpp"
#include "policy/scope.hpp"
#include "queue/queue.hpp"
#include "worker/archive.hpp"
#include "worker/decide.hpp"
#include "worker/parse_pool.hpp"
#include "worker/step.hpp"

namespace crawl::worker {

// A job as the worker crawls it: its options and rules, read once for its tasks.
struct JobContext {
  queue::JobInfo info;
  std::shared_ptr<const policy::LinkFilter> filter;
  std::string broken;  // why the job cannot be crawled as it stands (then no filter)
};

// What the tasks need of the world around them.
class TaskEnv {
 public:
  virtual ~TaskEnv() = default;
  // The site's robots.txt rules if known, else nullptr: they are being fetched, and the task is
  // handed back to Tasks::resume() once they are.
  virtual const policy::Robots* robots(const std::string& site, std::uint64_t task,
                                       std::int64_t now) = 0;
  // How long an unreachable robots.txt answer for the site still stands.
  virtual std::chrono::milliseconds robots_expires_in(const std::string& site,
                                                      std::int64_t now) = 0;
  // The site's rules were read: its Crawl-delay is for every worker's claims.
  virtual void crawl_delay(const std::string& site, const policy::Robots& robots,
                           std::int64_t now) = 0;
  // May a further request start at the site now: 0 (and the start is marked, fleet-wide), or
  // how long until it may.
  virtual std::chrono::milliseconds site_start(const std::string& job, const std::string& site) = 0;
  // `keep_bytes`: of a body of a type parsed, as much as is kept (the job's max_parse_bytes + 1,
  // to know a page was longer). `sitemaps`: the job reads sitemaps, so a body that may be one
  // (sitemap::maybe_sitemap_type) is kept too, up to the worker's max body. `warc_job`: the
  // job whose WARC files keep the exchange ("" for none).
  virtual void fetch(std::uint64_t task, const std::string& url, std::uint64_t keep_bytes,
                     bool sitemaps, const std::string& warc_job) = 0;
  virtual void cancel_fetch(std::uint64_t task) = 0;
  virtual void parse(ParseJob job) = 0;
};

// Counters for heartbeats; pages per second over the last minute from per-second buckets.
struct Stats {
  std::map<std::string, std::uint64_t> counts;  // done, failed, filtered, retries, bytes
  std::map<std::string, std::uint64_t> errors;  // by reason
  std::map<std::int64_t, std::uint64_t> per_second;

  void page(std::int64_t now);
  double rate(std::int64_t now) const;
};

class Tasks {
 public:
  Tasks(TaskEnv& env, std::string worker_id, int max_redirects);

  // An id for a request of the worker's own (robots.txt): shared with the tasks' ids, so a
  // fetcher's answer names one or the other.
  std::uint64_t new_id() { return m_next_id++; }

  // A leased URL. `job`: its context (nullptr: unreadable now, the URL goes back); `gone`: why
  // its site was given up on, if it was.
  void start(queue::Entry entry, std::shared_ptr<const JobContext> job, const std::string& gone,
             std::int64_t now);
  // A task that waited for its site's robots.txt goes on.
  void resume(std::uint64_t task, std::int64_t now);
  // Tasks waiting out their site's delay whose time came go on. Returns the earliest time
  // another still waits for, or `until` if none is sooner.
  std::int64_t wake_polite(std::int64_t now, std::int64_t until);
  // `archived`: where the exchange was written, for a job that keeps WARC files.
  void on_response(fetch::Response response, std::int64_t now, double jitter,
                   std::optional<Archived> archived = std::nullopt);
  // The job of a task held (nullptr if none is).
  const JobContext* job_of(std::uint64_t task) const;
  void on_parsed(Parsed parsed, std::int64_t now);

  // Tasks not yet fetching (of `job`, or of every job) go back to their sites' queues.
  void release_unstarted(const std::string& job, std::int64_t now);
  // Every task goes back (the worker stops).
  void release_all(std::int64_t now);
  // A cancelled or deleted job: its tasks end, their transfers too. Returns how many.
  std::size_t cancel_job(const std::string& job, std::int64_t now);

  std::size_t size() const { return m_tasks.size(); }
  bool empty() const { return m_tasks.empty(); }
  bool waiting_on_robots() const;
  std::set<std::string> jobs() const;  // of the tasks held
  // The entries held, as tasks or as outcomes not yet recorded (queue::encode form).
  std::set<std::string> held() const;

  // Outcomes waiting to be recorded, oldest first; the worker sends and clears them.
  const std::vector<queue::PageOutcome>& outcomes() const { return m_outcomes; }
  void clear_outcomes();
  std::int64_t oldest_outcome_ms() const { return m_oldest_outcome_ms; }
  // Bytes of records and links the outcomes hold: the worker records them before they pass a
  // bound of its memory.
  std::size_t outcome_bytes() const { return m_outcome_bytes; }
  const Stats& stats() const { return m_stats; }

 private:
  // One leased URL. Its site's slot is held from the claim on: the first request leaves at once;
  // a redirect within the site waits for the site's delay (stage polite), a redirect to another
  // site ends the task (the target is admitted as a URL of its own).
  struct Task {
    std::uint64_t id = 0;
    queue::Entry entry;
    Attempt attempt;
    std::shared_ptr<const JobContext> job;
    enum class Stage { robots, polite, fetching, parsing } stage = Stage::robots;
    StepState steps;                        // robots.txt, the site's delay: worker/step.hpp
    std::int64_t polite_until_ms = 0;       // polite: when to ask again (the worker's clock, ms)
    std::chrono::milliseconds retry_in{0};  // retry, defer: how long the URL waits in the frontier
    std::int64_t fetch_ms = 0;
    fetch::Response last;  // body moved to the parser
    std::uint64_t body_bytes = 0;
    queue::PageOutcome::Site site =
        queue::PageOutcome::Site::unknown;  // what its site's answer said
    std::chrono::milliseconds site_backoff{0};
    std::optional<std::string> moved_to;  // a redirect to another site
    // Its site's sitemaps (robots.txt's and /sitemap.xml, normalised), for a job that reads them
    // and a site this worker has not yet handed them on for: admitted with its outcome.
    std::vector<std::string> sitemaps;
    std::string sitemaps_key;          // "job site"
    std::optional<Archived> archived;  // the last response's records, in the job's WARC files
  };
  void advance(Task& t, std::int64_t now);
  void hop(Task& t, bool same_site, std::string target, std::int64_t now);
  void to_parser(Task& t, fetch::Response r, bool sitemap);
  void finish(Task& t, queue::PageOutcome::Kind kind, const std::string& reason, std::int64_t now,
              std::optional<Parsed> parsed = std::nullopt);

  TaskEnv& m_env;
  std::string m_worker_id;
  int m_max_redirects;
  std::uint64_t m_next_id = 1;
  std::unordered_map<std::uint64_t, Task> m_tasks;
  std::vector<queue::PageOutcome> m_outcomes;
  std::int64_t m_oldest_outcome_ms = 0;
  std::size_t m_outcome_bytes = 0;
  Stats m_stats;
  // "job site" for each site whose sitemaps this worker has handed on for the job (the job's
  // dedup makes another worker's second hand-over harmless); forgotten past a bound.
  std::unordered_set<std::string> m_sitemaps_sent;
};

}  // namespace crawl::worker
