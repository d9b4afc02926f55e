// The deploy host task (fanout/host_tasks) over a fake host: a fresh host, an unchanged one, a
// failing step, a missing library, workers that never heartbeat.

#include <mutex>

#include <gtest/gtest.h>

#include "fake_remote.hpp"
#include "fanout/host_tasks.hpp"

namespace crawl::fanout {
namespace {

using fakes::FakeFleet;
using fakes::FakeHost;
using fakes::FakeRemote;
using fakes::hosts;

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
