// deploy --relay against real sshd hosts, each logging into an account of its own (its own
// ~/.ssh/authorized_keys): the group's relay gets the binary from crawlctl and passes it on to
// the others with the deploy's own key, which each of them authorises for that one upload and
// removes again; a host the relay cannot hand it to gets it from crawlctl, saying why.

#include <chrono>
#include <filesystem>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "accounts.hpp"
#include "deploy/plan.hpp"
#include "deployment.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;

// Three accounts of this machine; a run that died before its clean-up is cleaned up by the next.
std::vector<std::unique_ptr<TestAccount>> relay_accounts() {
  std::vector<std::unique_ptr<TestAccount>> out;
  for (const char* name : {"crawlrelay1", "crawlrelay2", "crawlrelay3"})
    out.push_back(std::make_unique<TestAccount>(name));
  return out;
}

std::vector<std::string> names(const std::vector<std::unique_ptr<TestAccount>>& accounts) {
  std::vector<std::string> out;
  for (const auto& a : accounts) out.push_back(a->name());
  return out;
}

long long uploaded(const nlohmann::json& report, const std::string& host) {
  return host_report(report, host)["bytes_uploaded"].get<long long>();
}

std::string summary(const nlohmann::json& report, const std::string& host) {
  return host_report(report, host)["summary"].get<std::string>();
}

TEST(RelayDeploy, TheGroupsRelayPassesTheBinaryOnAndNoKeyIsLeft) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (to create an account per host)";
  const auto accounts = relay_accounts();
  Deployment d(3, names(accounts));
  // What a killed relay deploy left on host 2 goes; a key of the operator's that merely mentions
  // the tag stays.
  const std::string keys2 = accounts[1]->home() + "/.ssh/authorized_keys";
  const std::string mine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMine notes-on-crawlctl-relay-x";
  write_text(keys2,
             read_text(keys2) + mine + "\n" +
                 "expiry-time=\"20300101\",restrict ssh-ed25519 AAAAOld crawlctl-relay-0ld-host2\n",
             0600);
  // Host 3's authorized_keys cannot be added to: crawlctl sends it the binary itself.
  const std::string keys3 = accounts[2]->home() + "/.ssh/authorized_keys";
  const std::string before3 = read_text(keys3);
  fs::permissions(keys3, fs::perms(0400));
  d.write_hosts("  workers: 1\n");
  CommandResult r = d.ctl({"deploy", "--relay", "--json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  const auto report = nlohmann::json::parse(r.out);
  for (const auto& h : report["hosts"]) EXPECT_EQ(h["outcome"], "ok") << h.dump();

  // One copy from here for host1 and host2: the relay's. Host 3's came from here too.
  const long long copy = uploaded(report, "host1");
  EXPECT_GT(copy, 100'000);
  EXPECT_LT(copy, static_cast<long long>(fs::file_size(CRAWLWORKER)));
  EXPECT_EQ(uploaded(report, "host2"), 0) << report.dump(2);
  EXPECT_NE(summary(report, "host2").find("binary relayed by host1"), std::string::npos)
      << report.dump(2);
  EXPECT_EQ(uploaded(report, "host3"), copy) << report.dump(2);
  EXPECT_NE(summary(report, "host3").find("not relayed: authorize: exit status 1"),
            std::string::npos)
      << report.dump(2);

  // The same verified binary on every host, and its sha256 beside it.
  const std::string binary = read_text(d.fleet.hosts()[0].remote_dir + "/bin/crawlworker");
  const std::string sha = read_text(d.fleet.hosts()[0].remote_dir + "/bin/crawlworker.sha256");
  for (const auto& host : d.fleet.hosts()) {
    EXPECT_TRUE(read_text(host.remote_dir + "/bin/crawlworker") == binary) << host.name;
    EXPECT_EQ(read_text(host.remote_dir + "/bin/crawlworker.sha256"), sha) << host.name;
    EXPECT_FALSE(fs::exists(host.remote_dir + "/bin/.crawlworker.relayed")) << host.name;
    EXPECT_FALSE(fs::exists(host.remote_dir + "/bin/.crawlworker.upload")) << host.name;
  }
  // The workers run it (deploy checked their heartbeats).
  for (const auto& beat : d.heartbeats(worker_ids(d, 1))) EXPECT_TRUE(beat.alive);

  // No key is left: not in any authorized_keys, not on the relay.
  for (const auto& a : accounts) {
    const std::string keys = read_text(a->home() + "/.ssh/authorized_keys");
    EXPECT_EQ(keys.find(" crawlctl-relay-"), std::string::npos) << a->name() << ":\n" << keys;
  }
  EXPECT_EQ(read_text(keys3), before3);
  EXPECT_NE(read_text(keys2).find(mine + "\n"), std::string::npos) << read_text(keys2);
  for (const auto& entry : fs::directory_iterator(d.fleet.hosts()[0].remote_dir + "/run"))
    EXPECT_EQ(entry.path().filename().string().find("relay."), std::string::npos) << entry.path();

  // Unchanged: nothing sent, nothing relayed, nothing authorised.
  r = d.ctl({"deploy", "--relay", "--json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  const auto again = nlohmann::json::parse(r.out);
  for (const auto& h : again["hosts"]) {
    EXPECT_EQ(h["bytes_uploaded"].get<long long>(), 0) << h.dump();
    EXPECT_NE(h["summary"].get<std::string>().find("binary unchanged"), std::string::npos)
        << h.dump();
  }

  // A new binary while the relay is down: its group does not wait for it past its connection
  // attempts, and gets the binary from here.
  const std::string next = d.dir / "crawlworker";
  write_text(next, read_text(CRAWLWORKER) + std::string(1, '\0'), 0755);
  d.fleet.stop_host(0);
  const auto started = std::chrono::steady_clock::now();
  r = d.ctl({"deploy", "--relay", "--json", "--worker-binary", next});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  const auto down = nlohmann::json::parse(r.out);
  EXPECT_EQ(host_report(down, "host1")["outcome"], "unreachable") << down.dump(2);
  for (const char* peer : {"host2", "host3"})
    EXPECT_EQ(host_report(down, peer)["outcome"], "ok") << down.dump(2);
  EXPECT_NE(summary(down, "host2").find("not relayed: the relay host1 did not deploy"),
            std::string::npos)
      << down.dump(2);
  EXPECT_GT(uploaded(down, "host2"), 100'000);
  EXPECT_EQ(read_text(keys2).find(" crawlctl-relay-"), std::string::npos) << read_text(keys2);
  d.fleet.start_host(0);
  d.write_hosts("  workers: 1\n");  // its new port, for the stop that ends the test
}

// The line authorize_step adds, tried with the stock client the way a relay uses it and the ways
// a relay that is not to be trusted might: it writes the one file, at most the binary's size, and
// opens nothing else; past its expiry-time it opens nothing at all.
TEST(RelayDeploy, TheRelaysKeyOpensNothingButTheUploadAndExpires) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (to create an account)";
  TestAccount account("crawlrelaykey");  // not one of relay_accounts(): tests run in parallel
  SshFleet fleet(1, {account.name()});
  TempDir dir{"relay-key"};
  const FleetHost& h = fleet.hosts()[0];
  const std::string key = dir / "key";
  ASSERT_EQ(run_command({{"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key}, "", {}}), 0);
  // A remote_dir with quotes of both kinds and a command substitution: one path, run nothing.
  config::Host host;
  host.name = h.name;
  host.remote_dir = account.home() + "/dir \"q\" it's $(touch PWNED) \\\"";
  fs::create_directories(host.remote_dir + "/bin");
  ASSERT_EQ(run_command({{"chown", "-R", account.name(), account.home()}, "", {}}), 0);
  deploy::Release release;
  release.binary_size = 1000;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto authorize = [&](std::int64_t until, const std::string& tag) {
    const std::string pub = read_text(key + ".pub");  // "ssh-ed25519 AAAA... comment"
    const deploy::RelayGrant grant{pub.substr(0, pub.find(' ', pub.find(' ') + 1)), tag, until};
    const auto step = deploy::authorize_step(host, release, grant);
    return run_command({fleet.ssh_argv(0, step.command), dir / "authorize.log", {}});
  };
  ASSERT_EQ(authorize(now + 600, "crawlctl-relay-live"), 0) << read_text(dir / "authorize.log");
  write_text(dir / "input", std::string(3000, 'x'));
  // As the relay does, and with a command of its own and a forwarding: the forced command runs.
  auto as_relay = [&](std::vector<std::string> extra, const std::string& command) {
    std::vector<std::string> argv = fleet.ssh_argv(0, command);
    if (command.empty()) argv.pop_back();
    for (auto& a : argv)
      if (a == fleet.client_key()) a = key;
    argv.insert(argv.begin() + 1, extra.begin(), extra.end());
    argv.insert(argv.begin(), {"sh", "-c", "exec \"$@\" < \"$0\"", dir / "input"});
    return run_command({argv, dir / "relay.log", {}});
  };
  const std::string relayed = host.remote_dir + "/bin/.crawlworker.relayed";
  EXPECT_EQ(as_relay({}, "relay"), 0) << read_text(dir / "relay.log");
  ASSERT_TRUE(fs::exists(relayed));
  EXPECT_EQ(fs::file_size(relayed), 1000u) << "at most the binary's size";
  fs::remove(relayed);
  as_relay({}, "touch " + account.home() + "/PWNED");
  EXPECT_FALSE(fs::exists(account.home() + "/PWNED"));
  EXPECT_FALSE(fs::exists(host.remote_dir + "/PWNED"));
  EXPECT_EQ(as_relay({"-W", "127.0.0.1:" + std::to_string(h.port)}, ""), 255)
      << "a forwarding is refused: " << read_text(dir / "relay.log");

  // Expired (two minutes ago, by the host's clock and time zone): the key opens nothing.
  const std::string keys = account.home() + "/.ssh/authorized_keys";
  write_text(keys, read_text(fleet.client_key() + ".pub"), 0600);
  fs::remove(relayed);
  ASSERT_EQ(authorize(now - 120, "crawlctl-relay-expired"), 0) << read_text(dir / "authorize.log");
  EXPECT_NE(read_text(keys).find("crawlctl-relay-expired"), std::string::npos);
  EXPECT_EQ(as_relay({}, "relay"), 255) << read_text(dir / "relay.log");
  EXPECT_FALSE(fs::exists(relayed));
}

}  // namespace
}  // namespace crawl::testing
