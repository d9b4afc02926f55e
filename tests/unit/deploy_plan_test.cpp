#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "deploy/plan.hpp"
#include "deploy/quote.hpp"
#include "deploy/sudo.hpp"

namespace crawl::deploy {
namespace {

config::Host host(std::string name = "crawl01") {
  config::Host h;
  h.name = std::move(name);
  h.address = h.name;
  h.workers = 2;
  return h;
}

Release release() {
  Release r;
  r.binary_path = "build/crawlworker";
  r.binary_sha256 = std::string(64, 'a');
  r.binary_size = 5'000'000;
  r.os = "Linux";
  r.arch = "x86_64";
  r.config = "redis:\n  url: redis://10.0.0.5:6379/0\n";
  r.payload = std::make_shared<const Payload>("the binary");
  return r;
}

Probe probe(std::string sha = "") {
  Probe p;
  p.os = "Linux";
  p.arch = "x86_64";
  p.binary_sha256 = std::move(sha);
  return p;
}

// How `text` appears inside a single-quoted shell word.
std::string inside_quotes(const std::string& text) {
  const std::string q = shell_quote(text);
  return q.substr(1, q.size() - 2);
}

std::vector<std::string> names(const std::vector<Step>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.push_back(s.name);
  return out;
}

TEST(WorkerConfig, ReadsBackAsTheSameSettings) {
  config::Inventory inv;
  inv.redis.key_prefix = "fleet\"x";
  inv.worker.concurrency = 128;
  inv.worker.user_agent = "crawler \"quoted\" \\ slash";
  inv.worker.heartbeat_interval = std::chrono::milliseconds(750);
  inv.worker.log_max_bytes = 1u << 20;
  inv.worker.log_keep = 0;
  inv.worker.log_debug = true;
  inv.worker.stats_interval = std::chrono::milliseconds(0);
  const std::string text = worker_config(inv, "redis://:p%40ss@10.0.0.5:6379/2");
  auto back = config::parse_inventory(text, "worker.yaml");
  ASSERT_TRUE(back) << back.error().message << "\n" << text;
  EXPECT_EQ(back->redis.url, "redis://:p%40ss@10.0.0.5:6379/2");
  EXPECT_EQ(back->redis.key_prefix, "fleet\"x");
  EXPECT_EQ(back->worker.concurrency, 128);
  EXPECT_EQ(back->worker.user_agent, inv.worker.user_agent);
  EXPECT_EQ(back->worker.heartbeat_interval, std::chrono::milliseconds(750));
  EXPECT_EQ(back->worker.log_max_bytes, 1u << 20);
  EXPECT_EQ(back->worker.log_keep, 0);
  EXPECT_TRUE(back->worker.log_debug);
  EXPECT_EQ(back->worker.stats_interval.count(), 0);
  EXPECT_EQ(back->worker.timeout, inv.worker.timeout);
}

TEST(WorkerIds, AreHostSlashIndexAndReadBack) {
  EXPECT_EQ(worker_id(host(), 1), "crawl01/1");
  EXPECT_EQ(worker_id("crawl01", 2), "crawl01/2");
  auto back = parse_worker_id(worker_id(host(), 12));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->host, "crawl01");
  EXPECT_EQ(back->index, 12);
  EXPECT_EQ(parse_worker_id("eu/web-1/3")->host, "eu/web-1") << "the index is after the last slash";
  for (const char* other :
       {"crawl01", "crawl01/", "/3", "crawl01/0", "crawl01/x", "crawl01/3x", ""})
    EXPECT_FALSE(parse_worker_id(other)) << other;
}

TEST(Probe, ReadsKeyValueLinesAndSkipsChatter) {
  auto p = parse_probe(
      "Welcome to crawl01!\nos=Linux\narch=aarch64\nmissing=dtach\nmissing=sha256sum\nsha256=abc\n",
      "crawl01");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->os, "Linux");
  EXPECT_EQ(p->arch, "aarch64");
  EXPECT_EQ(p->missing, (std::vector<std::string>{"dtach", "sha256sum"}));
  EXPECT_EQ(p->binary_sha256, "abc");
  auto bad = parse_probe("fish: Unknown command\n", "crawl01");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("crawl01"), std::string::npos);
}

TEST(Plan, SendsTheBinaryOnlyWhenItDiffers) {
  // The probe found no binary, or another one: the activate again, with the binary after the
  // config on its stdin.
  const auto fresh = plan(host(), release(), probe(""), false, {}, "d1");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(names(*fresh), (std::vector<std::string>{"activate"}));
  const Step& send = (*fresh)[0];
  EXPECT_NE(send.command.find("new=bin/.crawlworker.upload"), std::string::npos);
  EXPECT_NE(send.command.find(fmt::format("clen={}\n", release().config.size())),
            std::string::npos);
  EXPECT_NE(send.command.find("deploy='\\''d1'\\''"), std::string::npos);
  EXPECT_EQ(send.input, release().config);  // the config travels on stdin, not argv
  ASSERT_TRUE(send.payload);

  // Sent already (the activate that received it refused for another reason): not again.
  const auto uploaded = plan(host(), release(), probe(""), true, {}, "d1");
  ASSERT_TRUE(uploaded);
  EXPECT_EQ(names(*uploaded), (std::vector<std::string>{"activate"}));
  EXPECT_NE((*uploaded)[0].command.find("new=bin/.crawlworker.upload"), std::string::npos);
  EXPECT_NE((*uploaded)[0].command.find("clen=\n"), std::string::npos);
  EXPECT_FALSE((*uploaded)[0].payload);

  const auto same = plan(host(), release(), probe(release().binary_sha256), false, {}, "d1");
  ASSERT_TRUE(same);
  EXPECT_EQ(names(*same), (std::vector<std::string>{"activate"}));
  EXPECT_NE((*same)[0].command.find("new=\n"), std::string::npos);
  EXPECT_FALSE((*same)[0].payload);
}

TEST(Plan, MissingPrerequisitesNeedAnInstallCommand) {
  Probe p = probe();
  p.missing = {"dtach"};
  auto refused = plan(host(), release(), p, true, {}, "d1");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("dtach"), std::string::npos);
  EXPECT_NE(refused.error().message.find("install_command"), std::string::npos);
  config::Host h = host();
  h.install_command = "sudo apt-get install -y dtach";
  auto steps = plan(h, release(), p, false, {}, "d1");
  ASSERT_TRUE(steps);
  EXPECT_EQ(names(*steps), (std::vector<std::string>{"install", "activate"}));
  EXPECT_TRUE((*steps)[1].payload);
  EXPECT_EQ((*steps)[0].command, h.install_command);  // the operator's command, as written
}

TEST(Plan, ASudoPasswordTravelsOnStdinOnly) {
  config::Host h = host();
  h.install_command = "sudo apt-get install -y dtach";
  const Step plain = install_step(h);
  EXPECT_EQ(plain.command, h.install_command);
  EXPECT_EQ(plain.input, "");
  const std::string password = "hunter 2 'quoted' $(x)";
  const Secret secret = Secret::copy_of(password);
  const Step with = install_step(h, &secret);
  // Sent as it is held, never copied: first the password, then the line's end.
  EXPECT_EQ(with.secret, &secret);
  EXPECT_EQ(with.input, "\n");
  // Nothing of the password in the command line; stdin is read first, into the wrapper's own
  // variable; sudo gets it on its stdin (-S), only to check it (-v); the command runs as written,
  // last. (DeployFault.SudoWithAPasswordRunsTheInstallCommand runs it against a real sudo.)
  EXPECT_EQ(with.command.find("hunter"), std::string::npos) << with.command;
  EXPECT_TRUE(
      with.command.starts_with("sh -c '" + inside_quotes("IFS= read -r crawl_sudo_password\n")))
      << with.command;
  EXPECT_NE(with.command.find(inside_quotes("| command sudo -S -p '' -v\n")), std::string::npos);
  EXPECT_NE(with.command.find(inside_quotes("command sudo -n \"$@\"\n")), std::string::npos);
  EXPECT_TRUE(with.command.ends_with(inside_quotes("}\n" + h.install_command) + "'"))
      << with.command;
}

// A temporary file and an environment variable, gone at the end of the test however it ends.
struct Scratch {
  std::string file = ::testing::TempDir() + "sudo-pass-" + std::to_string(::getpid());
  ~Scratch() {
    std::remove(file.c_str());
    unsetenv("CRAWL_TEST_SUDO_PASSWORD");
  }
  void write(const char* text) const {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fputs(text, f);
    std::fclose(f);
  }
};

TEST(Plan, SudoPasswordsAreReadOncePerSourceAndFailOnlyTheirHosts) {
  Scratch scratch;
  scratch.write("from the file\nsecond line ignored\n");
  config::Host by_file = host("a"), by_env = host("b"), broken = host("c"), asked = host("d"),
               none = host("e"), same_file = host("f");
  by_file.sudo_password_file = same_file.sudo_password_file = scratch.file;
  by_env.sudo_password_env = "CRAWL_TEST_SUDO_PASSWORD";
  broken.sudo_password_env = "CRAWL_TEST_SUDO_UNSET";
  asked.install_command = "sudo true";
  setenv("CRAWL_TEST_SUDO_PASSWORD", "from the environment", 1);
  unsetenv("CRAWL_TEST_SUDO_UNSET");
  EXPECT_TRUE(SudoPasswords::may_ask({by_file, asked}));
  EXPECT_FALSE(SudoPasswords::may_ask({by_file, by_env, none}));
  const auto sudo = SudoPasswords::load({by_file, by_env, broken, asked, none, same_file},
                                        Secret::copy_of("typed"));
  // Read when loaded, before any host is contacted: what the file says later does not count.
  scratch.write("changed since\n");
  auto from_file = sudo.of(by_file);
  ASSERT_TRUE(from_file && *from_file);
  EXPECT_EQ((*from_file)->view(), "from the file");
  EXPECT_EQ(*from_file, *sudo.of(same_file)) << "one read for one file";
  auto from_env = sudo.of(by_env);
  ASSERT_TRUE(from_env && *from_env);
  EXPECT_EQ((*from_env)->view(), "from the environment");
  auto typed = sudo.of(asked);
  ASSERT_TRUE(typed && *typed);
  EXPECT_EQ((*typed)->view(), "typed");
  auto unset = sudo.of(broken);
  ASSERT_FALSE(unset);
  EXPECT_NE(unset.error().message.find("$CRAWL_TEST_SUDO_UNSET is not set"), std::string::npos);
  auto nothing = SudoPasswords::load({none}, std::nullopt).of(none);
  ASSERT_TRUE(nothing);
  EXPECT_EQ(*nothing, nullptr);
  setenv("CRAWL_TEST_SUDO_PASSWORD", "two\nlines", 1);
  EXPECT_FALSE(SudoPasswords::load({by_env}, std::nullopt).of(by_env));
}

TEST(Plan, AnotherPlatformIsRefused) {
  Probe p = probe();
  p.arch = "aarch64";
  auto r = plan(host(), release(), p, true, {}, "d1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("aarch64"), std::string::npos);
  EXPECT_NE(r.error().message.find("x86_64"), std::string::npos);
}

TEST(Plan, HostileValuesReachTheScriptOnlyQuoted) {
  config::Host h = host("crawl'01;reboot");
  h.remote_dir = "dir with space/it's;touch PWNED;$(touch PWNED2)";
  const Step a = activate_step(h, release(), {}, Options{}.stop_grace, "d1");
  // The script holds the values quoted once; the script itself is quoted again for the login
  // shell, which runs `sh -c SCRIPT`.
  EXPECT_NE(a.command.find(inside_quotes("d=" + shell_path(h.remote_dir) + "\n")),
            std::string::npos);
  EXPECT_NE(a.command.find(inside_quotes("host=" + shell_quote(h.name) + "\n")), std::string::npos);
  EXPECT_TRUE(a.command.starts_with("sh -c '"));
  const Step stop = stop_step(h, std::chrono::milliseconds(2500));
  EXPECT_NE(stop.command.find(inside_quotes("d=" + shell_path(h.remote_dir) + "\n")),
            std::string::npos);
  EXPECT_NE(stop.command.find("grace=25"), std::string::npos);  // tenths of a second
}

TEST(Plan, TheRelayStepTrustsOnlyThePeersOwnHostKeyUnderItsAlgorithms) {
  const SshEndpoint peer{"10.0.0.7", 2200, "crawl", "ssh-rsa AAAARSA"};
  Step relay = relay_step(host(), peer, "KEY");
  EXPECT_EQ(relay.name, "relay");
  EXPECT_EQ(relay.input, "KEY") << "the private key only on stdin";
  EXPECT_EQ(relay.command.find("KEY"), std::string::npos);
  EXPECT_NE(relay.command.find(inside_quotes("algos=" + shell_quote("rsa-sha2-512,rsa-sha2-256"))),
            std::string::npos)
      << "an RSA host key is offered under its SHA-2 signature names";
  EXPECT_NE(
      relay.command.find(inside_quotes("known=" + shell_quote("crawlctl-peer ssh-rsa AAAARSA"))),
      std::string::npos);
  EXPECT_NE(relay.command.find(inside_quotes("peer=" + shell_quote("10.0.0.7"))),
            std::string::npos);
  EXPECT_NE(relay.command.find("port=2200"), std::string::npos);
  relay = relay_step(host(), {"h", 22, "u", "ecdsa-sha2-nistp256 AAAAE"}, "KEY");
  EXPECT_NE(relay.command.find(inside_quotes("algos=" + shell_quote("ecdsa-sha2-nistp256"))),
            std::string::npos);
}

TEST(Plan, RestartAndDryRun) {
  Options o;
  o.restart = true;
  EXPECT_NE(activate_step(host(), release(), {.send = false, .uploaded = false, .restart = true},
                          o.stop_grace, "d1")
                .command.find("changed=1"),
            std::string::npos);
  EXPECT_NE(activate_step(host(), release(), {.send = false, .uploaded = false, .restart = false},
                          o.stop_grace, "d1")
                .command.find("changed=0"),
            std::string::npos);
  const auto full = full_plan(host(), release(), o, "d1");
  EXPECT_EQ(names(full), (std::vector<std::string>{"activate", "activate"}));
  EXPECT_FALSE(full[0].payload);
  EXPECT_TRUE(full[1].payload);
  config::Host h = host();
  h.install_command = "apk add dtach";
  EXPECT_EQ(names(full_plan(h, release(), o, "d1")),
            (std::vector<std::string>{"activate", "install", "activate"}));
}

TEST(Activation, ReadsWhatHappenedToEachWorker) {
  const auto a =
      parse_activation("os=Linux\nkept=1\nstopped=3\nkilled=4\nstarted=2\nstarted=x\nnoise\n");
  EXPECT_EQ(a.kept, (std::vector<int>{1}));
  EXPECT_EQ(a.stopped, (std::vector<int>{3}));
  EXPECT_EQ(a.killed, (std::vector<int>{4}));
  EXPECT_EQ(a.started, (std::vector<int>{2}));
}

}  // namespace
}  // namespace crawl::deploy
