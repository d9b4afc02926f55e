// Whole crawls of the test site by real crawlworker processes, driven with crawlctl, checked
// against the manifest: exactly, and after workers are killed and Redis restarts.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "crawl_checks.hpp"
#include "crawl_cluster.hpp"
#include "http_server.hpp"
#include "queue/queue.hpp"
#include "warc/index.hpp"
#include "warc/warc.hpp"
#include "warcio.hpp"

namespace crawl::testing {
namespace {

// `crawlctl submit` of these seeds and options (at a short delay: the sites are the tests'
// own), waited out; the job's id.
std::string crawl_to_end(CrawlCluster& cluster, std::vector<std::string> seeds,
                         const std::vector<std::string>& options) {
  std::vector<std::string> args{"submit"};
  args.insert(args.end(), seeds.begin(), seeds.end());
  args.insert(args.end(), {"--quiet", "--delay", "50ms"});
  args.insert(args.end(), options.begin(), options.end());
  const CommandResult r = cluster.crawlctl(args);
  EXPECT_EQ(r.rc, 0) << r.err;
  const std::string job = r.out.substr(0, r.out.find('\n'));
  EXPECT_TRUE(cluster.wait_finished(job));
  return job;
}

// A job's records by URL.
std::map<std::string, nlohmann::json> records_by_url(CrawlCluster& cluster,
                                                     const std::string& job) {
  std::map<std::string, nlohmann::json> records;
  const std::string results = cluster.results(job);
  for (std::size_t at = 0; at < results.size();) {
    const std::size_t end = results.find('\n', at);
    auto record = nlohmann::json::parse(results.substr(at, end - at));
    const std::string url = record["url"].get<std::string>();
    records[url] = std::move(record);
    at = end == std::string::npos ? results.size() : end + 1;
  }
  return records;
}

TEST(Crawl, TwoWorkersCrawlTheSiteExactlyAsTheManifestSays) {
  CrawlCluster cluster(test_site_options(300));
  cluster.start_worker("w1");
  cluster.start_worker("w2");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(cluster.wait_finished(job)) << read_text(cluster.worker_log("w1"));
  expect_results_match_manifest(cluster, job);
  expect_counters_match(cluster.counters(job), cluster.site().manifest());
  // Both workers took part.
  for (const char* w : {"w1", "w2"})
    EXPECT_NE(cluster.results(job).find(std::string("\"worker\":\"") + w + "\""), std::string::npos)
        << w;
}

TEST(Crawl, AKilledWorkersUrlsAreCrawledByTheOther) {
  CrawlCluster cluster(test_site_options(1500));
  const std::size_t victim = cluster.start_worker("victim");
  cluster.start_worker("survivor");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= 150; }, 60s));
  cluster.worker(victim).stop(0ms, SIGKILL);  // kill -9: its leases are stranded in Redis
  ASSERT_TRUE(cluster.wait_finished(job)) << read_text(cluster.worker_log("survivor"));
  expect_results_match_manifest(cluster, job);
  expect_counters_match(cluster.counters(job), cluster.site().manifest());
  // The victim held leases when it died; they came back, or the job would not have finished
  // exactly. Who returned them is a race: the survivor's sweep, or `crawlctl wait` and `status`
  // (above), which return a dead worker's leases as soon as they see it.
}

TEST(Crawl, RedisRestartMidCrawlLosesNothing) {
  CrawlCluster cluster(test_site_options(1500));
  cluster.start_worker("w1");
  cluster.start_worker("w2");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= 150; }, 60s));
  cluster.redis().restart();  // SIGTERM: Redis writes its AOF and comes back on the same port
  ASSERT_TRUE(cluster.wait_finished(job)) << read_text(cluster.worker_log("w1"));
  expect_results_match_manifest(cluster, job);
  expect_counters_match(cluster.counters(job), cluster.site().manifest());
  // The workers saw the server go and came back to it.
  for (const char* w : {"w1", "w2"}) {
    const std::string log = read_text(cluster.worker_log(w));
    EXPECT_NE(log.find("event=redis_error"), std::string::npos) << w;
    EXPECT_NE(log.find("event=redis_connected", log.find("event=redis_error")), std::string::npos)
        << w;
  }
}

// The harder case: Redis dies (SIGKILL) and comes back having lost its last writes, as after a
// power cut with `appendfsync everysec`. The AOF is copied mid-crawl and put back after the
// kill, so the server returns to a state some seconds old: pages recorded since are unrecorded,
// their links unseen, claims unmade. Workers hold leases and outcomes Redis no longer knows, and
// Redis holds leases the workers have finished with; the job must still end exactly as the
// manifest says.
TEST(Crawl, RedisThatLostItsLastWritesLosesNoPage) {
  CrawlCluster cluster(test_site_options(1500));
  cluster.start_worker("w1");
  cluster.start_worker("w2");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= 150; }, 60s));
  const std::filesystem::path aof = std::filesystem::path(cluster.redis().dir()) / "appendonlydir";
  const std::filesystem::path saved = std::filesystem::path(cluster.redis().dir()) / "aof-then";
  std::filesystem::copy(aof, saved, std::filesystem::copy_options::recursive);
  const long long done_then = cluster.counters(job)["done"];
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= done_then + 200; }, 60s));
  cluster.redis().kill_hard();
  std::filesystem::remove_all(aof);
  std::filesystem::rename(saved, aof);
  cluster.redis().start();
  const long long done_after = cluster.counters(job)["done"];
  EXPECT_LT(done_after, done_then + 200) << "the server did not go back in time";
  ASSERT_TRUE(cluster.wait_finished(job)) << read_text(cluster.worker_log("w1"));
  expect_results_match_manifest(cluster, job);
  expect_counters_match(cluster.counters(job), cluster.site().manifest());
  // The workers found leases they did not know of and crawled them again, or found theirs gone,
  // or a worker's reaper returned them first: the heartbeats put back with the old state had
  // expired by then (1.5 s TTLs, a state some seconds old), so the workers they named were dead
  // until they beat again, and which comes first is the machine's timing.
  std::string logs = read_text(cluster.worker_log("w1")) + read_text(cluster.worker_log("w2"));
  EXPECT_TRUE(logs.find("event=reconciled adopted=") != std::string::npos ||
              logs.find("event=stale_outcomes") != std::string::npos ||
              logs.find("event=reaped_dead_workers") != std::string::npos)
      << logs.substr(0, 4000);
}

TEST(Crawl, SigtermDrainsAndHandsBackLeases) {
  CrawlCluster cluster(test_site_options(1500));
  const std::size_t leaving = cluster.start_worker("leaving");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= 100; }, 60s));
  cluster.worker(leaving).stop(15s, SIGTERM);
  ASSERT_TRUE(cluster.worker(leaving).exit_status());
  EXPECT_TRUE(WIFEXITED(*cluster.worker(leaving).exit_status()));
  EXPECT_EQ(WEXITSTATUS(*cluster.worker(leaving).exit_status()), 0);
  // Nothing is leased any more: what it had not finished is queued again.
  const auto after = cluster.counters(job);
  EXPECT_EQ(after.at("in_flight"), 0);
  EXPECT_GT(after.at("queued"), 0);
  EXPECT_NE(read_text(cluster.worker_log("leaving")).find("event=stopped"), std::string::npos);
  cluster.start_worker("finisher");
  ASSERT_TRUE(cluster.wait_finished(job));
  expect_results_match_manifest(cluster, job);
}

// A per-host delay holds across the fleet: requests from two workers to one host are spaced by
// the delay, as nginx's own log of arrival times shows.
TEST(Crawl, PolitenessDelayIsClusterWide) {
  CrawlCluster cluster(test_site_options(20), 16, {.workers = 1, .access_log = true});
  cluster.start_worker("p1");
  cluster.start_worker("p2");
  const std::string job = cluster.submit_root({"--delay", "150ms"});
  ASSERT_TRUE(cluster.wait_finished(job));
  std::vector<double> times;
  std::istringstream log(read_text(cluster.site().access_log()));
  std::string line;
  while (std::getline(log, line)) {
    if (line.find("/robots.txt") != std::string::npos) continue;  // fetched outside the slots
    std::istringstream fields(line);
    double ended = 0, took = 0;
    fields >> ended >> took;
    times.push_back(ended - took);  // when the request arrived
  }
  ASSERT_GT(times.size(), 30u);
  std::sort(times.begin(), times.end());
  double smallest = 1e9;
  for (std::size_t i = 1; i < times.size(); ++i)
    smallest = std::min(smallest, times[i] - times[i - 1]);
  // Slots are reserved one after the other in Redis, 150 ms apart, and a request never leaves
  // before its slot: n requests span at least (n - 1) x 150 ms, however late some of them leave
  // on a loaded machine (a late one narrows its gap to the next: 66 ms was seen with two busy
  // loops beside the suite). Without the shared slots, two workers with 16 transfers each would
  // send them all within a few milliseconds.
  const double span = times.back() - times.front();
  EXPECT_GE(span, 0.150 * static_cast<double>(times.size() - 1) - 0.100)
      << times.size() << " requests";
  EXPECT_GE(smallest, 0.030) << times.size() << " requests";
  expect_results_match_manifest(cluster, job);
}

// Credentials written into a link are neither sent (as Basic auth) nor stored in the results; a
// seed with credentials is refused.
TEST(Crawl, CredentialsInALinkAreNeitherSentNorStored) {
  std::mutex mutex;
  std::vector<std::string> heads;
  std::unique_ptr<HttpServer> server;
  server = std::make_unique<HttpServer>([&](const HttpRequest& r) {
    {
      std::lock_guard lock(mutex);
      heads.push_back(r.head);
    }
    if (r.target == "/robots.txt") return http_reply(404, "", "text/plain");
    if (r.target == "/")
      return http_reply(
          200, "<a href=\"http://alice:s3cret@127.0.0.1:" + std::to_string(server->port()) +
                   "/private\">in</a> <a href=\"//bob@127.0.0.1:" + std::to_string(server->port()) +
                   "/other\">in</a>");
    return http_reply(200, "<title>" + r.target + "</title>");
  });
  CrawlCluster cluster(test_site_options(20));
  cluster.start_worker("u1");
  CommandResult r = cluster.crawlctl({"submit", server->url("/"), "--quiet"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string job = r.out.substr(0, r.out.find('\n'));
  ASSERT_TRUE(cluster.wait_finished(job));
  const std::string results = cluster.results(job);
  EXPECT_EQ(results.find("s3cret"), std::string::npos) << results;
  EXPECT_EQ(results.find("alice"), std::string::npos) << results;
  EXPECT_EQ(results.find("bob@"), std::string::npos) << results;
  EXPECT_NE(results.find("\"url\":\"" + server->url("/private") + "\""), std::string::npos)
      << results;
  EXPECT_NE(results.find("\"url\":\"" + server->url("/other") + "\""), std::string::npos)
      << results;
  {
    std::lock_guard lock(mutex);
    for (const auto& head : heads) EXPECT_EQ(head.find("Authorization"), std::string::npos) << head;
  }
  r = cluster.crawlctl(
      {"submit", "http://carol:pw@127.0.0.1:" + std::to_string(server->port()) + "/"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("credentials in a URL are not supported"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("carol:pw"), std::string::npos)
      << "the seed's password was echoed: " << r.err;
}

// A job's URL rules: with --sort-query and --strip-query, the links that differ only in their
// parameters' order, in tracking parameters or in a session id are one URL, fetched once; the
// seeds follow the same rules. Without them (the default), each is a URL of its own.
TEST(Crawl, SortQueryAndStripQueryFetchEachPageOnce) {
  std::mutex mutex;
  std::map<std::string, int> hits;
  HttpServer server([&](const HttpRequest& r) {
    {
      std::lock_guard lock(mutex);
      ++hits[r.target];
    }
    if (r.target == "/robots.txt") return http_reply(404, "", "text/plain");
    if (r.target == "/")
      return http_reply(200,
                        "<a href=\"/q?a=1&amp;b=2\">1</a> <a href=\"/q?b=2&amp;a=1\">2</a> "
                        "<a href=\"/q?b=2&amp;utm_source=mail&amp;a=1\">3</a> "
                        "<a href=\"/s;jsessionid=XYZ/p?sessionid=9&amp;x=1\">4</a> "
                        "<a href=\"/s/p?x=1\">5</a>");
    return http_reply(200, "<title>" + r.target + "</title>");
  });
  CrawlCluster cluster(test_site_options(20));
  cluster.start_worker("u1");
  const auto crawl = [&](const std::vector<std::string>& options) {
    std::set<std::string> urls;
    for (const auto& [url, record] : records_by_url(
             cluster, crawl_to_end(cluster, {server.url("/"), server.url("/q?b=2&a=1")}, options)))
      urls.insert(url);
    return urls;
  };
  const std::set<std::string> merged =
      crawl({"--sort-query", "--strip-query", "utm_.*", "--strip-query", "j?sessionid"});
  EXPECT_EQ(merged, (std::set<std::string>{server.url("/"), server.url("/q?a=1&b=2"),
                                           server.url("/s/p?x=1")}));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(hits["/q?a=1&b=2"], 1);
    EXPECT_EQ(hits["/s/p?x=1"], 1);
    for (const auto& [target, n] : hits) {
      EXPECT_EQ(target.find("utm_"), std::string::npos) << target;
      EXPECT_EQ(target.find("sessionid"), std::string::npos) << target;
      EXPECT_NE(target, "/q?b=2&a=1");
    }
    hits.clear();
  }
  const std::set<std::string> apart = crawl({});
  EXPECT_EQ(apart, (std::set<std::string>{
                       server.url("/"), server.url("/q?a=1&b=2"), server.url("/q?b=2&a=1"),
                       server.url("/q?b=2&utm_source=mail&a=1"),
                       server.url("/s;jsessionid=XYZ/p?sessionid=9&x=1"), server.url("/s/p?x=1")}));
}

// A job's parse cap: past --max-parse-bytes a page's tail is not read, its record says so and the
// job counts it (cut:size); at the default the same page is read whole.
TEST(Crawl, AJobsParseCapIsItsOwnAndPagesCutAreCounted) {
  HttpServer server([&](const HttpRequest& r) {
    if (r.target == "/robots.txt") return http_reply(404, "", "text/plain");
    if (r.target == "/")
      return http_reply(200, "<title>long</title><a href=\"/head\">h</a><p>" +
                                 std::string(100'000, 'x') + "</p><a href=\"/tail\">t</a>");
    return http_reply(200, "<title>" + r.target + "</title>");
  });
  CrawlCluster cluster(test_site_options(20));
  cluster.start_worker("u1");
  const auto crawl = [&](const std::vector<std::string>& options) {
    return crawl_to_end(cluster, {server.url("/")}, options);
  };
  std::string job = crawl({"--max-parse-bytes", "65536"});
  std::string results = cluster.results(job);
  EXPECT_NE(results.find("\"url\":\"" + server.url("/head") + "\""), std::string::npos) << results;
  EXPECT_EQ(results.find("\"url\":\"" + server.url("/tail") + "\""), std::string::npos) << results;
  EXPECT_NE(results.find("\"parse_cut\":\"size\""), std::string::npos) << results;
  EXPECT_EQ(cluster.counters(job)["cut:size"], 1);
  const CommandResult status = cluster.crawlctl({"status", job});
  EXPECT_NE(status.out.find("cut:size"), std::string::npos) << status.out;

  job = crawl({});
  results = cluster.results(job);
  EXPECT_NE(results.find("\"url\":\"" + server.url("/tail") + "\""), std::string::npos) << results;
  EXPECT_EQ(results.find("parse_cut"), std::string::npos) << results;
  EXPECT_EQ(cluster.counters(job).count("cut:size"), 0u);
}

// rel=canonical: recorded always; with --canonical, a page naming another URL admits that URL
// instead of its own links.
TEST(Crawl, CanonicalIsRecordedAndWithTheOptionFollowedInsteadOfTheLinks) {
  HttpServer server([&](const HttpRequest& r) {
    if (r.target == "/robots.txt") return http_reply(404, "", "text/plain");
    if (r.target == "/") return http_reply(200, "<a href=\"/a\">a</a>");
    if (r.target == "/a")
      return http_reply(200, "<link rel=\"canonical\" href=\"/b\"><a href=\"/c\">c</a>");
    return http_reply(200, "<title>" + r.target + "</title>");
  });
  CrawlCluster cluster(test_site_options(20));
  cluster.start_worker("u1");
  const auto crawl = [&](const std::vector<std::string>& options) {
    return records_by_url(cluster, crawl_to_end(cluster, {server.url("/")}, options));
  };
  auto plain = crawl({});
  EXPECT_EQ(plain.size(), 3u);
  EXPECT_TRUE(plain.count(server.url("/c")));
  EXPECT_FALSE(plain.count(server.url("/b")));
  EXPECT_EQ(plain[server.url("/a")].value("canonical", ""), server.url("/b"));
  auto canonical = crawl({"--canonical"});
  EXPECT_EQ(canonical.size(), 3u);
  EXPECT_TRUE(canonical.count(server.url("/b")));
  EXPECT_FALSE(canonical.count(server.url("/c")));
  EXPECT_EQ(canonical[server.url("/a")].value("canonical", ""), server.url("/b"));
}

// Sitemaps: with --sitemaps, the test site's /sitemap.xml and the index its robots.txt names
// (two gzip'd sitemaps) lead to pages no link reaches, and all are crawled; the XML bomb, the
// sitemap of 50,001 URLs and the one of 60 MB decoded are refused with the reason in their
// records. The whole crawl equals the manifest.
TEST(Crawl, SitemapsLeadToPagesNoLinkReachesAndBadOnesAreRefused) {
  SiteOptions site = test_site_options(40);
  site.sitemaps = true;
  CrawlCluster cluster(site);
  cluster.start_worker("s1");
  cluster.start_worker("s2");
  const std::string job = cluster.submit_root({"--sitemaps"});
  ASSERT_TRUE(cluster.wait_finished(job)) << read_text(cluster.worker_log("s1"));
  expect_results_match_manifest(cluster, job);
  expect_counters_match(cluster.counters(job), cluster.site().manifest());
  auto records = records_by_url(cluster, job);
  EXPECT_EQ(records[cluster.site().url("/sitemaps/index.xml")].value("sitemap", ""), "index");
  EXPECT_EQ(records[cluster.site().url("/sitemaps/a.xml.gz")].value("sitemap", ""), "urlset");
  for (const auto& [path, why] : {std::pair{"/sitemaps/bomb.xml", "DTD"},
                                  {"/sitemaps/many.xml.gz", "50,000 URLs"},
                                  {"/sitemaps/huge.xml.gz", "50,000,000 bytes"}})
    EXPECT_NE(records[cluster.site().url(path)].value("error", "").find(why), std::string::npos)
        << path << ": " << records[cluster.site().url(path)].dump();
}

// With --warc, each worker keeps every exchange of the job in its own WARC files, read back by
// warcio (a reader not of ours): every record whole with its digests right, each request beside
// its response (or, for a fetch that got none, a metadata record saying why), robots.txt kept,
// a body cut at max_body marked so (and spooled past the exchange's memory), the payload of a
// page the very bytes of the site's file, and each result record naming the file and offset of
// its response. A worker killed mid-crawl (kill -9) leaves its file open: started again, it cuts
// the file back to its last whole record and closes it. The crawl's results are the manifest's.
TEST(Crawl, WarcKeepsEachExchangeAsItCameAndRecordsPointIntoIt) {
  CrawlCluster cluster(test_site_options(300));
  const std::size_t victim = cluster.start_worker("w1");
  cluster.start_worker("w2");
  const std::string job = cluster.submit_root({"--warc"});
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= 60; }, 60s));
  cluster.worker(victim).stop(0ms, SIGKILL);
  cluster.start_worker("w1");
  ASSERT_TRUE(cluster.wait_finished(job)) << read_text(cluster.worker_log("w2"));
  expect_results_match_manifest(cluster, job);
  for (std::size_t i = 0; i < 3; ++i) cluster.worker(i).stop();  // their files close
  EXPECT_NE(read_text(cluster.worker_log("w1")).find("event=warc_recovered"), std::string::npos);

  const std::regex name("job" + job + R"(-[0-9]{17}-[0-9]{5}-w[12]\.warc\.gz)");
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(cluster.warc_dir())) {
    const std::string file = e.path().filename().string();
    EXPECT_TRUE(std::regex_match(file, name)) << file;
    files.push_back(e.path().string());
  }
  ASSERT_GE(files.size(), 3u);  // w1 before and after its kill, and w2
  TempDir scratch("warc-read");
  const auto warc = read_with_warcio(files, scratch);
  std::map<std::pair<std::string, std::uint64_t>, nlohmann::json> at;  // (file, offset)
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& r : warc) {
    EXPECT_TRUE(r["block_ok"].get<bool>()) << r.dump();
    if (r["type"] == "response") {
      EXPECT_TRUE(r["payload_ok"].get<bool>()) << r.dump();
    }
    const std::string file = std::filesystem::path(r["file"].get<std::string>()).filename();
    at[{file, r["offset"].get<std::uint64_t>()}] = r;
    by_id[r["id"].get<std::string>()] = r;
  }
  // Each request is its response's (or metadata's), in the same file.
  std::size_t requests = 0, metadata = 0;
  for (const auto& r : warc) {
    if (r["type"] == "metadata") ++metadata;
    if (r["type"] != "request") continue;
    ++requests;
    auto it = by_id.find(r["concurrent_to"].get<std::string>());
    ASSERT_NE(it, by_id.end()) << r.dump();
    EXPECT_EQ(it->second["file"], r["file"]);
    EXPECT_EQ(it->second["uri"], r["uri"]);
  }
  EXPECT_GT(requests, 300u);
  EXPECT_GE(metadata, 1u) << "the slow page's timeout came with no response";
  bool robots = false;
  for (const auto& r : warc)
    robots = robots || (r["type"] == "response" && r["uri"] == cluster.site().url("/robots.txt"));
  EXPECT_TRUE(robots);

  // Each record of a fetch names its response (or metadata) record.
  std::size_t pages_checked = 0, truncated = 0;
  for (const auto& [url, record] : records_by_url(cluster, job)) {
    // Not fetched (filtered before a request, or failed with its site given up on): no records.
    if (!record.contains("warc_file")) {
      EXPECT_EQ(record.value("status", 0), 0) << record.dump();
      continue;
    }
    auto it = at.find(
        {record["warc_file"].get<std::string>(), record["warc_offset"].get<std::uint64_t>()});
    ASSERT_NE(it, at.end()) << record.dump();
    const nlohmann::json& w = it->second;
    // (A redirect not followed names its target as final_url: its response is the redirect's.)
    const int status = record.value("status", 0);
    if (status < 300 || status > 399) {
      EXPECT_EQ(w["uri"], record["final_url"]) << record.dump();
    }
    if (record["status"].get<int>() == 0) {
      EXPECT_EQ(w["type"], "metadata") << record.dump();
      continue;
    }
    EXPECT_EQ(w["type"], "response") << record.dump();
    EXPECT_EQ(w["http_status"], record["status"]) << record.dump();
    EXPECT_EQ(w["ip"], "127.0.0.1");
    if (record["outcome"] == "failed" && record["reason"] == "timeout") {
      EXPECT_EQ(w["truncated"], "time") << record.dump();  // the trickling page
      continue;
    }
    if (record.value("truncated", false)) {
      ++truncated;
      EXPECT_EQ(w["truncated"], "length") << record.dump();
      continue;
    }
    // The payload is the site's file, byte for byte.
    const std::string path =
        record["final_url"].get<std::string>().substr(cluster.site().url("").size());
    const std::string file = cluster.site().www_dir() + path;
    if (record["status"] == 200 && path.ends_with(".html") &&
        std::filesystem::is_regular_file(file)) {
      EXPECT_EQ(w["payload_digest"], warc::sha1_digest(read_text(file))) << path;
      ++pages_checked;
    }
  }
  EXPECT_GT(pages_checked, 250u);
  EXPECT_GE(truncated, 1u) << "/big.html is cut at max_body";

  // The CDXJ index of the files is warcio's, line for line.
  std::vector<std::string> ours;
  for (const std::string& file : files) {
    auto lines = warc::cdxj_lines(file, std::filesystem::path(file).filename().string());
    ASSERT_TRUE(lines) << lines.error().message;
    ours.insert(ours.end(), lines->begin(), lines->end());
  }
  std::sort(ours.begin(), ours.end());
  std::string text;
  for (const std::string& line : ours) text += line + "\n";
  EXPECT_EQ(text, warcio_cdxj(files, scratch));
  EXPECT_GT(ours.size(), 300u);
}

// Every key a crawl leaves (mid-crawl, after it, after a cancel) is one that queue::Keys names:
// the Lua scripts build their names from the prefix as Keys does, and nothing else writes.
TEST(Crawl, EveryKeyItLeavesIsOneKeysNames) {
  const queue::Keys k;
  // Keys' names with markers in their parameters, as patterns: a marker stands for one or more
  // characters (sites have ':' in them); a seen bucket ends in 4 hex digits.
  const std::string j = "\x01", s = "\x02", w = "\x03";
  const std::vector<std::string> names{k.job_seq(),
                                       k.jobs(),
                                       k.job(j),
                                       k.stats(j),
                                       k.records(j),
                                       k.seeds(j),
                                       k.seen_prefix(j) + "\x04",
                                       k.rate(j),
                                       k.submitter(j),
                                       k.queue(j, s),
                                       k.sites(j),
                                       k.schedule(j),
                                       k.blocked(j),
                                       k.backoff(j),
                                       k.due(),
                                       k.loading(),
                                       k.delayed(),
                                       k.dead_letter(),
                                       k.dead_letters(),
                                       k.wake(),
                                       k.inflight(w),
                                       k.site(s),
                                       k.site(s) + ":waiting",
                                       k.robots(s),
                                       k.robots_lock(s),
                                       k.workers(),
                                       k.dead_workers(),
                                       k.worker(w),
                                       k.alive(w),
                                       k.reaper()};
  std::vector<std::regex> patterns;
  for (const std::string& name : names) {
    std::string re;
    for (char c : name) {
      if (c == '\x01')
        re += "[0-9]+";
      else if (c == '\x02')
        re += "https?://.+";
      else if (c == '\x03')
        re += ".+";
      else if (c == '\x04')
        re += "[0-9a-f]{4}";
      else if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos)
        re += std::string("\\") + c;
      else
        re += c;
    }
    patterns.emplace_back(re);
  }
  CrawlCluster cluster(test_site_options(40));
  auto check_keys = [&](const char* when) {
    std::istringstream keys(cluster.redis_cli({"--scan"}));
    std::size_t n = 0;
    for (std::string key; std::getline(keys, key);) {
      ++n;
      const bool named = std::any_of(patterns.begin(), patterns.end(),
                                     [&](const std::regex& p) { return std::regex_match(key, p); });
      EXPECT_TRUE(named) << when << ": " << key;
    }
    EXPECT_GT(n, 0u) << when;
  };
  cluster.start_worker("w1");
  cluster.start_worker("w2");
  // A job crawled slowly, looked at while its site queue, schedule and leases exist.
  const std::string slow = cluster.submit_root({"--delay", "300ms"});
  ASSERT_TRUE(wait_until([&] { return cluster.counters(slow)["done"] >= 3; }, 30s));
  check_keys("mid-crawl");
  const std::string fast = cluster.submit_root({"--delay", "0", "--host-concurrency", "8"});
  ASSERT_TRUE(cluster.wait_finished(fast, 60s));
  CommandResult cancelled = cluster.crawlctl({"cancel", slow});
  ASSERT_EQ(cancelled.rc, 0) << cancelled.err;
  ASSERT_TRUE(wait_until([&] { return cluster.counters(slow)["in_flight"] == 0; }, 30s));
  check_keys("after a crawl and a cancel");
}

}  // namespace
}  // namespace crawl::testing
