// crawlctl deploy and stop against a fleet of real sshd hosts: workers detached under dtach,
// a crawl by the deployed fleet, idempotent redeploys, keys, ssh config layering, the local
// transport. The faults are in deploy_fault_test.cpp.

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <signal.h>

#include "deployment.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;

TEST(Deploy, FiveHostsRunDetachedWorkersThatCrawlAndARedeployChangesNothing) {
  Deployment d(5, small_site(300));
  d.write_hosts("  workers: 2\n");
  int rc = -1;
  auto report = d.deploy({}, &rc);
  ASSERT_EQ(rc, 0) << report.dump(2);
  for (const auto& h : report["hosts"]) {
    EXPECT_EQ(h["outcome"], "ok") << h.dump();
    EXPECT_GT(h["bytes_uploaded"].get<long long>(), 0);
    EXPECT_NE(h["summary"].get<std::string>().find("2 started"), std::string::npos) << h.dump();
  }
  // Every SSH session has closed; the workers live on under dtach and keep heartbeating
  // (their heartbeat TTL is 1.5 s, so after 2 s only a live worker can be "alive").
  ASSERT_TRUE(wait_until([&] { return d.running().count("sshd") == 0; }, 10s));
  std::this_thread::sleep_for(2s);
  auto running = d.running();
  EXPECT_EQ(running["crawlworker"], 10);
  EXPECT_EQ(running["dtach"], 10);
  for (const auto& beat : d.heartbeats(worker_ids(d, 2))) EXPECT_TRUE(beat.alive);

  // The deployed fleet crawls a job to completion, exactly as the manifest says.
  const std::string job = d.cluster.submit_root();
  ASSERT_TRUE(d.cluster.wait_finished(job));
  const auto problems = compare_with_manifest(d.cluster.results(job), d.cluster.site().manifest());
  EXPECT_TRUE(problems.empty()) << problems.size() << " differences, first: " << problems.front();

  // Nothing changed: nothing uploaded, nothing restarted.
  report = d.deploy({}, &rc);
  ASSERT_EQ(rc, 0) << report.dump(2);
  for (const auto& h : report["hosts"]) {
    EXPECT_EQ(h["bytes_uploaded"].get<long long>(), 0) << h.dump();
    EXPECT_NE(h["summary"].get<std::string>().find("2 kept"), std::string::npos) << h.dump();
  }

  // stop: SIGTERM, drain, nothing left behind.
  CommandResult stop = d.ctl({"stop"});
  EXPECT_EQ(stop.rc, 0) << stop.out << stop.err;
  EXPECT_NE(stop.out.find("2 stopped"), std::string::npos) << stop.out;
  EXPECT_TRUE(wait_until([&] { return d.fleet.session_processes().empty(); }, 10s))
      << d.fleet.session_processes().size() << " processes left";
}

TEST(Deploy, ARedeployRestartsWhatChangedAndRevivesKilledWorkers) {
  Deployment d(2);
  d.write_hosts("  workers: 2\n");
  ASSERT_EQ(d.deploy()["outcomes"].value("ok", nlohmann::json::array()).size(), 2u);
  // A killed worker is started again; its sibling is kept.
  const std::string pid_file = d.fleet.hosts()[0].remote_dir + "/run/w1.pid";
  const pid_t victim = std::stoi(read_text(pid_file));
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  auto report = d.deploy();
  const auto& h1 = host_report(report, d.fleet.hosts()[0].name);
  EXPECT_NE(h1["summary"].get<std::string>().find("1 started, 1 kept"), std::string::npos)
      << h1.dump();
  // Deploy checked its heartbeat; the new worker's own pid file says who it is.
  EXPECT_TRUE(wait_until(
      [&] { return fs::exists(pid_file) && std::stoi(read_text(pid_file)) != victim; }, 10s));
  // One more worker per host: started beside the others.
  d.write_hosts("  workers: 3\n");
  report = d.deploy();
  for (const auto& h : report["hosts"])
    EXPECT_NE(h["summary"].get<std::string>().find("1 started, 2 kept"), std::string::npos)
        << h.dump();
  // A changed worker setting reaches every worker: all restart, and the config file is private.
  d.write_hosts("  workers: 3\n", "  user_agent: crawlworker-test/2\n");
  report = d.deploy();
  for (const auto& h : report["hosts"])
    EXPECT_NE(h["summary"].get<std::string>().find("3 started, 3 stopped"), std::string::npos)
        << h.dump();
  EXPECT_NE(read_text(d.fleet.hosts()[1].remote_dir + "/worker.yaml").find("crawlworker-test/2"),
            std::string::npos);
  EXPECT_EQ(
      fs::status(d.fleet.hosts()[1].remote_dir + "/worker.yaml").permissions() & fs::perms::all,
      fs::perms::owner_read | fs::perms::owner_write);
  // Fewer workers: the extra one is stopped, the rest kept.
  d.write_hosts("  workers: 1\n");
  report = d.deploy({"--restart"});
  for (const auto& h : report["hosts"]) EXPECT_EQ(h["outcome"], "ok") << h.dump();
  EXPECT_TRUE(wait_until([&] { return d.running()["crawlworker"] == 2; }, 10s));
}

TEST(Deploy, DryRunPrintsEachPlanAndTouchesNothing) {
  Deployment d(2);
  d.write_hosts("  workers: 2\n");
  CommandResult r = d.ctl({"deploy", "--dry-run"});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const auto& h : d.fleet.hosts()) {
    EXPECT_NE(r.out.find("# " + h.name), std::string::npos);
    EXPECT_FALSE(fs::exists(h.remote_dir + "/bin"));
  }
  EXPECT_NE(r.out.find("dtach -n"), std::string::npos);
  EXPECT_EQ(d.fleet.session_processes().size(), 0u);
}

TEST(Deploy, AnEncryptedKeyTakesItsPassphraseOnceFromTheEnvironment) {
  Deployment d(2);
  const std::string key = d.dir / "locked_key";
  ASSERT_EQ(run_program("/usr/bin/ssh-keygen",
                        {"-q", "-t", "ed25519", "-N", "open sesame", "-f", key}, d.dir)
                .rc,
            0);
  write_text(d.fleet.dir() + "/authorized_keys",
             read_text(d.fleet.dir() + "/authorized_keys") + read_text(key + ".pub"));
  for (auto& extra : d.host_extra) extra = "    identity_file: \"" + key + "\"\n";
  d.write_hosts("");
  // No terminal and no passphrase: every host fails at auth, saying why; nothing hangs.
  unsetenv("CRAWL_SSH_PASSPHRASE");
  int rc = 0;
  auto report = d.deploy({}, &rc);
  EXPECT_EQ(rc, 3) << report.dump(2);
  for (const auto& h : report["hosts"]) {
    EXPECT_EQ(h["outcome"], "auth") << h.dump();
    EXPECT_NE(h["message"].get<std::string>().find("no passphrase"), std::string::npos) << h.dump();
  }
  setenv("CRAWL_SSH_PASSPHRASE", "open sesame", 1);
  report = d.deploy({}, &rc);
  unsetenv("CRAWL_SSH_PASSPHRASE");
  EXPECT_EQ(rc, 0) << report.dump(2);
}

// hosts.yaml is layered over the ssh config: the config's Port applies where hosts.yaml leaves
// the default (22); hosts.yaml's own settings win where it sets them.
TEST(Deploy, SshConfigIsReadFirstAndHostsYamlLayeredOverIt) {
  Deployment d(2);
  const FleetHost& h1 = d.fleet.hosts()[0];
  const std::string config = d.dir / "ssh_config";
  write_text(config, "Host " + h1.address + "\n  Port " + std::to_string(h1.port) +
                         "\n  User nobody-here\n");
  d.host_extra[0] =
      "    address: " + h1.address + "\n";  // no port: 22 unless the config says otherwise
  d.write_hosts("");
  CommandResult r = run_program(
      CRAWLCTL, {"deploy", "--json", "-H", d.hosts_file, "--ssh-config", config}, d.dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;  // the port from the config, the user from hosts.yaml
  auto outcome_of = [](const CommandResult& run, const std::string& host) {
    return host_report(nlohmann::json::parse(run.out), host);
  };
  // Without the config, host1 is tried on port 22, where this machine may run an sshd of its
  // own (that one does not know our key): it must not deploy there; host2 still does.
  r = run_program(CRAWLCTL, {"deploy", "--json", "-H", d.hosts_file, "--ssh-config", "none"},
                  d.dir);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(outcome_of(r, h1.name)["outcome"], "ok") << r.out;
  EXPECT_EQ(outcome_of(r, d.fleet.hosts()[1].name)["outcome"], "ok") << r.out;
  // A port written in hosts.yaml wins over the config's: one where nothing listens.
  const int closed = free_port(h1.address);
  d.host_extra[0] = "    address: " + h1.address + "\n    port: " + std::to_string(closed) + "\n";
  d.write_hosts("");
  r = run_program(CRAWLCTL, {"deploy", "--json", "-H", d.hosts_file, "--ssh-config", config},
                  d.dir);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_EQ(outcome_of(r, h1.name)["outcome"], "unreachable") << r.out;
}

TEST(Deploy, TheLocalTransportRunsTheSameStepsWithoutSsh) {
  RedisServer redis;
  TempDir dir("local-deploy");
  const std::string remote = dir / "local crawl";
  const std::string hosts = dir / "hosts.yaml";
  write_text(hosts, "hosts:\n  here:\n    transport: local\n    workers: 2\n    remote_dir: \"" +
                        remote + "\"\nredis:\n  url: " + redis.url() +
                        "\nworker:\n  heartbeat_interval: 250ms\n"
                        "  heartbeat_ttl: 1500ms\n");
  CommandResult r = run_program(CRAWLCTL, {"deploy", "-H", hosts, "--json"}, dir);
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("2 started"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(remote + "/bin/crawlworker"));
  r = run_program(CRAWLCTL, {"deploy", "-H", hosts, "--json"}, dir);
  EXPECT_NE(r.out.find("2 kept"), std::string::npos) << r.out;
  const pid_t worker = std::stoi(read_text(remote + "/run/w1.pid"));
  r = run_program(CRAWLCTL, {"stop", "-H", hosts}, dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("2 stopped"), std::string::npos) << r.out;
  // Gone, or a zombie until whoever inherited it (init, as it outlived its session) reaps it.
  std::ifstream stat("/proc/" + std::to_string(worker) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  EXPECT_TRUE(line.empty() || (close != std::string::npos && line.substr(close + 2, 1) == "Z"))
      << line;
}

}  // namespace
}  // namespace crawl::testing
