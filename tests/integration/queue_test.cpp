// The Redis data model against a real redis-server: the frontier partitioned by site (leases,
// politeness, back-off, fairness between jobs, dead letters), dedup, counters, retries, the
// reaper, idempotent completion, job control, the fleet and the robots cache.

#include "queue/queue.hpp"

#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "process.hpp"
#include "queue/record.hpp"
#include "queue/results.hpp"
#include "queue/scripts.hpp"
#include "redis_server.hpp"
#include "url/url.hpp"

namespace crawl::queue {
namespace {

using crawl::testing::RedisOptions;
using crawl::testing::RedisServer;
using crawl::testing::wait_until;
using std::chrono::milliseconds;
using Kind = PageOutcome::Kind;

// A heartbeat from a worker on `host` that has recorded `pages`.
Heartbeat beat_of(const std::string& host, std::uint64_t pages = 0) {
  Heartbeat b;
  b.host = host;
  b.pages = pages;
  return b;
}

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override { m_queue = std::make_unique<Queue>(connect(), Keys{"t"}); }

  Redis connect() {
    auto url = parse_redis_url(m_redis.url());
    auto redis = Redis::connect(*url, milliseconds(2000));
    EXPECT_TRUE(redis) << (redis ? "" : redis.error().message);
    return std::move(*redis);
  }

  Jobs jobs() { return m_queue->jobs(); }
  Frontier frontier() { return m_queue->frontier(); }
  Fleet fleet() { return m_queue->fleet(); }

  // Options for sites of our own: no delay, many requests at once. Politeness tests set theirs.
  static policy::JobOptions fast() {
    policy::JobOptions o;
    o.delay = milliseconds(0);
    o.host_concurrency = 1000;
    return o;
  }

  std::string new_job(policy::JobOptions options = fast()) {
    auto job = jobs().create(options, "test", {"example.org"}, 1000);
    EXPECT_TRUE(job) << (job ? "" : job.error().message);
    EXPECT_TRUE(jobs().end_submit(*job));  // seeds may still come, as in any job
    return *job;
  }

  JobInfo info(const std::string& job) {
    auto i = jobs().job(job);
    EXPECT_TRUE(i) << (i ? "" : i.error().message);
    return *i;
  }

  std::vector<Entry> claim(const std::string& worker, std::size_t n) {
    auto c = frontier().claim(worker, n);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c ? c->entries : std::vector<Entry>{};
  }

  // The ledger always balances: every admitted URL is in exactly one place.
  void expect_balanced(const std::string& job) {
    const JobInfo i = info(job);
    EXPECT_EQ(i.stat("submitted"), i.stat("queued") + i.stat("in_flight") + i.stat("done") +
                                       i.stat("failed") + i.stat("filtered") + i.stat("cancelled"))
        << "job " << job;
    EXPECT_EQ(i.stat("queued"), waiting(job)) << "job " << job << ": queued, counted and held";
  }

  // URLs http://HOST/PATHi for i in [from, to).
  static std::vector<Link> links(int from, int to, const std::string& drop = "",
                                 const std::string& path = "",
                                 const std::string& host = "example.org") {
    std::vector<Link> out;
    for (int i = from; i < to; ++i)
      out.push_back({"http://" + host + "/" + path + std::to_string(i), drop});
    return out;
  }

  long long length(const std::string& key) {
    auto r = m_queue->redis().command({"LLEN", key});
    return r ? r->integer : -1;
  }

  // Entries of `job` waiting: in its site queues and in the delayed set.
  long long waiting(const std::string& job) {
    long long n = 0;
    auto sites = m_queue->redis().command({"ZRANGE", m_queue->keys().sites(job), "0", "-1"});
    for (const auto& s : sites->elements) n += length(m_queue->keys().queue(job, s.str));
    auto delayed = m_queue->redis().command({"ZRANGE", m_queue->keys().delayed(), "0", "-1"});
    for (const auto& e : delayed->elements)
      if (e.str.starts_with(job + " ")) ++n;
    return n;
  }

  static PageOutcome outcome(const Entry& e, Kind kind, std::string reason = "") {
    PageOutcome o;
    o.entry = e;
    o.kind = kind;
    o.reason = std::move(reason);
    return o;
  }

  static PageOutcome done(const Entry& e, std::vector<Link> found = {}) {
    Record r;
    r.url = e.url;
    r.status = 200;
    PageOutcome o = outcome(e, Kind::done);
    o.record_json = to_json(r);
    o.bytes = 100;
    o.site = PageOutcome::Site::answered;
    o.links = std::move(found);
    return o;
  }

  RedisServer m_redis;
  std::unique_ptr<Queue> m_queue;
};

// Every host the normal form allows is one the scripts lease from: the scripts' check of an entry
// is no stricter than the URL parser (a host with '_', '~' or '!', a port 0, an IPv6 address).
// The slot of a key is the one a cluster-enabled redis-server computes (CLUSTER KEYSLOT): hash
// tags and their edge cases (empty, unclosed, nested, several), binary keys, and 2,000 random
// ones.
TEST(KeySlot, IsRedisClustersOwn) {
  RedisServer server(RedisOptions{.append_only = false,
                                  .password = "",
                                  .extra_config = "cluster-enabled yes\ncluster-config-file "
                                                  "nodes.conf\n"});
  auto url = parse_redis_url(server.url());
  ASSERT_TRUE(url);
  auto redis = Redis::connect(*url, std::chrono::seconds(5));
  ASSERT_TRUE(redis) << redis.error().message;
  std::vector<std::string> keys = {"",
                                   "{}",
                                   "{}{a}",
                                   "a{b}c",
                                   "{a",
                                   "a}",
                                   "{{a}}",
                                   "foo{bar}{zap}",
                                   "{user1000}.following",
                                   "}{a}",
                                   std::string("\0{\xff}", 4),
                                   "P:job:{7}:results",
                                   "123456789"};
  std::uint32_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    std::string key;
    const int n = static_cast<int>((x = x * 1'103'515'245 + 12'345) >> 16) % 24;
    for (int j = 0; j < n; ++j) {
      x = x * 1'103'515'245 + 12'345;
      const int pick = static_cast<int>(x >> 16) % 10;
      key += pick == 0 ? '{' : pick == 1 ? '}' : static_cast<char>((x >> 8) & 0xff);
    }
    keys.push_back(key);
  }
  std::vector<std::vector<std::string>> commands;
  for (const auto& k : keys) commands.push_back({"CLUSTER", "KEYSLOT", k});
  auto replies = redis->pipeline(commands);
  ASSERT_TRUE(replies) << replies.error().message;
  ASSERT_EQ(replies->size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_EQ((*replies)[i].type, Reply::Type::integer) << (*replies)[i].str;
    EXPECT_EQ(key_slot(keys[i]), (*replies)[i].integer) << "key #" << i;
  }
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % k_cluster_slots);  // the specification's check value
}

TEST_F(QueueTest, EveryNormalFormHostIsLeased) {
  const std::string job = new_job();
  std::vector<Link> odd;
  for (const char* base : {"http://exa_mple.org/", "http://a~b!c.example/", "http://a.example:0/",
                           "http://[::1]:8080/", "https://a.example:65535/"}) {
    auto normal = url::normalize(base);
    ASSERT_TRUE(normal && *normal == base) << base;
    odd.push_back({std::string(base) + "x", ""});
  }
  ASSERT_TRUE(jobs().enqueue(job, 0, odd));
  std::size_t leased = 0;
  for (int round = 0; round < 10 && leased < odd.size(); ++round) leased += claim("w1", 10).size();
  EXPECT_EQ(leased, odd.size());
  auto dead = frontier().dead_letters();
  ASSERT_TRUE(dead);
  EXPECT_EQ(*dead, 0);
}

TEST_F(QueueTest, EnqueueDeduplicatesExactlyIntoSiteQueues) {
  const std::string job = new_job();
  auto first = jobs().enqueue(job, 0, links(0, 5000));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->admitted, 5000u);
  auto again = jobs().enqueue(job, 0, links(2500, 7500));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->admitted, 2500u);
  EXPECT_EQ(again->duplicates, 2500u);
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 3, "", "", "other.example")));
  const JobInfo i = info(job);
  EXPECT_EQ(i.stat("submitted"), 7503);
  EXPECT_EQ(i.stat("queued"), 7503);
  EXPECT_EQ(i.stat("duplicates"), 2500);
  EXPECT_EQ(length(m_queue->keys().queue(job, "http://example.org")), 7500);
  EXPECT_EQ(length(m_queue->keys().queue(job, "http://other.example")), 3);
  EXPECT_EQ(i.sites.queued, 2);
  EXPECT_EQ(i.sites.ready, 2);
  // Another job has its own seen set and its own queues.
  const std::string other = new_job();
  EXPECT_EQ(jobs().enqueue(other, 0, links(0, 10))->admitted, 10u);
  expect_balanced(job);
  expect_balanced(other);
}

TEST_F(QueueTest, FilteredLinksAreRecordedNotQueued) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 1, links(0, 3, "offsite")));
  const JobInfo i = info(job);
  EXPECT_EQ(i.stat("filtered"), 3);
  EXPECT_EQ(i.stat("filtered:offsite"), 3);
  EXPECT_EQ(i.stat("queued"), 0);
  EXPECT_TRUE(i.finished());
  // Their records wait in the job's stream until drained home, written there as every record is
  // (to_json: no "\/" as Lua's cjson would write, and the time they were recorded).
  EXPECT_EQ(m_queue->redis().command({"XLEN", m_queue->keys().records(job)})->integer, 3);
  testing::TempDir home("records");
  ResultReader reader(job, std::nullopt, home.path());
  std::vector<Record> records;
  auto j = jobs();
  while (!reader.done())
    ASSERT_TRUE(reader.next(j, [&](const std::string& json, const Record& r) {
      EXPECT_EQ(json, to_json(r));
      records.push_back(r);
    }));
  EXPECT_EQ(m_queue->redis().command({"XLEN", m_queue->keys().records(job)})->integer, 0);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records.front().outcome, Outcome::filtered);
  EXPECT_EQ(records.front().reason, "offsite");
  EXPECT_EQ(records.front().depth, 1);
  EXPECT_GT(records.front().at_ms, 0);
}

TEST_F(QueueTest, ClaimLeasesCompleteAcksAndAdmitsLinks) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 3)));
  auto claimed = claim("w1", 2);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].url, "http://example.org/0");  // first in, first out
  EXPECT_EQ(info(job).stat("in_flight"), 2);
  EXPECT_EQ(frontier().leased("w1")->size(), 2u);
  expect_balanced(job);

  // Page 0 links to 1 (a duplicate), 10 and 11 (new), and an offsite URL.
  std::vector<Link> found = links(10, 12);
  found.push_back({"http://example.org/1", ""});
  found.push_back({"http://elsewhere.example/", "offsite"});
  auto completed = frontier().complete("w1", {done(claimed[0], found)});
  ASSERT_TRUE(completed) << completed.error().message;
  EXPECT_EQ(completed->applied, 1u);
  EXPECT_EQ(completed->admitted, 3u);
  JobInfo i = info(job);
  EXPECT_EQ(i.stat("done"), 1);
  EXPECT_EQ(i.stat("in_flight"), 1);
  EXPECT_EQ(i.stat("submitted"), 6);
  EXPECT_EQ(i.stat("bytes"), 100);
  EXPECT_EQ(frontier().leased("w1")->size(), 1u);
  expect_balanced(job);
  // New links carry depth + 1.
  bool saw = false;
  for (const Entry& e : claim("w1", 10))
    if (e.url.ends_with("/10")) {
      EXPECT_EQ(e.depth, 1);
      saw = true;
    }
  EXPECT_TRUE(saw);

  // Replaying a completion (a reply lost to a broken connection) changes nothing.
  auto replay = frontier().complete("w1", {done(claimed[0], found)});
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->applied, 0u);
  EXPECT_EQ(info(job).stat("done"), 1);
  expect_balanced(job);
}

TEST_F(QueueTest, RetriesWaitUntilDue) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 1)));
  auto claimed = claim("w1", 1);
  ASSERT_EQ(claimed.size(), 1u);
  PageOutcome retry = outcome(claimed[0], Kind::retry, "http_500");
  retry.retry_in = milliseconds(400);
  ASSERT_TRUE(frontier().complete("w1", {retry}));
  EXPECT_EQ(info(job).stat("queued"), 1);
  EXPECT_EQ(info(job).stat("retries"), 1);
  expect_balanced(job);
  EXPECT_TRUE(claim("w1", 1).empty());  // not yet
  std::vector<Entry> due;
  ASSERT_TRUE(wait_until([&] { return !(due = claim("w1", 1)).empty(); }, milliseconds(3000)));
  EXPECT_EQ(due[0].attempt, 1);
  expect_balanced(job);
}

TEST_F(QueueTest, ReaperReturnsADeadWorkersLeases) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 4)));
  ASSERT_TRUE(fleet().heartbeat("alive", beat_of("h1"), milliseconds(60000)));
  ASSERT_TRUE(fleet().heartbeat("dead", beat_of("h2"), milliseconds(1)));
  ASSERT_EQ(claim("alive", 2).size(), 2u);
  ASSERT_EQ(claim("dead", 2).size(), 2u);
  ASSERT_TRUE(wait_until([&] { return !*fleet().alive("dead"); }, milliseconds(2000)));
  EXPECT_EQ(*frontier().reap("alive", Reap::if_dead), -1);  // a live worker keeps its leases
  auto reaped = fleet().reap_dead();
  ASSERT_TRUE(reaped);
  EXPECT_EQ(*reaped, 2);
  EXPECT_EQ(info(job).stat("queued"), 2);
  EXPECT_EQ(info(job).stat("in_flight"), 2);
  EXPECT_TRUE(frontier().leased("dead")->empty());
  EXPECT_EQ(*fleet().worker_ids(), std::vector<std::string>{"alive"});
  expect_balanced(job);
  // The site's slots the dead worker held are free again: its URLs are leased at once.
  EXPECT_EQ(claim("other", 10).size(), 2u);
  // The dead worker's late completion is ignored: someone else owns that URL now.
  auto late = frontier().complete("dead", {done(Entry{job, 0, 0, "http://example.org/2"})});
  EXPECT_EQ(late->applied, 0u);
  // A worker restarting under its own id takes its old leases back first.
  EXPECT_EQ(*frontier().reap("alive", Reap::even_alive), 2);
  expect_balanced(job);
}

TEST_F(QueueTest, WaitForWorkBlocksUntilWorkIsReady) {
  const std::string job = new_job();
  auto idle = frontier().wait_for_work(milliseconds(100));
  ASSERT_TRUE(idle);
  EXPECT_FALSE(*idle);
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 2)));
  EXPECT_TRUE(*frontier().wait_for_work(milliseconds(100)));  // the new site woke it
  EXPECT_EQ(info(job).stat("queued"), 2);                     // nothing was taken
  expect_balanced(job);
}

TEST_F(QueueTest, MaxPagesStopsAdmission) {
  policy::JobOptions o = fast();
  o.max_pages = 10;
  const std::string job = new_job(o);
  auto r = jobs().enqueue(job, 0, links(0, 25));
  EXPECT_EQ(r->admitted, 10u);
  const JobInfo i = info(job);
  EXPECT_EQ(i.stat("submitted"), 10);
  EXPECT_EQ(i.stat("dropped:max_pages"), 15);
  expect_balanced(job);
}

// A job is submitting from its creation until its last submit has ended, however the submits
// into it overlap; it cannot look finished in between.
TEST_F(QueueTest, AJobStaysSubmittingUntilItsLastSubmitEnds) {
  auto job = jobs().create(fast(), "test", {"example.org"}, 1000);
  ASSERT_TRUE(job);
  ASSERT_TRUE(jobs().enqueue(*job, 0, links(0, 2)));
  std::vector<PageOutcome> outcomes;
  for (const auto& e : claim("w1", 2)) outcomes.push_back(done(e));
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_TRUE(frontier().complete("w1", outcomes));
  EXPECT_TRUE(info(*job).submitting);
  EXPECT_TRUE(info(*job).submitter_alive);
  EXPECT_FALSE(info(*job).finished()) << "nothing queued, but seeds are still coming";
  const long long version = info(*job).seeds_version;
  ASSERT_TRUE(jobs().begin_submit(*job, {"other.example"}));  // a second submit, overlapping
  EXPECT_EQ(info(*job).seeds_version, version + 1);
  ASSERT_TRUE(jobs().end_submit(*job));  // the first ends
  EXPECT_TRUE(info(*job).submitting);
  EXPECT_FALSE(info(*job).finished());
  ASSERT_TRUE(jobs().end_submit(*job));  // the second ends
  EXPECT_FALSE(info(*job).submitting);
  EXPECT_TRUE(info(*job).finished());
  auto seeds = *jobs().seed_authorities(*job);
  std::sort(seeds.begin(), seeds.end());
  EXPECT_EQ(seeds, (std::vector<std::string>{"example.org", "other.example"}));
  EXPECT_EQ(jobs().begin_submit("404", {}).error().kind, ErrorKind::not_found);
  ASSERT_TRUE(jobs().control(*job, JobAction::cancel));
  EXPECT_EQ(jobs().begin_submit(*job, {}).error().kind, ErrorKind::invalid);
}

// A new job's first seeds loaded whole (submit's way): URLs http://HOST/PATHi for i in [from,
// to), each `copies` times, as views sorted by fingerprint.
struct LoadedSeeds {
  std::vector<std::string> urls;
  std::vector<LinkView> views;
  LoadedSeeds(int from, int to, int copies = 1, const std::string& host = "example.org") {
    for (int c = 0; c < copies; ++c)
      for (int i = from; i < to; ++i) urls.push_back("http://" + host + "/" + std::to_string(i));
    for (const auto& u : urls) views.push_back({u, {}, url::fingerprint(u)});
    std::sort(views.begin(), views.end(),
              [](const LinkView& a, const LinkView& b) { return a.fingerprint < b.fingerprint; });
  }
};

TEST_F(QueueTest, ALoadedJobIsLeasedFromOnlyOnceItsSeedsAreInAndDedupsLikeAnyJob) {
  auto job =
      jobs().create(fast(), "test", {"example.org", "other.example"}, 1000, FirstSeeds::loaded);
  ASSERT_TRUE(job);
  // 40,000 seeds (several batches), each twice, on two sites.
  LoadedSeeds seeds(0, 20'000, 2);
  LoadedSeeds other(0, 20'000, 2, "other.example");
  seeds.views.insert(seeds.views.end(), other.views.begin(), other.views.end());
  std::sort(seeds.views.begin(), seeds.views.end(),
            [](const LinkView& a, const LinkView& b) { return a.fingerprint < b.fingerprint; });
  std::vector<std::size_t> told;
  auto loaded = jobs().load(*job, seeds.views,
                            [&](std::size_t done, const Admitted&) { told.push_back(done); });
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->admitted, 40'000u);
  EXPECT_EQ(loaded->duplicates, 40'000u);
  ASSERT_GT(told.size(), 1u) << "in batches";
  EXPECT_EQ(told.back(), 80'000u);
  EXPECT_TRUE(std::is_sorted(told.begin(), told.end()));
  EXPECT_TRUE(claim("w1", 10).empty()) << "not leased from while its seeds load";
  ASSERT_TRUE(jobs().control(*job, JobAction::pause));
  ASSERT_TRUE(jobs().control(*job, JobAction::resume));
  EXPECT_TRUE(claim("w1", 10).empty()) << "a resume does not make it due before its seeds are in";
  EXPECT_EQ(jobs().begin_submit(*job, {}).error().kind, ErrorKind::invalid)
      << "no other submit meanwhile";
  ASSERT_TRUE(jobs().end_submit(*job));
  EXPECT_EQ(claim("w1", 10).size(), 10u);
  const JobInfo i = info(*job);
  EXPECT_EQ(i.stat("submitted"), 40'000);
  EXPECT_EQ(i.stat("duplicates"), 40'000);
  EXPECT_FALSE(i.submitting);
  expect_balanced(*job);
  // The seen set is the enqueue script's: the same URLs again are duplicates, new ones are not.
  auto again = jobs().enqueue(*job, 1, links(19'990, 20'010));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->duplicates, 10u);
  EXPECT_EQ(again->admitted, 10u);
  expect_balanced(*job);
}

TEST_F(QueueTest, ALoadedJobKeepsItsPageBudgetAndRefusesSeedsOutOfOrder) {
  policy::JobOptions o = fast();
  o.max_pages = 10;
  auto job = jobs().create(o, "test", {"example.org"}, 1000, FirstSeeds::loaded);
  ASSERT_TRUE(job);
  LoadedSeeds seeds(0, 25);
  std::vector<LinkView> backwards(seeds.views.rbegin(), seeds.views.rend());
  EXPECT_EQ(jobs().load(*job, backwards).error().kind, ErrorKind::invalid);
  auto loaded = jobs().load(*job, seeds.views);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->admitted, 10u);
  ASSERT_TRUE(jobs().end_submit(*job));
  const JobInfo i = info(*job);
  EXPECT_EQ(i.stat("queued"), 10);
  EXPECT_EQ(i.stat("dropped:max_pages"), 15);
  EXPECT_EQ(i.stat("budget_used"), 10);
  expect_balanced(*job);
}

TEST_F(QueueTest, ALoadedJobWhoseLoaderIsGoneGoesOnWithWhatWasLoaded) {
  auto job = jobs().create(fast(), "test", {"example.org"}, 1000, FirstSeeds::loaded);
  ASSERT_TRUE(job);
  LoadedSeeds seeds(0, 100);
  ASSERT_TRUE(jobs().load(*job, seeds.views));
  // The loader died before end_submit: once its submitter key lapses (taken here), the fleet's
  // reaper lets the job be leased from, still marked submitting (status flags it cut short).
  ASSERT_TRUE(m_queue->redis().command({"DEL", m_queue->keys().submitter(*job)}));
  EXPECT_TRUE(claim("w1", 5).empty());
  ASSERT_TRUE(fleet().reap_dead());
  EXPECT_EQ(claim("w1", 5).size(), 5u);
  EXPECT_TRUE(info(*job).submitting);
  EXPECT_FALSE(info(*job).submitter_alive);
  expect_balanced(*job);
  auto members = m_queue->redis().command({"SCARD", m_queue->keys().loading()});
  ASSERT_TRUE(members);
  EXPECT_EQ(members->integer, 0);
}

TEST_F(QueueTest, ASubmitTakesOverALoadedJobWhoseLoaderIsGoneAndALoadStopsAtACancel) {
  auto job = jobs().create(fast(), "test", {"example.org"}, 1000, FirstSeeds::loaded);
  ASSERT_TRUE(job);
  LoadedSeeds seeds(0, 100);
  ASSERT_TRUE(jobs().load(*job, seeds.views));
  ASSERT_TRUE(m_queue->redis().command({"DEL", m_queue->keys().submitter(*job)}));
  ASSERT_TRUE(jobs().begin_submit(*job, {})) << "a re-run adds to the job as to any";
  auto rest = jobs().enqueue(*job, 0, links(50, 150));
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->duplicates, 50u);
  EXPECT_EQ(rest->admitted, 50u);
  EXPECT_EQ(jobs().load(*job, seeds.views).error().kind, ErrorKind::invalid)
      << "the first loader, back, is refused";
  ASSERT_TRUE(jobs().end_submit(*job));
  EXPECT_EQ(claim("w1", 5).size(), 5u);
  expect_balanced(*job);

  auto cancelled = jobs().create(fast(), "test", {"example.org"}, 1000, FirstSeeds::loaded);
  ASSERT_TRUE(cancelled);
  ASSERT_TRUE(jobs().control(*cancelled, JobAction::cancel));
  auto loaded = jobs().load(*cancelled, seeds.views);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::invalid);
  EXPECT_NE(loaded.error().message.find("no longer loading"), std::string::npos);
  EXPECT_EQ(info(*cancelled).stat("queued"), 0);
}

TEST_F(QueueTest, AJobsFirstSeedsLoadOnceAndThroughAFlushedScriptCache) {
  auto first = jobs().create(fast(), "test", {"example.org"}, 1000, FirstSeeds::loaded);
  ASSERT_TRUE(first);
  LoadedSeeds few(0, 10);
  ASSERT_TRUE(jobs().load(*first, few.views));
  auto twice = jobs().load(*first, few.views);
  ASSERT_FALSE(twice) << "a second load would write the job's buckets over";
  EXPECT_NE(twice.error().message.find("load once"), std::string::npos) << twice.error().message;
  EXPECT_EQ(info(*first).stat("queued"), 10);
  // The script checks what it is given before it writes anything: an entry of another site, a
  // bucket name out of form.
  auto loader = jobs().create(fast(), "test", {"example.org"}, 1000, FirstSeeds::loaded);
  ASSERT_TRUE(loader);
  const std::string entry = *loader + " 0 0 http://example.org/x";
  const std::vector<std::vector<std::string>> bad{
      {"t", *loader, "0", "2", "1", "00ab", "123456", "1", "http://example.org", "2", entry,
       *loader + " 0 0 http://example.org.evil/x", "0", "0"},
      {"t", *loader, "0", "1", "1", "00AB", "123456", "1", "http://example.org", "1", entry, "0",
       "0"},
      {"t", *loader, "0", "1", "0", "1", "http://example.org", "2", entry, "0", "0"}};
  for (const auto& args : bad) {
    auto r = m_queue->redis().script(scripts::load, args);
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->ok()) << args[5];
  }
  EXPECT_EQ(info(*loader).stat("queued"), 0);
  EXPECT_EQ(length(m_queue->keys().queue(*loader, "http://example.org")), 0);
  auto good =
      m_queue->redis().script(scripts::load, {"t", *loader, "0", "1", "1", "00ab", "123456", "1",
                                              "http://example.org", "1", entry, "0", "0"});
  ASSERT_TRUE(good && good->ok()) << (good ? good->str : good.error().message);
  EXPECT_EQ(info(*loader).stat("queued"), 1);
  // Every batch in flight refused (NOSCRIPT) is sent again: none lost, none twice.
  ASSERT_TRUE(m_queue->redis().command({"SCRIPT", "FLUSH"}));
  auto second = jobs().create(fast(), "test", {"example.org"}, 1000, FirstSeeds::loaded);
  ASSERT_TRUE(second);
  LoadedSeeds many(0, 60'000);
  auto loaded = jobs().load(*second, many.views);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->admitted, 60'000u);
  ASSERT_TRUE(jobs().end_submit(*second));
  EXPECT_EQ(info(*second).stat("queued"), 60'000);
  expect_balanced(*second);
  auto again = jobs().enqueue(*second, 1, links(59'000, 61'000));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->duplicates, 1'000u);
  ASSERT_TRUE(m_queue->redis().command({"PING"})) << "no reply left unread on the connection";
}

TEST_F(QueueTest, FilteredLinksCostNothingOfThePageBudget) {
  policy::JobOptions o = fast();
  o.max_pages = 10;
  const std::string job = new_job(o);
  // Off-site links recorded as filtered come first; the budget is still there for pages.
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 30, "offsite", "elsewhere/")));
  auto r = jobs().enqueue(job, 0, links(0, 25));
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
  ASSERT_TRUE(jobs().enqueue(job, 1, links(100, 103, "robots")));
  ASSERT_TRUE(jobs().enqueue(job, 1, links(100, 103, "", "more/")));
  EXPECT_EQ(info(job).stat("queued"), 10);
  EXPECT_EQ(info(job).stat("filtered"), 30);
  EXPECT_EQ(info(job).stat("dropped:max_pages"), 21);
  // With budget left, a later call's filtered links are recorded and cost none of it.
  policy::JobOptions roomy = fast();
  roomy.max_pages = 3;
  const std::string other = new_job(roomy);
  ASSERT_TRUE(jobs().enqueue(other, 0, links(0, 2)));
  ASSERT_TRUE(jobs().enqueue(other, 1, links(0, 5, "offsite", "elsewhere/")));
  ASSERT_TRUE(jobs().enqueue(other, 1, links(10, 15)));
  EXPECT_EQ(info(other).stat("filtered"), 5);
  EXPECT_EQ(info(other).stat("queued"), 3);
  EXPECT_EQ(info(other).stat("dropped:max_pages"), 4);
  expect_balanced(other);
  expect_balanced(job);
}

// A claim leases only from sites that may be fetched now, fleet-wide: at most host_concurrency
// requests in flight per site, their starts at least delay apart.
TEST_F(QueueTest, ClaimsKeepEachSitesLimitsForTheWholeFleet) {
  policy::JobOptions polite = fast();
  polite.delay = milliseconds(300);
  polite.host_concurrency = 2;
  const std::string job = new_job(polite);
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 10)));
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 10, "", "", "b.example")));
  // One from each site: the next of a site waits for its delay, whoever asks.
  auto first = claim("w1", 10);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_NE(url::origin(first[0].url), url::origin(first[1].url));
  EXPECT_TRUE(claim("w2", 10).empty()) << "another worker must wait too";
  EXPECT_EQ(info(job).sites.waiting, 2);
  // After the delay: one more from each; then both sites hold 2 in flight, their limit.
  std::vector<Entry> second;
  ASSERT_TRUE(wait_until([&] { return !(second = claim("w2", 10)).empty(); }, milliseconds(3000)));
  ASSERT_EQ(second.size(), 2u);
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_TRUE(claim("w1", 10).empty()) << "two in flight per site at most";
  EXPECT_EQ(info(job).sites.for_slot, 2);
  // A finished request gives its slot back: that site is leased again (after its delay).
  ASSERT_TRUE(frontier().complete("w1", {done(first[0])}));
  EXPECT_EQ(info(job).sites.for_slot, 1);
  std::vector<Entry> third;
  ASSERT_TRUE(wait_until([&] { return !(third = claim("w1", 10)).empty(); }, milliseconds(3000)));
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(url::origin(third[0].url), url::origin(first[0].url));
  expect_balanced(job);
}

// Jobs share the fleet by their ready sites: a job with one site and many URLs does not hold
// up a job with many sites, whose URLs all go out at once.
TEST_F(QueueTest, AJobOfManyIdleSitesIsNotStarvedByOneBigSite) {
  policy::JobOptions polite = fast();
  polite.delay = milliseconds(500);
  polite.host_concurrency = 1;
  const std::string big = new_job(polite), small = new_job(polite);
  ASSERT_TRUE(jobs().enqueue(big, 0, links(0, 2000)));
  auto held = claim("w1", 64);
  ASSERT_EQ(held.size(), 1u) << "one at a time from one site";
  std::vector<Link> spread;
  for (int s = 0; s < 50; ++s)
    spread.push_back({"http://site" + std::to_string(s) + ".example/", ""});
  ASSERT_TRUE(jobs().enqueue(small, 0, spread));
  auto next = claim("w1", 64);
  EXPECT_EQ(next.size(), 50u) << "every idle site of the second job at once";
  for (const auto& e : next) EXPECT_EQ(e.job, small);
  expect_balanced(big);
  expect_balanced(small);
}

// A site that fails (429 with Retry-After, refused connections) backs off for every worker;
// other sites go on. Eight failures in a row and it is given up on: its entries come out
// marked, to be failed without a request.
TEST_F(QueueTest, AFailingSiteBacksOffForEveryWorkerAndIsGivenUpOn) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 20)));
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 5, "", "", "fine.example")));
  // The earliest due site first (example.org: queued first, or by name at the same ms).
  auto held = claim("w1", 1);
  ASSERT_EQ(held.size(), 1u);
  const Entry& bad = held[0];
  ASSERT_EQ(url::origin(bad.url), "http://example.org");
  PageOutcome limited = outcome(bad, Kind::requeue, "http_429");
  limited.site = PageOutcome::Site::failed;
  limited.site_backoff = milliseconds(700);
  ASSERT_TRUE(frontier().complete("w1", {limited}));
  // Only fine.example's URLs now, from any worker.
  for (const auto& e : claim("w2", 50))
    EXPECT_EQ(url::origin(e.url), "http://fine.example") << e.url;
  EXPECT_EQ(info(job).sites.backing_off, 1);
  std::vector<Entry> back;
  ASSERT_TRUE(wait_until([&] { return !(back = claim("w2", 50)).empty(); }, milliseconds(5000)));
  EXPECT_EQ(url::origin(back[0].url), "http://example.org");
  EXPECT_EQ(back[0].url, bad.url) << "the URL the site refused comes first again";
  EXPECT_EQ(back[0].attempt, bad.attempt + 1);
  auto fail_site = [&](std::vector<Entry> leases) {
    std::vector<PageOutcome> out;
    for (const auto& e : leases) {
      PageOutcome o = outcome(e, Kind::requeue, "connect");
      o.site = PageOutcome::Site::failed;
      o.site_backoff = milliseconds(1);  // a test's patience: the back-off itself is tested above
      out.push_back(o);
    }
    ASSERT_TRUE(frontier().complete("w2", out));
  };
  fail_site(back);
  for (int failure = 2; failure < 8; ++failure) {
    std::vector<Entry> again;
    ASSERT_TRUE(wait_until([&] { return !(again = claim("w2", 1)).empty(); }, milliseconds(5000)));
    fail_site(again);
  }
  auto gone = frontier().claim("w2", 100);
  ASSERT_TRUE(gone);
  ASSERT_FALSE(gone->entries.empty());
  for (std::size_t i = 0; i < gone->entries.size(); ++i) {
    EXPECT_EQ(url::origin(gone->entries[i].url), "http://example.org");
    EXPECT_EQ(gone->gone[i], "connect");
  }
  EXPECT_EQ(gone->entries.size(), 20u) << "all of the site's URLs, at once: none is fetched";
  expect_balanced(job);
}

// Entries that do not parse, in a site queue or a lease, go to the dead letters; the claim goes
// on and the counters stay balanced.
TEST_F(QueueTest, ADeadLetterForWhatCannotBeRead) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 3)));
  const std::string q = m_queue->keys().queue(job, "http://example.org");
  // Written by hand, past any script: at the claim end of the queue.
  for (const char* bad : {"not an entry", "1 2 3", "99999 99999999 0 http://example.org/deep",
                          "1 0 0 ftp://example.org/x", "x 0 0 http://example.org/",
                          "2 0 0 http://elsewhere.example/"})
    ASSERT_TRUE(m_queue->redis().command({"RPUSH", q, bad}));
  auto first = frontier().claim("w1", 10);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->entries.size(), 3u);
  EXPECT_EQ(first->dead_lettered, 6);
  EXPECT_EQ(*frontier().dead_letters(), 6);
  EXPECT_EQ(frontier().dead_letter_sample(10)->size(), 6u);
  // A lease that cannot be read goes there too when its worker is reaped.
  ASSERT_TRUE(m_queue->redis().command({"LPUSH", m_queue->keys().inflight("w1"), "garbage"}));
  EXPECT_EQ(*frontier().reap("w1", Reap::even_alive), 3);
  EXPECT_EQ(*frontier().dead_letters(), 7);
  std::vector<PageOutcome> out;
  for (const auto& e : claim("w1", 10)) out.push_back(done(e));
  ASSERT_TRUE(frontier().complete("w1", out));
  const JobInfo i = info(job);
  EXPECT_TRUE(i.finished()) << "queued " << i.stat("queued") << ", in flight "
                            << i.stat("in_flight");
  EXPECT_EQ(i.stat("done"), 3);
  expect_balanced(job);
}

// A redirect within the site (a further request of a lease) waits for the site's delay.
// Entries of a job that is not there (its hash deleted by hand): in its queues, the delayed set
// or a lease, they go to the dead letters, and no counter is made up for the job.
TEST_F(QueueTest, EntriesOfADeletedJobGoToTheDeadLetters) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 5)));
  auto leased = claim("w1", 2);
  ASSERT_EQ(leased.size(), 2u);
  PageOutcome later = outcome(leased[1], Kind::retry, "http_500");
  later.retry_in = milliseconds(1);
  ASSERT_TRUE(frontier().complete("w1", {later}));
  ASSERT_TRUE(
      m_queue->redis().command({"DEL", m_queue->keys().job(job), m_queue->keys().stats(job)}));
  ASSERT_TRUE(wait_until(
      [&] {
        auto c = frontier().claim("w2", 10);
        return c && c->entries.empty() && *frontier().dead_letters() >= 4;
      },
      milliseconds(3000)));
  EXPECT_EQ(*frontier().reap("w1", Reap::even_alive), 0);
  EXPECT_EQ(*frontier().dead_letters(), 5) << "3 queued, 1 delayed, 1 leased";
  EXPECT_EQ(m_queue->redis()
                .command({"EXISTS", m_queue->keys().stats(job), m_queue->keys().sites(job),
                          m_queue->keys().schedule(job)})
                ->integer,
            0);
  EXPECT_EQ(m_queue->redis().command({"ZSCORE", m_queue->keys().due(), job})->type,
            Reply::Type::nil);
}

// A site that failed outside a page (its robots.txt could not be fetched) is backed off as a
// page's failure would back it off: for every worker, exponentially, or by its Retry-After.
TEST_F(QueueTest, ASiteFailedOutsideAPageIsBackedOff) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 2)));
  auto first = frontier().site_failed("http://example.org", "connect", milliseconds(0));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_GT(first->count(), 900);
  EXPECT_LE(first->count(), 1000);
  auto second = frontier().site_failed("http://example.org", "connect", milliseconds(0));
  EXPECT_GT(second->count(), 1900) << "exponential";
  auto told = frontier().site_failed("http://example.org", "http_429", milliseconds(7000));
  EXPECT_GT(told->count(), 6900) << "its Retry-After";
  EXPECT_TRUE(claim("w1", 5).empty()) << "backing off";
  auto busiest = m_queue->sites().busiest(job, 1);
  ASSERT_EQ(busiest->size(), 1u);
  EXPECT_EQ((*busiest)[0].failures, 3);
  EXPECT_EQ((*busiest)[0].backoff_reason, "http_429");
}

TEST_F(QueueTest, AFurtherRequestOfALeaseWaitsForTheSitesDelay) {
  policy::JobOptions polite = fast();
  polite.delay = milliseconds(400);
  const std::string job = new_job(polite);
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 1)));
  ASSERT_EQ(claim("w1", 1).size(), 1u);
  auto wait = frontier().site_start(job, "http://example.org");
  ASSERT_TRUE(wait);
  EXPECT_GT(wait->count(), 0);
  EXPECT_LE(wait->count(), 400);
  ASSERT_TRUE(
      wait_until([&] { return frontier().site_start(job, "http://example.org")->count() == 0; },
                 milliseconds(3000)));
  EXPECT_GT(frontier().site_start(job, "http://example.org")->count(), 0)
      << "that start was marked";
}

// A site's Crawl-delay (from robots.txt, reported by a worker) spaces its requests, up to the
// job's max_crawl_delay.
TEST_F(QueueTest, ACrawlDelaySpacesASitesLeases) {
  policy::JobOptions o = fast();
  o.host_concurrency = 1;
  o.max_crawl_delay = milliseconds(600);
  const std::string job = new_job(o);
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 3)));
  ASSERT_TRUE(m_queue->sites().set_crawl_delay("http://example.org", milliseconds(500)));
  auto first = claim("w1", 5);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(frontier().complete("w1", {done(first[0])}));
  const auto before = std::chrono::steady_clock::now();
  std::vector<Entry> next;
  ASSERT_TRUE(wait_until([&] { return !(next = claim("w1", 5)).empty(); }, milliseconds(3000)));
  EXPECT_GE(std::chrono::steady_clock::now() - before, milliseconds(350))
      << "the Crawl-delay was not kept";
  auto busiest = m_queue->sites().busiest(job, 5);
  ASSERT_TRUE(busiest);
  ASSERT_EQ(busiest->size(), 1u);
  EXPECT_EQ((*busiest)[0].site, "http://example.org");
  EXPECT_EQ((*busiest)[0].crawl_delay_ms, 500);
  EXPECT_EQ((*busiest)[0].queued, 1);
  EXPECT_EQ((*busiest)[0].busy, 1);
}

TEST_F(QueueTest, RobotsCacheAndLock) {
  auto sites = m_queue->sites();
  EXPECT_FALSE(sites.robots("http://example.org")->has_value());
  EXPECT_TRUE(*sites.lock_robots("http://example.org", milliseconds(5000)));
  EXPECT_FALSE(*sites.lock_robots("http://example.org", milliseconds(5000)));
  ASSERT_TRUE(sites.store_robots("http://example.org", "N /private/\n", milliseconds(60000)));
  auto copy = sites.robots("http://example.org");
  ASSERT_TRUE(copy && *copy);
  EXPECT_EQ((*copy)->text, "N /private/\n");
  EXPECT_GT((*copy)->ttl, milliseconds(50000)) << "how long it still stands";
  EXPECT_LE((*copy)->ttl, milliseconds(60000));
  EXPECT_TRUE(*sites.lock_robots("http://example.org", milliseconds(5000)))
      << "the lock goes with the copy stored";
}

TEST_F(QueueTest, ScriptsSurviveAFlushedScriptCache) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 1)));
  ASSERT_TRUE(m_queue->redis().command({"SCRIPT", "FLUSH"}));
  auto r = jobs().enqueue(job, 0, links(1, 2));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->admitted, 1u);
  ASSERT_TRUE(m_queue->redis().command({"SCRIPT", "FLUSH"}));
  EXPECT_EQ(claim("w1", 5).size(), 2u);
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

TEST_F(QueueTest, PauseHoldsAJobsSitesAndResumeLetsThemGo) {
  const std::string a = new_job(), b = new_job();
  ASSERT_TRUE(jobs().enqueue(a, 0, links(0, 100, "", "a")));
  auto held = claim("w1", 5);  // a's first five, in flight when it pauses
  ASSERT_EQ(held.size(), 5u);
  ASSERT_TRUE(jobs().enqueue(b, 0, links(0, 100, "", "", "b.example")));
  auto paused = jobs().control(a, JobAction::pause);
  ASSERT_TRUE(paused) << paused.error().message;
  EXPECT_EQ(paused->state, "paused");
  // Only the other job's URLs are leased now.
  auto claimed = claim("w2", 300);
  EXPECT_EQ(claimed.size(), 100u);
  for (const auto& e : claimed) EXPECT_EQ(e.job, b);
  // Leases already out finish, and their links are admitted, to wait with the job.
  std::vector<PageOutcome> outcomes;
  for (std::size_t i = 0; i < held.size(); ++i)
    outcomes.push_back(done(held[i], i == 0 ? links(1000, 1010, "", "a") : std::vector<Link>{}));
  ASSERT_EQ(frontier().complete("w1", outcomes)->applied, 5u);
  EXPECT_TRUE(claim("w2", 50).empty());
  EXPECT_EQ(info(a).stat("queued"), 105);
  expect_balanced(a);
  auto resumed = jobs().control(a, JobAction::resume);
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->state, "running");
  EXPECT_EQ(claim("w2", 300).size(), 105u);
  expect_balanced(a);
  expect_balanced(b);
}

TEST_F(QueueTest, CancelDropsAJobsUrlsEverywhereAndAdmitsNoMore) {
  const std::string job = new_job(), other = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 50)));
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 20, "", "", "second.example")));
  std::vector<Entry> held;
  for (const auto& e : claim("w1", 4)) held.push_back(e);
  ASSERT_EQ(held.size(), 4u);
  ASSERT_TRUE(jobs().enqueue(other, 0, links(0, 10, "", "other")));
  // One waits in the delayed set.
  PageOutcome retry = outcome(held[3], Kind::retry, "timeout");
  retry.retry_in = milliseconds(999'999'999);
  ASSERT_TRUE(frontier().complete("w1", {retry}));
  ASSERT_TRUE(jobs().control(job, JobAction::pause));
  auto cancelled = jobs().control(job, JobAction::cancel);
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  EXPECT_EQ(cancelled->state, "cancelled");
  EXPECT_EQ(cancelled->moved, 67);  // 66 queued on two sites + 1 delayed
  EXPECT_EQ(waiting(job), 0);
  JobInfo i = info(job);
  EXPECT_EQ(i.stat("queued"), 0);
  EXPECT_EQ(i.stat("in_flight"), 3);
  EXPECT_EQ(i.stat("cancelled"), 67);
  EXPECT_EQ(i.sites.queued, 0);
  expect_balanced(job);
  // What workers still hold: a finished page is recorded but its links are not admitted; a
  // release or a retry counts as cancelled, as does the worker dropping it.
  std::vector<PageOutcome> late{done(held[0], links(100, 110)), outcome(held[1], Kind::release),
                                outcome(held[2], Kind::cancel)};
  auto applied = frontier().complete("w1", late);
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied->applied, 3u);
  EXPECT_EQ(applied->admitted, 0u);
  i = info(job);
  EXPECT_EQ(i.stat("in_flight"), 0);
  EXPECT_EQ(i.stat("done"), 1);
  EXPECT_EQ(i.stat("cancelled"), 69);
  EXPECT_TRUE(i.finished());
  expect_balanced(job);
  EXPECT_EQ(jobs().enqueue(job, 0, links(200, 210))->admitted, 0u);
  // The other job is untouched.
  EXPECT_EQ(waiting(other), 10);
  EXPECT_EQ(claim("w1", 20).size(), 10u);
  expect_balanced(other);
  EXPECT_EQ(jobs().control("404", JobAction::cancel).error().kind, ErrorKind::not_found);
}

TEST_F(QueueTest, DeadWorkersAreRememberedUntilTheyComeBack) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 4)));
  ASSERT_TRUE(fleet().heartbeat("h1/1", beat_of("h1", 7), milliseconds(60000)));
  ASSERT_TRUE(fleet().heartbeat("h2/1", beat_of("h2", 3), milliseconds(300)));
  ASSERT_EQ(claim("h2/1", 3).size(), 3u);
  ASSERT_TRUE(wait_until([&] { return !*fleet().alive("h2/1"); }, milliseconds(3000)));
  auto workers = fleet().workers();
  ASSERT_TRUE(workers);
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ((*workers)[0].liveness, WorkerInfo::Liveness::alive);
  EXPECT_GE((*workers)[0].heartbeat_age_ms, 0);
  EXPECT_EQ((*workers)[1].liveness, WorkerInfo::Liveness::expired);
  EXPECT_EQ(*fleet().reap_dead(), 3);
  workers = fleet().workers();
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ((*workers)[1].liveness, WorkerInfo::Liveness::dead);
  EXPECT_EQ((*workers)[1].report.pages, 3u);  // its last heartbeat is kept
  EXPECT_EQ((*workers)[1].report.state, "dead");
  expect_balanced(job);
  // Back under the same id: alive again, no longer listed dead.
  ASSERT_TRUE(fleet().heartbeat("h2/1", beat_of("h2"), milliseconds(60000)));
  workers = fleet().workers();
  EXPECT_EQ((*workers)[1].liveness, WorkerInfo::Liveness::alive);
  EXPECT_EQ(m_queue->redis().command({"ZCARD", m_queue->keys().dead_workers()})->integer, 0);
  // Forgetting: only the dead.
  ASSERT_TRUE(fleet().heartbeat("h3/1", beat_of("h3"), milliseconds(300)));
  ASSERT_TRUE(wait_until([&] { return !*fleet().alive("h3/1"); }, milliseconds(3000)));
  ASSERT_TRUE(fleet().reap_dead());
  EXPECT_EQ(*fleet().forget_dead(), 1);
  EXPECT_EQ(fleet().workers()->size(), 2u);
}

// A worker of the version before writes its heartbeat as a hash: in the middle of a rolling
// upgrade, the fleet is still shown whole, and a dead one is reaped like the others.
TEST_F(QueueTest, AHeartbeatWrittenAsAHashByAnOlderWorkerIsReadToo) {
  Redis& redis = m_queue->redis();
  const Keys& k = m_queue->keys();
  ASSERT_TRUE(fleet().heartbeat("new/1", beat_of("new", 5), milliseconds(60000)));
  ASSERT_EQ(redis.command({"TYPE", k.worker("new/1")})->str, "string");
  ASSERT_TRUE(redis.pipeline({{"HSET", k.worker("old/1"), "host", "old", "pid", "77", "pages", "9",
                               "errors", R"({"timeout":2})", "ttl_ms", "60000"},
                              {"SET", k.alive("old/1"), "1", "PX", "60000"},
                              {"SADD", k.workers(), "old/1"}}));
  auto workers = fleet().workers();
  ASSERT_TRUE(workers);
  ASSERT_EQ(workers->size(), 2u);
  const WorkerInfo& old = (*workers)[1];
  EXPECT_EQ(old.id, "old/1");
  EXPECT_EQ(old.liveness, WorkerInfo::Liveness::alive);
  EXPECT_EQ(old.report.host, "old");
  EXPECT_EQ(old.report.pages, 9u);
  EXPECT_EQ(old.report.errors.at("timeout"), 2u);
  EXPECT_EQ((*workers)[0].report.pages, 5u);
  auto presence = fleet().heartbeats({"old/1", "new/1", "none/1"});
  ASSERT_TRUE(presence);
  EXPECT_TRUE((*presence)[0].alive);
  EXPECT_EQ((*presence)[0].pid, 77);
  EXPECT_TRUE((*presence)[1].alive);
  EXPECT_FALSE((*presence)[2].alive);
  // It dies: reaped, listed dead with its last heartbeat.
  ASSERT_TRUE(redis.command({"DEL", k.alive("old/1")}));
  ASSERT_TRUE(fleet().reap_dead());
  workers = fleet().workers();
  EXPECT_EQ((*workers)[1].liveness, WorkerInfo::Liveness::dead);
  EXPECT_EQ((*workers)[1].report.pages, 9u);
}

TEST_F(QueueTest, PagesPerSecondCoverTheLastMinuteAndAFinishedJobsWholeDuration) {
  const std::string job = new_job();
  ASSERT_TRUE(jobs().enqueue(job, 0, links(0, 30)));
  std::vector<PageOutcome> outcomes;
  for (const auto& e : claim("w1", 20)) outcomes.push_back(done(e));
  ASSERT_TRUE(frontier().complete("w1", outcomes));
  // A job younger than a minute: all its pages over its age, to the millisecond, the current
  // second included.
  JobInfo i = info(job);
  EXPECT_EQ(i.recent_pages, 20);
  EXPECT_GT(i.recent_seconds, 0);
  EXPECT_LT(i.recent_seconds, 60);
  EXPECT_DOUBLE_EQ(i.rate(), 20.0 / i.recent_seconds);
  EXPECT_GT(i.rate(), 20.0 / 60) << "not the pages over a whole minute";
  // Finished: the pages over its duration, from creation to the last page, however long ago.
  outcomes.clear();
  for (const auto& e : claim("w1", 10)) outcomes.push_back(done(e));
  ASSERT_TRUE(frontier().complete("w1", outcomes));
  i = info(job);
  ASSERT_TRUE(i.finished());
  EXPECT_EQ(i.pages_recorded, 30);
  ASSERT_GE(i.last_page_ms, i.created_ms);
  EXPECT_DOUBLE_EQ(i.rate(),
                   30.0 * 1000 / std::max<std::int64_t>(1, i.last_page_ms - i.created_ms));
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_DOUBLE_EQ(info(job).rate(), i.rate()) << "a finished job's rate does not decay";
  auto two = jobs().jobs({job, job});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->size(), 2u);
  // A job that is not there is listed as missing beside the others, never an error that hides
  // them; asked for alone, it is not found.
  auto with_missing = jobs().jobs({job, "404"});
  ASSERT_TRUE(with_missing);
  EXPECT_FALSE(with_missing->at(0).missing);
  EXPECT_TRUE(with_missing->at(1).missing);
  EXPECT_NE(with_missing->at(1).problem.find(":job:404 is missing"), std::string::npos);
  EXPECT_FALSE(jobs().job("404"));
}

}  // namespace
}  // namespace crawl::queue
