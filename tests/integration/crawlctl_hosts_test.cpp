// crawlctl hosts, run as an operator runs it: the built binary on real files.

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/schema.hpp"
#include "process.hpp"

namespace crawl::testing {
namespace {

struct CliRun {
  int rc;
  std::string out, err;
};

CliRun crawlctl(const std::vector<std::string>& args, const TempDir& dir) {
  // stdout and stderr apart: sh does the redirection, the arguments pass through "$@".
  std::vector<std::string> argv{"sh", "-c", "exec \"$0\" \"$@\" 2>\"$CRAWL_ERR\"", CRAWLCTL};
  argv.insert(argv.end(), args.begin(), args.end());
  std::filesystem::remove(dir / "out");
  std::filesystem::remove(dir / "err");
  const int rc = run_command({argv, dir / "out", {"CRAWL_ERR=" + (dir / "err")}}, 30s);
  return {rc, read_text(dir / "out"), read_text(dir / "err")};
}

const std::string k_example = std::string(CRAWL_SOURCE_DIR) + "/hosts.yaml.example";

TEST(CrawlctlHosts, PrintsTheExpandedExampleInventory) {
  TempDir dir("ctl");
  CliRun r = crawlctl({"hosts", "-H", k_example}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("crawl01.eu.example.org  10.1.0.11"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("crawl20.eu.example.org  10.1.0.30"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("crawld.us.example.org"), std::string::npos);
  EXPECT_NE(r.out.find("26 hosts, 93 workers"), std::string::npos) << r.out;
}

// The real-fleet example in docs/ is a valid file and means what its comments say.
TEST(CrawlctlHosts, TheDocsFleetExampleIsValid) {
  TempDir dir("ctl");
  const std::string file = std::string(CRAWL_SOURCE_DIR) + "/docs/fleet.hosts.yaml";
  CliRun r = crawlctl({"hosts", "-H", file}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("61 hosts, 142 workers"), std::string::npos) << r.out;
  r = crawlctl({"hosts", "-H", file, "--json", "--limit", "size=large"}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["hosts"].size(), 4u);
  EXPECT_EQ(j["hosts"][3]["name"], "big4.eu.example.com");
  EXPECT_EQ(j["hosts"][3]["address"], "10.1.1.4");
  EXPECT_EQ(j["hosts"][3]["workers"], 8);
  r = crawlctl({"hosts", "-H", file, "--json", "--limit", "ap"}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["hosts"].size(), 5u);
  EXPECT_EQ(j["hosts"][0]["port"], 2222);
  EXPECT_EQ(j["hosts"][0]["user"], "crawl");
}

TEST(CrawlctlHosts, JsonWithLimit) {
  TempDir dir("ctl");
  CliRun r = crawlctl(
      {"hosts", "-H", k_example, "--json", "--limit", "eu,!crawl0[2-9].eu.example.org"}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::vector<std::string> names;
  for (const auto& h : j["hosts"]) names.push_back(h["name"]);
  ASSERT_EQ(names.size(), 13u);  // crawl01, crawl10..crawl20, crawl21
  EXPECT_EQ(names.front(), "crawl01.eu.example.org");
  EXPECT_EQ(j["hosts"][0]["address"], "10.1.0.11");
  EXPECT_EQ(j["hosts"][0]["labels"]["region"], "eu");
  EXPECT_EQ(j["groups"]["eu"].size(), 13u);
  EXPECT_FALSE(j["groups"].contains("us"));
  EXPECT_EQ(j["redis"]["url"], "redis://10.0.0.5:6379/0");
  EXPECT_EQ(j["worker"]["max_body_bytes"], 10u << 20);
  EXPECT_EQ(j["worker"]["log_level"], "info");
  EXPECT_EQ(j["worker"]["stats_interval_ms"], 60000);
}

// Every worker setting the file can hold is in the JSON, with the value the file gave.
TEST(CrawlctlHosts, JsonShowsEveryWorkerSetting) {
  TempDir dir("ctl");
  write_text(
      dir / "hosts.yaml",
      "hosts:\n  h1: {}\nworker:\n  concurrency: 7\n  parse_threads: 3\n  user_agent: ua/1\n"
      "  robots_agent: ua\n  max_body: 1MiB\n  body_memory: 8MiB\n  connect_timeout: 2s\n  "
      "timeout: 9s\n"
      "  low_speed_bytes: 10\n  low_speed_time: 4s\n  max_redirects: 2\n  heartbeat_interval: 1s\n"
      "  heartbeat_ttl: 5s\n  log_max_size: 2MiB\n  log_keep: 4\n  log_level: debug\n"
      "  stats_interval: 15s\n  warc_dir: /srv/warc\n  warc_max_size: 2GB\n");
  CliRun r = crawlctl({"hosts", "-H", dir / "hosts.yaml", "--json"}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto w = nlohmann::json::parse(r.out)["worker"];
  EXPECT_EQ(w, nlohmann::json::parse(R"({"concurrency": 7, "parse_threads": 3, "user_agent": "ua/1",
      "robots_agent": "ua", "max_body_bytes": 1048576, "body_memory_bytes": 8388608, "connect_timeout_ms": 2000, "timeout_ms": 9000,
      "low_speed_bytes": 10, "low_speed_time_ms": 4000, "max_redirects": 2,
      "heartbeat_interval_ms": 1000, "heartbeat_ttl_ms": 5000, "log_max_bytes": 2097152,
      "log_keep": 4, "log_level": "debug", "stats_interval_ms": 15000,
      "warc_dir": "/srv/warc", "warc_max_bytes": 2000000000})"))
      << w.dump(1);
}

// Every setting of the tables (config/schema.hpp) is shown, each under its own name, a setting not
// written showing its default (a job option not written: null).
TEST(CrawlctlHosts, JsonShowsEverySettingOfTheTables) {
  TempDir dir("ctl");
  write_text(dir / "hosts.yaml", "hosts:\n  h1: {}\n");
  CliRun r = crawlctl({"hosts", "-H", dir / "hosts.yaml", "--json"}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  auto expect_all = [&](const nlohmann::json& shown, const auto& fields, const char* where) {
    EXPECT_EQ(shown.size(), fields.size() + (std::string(where) == "hosts[0]" ? 4 : 0))
        << shown.dump(1);
    for (const auto& f : fields)
      EXPECT_TRUE(shown.contains(std::string(f.json))) << where << " has no " << f.json;
  };
  expect_all(j["hosts"][0], config::host_fields(), "hosts[0]");  // and name, address, group, line
  expect_all(j["redis"], config::redis_fields(), "redis");
  expect_all(j["worker"], config::worker_fields(), "worker");
  expect_all(j["job"], config::job_fields(), "job");
  EXPECT_EQ(j["hosts"][0]["connect_timeout_ms"], 10000);
  EXPECT_EQ(j["hosts"][0]["transport"], "ssh");
  EXPECT_TRUE(j["job"]["delay_ms"].is_null());
}

TEST(CrawlctlHosts, HostileValuesComeOutVerbatimInJson) {
  TempDir dir("ctl");
  write_text(dir / "hosts.yaml",
             "hosts:\n  h1:\n    remote_dir: \"/srv/a b; rm -rf / 'x' \\\"$(id)\\\"\\nz\"\n"
             "redis:\n  url: redis://:hunter2@10.0.0.5:6379/0\n");
  CliRun r = crawlctl({"hosts", "-H", dir / "hosts.yaml", "--json"}, dir);
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hosts"][0]["remote_dir"], "/srv/a b; rm -rf / 'x' \"$(id)\"\nz");
  EXPECT_EQ(j["redis"]["url"], "redis://:***@10.0.0.5:6379/0");  // never print a password
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos);
  // The table escapes the newline instead of breaking the layout.
  r = crawlctl({"hosts", "-H", dir / "hosts.yaml"}, dir);
  EXPECT_NE(r.out.find("\"$(id)\"\\nz"), std::string::npos) << r.out;
}

// A user name that would reach a shell through ssh_config's %r (a ProxyCommand) is refused when
// the file is read, by every command, before anything connects.
TEST(CrawlctlHosts, AUserNameWithShellSyntaxIsRefusedBeforeAnythingRuns) {
  TempDir dir("ctl");
  const std::string marker = dir / "PWNED";
  write_text(
      dir / "hosts.yaml",
      "hosts:\n  h1:\n    address: 127.0.0.1\n    user: \"x$(touch${IFS}" + marker + ")\"\n");
  write_text(dir / "ssh_config", "Host *\n  ProxyCommand sh -c 'echo %r >/dev/null; exit 1'\n");
  for (const char* command : {"hosts", "deploy", "stop", "logs"}) {
    CliRun r =
        crawlctl({command, "-H", dir / "hosts.yaml", "--ssh-config", dir / "ssh_config"}, dir);
    if (std::string(command) == "hosts") r = crawlctl({command, "-H", dir / "hosts.yaml"}, dir);
    EXPECT_EQ(r.rc, 2) << command << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(std::string(dir / "hosts.yaml") + ":4:11: 'user' value"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(std::filesystem::exists(marker)) << command << " ran the user name as a command";
  }
}

// A password file others may read gets a warning, as ssh gives for a key; 0600 gets none.
TEST(CrawlctlHosts, APasswordFileOpenToOthersIsWarnedOf) {
  TempDir dir("ctl");
  write_text(dir / "redis.pass", "secret\n", 0644);
  write_text(dir / "hosts.yaml", "redis:\n  url: redis://127.0.0.1:" + std::to_string(free_port()) +
                                     "/0\n  password_file: " + (dir / "redis.pass") + "\n");
  CliRun r = crawlctl({"status", "-H", dir / "hosts.yaml"}, dir);
  EXPECT_NE(r.err.find("warning: redis.password_file " + (dir / "redis.pass") +
                       " is mode 0644: its group and others may read it (chmod 600 it)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("secret"), std::string::npos) << r.err;
  write_text(dir / "redis.pass", "secret\n", 0600);
  r = crawlctl({"status", "-H", dir / "hosts.yaml"}, dir);
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
}

// A hosts file too big to be one is refused before it is parsed (50 MB took 14 s and 1.2 GB).
TEST(CrawlctlHosts, AHugeFileIsRefusedBeforeItIsParsed) {
  TempDir dir("ctl");
  std::string huge = "hosts:\n";
  while (huge.size() < (50u << 20)) huge += "  h" + std::to_string(huge.size()) + ":\n";
  write_text(dir / "huge.yaml", huge);
  CliRun r = crawlctl({"hosts", "-H", dir / "huge.yaml"}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("crawlctl hosts: " + (dir / "huge.yaml") + ": "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("is more than the 8388608 this file may hold"), std::string::npos) << r.err;
}

TEST(CrawlctlHosts, MalformedFilesGiveFileLineErrorsAndExit2) {
  TempDir dir("ctl");
  write_text(dir / "bad.yaml",
             "defaults:\n  workers: 2\nhosts:\n  crawl01:\n    prot: 22\n"
             "  crawl[05-01]:\n");
  CliRun r = crawlctl({"hosts", "-H", dir / "bad.yaml"}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.out, "");
  const std::string file = dir / "bad.yaml";
  EXPECT_NE(r.err.find(file + ":5:5: unknown key 'prot' in host 'crawl01' (did you mean 'port'?)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(file + ":6:3: host 'crawl[05-01]': range '[05-01]' is empty"),
            std::string::npos)
      << r.err;

  write_text(dir / "syntax.yaml", "hosts:\n  a: {port: 22\n");
  r = crawlctl({"hosts", "-H", dir / "syntax.yaml"}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(r.err.starts_with(dir / "syntax.yaml:")) << r.err;

  r = crawlctl({"hosts", "-H", dir / "missing.yaml"}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("missing.yaml: cannot open: No such file or directory"), std::string::npos);

  r = crawlctl({"hosts", "-H", k_example, "--limit", "crawl99"}, dir);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("'crawl99' matches no host, group or label"), std::string::npos) << r.err;

  r = crawlctl({"hosts", "--no-such-flag"}, dir);
  EXPECT_EQ(r.rc, 2);
}

TEST(CrawlctlHosts, FindsTheFileThroughTheEnvironment) {
  TempDir dir("ctl");
  std::vector<std::string> argv{CRAWLCTL, "hosts"};
  const int rc = run_command({argv, dir / "out", {"CRAWL_HOSTS=" + k_example}}, 30s);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(read_text(dir / "out").find("seed.example.org"), std::string::npos);
}

}  // namespace
}  // namespace crawl::testing
