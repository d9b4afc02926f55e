// crawlctl deploy with one fault per test, while the other hosts deploy fine and the run ends
// within its deadlines.

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accounts.hpp"
#include "deployment.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;

struct Timed {
  nlohmann::json report;
  int rc = -1;
  double seconds = 0;
};

Timed timed_deploy(Deployment& d, std::vector<std::string> extra = {}) {
  Timed t;
  const auto start = std::chrono::steady_clock::now();
  t.report = d.deploy(std::move(extra), &t.rc);
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

void expect_others_ok(const Timed& t, const std::string& faulty) {
  EXPECT_EQ(t.rc, 1) << t.report.dump(2);
  for (const auto& h : t.report["hosts"]) {
    if (h["name"] == faulty) continue;
    EXPECT_EQ(h["outcome"], "ok") << h.dump();
  }
}

TEST(DeployFault, AHostThatRefusesConnections) {
  Deployment d(3);
  d.write_hosts("");
  d.fleet.stop_host(1);
  const Timed t = timed_deploy(d);
  expect_others_ok(t, "host2");
  const auto& h = host_report(t.report, "host2");
  EXPECT_EQ(h["outcome"], "unreachable") << h.dump();
  EXPECT_NE(h["message"].get<std::string>().find("refused"), std::string::npos) << h.dump();
  EXPECT_EQ(h["attempts"], 3);  // refused is transient: retried with jitter
  EXPECT_LT(t.seconds, 30);
}

TEST(DeployFault, AHostThatAcceptsTcpAndNeverSpeaks) {
  Deployment d(3);
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 16), 0);  // the kernel completes handshakes; nobody ever answers
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  d.host_extra[1] = "    address: 127.0.0.1\n    port: " + std::to_string(ntohs(addr.sin_port)) +
                    "\n    connect_timeout: 2s\n";
  d.write_hosts("");
  const Timed t = timed_deploy(d);
  close(listener);
  expect_others_ok(t, "host2");
  const auto& h = host_report(t.report, "host2");
  EXPECT_EQ(h["outcome"], "timeout") << h.dump();
  EXPECT_LT(h["elapsed_ms"].get<long>(), 6000) << h.dump();
  EXPECT_LT(t.seconds, 30);
}

std::string fingerprint(const std::string& public_key_file, const TempDir& dir) {
  CommandResult r = run_program("/usr/bin/ssh-keygen", {"-lf", public_key_file}, dir);
  const auto start = r.out.find("SHA256:");
  return r.out.substr(start, r.out.find(' ', start) - start);
}

TEST(DeployFault, AChangedHostKeyIsRefusedNamingBothFingerprints) {
  Deployment d(3);
  // known_hosts claims another key for host2.
  const std::string other = d.dir / "other_key";
  ASSERT_EQ(
      run_program("/usr/bin/ssh-keygen", {"-q", "-t", "ed25519", "-N", "", "-f", other}, d.dir).rc,
      0);
  const FleetHost& h2 = d.fleet.hosts()[1];
  std::string known, line;
  std::istringstream in(read_text(d.fleet.known_hosts()));
  const std::string pattern = "[" + h2.address + "]:" + std::to_string(h2.port) + " ";
  while (std::getline(in, line))
    known += (line.starts_with(pattern) ? pattern + read_text(other + ".pub") : line + "\n");
  write_text(d.fleet.known_hosts(), known);
  d.write_hosts("");
  const Timed t = timed_deploy(d);
  expect_others_ok(t, "host2");
  const auto& h = host_report(t.report, "host2");
  EXPECT_EQ(h["outcome"], "host-key") << h.dump();
  const std::string message = h["message"];
  EXPECT_NE(message.find("CHANGED"), std::string::npos) << message;
  EXPECT_NE(message.find(fingerprint(other + ".pub", d.dir)), std::string::npos) << message;
  EXPECT_NE(message.find(fingerprint(h2.dir + "/host_key.pub", d.dir)), std::string::npos)
      << message;
  EXPECT_FALSE(fs::exists(h2.remote_dir + "/bin"));  // nothing ran there
}

TEST(DeployFault, AnUnknownHostIsRefusedUnderStrictAndRecordedUnderAcceptNew) {
  Deployment d(3);
  std::string known, line;
  std::istringstream in(read_text(d.fleet.known_hosts()));
  auto entry = [&](std::size_t i) {
    return "[" + d.fleet.hosts()[i].address + "]:" + std::to_string(d.fleet.hosts()[i].port) + " ";
  };
  while (std::getline(in, line))
    if (!line.starts_with(entry(1)) && !line.starts_with(entry(2))) known += line + "\n";
  write_text(d.fleet.known_hosts(), known);
  d.host_extra[1] = "    host_key_checking: strict\n";  // host3 keeps the default, accept-new
  d.write_hosts("");
  const Timed t = timed_deploy(d);
  expect_others_ok(t, "host2");
  const auto& h = host_report(t.report, "host2");
  EXPECT_EQ(h["outcome"], "host-key") << h.dump();
  EXPECT_NE(h["message"].get<std::string>().find("unknown host"), std::string::npos) << h.dump();
  const std::string after = read_text(d.fleet.known_hosts());
  EXPECT_NE(after.find(entry(2)), std::string::npos) << after;  // host3's key, now recorded
  EXPECT_EQ(after.find(entry(1)), std::string::npos) << after;
}

TEST(DeployFault, AFailingInstallCommandAndAWorkingOne) {
  Deployment d(3);
  const std::string bare2 = path_without_dtach(d.dir.path(), "bin2"),
                    bare3 = path_without_dtach(d.dir.path(), "bin3");
  d.fleet.reconfigure_host(1, "SetEnv PATH=" + bare2 + "\n");
  d.fleet.reconfigure_host(2, "SetEnv PATH=" + bare3 + "\n");
  d.host_extra[1] =
      "    install_command: \"echo 'E: Unable to locate package dtach' >&2; exit 100\"\n";
  d.host_extra[2] = "    install_command: ln -s /usr/bin/dtach " + bare3 + "/dtach\n";
  d.write_hosts("");
  const Timed t = timed_deploy(d);
  expect_others_ok(t, "host2");
  const auto& h2 = host_report(t.report, "host2");
  EXPECT_EQ(h2["outcome"], "step-failed") << h2.dump();
  EXPECT_EQ(h2["step"], "install") << h2.dump();
  EXPECT_NE(
      h2["message"].get<std::string>().find("exit status 100: E: Unable to locate package dtach"),
      std::string::npos)
      << h2.dump();
  const auto& h3 = host_report(t.report, "host3");
  EXPECT_NE(h3["summary"].get<std::string>().find("prerequisites installed"), std::string::npos)
      << h3.dump();
}

// A host whose sudo wants a password, and a prerequisite only root can install: the password
// from sudo_password_file reaches sudo on stdin, and only there.
TEST(DeployFault, SudoWithAPasswordRunsTheInstallCommand) {
  if (geteuid() != 0 || !fs::exists("/usr/bin/sudo"))
    GTEST_SKIP() << "needs root (to create an account) and sudo (scripts/install-deps.sh)";
  TestAccount account("crawlsudotest", TestAccount::Sudo::with_password);
  // In the account's home (a test's scratch may be closed to it), but root's: only sudo adds
  // to it. It goes with the home.
  const passwd* pw = getpwnam(account.name().c_str());
  ASSERT_NE(pw, nullptr);
  const std::string bare = path_without_dtach(pw->pw_dir, "bin-root");
  fs::permissions(bare, fs::perms(0755));
  Deployment d(1, std::vector<std::string>{account.name()});
  d.fleet.reconfigure_host(0, "SetEnv PATH=" + bare + "\n");
  // And then reads its stdin into a file: that must find nothing of the password.
  const std::string install = "sudo ln -s /usr/bin/dtach " + bare + "/dtach && cat > leak.txt";
  d.host_extra[0] = "    install_command: " + install + "\n";
  d.write_hosts("");
  // Without the password, sudo cannot ask (no terminal) and the install fails, saying so.
  int rc = -1;
  auto report = d.deploy({}, &rc);
  const auto& refused = host_report(report, "host1");
  EXPECT_EQ(refused["outcome"], "step-failed") << refused.dump();
  EXPECT_EQ(refused["step"], "install") << refused.dump();
  EXPECT_FALSE(fs::exists(bare + "/dtach"));

  write_text(d.dir / "sudo.pass", account.password() + "\n", 0600);
  d.host_extra[0] += "    sudo_password_file: " + (d.dir / "sudo.pass") + "\n";
  d.write_hosts("");
  CommandResult r = d.ctl({"deploy", "--json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  const auto ok = host_report(nlohmann::json::parse(r.out), "host1");
  EXPECT_NE(ok["summary"].get<std::string>().find("prerequisites installed"), std::string::npos)
      << ok.dump();
  EXPECT_TRUE(fs::is_symlink(bare + "/dtach"));
  EXPECT_EQ(r.out.find(account.password()), std::string::npos);
  EXPECT_EQ(r.err.find(account.password()), std::string::npos);
  const std::string home = fs::path(d.fleet.hosts()[0].remote_dir).parent_path();
  ASSERT_TRUE(fs::exists(home + "/leak.txt"));
  EXPECT_EQ(read_text(home + "/leak.txt"), "") << "the install command read the password";
}

TEST(DeployFault, AHostileRemoteDirWorksAndInjectsNothing) {
  Deployment d(3);
  const std::string hostile =
      d.dir / "dir with space/it's;touch PWNED;$(touch PWNED2)`touch PWNED3`\"x";
  d.host_extra[1] = "    remote_dir: '" + [&] {
    std::string s;
    for (char c : hostile) s += c == '\'' ? std::string("''") : std::string(1, c);
    return s;
  }() + "'\n";
  d.write_hosts("");
  const Timed t = timed_deploy(d);
  EXPECT_EQ(t.rc, 0) << t.report.dump(2);
  EXPECT_TRUE(fs::exists(hostile + "/bin/crawlworker"));
  EXPECT_TRUE(fs::exists(hostile + "/log/w1.log"));
  const char* home = std::getenv("HOME");
  for (const std::string& where : {std::string(home ? home : "/nonexistent"), d.dir.path(), hostile,
                                   fs::path(hostile).parent_path().string()})
    for (const char* name : {"PWNED", "PWNED2", "PWNED3"})
      EXPECT_FALSE(fs::exists(where + "/" + name)) << where << "/" << name;
  for (const auto& beat : d.heartbeats(worker_ids(d, 1))) EXPECT_TRUE(beat.alive);
  CommandResult stop = d.ctl({"stop"});
  EXPECT_EQ(stop.rc, 0) << stop.out << stop.err;
  EXPECT_FALSE(fs::exists(hostile + "/run/w1.pid"));
}

// What a process's environment holds (/proc/PID/environ), "" once it is gone.
std::string environ_of(pid_t pid) {
  return read_text("/proc/" + std::to_string(pid) + "/environ");
}

// Whether any file named core* in `dir` holds `secret`.
bool core_holds(const std::string& dir, const std::string& secret) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with("core") &&
        read_text(e.path()).find(secret) != std::string::npos)
      return true;
  return false;
}

// Passwords given in the environment (sudo_password_env, redis.password_env) reach no child of
// a deploy with transport: local (the install command, dtach, the worker: before, every one of
// them had both in /proc/PID/environ), and a crawlctl that crashes mid-deploy leaves no core
// file holding them (before, it left the sudo password in it twice).
TEST(DeployFault, NoSecretReachesAChildOrACoreFile) {
  // The kernel writes "core" into the crashing process's directory here; elsewhere (a pipe to
  // systemd-coredump or apport) this part cannot be seen from a test.
  const std::string pattern = read_text("/proc/sys/kernel/core_pattern");
  const bool cores_here = pattern.starts_with("core") && pattern.find('/') == std::string::npos;
  RedisServer redis(
      RedisOptions{.append_only = false, .password = "redis-s3cret-Wq8", .extra_config = ""});
  TempDir dir("secrets");
  const std::string remote = dir / "remote", bare = path_without_dtach(dir.path(), "bin");
  const std::string sudo_secret = "sudo-s3cret-Zk4";
  const std::string hosts = dir / "hosts.yaml";
  write_text(hosts, "hosts:\n  here:\n    transport: local\n    workers: 1\n    remote_dir: \"" +
                        remote +
                        "\"\n    sudo_password_env: CRAWL_TEST_SUDO_SECRET\n"
                        "    install_command: \"echo $$ > " +
                        (dir / "install.pid") + "; while [ ! -e " + (dir / "go") +
                        " ]; do sleep 0.1; done; ln -sf "
                        "/usr/bin/dtach " +
                        bare + "/dtach\"\nredis:\n  url: " + redis.url() +
                        "\n  password_env: CRAWL_TEST_REDIS_SECRET\n");
  // crawlctl with both passwords in its environment, dtach missing from its PATH (so that the
  // install command runs, and waits), and core files allowed.
  Process ctl(SpawnOptions{{"sh", "-c", "ulimit -c unlimited; cd \"$0\" && exec \"$@\"", dir.path(),
                            CRAWLCTL, "deploy", "-H", hosts},
                           dir / "deploy1.log",
                           {"CRAWL_TEST_SUDO_SECRET=" + sudo_secret,
                            "CRAWL_TEST_REDIS_SECRET=redis-s3cret-Wq8", "PATH=" + bare}});
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir / "install.pid"); }, 30s))
      << read_text(dir / "deploy1.log");
  const pid_t install = std::stoi(read_text(dir / "install.pid"));
  const std::string env = environ_of(install);
  EXPECT_FALSE(env.empty());
  EXPECT_EQ(env.find("CRAWL_TEST_SUDO_SECRET"), std::string::npos);
  EXPECT_EQ(env.find(sudo_secret), std::string::npos);
  EXPECT_EQ(env.find("redis-s3cret-Wq8"), std::string::npos);
  // A crash now, with the passwords in memory.
  ctl.stop(5s, SIGABRT);
  if (cores_here) {
    EXPECT_FALSE(core_holds(dir.path(), sudo_secret));
    EXPECT_FALSE(core_holds(dir.path(), "redis-s3cret-Wq8"));
  }
  write_text(dir / "go", "");
  // The deploy again, through: the worker and dtach hold no password in their environment.
  CommandResult r =
      run_program("sh",
                  {"-c",
                   "CRAWL_TEST_SUDO_SECRET=\"$1\" CRAWL_TEST_REDIS_SECRET=redis-s3cret-Wq8 "
                   "exec \"$0\" deploy -H \"$2\"",
                   CRAWLCTL, sudo_secret, hosts},
                  dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  ASSERT_TRUE(fs::exists(remote + "/run/w1.pid")) << r.out << r.err;
  const pid_t worker = std::stoi(read_text(remote + "/run/w1.pid"));
  pid_t dtach = 0;
  {
    std::ifstream status("/proc/" + std::to_string(worker) + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.starts_with("PPid:")) dtach = std::stoi(line.substr(5));
  }
  ASSERT_GT(dtach, 1);
  EXPECT_NE(read_text("/proc/" + std::to_string(dtach) + "/cmdline").find("dtach"),
            std::string::npos);
  for (pid_t pid : {worker, dtach}) {
    const std::string e = environ_of(pid);
    EXPECT_FALSE(e.empty()) << pid;
    EXPECT_EQ(e.find(sudo_secret), std::string::npos) << pid;
    EXPECT_EQ(e.find("redis-s3cret-Wq8"), std::string::npos) << pid;
  }
  r = run_program(CRAWLCTL, {"stop", "-H", hosts}, dir);
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
}

}  // namespace
}  // namespace crawl::testing
