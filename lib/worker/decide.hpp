#pragma once
// What a worker does with one HTTP response: record an outcome, retry later, follow a redirect
// or parse the page. Pure, so every rule is unit-tested without a network.

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include "fetch/fetcher.hpp"
#include "policy/job.hpp"

namespace crawl::worker {

struct Attempt {
  std::string url;                // the URL just fetched (after `hops` redirects)
  int hops = 0;                   // redirects followed so far
  int attempt = 0;                // failed attempts before this one (from the queue entry)
  std::set<std::string> visited;  // URLs fetched in this attempt, for loop detection
};

struct Decision {
  // retry: again later, one attempt more (an error of the page); requeue: again when the site
  // allows, one attempt more (the site itself failed or asked for patience, and backs off for
  // every worker); redirect: the next hop, on the same site; moved: a redirect to another site,
  // which is admitted as a URL of its own (its site's politeness applies) and the page recorded
  // as filtered (redirect).
  enum class Next { done, parse, failed, retry, requeue, redirect, moved } next = Next::failed;
  std::string reason;       // failed: timeout, connect, http_404, redirect_loop, ...
  std::string redirect_to;  // redirect, moved: normalised
  std::chrono::milliseconds retry_in{0};
  // What the response says of the site: it answered, or it failed as a site does (refused, a
  // timeout, 429, 503; then site_backoff is its Retry-After, or 0 for the exponential back-off).
  enum class Site { unknown, answered, failed } site = Site::unknown;
  std::chrono::milliseconds site_backoff{0};
};

// `jitter` in [0, 1) spreads retries of many URLs; `now_ms` dates Retry-After headers.
Decision decide(const fetch::Response& response, const Attempt& attempt,
                const policy::JobOptions& job, int max_redirects, std::int64_t now_ms,
                double jitter);

// A hop to `next` (a normalised URL), by the rules every hop follows, a 3xx Location's or a
// meta refresh's: redirect (the same site), moved (another site), or failed as redirect_loop
// or too_many_redirects.
Decision decide_hop(const Attempt& attempt, std::string next, int max_redirects);

// Whether a body should go to the HTML parser: by Content-Type, or by a look at the body when
// the server sent none.
bool is_html(const std::string& content_type, const std::string& body);
// The content types of HTML (without parameters, lower case).
bool is_html_type(std::string_view content_type);

}  // namespace crawl::worker
