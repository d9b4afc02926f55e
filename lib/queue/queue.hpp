#pragma once
// The crawl's Redis data model (docs/redis-data-model.md): jobs and their counters, the shared
// frontier with leases, exact dedup, delayed retries, results, heartbeats, the reaper, the
// robots.txt cache and cluster-wide politeness. All key names come from Keys, all scripts from
// scripts.cpp. Hot-path calls take batches and cost one round trip each.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "policy/job.hpp"
#include "queue/entry.hpp"
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
  std::string state;  // running, paused or cancelled
  std::int64_t created_ms = 0;  // by the Redis server's clock
  policy::JobOptions options;
  // Seeds are still being added: set by create_job and begin_submit, cleared by end_submit once
  // the last batch was acknowledged. With the submitter gone (its key expired), the submit was
  // cut short: the job holds only part of its seeds.
  bool submitting = false;
  bool submitter_alive = false;
  long long seeds_version = 0;  // moves when seeds (and so the scope) are added to the job
  // Why the job's options cannot be read (a field Redis holds is malformed); the job is then
  // shown as broken and its URLs wait, untouched, until it is fixed or cancelled.
  std::string problem;
  std::map<std::string, long long> stats;  // the counters hash, as is
  // Pages recorded (done, failed or filtered once fetched): over the last minute, or since the
  // job was created if that is less; and in all, with the time of the last one (server clock).
  long long recent_pages = 0;
  double recent_seconds = 0;
  long long pages_recorded = 0;
  std::int64_t last_page_ms = 0;

  long long stat(const std::string& counter) const {
    auto it = stats.find(counter);
    return it == stats.end() ? 0 : it->second;
  }
  // Finished exactly when nothing is queued or leased, something was submitted, and no more
  // seeds are coming.
  bool finished() const {
    return stat("submitted") > 0 && stat("queued") == 0 && stat("in_flight") == 0 && !submitting;
  }
  bool cancelled() const { return state == "cancelled"; }
  // Pages per second: a finished job's over its whole duration (creation to last page), a
  // running one's over the last minute.
  double rate() const {
    if (finished() && pages_recorded > 0 && last_page_ms > 0)
      return double(pages_recorded) * 1000.0 / double(std::max<std::int64_t>(1, last_page_ms - created_ms));
    return recent_seconds > 0 ? double(recent_pages) / recent_seconds : 0.0;
  }
};

// A worker as its last heartbeat describes it.
struct WorkerInfo {
  enum class Liveness { alive, expired, dead };  // expired: silent past its TTL, not yet reaped
  std::string id;
  Liveness liveness = Liveness::alive;
  std::map<std::string, std::string> fields;  // the heartbeat hash (host, pid, state, pages, ...)
  std::int64_t heartbeat_age_ms = -1;         // -1: unknown

  std::string field(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  }
};

enum class JobAction { pause, resume, cancel };
struct JobChange {
  std::string state;     // the job's state now
  long long moved = 0;   // resume: entries back in the frontier; cancel: entries dropped
};

// How one leased entry ended, for complete().
struct PageOutcome {
  // retry: again after not_before_ms, one attempt more; release: back to the frontier now;
  // defer: back unchanged after not_before_ms (its job cannot be read now); cancel: job cancelled
  enum class Kind { done, failed, filtered, retry, release, defer, cancel };
  Entry entry;
  Kind kind = Kind::done;
  std::string reason;
  std::string record_json;        // done, failed, filtered
  std::uint64_t bytes = 0;
  std::int64_t not_before_ms = 0; // retry, defer
  std::vector<Link> links;        // admitted at entry.depth + 1
};

struct Completed {
  std::uint64_t applied = 0;   // pages whose lease was still ours
  std::uint64_t admitted = 0;  // new links queued or recorded filtered
};

// Job options <-> the job hash's fields. Pure.
std::vector<std::pair<std::string, std::string>> job_fields(const policy::JobOptions& options);
Result<policy::JobOptions> job_options(const std::map<std::string, std::string>& fields);

class Queue {
 public:
  Queue(Redis redis, Keys keys) : m_redis(std::move(redis)), m_keys(std::move(keys)) {}

  Redis& redis() { return m_redis; }
  const Keys& keys() const { return m_keys; }

  // --- jobs ---
  // A new job with its options and the "host[:port]" of its seeds (its scope); returns its id.
  // It is `submitting` until end_submit: it cannot look finished between two batches of seeds,
  // and a submit cut short leaves it marked, for status to flag.
  Result<std::string> create_job(const policy::JobOptions& options, const std::string& name,
                                 const std::vector<std::string>& seed_authorities, std::int64_t now_ms);
  // Marks an existing job submitting again, to add seeds to it (their authorities join its
  // scope, and its seeds_version moves so workers read the scope again). Several submits may
  // run into one job; it stays submitting until the last has ended. Fails for a job that does
  // not exist or was cancelled.
  Result<void> begin_submit(const std::string& job, const std::vector<std::string>& seed_authorities);
  Result<void> end_submit(const std::string& job);
  // Admits URLs at `depth` (seeds: 0), batching many script calls per round trip. `progress`
  // is called after each round trip with the number of links done so far and what became of
  // them: all of it acknowledged by Redis.
  using Progress = std::function<void(std::size_t done, const Admitted& so_far)>;
  Result<Admitted> enqueue(const std::string& job, int depth, const std::vector<Link>& links,
                           const Progress& progress = nullptr);
  Result<Admitted> enqueue(const std::string& job, int depth, const std::vector<LinkView>& links,
                           const Progress& progress = nullptr);
  Result<JobInfo> job(const std::string& id);
  // Many jobs in one round trip; a missing job is an error naming it (of kind not_found), a
  // malformed one is returned with its `problem` set.
  Result<std::vector<JobInfo>> jobs(const std::vector<std::string>& ids);
  // Pause: no entry of the job is leased any more (its entries are parked as they are met, and
  // at once by a sweep of the frontier); leases already out finish. Resume: parked entries go
  // back to the frontier. Cancel: the job's queued entries leave the frontier and the delayed
  // set, workers drop its leases, and no link is admitted into it any more.
  Result<JobChange> control(const std::string& job, JobAction action);
  // What workers watch of the jobs they hold, in one round trip: the state (running, paused,
  // cancelled, or "gone" for a job deleted) and the seeds_version.
  struct JobState {
    std::string state;
    long long seeds_version = 0;
  };
  Result<std::vector<JobState>> job_states(const std::vector<std::string>& ids);
  Result<std::vector<std::string>> seed_authorities(const std::string& job);
  Result<std::vector<std::string>> job_ids();
  // One page of the results hash: records as JSON. Start and end with cursor "0".
  Result<std::vector<std::string>> results(const std::string& job, std::string& cursor,
                                           std::size_t count = 1000);

  // --- workers ---
  Result<std::vector<Entry>> claim(const std::string& worker, std::size_t n, std::int64_t now_ms);
  // Blocks up to `timeout` until the frontier holds an entry (without taking it). True if so.
  Result<bool> wait_for_work(std::chrono::milliseconds timeout);
  Result<Completed> complete(const std::string& worker, const std::vector<PageOutcome>& pages);
  // Returns a dead worker's leases to the frontier (all of them with `force`, for a worker
  // restarting under its old id). Returns how many, or -1 if the worker is alive.
  Result<long long> reap(const std::string& worker, bool force);
  // Entries leased to a worker, as Redis has them.
  Result<std::vector<Entry>> leased(const std::string& worker);
  Result<void> heartbeat(const std::string& worker, const std::map<std::string, std::string>& fields,
                         std::chrono::milliseconds ttl);
  Result<std::vector<std::string>> worker_ids();
  // Every registered worker and every worker remembered as dead, sorted by id: two round trips
  // whatever the number of jobs or URLs.
  // `now_ms`, if given, receives the server's clock (ms) from the same round trip.
  Result<std::vector<WorkerInfo>> workers(std::int64_t* now_ms = nullptr);
  // Forgets dead workers that died before `before_ms` (0: all of them); returns how many.
  Result<long long> forget_dead(std::int64_t before_ms = 0);
  Result<bool> alive(const std::string& worker);
  // For each id: whether its heartbeat is current, and the pid and deploy id it last reported.
  struct Heartbeat {
    bool alive = false;
    long pid = 0;
    std::string deploy;
  };
  Result<std::vector<Heartbeat>> heartbeats(const std::vector<std::string>& workers);
  // Reaps every registered worker whose heartbeat has expired; returns the entries returned.
  // With `every`, sweeps only if no caller in the fleet has swept in that long (else returns 0).
  Result<long long> reap_dead(std::chrono::milliseconds every = std::chrono::milliseconds(0));

  // --- robots.txt and politeness, shared by all workers ---
  Result<std::optional<std::string>> robots(const std::string& origin);
  Result<void> store_robots(const std::string& origin, const std::string& serialized,
                            std::chrono::milliseconds ttl);
  // True if this caller should fetch the origin's robots.txt (a lock held for `ttl`).
  Result<bool> lock_robots(const std::string& origin, std::chrono::milliseconds ttl);
  // The time (ms) this caller may send its next request to `authority`.
  Result<std::int64_t> reserve(const std::string& authority, std::int64_t now_ms,
                               std::chrono::milliseconds delay);

 private:
  Redis m_redis;
  Keys m_keys;
};

}  // namespace crawl::queue
