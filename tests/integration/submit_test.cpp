// crawlctl submit against a real Redis: bad lines, stdin, job options from flags and the hosts
// file, a submit cut short and its re-run, seeds added to a running job.

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

#include "crawl_checks.hpp"
#include "crawl_cluster.hpp"
#include "http_server.hpp"
#include "queue/queue.hpp"

namespace crawl::testing {
namespace {

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
  RedisServer redis(RedisOptions{.append_only = true, .password = "", .extra_config = ""});
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

// Seeds added to a running job widen its scope at once, also for a worker that holds the job's
// rules already: the new site's own links are crawled, not recorded as off-site.
// The hosts file's job: section gives the options of jobs submitted with it; a flag wins.
TEST(Submit, TheHostsFilesJobSectionSetsTheNewJobsOptionsAndAFlagWins) {
  CrawlCluster cluster(test_site_options(20));
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
  CrawlCluster cluster(test_site_options(20));
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

}  // namespace
}  // namespace crawl::testing
