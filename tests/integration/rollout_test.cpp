// Rolling deploys against a fleet of real sshd hosts: waves that stop at the failure threshold
// and leave the rest untouched, `--limit @failed` taking exactly the hosts the last run did not
// end ok on, and a canary whose worker dies during the canary wait.

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "deployment.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;

std::set<std::string> names_in(const nlohmann::json& report) {
  std::set<std::string> out;
  for (const auto& h : report["hosts"]) out.insert(h["name"].get<std::string>());
  return out;
}

std::string name(const Deployment& d, std::size_t i) {
  return d.fleet.hosts()[i].name;
}

TEST(RollingDeploy, StopsPastMaxFailLeavesTheRestUntouchedAndFailedRunsAgain) {
  Deployment d(5);
  // Hosts 2 and 3 cannot create their directory: their activate fails.
  d.host_extra[1] = d.host_extra[2] = "    remote_dir: /proc/crawl-nowhere\n";
  d.write_hosts("  workers: 1\n");
  int rc = -1;
  auto report = d.deploy({"--batch", "1", "--max-fail", "1"}, &rc);
  EXPECT_EQ(rc, 1) << report.dump(2);
  EXPECT_EQ(host_report(report, name(d, 0))["outcome"], "ok");
  EXPECT_EQ(host_report(report, name(d, 1))["outcome"], "step-failed");
  EXPECT_EQ(host_report(report, name(d, 2))["outcome"], "step-failed");
  for (std::size_t i : {3u, 4u}) {
    const auto& h = host_report(report, name(d, i));
    EXPECT_EQ(h["outcome"], "not-started") << h.dump();
    EXPECT_EQ(h["message"], "not started: 2 host(s) failed, more than --max-fail 1 (1)")
        << h.dump();
    EXPECT_FALSE(fs::exists(d.fleet.hosts()[i].remote_dir + "/bin")) << "untouched";
  }

  // The failed and the untouched ones, exactly; host 2 is mended, host 3 is not.
  d.host_extra[1] = "";
  d.write_hosts("  workers: 1\n");
  report = d.deploy({"--limit", "@failed"}, &rc);
  EXPECT_EQ(rc, 1) << report.dump(2);
  EXPECT_EQ(names_in(report),
            (std::set<std::string>{name(d, 1), name(d, 2), name(d, 3), name(d, 4)}));
  EXPECT_EQ(host_report(report, name(d, 2))["outcome"], "step-failed");
  for (std::size_t i : {1u, 3u, 4u}) EXPECT_EQ(host_report(report, name(d, i))["outcome"], "ok");

  report = d.deploy({"--limit", "@failed"}, &rc);
  EXPECT_EQ(names_in(report), (std::set<std::string>{name(d, 2)}));

  // All mended: the last run's one failure goes through, and then nothing is left to retry.
  d.host_extra[2] = "";
  d.write_hosts("  workers: 1\n");
  report = d.deploy({"--limit", "@failed"}, &rc);
  EXPECT_EQ(rc, 0) << report.dump(2);
  EXPECT_EQ(names_in(report), (std::set<std::string>{name(d, 2)}));
  CommandResult none = d.ctl({"deploy", "--limit", "@failed"});
  EXPECT_EQ(none.rc, 2);
  EXPECT_NE(none.err.find("--limit @failed: the last deploy over " + d.hosts_file +
                          " ended ok on all 1 host(s)"),
            std::string::npos)
      << none.err;
  // stop keeps its own record.
  CommandResult stop = d.ctl({"stop", "--limit", "@failed"});
  EXPECT_EQ(stop.rc, 2);
  EXPECT_NE(stop.err.find("no stop over"), std::string::npos) << stop.err;
}

// The canary's worker is killed during the canary wait: the rollout stops there.
TEST(RollingDeploy, ACanaryWhoseWorkerDiesStopsTheRest) {
  Deployment d(3);
  d.write_hosts("  workers: 1\n");
  const std::string out = d.dir / "deploy.json", err = d.dir / "deploy.err";
  Process deploy({{"/bin/sh", "-c",
                   "exec \"$0\" deploy --json -H \"$1\" --ssh-config none --canary 1 "
                   "--canary-wait 4s >\"$2\" 2>\"$3\"",
                   CRAWLCTL, d.hosts_file, out, err},
                  d.dir / "deploy.log",
                  {"XDG_STATE_HOME=" + (d.dir / "state")}});
  ASSERT_TRUE(wait_until(
      [&] { return read_text(err).find("canary: watching 1 worker(s)") != std::string::npos; },
      60s))
      << read_text(err);
  const std::string pid_file = d.fleet.hosts()[0].remote_dir + "/run/w1.pid";
  const pid_t pid = std::stoi(read_text(pid_file));
  ASSERT_GT(pid, 1);
  ASSERT_EQ(kill(pid, SIGKILL), 0);  // the worker this test's deploy started
  ASSERT_TRUE(wait_until([&] { return !deploy.running(); }, 60s)) << read_text(err);
  deploy.stop();
  auto report = nlohmann::json::parse(read_text(out));
  const auto& canary = host_report(report, name(d, 0));
  EXPECT_EQ(canary["outcome"], "step-failed") << canary.dump();
  EXPECT_EQ(canary["step"], "canary");
  EXPECT_NE(canary["message"].get<std::string>().find(name(d, 0) + "/1: "), std::string::npos)
      << canary.dump();
  for (std::size_t i : {1u, 2u}) {
    const auto& h = host_report(report, name(d, i));
    EXPECT_EQ(h["outcome"], "not-started") << h.dump();
    EXPECT_EQ(h["message"], "not started: 1 of the 1 canary host(s) failed");
    EXPECT_FALSE(fs::exists(d.fleet.hosts()[i].remote_dir + "/bin"));
  }

  // A canary that stays up lets the rest through.
  report = d.deploy({"--canary", "1", "--canary-wait", "2s"});
  for (const auto& h : report["hosts"]) EXPECT_EQ(h["outcome"], "ok") << h.dump();
}

}  // namespace
}  // namespace crawl::testing
