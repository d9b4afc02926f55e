// Operating a deployed fleet: crawlctl status (jobs, workers, a killed worker flagged and its
// leases returned, --hosts), logs (-n, -f across a dropped connection, --outdir fetched
// incrementally), wait and cancel. A 3-host sshd fleet, Redis and the test site, all real.

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "deployment.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Worker settings for these tests: a log line every 300 ms, and one per URL.
const std::string k_chatty = "  stats_interval: 300ms\n  log_level: debug\n";

const nlohmann::json* worker_of(const nlohmann::json& status, const std::string& id) {
  for (const auto& w : status["workers"])
    if (w["id"] == id) return &w;
  return nullptr;
}

// Lines of `text` by their "host/N" prefix.
std::map<std::string, std::vector<std::string>> by_worker(const std::string& text) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto space = line.find(' ');
    out[line.substr(0, space)].push_back(space == std::string::npos ? "" : line.substr(space + 1));
  }
  return out;
}

TEST(Operate, StatusSeesEveryWorkerFlagsAKilledOneAndWaitSeesTheJobThrough) {
  Deployment d(3, small_site(200));
  d.write_hosts("  workers: 2\n");
  int rc = -1;
  auto report = d.deploy({}, &rc);
  ASSERT_EQ(rc, 0) << report.dump(2);
  // A per-host delay keeps the job running for seconds, every worker holding leases meanwhile.
  const std::string job = d.cluster.submit_root({"--delay", "25ms"});

  // Every sample adds up, and shows the six workers.
  nlohmann::json s;
  for (int sample = 0; sample < 5; ++sample) {
    s = status_json(d, {job});
    const auto& c = s["counters"];
    auto n = [&](const char* k) { return c.value(k, 0LL); };
    EXPECT_EQ(n("submitted"),
              n("queued") + n("in_flight") + n("done") + n("failed") + n("filtered"))
        << c.dump();
    EXPECT_EQ(s["workers"].size(), 6u) << s.dump(2);
    std::this_thread::sleep_for(150ms);
  }
  ASSERT_FALSE(s["finished"].get<bool>())
      << "the job ended too soon to test anything: " << s.dump(2);
  for (const auto& w : s["workers"]) {
    EXPECT_EQ(w["state"], "running") << w.dump();
    EXPECT_TRUE(w["alive"].get<bool>()) << w.dump();
    EXPECT_LT(w["heartbeat_age_ms"].get<long long>(), 1500) << w.dump();
  }

  // kill -9 a worker that holds leases: status flags it within the heartbeat TTL (1.5 s) and
  // its leases are back in the frontier.
  const std::string victim = "host2/1";
  const std::string inflight = "crawl:inflight:" + victim;
  ASSERT_TRUE(wait_until([&] { return redis_integer(d, {"LLEN", inflight}) > 0; }, 10s));
  const auto* w = worker_of(s, victim);
  ASSERT_NE(w, nullptr);
  const pid_t pid = static_cast<pid_t>((*w)["pid"].get<long long>());
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  const auto killed = Clock::now();
  nlohmann::json flagged;
  ASSERT_TRUE(wait_until(
      [&] {
        flagged = status_json(d, {job}, &rc);
        const auto* v = worker_of(flagged, victim);
        return v && (*v)["state"] == "dead";
      },
      10s));
  const auto seen_after =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed);
  EXPECT_LE(seen_after.count(), 1500 + 1000) << "flagged after " << seen_after.count() << " ms";
  EXPECT_EQ(rc & 4, 4) << "a dead worker is a non-zero status";
  EXPECT_EQ(redis_integer(d, {"LLEN", inflight}), 0);
  const auto& c = flagged["counters"];
  EXPECT_EQ(c.value("submitted", 0LL), c.value("queued", 0LL) + c.value("in_flight", 0LL) +
                                           c.value("done", 0LL) + c.value("failed", 0LL) +
                                           c.value("filtered", 0LL));
  EXPECT_NE(flagged.dump().find("is dead"), std::string::npos) << flagged.dump(2);

  // --hosts asks each host: the victim's process is gone (or a zombie its dtach has not reaped
  // yet, which is as dead), the others run.
  nlohmann::json hosts;
  EXPECT_TRUE(wait_until(
      [&] {
        hosts = status_json(d, {"--hosts"}, &rc);
        for (const auto& v : hosts["workers"])
          if (v["id"] == victim) return v["process"]["state"] == "exited";
        return false;
      },
      10s))
      << hosts.dump(2);
  EXPECT_EQ(rc & 4, 4);
  ASSERT_EQ(hosts["hosts"].size(), 3u) << hosts.dump(2);
  for (const auto& h : hosts["hosts"]) EXPECT_EQ(h["outcome"], "ok") << h.dump();
  for (const auto& v : hosts["workers"]) {
    const bool dead = v["id"] == victim;
    EXPECT_EQ(v["process"]["state"], dead ? "exited" : "running") << v.dump();
    EXPECT_EQ(v["state"], dead ? "dead" : "running") << v.dump();
    EXPECT_GT(v["process"]["log_bytes"].get<long long>(), 0) << v.dump();
  }
  // The human view says the same.
  CommandResult table = d.ctl({"status", "--hosts"});
  EXPECT_NE(table.out.find("NOT RUNNING"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("! worker host2/1 is dead"), std::string::npos) << table.out;

  // The others finish the job, the victim's URLs included: wait returns 0 and the results
  // are the manifest's.
  CommandResult waited = ctl_redis(d, {"wait", job, "--timeout", "100s", "--quiet"});
  ASSERT_EQ(waited.rc, 0) << waited.err;
  const auto problems = compare_with_manifest(d.cluster.results(job), d.cluster.site().manifest());
  EXPECT_TRUE(problems.empty()) << problems.size() << " differences, first: " << problems.front();
  s = status_json(d, {job});
  EXPECT_EQ(s["state"], "finished");
  EXPECT_TRUE(s["finished"].get<bool>());
  // A redeploy brings the victim back: status is clean but for the site's failed URLs (8).
  report = d.deploy({}, &rc);
  ASSERT_EQ(rc, 0) << report.dump(2);
  ASSERT_TRUE(wait_until(
      [&] {
        status_json(d, {job}, &rc);
        return rc == 8;
      },
      10s))
      << rc;
}

TEST(Operate, CancelEmptiesTheFrontierAndWorkersDropWhatTheyHold) {
  Deployment d(3);
  d.write_hosts("  workers: 1\n");
  int rc = -1;
  auto report = d.deploy({}, &rc);
  ASSERT_EQ(rc, 0) << report.dump(2);
  const std::string job = d.cluster.submit_root({"--delay", "100ms"});
  ASSERT_TRUE(wait_until(
      [&] {
        auto c = d.cluster.counters(job);
        return c["in_flight"] > 0 && c["queued"] >= 10;
      },
      10s));
  CommandResult paused = ctl_redis(d, {"pause", job});
  ASSERT_EQ(paused.rc, 0) << paused.err;
  EXPECT_EQ(status_json(d, {job})["state"], "paused");
  CommandResult cancelled = ctl_redis(d, {"cancel", job});
  ASSERT_EQ(cancelled.rc, 0) << cancelled.err;
  EXPECT_NE(cancelled.out.find("cancelled"), std::string::npos) << cancelled.out;
  // Its URLs have left the frontier at once; the workers drop their leases at their next
  // heartbeat (250 ms); wait says it was cancelled.
  EXPECT_EQ(redis_integer(d, {"EXISTS", "crawl:sites:" + job, "crawl:sched:" + job}), 0);
  EXPECT_EQ(d.cluster.redis_cli({"--scan", "--pattern", "crawl:q:" + job + ":*"}), "");
  ASSERT_TRUE(wait_until([&] { return d.cluster.counters(job)["in_flight"] == 0; }, 5s));
  auto c = d.cluster.counters(job);
  EXPECT_EQ(c["queued"], 0);
  EXPECT_GT(c["cancelled"], 0);
  EXPECT_EQ(c["submitted"], c["done"] + c["failed"] + c["filtered"] + c["cancelled"]);
  CommandResult waited = ctl_redis(d, {"wait", job, "--timeout", "10s"});
  EXPECT_EQ(waited.rc, 3) << waited.err;
  EXPECT_EQ(status_json(d, {job})["state"], "cancelled");
  // --watch into a pipe: plain lines, and watching a job ends with it.
  CommandResult watched = d.ctl({"status", job, "--watch", "--interval", "100ms"});
  EXPECT_NE(watched.out.find("job " + job + " cancelled: "), std::string::npos) << watched.out;
  EXPECT_NE(watched.out.find("Z workers: 3 running"), std::string::npos) << watched.out;
  // A job that never finishes times out.
  const std::string other = d.cluster.submit_root({"--delay", "2s"});
  waited = ctl_redis(d, {"wait", other, "--timeout", "300ms"});
  EXPECT_EQ(waited.rc, 124) << waited.err;
  EXPECT_EQ(ctl_redis(d, {"cancel", other}).rc, 0);
  EXPECT_EQ(ctl_redis(d, {"wait", "999"}).rc, 2);
}

// The session processes of a host, by the SSH_CONNECTION their environment names.
std::vector<pid_t> sessions_on(const FleetHost& host, const std::string& program) {
  std::vector<pid_t> out;
  for (pid_t pid : find_processes([&](std::string_view env) {
         return env.find("SSH_CONNECTION=") != std::string_view::npos &&
                env.find(" " + host.address + " " + std::to_string(host.port)) !=
                    std::string_view::npos;
       })) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name == program) out.push_back(pid);
  }
  return out;
}

pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string state;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

TEST(Operate, LogsTailFollowAcrossADropAndFetchOnlyNewBytes) {
  Deployment d(3);
  d.write_hosts("  workers: 2\n", k_chatty);
  int rc = -1;
  auto report = d.deploy({}, &rc);
  ASSERT_EQ(rc, 0) << report.dump(2);
  const std::vector<std::string> ids = worker_ids(d, 2);
  // Every worker has written more than 5 lines by now (start, Redis, stats every 300 ms).
  std::this_thread::sleep_for(2500ms);

  // -n 5: five whole, prefixed lines per worker.
  CommandResult tail = d.ctl({"logs", "-n", "5"});
  ASSERT_EQ(tail.rc, 0) << tail.err;
  auto lines = by_worker(tail.out);
  ASSERT_EQ(lines.size(), ids.size()) << tail.out;
  const std::regex whole(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|debug|warning|error) crawlworker event=\w+.*)");
  for (const auto& id : ids) {
    ASSERT_EQ(lines[id].size(), 5u) << id << "\n" << tail.out;
    for (const auto& line : lines[id])
      EXPECT_TRUE(std::regex_match(line, whole)) << id << ": " << line;
  }
  // --grep picks lines on the hosts.
  CommandResult grep = d.ctl({"logs", "-n", "2", "--grep", "event=(start|redis_connected)"});
  ASSERT_EQ(grep.rc, 0) << grep.err;
  lines = by_worker(grep.out);
  for (const auto& id : ids) {
    ASSERT_EQ(lines[id].size(), 2u) << grep.out;
    EXPECT_NE(lines[id][0].find("event=start"), std::string::npos) << lines[id][0];
    EXPECT_NE(lines[id][1].find("event=redis_connected"), std::string::npos) << lines[id][1];
  }

  // --outdir: one file per worker, equal to the host's log; a second run fetches only the
  // bytes written since.
  const std::string outdir = d.dir / "logs";
  auto fetched = [&](const nlohmann::json& r) {
    long long n = 0;
    for (const auto& h : r["hosts"]) n += h.value("bytes_fetched", 0LL);
    return n;
  };
  CommandResult first = d.ctl({"logs", "--outdir", outdir, "--json"});
  ASSERT_EQ(first.rc, 0) << first.out << first.err;
  const long long first_bytes = fetched(nlohmann::json::parse(first.out));
  std::size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(outdir))
    if (entry.path().extension() == ".log") ++files;
  EXPECT_EQ(files, ids.size());
  d.ctl({"stop"});  // the logs stop growing
  const std::string remote = d.fleet.hosts()[0].remote_dir + "/log/w1.log";
  const std::string local = outdir + "/host1/w1.log";
  CommandResult second = d.ctl({"logs", "--outdir", outdir, "--json"});
  ASSERT_EQ(second.rc, 0) << second.err;
  const long long grown = fetched(nlohmann::json::parse(second.out));
  EXPECT_LT(grown, first_bytes);
  EXPECT_EQ(read_text(local), read_text(remote));
  {
    std::ofstream append(remote, std::ios::app);
    append << "a line appended by the test\n";
  }
  CommandResult third = d.ctl({"logs", "--outdir", outdir, "--json"});
  ASSERT_EQ(third.rc, 0) << third.err;
  EXPECT_EQ(fetched(nlohmann::json::parse(third.out)), 28);  // exactly the new line
  EXPECT_EQ(read_text(local), read_text(remote));
  // A rotation between two runs (the worker's rotating sink renames w1.log to w1.1.log) loses
  // nothing and repeats nothing.
  fs::rename(remote, d.fleet.hosts()[0].remote_dir + "/log/w1.1.log");
  write_text(remote, "after the rotation\n");
  CommandResult fourth = d.ctl({"logs", "--outdir", outdir, "--json"});
  ASSERT_EQ(fourth.rc, 0) << fourth.err;
  EXPECT_EQ(fetched(nlohmann::json::parse(fourth.out)), 19);
  EXPECT_EQ(read_text(local),
            read_text(d.fleet.hosts()[0].remote_dir + "/log/w1.1.log") + "after the rotation\n");

  // -f: new lines from every host; a host whose connection drops is reported and resumed
  // where it stopped.
  report = d.deploy({}, &rc);
  ASSERT_EQ(rc, 0) << report.dump(2);
  const std::string out = d.dir / "follow.out", err = d.dir / "follow.err";
  Process follow(SpawnOptions{
      {"sh", "-c",
       "exec \"$0\" logs -f -n 0 --poll 200ms -H \"$1\" --ssh-config none > \"$2\" 2> \"$3\"",
       CRAWLCTL, d.hosts_file, out, err},
      "",
      {}});
  auto hosts_seen = [&] {
    std::set<std::string> hosts;
    for (const auto& [id, l] : by_worker(read_text(out))) hosts.insert(id.substr(0, id.find('/')));
    return hosts.size();
  };
  ASSERT_TRUE(wait_until([&] { return hosts_seen() == 3; }, 15s))
      << read_text(out) << read_text(err);
  // Drop host2's connection: kill its per-connection sshd.
  const auto shells = sessions_on(d.fleet.hosts()[1], "sh");
  ASSERT_FALSE(shells.empty());
  for (pid_t sh : shells) kill(parent_of(sh), SIGKILL);
  ASSERT_TRUE(wait_until(
      [&] { return read_text(err).find("host2: reconnected") != std::string::npos; }, 20s))
      << read_text(err);
  EXPECT_NE(read_text(err).find("host2: connection lost"), std::string::npos) << read_text(err);
  const std::size_t mark = read_text(out).size();
  ASSERT_TRUE(wait_until(
      [&] { return read_text(out).substr(mark).find("host2/") != std::string::npos; }, 10s));
  // Whole lines only, and no line twice (the stats lines are all different).
  const std::string text = read_text(out);
  std::set<std::string> seen;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto space = line.find(' ');
    ASSERT_NE(space, std::string::npos) << line;
    EXPECT_TRUE(std::regex_match(line.substr(space + 1), whole)) << line;
    EXPECT_TRUE(seen.insert(line).second) << "twice: " << line;
  }
  follow.signal(SIGINT);
  ASSERT_TRUE(wait_until([&] { return !follow.running(); }, 10s));
  // The remote follow loops end with their sessions.
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = d.running();
        return r.count("sshd") == 0 && r.count("sh") == 0 && r.count("sleep") == 0;
      },
      10s));
}

}  // namespace
}  // namespace crawl::testing
