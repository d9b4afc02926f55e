#pragma once
// Crawl jobs in Redis: their options and state, the seeds admitted into them (with exact dedup),
// their counters and results, and job control (pause, resume, cancel). docs/redis-data-model.md
// describes the keys.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "policy/job.hpp"
#include "queue/keys.hpp"
#include "queue/redis.hpp"

namespace crawl::queue {

// A URL to admit into a job; `drop` non-empty records it as filtered with that reason instead.
struct Link {
  std::string url;  // normalised
  std::string drop;
  std::uint64_t fingerprint = 0;  // url::fingerprint(url), or 0 to have it computed
};

// The same, as views into storage the caller keeps alive for the call: for a million seeds,
// no copy of each URL is made.
// The counters the scripts keep in a job's stats hash (docs/redis-data-model.md, "Counters"), by
// name; the hash also breaks some down by reason ("failed:http_404", "filtered:offsite",
// "dropped:max_pages"), read by their names.
enum class Counter {
  submitted,
  queued,
  in_flight,
  done,
  failed,
  filtered,
  retries,
  duplicates,
  budget_used,
  cancelled,
  bytes,
};
std::string_view to_string(Counter counter);

struct LinkView {
  std::string_view url;
  std::string_view drop;
  std::uint64_t fingerprint = 0;
};

struct Admitted {
  std::uint64_t admitted = 0;
  std::uint64_t duplicates = 0;
};

struct JobInfo {
  std::string id;
  std::string name;
  std::string state;            // running, paused or cancelled
  std::int64_t created_ms = 0;  // by the Redis server's clock
  policy::JobOptions options;
  // Seeds are still being added: set by create_job and begin_submit, cleared by end_submit once
  // the last batch was acknowledged. With the submitter gone (its key expired), the submit was
  // cut short: the job holds only part of its seeds.
  bool submitting = false;
  bool submitter_alive = false;
  long long seeds_version = 0;  // moves when seeds (and so the scope) are added to the job
  // Why the job cannot be crawled as it stands: its options cannot be read (a field Redis holds
  // is malformed), a key of it is of the wrong type or a counter not a number (the scripts flag
  // it `broken`), or its hash is missing. The job is then shown as broken and its URLs wait,
  // untouched, until it is fixed (then `resume`) or cancelled.
  std::string problem;
  bool missing = false;                    // listed in P:jobs, its hash is not there
  std::map<std::string, long long> stats;  // the counters hash, as is
  // Its sites with queued URLs: ready (may be leased now), waiting for their time (delay or
  // back-off), waiting for a slot (their requests in flight at the limit), and those of them a
  // claim found backing off.
  struct Sites {
    long long queued = 0, ready = 0, waiting = 0, for_slot = 0, backing_off = 0;
  } sites;
  // Pages recorded (done, failed or filtered once fetched): over the last minute, or since the
  // job was created if that is less; and in all, with the time of the last one (server clock).
  long long recent_pages = 0;
  double recent_seconds = 0;
  long long pages_recorded = 0;
  std::int64_t last_page_ms = 0;
  // Records in its stream, waiting to be drained home (at records_backlog, its claims wait), and
  // where that home is ("HOST:PATH"; "" before the first drain).
  long long records_waiting = 0;
  std::string records_home;
  // Its claims wait for its records to be drained (claim.lua's rule).
  bool records_held() const {
    return state == "running" && options.records_backlog > 0 &&
           static_cast<std::uint64_t>(records_waiting) >= options.records_backlog;
  }

  long long stat(const std::string& counter) const {
    auto it = stats.find(counter);
    return it == stats.end() ? 0 : it->second;
  }
  long long stat(Counter counter) const { return stat(std::string(to_string(counter))); }
  // Finished exactly when nothing is queued or leased, something was submitted, and no more
  // seeds are coming.
  bool finished() const {
    return stat(Counter::submitted) > 0 && stat(Counter::queued) == 0 &&
           stat(Counter::in_flight) == 0 && !submitting;
  }
  bool cancelled() const { return state == "cancelled"; }
  // Pages per second: a finished job's over its whole duration (creation to last page), a
  // running one's over the last minute.
  double rate() const {
    if (finished() && pages_recorded > 0 && last_page_ms > 0)
      return double(pages_recorded) * 1000.0 /
             double(std::max<std::int64_t>(1, last_page_ms - created_ms));
    return recent_seconds > 0 ? double(recent_pages) / recent_seconds : 0.0;
  }
};

enum class JobAction { pause, resume, cancel };
struct JobChange {
  std::string state;    // the job's state now
  long long moved = 0;  // cancel: entries dropped
};

// What workers watch of the jobs they hold: the state (running, paused, cancelled, or "gone" for
// a job deleted) and the seeds_version.
struct JobState {
  std::string state;
  long long seeds_version = 0;
};

// Job options <-> the job hash's fields. Pure.
std::vector<std::pair<std::string, std::string>> job_fields(const policy::JobOptions& options);
Result<policy::JobOptions> job_options(const std::map<std::string, std::string>& fields);

// How a new job takes its first seeds. streamed: with enqueue(), workers crawling it from the
// first batch on. loaded: with load(), written whole (several times faster) while the job is held
// back from workers and other submits, until end_submit; if its loader is gone (its submitter key
// lapsed), the job goes on with what was loaded.
enum class FirstSeeds { streamed, loaded };

class Jobs {
 public:
  // Told after each round trip of seeds: how many of the links are done, and what became of
  // them, all of it acknowledged by Redis.
  using Progress = std::function<void(std::size_t done, const Admitted& so_far)>;

  Jobs(Redis& redis, const Keys& keys) : m_redis(redis), m_keys(keys) {}

  // A new job with its options and the "host[:port]" of its seeds (its scope); returns its id.
  // It is `submitting` until end_submit: it cannot look finished between two batches of seeds,
  // and a submit cut short leaves it marked, for status to flag.
  Result<std::string> create(const policy::JobOptions& options, const std::string& name,
                             const std::vector<std::string>& seed_authorities, std::int64_t now_ms,
                             FirstSeeds first = FirstSeeds::streamed);
  // The first seeds of a job created FirstSeeds::loaded, sorted by fingerprint (seeds carry no
  // drop reason): deduplicated here, then written in batches, each dedup bucket whole in one, each
  // batch atomically with its counters. `progress` as for enqueue. Fails (invalid) for links out
  // of order, and for a job no longer loading (cancelled, or taken over by another submit after
  // this one stalled past its submitter key).
  Result<Admitted> load(const std::string& job, const std::vector<LinkView>& links,
                        const Progress& progress = nullptr);
  // Marks an existing job submitting again, to add seeds to it (their authorities join its
  // scope, and its seeds_version moves so workers read the scope again). Several submits may
  // run into one job; it stays submitting until the last has ended. Fails for a job that does
  // not exist (not_found) or was cancelled (invalid).
  Result<void> begin_submit(const std::string& job,
                            const std::vector<std::string>& seed_authorities);
  Result<void> end_submit(const std::string& job);
  // Admits URLs at `depth` (seeds: 0), batching many script calls per round trip. `progress`
  // is called after each round trip with the number of links done so far and what became of
  // them: all of it acknowledged by Redis.
  Result<Admitted> enqueue(const std::string& job, int depth, const std::vector<Link>& links,
                           const Progress& progress = nullptr);
  Result<Admitted> enqueue(const std::string& job, int depth, const std::vector<LinkView>& links,
                           const Progress& progress = nullptr);
  Result<JobInfo> job(const std::string& id);
  // Many jobs in one round trip; a missing job is an error naming it (of kind not_found), a
  // malformed one is returned with its `problem` set.
  // `now_ms`, if given, receives the server's clock from the same round trip.
  Result<std::vector<JobInfo>> jobs(const std::vector<std::string>& ids,
                                    std::int64_t* now_ms = nullptr);
  // Pause: no entry of the job is leased any more; leases already out finish. Resume: its sites
  // are due again. Cancel: its queued entries are dropped (in chunks, so that Redis serves the
  // workers in between), the delayed set is swept, workers drop its leases, and no link is
  // admitted into it any more.
  Result<JobChange> control(const std::string& job, JobAction action);
  Result<std::vector<JobState>> states(const std::vector<std::string>& ids);
  Result<std::vector<std::string>> seed_authorities(const std::string& job);
  Result<std::vector<std::string>> ids();
  // A job's notification of `event` (finished, cancelled, stalled), sent once by whichever
  // sender claims it (lua/notify.lua): claim it for `lease`, true when this `owner` holds it
  // (false: sent already, or another sender holds it); then mark it sent or failed (false when
  // the claim lapsed meanwhile and another sender took it).
  enum class Notice { claim, sent, failed };
  Result<bool> notification(const std::string& job, const std::string& event, Notice step,
                            const std::string& owner, std::chrono::milliseconds lease);
  // One page of the results hash of a job of an earlier version (records now leave Redis:
  // queue/records.hpp): records as JSON. Start and end with cursor "0".
  Result<std::vector<std::string>> results(const std::string& job, std::string& cursor,
                                           std::size_t count = 1000);

  Redis& redis() { return m_redis; }
  const Keys& keys() const { return m_keys; }

 private:
  Redis& m_redis;
  const Keys& m_keys;
};

}  // namespace crawl::queue
