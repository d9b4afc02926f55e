#include <condition_variable>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

#include "fanout/host_tasks.hpp"
#include "fanout/pool.hpp"

namespace crawl::fanout {
namespace {

std::vector<config::Host> hosts(int n) {
  std::vector<config::Host> out;
  for (int i = 1; i <= n; ++i) {
    config::Host h;
    h.name = "h" + std::to_string(i);
    h.address = h.name;
    h.workers = 2;
    out.push_back(h);
  }
  return out;
}

// A host as fan-out sees it: scripted connection failures and command results, and a record
// of what was asked of it.
struct FakeHost {
  std::vector<Failure> connect_failures;  // consumed one per attempt
  std::function<ExecResult(const std::string& command)> exec;
  std::vector<std::string> commands;
  std::vector<std::string> uploads;
  std::map<std::string, std::string> files;  // what read_file finds
  int connects = 0;
};

class FakeRemote : public Remote {
 public:
  FakeRemote(FakeHost& host, std::mutex& lock) : m_host(host), m_lock(lock) {}
  Expected<void> connect(Clock::time_point) override {
    std::lock_guard l(m_lock);
    ++m_host.connects;
    if (m_host.connect_failures.empty()) return {};
    Failure f = m_host.connect_failures.front();
    m_host.connect_failures.erase(m_host.connect_failures.begin());
    return tl::unexpected(f);
  }
  Expected<ExecResult> run(std::string_view command, std::string_view, Clock::time_point,
                           const OutputSink* sink) override {
    std::lock_guard l(m_lock);
    m_host.commands.emplace_back(command);
    if (!m_host.exec) return ExecResult{0, "", ""};
    Expected<ExecResult> r = m_host.exec(std::string(command));
    if (r && sink) {
      if (!(*sink)(r->out)) return failure(Outcome::cancelled, "", "ended by the reader");
      r->out.clear();
    }
    return r;
  }
  Expected<void> upload(const std::string& local, const std::string& remote, int,
                        Clock::time_point) override {
    std::lock_guard l(m_lock);
    m_host.uploads.push_back(local + " -> " + remote);
    return {};
  }
  Expected<std::optional<std::string>> read_file(const std::string& path, std::size_t,
                                                 Clock::time_point) override {
    std::lock_guard l(m_lock);
    if (auto it = m_host.files.find(path); it != m_host.files.end())
      return std::optional<std::string>(it->second);
    return std::optional<std::string>();
  }

 private:
  FakeHost& m_host;
  std::mutex& m_lock;
};

struct FakeFleet {
  std::map<std::string, FakeHost> hosts;
  std::mutex lock;
  RemoteFactory factory() {
    return
        [this](const config::Host& h) { return std::make_unique<FakeRemote>(hosts[h.name], lock); };
  }
};

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

// --- the deploy task over the fake ---

deploy::Release release() {
  deploy::Release r;
  r.binary_path = "crawlworker";
  r.binary_sha256 = std::string(64, 'b');
  r.binary_size = 2'000'000;
  r.os = "Linux";
  r.arch = "x86_64";
  r.config = "redis: {}\n";
  return r;
}

const std::string k_probe = "os=Linux\narch=x86_64\nsha256=\n";

TEST(DeployHost, AFreshHostGetsTheBinaryThenStarts) {
  FakeHost host;
  std::mutex lock;
  host.exec = [](const std::string& command) {
    EXPECT_NE(command.find("new=bin/.crawlworker.upload"), std::string::npos);
    return ExecResult{0, k_probe + "started=1\nstarted=2\n", ""};
  };
  FakeRemote remote(host, lock);
  DeployTask task;
  task.release = release();
  task.deploy_id = "run7";
  std::vector<ExpectedWorker> verified;
  task.verify = [&](const std::vector<ExpectedWorker>& w) -> Expected<std::vector<std::string>> {
    verified = w;
    return std::vector<std::string>{};
  };
  auto r = deploy_host(remote, hosts(1)[0], task, [](std::string_view) {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(host.commands.size(), 1u);
  EXPECT_EQ(host.uploads,
            (std::vector<std::string>{"crawlworker -> crawl/bin/.crawlworker.upload"}));
  EXPECT_EQ(r->bytes_uploaded, 2'000'000u);
  EXPECT_EQ(r->summary, "2 started, 2.0 MB uploaded");
  ASSERT_EQ(verified.size(), 2u);
  EXPECT_EQ(verified[1].id, "h1/2");
  EXPECT_EQ(verified[1].deploy_id, "run7");
}

TEST(DeployHost, AnUnchangedHostIsOneCommand) {
  FakeHost host;
  std::mutex lock;
  host.exec = [](const std::string&) { return ExecResult{0, "os=Linux\nkept=1\nkept=2\n", ""}; };
  host.files["crawl/bin/crawlworker.sha256"] = release().binary_sha256 + "\n";
  FakeRemote remote(host, lock);
  DeployTask task;
  task.release = release();
  auto r = deploy_host(remote, hosts(1)[0], task, [](std::string_view) {});
  ASSERT_TRUE(r);
  EXPECT_EQ(host.commands.size(), 1u);
  EXPECT_TRUE(host.uploads.empty());
  EXPECT_EQ(r->summary, "2 kept, binary unchanged");
}

TEST(DeployHost, FailuresNameTheStepAndTheReason) {
  FakeHost host;
  std::mutex lock;
  host.exec = [](const std::string&) {
    return ExecResult{10, "os=Linux\narch=x86_64\nmissing=dtach\n", ""};
  };
  host.files["crawl/bin/crawlworker.sha256"] = release().binary_sha256;
  FakeRemote remote(host, lock);
  DeployTask task;
  task.release = release();
  auto r = deploy_host(remote, hosts(1)[0], task, [](std::string_view) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Outcome::step_failed);
  EXPECT_EQ(r.error().step, "activate");
  EXPECT_NE(r.error().message.find("dtach"), std::string::npos);
  EXPECT_TRUE(host.uploads.empty());

  host.exec = [](const std::string&) { return ExecResult{6, "", "worker 1 exited at once\n"}; };
  task.release.binary_sha256 = "";
  r = deploy_host(remote, hosts(1)[0], task, [](std::string_view) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().step, "activate");
  EXPECT_EQ(r.error().message, "exit status 6: worker 1 exited at once");
}

TEST(DeployHost, AMissingLibraryIsInstalledThenTheUploadActivated) {
  FakeHost host;
  std::mutex lock;
  int activations = 0;
  host.exec = [&](const std::string& command) {
    if (command == "apt-get install -y libgumbo1") return ExecResult{0, "", ""};
    ++activations;
    // Both activations hand over the upload; the first finds a library missing.
    EXPECT_NE(command.find("new=bin/.crawlworker.upload"), std::string::npos);
    if (activations == 1)
      return ExecResult{4, k_probe, "libgumbo.so.1: cannot open shared object file\n"};
    return ExecResult{0, k_probe + "started=1\nstarted=2\n", ""};
  };
  FakeRemote remote(host, lock);
  config::Host h = hosts(1)[0];
  h.install_command = "apt-get install -y libgumbo1";
  DeployTask task;
  task.release = release();
  auto r = deploy_host(remote, h, task, [](std::string_view) {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(activations, 2);
  EXPECT_EQ(host.uploads.size(), 1u);
  EXPECT_EQ(r->summary, "2 started, prerequisites installed, 2.0 MB uploaded");
}

TEST(DeployHost, SilentWorkersFailVerifyWithTheirLog) {
  FakeHost host;
  std::mutex lock;
  host.exec = [](const std::string& command) {
    if (command.find("tail -n 5") != std::string::npos)
      return ExecResult{0, "event=redis_error\n", ""};
    return ExecResult{0, "started=1\nstarted=2\n", ""};
  };
  FakeRemote remote(host, lock);
  DeployTask task;
  task.release = release();
  task.verify = [](const std::vector<ExpectedWorker>&) -> Expected<std::vector<std::string>> {
    return std::vector<std::string>{"h1/2"};
  };
  auto r = deploy_host(remote, hosts(1)[0], task, [](std::string_view) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().step, "verify");
  EXPECT_NE(r.error().message.find("no heartbeat in Redis from h1/2"), std::string::npos);
  EXPECT_NE(r.error().message.find("log/w2.log:\nevent=redis_error"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace crawl::fanout
