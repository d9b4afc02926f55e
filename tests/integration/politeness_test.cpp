// Politeness, measured at the servers: how many requests a fleet of workers has in flight at a
// site and how far apart their starts are; a site's back-off (Retry-After, refused
// connections) seen by every worker while other sites go on; a job of idle sites not held up by
// another job's big one; a poisoned frontier that still lets every job finish; a page that
// would flood Redis with its links.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crawl_cluster.hpp"
#include "http_server.hpp"

namespace crawl::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// How much later than planned a request may start on a busy machine (the claim's reply, the
// worker's loop, curl's connect): gaps are checked against the delay less this.
constexpr auto k_jitter = 200ms;

// The cluster's own generated site is not crawled here: the smallest there is.
SiteOptions unused_site() {
  SiteOptions o;
  o.pages = 20;
  return o;
}

std::string submit(CrawlCluster& cluster, std::vector<std::string> args) {
  args.insert(args.begin(), "submit");
  args.push_back("--quiet");
  CommandResult r = cluster.crawlctl(args);
  if (r.rc != 0) throw std::runtime_error("submit failed: " + r.err);
  return r.out.substr(0, r.out.find('\n'));
}

// The starts of a site's requests, in order, and the smallest gap between two of them.
struct Spacing {
  std::vector<Clock::time_point> starts;
  Clock::duration min_gap = Clock::duration::max();
};
Spacing spacing(const HttpServer& site) {
  Spacing s;
  for (const auto& hit : site.hits()) s.starts.push_back(hit.start);
  std::sort(s.starts.begin(), s.starts.end());
  for (std::size_t i = 1; i < s.starts.size(); ++i)
    s.min_gap = std::min(s.min_gap, s.starts[i] - s.starts[i - 1]);
  return s;
}

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

nlohmann::json status_json(CrawlCluster& cluster, const std::string& job,
                           std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"status", job, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  CommandResult r = cluster.crawlctl(args);
  return nlohmann::json::parse(r.out, nullptr, false);
}

void expect_balanced(const std::map<std::string, long long>& c) {
  auto n = [&](const char* k) { return c.count(k) ? c.at(k) : 0; };
  EXPECT_EQ(n("queued"), 0);
  EXPECT_EQ(n("in_flight"), 0);
  EXPECT_EQ(n("submitted"), n("done") + n("failed") + n("filtered") + n("cancelled"));
}

// With the defaults, 4 workers (16 requests at once each) keep to one request at a time per
// site, a second apart from start to start, robots.txt included.
TEST(Politeness, DefaultsKeepOneRequestPerSiteASecondApartAcrossTheFleet) {
  std::vector<std::unique_ptr<HttpServer>> sites;
  for (int i = 0; i < 3; ++i) sites.push_back(link_site(5, 100ms));
  CrawlCluster cluster(unused_site());
  for (int i = 1; i <= 4; ++i) cluster.start_worker("w" + std::to_string(i));
  const std::string job =
      submit(cluster, {sites[0]->url("/"), sites[1]->url("/"), sites[2]->url("/")});
  ASSERT_TRUE(cluster.wait_finished(job, 60s));
  const auto c = cluster.counters(job);
  EXPECT_EQ(c.at("done"), 18);
  for (const auto& site : sites) {
    const Spacing s = spacing(*site);
    EXPECT_EQ(s.starts.size(), 7u) << "robots.txt, the root and 5 pages";
    EXPECT_EQ(site->max_in_flight(), 1) << site->url("/");
    EXPECT_GE(s.min_gap, 1000ms - k_jitter) << site->url("/") << ": " << ms(s.min_gap) << " ms";
    std::fprintf(stderr, "%s: %zu requests, smallest gap %lld ms\n", site->url("/").c_str(),
                 s.starts.size(), ms(s.min_gap));
  }
}

// --host-concurrency 3: three requests at once to the site, never more, from 4 workers.
TEST(Politeness, HostConcurrencyIsTheFleetsLimitAtASite) {
  auto site = link_site(40, 300ms);
  CrawlCluster cluster(unused_site());
  for (int i = 1; i <= 4; ++i) cluster.start_worker("w" + std::to_string(i));
  const std::string job =
      submit(cluster, {site->url("/"), "--delay", "0", "--host-concurrency", "3"});
  ASSERT_TRUE(cluster.wait_finished(job, 60s));
  EXPECT_EQ(cluster.counters(job).at("done"), 41);
  EXPECT_EQ(site->max_in_flight(), 3);
}

// Job 1 crawls one big site politely (and some small ones); job 2, submitted meanwhile with 50
// idle sites, finishes within seconds of its own politeness bound instead of queueing behind
// job 1's URLs.
TEST(Politeness, AJobOfIdleSitesIsNotHeldUpByAnotherJobsBigSite) {
  auto big = link_site(300, 20ms);
  std::vector<std::unique_ptr<HttpServer>> small, idle;
  for (int i = 0; i < 10; ++i) small.push_back(link_site(3, 20ms));
  for (int i = 0; i < 50; ++i) idle.push_back(link_site(0, 20ms));
  CrawlCluster cluster(unused_site());
  cluster.start_worker("w1");
  cluster.start_worker("w2");
  std::vector<std::string> first{big->url("/"), "--delay", "200ms"};
  for (const auto& s : small) first.push_back(s->url("/"));
  const std::string job1 = submit(cluster, first);
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job1)["done"] >= 30; }, 30s));
  std::vector<std::string> second{"--delay", "200ms"};
  for (const auto& s : idle) second.push_back(s->url("/"));
  const auto submitted = Clock::now();
  const std::string job2 = submit(cluster, second);
  ASSERT_TRUE(cluster.wait_finished(job2, 30s));
  const auto took = Clock::now() - submitted;
  // Its bound: robots.txt, then the page 200 ms later, at each of its sites, all at once.
  std::fprintf(stderr, "job 2 (50 idle sites) finished %lld ms after its submit\n", ms(took));
  EXPECT_LT(took, 8s);
  EXPECT_EQ(cluster.counters(job2).at("done"), 50);
  const auto c1 = cluster.counters(job1);
  EXPECT_GT(c1.at("queued"), 100) << "job 1 was still crawling its big site";
  EXPECT_EQ(big->max_in_flight(), 1);
  EXPECT_GE(spacing(*big).min_gap, 200ms - k_jitter);
  ASSERT_EQ(cluster.crawlctl({"cancel", job1}).rc, 0);
}

// A 429 with Retry-After: 5 backs its site off for 5 s for every worker; the other site goes on.
TEST(Politeness, RetryAfterPausesTheSiteForEveryWorkerWhileOthersGoOn) {
  std::atomic<bool> told{false};
  auto busy = link_site(20, 10ms, [&](const HttpRequest& r) -> std::optional<HttpReply> {
    if (r.target == "/p/3" && !told.exchange(true))
      return http_reply(429, "slow down", "text/plain", "Retry-After: 5\r\n");
    return std::nullopt;
  });
  auto other = link_site(60, 150ms);
  CrawlCluster cluster(unused_site());
  cluster.start_worker("w1");
  cluster.start_worker("w2");
  const std::string job = submit(cluster, {busy->url("/"), other->url("/"), "--delay", "0"});
  // While it backs off, status says so.
  nlohmann::json seen;
  ASSERT_TRUE(wait_until(
      [&] {
        const nlohmann::json s = status_json(cluster, job, {"--sites", "5"});
        for (const auto& site : s.value("busiest_sites", nlohmann::json::array()))
          if (site.value("backoff_reason", "") == "http_429") seen = site;
        return !seen.is_null();
      },
      20s));
  EXPECT_EQ(seen["site"], busy->url("/").substr(0, busy->url("/").size() - 1));
  ASSERT_TRUE(cluster.wait_finished(job, 60s));
  const auto c = cluster.counters(job);
  EXPECT_EQ(c.at("done"), 21 + 61) << "the page that was refused was fetched again";
  // At the server: after the 429 ended, nothing for 5 s; the other site was asked meanwhile.
  Clock::time_point refused{}, next = Clock::time_point::max();
  for (const auto& hit : busy->hits())
    if (hit.target == "/p/3" && refused == Clock::time_point{}) refused = hit.end;
  ASSERT_NE(refused, Clock::time_point{});
  for (const auto& hit : busy->hits())
    if (hit.start > refused) next = std::min(next, hit.start);
  EXPECT_GE(next - refused, 5000ms) << ms(next - refused) << " ms";
  int meanwhile = 0;
  for (const auto& hit : other->hits())
    meanwhile += hit.start > refused && hit.start < refused + 4500ms;
  EXPECT_GE(meanwhile, 5) << "the other site went on";
  std::fprintf(stderr,
               "busy site asked again %lld ms after the 429; the other site %d times meanwhile\n",
               ms(next - refused), meanwhile);
}

// A free loopback port with nothing listening: connections to it are refused.
int refused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A site that refuses connections is backed off, exponentially, for the whole fleet: a few
// attempts in seconds, not one per URL, and none of its URLs' retries used; the other site of the
// job is crawled meanwhile.
TEST(Politeness, ASiteThatRefusesConnectionsBacksOffWithoutUsingRetries) {
  const std::string down = "http://127.0.0.1:" + std::to_string(refused_port());
  auto up = link_site(20, 20ms);
  CrawlCluster cluster(unused_site());
  cluster.start_worker("w1");
  cluster.start_worker("w2");
  std::vector<std::string> args{up->url("/"), "--delay", "0", "--host-concurrency", "4"};
  for (int i = 0; i < 10; ++i) args.push_back(down + "/p/" + std::to_string(i));
  const std::string job = submit(cluster, args);
  std::string state;
  long long failures = 0;
  auto look = [&] {
    state = cluster.redis_cli({"HMGET", "crawl:site:" + down, "failures", "backoff_reason"});
    failures = std::atoll(state.substr(0, state.find('\n')).c_str());
    return failures;
  };
  ASSERT_TRUE(wait_until([&] { return look() >= 1; }, 30s)) << state;
  const auto first = Clock::now();
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= 21; }, 30s));
  std::this_thread::sleep_until(first + 5s);
  look();
  // Back-offs of 1, 2 and 4 s: attempts at about 0, 1, 3 and 7 s after the first failure, each at
  // most one failure per worker (both may be at the site when a back-off ends): from 2 up to
  // 2 x 3 five seconds after the first. Without the back-off, 10 URLs refused in a millisecond
  // each would fail dozens of times in that time.
  EXPECT_GE(failures, 2) << state;
  EXPECT_LE(failures, 6) << state;
  EXPECT_NE(state.find("connect"), std::string::npos) << state;
  const auto c = cluster.counters(job);
  EXPECT_EQ(c.count("retries") ? c.at("retries") : 0, 0) << "no URL used a retry";
  EXPECT_EQ(c.count("failed") ? c.at("failed") : 0, 0);
  const nlohmann::json s = status_json(cluster, job);
  EXPECT_EQ(s["counters"]["queued"].get<long long>() + s["counters"]["in_flight"].get<long long>(),
            10)
      << s.dump(2);
  ASSERT_EQ(cluster.crawlctl({"cancel", job}).rc, 0);
}

// Entries that do not parse, of jobs that are not there, with a depth out of range or a URL not
// in the normal form, pushed into the frontier by hand while a job runs: they go to the dead
// letters, and the job finishes with every page crawled and its counters balanced. Before the
// normal form was checked, such a URL was crawled and counted: `queued` went below zero and the
// job never finished.
TEST(Politeness, APoisonedFrontierLeavesEveryJobFinishing) {
  auto site = link_site(30, 50ms);
  CrawlCluster cluster(unused_site());
  const std::string job =
      submit(cluster, {site->url("/"), "--delay", "0", "--host-concurrency", "2"});
  const std::string origin = site->url("/").substr(0, site->url("/").size() - 1);
  const std::string q = "crawl:q:" + job + ":" + origin;
  const std::vector<std::string> poison{
      "not an entry", job + " 99999999 0 " + origin + "/deep", job + " 0 0 ftp://example.org/x",
      "77 0 0 " + origin + "/other-job", job + " 0 0 " + origin + "/" + std::string(9000, 'a'),
      // Not in the normal form, which every URL we admit is in: refused by the scripts (a
      // control byte, a fragment, a space, a byte past ASCII, a number with a leading zero) ...
      job + " 0 0 " + origin + "/ctl\x01byte", job + " 0 0 " + origin + "/frag#x",
      job + " 0 0 " + origin + "/sp ace", job + " 0 0 " + origin + "/caf\xc3\xa9",
      job + " 00 0 " + origin + "/zero-depth",
      // ... or by the worker, which checks the whole normal form (an escape of an unreserved
      // character, a dot segment, an empty query, an escape in lower-case hex).
      job + " 0 0 " + origin + "/%7e", job + " 0 0 " + origin + "/a/./b",
      job + " 0 0 " + origin + "/empty?", job + " 0 0 " + origin + "/%c3%a9"};
  for (const auto& bad : poison) cluster.redis_cli({"RPUSH", q, bad});
  cluster.redis_cli({"ZADD", "crawl:delayed", "0", "garbage in the delayed set"});
  cluster.redis_cli({"ZADD", "crawl:delayed", "0", "78 0 0 " + origin + "/deleted-job"});
  // A job that is not there, with a queue of its own, scheduled.
  cluster.redis_cli(
      {"RPUSH", "crawl:q:79:" + origin, "79 0 0 " + origin + "/a", "79 0 0 " + origin + "/b"});
  cluster.redis_cli({"ZADD", "crawl:sched:79", "0", origin});
  cluster.redis_cli({"ZADD", "crawl:due", "0", "79"});
  cluster.start_worker("w1");
  cluster.start_worker("w2");
  ASSERT_TRUE(cluster.wait_finished(job, 60s));
  const auto c = cluster.counters(job);
  EXPECT_EQ(c.at("done"), 31);
  expect_balanced(c);
  EXPECT_EQ(cluster.redis_cli({"GET", "crawl:deadletters"}), "18\n");
  EXPECT_EQ(cluster.redis_cli({"LLEN", "crawl:deadletter"}), "18\n");
  EXPECT_EQ(cluster.redis_cli(
                {"EXISTS", "crawl:q:79:" + origin, "crawl:job:77:stats", "crawl:job:79:stats"}),
            "0\n");
  const std::string logs =
      read_text(cluster.worker_log("w1")) + read_text(cluster.worker_log("w2"));
  EXPECT_NE(logs.find("event=dead_letters"), std::string::npos) << logs;
  const nlohmann::json s = status_json(cluster, job);
  EXPECT_EQ(s["dead_letters"], 18);
}

// One bad value breaks only what it belongs to. Job A's counter `queued` is overwritten with
// "abc", job C's schedule is made a string, job D's hash is deleted (its id still listed), and
// job E's counter is spoilt while a killed worker holds its URLs. Before, the claim script
// failed after taking the site's slot (its `busy` stayed 1), so job B on the same site never
// ran; the reaper failed on E's counter; and `status` printed only "no job" for D and exited 2.
// Now the broken jobs are set aside and shown with why, B is crawled whole, and the site's slots
// all come back.
TEST(Politeness, ABadValueInOneJobBreaksOnlyThatJob) {
  auto site = link_site(20, 0ms);
  auto slow = link_site(20, 1000ms);
  CrawlCluster cluster(unused_site());
  const std::string a = submit(cluster, {site->url("/"), "--delay", "0"});
  const std::string c = submit(cluster, {site->url("/"), "--delay", "0"});
  const std::string d = submit(cluster, {site->url("/"), "--delay", "0"});
  cluster.redis_cli({"HSET", "crawl:job:" + a + ":stats", "queued", "abc"});
  cluster.redis_cli({"DEL", "crawl:sched:" + c});
  cluster.redis_cli({"SET", "crawl:sched:" + c, "not a schedule"});
  cluster.redis_cli({"DEL", "crawl:job:" + d});
  // F: its queue on the site made a string; G: a counter the scripts do not check first.
  const std::string f = submit(cluster, {site->url("/"), "--delay", "0"});
  const std::string g = submit(cluster, {site->url("/"), "--delay", "0"});
  const std::string origin = site->url("/").substr(0, site->url("/").size() - 1);
  cluster.redis_cli({"DEL", "crawl:q:" + f + ":" + origin});
  cluster.redis_cli({"SET", "crawl:q:" + f + ":" + origin, "not a queue"});
  cluster.redis_cli({"HSET", "crawl:job:" + g + ":stats", "done", "abc"});
  // E: leased by a worker that is then killed, and spoilt before its leases are reaped.
  const std::size_t w1 = cluster.start_worker("w1");
  const std::string e =
      submit(cluster, {slow->url("/"), "--delay", "0", "--host-concurrency", "4"});
  ASSERT_TRUE(wait_until([&] { return cluster.counters(e)["in_flight"] >= 2; }, 20s))
      << read_text(cluster.worker_log("w1"));
  cluster.worker(w1).stop(5s, SIGKILL);
  cluster.redis_cli({"HSET", "crawl:job:" + e + ":stats", "in_flight", "lots"});
  cluster.start_worker("w2");
  const std::string b =
      submit(cluster, {site->url("/"), "--delay", "0", "--host-concurrency", "2"});
  ASSERT_TRUE(cluster.wait_finished(b, 30s));
  EXPECT_EQ(cluster.counters(b).at("done"), 21);
  // w1's leases of E were reaped, and wait uncounted in the delayed set.
  ASSERT_TRUE(wait_until(
      [&] {
        return cluster.redis_cli({"LLEN", "crawl:inflight:w1"}) == "0\n";
      },
      20s));
  EXPECT_NE(cluster.redis_cli({"ZCARD", "crawl:delayed"}), "0\n");
  EXPECT_EQ(cluster.redis_cli({"HGET", "crawl:site:" + origin, "busy"}), "0\n");

  CommandResult r = cluster.crawlctl({"status", "--json"});
  ASSERT_EQ(r.rc == 2, false) << r.err;
  const auto s = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(s.is_object()) << r.out << r.err;
  std::map<std::string, nlohmann::json> jobs;
  for (const auto& j : s["jobs"]) jobs[j["id"].get<std::string>()] = j;
  ASSERT_EQ(jobs.size(), 7u) << s.dump(2);
  EXPECT_EQ(jobs[b]["state"], "finished");
  for (const auto& [id, why] : std::map<std::string, std::string>{
           {a, "counter queued of crawl:job:" + a + ":stats is not a whole number"},
           {c, "crawl:sched:" + c + " holds a string, not a zset"},
           {d, "crawl:job:" + d + " is missing"},
           {f, "crawl:q:" + f + ":" + origin + " holds a string, not a list"},
           {g, "counter done of crawl:job:" + g + ":stats is not a whole number"},
           {e, "counter in_flight of crawl:job:" + e + ":stats is not a whole number"}}) {
    EXPECT_EQ(jobs[id]["state"], "broken") << id;
    EXPECT_NE(jobs[id].value("problem", "").find(why), std::string::npos)
        << id << ": " << jobs[id].dump();
  }
  r = cluster.crawlctl({"status", d});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("no job '" + d + "'"), std::string::npos) << r.err;

  // Repaired and resumed, A is crawled to the end, and E too, with the leases it held when it
  // broke counted as queued all along: its counters balance.
  cluster.redis_cli({"HSET", "crawl:job:" + a + ":stats", "queued", "1"});
  ASSERT_EQ(cluster.crawlctl({"resume", a}).rc, 0);
  ASSERT_TRUE(cluster.wait_finished(a, 30s));
  EXPECT_EQ(cluster.counters(a).at("done"), 21);
  expect_balanced(cluster.counters(a));
  const std::string e_stats = cluster.redis_cli({"HGETALL", "crawl:job:" + e + ":stats"});
  const auto c_e = cluster.counters(e);  // "lots" reads as 0: set it to what it should be
  cluster.redis_cli({"HSET", "crawl:job:" + e + ":stats", "in_flight", "0"});
  ASSERT_EQ(cluster.crawlctl({"resume", e}).rc, 0);
  ASSERT_TRUE(cluster.wait_finished(e, 60s))
      << e_stats << cluster.redis_cli({"HGETALL", "crawl:job:" + e + ":stats"})
      << cluster.redis_cli({"HGET", "crawl:job:" + e, "broken"})
      << cluster.redis_cli({"ZRANGE", "crawl:delayed", "0", "-1", "WITHSCORES"})
      << cluster.redis_cli({"ZRANGE", "crawl:due", "0", "-1", "WITHSCORES"})
      << read_text(cluster.worker_log("w2"));
  EXPECT_EQ(cluster.counters(e).at("done"), 21);
  expect_balanced(cluster.counters(e));
}

// A key of ours holding the wrong type is an error that names the key, logged at a bounded rate,
// and stops nothing else. With P:wake a string, an idle worker spun before (about 20,000 Redis
// commands a second and 29 MB of log in 10 s) and every submit failed in end_submit; now the
// worker sleeps between claims instead of blocking on it, and jobs are submitted and crawled.
TEST(Politeness, AWakeKeyOfTheWrongTypeStopsNothing) {
  auto site = link_site(20, 0ms);
  CrawlCluster cluster(unused_site());
  cluster.redis_cli({"SET", "crawl:wake", "not a list"});
  cluster.start_worker("w1");
  auto commands = [&] {
    const std::string info = cluster.redis_cli({"INFO", "stats"});
    const std::size_t at = info.find("total_commands_processed:");
    return at == std::string::npos ? -1 : std::stoll(info.substr(at + 25));
  };
  ASSERT_TRUE(wait_until(
      [&] {
        return cluster.redis_cli({"EXISTS", "crawl:worker:w1"}) == "1\n";
      },
      10s));
  const long long before = commands();
  std::this_thread::sleep_for(3s);  // a rate is measured over a while
  const long long idle = commands() - before;
  std::fprintf(stderr, "an idle worker: %lld Redis commands in 3 s\n", idle);
  EXPECT_LT(idle, 600);
  const std::string job = submit(cluster, {site->url("/"), "--delay", "0"});
  ASSERT_TRUE(cluster.wait_finished(job, 30s));
  EXPECT_EQ(cluster.counters(job).at("done"), 21);
  const std::string log = read_text(cluster.worker_log("w1"));
  const std::size_t named = occurrences(log, "crawl:wake");
  EXPECT_GE(named, 1u) << log;
  EXPECT_LE(named, 3u) << "one line every 10 s at most\n" << log;
}

// A page of 20,000 links and 20,000 images, crawled at --depth 0: before the cap, every link
// became a result record (filtered:depth). Now 6,000 of each are kept, the rest counted.
TEST(Flood, APageOfManyLinksCostsRedisABoundedAmount) {
  auto site = link_site(0, 0ms, [](const HttpRequest& r) -> std::optional<HttpReply> {
    if (r.target != "/") return std::nullopt;
    std::string page = "<title>many</title>";
    for (int i = 0; i < 20000; ++i)
      page += "<a href=\"/l/" + std::to_string(i) + "\">l</a><img src=\"/i/" + std::to_string(i) +
              ".png\">";
    return http_reply(200, page);
  });
  CrawlCluster cluster(unused_site());
  cluster.start_worker("w1");
  const std::string job = submit(cluster, {site->url("/"), "--depth", "0"});
  ASSERT_TRUE(cluster.wait_finished(job, 60s));
  const auto c = cluster.counters(job);
  EXPECT_EQ(c.at("done"), 1);
  EXPECT_EQ(c.at("filtered"), 6000) << "the links kept, each recorded as too deep";
  EXPECT_EQ(c.at("dropped:links"), 14000);
  EXPECT_EQ(c.at("dropped:images"), 14000);
  const std::string results = cluster.results(job);
  EXPECT_EQ(std::count(results.begin(), results.end(), '\n'), 6001);
  nlohmann::json record;
  std::istringstream lines(results);
  for (std::string line; std::getline(lines, line);)
    if (auto j = nlohmann::json::parse(line); j["url"] == site->url("/")) record = j;
  ASSERT_TRUE(record.is_object());
  EXPECT_EQ(record["links_dropped"], 14000);
  EXPECT_EQ(record["images_dropped"], 14000);
  EXPECT_EQ(record["images"].size(), 6000u);
  EXPECT_EQ(record["links"], 20000) << "links found on the page, before the cap";
}

}  // namespace
}  // namespace crawl::testing
