// crawlctl results and status of a crawled job: results as JSON, a bad record skipped and
// counted, a broken job shown beside the others.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "crawl_checks.hpp"
#include "crawl_cluster.hpp"
#include "http_server.hpp"
#include "queue/queue.hpp"

namespace crawl::testing {
namespace {

// Records of the wrong shape, which anyone with access to Redis may have written into a job's
// stream (or, for a job of an earlier version, its results hash), are skipped and counted in
// every format; the rest is shown. Stream entries that are no record at all are skipped when
// drained, and counted too.
TEST(Results, ABadRecordIsSkippedAndCountedAndTheRestShown) {
  CrawlCluster cluster(test_site_options(20));
  cluster.start_worker("r1");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(cluster.wait_finished(job));
  const std::string stream = "crawl:job:" + job + ":records";
  cluster.redis_cli({"XADD", stream, "*", "r",
                     R"({"url":"http://bad.example/1","outcome":"done","bytes":"big"})"});
  cluster.redis_cli({"XADD", stream, "*", "r",
                     R"({"url":"http://bad.example/2","outcome":"done","images":"x"})"});
  cluster.redis_cli({"XADD", stream, "*", "r", R"({"url":1,"outcome":"done"})"});
  cluster.redis_cli({"XADD", stream, "*", "x", "no record"});
  cluster.redis_cli({"XADD", stream, "*", "u", "http://bad.example/5", "f", "offsite"});
  cluster.redis_cli({"HSET", "crawl:job:" + job + ":results", "http://bad.example/4", "not json"});
  const std::string unreadable = "4 records of job " + job + " could not be read";
  const std::string skipped = "2 entries of job " + job + "'s records stream were not records";
  CommandResult r = cluster.crawlctl({"results", job});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find(unreadable), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(skipped), std::string::npos) << r.err;
  EXPECT_EQ(cluster.redis_cli({"XLEN", stream}), "0\n");
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

// kill -9 of a drainer, at any moment (mid-batch, between its file and its `drained`, between
// that and its trim), loses and duplicates nothing: 6,000 records go home through drainers
// killed one after another, and the home holds each exactly once, in the order recorded.
TEST(Records, ADrainerKilledAtAnyMomentLosesAndDuplicatesNothing) {
  CrawlCluster cluster(test_site_options(20));
  const std::string job = cluster.submit_root();  // no worker: it records nothing itself
  const std::string stream = "crawl:job:" + job + ":records";
  int recorded = 0;
  auto record = [&](int n) {  // n more records, of URLs .../p1, p2, ... in order
    cluster.redis_cli(
        {"EVAL",
         "for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do local u = 'http://x.example/p' .. i; "
         "redis.call('XADD', KEYS[1], '*', 'r', cjson.encode({url = u, outcome = 'done', status = "
         "200, title = string.rep('t', 200)})) end",
         "1", stream, std::to_string(recorded + 1), std::to_string(recorded + n)});
    recorded += n;
  };
  auto drain = [&] {
    CommandResult r = cluster.crawlctl({"drain", job});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(cluster.redis_cli({"XLEN", stream}), "0\n");
  };
  // The home holds each record once, in order, and nothing after them.
  std::string home;
  auto expect_home_whole = [&](const std::string& when) {
    std::istringstream lines(read_text(home + "/records.jsonl"));
    int n = 0;
    for (std::string line; std::getline(lines, line);) {
      ++n;
      const auto r = nlohmann::json::parse(line, nullptr, false);
      ASSERT_FALSE(r.is_discarded()) << when << ": line " << n << ": " << line;
      ASSERT_EQ(r["url"], "http://x.example/p" + std::to_string(n)) << when << ": line " << n;
    }
    EXPECT_EQ(n, recorded) << when;
  };
  // What a drainer killed between two steps of a batch leaves, made by hand, then drained on:
  // the batch (the stream's oldest 200) appended whole; with `counted`, `drained` says so too.
  auto killed_after = [&](bool counted) {
    std::istringstream reply(cluster.redis_cli({"XRANGE", stream, "-", "+", "COUNT", "200"}));
    std::string id, field, value, last, batch;
    while (std::getline(reply, id) && std::getline(reply, field) && std::getline(reply, value)) {
      last = id;
      batch += value + "\n";
    }
    const std::string before = read_text(home + "/records.jsonl");
    write_text(home + "/records.jsonl", before + batch, 0600);
    if (counted) {
      std::istringstream drained(read_text(home + "/drained"));
      std::string size, skipped;
      drained >> size >> skipped;
      write_text(home + "/drained",
                 std::to_string(before.size() + batch.size()) + " " + skipped + " " + last + "\n",
                 0600);
    }
  };
  record(5'000);
  // Drainers killed at random moments, later each time one is killed before it drained
  // anything (a drainer takes longer to start on a busy machine or under a sanitizer), until
  // three were killed mid-drain or one drained all.
  std::mt19937 rng(20261207);
  int cut_mid_drain = 0;
  long left = recorded, delay_ms = 10;
  for (int kill = 0; kill < 40 && cut_mid_drain < 3 && left > 0; ++kill) {
    Process drainer(SpawnOptions{{CRAWLCTL, "drain", job, "--redis", cluster.redis_url()}, "", {}});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms + rng() % delay_ms));
    drainer.stop(0ms, SIGKILL);
    const long now_left = std::stol(cluster.redis_cli({"XLEN", stream}));
    if (now_left == left)
      delay_ms = std::min(delay_ms * 3 / 2, 5000L);
    else if (now_left > 0)
      ++cut_mid_drain;
    left = now_left;
  }
  EXPECT_GT(cut_mid_drain, 0) << "no drainer was killed while it drained";
  drain();
  home = cluster.redis_cli({"HGET", "crawl:job:" + job, "records_home"});
  home = home.substr(home.find(':') + 1);
  home.pop_back();  // redis-cli's newline
  expect_home_whole("after drainers killed at random");
  record(500);
  killed_after(false);  // its file appended and synced, `drained` not yet written
  drain();
  expect_home_whole("after a drainer killed before `drained`");
  record(500);
  killed_after(true);  // `drained` written, the batch not yet trimmed
  drain();
  expect_home_whole("after a drainer killed before its trim");
  CommandResult r = cluster.crawlctl({"results", job, "--format", "summary"});
  EXPECT_NE(r.out.find("pages     " + std::to_string(recorded) + ":"), std::string::npos)
      << r.out << r.err;
  // Where a drainer writes is never Redis's to say: another machine's home is refused, naming
  // it, and on this machine only a directory of the records directory named and marked as the
  // job's home is written.
  const std::string named = cluster.redis_cli({"HGET", "crawl:job:" + job, "records_home"});
  const std::string host = named.substr(0, named.find(':'));
  const std::string records = std::filesystem::path(home).parent_path();
  const std::string elsewhere = std::filesystem::path(records).parent_path();
  const std::string unmarked = records + "/crawl-job" + job + "-0123abcd";
  std::filesystem::create_directory(unmarked);
  for (const auto& [value, said] : std::vector<std::pair<std::string, std::string>>{
           {"other.example:" + home, "drained on other.example"},
           {host + ":" + elsewhere + "/etc", "not a home of job " + job},
           {host + ":" + elsewhere + "/crawl-job" + job + "-0123abcd", "not in the records"},
           {host + ":" + records + "/crawl-job" + job + "-01234567", "is gone"},
           {host + ":" + unmarked, "is not job " + job + "'s home"}}) {
    cluster.redis_cli({"HSET", "crawl:job:" + job, "records_home", value});
    r = cluster.crawlctl({"results", job});
    EXPECT_NE(r.rc, 0) << value;
    EXPECT_NE(r.err.find(said), std::string::npos) << value << ": " << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(elsewhere + "/etc"));
  EXPECT_FALSE(std::filesystem::exists(elsewhere + "/crawl-job" + job + "-0123abcd"));
  EXPECT_FALSE(std::filesystem::exists(records + "/crawl-job" + job + "-01234567"));
  EXPECT_TRUE(std::filesystem::is_empty(unmarked));
}

// A crawl nobody drains pauses at its records_backlog instead of filling Redis, and status says
// why; a drainer (here wait) lets it go on, and nothing is lost: the records are the manifest's,
// and the original service's answer maps each page crawled to its images.
TEST(Records, ACrawlNobodyDrainsPausesAtItsBacklogAndGoesOnOnceDrained) {
  CrawlCluster cluster(test_site_options(20));
  cluster.start_worker("b1");
  const std::string job = cluster.submit_root({"--records-backlog", "10"});
  const std::string stream = "crawl:job:" + job + ":records";
  auto waiting = [&] { return std::stol(cluster.redis_cli({"XLEN", stream})); };
  ASSERT_TRUE(wait_until([&] { return waiting() >= 10; }, 30s));
  // What was leased when it got there is recorded; then nothing more.
  std::this_thread::sleep_for(1s);
  const long held = waiting();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(waiting(), held);
  EXPECT_GT(cluster.counters(job).at("queued"), 0);
  CommandResult status = cluster.crawlctl({"status", job});
  EXPECT_NE((status.out + status.err).find("its records_backlog"), std::string::npos)
      << status.out << status.err;
  ASSERT_TRUE(cluster.wait_finished(job, 60s));
  EXPECT_EQ(waiting(), 0);
  const auto problems = compare_with_manifest(cluster.results(job), cluster.site().manifest());
  EXPECT_TRUE(problems.empty()) << join(problems);
  CommandResult r = cluster.crawlctl({"results", job, "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  expect_images_match_manifest(nlohmann::json::parse(r.out), cluster.site().manifest());
}

// Nothing from Redis reaches the terminal as it is: a counter name, a failure reason, a record's
// bytes between its fields, a title holding a C1 control, a broken job's reason. Before, the
// counters of `status JOB`, `results --format summary` and `results` printed them raw, so
// whoever could write to Redis could retitle, clear or rewrite the operator's terminal.
TEST(Terminal, NothingFromRedisReachesItAsItIs) {
  CrawlCluster cluster(test_site_options(20));
  cluster.start_worker("t1");
  const std::string job = cluster.submit_root();
  ASSERT_TRUE(cluster.wait_finished(job));
  const std::string esc = "\x1b]0;owned\x07\x1b[2J";
  cluster.redis_cli({"HSET", "crawl:job:" + job + ":stats", "failed:" + esc, "1"});
  const std::string records = "crawl:job:" + job + ":records";
  cluster.redis_cli({"XADD", records, "*", "r",
                     "{\"url\":\"http://x.example/1\",\"outcome\":\"failed\",\"reason\":"
                     "\"\\u001b[31mred\",\"status\":0}"});
  cluster.redis_cli({"XADD", records, "*", "r",
                     "{\"url\":\"http://x.example/2\",\r\"outcome\":\"done\",\"title\":\"c1 "
                     "\xc2\x9b"
                     "2J\",\"status\":200}"});
  auto raw = [](const std::string& text) {
    return text.find_first_of("\x1b\x07\r") != std::string::npos ||
           text.find("\xc2\x9b") != std::string::npos;
  };
  CommandResult r = cluster.crawlctl({"status", job});
  EXPECT_FALSE(raw(r.out + r.err)) << r.out;
  EXPECT_NE(r.out.find("failed:\\x1b]0;owned\\x07"), std::string::npos) << r.out;
  r = cluster.crawlctl({"results", job, "--format", "summary"});
  EXPECT_FALSE(raw(r.out + r.err)) << r.out;
  r = cluster.crawlctl({"results", job});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_FALSE(raw(r.out + r.err));
  std::istringstream lines(r.out);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n)
    EXPECT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded()) << line;
  EXPECT_GT(n, 2u);
  EXPECT_NE(r.out.find("c1 \\u009b2J"), std::string::npos) << "written again, escaped";
  cluster.redis_cli({"HSET", "crawl:job:" + job, "broken", "a reason " + esc});
  r = cluster.crawlctl({"status"});
  EXPECT_FALSE(raw(r.out + r.err)) << r.out;
  EXPECT_NE(r.out.find("is broken: a reason \\x1b"), std::string::npos) << r.out;
}

// A job whose options Redis holds malformed is shown as broken beside the others; the workers
// neither crawl it by rules they cannot read nor spin on it: its URLs wait until it is fixed.
TEST(Status, ABrokenJobIsShownBesideTheOthersAndItsUrlsWaitUntilItIsFixed) {
  CrawlCluster cluster(test_site_options(20));
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
  const std::size_t looks = occurrences(log, "event=bad_job");
  EXPECT_GE(looks, 1u) << log;
  EXPECT_LE(looks, static_cast<std::size_t>(seconds / 5 + 2)) << log;
  // Fixed, it is crawled in full.
  cluster.redis_cli({"HSET", "crawl:job:" + broken, "deny", "[]"});
  ASSERT_TRUE(cluster.wait_finished(broken, 30s));
  expect_results_match_manifest(cluster, broken);
}

}  // namespace
}  // namespace crawl::testing
