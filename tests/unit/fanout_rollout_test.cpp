// Rolling runs over fake hosts: the waves, the failure threshold that stops them, the canary
// wave and its check, and the per-host report file `--limit @failed` reads.

#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "fake_remote.hpp"
#include "fanout/relay.hpp"
#include "fanout/rollout.hpp"
#include "fanout/run_record.hpp"

namespace crawl::fanout {
namespace {

using fakes::FakeFleet;
using fakes::hosts;

PoolOptions quick() {
  PoolOptions o;
  o.retry_delay = std::chrono::milliseconds(0);
  return o;
}

// Fails on the hosts named, succeeds elsewhere.
Task failing_on(std::set<std::string> bad) {
  return [bad](Remote&, const config::Host& h, const auto&) -> Expected<TaskResult> {
    if (bad.count(h.name)) return failure(Outcome::step_failed, "activate", "exit status 1");
    return TaskResult{"done", 0};
  };
}

TEST(Rollout, SharesAreCountsOrPercentages) {
  auto ten = parse_share("10", "--batch", 1);
  ASSERT_TRUE(ten);
  EXPECT_EQ(ten->of(1000), 10u);
  auto quarter = parse_share("25%", "--batch", 1);
  ASSERT_TRUE(quarter);
  EXPECT_EQ(quarter->of(10), 3u);  // rounded up
  EXPECT_EQ(quarter->text(), "25%");
  auto tenth = parse_share("10%", "--max-fail", 0);
  ASSERT_TRUE(tenth);
  EXPECT_EQ(tenth->at_most(15), 1u);  // a limit rounds down
  EXPECT_EQ(tenth->of(15), 2u);       // a batch rounds up
  auto none = parse_share("0", "--max-fail", 0);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->of(50), 0u);
  auto zero = parse_share("0", "--batch", 1);
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("--batch"), std::string::npos);
  EXPECT_FALSE(parse_share("0%", "--batch", 1));
  EXPECT_FALSE(parse_share("150%", "--max-fail", 0));
  EXPECT_FALSE(parse_share("ten", "--batch", 1));
  EXPECT_FALSE(parse_share("%", "--batch", 1));
  EXPECT_FALSE(parse_share("-1", "--max-fail", 0));
}

TEST(Rollout, WavesAreTheCanaryThenBatchesInTheHostsOrder) {
  RolloutOptions o;
  o.canary = 2;
  o.batch = Share{3, -1};
  EXPECT_EQ(plan_waves(10, o),
            (std::vector<std::vector<std::size_t>>{{0, 1}, {2, 3, 4}, {5, 6, 7}, {8, 9}}));
  o.canary = 0;
  o.batch = Share{0, 50};
  EXPECT_EQ(plan_waves(5, o), (std::vector<std::vector<std::size_t>>{{0, 1, 2}, {3, 4}}));
  o.batch.reset();
  EXPECT_EQ(plan_waves(3, o), (std::vector<std::vector<std::size_t>>{{0, 1, 2}}));
  o.canary = 5;  // more canaries than hosts: one wave
  EXPECT_EQ(plan_waves(3, o), (std::vector<std::vector<std::size_t>>{{0, 1, 2}}));
}

TEST(Relays, EachGroupsFirstSshHostGoesFirst) {
  auto make = [](std::string name, std::string group, bool local = false) {
    config::Host h;
    h.name = std::move(name);
    h.group = std::move(group);
    if (local) h.transport = config::Transport::local;
    return h;
  };
  std::vector<config::Host> fleet{make("l1", "eu", true), make("a1", "eu"),  make("b1", "us"),
                                  make("a2", "eu"),       make("c1", ""),    make("b2", "us"),
                                  make("c2", ""),         make("d1", "asia")};
  EXPECT_EQ(relays_first(fleet), 3u);
  std::vector<std::string> order;
  for (const auto& h : fleet) order.push_back(h.name);
  // One relay per group of two or more over SSH (d1 is alone; l1 is local); the rest in order.
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "b1", "c1", "l1", "a2", "b2", "c2", "d1"}));

  FakeFleet fakes;
  Relays relays(
      fleet, 3, fakes.factory(),
      [] {
        return Result<KeyPair>(KeyPair{"k", "ssh-ed25519 K"});
      },
      "id", Clock::now() + std::chrono::minutes(1));
  EXPECT_EQ(relays.relay_of(fleet[4])->name, "a1");  // a2
  EXPECT_EQ(relays.relay_of(fleet[6])->name, "c1");  // c2: the hosts outside any group
  EXPECT_EQ(relays.relay_of(fleet[0]), nullptr);     // a relay has none
  EXPECT_EQ(relays.relay_of(fleet[3]), nullptr);     // a local host is not relayed to
  EXPECT_EQ(relays.relay_of(fleet[7]), nullptr);     // asia has no relay
  // A host waits for its relay to have the binary, or for the relay's deploy to end without it.
  const auto soon = [] { return Clock::now() + std::chrono::milliseconds(50); };
  EXPECT_EQ(relays.wait(fleet[0], soon()), "the relay a1 did not have the binary by the deadline");
  std::thread later([&] { relays.binary_ready(fleet[0]); });
  EXPECT_EQ(relays.wait(fleet[0], Clock::now() + std::chrono::seconds(30)), "");
  later.join();
  relays.ended(fleet[1]);
  EXPECT_EQ(relays.wait(fleet[1], soon()), "the relay b1 did not deploy");
  EXPECT_EQ(relays.no_key(fleet[0]), "");
  EXPECT_EQ(relays.grant(fleet[0], fleet[4]).tag, "crawlctl-relay-id-a2");
  EXPECT_EQ(relays.grant(fleet[0], fleet[4]).public_key, "ssh-ed25519 K");
}

TEST(Rollout, PastTheFailureThresholdTheRestIsLeftUntouched) {
  FakeFleet fleet;
  RolloutOptions o;
  o.batch = Share{2, -1};
  o.max_fail = Share{1, -1};
  std::vector<std::string> said;
  auto reports = run_rollout(hosts(8), fleet.factory(), failing_on({"h3", "h4"}), quick(), nullptr,
                             o, nullptr, [&](const std::string& line) { said.push_back(line); });
  ASSERT_EQ(reports.size(), 8u);
  EXPECT_EQ(reports[0].outcome, Outcome::ok);
  EXPECT_EQ(reports[1].outcome, Outcome::ok);
  EXPECT_EQ(reports[2].outcome, Outcome::step_failed);
  EXPECT_EQ(reports[3].outcome, Outcome::step_failed);
  for (std::size_t i = 4; i < 8; ++i) {
    EXPECT_EQ(reports[i].host, i);
    EXPECT_EQ(reports[i].outcome, Outcome::cancelled);
    EXPECT_EQ(reports[i].failure.message,
              "not started: 2 host(s) failed, more than --max-fail 1 (1)");
    EXPECT_EQ(fleet.hosts["h" + std::to_string(i + 1)].connects, 0) << "never contacted";
  }
  ASSERT_EQ(said.size(), 3u);
  EXPECT_EQ(said[0], "wave 1 of 4: 2 host(s)");
  EXPECT_EQ(said[2],
            "the rollout stops: 2 host(s) failed, more than --max-fail 1 (1); the 4 host(s) "
            "after wave 2 are left untouched");

  // At the threshold, not past it: every wave runs.
  FakeFleet again;
  o.max_fail = Share{0, 25};  // 2 of 8
  reports = run_rollout(hosts(8), again.factory(), failing_on({"h3", "h4"}), quick(), nullptr, o,
                        nullptr, [](const std::string&) {});
  for (std::size_t i = 4; i < 8; ++i) EXPECT_EQ(reports[i].outcome, Outcome::ok);
}

TEST(Rollout, ACanaryThatFailsItsCheckStopsTheRest) {
  FakeFleet fleet;
  RolloutOptions o;
  o.canary = 1;
  std::vector<std::size_t> checked;
  auto reports = run_rollout(
      hosts(4), fleet.factory(), failing_on({}), quick(), nullptr, o,
      [&](const std::vector<std::size_t>& canaries) {
        checked = canaries;
        return std::vector<std::pair<std::size_t, Failure>>{
            {0, Failure{Outcome::step_failed, "canary", "h1/1: no heartbeat", false}}};
      },
      [](const std::string&) {});
  EXPECT_EQ(checked, (std::vector<std::size_t>{0}));
  EXPECT_EQ(reports[0].outcome, Outcome::step_failed);
  EXPECT_EQ(reports[0].failure.step, "canary");
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(reports[i].outcome, Outcome::cancelled);
    EXPECT_EQ(reports[i].failure.message, "not started: 1 of the 1 canary host(s) failed");
  }

  // A canary that fails its deploy is not checked, and stops the rest even with no --max-fail.
  FakeFleet other;
  checked.clear();
  reports = run_rollout(
      hosts(3), other.factory(), failing_on({"h1"}), quick(), nullptr, o,
      [&](const std::vector<std::size_t>& canaries) {
        checked = canaries;
        return std::vector<std::pair<std::size_t, Failure>>{};
      },
      [](const std::string&) {});
  EXPECT_TRUE(checked.empty());
  EXPECT_EQ(reports[1].outcome, Outcome::cancelled);
  EXPECT_EQ(reports[2].outcome, Outcome::cancelled);
}

TEST(RunRecord, TheFailedHostsOfTheLastRunComeBack) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("crawl-run-record-" + std::to_string(::getpid()));
  setenv("XDG_STATE_HOME", dir.c_str(), 1);
  const std::string path = run_record_path("fleet/hosts.yaml", "deploy");
  EXPECT_TRUE(path.starts_with(dir + "/crawlctl/")) << path;
  EXPECT_TRUE(path.ends_with("%2Ffleet%2Fhosts.yaml.deploy.json")) << path;
  EXPECT_NE(path, run_record_path("fleet/hosts.yaml", "stop"));
  EXPECT_FALSE(read_run_record(path));  // none yet

  FakeFleet fleet;
  const auto h = hosts(4);
  auto reports = run(h, fleet.factory(), failing_on({"h2", "h4"}), quick(), nullptr);
  ASSERT_TRUE(write_run_record(path, "deploy", report_json(h, reports, std::chrono::seconds(3))));
  auto record = read_run_record(path);
  ASSERT_TRUE(record) << record.error().message;
  EXPECT_EQ(record->command, "deploy");
  EXPECT_EQ(record->hosts, 4u);
  EXPECT_EQ(record->failed, (std::vector<std::string>{"h2", "h4"}));
  EXPECT_GT(record->at_ms, 0);

  // Not a report: refused by name.
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("{\"hosts\": 3}", f);
  std::fclose(f);
  auto bad = read_run_record(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find(path), std::string::npos);
  unsetenv("XDG_STATE_HOME");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace crawl::fanout
