// The whole operator story, end to end, with the built binaries only: a 5-host sshd fleet,
// redis-server with AOF on and a test site of a few thousand pages, all real, on loopback.
// deploy 2 workers per host, submit the site's root, and while the crawl runs kill -9 two
// workers on different hosts and restart Redis; redeploy to bring the fleet back, `crawlctl
// wait` (started before the restart, so it has to wait it out), then the results must be the
// manifest's exactly, `logs --outdir` must bring home a log per worker, `stop` must leave
// nothing running on the fleet, and `collect` must bring home the WARC files the job (--warc)
// wrote, indexed, every fetch its results name among them.

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "deployment.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;

long long counter(const nlohmann::json& status, const char* name) {
  return status["counters"].value(name, 0LL);
}

pid_t pid_of(const nlohmann::json& status, const std::string& id) {
  for (const auto& w : status["workers"])
    if (w["id"] == id) return static_cast<pid_t>(w["pid"].get<long long>());
  return -1;
}

TEST(EndToEnd, FleetCrawlsThroughKilledWorkersAndARedisRestart) {
  Deployment d(5, small_site(3000));
  ASSERT_GE(d.cluster.site().manifest().entries.size(), 3000u);
  d.write_hosts("  workers: 2\n");

  // deploy: 10 workers, each verified by its heartbeat.
  int rc = -1;
  auto report = d.deploy({}, &rc);
  ASSERT_EQ(rc, 0) << report.dump(2);
  ASSERT_EQ(report["hosts"].size(), 5u);

  // submit the root. A per-host delay of 3 ms across the fleet keeps the crawl going for
  // several seconds (3,000 pages at most ~330 a second), long enough for the faults to land
  // in the middle of it; 16 requests may be in flight at the site (ours) at once.
  CommandResult submitted =
      ctl_redis(d, {"submit", d.cluster.site().root_url(), "--retries", "1", "--delay", "3ms",
                    "--host-concurrency", "16", "--quiet", "--warc"});
  ASSERT_EQ(submitted.rc, 0) << submitted.err;
  std::string job = submitted.out;
  while (!job.empty() && job.back() == '\n') job.pop_back();
  ASSERT_FALSE(job.empty());

  // The operator waits for the job from the start: this wait has to live through the restart.
  Process waiter(SpawnOptions{
      {CRAWLCTL, "wait", job, "--timeout", "240s", "--interval", "200ms", "-H", d.hosts_file},
      d.dir / "wait.log",
      {}});

  // Fault 1: kill -9 two workers on different hosts while they hold leases.
  nlohmann::json s;
  ASSERT_TRUE(wait_until(
      [&] {
        s = status_json(d, {job});
        return counter(s, "done") >= 200;
      },
      60s))
      << s.dump(2);
  const std::vector<std::string> victims{"host1/1", "host4/2"};
  auto holding = [&](const std::string& id) {
    return redis_integer(d, {"LLEN", "crawl:inflight:" + id});
  };
  ASSERT_TRUE(wait_until([&] { return holding(victims[0]) > 0 && holding(victims[1]) > 0; }, 30s))
      << "the victims never held leases at the same time";
  for (const auto& id : victims) {
    const pid_t pid = pid_of(s, id);
    ASSERT_GT(pid, 0) << id << " has no pid in " << s.dump(2);
    ASSERT_EQ(kill(pid, SIGKILL), 0) << id;
  }
  // status sees them dead (exit bit 4) and their leases go back to the frontier.
  ASSERT_TRUE(wait_until(
      [&] {
        s = status_json(d, {job}, &rc);
        int dead = 0;
        for (const auto& w : s["workers"]) dead += w["state"] == "dead";
        return dead == 2 && (rc & 4) == 4;
      },
      15s))
      << s.dump(2);
  for (const auto& id : victims) EXPECT_EQ(holding(id), 0) << id << "'s leases were not returned";

  // Fault 2: restart redis-server (AOF on) in the middle of the crawl.
  s = status_json(d, {job});
  const long long done_before_restart = counter(s, "done");
  ASSERT_GT(counter(s, "queued"), 0)
      << "the crawl ended before Redis could be restarted: " << s.dump(2);
  d.cluster.redis().restart();

  // Redeploy: the two killed workers are started again; the others keep running.
  report = d.deploy({}, &rc);
  ASSERT_EQ(rc, 0) << report.dump(2);
  s = status_json(d, {job});
  EXPECT_GE(counter(s, "done"), done_before_restart) << "Redis lost recorded pages: " << s.dump(2);
  // Every worker is back: the two started again and the eight that reconnected after the restart.
  EXPECT_TRUE(wait_until(
      [&] {
        s = status_json(d, {job});
        int alive = 0;
        for (const auto& w : s["workers"]) alive += w["state"] == "running";
        return alive == 10;
      },
      15s))
      << s.dump(2);

  // The wait started before the restart ends with the job: exit 0.
  ASSERT_TRUE(wait_until([&] { return !waiter.running(); }, 240s)) << read_text(d.dir / "wait.log");
  waiter.stop();  // reaps it: the exit status is known from here
  ASSERT_TRUE(waiter.exit_status().has_value());
  const int raw = *waiter.exit_status();
  ASSERT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0) << "wait: " << raw << "\n"
                                                       << read_text(d.dir / "wait.log");

  // Every URL in exactly one terminal state, nothing queued or in flight.
  s = status_json(d, {job}, &rc);
  EXPECT_EQ(s["state"], "finished") << s.dump(2);
  EXPECT_EQ(counter(s, "queued"), 0);
  EXPECT_EQ(counter(s, "in_flight"), 0);
  EXPECT_EQ(counter(s, "cancelled"), 0);
  EXPECT_EQ(counter(s, "submitted"),
            counter(s, "done") + counter(s, "failed") + counter(s, "filtered"))
      << s.dump(2);
  EXPECT_EQ(rc, 8) << "only the site's failing URLs remain to report: " << s.dump(2);

  // The results are the manifest's exactly: every page once, its images, the right failures
  // and filters.
  CommandResult results = ctl_redis(d, {"results", job});
  ASSERT_EQ(results.rc, 0) << results.err;
  const auto problems = compare_with_manifest(results.out, d.cluster.site().manifest());
  EXPECT_TRUE(problems.empty()) << problems.size() << " differences, first: " << problems.front();
  EXPECT_EQ(occurrences(results.out, "\n"), d.cluster.site().manifest().entries.size());
  // The summary counts the same.
  std::map<std::string, std::size_t> want;
  for (const auto& e : d.cluster.site().manifest().entries) ++want[e.expect];
  CommandResult summary = ctl_redis(d, {"results", job, "--format", "summary"});
  ASSERT_EQ(summary.rc, 0) << summary.err;
  EXPECT_NE(summary.out.find("  pages     " + std::to_string(want["done"]) + ": "),
            std::string::npos)
      << summary.out;
  EXPECT_NE(summary.out.find("  failed    " + std::to_string(want["failed"]) + ": "),
            std::string::npos)
      << summary.out;
  EXPECT_NE(summary.out.find("  filtered  " + std::to_string(want["filtered"]) + ": "),
            std::string::npos)
      << summary.out;

  // logs --outdir: one log per worker. Each worker lived through the restart (or was started
  // after it), so each connected to Redis at least twice; the victims started twice.
  const std::string logs = d.dir / "logs";
  auto log_of = [&](const std::string& id) {  // logs/HOST/wN.log for worker HOST/N
    const auto slash = id.find('/');
    return logs + "/" + id.substr(0, slash) + "/w" + id.substr(slash + 1) + ".log";
  };
  CommandResult fetched = d.ctl({"logs", "--outdir", logs});
  ASSERT_EQ(fetched.rc, 0) << fetched.err;
  for (const auto& id : worker_ids(d, 2)) {
    const std::string file = log_of(id);
    ASSERT_TRUE(fs::exists(file)) << file;
    const std::string text = read_text(file);
    const bool victim = std::find(victims.begin(), victims.end(), id) != victims.end();
    EXPECT_EQ(occurrences(text, "event=start "), victim ? 2u : 1u) << id << ":\n" << text;
    EXPECT_GE(occurrences(text, "event=redis_connected"), 2u) << id << ":\n" << text;
  }

  // stop: every worker drains and deregisters; nothing of the fleet's sessions is left.
  CommandResult stopped = d.ctl({"stop", "--grace", "10s"});
  ASSERT_EQ(stopped.rc, 0) << stopped.out << stopped.err;
  EXPECT_TRUE(wait_until([&] { return d.fleet.session_processes().empty(); }, 10s)) << [&] {
    std::string left;
    for (const auto& [name, n] : d.running()) left += name + " x" + std::to_string(n) + " ";
    return left;
  }();
  s = status_json(d, {}, &rc);
  EXPECT_TRUE(s["workers"].empty()) << s.dump(2);
  // The logs say so: a refresh brings only the last lines home, and each ends with the stop.
  fetched = d.ctl({"logs", "--outdir", logs});
  ASSERT_EQ(fetched.rc, 0) << fetched.err;
  for (const auto& id : worker_ids(d, 2)) {
    const std::string text = read_text(log_of(id));
    EXPECT_EQ(occurrences(text, "event=stopped"), 1u) << id;
  }

  // collect: the workers' WARC files (closed by the stop; the victims' cut back and closed when
  // they started again) come home, and the index holds every fetch's response that a result
  // names.
  const std::string warc = d.dir / "warc";
  CommandResult collected = d.ctl({"collect", "--outdir", warc});
  ASSERT_EQ(collected.rc, 0) << collected.out << collected.err;
  const std::string index = read_text(warc + "/index.cdxj");
  std::size_t pointed = 0;
  std::istringstream lines(results.out);
  for (std::string line; std::getline(lines, line);) {
    const auto record = nlohmann::json::parse(line);
    if (!record.contains("warc_file") || record.value("status", 0) == 0) continue;
    const std::string at = "\"offset\":\"" +
                           std::to_string(record["warc_offset"].get<long long>()) +
                           "\",\"filename\":\"" + record["warc_file"].get<std::string>() + "\"";
    EXPECT_NE(index.find(at), std::string::npos) << record.dump();
    ++pointed;
  }
  EXPECT_GT(pointed, 1000u);
}

}  // namespace
}  // namespace crawl::testing
