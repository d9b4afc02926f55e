// The simulated fleet is real OpenSSH: the stock client logs into every host with only the
// generated key and known_hosts, under strict host key checking.

#include "ssh_fleet.hpp"

#include <filesystem>

#include <gtest/gtest.h>
#include <signal.h>

#include "process.hpp"

namespace crawl::testing {
namespace {

bool alive(pid_t pid) {
  return pid > 0 && kill(pid, 0) == 0;
}

struct Ssh {
  int rc;
  std::string output;
};

Ssh run_ssh(const std::vector<std::string>& argv, const std::string& log) {
  std::filesystem::remove(log);
  const int rc = run_command({argv, log, {}}, 30s);
  return {rc, read_text(log)};
}

TEST(SshFleet, StockClientLogsIntoEveryHostWithStrictChecking) {
  SshFleet fleet(5);
  ASSERT_EQ(fleet.hosts().size(), 5u);
  TempDir out("ssh-out");
  for (std::size_t i = 0; i < 5; ++i) {
    const FleetHost& h = fleet.hosts()[i];
    EXPECT_EQ(h.address, "127.0.1." + std::to_string(i + 1));
    // SSH_CONNECTION names the server address the session landed on; the remote dir is usable.
    const std::string command = "echo \"$SSH_CONNECTION\" && cd '" + h.remote_dir +
                                "' && echo hello > from-ssh && cat from-ssh";
    const Ssh r = run_ssh(fleet.ssh_argv(i, command), out / "ssh.log");
    ASSERT_EQ(r.rc, 0) << h.name << ": " << r.output;
    EXPECT_NE(r.output.find(" " + h.address + " " + std::to_string(h.port)), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("hello"), std::string::npos);
    EXPECT_EQ(read_text(h.remote_dir + "/from-ssh"), "hello\n");
  }
}

TEST(SshFleet, RefusesAnUnknownKeyAndAnUnknownHost) {
  SshFleet fleet(1);
  TempDir scratch("ssh-neg");
  // A key that is not authorised.
  ASSERT_EQ(run_command({{"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", scratch / "other"},
                         scratch / "keygen.log",
                         {}}),
            0);
  auto argv = fleet.ssh_argv(0, "true");
  for (auto& a : argv)
    if (a == fleet.client_key()) a = scratch / "other";
  Ssh r = run_ssh(argv, scratch / "a.log");
  EXPECT_EQ(r.rc, 255);
  EXPECT_NE(r.output.find("Permission denied"), std::string::npos) << r.output;

  // The right key but a known_hosts that does not list the host: strict checking refuses.
  write_text(scratch / "empty_known_hosts", "");
  argv = fleet.ssh_argv(0, "true");
  for (auto& a : argv)
    if (a.starts_with("UserKnownHostsFile="))
      a = "UserKnownHostsFile=" + (scratch / "empty_known_hosts");
  r = run_ssh(argv, scratch / "b.log");
  EXPECT_EQ(r.rc, 255);
  EXPECT_NE(r.output.find("Host key verification failed"), std::string::npos) << r.output;
}

TEST(SshFleet, HostCanGoDownAndComeBackOnItsAddress) {
  SshFleet fleet(2);
  TempDir out("ssh-restart");
  fleet.stop_host(1);
  Ssh r = run_ssh(fleet.ssh_argv(1, "true"), out / "down.log");
  EXPECT_EQ(r.rc, 255);
  EXPECT_NE(r.output.find("Connection refused"), std::string::npos) << r.output;
  EXPECT_EQ(run_ssh(fleet.ssh_argv(0, "true"), out / "up.log").rc, 0);
  fleet.start_host(1);
  EXPECT_EQ(run_ssh(fleet.ssh_argv(1, "true"), out / "back.log").rc, 0);
}

TEST(SshFleet, TeardownKillsWhatSessionsLeftRunning) {
  pid_t orphan = 0;
  {
    SshFleet fleet(1);
    TempDir out("ssh-orphan");
    // A session starts a detached process and ends, as deploy will do with dtach.
    const Ssh r =
        run_ssh(fleet.ssh_argv(0, "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!"),
                out / "ssh.log");
    ASSERT_EQ(r.rc, 0) << r.output;
    orphan = static_cast<pid_t>(std::stol(r.output));
    EXPECT_TRUE(alive(orphan));
    EXPECT_EQ(fleet.session_processes(), std::vector<pid_t>{orphan});
  }
  EXPECT_TRUE(wait_until([&] { return !alive(orphan); }, 2s)) << orphan;
}

TEST(SshFleet, TeardownLeavesNoSshdBehind) {
  std::vector<pid_t> pids;
  std::string dir;
  {
    SshFleet fleet(3);
    dir = fleet.dir();
    for (std::size_t i = 0; i < 3; ++i) {
      pids.push_back(fleet.pid(i));
      EXPECT_TRUE(alive(fleet.pid(i)));
    }
  }
  for (pid_t pid : pids) EXPECT_FALSE(alive(pid)) << pid;
  EXPECT_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace crawl::testing
