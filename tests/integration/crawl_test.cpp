// Whole crawls of the test site by real crawlworker processes, driven with crawlctl, checked
// against the manifest: exactly, and after workers are killed and Redis restarts.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "crawl_cluster.hpp"
#include "http_server.hpp"
#include "queue/queue.hpp"

namespace crawl::testing {
namespace {

SiteOptions site(int pages) {
  SiteOptions o;
  o.pages = pages;
  o.body_cap = 256u << 10;
  return o;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size() && i < 40; ++i) out += lines[i] + "\n";
  return out;
}

// The job's records agree with the manifest, URL by URL.
void expect_results_match_manifest(CrawlCluster& cluster, const std::string& job) {
  const auto problems = compare_with_manifest(cluster.results(job), cluster.site().manifest());
  EXPECT_TRUE(problems.empty()) << problems.size() << " differences:\n" << join(problems);
}

// Every admitted URL is in exactly one state, and the terminal counts match the manifest.
void expect_counters_match(const std::map<std::string, long long>& c, const Manifest& m) {
  std::map<std::string, long long> want;
  for (const auto& e : m.entries) {
    ++want[e.expect];
    ++want[e.expect + ":" + e.reason];
  }
  auto get = [&](const std::string& k) {
    auto it = c.find(k);
    return it == c.end() ? 0 : it->second;
  };
  EXPECT_EQ(get("submitted"), static_cast<long long>(m.entries.size()));
  EXPECT_EQ(get("queued"), 0);
  EXPECT_EQ(get("in_flight"), 0);
  EXPECT_EQ(get("submitted"),
            get("queued") + get("in_flight") + get("done") + get("failed") + get("filtered"));
  for (const char* k : {"done", "failed", "filtered", "failed:http_404", "failed:timeout",
                        "failed:redirect_loop", "filtered:offsite", "filtered:robots"})
    EXPECT_EQ(get(k), want[k]) << k;
}

TEST(Crawl, TwoWorkersCrawlTheSiteExactlyAsTheManifestSays) {
  CrawlCluster cluster(site(300));
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
  CrawlCluster cluster(site(1500));
  const std::size_t victim = cluster.start_worker("victim");
  cluster.start_worker("survivor");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= 150; }, 60s));
  cluster.worker(victim).stop(0ms, SIGKILL);  // kill -9: its leases are stranded in Redis
  ASSERT_TRUE(cluster.wait_finished(job)) << read_text(cluster.worker_log("survivor"));
  expect_results_match_manifest(cluster, job);
  expect_counters_match(cluster.counters(job), cluster.site().manifest());
  // The victim held leases when it died, and the survivor's reaper returned them.
  EXPECT_NE(read_text(cluster.worker_log("survivor")).find("event=reaped_dead_workers returned="),
            std::string::npos);
}

TEST(Crawl, RedisRestartMidCrawlLosesNothing) {
  CrawlCluster cluster(site(1500));
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
  CrawlCluster cluster(site(1500));
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
  // The workers found leases they did not know of and crawled them again, or found theirs gone.
  std::string logs = read_text(cluster.worker_log("w1")) + read_text(cluster.worker_log("w2"));
  EXPECT_TRUE(logs.find("event=reconciled adopted=") != std::string::npos ||
              logs.find("event=stale_outcomes") != std::string::npos);
}

TEST(Crawl, SigtermDrainsAndHandsBackLeases) {
  CrawlCluster cluster(site(1500));
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
  CrawlCluster cluster(site(20), 16, {.workers = 1, .access_log = true});
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

// Bad seed lines are reported with their place; the good ones make the job.
TEST(Submit, ReportsBadLinesByNumberAndQueuesTheRest) {
  RedisServer redis;
  TempDir dir("submit");
  write_text(dir / "seeds.txt",
             "# seeds\nhttp://a.example/\nftp://files.example/x\n\nHTTP://B.EXAMPLE:80/x#frag\n"
             "not a url\nhttp://a.example/\n");
  CommandResult r = run_program(CRAWLCTL,
                                {"submit", "-f", dir / "seeds.txt", "http://c.example/",
                                 "javascript:void(0)", "--redis", redis.url()},
                                dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");  // the job id, alone on stdout
  const std::string file = dir / "seeds.txt";
  EXPECT_NE(r.err.find(file + ":3: 'ftp://files.example/x' is not a crawlable URL (not_http)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(file + ":6: 'not a url' is not a crawlable URL (malformed)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("argument 2: 'javascript:void(0)' is not a crawlable URL (not_http)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("job 1: 3 seed URLs queued, 1 duplicates, 3 bad lines skipped"),
            std::string::npos)
      << r.err;
  r = run_program(CRAWLCTL, {"status", "1", "--json", "--redis", redis.url()}, dir);
  ASSERT_EQ(r.rc, 4) << r.err;  // URLs queued and no worker alive

  EXPECT_NE(r.out.find("\"submitted\": 3"), std::string::npos) << r.out;
  // A NUL or control byte refuses the line (it would cut the URL short); the line is echoed
  // escaped, so it cannot drive the terminal. One pattern per --deny: the URL after it is a seed.
  write_text(
      dir / "hostile.txt",
      std::string("http://d.example/ok\nhttp://e.example/\0evil\nhttp://f.example/\x1b[2Jx\n", 66));
  r = run_program(CRAWLCTL,
                  {"submit", "-f", dir / "hostile.txt", "--deny", "/private", "http://g.example/",
                   "--redis", redis.url()},
                  dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(
      r.err.find(dir / "hostile.txt" +
                 ":2: 'http://e.example/\\x00evil' is not a crawlable URL (control character)"),
      std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find(":3: 'http://f.example/\\x1b[2Jx' is not a crawlable URL (control character)"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << "an escape sequence reached the terminal";
  EXPECT_NE(r.err.find("2 seed URLs queued, 0 duplicates, 2 bad lines skipped"), std::string::npos)
      << r.err;
  EXPECT_EQ(run_program("redis-cli",
                        {"-p", std::to_string(redis.port()), "HGET", "crawl:job:2", "deny"}, dir)
                .out,
            "[\"/private\"]\n");
  // A password on the command line works, with a warning: ps shows it.
  r = run_program(
      CRAWLCTL,
      {"status", "--redis", "redis://:secret@127.0.0.1:" + std::to_string(redis.port()) + "/0"},
      dir);
  EXPECT_NE(r.err.find("warning: the password in --redis is visible to every user"),
            std::string::npos)
      << r.err;
  // Nothing valid at all: no job is created.
  write_text(dir / "bad.txt", "mailto:x@example.org\n");
  r = run_program(CRAWLCTL, {"submit", "-f", dir / "bad.txt", "--redis", redis.url()}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("no valid seed URL"), std::string::npos) << r.err;
}

// Seeds from stdin, the job's options from flags, and a progress line for a large input.
TEST(Submit, ReadsStdinTakesJobOptionsAndReportsProgress) {
  RedisServer redis;
  TempDir dir("submit");
  std::string seeds;
  for (int i = 0; i < 120000; ++i)
    seeds += "http://h" + std::to_string(i % 50) + ".example/p" + std::to_string(i) + "\n";
  seeds += "bad line\n";
  write_text(dir / "seeds.txt", seeds);
  CommandResult r = run_program(
      "sh",
      {"-c",
       "exec \"$0\" submit -f - --name big --scope domain --depth 3 --max-pages 100000 "
       "--allow '^http://h[0-9]+\\.example/' --deny '/p7$' --delay 250ms --no-robots --retries 4 "
       "--redis \"$1\" <\"$2\"",
       CRAWLCTL, redis.url(), dir / "seeds.txt"},
      dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  EXPECT_NE(r.err.find("stdin:120001: 'bad line' is not a crawlable URL"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("submitting: 120000/120000 URLs\n"), std::string::npos) << r.err;
  // 120,000 valid seeds; the page budget admits 100,000 of them.
  EXPECT_NE(r.err.find("job 1: 100000 seed URLs queued, 0 duplicates, 1 bad lines skipped, 20000 "
                       "over --max-pages\n"),
            std::string::npos)
      << r.err;
  // redis-cli prints a field and its value a line each when its output is not a terminal.
  r = run_program("redis-cli", {"-p", std::to_string(redis.port()), "HGETALL", "crawl:job:1"}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::map<std::string, std::string> job;
  std::istringstream lines(r.out);
  for (std::string key, value; std::getline(lines, key) && std::getline(lines, value);)
    job[key] = value;
  EXPECT_EQ(job["name"], "big");
  EXPECT_EQ(job["scope"], "domain");
  EXPECT_EQ(job["max_depth"], "3");
  EXPECT_EQ(job["max_pages"], "100000");
  EXPECT_EQ(job["delay_ms"], "250");
  EXPECT_EQ(job["respect_robots"], "0");
  EXPECT_EQ(job["max_retries"], "4");
  EXPECT_NE(job["allow"].find("h[0-9]+"), std::string::npos) << job["allow"];
  EXPECT_NE(job["deny"].find("/p7$"), std::string::npos) << job["deny"];
}

// Redis killed in the middle of a large submit: the job stays marked submitting (never a job
// that looks whole), submit says how far it got and how to finish, status flags the job, and
// the re-run into the same job adds exactly what is missing.
TEST(Submit, ACutShortSubmitSaysHowFarItGotAndARerunIntoTheJobFinishesIt) {
  RedisServer redis(RedisOptions{.append_only = true, .password = ""});
  TempDir dir("submit");
  constexpr int k_seeds = 600'000;
  std::string seeds;
  for (int i = 0; i < k_seeds; ++i)
    seeds += "http://h" + std::to_string(i % 1000) + ".example/p" + std::to_string(i) + "\n";
  write_text(dir / "seeds.txt", seeds);
  const std::string log = dir / "submit.log";
  Process submit(
      SpawnOptions{{CRAWLCTL, "submit", "-f", dir / "seeds.txt", "--redis", redis.url()}, log, {}});
  auto submitted = [&]() -> long long {
    CommandResult r = run_program(
        "redis-cli", {"-p", std::to_string(redis.port()), "HGET", "crawl:job:1:stats", "submitted"},
        dir);
    return r.rc == 0 && !r.out.empty() && r.out != "\n" ? std::atoll(r.out.c_str()) : -1;
  };
  ASSERT_TRUE(wait_until([&] { return submitted() > 0; }, 30s)) << read_text(log);
  redis.kill_hard();
  submit.stop(30s, 0);  // signal 0: only wait for it to exit
  ASSERT_TRUE(submit.exit_status());
  EXPECT_TRUE(WIFEXITED(*submit.exit_status()) && WEXITSTATUS(*submit.exit_status()) == 1)
      << read_text(log);
  const std::string said = read_text(log);
  EXPECT_NE(said.find("job 1 is incomplete: Redis acknowledged "), std::string::npos) << said;
  EXPECT_NE(said.find("of the 600000 seeds"), std::string::npos) << said;
  EXPECT_NE(said.find("crawlctl submit --job 1 -f '" + dir / "seeds.txt" + "'"), std::string::npos)
      << said;
  redis.start();
  const long long kept = submitted();
  ASSERT_GT(kept, 0);
  ASSERT_LT(kept, k_seeds) << "the submit was not cut short: nothing to test";
  // status: the job is submitting, and once its submitter's key has lapsed, flagged as left so.
  nlohmann::json s;
  CommandResult r;
  ASSERT_TRUE(wait_until(
      [&] {
        r = run_program(CRAWLCTL, {"status", "1", "--json", "--redis", redis.url()}, dir);
        s = nlohmann::json::parse(r.out, nullptr, false);
        return s.is_object() && s.value("submit_interrupted", false);
      },
      30s))
      << r.out << r.err;
  EXPECT_EQ(s["state"], "submitting");
  EXPECT_FALSE(s["finished"].get<bool>());
  EXPECT_NE(s.dump().find("was left submitting"), std::string::npos) << s.dump(2);
  // The re-run adds exactly the rest.
  r = run_program(CRAWLCTL,
                  {"submit", "--job", "1", "-f", dir / "seeds.txt", "--redis", redis.url()}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  EXPECT_NE(r.err.find("job 1: " + std::to_string(k_seeds - kept) + " seed URLs added, " +
                       std::to_string(kept) + " duplicates"),
            std::string::npos)
      << r.err;
  r = run_program(CRAWLCTL, {"status", "1", "--json", "--redis", redis.url()}, dir);
  s = nlohmann::json::parse(r.out);
  EXPECT_EQ(s["counters"]["submitted"], k_seeds);
  EXPECT_EQ(s["counters"]["queued"], k_seeds);
  EXPECT_EQ(s["state"], "queued");
  EXPECT_FALSE(s.contains("submit_interrupted"));
  EXPECT_EQ(s.dump().find("left submitting"), std::string::npos);
  // Job options belong to a new job; an unknown job is bad input.
  r = run_program(
      CRAWLCTL,
      {"submit", "--job", "1", "--depth", "3", "http://x.example/", "--redis", redis.url()}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--depth sets an option of a new job"), std::string::npos) << r.err;
  r = run_program(CRAWLCTL, {"submit", "--job", "9", "http://x.example/", "--redis", redis.url()},
                  dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("no job '9'"), std::string::npos) << r.err;
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
  CrawlCluster cluster(site(20));
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

// Peak resident memory of a process, from the kernel's count (VmHWM).
long long peak_rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

// Hostile bodies cost bounded memory: 200 gzip bombs (10 MiB each once decoded, 64 in flight at
// the default concurrency) and pages of 100,000s of elements stay under the bound that
// docs/operations.md gives for the default settings. Before the body memory, 64 bombs took a
// worker to 616 MB.
TEST(Worker, HostileBodiesStayUnderItsMemoryBound) {
  if (CRAWL_SANITIZED)
    GTEST_SKIP() << "memory is measured without sanitizers (ASan keeps freed memory in quarantine)";
  TempDir dir("bombs");
  // Decoded: 50 MB of zeros; 50 MB of "<p>" (a tree of 16 million elements, were it parsed).
  ASSERT_EQ(run_program("sh",
                        {"-c",
                         "head -c 50000000 /dev/zero | gzip -c >\"$0\" && "
                         "yes '<p>' | head -c 50000000 | gzip -c >\"$1\"",
                         dir / "zeros.gz", dir / "elements.gz"},
                        dir)
                .rc,
            0);
  const std::string zeros = read_text(dir / "zeros.gz"), elements = read_text(dir / "elements.gz");
  constexpr int k_bombs = 100;
  std::unique_ptr<HttpServer> server;
  server = std::make_unique<HttpServer>([&](const HttpRequest& r) {
    if (r.target == "/robots.txt") return http_reply(404, "", "text/plain");
    if (r.target == "/") {
      std::string page = "<title>bombs</title>";
      for (int i = 0; i < k_bombs; ++i)
        page += "<a href=\"/z/" + std::to_string(i) + "\">z</a><a href=\"/p/" + std::to_string(i) +
                "\">p</a>";
      return http_reply(200, page);
    }
    return http_reply(200, r.target.starts_with("/z/") ? zeros : elements, "text/html",
                      "Content-Encoding: gzip\r\n");
  });
  RedisServer redis;
  write_text(dir / "worker.yaml",
             "redis:\n  url: " + redis.url() +
                 "\nworker:\n  heartbeat_interval: 250ms\n  heartbeat_ttl: 1500ms\n");
  Process worker(SpawnOptions{
      {CRAWLWORKER, "--config", dir / "worker.yaml", "--id", "m1"}, dir / "worker.log", {}});
  // Our own server: no delay, and as many in flight on it as the worker runs.
  CommandResult r = run_program(CRAWLCTL,
                                {"submit", server->url("/"), "--quiet", "--delay", "0",
                                 "--host-concurrency", "64", "--redis", redis.url()},
                                dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string job = r.out.substr(0, r.out.find('\n'));
  r = run_program(CRAWLCTL, {"wait", job, "--quiet", "--timeout", "120s", "--redis", redis.url()},
                  dir, 130s);
  ASSERT_EQ(r.rc, 0) << r.err << read_text(dir / "worker.log");
  const long long peak = peak_rss_bytes(worker.pid());
  r = run_program(CRAWLCTL, {"results", job, "--format", "summary", "--redis", redis.url()}, dir);
  EXPECT_NE(r.out.find("pages     201:"), std::string::npos) << r.out;
  r = run_program(CRAWLCTL, {"results", job, "--redis", redis.url()}, dir);
  std::size_t cut = 0;
  for (std::size_t at = r.out.find("\"truncated\":true"); at != std::string::npos;
       at = r.out.find("\"truncated\":true", at + 1))
    ++cut;
  EXPECT_EQ(cut, 2u * k_bombs) << "every bomb is cut at max_body";
  // docs/operations.md's bound: 20 MB + body_memory + parse_threads x 35 MB + concurrency x 100 KB.
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  const double bound = 20e6 + (32u << 20) + cores * 35e6 + 64 * 100e3;
  std::fprintf(stderr, "worker peak RSS: %.1f MB (bound %.1f MB)\n",
               static_cast<double>(peak) / 1e6, bound / 1e6);
  EXPECT_GT(peak, 0);
  EXPECT_LT(static_cast<double>(peak), bound);
}

// Seeds added to a running job widen its scope at once, also for a worker that holds the job's
// rules already: the new site's own links are crawled, not recorded as off-site.
// The hosts file's job: section gives the options of jobs submitted with it; a flag wins.
TEST(Submit, TheHostsFilesJobSectionSetsTheNewJobsOptionsAndAFlagWins) {
  CrawlCluster cluster(site(20));
  TempDir dir("jobsection");
  const std::string hosts = dir / "hosts.yaml";
  write_text(hosts, "job:\n  delay: 250ms\n  host_concurrency: 4\n  max_links_per_page: 100\n");
  auto submit = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"submit", cluster.site().root_url(), "-H", hosts, "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = cluster.crawlctl(args);
    EXPECT_EQ(r.rc, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  };
  auto field = [&](const std::string& job, const std::string& name) {
    return cluster.redis_cli({"HGET", "crawl:job:" + job, name});
  };
  const std::string from_file = submit({});
  EXPECT_EQ(field(from_file, "delay_ms"), "250\n");
  EXPECT_EQ(field(from_file, "host_concurrency"), "4\n");
  EXPECT_EQ(field(from_file, "max_links_per_page"), "100\n");
  EXPECT_EQ(field(from_file, "max_crawl_delay_ms"), "30000\n") << "not in the file: the default";
  const std::string flagged = submit({"--host-concurrency", "2"});
  EXPECT_EQ(field(flagged, "delay_ms"), "250\n");
  EXPECT_EQ(field(flagged, "host_concurrency"), "2\n");
  // A bad value is named by its place, and nothing is submitted.
  write_text(hosts, "job:\n  delay: soon\n");
  CommandResult bad = cluster.crawlctl({"submit", cluster.site().root_url(), "-H", hosts});
  EXPECT_EQ(bad.rc, 2) << bad.err;
  EXPECT_NE(bad.err.find("hosts.yaml:2:"), std::string::npos) << bad.err;
  EXPECT_EQ(cluster.redis_cli({"ZCARD", "crawl:jobs"}), "2\n");
}

TEST(Submit, SeedsAddedToARunningJobWidenItsScope) {
  auto make_site = [](const std::string& name, std::chrono::milliseconds slow) {
    return std::make_unique<HttpServer>([name, slow](const HttpRequest& r) {
      if (r.target == "/robots.txt") return http_reply(404, "", "text/plain");
      if (r.target == "/")
        return http_reply(200, "<a href=\"/p1\">1</a><a href=\"/slow\">s</a><a href=\"/p2\">2</a>");
      HttpReply reply = http_reply(200, "<title>" + name + r.target + "</title>");
      if (r.target == "/slow") reply.delay = slow;
      return reply;
    });
  };
  auto a = make_site("a", 1500ms),
       b = make_site("b", 0ms);  // under the workers' 2 s low-speed limit
  CrawlCluster cluster(site(20));
  cluster.start_worker("s1");
  CommandResult r = cluster.crawlctl({"submit", a->url("/"), "--quiet"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string job = r.out.substr(0, r.out.find('\n'));
  // The worker holds the job's rules while /slow is fetched: then b joins.
  ASSERT_TRUE(wait_until([&] { return cluster.counters(job)["done"] >= 1; }, 20s));
  r = cluster.crawlctl({"submit", "--job", job, b->url("/")});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_TRUE(cluster.wait_finished(job, 60s));
  const auto c = cluster.counters(job);
  EXPECT_EQ(c.at("done"), 8) << "a and b: /, /p1, /slow, /p2 each";
  EXPECT_EQ(c.count("filtered:offsite"), 0u) << cluster.results(job);
}

// A worker that leaves hands back every lease Redis has under its name, also one it never knew
// of (a claim whose reply was lost): once it has left, no reaper would look for it.
TEST(Worker, LeavingHandsBackLeasesItDidNotKnowOf) {
  CrawlCluster cluster(site(20));
  const std::size_t w = cluster.start_worker("w1");
  auto redis = [&](const std::vector<std::string>& args) { return cluster.redis_cli(args); };
  // Its first heartbeat comes after it took back any leases of an earlier run under its id.
  ASSERT_TRUE(wait_until([&] { return redis({"EXISTS", "crawl:worker:w1"}) == "1\n"; }, 10s));
  const pid_t pid = cluster.worker(w).pid();
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  const std::string job = cluster.submit_root();
  // A claim under its name, done behind the stopped worker's back.
  {
    auto connection = queue::Redis::connect(*queue::parse_redis_url(cluster.redis().url()), 2000ms);
    ASSERT_TRUE(connection) << connection.error().message;
    queue::Queue q(std::move(*connection), queue::Keys{});
    auto claimed = q.frontier().claim("w1", 1);
    ASSERT_TRUE(claimed) << claimed.error().message;
    ASSERT_EQ(claimed->entries.size(), 1u);
  }
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  cluster.worker(w).stop(15s, SIGTERM);
  EXPECT_EQ(redis({"LLEN", "crawl:inflight:w1"}), "0\n");
  EXPECT_EQ(redis({"LLEN", "crawl:q:" + job + ":" + cluster.site().url("")}), "1\n");
  const auto c = cluster.counters(job);
  EXPECT_EQ(c.at("queued"), 1);
  EXPECT_EQ(c.at("in_flight"), 0);
  EXPECT_NE(read_text(cluster.worker_log("w1")).find("event=returned_leases n=1"),
            std::string::npos)
      << read_text(cluster.worker_log("w1"));
  // And the URL is crawled by the next worker.
  cluster.start_worker("w2");
  ASSERT_TRUE(cluster.wait_finished(job, 30s));
  expect_results_match_manifest(cluster, job);
}

// A Redis password on crawlworker's command line would be readable by every user of the host.
TEST(Worker, RefusesARedisPasswordOnItsCommandLine) {
  TempDir dir("worker");
  CommandResult r =
      run_program(CRAWLWORKER, {"--redis", "redis://:s3cret@127.0.0.1:1/0", "--id", "x"}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("password_on_command_line"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("redis.password_file"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << r.err;
}

// The original service's answer: for each page crawled, its images.
TEST(Results, JsonMapsEachCrawledPageToItsImages) {
  CrawlCluster cluster(site(20));
  cluster.start_worker("j1");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(cluster.wait_finished(job));
  CommandResult r = cluster.crawlctl({"results", job, "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto map = nlohmann::json::parse(r.out);
  std::size_t done = 0;
  for (const ManifestEntry& e : cluster.site().manifest().entries) {
    if (e.expect != "done") {
      EXPECT_FALSE(map.contains(e.url)) << e.url;
      continue;
    }
    ++done;
    ASSERT_TRUE(map.contains(e.url)) << e.url;
    std::vector<std::string> images = map[e.url];
    std::sort(images.begin(), images.end());
    EXPECT_EQ(images, e.images) << e.url;
  }
  EXPECT_EQ(map.size(), done);
}

// Records of the wrong shape, which anyone with access to Redis may have written, are skipped
// and counted in every format; the rest is shown.
TEST(Results, ABadRecordIsSkippedAndCountedAndTheRestShown) {
  CrawlCluster cluster(site(20));
  cluster.start_worker("r1");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(cluster.wait_finished(job));
  const std::string key = "crawl:job:" + job + ":results";
  cluster.redis_cli({"HSET", key, "http://bad.example/1",
                     R"({"url":"http://bad.example/1","outcome":"done","bytes":"big"})"});
  cluster.redis_cli({"HSET", key, "http://bad.example/2",
                     R"({"url":"http://bad.example/2","outcome":"done","images":"x"})"});
  cluster.redis_cli({"HSET", key, "http://bad.example/3", R"({"url":1,"outcome":"done"})"});
  cluster.redis_cli({"HSET", key, "http://bad.example/4", "not json"});
  const std::string unreadable = "4 records of job " + job + " could not be read";
  CommandResult r = cluster.crawlctl({"results", job});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find(unreadable), std::string::npos) << r.err;
  const auto problems = compare_with_manifest(r.out, cluster.site().manifest());
  EXPECT_TRUE(problems.empty()) << join(problems);
  r = cluster.crawlctl({"results", job, "--format", "json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find(unreadable), std::string::npos) << r.err;
  std::size_t done = 0;
  for (const ManifestEntry& e : cluster.site().manifest().entries) done += e.expect == "done";
  EXPECT_EQ(nlohmann::json::parse(r.out).size(), done);
  r = cluster.crawlctl({"results", job, "--format", "summary"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find(unreadable), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("pages     " + std::to_string(done) + ":"), std::string::npos) << r.out;
}

// A job whose options Redis holds malformed is shown as broken beside the others; the workers
// neither crawl it by rules they cannot read nor spin on it: its URLs wait until it is fixed.
TEST(Status, ABrokenJobIsShownBesideTheOthersAndItsUrlsWaitUntilItIsFixed) {
  CrawlCluster cluster(site(20));
  const std::string broken = cluster.submit_root();
  cluster.redis_cli({"HSET", "crawl:job:" + broken, "deny", "not json"});
  const std::string other = cluster.submit_root({"--name", "other"});
  const auto started = std::chrono::steady_clock::now();
  cluster.start_worker("b1");
  ASSERT_TRUE(cluster.wait_finished(other));
  CommandResult r = cluster.crawlctl({"status", "--json"});
  ASSERT_TRUE(r.rc == 0 || r.rc == 8) << r.rc << r.err;
  auto s = nlohmann::json::parse(r.out);
  ASSERT_EQ(s["jobs"].size(), 2u) << s.dump(2);
  for (const auto& j : s["jobs"]) {
    if (j["id"] == broken) {
      EXPECT_EQ(j["state"], "broken") << j.dump();
      EXPECT_NE(j["problem"].get<std::string>().find("deny"), std::string::npos) << j.dump();
      EXPECT_EQ(j["counters"]["queued"], 1) << j.dump();
      EXPECT_EQ(j["counters"]["done"], 0) << j.dump();
    } else {
      EXPECT_EQ(j["state"], "finished") << j.dump();
    }
  }
  EXPECT_EQ(s["workers"].size(), 1u) << s.dump(2);
  r = cluster.crawlctl({"status"});
  EXPECT_NE(r.out.find("broken"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("b1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("! job " + broken + " is broken"), std::string::npos) << r.out;
  // The worker looked at it once per wait (5 s), not every 200 ms.
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  const std::string log = read_text(cluster.worker_log("b1"));
  std::size_t looks = 0;
  for (std::size_t at = log.find("event=bad_job"); at != std::string::npos;
       at = log.find("event=bad_job", at + 1))
    ++looks;
  EXPECT_GE(looks, 1u) << log;
  EXPECT_LE(looks, static_cast<std::size_t>(seconds / 5 + 2)) << log;
  // Fixed, it is crawled in full.
  cluster.redis_cli({"HSET", "crawl:job:" + broken, "deny", "[]"});
  ASSERT_TRUE(cluster.wait_finished(broken, 30s));
  expect_results_match_manifest(cluster, broken);
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
                                       k.results(j),
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
  CrawlCluster cluster(site(40));
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
