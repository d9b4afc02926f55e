#pragma once
// The steps of one leased URL before its request: robots.txt, the site's delay, the fetch.
// Pure: the site's robots.txt rules as known and the frontier's answer (may a further request
// start at the site now?) come in, so each politeness rule is unit-tested with a fake clock and
// a fake frontier, without sleeps. worker.cpp carries the steps out.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "policy/job.hpp"
#include "policy/robots.hpp"

namespace crawl::worker {

// What the steps remember of a task between calls.
struct StepState {
  bool first_request =
      true;  // the claim took the site's slot and its delay: the first request may leave at once
  bool after_robots = false;  // the lease went on the site's robots.txt
  bool redirected = false;    // the task follows a redirect within the site
};

struct Step {
  enum class Kind {
    wait_robots,  // robots.txt is being fetched (as this lease's request, or by another task): wait
    defer,  // robots.txt cannot be fetched: the URL waits `wait` in the delayed set, its attempts
            // untouched
    filtered,  // recorded as filtered, `reason`: robots (disallowed), crawl_delay (over
               // max_crawl_delay)
    release,   // back to the front of its site's queue, leased again when the site is due
    polite,  // waits here `wait` for the site's delay, then asks again (a redirect within the site)
    fetch,   // the request leaves now
  } kind = Kind::fetch;
  std::string reason;
  std::chrono::milliseconds wait{0};
};

// Asks the frontier whether a further request may start at the site now: 0 (and the start is
// marked, fleet-wide), or how long until it may.
using SiteStart = std::function<std::chrono::milliseconds()>;

// The next step of a task at `path_and_query` of its site. `robots`: the site's rules if known,
// nullptr while they are being fetched (read only when the job respects robots.txt);
// `robots_expires_in`: how long an unreachable answer stands. Moves `state` on.
Step next_step(StepState& state, const policy::JobOptions& job, const policy::Robots* robots,
               std::string_view path_and_query, std::chrono::milliseconds robots_expires_in,
               const SiteStart& site_start);

}  // namespace crawl::worker
