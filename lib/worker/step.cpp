#include "worker/step.hpp"

#include <algorithm>

namespace crawl::worker {

namespace {

using namespace std::chrono_literals;

// An unreachable robots.txt is asked again no sooner than this.
constexpr std::chrono::milliseconds k_min_defer{1000};

Step make(Step::Kind kind, std::string reason = {}, std::chrono::milliseconds wait = 0ms) {
  Step s;
  s.kind = kind;
  s.reason = std::move(reason);
  s.wait = wait;
  return s;
}

}  // namespace

Step next_step(StepState& state, const policy::JobOptions& job, const policy::Robots* robots,
               std::string_view path_and_query, std::chrono::milliseconds robots_expires_in,
               const SiteStart& site_start) {
  if (job.respect_robots) {
    if (robots == nullptr) {
      // robots.txt is fetched first, a request to the site like any other: the page waits for
      // the site's delay after it.
      state.first_request = false;
      state.after_robots = true;
      return make(Step::Kind::wait_robots);
    }
    if (robots->unreachable()) {
      // RFC 9309 2.3.1.4: crawl nothing while robots.txt cannot be fetched. That is the site's
      // failure, not the URL's (the site is backed off for every worker), so the URL waits, its
      // attempts untouched, until the answer lapses.
      return make(Step::Kind::defer, "robots_unreachable",
                  std::max(k_min_defer, robots_expires_in));
    }
    if (!robots->allowed(path_and_query)) return make(Step::Kind::filtered, "robots");
    // A site that asks for more time between requests than the job grants is not crawled (as
    // Nutch does).
    if (auto crawl_delay = robots->crawl_delay(); crawl_delay && *crawl_delay > job.max_crawl_delay)
      return make(Step::Kind::filtered, "crawl_delay");
  }
  if (!state.first_request) {
    // A further request within the lease: the site's delay applies to it too, fleet-wide.
    const std::chrono::milliseconds wait = site_start();
    if (wait > 0ms) {
      // After robots.txt the page need not wait in the worker, holding one of its slots: it goes
      // back to its site's queue. A redirect hop cannot go back (the hops so far would be lost).
      if (state.after_robots && !state.redirected) return make(Step::Kind::release);
      return make(Step::Kind::polite, {}, wait);
    }
  }
  state.first_request = false;
  return make(Step::Kind::fetch);
}

}  // namespace crawl::worker
