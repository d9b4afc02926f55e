#pragma once
// The shared frontier, partitioned by site (scheme://host:port): a queue per job and site, a
// schedule of the sites that have work ordered by when each may next be fetched, and leases
// (an in-flight list per worker). A claim takes entries only from sites that may be fetched
// now, fleet-wide, so a worker never holds a URL it cannot start fetching at once; every
// outcome gives its site's slot back and says how the site answered, so a site that fails or
// asks for patience backs off for every worker. docs/redis-data-model.md has the life of a URL.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "queue/entry.hpp"
#include "queue/jobs.hpp"
#include "queue/keys.hpp"
#include "queue/redis.hpp"

namespace crawl::queue {

// Entries leased by one claim.
struct Claim {
  std::vector<Entry> entries;
  // Parallel to `entries`: "" for an entry to fetch; for one of a site given up on (its
  // requests failed many times in a row), why, to be recorded as failed without a request.
  std::vector<std::string> gone;
  // When the next site may be leased, as an offset from now (ms): -1 when nothing is scheduled.
  std::int64_t next_in_ms = -1;
  long long dead_lettered = 0;  // entries that could not be read, moved to the dead letters
                                // (by the script, or after queue::decode refused them)
};

// How one leased entry ended, for complete().
struct PageOutcome {
  enum class Kind {
    done,
    failed,
    filtered,  // terminal: the record is written
    retry,     // again after retry_in, one attempt more (an error of the page: 5xx, a timeout)
    requeue,   // again when its site allows, one attempt more (the site backs off: 429, 503,
               // refused)
    release,   // back to its site's queue as it was (a worker draining, a job paused)
    defer,     // back unchanged after retry_in (its job cannot be read now)
    cancel,    // its job was cancelled
  };
  // What the response says of the site, beyond the page: it answered (its failures in a row end),
  // or it failed as a site does (refused, timed out, 429, 503) and every worker backs off.
  enum class Site { unknown, answered, failed };
  Entry entry;
  Kind kind = Kind::done;
  std::string reason;
  std::string record_json;  // done, failed, filtered
  std::uint64_t bytes = 0;
  std::chrono::milliseconds retry_in{0};  // retry, defer
  Site site = Site::unknown;
  std::chrono::milliseconds site_backoff{0};  // failed: the server's Retry-After (0: exponential)
  std::vector<Link> links;                    // admitted at entry.depth + 1
  std::uint64_t links_dropped = 0;            // past the page's limits (html::Limits)
  std::uint64_t images_dropped = 0;           // past the page's or the record's limits
  std::optional<Link> moved_to;               // a redirect to another site: admitted at entry.depth
  std::string parse_cut;  // a page parsed in part: why (the record's parse_cut), counted
};

struct Completed {
  std::uint64_t applied = 0;   // pages whose lease was still ours
  std::uint64_t admitted = 0;  // new links queued or recorded filtered
};

// reap(): only a worker whose heartbeat has expired, or also a live one (a worker restarting
// under its old id hands back what its earlier run held).
enum class Reap { if_dead, even_alive };

class Frontier {
 public:
  Frontier(Redis& redis, const Keys& keys) : m_redis(redis), m_keys(keys) {}

  // Leases up to n entries to `worker`, earliest-due site first across jobs. One round trip.
  Result<Claim> claim(const std::string& worker, std::size_t n);
  // Records outcomes, gives their sites' slots back, admits links. One round trip.
  Result<Completed> complete(const std::string& worker, const std::vector<PageOutcome>& pages);
  // Returns a worker's leases to their sites' queues; how many, or -1 if it is alive (if_dead).
  Result<long long> reap(const std::string& worker, Reap mode);
  // Entries leased to a worker, as Redis has them (those queue::decode refuses go to the dead
  // letters, as claim() sends them).
  Result<std::vector<Entry>> leased(const std::string& worker);
  // Blocks up to `timeout` for a sign that work became ready (new sites scheduled, a slot given
  // back). True if one came: then claim.
  Result<bool> wait_for_work(std::chrono::milliseconds timeout);
  // A further request within a lease (a redirect within the site): 0 when it may start now
  // (the start is marked), else how long to wait.
  Result<std::chrono::milliseconds> site_start(const std::string& job, const std::string& site);
  // A site failed outside a page's outcome (its robots.txt could not be fetched): it is backed
  // off for every worker, by `backoff` (a Retry-After) or exponentially (0). Returns how long
  // until it may be asked again.
  Result<std::chrono::milliseconds> site_failed(const std::string& site, const std::string& reason,
                                                std::chrono::milliseconds backoff);
  // Entries ever moved to the dead letters, and the latest of them (newest first).
  Result<long long> dead_letters();
  Result<std::vector<std::string>> dead_letter_sample(std::size_t n);

 private:
  std::vector<std::pair<std::size_t, Entry>> read_leased(const std::string& worker,
                                                         const std::vector<Reply>& leased,
                                                         long long& refused);

  Redis& m_redis;
  const Keys& m_keys;
};

}  // namespace crawl::queue
