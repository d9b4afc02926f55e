// The fan-out pool over fake hosts: bounded parallelism, retries of transient connection
// failures only, Ctrl-C, deadlines.

#include <condition_variable>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

#include "fake_remote.hpp"
#include "fanout/pool.hpp"

namespace crawl::fanout {
namespace {

using fakes::FakeFleet;
using fakes::hosts;

Task ok_task() {
  return [](Remote&, const config::Host& h, const auto&) -> Expected<TaskResult> {
    return TaskResult{"done " + h.name, 0};
  };
}

PoolOptions quick() {
  PoolOptions o;
  o.retry_delay = std::chrono::milliseconds(0);
  return o;
}

TEST(Pool, RunsEveryHostAndNeverMoreThanFanoutAtOnce) {
  FakeFleet fleet;
  std::mutex m;
  std::condition_variable cv;
  int active = 0, most = 0, finished = 0;
  const int n = 9;
  PoolOptions o = quick();
  o.fanout = 3;
  auto reports = run(
      hosts(n), fleet.factory(),
      [&](Remote&, const config::Host& h, const auto&) -> Expected<TaskResult> {
        std::unique_lock l(m);
        most = std::max(most, ++active);
        // Wait until the pool is full (or only the last hosts remain): proves
        // three run together, and the maximum proves no fourth joins them.
        cv.notify_all();
        cv.wait(l, [&] { return active == 3 || n - finished < 3; });
        --active;
        ++finished;
        cv.notify_all();
        return TaskResult{h.name, 0};
      },
      o, nullptr);
  ASSERT_EQ(reports.size(), 9u);
  for (std::size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].host, i);
    EXPECT_EQ(reports[i].outcome, Outcome::ok);
    EXPECT_EQ(reports[i].result.summary, "h" + std::to_string(i + 1));
  }
  EXPECT_EQ(most, 3);
}

TEST(Pool, RetriesTransientConnectionErrorsOnly) {
  FakeFleet fleet;
  fleet.hosts["h1"].connect_failures = {
      {Outcome::unreachable, "connect", "Connection refused", true}};
  fleet.hosts["h2"].connect_failures = {{Outcome::host_key, "host-key", "changed", false}};
  fleet.hosts["h3"].connect_failures =
      std::vector<Failure>(5, {Outcome::unreachable, "connect", "refused", true});
  std::vector<std::string> states;
  auto reports =
      run(hosts(3), fleet.factory(), ok_task(), quick(), [&](std::size_t i, std::string_view s) {
        states.push_back(std::to_string(i) + ":" + std::string(s));
      });
  EXPECT_EQ(reports[0].outcome, Outcome::ok);
  EXPECT_EQ(reports[0].attempts, 2);
  EXPECT_EQ(reports[1].outcome, Outcome::host_key);
  EXPECT_EQ(reports[1].attempts, 1);
  EXPECT_EQ(reports[2].outcome, Outcome::unreachable);
  EXPECT_EQ(reports[2].attempts, 3);
  EXPECT_EQ(reports[2].failure.message, "refused");
  EXPECT_NE(std::find(states.begin(), states.end(), "0:reconnecting"), states.end());
  EXPECT_NE(std::find(states.begin(), states.end(), "2:unreachable"), states.end());
}

TEST(Pool, CtrlCStopsStartingHostsAndReportsTheRest) {
  FakeFleet fleet;
  std::atomic<bool> cancel{false};
  PoolOptions o = quick();
  o.fanout = 1;
  o.cancel = &cancel;
  auto reports = run(
      hosts(4), fleet.factory(),
      [&](Remote&, const config::Host& h, const auto&) -> Expected<TaskResult> {
        if (h.name == "h2") cancel = true;  // interrupted while h2 runs
        return TaskResult{"", 0};
      },
      o, nullptr);
  EXPECT_EQ(reports[0].outcome, Outcome::ok);
  EXPECT_EQ(reports[1].outcome, Outcome::ok);  // a started host finishes
  EXPECT_EQ(reports[2].outcome, Outcome::cancelled);
  EXPECT_EQ(reports[3].outcome, Outcome::cancelled);
  EXPECT_EQ(reports[3].failure.message, "not started: interrupted");
  EXPECT_EQ(fleet.hosts.count("h3"), 0u);  // never contacted
}

TEST(Pool, APassedDeadlineStartsNothing) {
  FakeFleet fleet;
  PoolOptions o = quick();
  o.deadline = Clock::now() - std::chrono::seconds(1);
  auto reports = run(hosts(2), fleet.factory(), ok_task(), o, nullptr);
  for (const auto& r : reports) {
    EXPECT_EQ(r.outcome, Outcome::cancelled);
    EXPECT_EQ(r.failure.message, "not started: the deadline passed");
  }
}

}  // namespace
}  // namespace crawl::fanout
