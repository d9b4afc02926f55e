// crawlctl deploy and stop against a fleet of real sshd hosts: workers detached under dtach,
// a crawl by the deployed fleet, idempotent redeploys, and one fault per test while the other
// hosts deploy fine.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crawl_cluster.hpp"
#include "queue/queue.hpp"
#include "ssh_fleet.hpp"

namespace crawl::testing {
namespace {

namespace fs = std::filesystem;

SiteOptions small_site() {
  SiteOptions o;
  o.pages = 150;
  o.body_cap = 256u << 10;
  return o;
}

std::string comm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

// The fleet, Redis, the site, and a hosts.yaml built per test.
struct Deployment {
  SshFleet fleet;
  CrawlCluster cluster;
  TempDir dir{"deploy"};
  std::string hosts_file = dir / "hosts.yaml";
  std::vector<std::string> host_extra;  // per host, lines added to its entry

  Deployment(int hosts, SiteOptions site = small_site()) : fleet(hosts), cluster(std::move(site)), host_extra(hosts) {}

  // Writes hosts.yaml: the fleet's hosts (with their extra lines), `defaults` lines, and the
  // cluster's redis: and worker: sections.
  void write_hosts(const std::string& defaults, const std::string& worker_extra = "") {
    std::string yaml = "defaults:\n  known_hosts: \"" + fleet.known_hosts() + "\"\n" +
                       "  connect_timeout: 3s\n  command_timeout: 60s\n" + defaults + "hosts:\n";
    for (std::size_t i = 0; i < fleet.hosts().size(); ++i) {
      const FleetHost& h = fleet.hosts()[i];
      yaml += "  " + h.name + ":\n";
      std::string extra = host_extra[i];
      if (extra.find("address:") == std::string::npos)
        yaml += "    address: " + h.address + "\n    port: " + std::to_string(h.port) + "\n";
      yaml += "    user: \"" + fleet.user() + "\"\n";
      if (extra.find("identity_file:") == std::string::npos)
        yaml += "    identity_file: \"" + fleet.client_key() + "\"\n";
      if (extra.find("remote_dir:") == std::string::npos) yaml += "    remote_dir: \"" + h.remote_dir + "\"\n";
      yaml += extra;
    }
    yaml += read_text(cluster.config_path()) + worker_extra;  // the file ends in its worker: section
    write_text(hosts_file, yaml);
  }

  CommandResult ctl(std::vector<std::string> args) {
    args.insert(args.end(), {"-H", hosts_file, "--ssh-config", "none"});
    return run_program(CRAWLCTL, args, dir, 180s);
  }

  // Deploys with --json and returns the report (fails the test on a non-JSON answer).
  nlohmann::json deploy(std::vector<std::string> extra = {}, int* rc = nullptr) {
    std::vector<std::string> args{"deploy", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = ctl(args);
    if (rc) *rc = r.rc;
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception&) {
      ADD_FAILURE() << "deploy printed no JSON (rc " << r.rc << "):\n" << r.out << "\n" << r.err;
      return {};
    }
  }

  // What the sessions left running, by program name.
  std::map<std::string, int> running() const {
    std::map<std::string, int> out;
    for (pid_t pid : fleet.session_processes()) ++out[comm(pid)];
    return out;
  }

  std::vector<queue::Queue::Heartbeat> heartbeats(const std::vector<std::string>& ids) {
    auto url = queue::parse_redis_url(cluster.redis().url());
    auto redis = queue::Redis::connect(*url, 5s);
    if (!redis) throw std::runtime_error(redis.error().message);
    queue::Queue q(std::move(*redis), queue::Keys{"crawl"});
    auto beats = q.heartbeats(ids);
    if (!beats) throw std::runtime_error(beats.error().message);
    return *beats;
  }

  ~Deployment() { ctl({"stop", "--grace", "5s"}); }
};

const nlohmann::json& host_report(const nlohmann::json& report, const std::string& name) {
  for (const auto& h : report["hosts"])
    if (h["name"] == name) return h;
  throw std::runtime_error("no report for " + name);
}

std::vector<std::string> ids(const Deployment& d, int workers) {
  std::vector<std::string> out;
  for (const auto& h : d.fleet.hosts())
    for (int i = 1; i <= workers; ++i) out.push_back(h.name + "/" + std::to_string(i));
  return out;
}

TEST(Deploy, FiveHostsRunDetachedWorkersThatCrawlAndARedeployChangesNothing) {
  Deployment d(5, [] {
    SiteOptions o = small_site();
    o.pages = 300;
    return o;
  }());
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
  for (const auto& beat : d.heartbeats(ids(d, 2))) EXPECT_TRUE(beat.alive);

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
  EXPECT_NE(h1["summary"].get<std::string>().find("1 started, 1 kept"), std::string::npos) << h1.dump();
  // Deploy checked its heartbeat; the new worker's own pid file says who it is.
  EXPECT_TRUE(wait_until([&] { return fs::exists(pid_file) && std::stoi(read_text(pid_file)) != victim; }, 10s));
  // One more worker per host: started beside the others.
  d.write_hosts("  workers: 3\n");
  report = d.deploy();
  for (const auto& h : report["hosts"])
    EXPECT_NE(h["summary"].get<std::string>().find("1 started, 2 kept"), std::string::npos) << h.dump();
  // A changed worker setting reaches every worker: all restart, and the config file is private.
  d.write_hosts("  workers: 3\n", "  user_agent: crawlworker-test/2\n");
  report = d.deploy();
  for (const auto& h : report["hosts"])
    EXPECT_NE(h["summary"].get<std::string>().find("3 started, 3 stopped"), std::string::npos) << h.dump();
  EXPECT_NE(read_text(d.fleet.hosts()[1].remote_dir + "/worker.yaml").find("crawlworker-test/2"), std::string::npos);
  EXPECT_EQ(fs::status(d.fleet.hosts()[1].remote_dir + "/worker.yaml").permissions() & fs::perms::all,
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

// --- faults: one per test; the other hosts deploy fine and the run ends in time ---

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
  ASSERT_EQ(run_program("/usr/bin/ssh-keygen", {"-q", "-t", "ed25519", "-N", "", "-f", other}, d.dir).rc, 0);
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
  EXPECT_NE(message.find(fingerprint(h2.dir + "/host_key.pub", d.dir)), std::string::npos) << message;
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

// A directory holding every program of /usr/bin and /usr/sbin but dtach: a PATH without it.
std::string path_without_dtach(const TempDir& dir, const std::string& name) {
  const std::string bin = dir / name;
  fs::create_directories(bin);
  for (const char* from : {"/usr/bin", "/usr/sbin"})
    for (const auto& entry : fs::directory_iterator(from)) {
      const std::string file = entry.path().filename();
      std::error_code ec;
      if (file != "dtach") fs::create_symlink(entry.path(), bin + "/" + file, ec);
    }
  return bin;
}

TEST(DeployFault, AFailingInstallCommandAndAWorkingOne) {
  Deployment d(3);
  const std::string bare2 = path_without_dtach(d.dir, "bin2"), bare3 = path_without_dtach(d.dir, "bin3");
  d.fleet.reconfigure_host(1, "SetEnv PATH=" + bare2 + "\n");
  d.fleet.reconfigure_host(2, "SetEnv PATH=" + bare3 + "\n");
  d.host_extra[1] = "    install_command: \"echo 'E: Unable to locate package dtach' >&2; exit 100\"\n";
  d.host_extra[2] = "    install_command: ln -s /usr/bin/dtach " + bare3 + "/dtach\n";
  d.write_hosts("");
  const Timed t = timed_deploy(d);
  expect_others_ok(t, "host2");
  const auto& h2 = host_report(t.report, "host2");
  EXPECT_EQ(h2["outcome"], "step-failed") << h2.dump();
  EXPECT_EQ(h2["step"], "install") << h2.dump();
  EXPECT_NE(h2["message"].get<std::string>().find("exit status 100: E: Unable to locate package dtach"),
            std::string::npos) << h2.dump();
  const auto& h3 = host_report(t.report, "host3");
  EXPECT_NE(h3["summary"].get<std::string>().find("prerequisites installed"), std::string::npos) << h3.dump();
}

TEST(DeployFault, AHostileRemoteDirWorksAndInjectsNothing) {
  Deployment d(3);
  const std::string hostile = d.dir / "dir with space/it's;touch PWNED;$(touch PWNED2)`touch PWNED3`\"x";
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
  for (const auto& beat : d.heartbeats(ids(d, 1))) EXPECT_TRUE(beat.alive);
  CommandResult stop = d.ctl({"stop"});
  EXPECT_EQ(stop.rc, 0) << stop.out << stop.err;
  EXPECT_FALSE(fs::exists(hostile + "/run/w1.pid"));
}

TEST(Deploy, AnEncryptedKeyTakesItsPassphraseOnceFromTheEnvironment) {
  Deployment d(2);
  const std::string key = d.dir / "locked_key";
  ASSERT_EQ(run_program("/usr/bin/ssh-keygen", {"-q", "-t", "ed25519", "-N", "open sesame", "-f", key}, d.dir).rc, 0);
  write_text(d.fleet.dir() + "/authorized_keys", read_text(d.fleet.dir() + "/authorized_keys") + read_text(key + ".pub"));
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

TEST(Deploy, TheLocalTransportRunsTheSameStepsWithoutSsh) {
  RedisServer redis;
  TempDir dir("local-deploy");
  const std::string remote = dir / "local crawl";
  const std::string hosts = dir / "hosts.yaml";
  write_text(hosts, "hosts:\n  here:\n    transport: local\n    workers: 2\n    remote_dir: \"" + remote +
                        "\"\nredis:\n  url: " + redis.url() + "\nworker:\n  heartbeat_interval: 250ms\n"
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
  EXPECT_TRUE(line.empty() || (close != std::string::npos && line.substr(close + 2, 1) == "Z")) << line;
}

}  // namespace
}  // namespace crawl::testing
