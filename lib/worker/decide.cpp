#include "worker/decide.hpp"

#include <strings.h>

#include "policy/politeness.hpp"
#include "url/url.hpp"

namespace crawl::worker {

namespace {

constexpr std::chrono::milliseconds k_retry_base{1000};
constexpr std::chrono::milliseconds k_retry_cap{5 * 60 * 1000};

Decision failed(std::string reason) {
  Decision d;
  d.next = Decision::Next::failed;
  d.reason = std::move(reason);
  return d;
}

// Retry while attempts remain, else fail with `reason`.
Decision retry_or_fail(std::string reason, const Attempt& a, const policy::JobOptions& job,
                       double jitter, std::optional<std::chrono::milliseconds> retry_after) {
  if (a.attempt >= job.max_retries) return failed(std::move(reason));
  Decision d;
  d.next = Decision::Next::retry;
  d.reason = std::move(reason);
  d.retry_in = policy::retry_delay(a.attempt + 1, k_retry_base, k_retry_cap, jitter, retry_after);
  return d;
}

}  // namespace

Decision decide_hop(const Attempt& a, std::string next, int max_redirects) {
  if (a.visited.count(next) || next == a.url) return failed("redirect_loop");
  if (a.hops >= max_redirects) return failed("too_many_redirects");
  Decision d;
  d.next =
      url::origin(next) == url::origin(a.url) ? Decision::Next::redirect : Decision::Next::moved;
  d.redirect_to = std::move(next);
  return d;
}

bool is_html_type(std::string_view content_type) {
  return content_type == "text/html" || content_type == "application/xhtml+xml";
}

bool is_html(const std::string& content_type, const std::string& body) {
  if (is_html_type(content_type)) return true;
  if (!content_type.empty()) return false;
  const std::string_view head(body.data(), std::min<std::size_t>(body.size(), 1024));
  for (std::size_t i = 0; i + 5 <= head.size(); ++i)
    if (strncasecmp(head.data() + i, "<html", 5) == 0 ||
        strncasecmp(head.data() + i, "<!doc", 5) == 0)
      return true;
  return false;
}

Decision decide(const fetch::Response& r, const Attempt& a, const policy::JobOptions& job,
                int max_redirects, std::int64_t now_ms, double jitter) {
  using Site = Decision::Site;
  auto with_site = [](Decision d, Site site,
                      std::chrono::milliseconds backoff = std::chrono::milliseconds(0)) {
    d.site = site;
    d.site_backoff = backoff;
    return d;
  };
  // The site failed as a site does: try the URL again when the site allows (its back-off holds
  // every worker), while attempts remain.
  auto site_failure = [&](std::string reason, std::chrono::milliseconds backoff) {
    Decision d = failed(std::move(reason));
    if (a.attempt < job.max_retries) d.next = Decision::Next::requeue;
    return with_site(std::move(d), Site::failed, backoff);
  };
  // Headers too large or an encoding not asked for are the server's answer, not an accident:
  // asking again gets the same.
  if (r.failure == fetch::Failure::headers || r.failure == fetch::Failure::encoding)
    return with_site(failed(std::string(fetch::to_string(r.failure))), Site::answered);
  switch (r.failure) {
    case fetch::Failure::none:
      break;
    case fetch::Failure::connect:
    case fetch::Failure::resolve:
    case fetch::Failure::tls:
    case fetch::Failure::timeout:
      return site_failure(std::string(fetch::to_string(r.failure)), std::chrono::milliseconds(0));
    default:
      return retry_or_fail(std::string(fetch::to_string(r.failure)), a, job, jitter, std::nullopt);
  }
  const long s = r.status;
  if (s >= 300 && s < 400 && !r.location.empty()) {
    auto next = url::resolve(a.url, r.location);
    if (!next) return with_site(failed("bad_redirect"), Site::answered);
    return with_site(decide_hop(a, std::move(*next), max_redirects), Site::answered);
  }
  const std::string http = "http_" + std::to_string(s);
  if (s == 429 || s == 503)
    return site_failure(
        http,
        policy::parse_retry_after(r.retry_after, now_ms).value_or(std::chrono::milliseconds(0)));
  if (policy::retryable_status(s))
    return with_site(
        retry_or_fail(http, a, job, jitter, policy::parse_retry_after(r.retry_after, now_ms)),
        Site::answered);
  if (s < 200 || s >= 300) return with_site(failed(http), Site::answered);
  Decision d;
  d.next = is_html(r.content_type, r.body) ? Decision::Next::parse : Decision::Next::done;
  return with_site(std::move(d), Site::answered);
}

}  // namespace crawl::worker
