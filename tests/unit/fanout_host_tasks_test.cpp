// The deploy host task (fanout/host_tasks) over a fake host: a fresh host, an unchanged one, a
// failing step, a missing library, workers that never heartbeat.

#include <mutex>
#include <thread>

#include <fmt/format.h>
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
  r.payload = std::make_shared<const deploy::Payload>(std::string(600'000, 'z'));
  return r;
}

// Whether an activate command receives the binary after the config (clen= the config's length).
bool sends_binary(const std::string& command) {
  return command.find("clen=" + std::to_string(release().config.size()) + "\n") !=
         std::string::npos;
}

const std::string k_probe = "os=Linux\narch=x86_64\nsha256=\n";

TEST(DeployHost, AFreshHostGetsTheBinaryThenStarts) {
  FakeHost host;
  std::mutex lock;
  host.exec = [](const std::string& command) {
    // The first activate finds no binary; the second one receives it.
    if (!sends_binary(command)) return ExecResult{10, k_probe, ""};
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
  ASSERT_EQ(host.commands.size(), 2u);
  // The config alone, then the config followed by the binary.
  EXPECT_EQ(host.inputs[0], release().config);
  const std::string sent = *task.release.payload->compressed();
  EXPECT_EQ(host.inputs[1], release().config + sent);
  EXPECT_EQ(r->bytes_uploaded, sent.size());
  EXPECT_EQ(r->summary,
            fmt::format("2 started, binary sent ({:.1f} MB compressed)", sent.size() / 1e6));
  ASSERT_EQ(verified.size(), 2u);
  EXPECT_EQ(verified[1].id, "h1/2");
  EXPECT_EQ(verified[1].deploy_id, "run7");
}

TEST(DeployHost, AnUnchangedHostIsOneCommand) {
  FakeHost host;
  std::mutex lock;
  host.exec = [](const std::string& command) {
    EXPECT_FALSE(sends_binary(command));
    EXPECT_NE(command.find("new=\n"), std::string::npos);
    return ExecResult{0, "os=Linux\nkept=1\nkept=2\n", ""};
  };
  FakeRemote remote(host, lock);
  DeployTask task;
  task.release = release();
  auto r = deploy_host(remote, hosts(1)[0], task, [](std::string_view) {});
  ASSERT_TRUE(r);
  EXPECT_EQ(host.commands.size(), 1u);
  EXPECT_EQ(host.inputs[0], release().config);
  EXPECT_EQ(r->summary, "2 kept, binary unchanged");
}

TEST(DeployHost, FailuresNameTheStepAndTheReason) {
  FakeHost host;
  std::mutex lock;
  host.exec = [](const std::string&) {
    return ExecResult{
        10, "os=Linux\narch=x86_64\nmissing=dtach\nsha256=" + std::string(64, 'b') + "\n", ""};
  };
  FakeRemote remote(host, lock);
  DeployTask task;
  task.release = release();
  auto r = deploy_host(remote, hosts(1)[0], task, [](std::string_view) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Outcome::step_failed);
  EXPECT_EQ(r.error().step, "activate");
  EXPECT_NE(r.error().message.find("dtach"), std::string::npos);
  EXPECT_EQ(host.commands.size(), 1u);  // nothing sent to a host that cannot run it

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
  std::vector<std::string> activations;
  host.exec = [&](const std::string& command) {
    if (command == "apt-get install -y libgumbo1") return ExecResult{0, "", ""};
    activations.push_back(command);
    if (activations.size() == 1) return ExecResult{10, k_probe, ""};
    // The binary sent runs only once its library is installed; the upload stays meanwhile.
    EXPECT_NE(command.find("new=bin/.crawlworker.upload"), std::string::npos);
    if (activations.size() == 2)
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
  ASSERT_EQ(activations.size(), 3u);
  EXPECT_TRUE(sends_binary(activations[1]));
  EXPECT_FALSE(sends_binary(activations[2]));  // sent once
  EXPECT_EQ(r->summary, fmt::format("2 started, prerequisites installed, binary sent ({:.1f} MB "
                                    "compressed)",
                                    task.release.payload->compressed()->size() / 1e6));
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

// deploy --relay over fakes: h1 is the relay of h2's group.
struct RelayFixture {
  FakeFleet fleet;
  std::mutex lock;
  FakeHost& relay = fleet.hosts["h1"];
  FakeHost peer;
  std::vector<config::Host> all = hosts(2);
  Relays relays{all,
                1,
                fleet.factory(),
                [] {
                  return Result<KeyPair>(KeyPair{"PRIVATE KEY", "ssh-ed25519 AAAAPUB"});
                },
                "run7",
                Clock::now() + std::chrono::minutes(10)};
  DeployTask task;
  RelayFixture() {
    task.release = release();
    task.deploy_id = "run7";
    task.relays = &relays;
    peer.endpoint = deploy::SshEndpoint{"10.0.0.2", 2222, "crawl", "ssh-ed25519 AAAAHOST"};
  }
  Expected<TaskResult> deploy_peer() {
    FakeRemote remote(peer, lock);
    return deploy_host(remote, all[1], task, [](std::string_view) {});
  }
};

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// A host of the relayed group: authorize succeeds, the first activate asks for the binary, and
// an activate with it succeeds, sent from here or relayed (unless `relayed` says otherwise).
std::function<ExecResult(const std::string&)> group_host(ExecResult relayed = ExecResult{
                                                             0, k_probe + "started=1\n", ""}) {
  return [relayed](const std::string& command) {
    if (contains(command, "authorized_keys") && !contains(command, "relayed="))  // authorize
      return ExecResult{0, "", ""};
    if (contains(command, "relayed=1")) return relayed;
    if (sends_binary(command)) return ExecResult{0, k_probe + "started=1\n", ""};
    return ExecResult{10, k_probe, ""};
  };
}

TEST(DeployHost, AHostOfARelayedGroupGetsTheBinaryFromItsRelay) {
  RelayFixture f;
  f.relays.binary_ready(f.all[0]);
  f.peer.exec = group_host();
  auto r = f.deploy_peer();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->bytes_uploaded, 0u);
  EXPECT_NE(r->summary.find("binary relayed by h1"), std::string::npos) << r->summary;
  // Probe, authorize (the key, restricted to its forced command, until the deadline), activate.
  ASSERT_EQ(f.peer.commands.size(), 3u);
  const std::string& authorize = f.peer.commands[1];
  EXPECT_TRUE(contains(authorize, "key='\\''restrict,command=\"sh -c ")) << authorize;
  EXPECT_TRUE(contains(authorize, " && exec head -c 2000000 > bin/.crawlworker.relayed"))
      << authorize;
  EXPECT_TRUE(contains(authorize, "\" ssh-ed25519 AAAAPUB crawlctl-relay-run7-h2'\\''\n"))
      << authorize;
  // Until the deadline, and a minute for clocks that differ.
  const auto at = authorize.find("\nuntil=");
  ASSERT_NE(at, std::string::npos) << authorize;
  const long long until = std::stoll(authorize.substr(at + 7));
  const long long expected =
      std::chrono::duration_cast<std::chrono::seconds>(
          (std::chrono::system_clock::now() + std::chrono::minutes(11)).time_since_epoch())
          .count();
  EXPECT_NEAR(static_cast<double>(until), static_cast<double>(expected), 5.0);
  EXPECT_TRUE(contains(f.peer.commands[2], "revoke='\\''crawlctl-relay-run7-h2'\\''"));
  for (const auto& input : f.peer.inputs) EXPECT_LT(input.size(), 1000u) << "no binary from here";
  // The relay was asked to pass it on to the address, port, login and host key the peer's
  // session verified, with the private key on stdin only.
  ASSERT_EQ(f.relay.commands.size(), 1u);
  EXPECT_TRUE(contains(f.relay.commands[0], "peer='\\''10.0.0.2'\\''"));
  EXPECT_TRUE(contains(f.relay.commands[0], "port=2222"));
  EXPECT_TRUE(contains(f.relay.commands[0], "known='\\''crawlctl-peer ssh-ed25519 AAAAHOST'\\''"));
  EXPECT_FALSE(contains(f.relay.commands[0], "PRIVATE KEY"));
  EXPECT_EQ(f.relay.inputs[0], "PRIVATE KEY");
  EXPECT_EQ(f.relay.connects, 1) << "the session opened while the host authorised the key";
}

TEST(DeployHost, WhenTheRelayCannotPassItOnTheBinaryComesFromHereAndTheKeyGoes) {
  RelayFixture f;
  f.relays.binary_ready(f.all[0]);
  f.relay.exec = [](const std::string&) {
    return ExecResult{255, "", "ssh: connect to host 10.0.0.2 port 2222: Connection refused\n"};
  };
  f.peer.exec = group_host();
  auto r = f.deploy_peer();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GT(r->bytes_uploaded, 0u);
  EXPECT_TRUE(contains(r->summary,
                       "not relayed: the relay h1 could not pass the binary on (exit "
                       "status 255): ssh: connect to host 10.0.0.2 port 2222: "
                       "Connection refused"))
      << r->summary;
  ASSERT_EQ(f.peer.commands.size(), 3u);
  EXPECT_TRUE(sends_binary(f.peer.commands[2]));
  EXPECT_TRUE(contains(f.peer.commands[2], "revoke='\\''crawlctl-relay-run7-h2'\\''"));
}

// The host authorises the key while its relay deploys, then waits for the relay's binary.
TEST(DeployHost, WhenTheRelayDoesNotDeployTheHostGoesOnWithoutItAndTheKeyGoes) {
  RelayFixture f;
  f.peer.exec = group_host();
  std::thread relay_fails([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    f.relays.ended(f.all[0]);
  });
  auto r = f.deploy_peer();
  relay_fails.join();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(contains(r->summary, "not relayed: the relay h1 did not deploy")) << r->summary;
  ASSERT_EQ(f.peer.commands.size(), 3u);
  EXPECT_TRUE(contains(f.peer.commands[1], "expiry-time"));
  EXPECT_TRUE(sends_binary(f.peer.commands[2]));
  EXPECT_TRUE(contains(f.peer.commands[2], "revoke='\\''crawlctl-relay-run7-h2'\\''"));
  EXPECT_TRUE(f.relay.commands.empty());
}

TEST(DeployHost, ARelayedBinaryWithAnotherSha256IsReplacedByOneFromHere) {
  RelayFixture f;
  f.relays.binary_ready(f.all[0]);
  f.peer.exec =
      group_host(ExecResult{3, k_probe, "the binary received has sha256 0000, expected bbbb\n"});
  auto r = f.deploy_peer();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GT(r->bytes_uploaded, 0u);
  EXPECT_TRUE(contains(r->summary,
                       "not relayed: the relayed binary: exit status 3: the binary "
                       "received has sha256 0000"))
      << r->summary;
  ASSERT_EQ(f.peer.commands.size(), 4u);
  EXPECT_TRUE(sends_binary(f.peer.commands[3]));
}

}  // namespace
}  // namespace crawl::fanout
