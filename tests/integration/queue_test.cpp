// The Redis data model against a real redis-server: leases, dedup, counters, retries, the
// reaper, idempotent completion, politeness and the robots cache.

#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "queue/queue.hpp"
#include "queue/record.hpp"
#include "redis_server.hpp"

namespace crawl::queue {
namespace {

using crawl::testing::RedisServer;
using std::chrono::milliseconds;

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override { m_queue = std::make_unique<Queue>(connect(), Keys{"t"}); }

  Redis connect() {
    auto url = parse_redis_url(m_redis.url());
    auto redis = Redis::connect(*url, milliseconds(2000));
    EXPECT_TRUE(redis) << (redis ? "" : redis.error().message);
    return std::move(*redis);
  }

  std::string new_job(policy::JobOptions options = {}) {
    auto job = m_queue->create_job(options, "test", {"example.org"}, 1000);
    EXPECT_TRUE(job) << (job ? "" : job.error().message);
    EXPECT_TRUE(m_queue->end_submit(*job));  // seeds may still come, as in any job
    return *job;
  }

  JobInfo info(const std::string& job) {
    auto i = m_queue->job(job);
    EXPECT_TRUE(i) << (i ? "" : i.error().message);
    return *i;
  }

  // The ledger always balances: every admitted URL is in exactly one place.
  void expect_balanced(const std::string& job) {
    const JobInfo i = info(job);
    EXPECT_EQ(i.stat("submitted"), i.stat("queued") + i.stat("in_flight") + i.stat("done") +
                                       i.stat("failed") + i.stat("filtered") + i.stat("cancelled"))
        << "job " << job;
  }

  static std::vector<Link> links(int from, int to, const std::string& drop = "", const std::string& path = "") {
    std::vector<Link> out;
    for (int i = from; i < to; ++i) out.push_back({"http://example.org/" + path + std::to_string(i), drop});
    return out;
  }

  long long length(const std::string& key) {
    auto r = m_queue->redis().command({"LLEN", key});
    return r ? r->integer : -1;
  }

  // How many entries of `job` the frontier and the delayed set hold.
  long long waiting(const std::string& job) {
    long long n = 0;
    for (auto* cmd : {"LRANGE", "ZRANGE"}) {
      const std::string key = std::string(cmd) == "LRANGE" ? m_queue->keys().frontier() : m_queue->keys().delayed();
      auto r = m_queue->redis().command({cmd, key, "0", "-1"});
      for (const auto& e : r->elements)
        if (e.str.starts_with(job + " ")) ++n;
    }
    return n;
  }

  static PageOutcome done(const Entry& e, std::vector<Link> found = {}) {
    Record r;
    r.url = e.url;
    r.status = 200;
    return {e, PageOutcome::Kind::done, "", to_json(r), 100, 0, std::move(found)};
  }

  RedisServer m_redis;
  std::unique_ptr<Queue> m_queue;
};

TEST_F(QueueTest, EnqueueDeduplicatesExactly) {
  const std::string job = new_job();
  auto first = m_queue->enqueue(job, 0, links(0, 5000));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->admitted, 5000u);
  auto again = m_queue->enqueue(job, 0, links(2500, 7500));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->admitted, 2500u);
  EXPECT_EQ(again->duplicates, 2500u);
  const JobInfo i = info(job);
  EXPECT_EQ(i.stat("submitted"), 7500);
  EXPECT_EQ(i.stat("queued"), 7500);
  EXPECT_EQ(i.stat("duplicates"), 2500);
  auto len = m_queue->redis().command({"LLEN", m_queue->keys().frontier()});
  EXPECT_EQ(len->integer, 7500);
  // Another job has its own seen set.
  const std::string other = new_job();
  EXPECT_EQ(m_queue->enqueue(other, 0, links(0, 10))->admitted, 10u);
  expect_balanced(job);
}

TEST_F(QueueTest, FilteredLinksAreRecordedNotQueued) {
  const std::string job = new_job();
  ASSERT_TRUE(m_queue->enqueue(job, 1, links(0, 3, "offsite")));
  const JobInfo i = info(job);
  EXPECT_EQ(i.stat("filtered"), 3);
  EXPECT_EQ(i.stat("filtered:offsite"), 3);
  EXPECT_EQ(i.stat("queued"), 0);
  EXPECT_TRUE(i.finished());
  std::string cursor = "0";
  auto records = m_queue->results(job, cursor);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 3u);
  auto r = record_from_json(records->front());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::filtered);
  EXPECT_EQ(r->reason, "offsite");
  EXPECT_EQ(r->depth, 1);
}

TEST_F(QueueTest, ClaimLeasesCompleteAcksAndAdmitsLinks) {
  const std::string job = new_job();
  ASSERT_TRUE(m_queue->enqueue(job, 0, links(0, 3)));
  auto claimed = m_queue->claim("w1", 2, 1000);
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].url, "http://example.org/0");  // first in, first out
  EXPECT_EQ(info(job).stat("in_flight"), 2);
  EXPECT_EQ(m_queue->leased("w1")->size(), 2u);
  expect_balanced(job);

  // Page 0 links to 1 (a duplicate), 10 and 11 (new), and an offsite URL.
  std::vector<Link> found = links(10, 12);
  found.push_back({"http://example.org/1", ""});
  found.push_back({"http://elsewhere.example/", "offsite"});
  auto completed = m_queue->complete("w1", {done((*claimed)[0], found)});
  ASSERT_TRUE(completed) << completed.error().message;
  EXPECT_EQ(completed->applied, 1u);
  EXPECT_EQ(completed->admitted, 3u);
  JobInfo i = info(job);
  EXPECT_EQ(i.stat("done"), 1);
  EXPECT_EQ(i.stat("in_flight"), 1);
  EXPECT_EQ(i.stat("submitted"), 6);
  EXPECT_EQ(i.stat("bytes"), 100);
  EXPECT_EQ(m_queue->leased("w1")->size(), 1u);
  expect_balanced(job);
  // New links carry depth + 1.
  auto next = m_queue->claim("w1", 10, 1000);
  ASSERT_TRUE(next);
  for (const Entry& e : *next)
    if (e.url.ends_with("/10")) {
      EXPECT_EQ(e.depth, 1);
    }

  // Replaying a completion (a reply lost to a broken connection) changes nothing.
  auto replay = m_queue->complete("w1", {done((*claimed)[0], found)});
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->applied, 0u);
  EXPECT_EQ(info(job).stat("done"), 1);
  expect_balanced(job);
}

TEST_F(QueueTest, RetriesWaitUntilDue) {
  const std::string job = new_job();
  ASSERT_TRUE(m_queue->enqueue(job, 0, links(0, 1)));
  auto claimed = m_queue->claim("w1", 1, 1000);
  ASSERT_EQ(claimed->size(), 1u);
  PageOutcome retry{(*claimed)[0], PageOutcome::Kind::retry, "timeout", "", 0, 5000, {}};
  ASSERT_TRUE(m_queue->complete("w1", {retry}));
  EXPECT_EQ(info(job).stat("queued"), 1);
  EXPECT_EQ(info(job).stat("retries"), 1);
  EXPECT_TRUE(m_queue->claim("w1", 1, 4999)->empty());  // not yet
  auto due = m_queue->claim("w1", 1, 5000);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].attempt, 1);
  expect_balanced(job);
}

TEST_F(QueueTest, ReaperReturnsADeadWorkersLeases) {
  const std::string job = new_job();
  ASSERT_TRUE(m_queue->enqueue(job, 0, links(0, 4)));
  ASSERT_TRUE(m_queue->heartbeat("alive", {{"host", "h1"}}, milliseconds(60000)));
  ASSERT_TRUE(m_queue->heartbeat("dead", {{"host", "h2"}}, milliseconds(1)));
  ASSERT_EQ(m_queue->claim("alive", 2, 1000)->size(), 2u);
  ASSERT_EQ(m_queue->claim("dead", 2, 1000)->size(), 2u);
  ASSERT_TRUE(crawl::testing::wait_until([&] { return !*m_queue->alive("dead"); }, milliseconds(2000)));
  EXPECT_EQ(*m_queue->reap("alive", false), -1);  // a live worker keeps its leases
  auto reaped = m_queue->reap_dead();
  ASSERT_TRUE(reaped);
  EXPECT_EQ(*reaped, 2);
  EXPECT_EQ(info(job).stat("queued"), 2);
  EXPECT_EQ(info(job).stat("in_flight"), 2);
  EXPECT_TRUE(m_queue->leased("dead")->empty());
  EXPECT_EQ(*m_queue->worker_ids(), std::vector<std::string>{"alive"});
  expect_balanced(job);
  // The dead worker's late completion is ignored: someone else owns that URL now.
  auto late = m_queue->complete("dead", {done(Entry{job, 0, 0, "http://example.org/2"})});
  EXPECT_EQ(late->applied, 0u);
  // A worker restarting under its own id takes its old leases back first.
  EXPECT_EQ(*m_queue->reap("alive", true), 2);
  expect_balanced(job);
}

TEST_F(QueueTest, WaitForWorkBlocksWithoutTakingAnything) {
  const std::string job = new_job();
  auto idle = m_queue->wait_for_work(milliseconds(100));
  ASSERT_TRUE(idle);
  EXPECT_FALSE(*idle);
  ASSERT_TRUE(m_queue->enqueue(job, 0, links(0, 2)));
  EXPECT_TRUE(*m_queue->wait_for_work(milliseconds(100)));
  EXPECT_EQ(m_queue->redis().command({"LLEN", m_queue->keys().frontier()})->integer, 2);
  EXPECT_EQ(info(job).stat("queued"), 2);
}

TEST_F(QueueTest, MaxPagesStopsAdmission) {
  policy::JobOptions o;
  o.max_pages = 10;
  const std::string job = new_job(o);
  auto r = m_queue->enqueue(job, 0, links(0, 25));
  EXPECT_EQ(r->admitted, 10u);
  const JobInfo i = info(job);
  EXPECT_EQ(i.stat("submitted"), 10);
  EXPECT_EQ(i.stat("dropped:max_pages"), 15);
  expect_balanced(job);
}

// A job is submitting from its creation until its last submit has ended, however the submits
// into it overlap; it cannot look finished in between.
TEST_F(QueueTest, AJobStaysSubmittingUntilItsLastSubmitEnds) {
  auto job = m_queue->create_job({}, "test", {"example.org"}, 1000);
  ASSERT_TRUE(job);
  ASSERT_TRUE(m_queue->enqueue(*job, 0, links(0, 2)));
  auto held = m_queue->claim("w1", 2, 1000);
  ASSERT_EQ(held->size(), 2u);
  std::vector<PageOutcome> outcomes;
  for (const auto& e : *held) outcomes.push_back(done(e));
  ASSERT_TRUE(m_queue->complete("w1", outcomes));
  EXPECT_TRUE(info(*job).submitting);
  EXPECT_TRUE(info(*job).submitter_alive);
  EXPECT_FALSE(info(*job).finished()) << "nothing queued, but seeds are still coming";
  const long long version = info(*job).seeds_version;
  ASSERT_TRUE(m_queue->begin_submit(*job, {"other.example"}));  // a second submit, overlapping
  EXPECT_EQ(info(*job).seeds_version, version + 1);
  ASSERT_TRUE(m_queue->end_submit(*job));  // the first ends
  EXPECT_TRUE(info(*job).submitting);
  EXPECT_FALSE(info(*job).finished());
  ASSERT_TRUE(m_queue->end_submit(*job));  // the second ends
  EXPECT_FALSE(info(*job).submitting);
  EXPECT_TRUE(info(*job).finished());
  auto seeds = *m_queue->seed_authorities(*job);
  std::sort(seeds.begin(), seeds.end());
  EXPECT_EQ(seeds, (std::vector<std::string>{"example.org", "other.example"}));
  EXPECT_EQ(m_queue->begin_submit("404", {}).error().kind, ErrorKind::not_found);
  ASSERT_TRUE(m_queue->control(*job, JobAction::cancel));
  EXPECT_EQ(m_queue->begin_submit(*job, {}).error().kind, ErrorKind::invalid);
}

TEST_F(QueueTest, FilteredLinksCostNothingOfThePageBudget) {
  policy::JobOptions o;
  o.max_pages = 10;
  const std::string job = new_job(o);
  // Off-site links recorded as filtered come first; the budget is still there for pages.
  ASSERT_TRUE(m_queue->enqueue(job, 0, links(0, 30, "offsite", "elsewhere/")));
  auto r = m_queue->enqueue(job, 0, links(0, 25));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->admitted, 10u);
  const JobInfo i = info(job);
  EXPECT_EQ(i.stat("filtered"), 30);
  EXPECT_EQ(i.stat("queued"), 10);
  EXPECT_EQ(i.stat("submitted"), 40);
  EXPECT_EQ(i.stat("dropped:max_pages"), 15);
  EXPECT_EQ(i.stat("budget_used"), 10);
  // A later call (as a worker's completion) reads the spent budget back from the counters;
  // once it is spent, nothing more is admitted, filtered or not.
  ASSERT_TRUE(m_queue->enqueue(job, 1, links(100, 103, "robots")));
  ASSERT_TRUE(m_queue->enqueue(job, 1, links(100, 103, "", "more/")));
  EXPECT_EQ(info(job).stat("queued"), 10);
  EXPECT_EQ(info(job).stat("filtered"), 30);
  EXPECT_EQ(info(job).stat("dropped:max_pages"), 21);
  // With budget left, a later call's filtered links are recorded and cost none of it.
  policy::JobOptions roomy;
  roomy.max_pages = 3;
  const std::string other = new_job(roomy);
  ASSERT_TRUE(m_queue->enqueue(other, 0, links(0, 2)));
  ASSERT_TRUE(m_queue->enqueue(other, 1, links(0, 5, "offsite", "elsewhere/")));
  ASSERT_TRUE(m_queue->enqueue(other, 1, links(10, 15)));
  EXPECT_EQ(info(other).stat("filtered"), 5);
  EXPECT_EQ(info(other).stat("queued"), 3);
  EXPECT_EQ(info(other).stat("dropped:max_pages"), 4);
  expect_balanced(other);
  expect_balanced(job);
}

TEST_F(QueueTest, PolitenessSlotsAreSharedAndSpaced) {
  EXPECT_EQ(*m_queue->reserve("example.org", 1000, milliseconds(500)), 1000);
  EXPECT_EQ(*m_queue->reserve("example.org", 1000, milliseconds(500)), 1500);
  EXPECT_EQ(*m_queue->reserve("example.org", 1200, milliseconds(500)), 2000);
  EXPECT_EQ(*m_queue->reserve("other.org", 1200, milliseconds(500)), 1200);
  EXPECT_EQ(*m_queue->reserve("example.org", 9000, milliseconds(500)), 9000);
}

TEST_F(QueueTest, RobotsCacheAndLock) {
  EXPECT_FALSE(m_queue->robots("http://example.org")->has_value());
  EXPECT_TRUE(*m_queue->lock_robots("http://example.org", milliseconds(5000)));
  EXPECT_FALSE(*m_queue->lock_robots("http://example.org", milliseconds(5000)));
  ASSERT_TRUE(m_queue->store_robots("http://example.org", "N /private/\n", milliseconds(60000)));
  EXPECT_EQ(**m_queue->robots("http://example.org"), "N /private/\n");
}

TEST_F(QueueTest, ScriptsSurviveAFlushedScriptCache) {
  const std::string job = new_job();
  ASSERT_TRUE(m_queue->enqueue(job, 0, links(0, 1)));
  ASSERT_TRUE(m_queue->redis().command({"SCRIPT", "FLUSH"}));
  auto r = m_queue->enqueue(job, 0, links(1, 2));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->admitted, 1u);
}

TEST_F(QueueTest, ConnectionErrorsNameTheServer) {
  auto url = parse_redis_url("redis://127.0.0.1:1/0");
  auto redis = Redis::connect(*url, milliseconds(500));
  ASSERT_FALSE(redis);
  EXPECT_NE(redis.error().message.find("cannot reach Redis at redis://127.0.0.1:1/0"),
            std::string::npos)
      << redis.error().message;
  // And a server that goes away mid-session is reported, not hung on.
  RedisServer doomed;
  auto c = Redis::connect(*parse_redis_url(doomed.url()), milliseconds(500));
  ASSERT_TRUE(c);
  doomed.kill_hard();
  auto r = c->command({"PING"});
  EXPECT_FALSE(r);
  EXPECT_FALSE(c->connected());
}

}  // namespace
}  // namespace crawl::queue

namespace crawl::queue {
namespace {

TEST_F(QueueTest, PauseParksAJobsUrlsAndResumeBringsThemBack) {
  const std::string a = new_job(), b = new_job();
  ASSERT_TRUE(m_queue->enqueue(a, 0, links(0, 100, "", "a")));
  ASSERT_TRUE(m_queue->enqueue(b, 0, links(0, 100, "", "b")));
  auto held = m_queue->claim("w1", 5, 1000);  // a's first five, in flight when it pauses
  ASSERT_EQ(held->size(), 5u);
  auto paused = m_queue->control(a, JobAction::pause);
  ASSERT_TRUE(paused) << paused.error().message;
  EXPECT_EQ(paused->state, "paused");
  EXPECT_EQ(waiting(a), 0);  // all parked by the sweep
  EXPECT_EQ(length(m_queue->keys().parked(a)), 95);
  EXPECT_EQ(info(a).stat("queued"), 95);
  // Only the other job's URLs are leased now.
  auto claimed = m_queue->claim("w2", 200, 1000);
  ASSERT_EQ(claimed->size(), 100u);
  for (const auto& e : *claimed) EXPECT_EQ(e.job, b);
  // Leases already out finish, and their links are admitted, to be parked when met.
  std::vector<PageOutcome> outcomes;
  for (std::size_t i = 0; i < held->size(); ++i)
    outcomes.push_back(done((*held)[i], i == 0 ? links(1000, 1010, "", "a") : std::vector<Link>{}));
  ASSERT_EQ(m_queue->complete("w1", outcomes)->applied, 5u);
  EXPECT_TRUE(m_queue->claim("w2", 50, 1000)->empty());
  EXPECT_EQ(length(m_queue->keys().parked(a)), 105);
  expect_balanced(a);
  auto resumed = m_queue->control(a, JobAction::resume);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->state, "running");
  EXPECT_EQ(resumed->moved, 105);
  EXPECT_EQ(m_queue->claim("w2", 200, 1000)->size(), 105u);
  expect_balanced(a);
  expect_balanced(b);
}

TEST_F(QueueTest, CancelDropsAJobsUrlsEverywhereAndAdmitsNoMore) {
  const std::string job = new_job(), other = new_job();
  ASSERT_TRUE(m_queue->enqueue(job, 0, links(0, 50)));
  ASSERT_TRUE(m_queue->enqueue(other, 0, links(0, 10, "", "other")));
  auto held = m_queue->claim("w1", 4, 1000);
  ASSERT_EQ(held->size(), 4u);
  // One waits in the delayed set, one is parked (the job was paused first).
  PageOutcome retry{(*held)[3], PageOutcome::Kind::retry, "timeout", "", 0, 999'999'999, {}};
  ASSERT_TRUE(m_queue->complete("w1", {retry}));
  ASSERT_TRUE(m_queue->control(job, JobAction::pause));
  auto cancelled = m_queue->control(job, JobAction::cancel);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  EXPECT_EQ(cancelled->state, "cancelled");
  EXPECT_EQ(cancelled->moved, 47);  // 46 parked + 1 delayed
  EXPECT_EQ(waiting(job), 0);
  EXPECT_EQ(length(m_queue->keys().parked(job)), 0);
  JobInfo i = info(job);
  EXPECT_EQ(i.stat("queued"), 0);
  EXPECT_EQ(i.stat("in_flight"), 3);
  EXPECT_EQ(i.stat("cancelled"), 47);
  expect_balanced(job);
  // What workers still hold: a finished page is recorded but its links are not admitted; a
  // release or a retry counts as cancelled, as does the worker dropping it.
  std::vector<PageOutcome> late{done((*held)[0], links(100, 110)),
                                {(*held)[1], PageOutcome::Kind::release, "", "", 0, 0, {}},
                                {(*held)[2], PageOutcome::Kind::cancel, "", "", 0, 0, {}}};
  auto applied = m_queue->complete("w1", late);
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied->applied, 3u);
  EXPECT_EQ(applied->admitted, 0u);
  i = info(job);
  EXPECT_EQ(i.stat("in_flight"), 0);
  EXPECT_EQ(i.stat("done"), 1);
  EXPECT_EQ(i.stat("cancelled"), 49);
  EXPECT_TRUE(i.finished());
  expect_balanced(job);
  EXPECT_EQ(m_queue->enqueue(job, 0, links(200, 210))->admitted, 0u);
  // The other job is untouched.
  EXPECT_EQ(waiting(other), 10);
  EXPECT_EQ(m_queue->claim("w1", 20, 1000)->size(), 10u);
  expect_balanced(other);
  EXPECT_FALSE(m_queue->control("404", JobAction::cancel));
}

TEST_F(QueueTest, DeadWorkersAreRememberedUntilTheyComeBack) {
  const std::string job = new_job();
  ASSERT_TRUE(m_queue->enqueue(job, 0, links(0, 4)));
  ASSERT_TRUE(m_queue->heartbeat("h1/1", {{"host", "h1"}, {"pages", "7"}}, milliseconds(60000)));
  ASSERT_TRUE(m_queue->heartbeat("h2/1", {{"host", "h2"}, {"pages", "3"}}, milliseconds(300)));
  ASSERT_EQ(m_queue->claim("h2/1", 3, 1000)->size(), 3u);
  ASSERT_TRUE(crawl::testing::wait_until([&] { return !*m_queue->alive("h2/1"); }, milliseconds(3000)));
  auto workers = m_queue->workers();
  ASSERT_TRUE(workers);
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ((*workers)[0].liveness, WorkerInfo::Liveness::alive);
  EXPECT_GE((*workers)[0].heartbeat_age_ms, 0);
  EXPECT_EQ((*workers)[1].liveness, WorkerInfo::Liveness::expired);
  EXPECT_EQ(*m_queue->reap_dead(), 3);
  workers = m_queue->workers();
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ((*workers)[1].liveness, WorkerInfo::Liveness::dead);
  EXPECT_EQ((*workers)[1].field("pages"), "3");  // its last heartbeat is kept
  EXPECT_EQ((*workers)[1].field("state"), "dead");
  expect_balanced(job);
  // Back under the same id: alive again, no longer listed dead.
  ASSERT_TRUE(m_queue->heartbeat("h2/1", {{"host", "h2"}, {"state", "running"}}, milliseconds(60000)));
  workers = m_queue->workers();
  EXPECT_EQ((*workers)[1].liveness, WorkerInfo::Liveness::alive);
  EXPECT_EQ(m_queue->redis().command({"ZCARD", m_queue->keys().dead_workers()})->integer, 0);
  // Forgetting: only the dead.
  ASSERT_TRUE(m_queue->heartbeat("h3/1", {{"host", "h3"}}, milliseconds(300)));
  ASSERT_TRUE(crawl::testing::wait_until([&] { return !*m_queue->alive("h3/1"); }, milliseconds(3000)));
  ASSERT_TRUE(m_queue->reap_dead());
  EXPECT_EQ(*m_queue->forget_dead(), 1);
  EXPECT_EQ(m_queue->workers()->size(), 2u);
}

TEST_F(QueueTest, PagesPerSecondCoverTheLastMinuteAndAFinishedJobsWholeDuration) {
  const std::string job = new_job();
  ASSERT_TRUE(m_queue->enqueue(job, 0, links(0, 30)));
  auto held = m_queue->claim("w1", 20, 1000);
  std::vector<PageOutcome> outcomes;
  for (const auto& e : *held) outcomes.push_back(done(e));
  ASSERT_TRUE(m_queue->complete("w1", outcomes));
  // A job younger than a minute: all its pages over its age, to the millisecond, the current
  // second included.
  JobInfo i = info(job);
  EXPECT_EQ(i.recent_pages, 20);
  EXPECT_GT(i.recent_seconds, 0);
  EXPECT_LT(i.recent_seconds, 60);
  EXPECT_DOUBLE_EQ(i.rate(), 20.0 / i.recent_seconds);
  EXPECT_GT(i.rate(), 20.0 / 60) << "not the pages over a whole minute";
  // Finished: the pages over its duration, from creation to the last page, however long ago.
  held = m_queue->claim("w1", 10, 1000);
  outcomes.clear();
  for (const auto& e : *held) outcomes.push_back(done(e));
  ASSERT_TRUE(m_queue->complete("w1", outcomes));
  i = info(job);
  ASSERT_TRUE(i.finished());
  EXPECT_EQ(i.pages_recorded, 30);
  ASSERT_GE(i.last_page_ms, i.created_ms);
  EXPECT_DOUBLE_EQ(i.rate(), 30.0 * 1000 / std::max<std::int64_t>(1, i.last_page_ms - i.created_ms));
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_DOUBLE_EQ(info(job).rate(), i.rate()) << "a finished job's rate does not decay";
  auto two = m_queue->jobs({job, job});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->size(), 2u);
  EXPECT_FALSE(m_queue->jobs({job, "404"}));
}

}  // namespace
}  // namespace crawl::queue
