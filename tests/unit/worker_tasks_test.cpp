// The life of leased URLs in a worker (worker/tasks.hpp), from lease to outcome: robots.txt,
// the site's delay, the request, redirects, the parse, the record. A fake environment stands in
// for the frontier, the robots.txt cache, the fetcher and the parser threads, on a clock the
// test moves: no network, no sleeps.

#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/robots.hpp"
#include "worker/tasks.hpp"

namespace crawl::worker {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Kind = queue::PageOutcome::Kind;

// The world around the tasks: one delay per site kept as the frontier keeps it, robots.txt
// rules the test sets, and the requests and parse jobs the tasks hand out.
struct FakeEnv : TaskEnv {
  std::int64_t now = 0;
  milliseconds delay{1000};
  std::map<std::string, std::int64_t> last_start;  // site -> the start of its last request
  std::map<std::string, policy::Robots> rules;     // site -> its robots.txt, once known
  std::vector<std::pair<std::string, std::uint64_t>> robots_asked;  // site, task
  std::vector<std::pair<std::uint64_t, std::string>> fetched;       // task, URL
  std::vector<std::uint64_t> cancelled;
  std::vector<ParseJob> parse_jobs;
  int site_starts_asked = 0;

  const policy::Robots* robots(const std::string& site, std::uint64_t task, std::int64_t) override {
    if (auto it = rules.find(site); it != rules.end()) return &it->second;
    robots_asked.emplace_back(site, task);
    return nullptr;
  }
  milliseconds robots_expires_in(const std::string&, std::int64_t) override { return 30s; }
  void crawl_delay(const std::string&, const policy::Robots&, std::int64_t) override {}
  milliseconds site_start(const std::string&, const std::string& site) override {
    ++site_starts_asked;
    const std::int64_t allowed = last_start[site] + delay.count();
    if (now < allowed) return milliseconds(allowed - now);
    last_start[site] = now;
    return 0ms;
  }
  void fetch(std::uint64_t task, const std::string& url, std::uint64_t, bool,
             const std::string&) override {
    fetched.emplace_back(task, url);
  }
  void cancel_fetch(std::uint64_t task) override { cancelled.push_back(task); }
  void parse(ParseJob job) override { parse_jobs.push_back(std::move(job)); }

  // A claim leases a URL of the site: it takes the site's slot and marks its start.
  void claimed(const std::string& site) { last_start[site] = now; }
};

std::shared_ptr<const JobContext> job_context(bool respect_robots = false) {
  auto ctx = std::make_shared<JobContext>();
  ctx->info.id = "7";
  ctx->info.state = "running";
  ctx->info.options.respect_robots = respect_robots;
  ctx->info.options.max_depth = 3;
  ctx->info.options.max_links_per_page = 100;
  auto filter = policy::LinkFilter::create(ctx->info.options, {"a.test"});
  EXPECT_TRUE(filter) << filter.error().message;
  ctx->filter = std::make_shared<const policy::LinkFilter>(std::move(*filter));
  return ctx;
}

queue::Entry entry(const std::string& url, int depth = 0) {
  return {"7", depth, 0, url};
}

fetch::Response response(std::uint64_t id, const std::string& url, long status,
                         std::string content_type = "text/html", std::string body = "") {
  fetch::Response r;
  r.id = id;
  r.url = url;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body_bytes = body.size();
  r.body = std::move(body);
  r.elapsed_ms = 20;
  return r;
}

nlohmann::json record(const queue::PageOutcome& o) {
  return nlohmann::json::parse(o.record_json);
}

TEST(Tasks, AnHtmlPageIsFetchedAtOnceParsedAndRecordedWithItsLinks) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  env.claimed("http://a.test");
  tasks.start(entry("http://a.test/"), job_context(), "", env.now);
  ASSERT_EQ(env.fetched.size(), 1u);
  EXPECT_EQ(env.fetched[0].second, "http://a.test/");
  EXPECT_EQ(env.site_starts_asked, 0)
      << "the claim took the site's slot: the first request leaves at once";

  env.now = 30;
  tasks.on_response(
      response(env.fetched[0].first, "http://a.test/", 200, "text/html", "<title>A</title>"),
      env.now, 0.5);
  ASSERT_EQ(env.parse_jobs.size(), 1u);
  EXPECT_EQ(env.parse_jobs[0].url, "http://a.test/");
  EXPECT_EQ(env.parse_jobs[0].body, "<title>A</title>");
  EXPECT_EQ(env.parse_jobs[0].max_links, 100) << "the job's max_links_per_page";
  EXPECT_TRUE(tasks.outcomes().empty()) << "recorded once parsed";

  Parsed p;
  p.task = env.parse_jobs[0].task;
  p.title = "A";
  p.found = 3;
  p.links = {{"http://a.test/b", "", 0}, {"http://a.test/c", "", 0}};
  p.links_dropped = 1;
  tasks.on_parsed(std::move(p), 40);
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  const queue::PageOutcome& o = tasks.outcomes()[0];
  EXPECT_EQ(o.kind, Kind::done);
  EXPECT_EQ(o.site, queue::PageOutcome::Site::answered);
  ASSERT_EQ(o.links.size(), 2u);
  EXPECT_EQ(o.links[1].url, "http://a.test/c");
  EXPECT_EQ(o.links_dropped, 1u);
  const auto r = record(o);
  EXPECT_EQ(r["outcome"], "done");
  EXPECT_EQ(r["title"], "A");
  EXPECT_EQ(r["links"], 3);
  EXPECT_EQ(r["links_dropped"], 1);
  EXPECT_EQ(r["status"], 200);
  EXPECT_EQ(r["worker"], "host/1");
  EXPECT_TRUE(tasks.empty());
  EXPECT_EQ(tasks.stats().counts.at("done"), 1u);
}

TEST(Tasks, ARedirectWithinTheSiteWaitsForTheSitesDelayInTheWorker) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  env.claimed("http://a.test");
  tasks.start(entry("http://a.test/old"), job_context(), "", env.now);
  ASSERT_EQ(env.fetched.size(), 1u);

  env.now = 100;
  auto moved = response(env.fetched[0].first, "http://a.test/old", 301);
  moved.location = "/new";
  tasks.on_response(std::move(moved), env.now, 0.5);
  EXPECT_EQ(env.fetched.size(), 1u) << "the site's delay runs from the first request's start";
  EXPECT_TRUE(tasks.outcomes().empty());
  EXPECT_EQ(tasks.wake_polite(env.now, env.now + 5000), 1000)
      << "it asks again when the site is due";

  env.now = 999;
  tasks.wake_polite(env.now, env.now + 100);
  EXPECT_EQ(env.fetched.size(), 1u);
  env.now = 1000;
  tasks.wake_polite(env.now, env.now + 100);
  ASSERT_EQ(env.fetched.size(), 2u);
  EXPECT_EQ(env.fetched[1].second, "http://a.test/new");

  tasks.on_response(response(env.fetched[1].first, "http://a.test/new", 200, "image/png"), 1030,
                    0.5);
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  EXPECT_EQ(tasks.outcomes()[0].kind, Kind::done);
  EXPECT_EQ(record(tasks.outcomes()[0])["final_url"], "http://a.test/new");
  EXPECT_EQ(record(tasks.outcomes()[0])["url"], "http://a.test/old");
  EXPECT_TRUE(env.parse_jobs.empty()) << "not HTML";
}

// A meta refresh to another URL is a hop: followed within the site after the site's delay (the
// page's own links not taken), and a loop or one hop too many ends the task as 3xx hops do.
TEST(Tasks, AMetaRefreshIsFollowedAsARedirectIs) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 1);
  env.claimed("http://a.test");
  tasks.start(entry("http://a.test/r"), job_context(), "", env.now);
  tasks.on_response(response(env.fetched[0].first, "http://a.test/r", 200, "text/html", "<x>"), 10,
                    0.5);
  ASSERT_EQ(env.parse_jobs.size(), 1u);
  Parsed p;
  p.task = env.parse_jobs[0].task;
  p.refresh = "http://a.test/next";
  p.links = {{"http://a.test/not-taken", "", 0}};
  env.now = 20;
  tasks.on_parsed(std::move(p), env.now);
  EXPECT_TRUE(tasks.outcomes().empty());
  env.now = 1000;
  tasks.wake_polite(env.now, env.now + 100);
  ASSERT_EQ(env.fetched.size(), 2u);
  EXPECT_EQ(env.fetched[1].second, "http://a.test/next");

  // The next page refreshes back: a loop.
  tasks.on_response(response(env.fetched[1].first, "http://a.test/next", 200, "text/html", "<y>"),
                    1010, 0.5);
  ASSERT_EQ(env.parse_jobs.size(), 2u);
  Parsed back;
  back.task = env.parse_jobs[1].task;
  back.refresh = "http://a.test/r";
  tasks.on_parsed(std::move(back), 1020);
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  const queue::PageOutcome& o = tasks.outcomes()[0];
  EXPECT_EQ(o.kind, Kind::failed);
  EXPECT_EQ(o.reason, "redirect_loop");
  EXPECT_TRUE(o.links.empty());
  EXPECT_EQ(record(o)["final_url"], "http://a.test/next");

  // A refresh to the page itself is a reload: the page is recorded with its links; to another
  // site, the target is handed on as a URL of its own.
  tasks.clear_outcomes();
  for (const char* target : {"http://a.test/self", "http://b.test/away"}) {
    env.claimed("http://a.test");
    tasks.start(entry("http://a.test/self"), job_context(), "", env.now);
    tasks.on_response(
        response(env.fetched.back().first, "http://a.test/self", 200, "text/html", "<z>"), env.now,
        0.5);
    Parsed q;
    q.task = env.parse_jobs.back().task;
    q.refresh = target;
    q.links = {{"http://a.test/taken", "", 0}};
    tasks.on_parsed(std::move(q), env.now);
  }
  ASSERT_EQ(tasks.outcomes().size(), 2u);
  EXPECT_EQ(tasks.outcomes()[0].kind, Kind::done);
  EXPECT_EQ(tasks.outcomes()[0].links.size(), 1u);
  EXPECT_EQ(tasks.outcomes()[1].kind, Kind::filtered);
  EXPECT_EQ(tasks.outcomes()[1].reason, "offsite") << "the job's scope is a.test";
}

// With --sitemaps, a site's sitemaps go with its first outcome a worker records, once; not from
// a page at the depth limit (they would be recorded too deep, and dedup would keep them so).
TEST(Tasks, ASitesSitemapsGoWithItsFirstOutcomeOnceAndNotFromTheDepthLimit) {
  auto ctx = std::make_shared<JobContext>(*job_context());
  ctx->info.options.sitemaps = true;
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  auto fetch_one = [&](const std::string& url, int depth) {
    env.claimed("http://a.test");
    tasks.start(entry(url, depth), ctx, "", env.now);
    tasks.on_response(response(env.fetched.back().first, url, 200, "image/png"), env.now, 0.5);
  };
  fetch_one("http://a.test/deep.png", 3);  // max_depth is 3
  fetch_one("http://a.test/one.png", 1);
  fetch_one("http://a.test/two.png", 1);
  ASSERT_EQ(tasks.outcomes().size(), 3u);
  EXPECT_TRUE(tasks.outcomes()[0].links.empty());
  ASSERT_EQ(tasks.outcomes()[1].links.size(), 1u);
  EXPECT_EQ(tasks.outcomes()[1].links[0].url, "http://a.test/sitemap.xml");
  EXPECT_EQ(tasks.outcomes()[1].links[0].drop, "");
  EXPECT_TRUE(tasks.outcomes()[2].links.empty()) << "once per site and worker";
}

// With the job's URL rules, a redirect's target is taken under them, unless they make it the URL
// just fetched (a site adding a session id): that hop goes as the site sent it, once.
TEST(Tasks, ARedirectTheUrlRulesTurnBackIntoItsOwnUrlIsFollowedAsSent) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  auto ctx = std::make_shared<JobContext>(*job_context());
  ctx->info.options.sort_query = true;
  ctx->info.options.strip_query = {"jsessionid"};
  ctx->info.options.delay = std::chrono::milliseconds(0);
  auto filter = policy::LinkFilter::create(ctx->info.options, {"a.test"});
  ASSERT_TRUE(filter);
  ctx->filter = std::make_shared<const policy::LinkFilter>(std::move(*filter));
  env.claimed("http://a.test");
  tasks.start(entry("http://a.test/a"), ctx, "", env.now);
  ASSERT_EQ(env.fetched.size(), 1u);
  auto moved = response(env.fetched[0].first, "http://a.test/a", 302);
  moved.location = "/a?jsessionid=X1";
  tasks.on_response(std::move(moved), env.now, 0.5);
  env.now = 1000;
  tasks.wake_polite(env.now, env.now + 100);
  ASSERT_EQ(env.fetched.size(), 2u);
  EXPECT_EQ(env.fetched[1].second, "http://a.test/a?jsessionid=X1");
  // The next hop, under the rules, is a URL not fetched yet: taken under them.
  moved = response(env.fetched[1].first, "http://a.test/a?jsessionid=X1", 302);
  moved.location = "/b?z=1&a=2&jsessionid=X1";
  tasks.on_response(std::move(moved), env.now, 0.5);
  env.now = 2000;
  tasks.wake_polite(env.now, env.now + 100);
  ASSERT_EQ(env.fetched.size(), 3u);
  EXPECT_EQ(env.fetched[2].second, "http://a.test/b?a=2&z=1");
}

TEST(Tasks, ARedirectToAnotherSiteEndsTheTaskAndHandsTheTargetOnAsAUrlOfItsOwn) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  auto ctx = std::make_shared<JobContext>(*job_context());
  ctx->info.options.scope = policy::Scope::any;
  auto filter = policy::LinkFilter::create(ctx->info.options, {"a.test"});
  ASSERT_TRUE(filter);
  ctx->filter = std::make_shared<const policy::LinkFilter>(std::move(*filter));
  tasks.start(entry("http://a.test/x", 1), ctx, "", 0);
  auto moved = response(env.fetched[0].first, "http://a.test/x", 302);
  moved.location = "http://b.test/y";
  tasks.on_response(std::move(moved), 50, 0.5);
  EXPECT_EQ(env.fetched.size(), 1u) << "another site's politeness is not this lease's";
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  const auto& o = tasks.outcomes()[0];
  EXPECT_EQ(o.kind, Kind::filtered);
  EXPECT_EQ(o.reason, "redirect");
  ASSERT_TRUE(o.moved_to);
  EXPECT_EQ(o.moved_to->url, "http://b.test/y");
}

TEST(Tasks, ARedirectOutOfScopeIsRecordedWithTheReasonAndNotFollowed) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  tasks.start(entry("http://a.test/x"), job_context(), "", 0);
  auto moved = response(env.fetched[0].first, "http://a.test/x", 302);
  moved.location = "http://elsewhere.test/";
  tasks.on_response(std::move(moved), 50, 0.5);
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  EXPECT_EQ(tasks.outcomes()[0].kind, Kind::filtered);
  EXPECT_EQ(tasks.outcomes()[0].reason, "offsite");
  EXPECT_FALSE(tasks.outcomes()[0].moved_to);
}

TEST(Tasks, A503WithRetryAfterRequeuesTheUrlAndBacksTheSiteOff) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  tasks.start(entry("http://a.test/"), job_context(), "", 0);
  auto busy = response(env.fetched[0].first, "http://a.test/", 503);
  busy.retry_after = "5";
  tasks.on_response(std::move(busy), 50, 0.5);
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  const auto& o = tasks.outcomes()[0];
  EXPECT_EQ(o.kind, Kind::requeue);
  EXPECT_EQ(o.site, queue::PageOutcome::Site::failed);
  EXPECT_EQ(o.site_backoff, 5000ms);
  EXPECT_TRUE(o.record_json.empty()) << "not a final outcome";
  EXPECT_EQ(tasks.stats().counts.at("retries"), 1u);
}

TEST(Tasks, APageWaitsForItsSitesRobotsTxtThenGoesBackToItsQueueUntilTheSiteIsDue) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  env.claimed("http://a.test");
  tasks.start(entry("http://a.test/page"), job_context(true), "", 0);
  ASSERT_EQ(env.robots_asked.size(), 1u);
  EXPECT_TRUE(env.fetched.empty()) << "robots.txt first";
  EXPECT_TRUE(tasks.waiting_on_robots());

  // robots.txt (fetched by the cache, as the site's request) answered at 20 ms.
  env.now = 20;
  env.last_start["http://a.test"] = 0;
  env.rules.emplace("http://a.test", policy::Robots::allow_all());
  tasks.resume(env.robots_asked[0].second, env.now);
  EXPECT_TRUE(env.fetched.empty()) << "the site's delay runs from robots.txt's request";
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  EXPECT_EQ(tasks.outcomes()[0].kind, Kind::release) << "no slot held through the delay";
  EXPECT_TRUE(tasks.empty());
}

TEST(Tasks, ADisallowedPageIsRecordedFilteredWithoutARequest) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  env.rules.emplace("http://a.test",
                    policy::parse_robots("User-agent: *\nDisallow: /private\n", "crawl"));
  tasks.start(entry("http://a.test/private/x"), job_context(true), "", 0);
  EXPECT_TRUE(env.fetched.empty());
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  EXPECT_EQ(tasks.outcomes()[0].kind, Kind::filtered);
  EXPECT_EQ(tasks.outcomes()[0].reason, "robots");
  EXPECT_EQ(record(tasks.outcomes()[0])["outcome"], "filtered");
}

TEST(Tasks, AnUnreachableRobotsTxtDefersTheUrlWithoutSpendingAnAttempt) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  env.rules.emplace("http://a.test", policy::Robots::disallow_all());
  tasks.start(entry("http://a.test/x"), job_context(true), "", 0);
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  EXPECT_EQ(tasks.outcomes()[0].kind, Kind::defer);
  EXPECT_EQ(tasks.outcomes()[0].retry_in, 30s) << "until the unreachable answer lapses";
}

TEST(Tasks, ASiteGivenUpOnFailsItsUrlsUnfetched) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  tasks.start(entry("http://a.test/x"), job_context(), "connect", 0);
  EXPECT_TRUE(env.fetched.empty());
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  EXPECT_EQ(tasks.outcomes()[0].kind, Kind::failed);
  EXPECT_EQ(tasks.outcomes()[0].reason, "site_unreachable");
  EXPECT_NE(record(tasks.outcomes()[0])["error"].get<std::string>().find("connect"),
            std::string::npos);
}

TEST(Tasks, AnUnreadableJobSendsItsUrlBackAndABrokenOneMakesItWait) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  tasks.start(entry("http://a.test/x"), nullptr, "", 0);
  auto broken = std::make_shared<JobContext>();
  broken->broken = "pattern does not compile";
  tasks.start(entry("http://a.test/y"), broken, "", 0);
  EXPECT_TRUE(env.fetched.empty());
  ASSERT_EQ(tasks.outcomes().size(), 2u);
  EXPECT_EQ(tasks.outcomes()[0].kind, Kind::release);
  EXPECT_EQ(tasks.outcomes()[1].kind, Kind::defer);
  EXPECT_GT(tasks.outcomes()[1].retry_in, 0ms);
}

TEST(Tasks, CancellingAJobEndsItsTransfersAndPausingReleasesWhatHasNotStarted) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  tasks.start(entry("http://a.test/1"), job_context(), "", 0);  // fetching
  auto moved = response(env.fetched[0].first, "http://a.test/1", 301);
  moved.location = "/2";
  tasks.on_response(std::move(moved), 10, 0.5);  // polite: waits for the site's delay
  tasks.start(entry("http://a.test/3"), job_context(), "", 20);  // fetching (its own claim)
  EXPECT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks.held().size(), 2u);

  tasks.release_unstarted("7", 30);
  ASSERT_EQ(tasks.outcomes().size(), 1u);
  EXPECT_EQ(tasks.outcomes()[0].kind, Kind::release);
  EXPECT_EQ(tasks.outcomes()[0].entry.url, "http://a.test/1");
  EXPECT_EQ(tasks.held().size(), 2u) << "an outcome not yet recorded is still held";

  EXPECT_EQ(tasks.cancel_job("7", 40), 1u);
  ASSERT_EQ(env.cancelled.size(), 1u);
  EXPECT_EQ(env.cancelled[0], env.fetched[1].first);
  EXPECT_EQ(tasks.outcomes().back().kind, Kind::cancel);
  EXPECT_TRUE(tasks.empty());
}

TEST(Tasks, AnAnswerForATaskNoLongerHeldIsIgnored) {
  FakeEnv env;
  Tasks tasks(env, "host/1", 5);
  tasks.start(entry("http://a.test/1"), job_context(), "", 0);
  const std::uint64_t id = env.fetched[0].first;
  tasks.cancel_job("7", 5);
  tasks.on_response(response(id, "http://a.test/1", 200, "text/html", "<p>"), 10, 0.5);
  EXPECT_TRUE(env.parse_jobs.empty());
  EXPECT_EQ(tasks.outcomes().size(), 1u);
  EXPECT_NE(tasks.new_id(), id) << "ids are never reused";
}

}  // namespace
}  // namespace crawl::worker
