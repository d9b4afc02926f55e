#include <gtest/gtest.h>

#include "worker/decide.hpp"
#include "worker/robots_cache.hpp"

namespace crawl::worker {
namespace {

using Next = Decision::Next;

fetch::Response response(long status, std::string type = "text/html") {
  fetch::Response r;
  r.status = status;
  r.content_type = std::move(type);
  return r;
}

Decision run(const fetch::Response& r, Attempt a = {"http://example.org/a", 0, 0, {}},
             int retries = 2) {
  policy::JobOptions job;
  job.max_retries = retries;
  return decide(r, a, job, 5, 0, 0.0);
}

TEST(Decide, SuccessParsesHtmlOnly) {
  EXPECT_EQ(run(response(200)).next, Next::parse);
  EXPECT_EQ(run(response(200, "application/xhtml+xml")).next, Next::parse);
  EXPECT_EQ(run(response(200, "application/pdf")).next, Next::done);
  EXPECT_EQ(run(response(204, "")).next, Next::done);
  fetch::Response untyped = response(200, "");
  untyped.body = "  <!DOCTYPE html><p>hi";
  EXPECT_EQ(run(untyped).next, Next::parse);
}

TEST(Decide, ClientErrorsFailAtOnce) {
  const Decision d = run(response(404));
  EXPECT_EQ(d.next, Next::failed);
  EXPECT_EQ(d.reason, "http_404");
  EXPECT_EQ(run(response(410)).reason, "http_410");
  EXPECT_EQ(run(response(304)).reason, "http_304");  // a 3xx without Location
}

// An error of the page (500, 502, 504, 408) is retried later, with an exponential delay; the
// site answered.
TEST(Decide, ServerErrorsRetryThenFail) {
  Decision d = run(response(500));
  EXPECT_EQ(d.next, Next::retry);
  EXPECT_EQ(d.reason, "http_500");
  EXPECT_EQ(d.retry_in, std::chrono::milliseconds(1000));
  EXPECT_EQ(d.site, Decision::Site::answered);
  d = run(response(502), {"http://example.org/a", 0, 1, {}});
  EXPECT_EQ(d.retry_in, std::chrono::milliseconds(2000));  // exponential
  d = run(response(504), {"http://example.org/a", 0, 2, {}});
  EXPECT_EQ(d.next, Next::failed);
  EXPECT_EQ(d.reason, "http_504");
  fetch::Response broken;
  broken.failure = fetch::Failure::protocol;
  EXPECT_EQ(run(broken).next, Next::retry);
  EXPECT_EQ(run(broken).site, Decision::Site::unknown);
}

// The site itself failing or asking for patience (refused, timed out, 429, 503) backs the site
// off for every worker, as its Retry-After says or exponentially; the URL goes back to its site
// while attempts remain.
TEST(Decide, SiteFailuresBackTheSiteOff) {
  for (fetch::Failure f : {fetch::Failure::connect, fetch::Failure::resolve, fetch::Failure::tls,
                           fetch::Failure::timeout}) {
    fetch::Response r;
    r.failure = f;
    Decision d = run(r);
    EXPECT_EQ(d.next, Next::requeue) << fetch::to_string(f);
    EXPECT_EQ(d.site, Decision::Site::failed);
    EXPECT_EQ(d.site_backoff, std::chrono::milliseconds(0))
        << "exponential, by the site's failures";
    EXPECT_EQ(d.reason, fetch::to_string(f));
    d = run(r, {"http://example.org/a", 0, 2, {}});
    EXPECT_EQ(d.next, Next::failed) << "no attempts left";
    EXPECT_EQ(d.site, Decision::Site::failed);
  }
  fetch::Response limited = response(429);
  limited.retry_after = "120";
  Decision d = run(limited);
  EXPECT_EQ(d.next, Next::requeue);
  EXPECT_EQ(d.reason, "http_429");
  EXPECT_EQ(d.site, Decision::Site::failed);
  EXPECT_EQ(d.site_backoff, std::chrono::milliseconds(120000));  // the server's word
  d = run(response(503));
  EXPECT_EQ(d.next, Next::requeue);
  EXPECT_EQ(d.site_backoff, std::chrono::milliseconds(0));
  // Headers too large or an encoding not asked for are the server's answer: not retried.
  for (fetch::Failure f : {fetch::Failure::headers, fetch::Failure::encoding}) {
    fetch::Response r;
    r.failure = f;
    d = run(r);
    EXPECT_EQ(d.next, Next::failed);
    EXPECT_EQ(d.reason, fetch::to_string(f));
    EXPECT_EQ(d.site, Decision::Site::answered);
  }
  EXPECT_EQ(run(response(200)).site, Decision::Site::answered);
  EXPECT_EQ(run(response(404)).site, Decision::Site::answered);
}

// A redirect to another site (another scheme, host or port) is not followed within the lease:
// the page moved, and the target is crawled as a URL of its own, under its site's politeness.
TEST(Decide, ARedirectToAnotherSiteMovesThePage) {
  fetch::Response moved = response(301);
  for (const char* elsewhere :
       {"https://example.org/a", "http://www.example.org/a", "http://example.org:8080/a"}) {
    moved.location = elsewhere;
    const Decision d = run(moved);
    EXPECT_EQ(d.next, Next::moved) << elsewhere;
    EXPECT_EQ(d.redirect_to, elsewhere);
  }
  moved.location = "/b";
  EXPECT_EQ(run(moved).next, Next::redirect);
}

TEST(Decide, RedirectsResolveAndStopAtLoopsAndLimits) {
  fetch::Response moved = response(301);
  moved.location = "http://example.org/b/../c#x";
  Decision d = run(moved);
  EXPECT_EQ(d.next, Next::redirect);
  EXPECT_EQ(d.redirect_to, "http://example.org/c");
  moved.location = "http://example.org/a";
  EXPECT_EQ(run(moved).reason, "redirect_loop");  // to itself
  moved.location = "http://example.org/z";
  EXPECT_EQ(run(moved, {"http://example.org/a", 1, 0, {"http://example.org/z"}}).reason,
            "redirect_loop");
  EXPECT_EQ(run(moved, {"http://example.org/a", 5, 0, {}}).reason, "too_many_redirects");
  moved.location = "javascript:alert(1)";
  EXPECT_EQ(run(moved).reason, "bad_redirect");
}

}  // namespace
}  // namespace crawl::worker

namespace crawl::worker {
namespace {

// RFC 9309 2.3.1: what a robots.txt response means for the origin.
TEST(RobotsAnswer, FollowsTheRfc) {
  fetch::Response ok = response(200, "text/plain");
  ok.body = "User-agent: *\nDisallow: /private\n";
  RobotsAnswer a = robots_answer(ok, "crawlworker", 0);
  EXPECT_FALSE(a.robots.allowed("/private/x"));
  EXPECT_TRUE(a.robots.allowed("/public"));
  EXPECT_EQ(a.ttl, std::chrono::hours(24));
  // Unavailable: crawl as if there were no robots.txt.
  for (long status : {404L, 403L, 410L, 301L}) {
    a = robots_answer(response(status), "crawlworker", 0);
    EXPECT_TRUE(a.robots.allowed("/private/x")) << status;
    EXPECT_FALSE(a.robots.unreachable()) << status;
    EXPECT_EQ(a.failure, "") << status;
  }
  fetch::Response looping;
  looping.failure = fetch::Failure::redirects;  // more than five hops
  EXPECT_TRUE(robots_answer(looping, "crawlworker", 0).robots.allowed("/x"));
  // Unreachable: crawl nothing for now, and ask again within a minute; the site failed, and is
  // backed off (as its Retry-After says, if it gave one).
  fetch::Response down;
  down.failure = fetch::Failure::connect;
  fetch::Response busy = response(429);
  busy.retry_after = "7";
  const fetch::Response unavailable[] = {response(503), response(500), std::move(down),
                                         std::move(busy)};
  for (const fetch::Response& r : unavailable) {
    a = robots_answer(r, "crawlworker", 0);
    EXPECT_TRUE(a.robots.unreachable());
    EXPECT_FALSE(a.robots.allowed("/x"));
    EXPECT_LE(a.ttl, std::chrono::minutes(1));
    EXPECT_NE(a.failure, "");
  }
  EXPECT_EQ(a.failure, "http_429");
  EXPECT_EQ(a.retry_after, std::chrono::seconds(7));
  EXPECT_EQ(robots_answer(unavailable[2], "crawlworker", 0).failure, "connect");
}

}  // namespace
}  // namespace crawl::worker
