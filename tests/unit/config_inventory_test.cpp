#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "config/inventory.hpp"
#include "config/values.hpp"

namespace crawl::config {
namespace {

using std::chrono::milliseconds;

Inventory parse_ok(std::string_view yaml) {
  auto r = parse_inventory(yaml, "hosts.yaml");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? std::move(*r) : Inventory{};
}

std::string parse_error(std::string_view yaml) {
  auto r = parse_inventory(yaml, "hosts.yaml");
  EXPECT_FALSE(r.has_value()) << "expected an error for:\n" << yaml;
  return r ? "" : r.error().message;
}

TEST(Inventory, EmptyFileHasNoHosts) {
  EXPECT_TRUE(parse_ok("").hosts.empty());
  EXPECT_TRUE(parse_ok("# only a comment\n").hosts.empty());
}

TEST(Inventory, HostDefaultsToItsNameAsAddress) {
  auto inv = parse_ok("hosts:\n  crawl1.example.org:\n");
  ASSERT_EQ(inv.hosts.size(), 1u);
  const Host& h = inv.hosts[0];
  EXPECT_EQ(h.name, "crawl1.example.org");
  EXPECT_EQ(h.address, "crawl1.example.org");
  EXPECT_EQ(h.port, 22);
  EXPECT_EQ(h.workers, 1);
  EXPECT_EQ(h.remote_dir, "crawl");
  EXPECT_EQ(h.transport, Transport::ssh);
  EXPECT_EQ(h.host_key_checking, HostKeyPolicy::accept_new);
  EXPECT_EQ(h.group, "");
  EXPECT_EQ(h.line, 2);
}

TEST(Inventory, SettingsLayerDefaultsThenGroupThenHost) {
  auto inv = parse_ok(R"y(
defaults:
  user: crawl
  port: 2200
  workers: 2
  labels: {env: prod, tier: a}
groups:
  eu:
    workers: 4
    labels: {region: eu, tier: b}
    hosts:
      big.eu:
        workers: 8
        labels: {tier: c}
      small.eu:
hosts:
  lone:
    user: other
)y");
  ASSERT_EQ(inv.hosts.size(), 3u);
  // Top-level hosts come first, whatever the order in the file: they are read before groups.
  const Host* lone = inv.find_host("lone");
  const Host* big = inv.find_host("big.eu");
  const Host* small = inv.find_host("small.eu");
  ASSERT_TRUE(lone && big && small);
  EXPECT_EQ(lone->user, "other");
  EXPECT_EQ(lone->workers, 2);
  EXPECT_EQ(big->workers, 8);
  EXPECT_EQ(small->workers, 4);
  EXPECT_EQ(small->user, "crawl");
  EXPECT_EQ(small->port, 2200);
  EXPECT_EQ(big->labels,
            (std::map<std::string, std::string>{{"env", "prod"}, {"region", "eu"}, {"tier", "c"}}));
  EXPECT_EQ(small->labels.at("tier"), "b");
  EXPECT_EQ(big->group, "eu");
  ASSERT_NE(inv.find_group("eu"), nullptr);
  EXPECT_EQ(inv.find_group("eu")->hosts.size(), 2u);
}

TEST(Inventory, DefaultsApplyWhereverTheyAreWritten) {
  auto inv = parse_ok("hosts:\n  a:\ndefaults:\n  workers: 3\n");
  EXPECT_EQ(inv.hosts.at(0).workers, 3);
}

TEST(Inventory, EveryHostSetting) {
  auto inv = parse_ok(R"y(
hosts:
  h:
    address: 10.0.0.7
    port: 2222
    user: deploy
    identity_file: ~/.ssh/crawl_ed25519
    password_env: CRAWL_SSH_PASSWORD
    password_file: /etc/crawl/ssh.pass
    workers: 6
    remote_dir: /srv/crawl
    transport: local
    host_key_checking: strict
    install_command: sudo apt-get install -y dtach
    connect_timeout: 2.5s
    command_timeout: 5m
    known_hosts: fleet_known_hosts
    labels: {region: us, dc: "iad 1"}
)y");
  const Host& h = inv.hosts.at(0);
  EXPECT_EQ(h.address, "10.0.0.7");
  EXPECT_EQ(h.port, 2222);
  EXPECT_EQ(h.user, "deploy");
  EXPECT_EQ(h.identity_file, "~/.ssh/crawl_ed25519");
  EXPECT_EQ(h.password_env, "CRAWL_SSH_PASSWORD");
  EXPECT_EQ(h.password_file, "/etc/crawl/ssh.pass");
  EXPECT_EQ(h.workers, 6);
  EXPECT_EQ(h.remote_dir, "/srv/crawl");
  EXPECT_EQ(h.transport, Transport::local);
  EXPECT_EQ(h.host_key_checking, HostKeyPolicy::strict);
  EXPECT_EQ(h.install_command, "sudo apt-get install -y dtach");
  EXPECT_EQ(h.connect_timeout, milliseconds(2500));
  EXPECT_EQ(h.command_timeout, milliseconds(300'000));
  EXPECT_EQ(h.known_hosts, "fleet_known_hosts");
  EXPECT_EQ(h.labels.at("dc"), "iad 1");
}

TEST(Inventory, RedisAndWorkerSettings) {
  auto inv = parse_ok(R"y(
redis:
  url: redis://10.0.0.5:6380/2
  password_file: /etc/crawl/redis.pass
  password_env: REDIS_PW
  key_prefix: "crawl:prod"
worker:
  concurrency: 256
  parse_threads: 2
  user_agent: "ExampleBot/1.0 (+https://example.org/bot)"
  robots_agent: ExampleBot
  max_body: 4MiB
  body_memory: 16MiB
  connect_timeout: 3s
  timeout: 20s
  low_speed_bytes: 2KiB
  low_speed_time: 5s
  max_redirects: 7
  heartbeat_interval: 1s
  heartbeat_ttl: 6s
  log_max_size: 16MiB
  log_keep: 5
  log_level: debug
  stats_interval: 30s
)y");
  EXPECT_EQ(inv.redis.url, "redis://10.0.0.5:6380/2");
  EXPECT_EQ(inv.redis.password_file, "/etc/crawl/redis.pass");
  EXPECT_EQ(inv.redis.password_env, "REDIS_PW");
  EXPECT_EQ(inv.redis.key_prefix, "crawl:prod");
  const WorkerSettings& w = inv.worker;
  EXPECT_EQ(w.concurrency, 256);
  EXPECT_EQ(w.parse_threads, 2);
  EXPECT_EQ(w.user_agent, "ExampleBot/1.0 (+https://example.org/bot)");
  EXPECT_EQ(w.robots_agent, "ExampleBot");
  EXPECT_EQ(w.max_body_bytes, 4u << 20);
  EXPECT_EQ(w.body_memory, 16u << 20);
  EXPECT_EQ(w.connect_timeout, milliseconds(3000));
  EXPECT_EQ(w.timeout, milliseconds(20000));
  EXPECT_EQ(w.low_speed_bytes, 2048u);
  EXPECT_EQ(w.low_speed_time, milliseconds(5000));
  EXPECT_EQ(w.max_redirects, 7);
  EXPECT_EQ(w.heartbeat_interval, milliseconds(1000));
  EXPECT_EQ(w.heartbeat_ttl, milliseconds(6000));
  EXPECT_EQ(w.log_max_bytes, 16u << 20);
  EXPECT_EQ(w.log_keep, 5);
  EXPECT_TRUE(w.log_debug);
  EXPECT_EQ(w.stats_interval, milliseconds(30000));
}

TEST(Inventory, RangesExpandWithPairedAddresses) {
  auto inv = parse_ok(R"y(
groups:
  dc1:
    hosts:
      crawl[01-03,07].dc1:
        address: 10.0.1.[11-13,17]
      web[1-2]:
        address: 10.9.9.9
)y");
  ASSERT_EQ(inv.hosts.size(), 6u);
  EXPECT_EQ(inv.hosts[0].name, "crawl01.dc1");
  EXPECT_EQ(inv.hosts[0].address, "10.0.1.11");
  EXPECT_EQ(inv.hosts[3].name, "crawl07.dc1");
  EXPECT_EQ(inv.hosts[3].address, "10.0.1.17");
  EXPECT_EQ(inv.hosts[4].address, "10.9.9.9");
  EXPECT_EQ(inv.hosts[5].address, "10.9.9.9");
  for (const auto& h : inv.hosts) EXPECT_EQ(h.line, h.name.starts_with("web") ? 7 : 5);
}

// Values that only ever pass through shell_quote (or are a command by design) are kept as
// written; user and address, which reach ssh_config expansion, are checked (below).
TEST(Inventory, HostileValuesAreKeptVerbatim) {
  auto inv = parse_ok(R"y(
hosts:
  h1:
    user: "o.neil"
    remote_dir: "/srv/crawl dir; rm -rf / \"$(reboot)\" 'q'\nsecond line"
    identity_file: "~/keys/my key`id`"
    install_command: "apt-get install -y dtach && echo '$HOME' > /tmp/x; exit 0"
    labels: {note: "a;b c\td"}
)y");
  const Host& h = inv.hosts.at(0);
  EXPECT_EQ(h.user, "o.neil");
  EXPECT_EQ(h.remote_dir, "/srv/crawl dir; rm -rf / \"$(reboot)\" 'q'\nsecond line");
  EXPECT_EQ(h.identity_file, "~/keys/my key`id`");
  EXPECT_EQ(h.install_command, "apt-get install -y dtach && echo '$HOME' > /tmp/x; exit 0");
  EXPECT_EQ(h.labels.at("note"), "a;b c\td");
}

TEST(Inventory, QuotedNumbersAndAliasesWork) {
  auto inv = parse_ok(R"y(
hosts:
  a: &common
    port: "2201"
    workers: 3
  b: *common
)y");
  EXPECT_EQ(inv.hosts.at(0).port, 2201);
  EXPECT_EQ(inv.hosts.at(1).workers, 3);
}

TEST(Inventory, JobSectionHoldsTheOptionsOfJobsSubmittedWithTheFile) {
  auto inv = parse_inventory(
      "job:\n  delay: 250ms\n  host_concurrency: 4\n  max_crawl_delay: 5s\n"
      "  max_links_per_page: 100\n",
      "hosts.yaml");
  ASSERT_TRUE(inv.has_value()) << inv.error().message;
  EXPECT_EQ(inv->job.options.delay, std::chrono::milliseconds(250));
  EXPECT_EQ(inv->job.options.host_concurrency, 4);
  EXPECT_EQ(inv->job.options.max_crawl_delay, std::chrono::milliseconds(5000));
  EXPECT_EQ(inv->job.options.max_links_per_page, 100);
  EXPECT_EQ(inv->job.given.size(), 4U);
  // Unset: the polite defaults apply (crawlctl submit's own).
  auto none = parse_inventory("job: {}\n", "hosts.yaml");
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_FALSE(none->job.has("delay_ms"));
  EXPECT_EQ(none->job.options.delay, policy::JobOptions{}.delay);
  EXPECT_EQ(none->job.options.host_concurrency, 1);
  EXPECT_NE(parse_error("job:\n  delay: 2h\n").find("at most 1h"), std::string::npos);
  const std::string bad = parse_error("job:\n  host_concurrency: 0\n");
  EXPECT_NE(bad.find("hosts.yaml:2:"), std::string::npos) << bad;
  EXPECT_NE(bad.find("host_concurrency"), std::string::npos) << bad;
  EXPECT_EQ(parse_error("job:\n  dealy: 1s\n"),
            "hosts.yaml:2:3: unknown key 'dealy' in job (did you mean 'delay'?)");
}

TEST(InventoryErrors, UnknownKeysNameFileLineAndSuggest) {
  EXPECT_EQ(parse_error("hosts:\n  crawl01:\n    prot: 22\n"),
            "hosts.yaml:3:5: unknown key 'prot' in host 'crawl01' (did you mean 'port'?)");
  EXPECT_EQ(parse_error("defualts:\n  port: 22\n"),
            "hosts.yaml:1:1: unknown key 'defualts' at top level (did you mean 'defaults'?)");
  EXPECT_EQ(parse_error("defaults:\n  worker: 2\n"),
            "hosts.yaml:2:3: unknown key 'worker' in defaults (did you mean 'workers'?)");
  EXPECT_EQ(parse_error("worker:\n  concurency: 2\n"),
            "hosts.yaml:2:3: unknown key 'concurency' in worker (did you mean 'concurrency'?)");
  EXPECT_EQ(parse_error("redis:\n  host: x\n"), "hosts.yaml:2:3: unknown key 'host' in redis");
  EXPECT_EQ(parse_error("groups:\n  eu:\n    host:\n      a:\n"),
            "hosts.yaml:3:5: unknown key 'host' in group 'eu' (did you mean 'hosts'?)\n"
            "hosts.yaml:2:3: group 'eu' has no 'hosts'");
  // An address belongs to one host, not to defaults.
  EXPECT_NE(parse_error("defaults:\n  address: 10.0.0.1\n").find("unknown key 'address'"),
            std::string::npos);
}

TEST(InventoryErrors, DuplicateKeysAndHosts) {
  EXPECT_EQ(parse_error("hosts:\n  a:\n    port: 1\n    port: 2\n"),
            "hosts.yaml:4:5: duplicate key 'port' in host 'a' (first at line 3)");
  EXPECT_EQ(parse_error("hosts:\n  a:\n  b:\n  a:\n"),
            "hosts.yaml:4:3: duplicate key 'a' in hosts (first at line 2)");
  EXPECT_EQ(parse_error("hosts:\n  n03:\ngroups:\n  g:\n    hosts:\n      n[01-04]:\n"),
            "hosts.yaml:6:7: host 'n03' is defined twice (first at line 2)");
  EXPECT_EQ(parse_error("hosts:\n  eu:\ngroups:\n  eu:\n    hosts:\n      x:\n"),
            "hosts.yaml:4:3: group 'eu' has the name of a host");
}

TEST(InventoryErrors, BadValues) {
  EXPECT_EQ(parse_error("hosts:\n  a:\n    port: 0\n"),
            "hosts.yaml:3:11: 'port' must be a whole number from 1 to 65535, not '0'");
  EXPECT_NE(parse_error("hosts:\n  a:\n    port: 65536\n").find("from 1 to 65535"),
            std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    port: ssh\n").find("not 'ssh'"), std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    port: 22.5\n").find("whole number"), std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    port:\n").find("'port' needs a value"),
            std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    workers: -1\n").find("from 0 to 1024"),
            std::string::npos);
  EXPECT_EQ(parse_error("hosts:\n  a:\n    transport: shh\n"),
            "hosts.yaml:3:16: 'transport' must be one of ssh, local, not 'shh' (did you mean "
            "'ssh'?)");
  EXPECT_NE(parse_error("hosts:\n  a:\n    host_key_checking: no\n").find("strict, accept-new"),
            std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    connect_timeout: soon\n").find("not a duration"),
            std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    password_env: 1BAD\n").find("environment variable"),
            std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    labels: [x]\n").find("expected a mapping in labels"),
            std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    user: \"\"\n").find("'user' is empty"),
            std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    user: [x]\n").find("needs a value, found a list"),
            std::string::npos);
}

TEST(InventoryErrors, NamesAndAddresses) {
  EXPECT_NE(parse_error("hosts:\n  \"a b\":\n").find("host name 'a b' must start"),
            std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  -x:\n").find("must start with a letter or digit"),
            std::string::npos);
  EXPECT_NE(
      parse_error("hosts:\n  a:\n    address: \"10.0.0.1; reboot\"\n").find("';' is not allowed"),
      std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  a:\n    address: \"x\\ny\"\n").find("one line"),
            std::string::npos);
  EXPECT_EQ(parse_error("hosts:\n  n[1-3]:\n    address: 10.0.0.[1-2]\n"),
            "hosts.yaml:3:14: address '10.0.0.[1-2]' expands to 2 addresses but host 'n[1-3]' to "
            "3 names");
  EXPECT_NE(parse_error("worker:\n  user_agent: \"Bot\\r\\nX-Evil: 1\"\n").find("one line"),
            std::string::npos);
  // Sizes are capped: a user agent is a request header, any value at most 64 KiB.
  EXPECT_NE(parse_error("worker:\n  user_agent: " + std::string(513, 'a') + "\n")
                .find("'user_agent' is 513 bytes long, more than the 512 it may hold"),
            std::string::npos);
  EXPECT_EQ(
      parse_ok("worker:\n  user_agent: " + std::string(512, 'a') + "\n").worker.user_agent.size(),
      512u);
  EXPECT_NE(parse_error("hosts:\n  a:\n    install_command: " + std::string(70000, 'x') + "\n")
                .find("more than the 65536 a value may hold"),
            std::string::npos);
}

// user and address reach ssh_config expansion (%r, %h in a ProxyCommand, run by a shell on the
// controller): only their name syntax passes, as OpenSSH 9.6 does (CVE-2023-51385).
TEST(InventoryErrors, UserAndAddressHoldOnlyTheirNameSyntax) {
  for (const char* user :
       {"crawl", "deploy-bot", "first.last", "svc_crawl", "ops@corp.example", "a1"}) {
    EXPECT_EQ(check_user_name(user), "") << user;
    EXPECT_EQ(parse_ok(std::string("hosts:\n  a:\n    user: \"") + user + "\"\n").hosts[0].user,
              user);
  }
  for (const char* user :
       {"x$(touch${IFS}/tmp/PWNED)", "-oProxyCommand=x", "a b", "a;b", "a`b`", "a'b", "a\"b", "a|b",
        "a&b", "a<b", "a>b", "a(b)", "a{b}", "a\\b", "a%rb", "a\tb", "\xc3\xa9"})
    EXPECT_NE(check_user_name(user), "") << user;
  EXPECT_NE(check_user_name(std::string(65, 'a')), "");
  EXPECT_EQ(
      parse_error("hosts:\n  a:\n    user: \"x$(touch${IFS}/tmp/PWNED)\"\n"),
      "hosts.yaml:3:11: 'user' value 'x$(touch${IFS}/tmp/PWNED)': '$' is not allowed (letters, "
      "digits, '.', '_', '-' and '@' are)");
  EXPECT_NE(parse_error("defaults:\n  user: -oProxyCommand=sh\nhosts:\n  a:\n")
                .find("hosts.yaml:2:9: 'user' value "
                      "'-oProxyCommand=sh': it starts with '-'"),
            std::string::npos);
  EXPECT_NE(
      parse_error("groups:\n  g:\n    user: \"a\\tb\"\n    hosts:\n      a:\n").find("byte 0x09"),
      std::string::npos);

  for (const char* address :
       {"crawl1.example.org", "10.0.0.7", "::1", "fe80::1%eth0", "2001:db8::42",
        "host_with_underscore.internal", "xn--bcher-kva.example"})
    EXPECT_EQ(check_address(address), "") << address;
  for (const char* address :
       {"x$(reboot)", "-oProxyCommand=x", "a b", "a;b", "h`id`", "10.0.0.1%eth0", "fe80::1%",
        "fe80::1%e;th0", "a/b", "a'b", "[::1]", "a,b", "\xc3\xa9.example"})
    EXPECT_NE(check_address(address), "") << address;
  EXPECT_NE(check_address(std::string(254, 'a')), "");
  EXPECT_NE(parse_error("hosts:\n  a:\n    address: \"h$(id)\"\n")
                .find("hosts.yaml:3:14: 'address' value 'h$(id)': '$'"),
            std::string::npos);
  // Each address a range expands to is checked.
  EXPECT_NE(
      parse_error("hosts:\n  n[1-2]:\n    address: \"h[1-2]`id`\"\n").find("'`' is not allowed"),
      std::string::npos);
}

TEST(InventoryErrors, Ranges) {
  EXPECT_EQ(parse_error("hosts:\n  n[5-1]:\n"),
            "hosts.yaml:2:3: host 'n[5-1]': range '[5-1]' is empty: 5 is above 1 in 'n[5-1]'");
  EXPECT_NE(parse_error("hosts:\n  n[1-200000]:\n").find("more than 100000"), std::string::npos);
  // The cap counts the whole file, not one range.
  EXPECT_NE(parse_error("hosts:\n  a[1-60000]:\n  b[1-60000]:\n").find("more than"),
            std::string::npos);
}

TEST(InventoryErrors, Structure) {
  EXPECT_NE(parse_error("- a\n- b\n").find("expected a mapping at top level, found a list"),
            std::string::npos);
  EXPECT_NE(parse_error("hosts:\n  - a\n  - b\n").find("write 'name:' with a colon"),
            std::string::npos);
  const std::string syntax = parse_error("hosts:\n  a: [1,\n  b: 2\n");
  EXPECT_TRUE(syntax.starts_with("hosts.yaml:4:")) << syntax;  // yaml-cpp stops at the end
  EXPECT_NE(syntax.find("end of sequence flow not found"), std::string::npos);
  EXPECT_EQ(parse_error("hosts: {a: 1\n").substr(0, 11), "hosts.yaml:");
  EXPECT_NE(parse_error("hosts:\n  a:\n---\nhosts:\n  b:\n").find("only one YAML document"),
            std::string::npos);
  EXPECT_NE(parse_error("redis:\n  url: http://x\n").find("redis://"), std::string::npos);
  // TLS is refused when the file is read, not at the first connection.
  EXPECT_NE(parse_error("redis:\n  url: rediss://x:6380/0\n").find("rediss://) is not supported"),
            std::string::npos);
  EXPECT_NE(parse_error("worker:\n  heartbeat_interval: 5s\n  heartbeat_ttl: 6s\n")
                .find("at least twice"),
            std::string::npos);
}

TEST(InventoryErrors, ReportsEveryProblemUpToACap) {
  const std::string message =
      parse_error("hosts:\n  a:\n    port: x\n  b:\n    workers: y\n  c:\n    prot: 1\n");
  EXPECT_NE(message.find("hosts.yaml:3:"), std::string::npos);
  EXPECT_NE(message.find("hosts.yaml:5:"), std::string::npos);
  EXPECT_NE(message.find("hosts.yaml:7:"), std::string::npos);

  std::string many = "hosts:\n";
  for (int i = 0; i < 30; ++i) many += "  h" + std::to_string(i) + ":\n    port: bad\n";
  const std::string capped = parse_error(many);
  EXPECT_EQ(std::count(capped.begin(), capped.end(), '\n'), 20);
  EXPECT_NE(capped.find("... and 10 more errors"), std::string::npos);
}

// The example file and the reference page must stay in step with the parser.
std::string read_source_file(const std::string& relative) {
  std::ifstream in(std::string(CRAWL_SOURCE_DIR) + "/" + relative);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The text of each top-level section of a YAML file ("" for the lines before the first),
// comments included.
std::map<std::string, std::vector<std::string>> yaml_sections(const std::string& text) {
  std::map<std::string, std::vector<std::string>> out;
  std::string current;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#' && line.back() == ':')
      current = line.substr(0, line.size() - 1);
    out[current].push_back(line);
  }
  return out;
}

// Lines of `section` that show key `name` (indented, possibly commented out as "# name:").
std::vector<std::string> lines_showing(const std::vector<std::string>& section,
                                       const std::string& name) {
  std::vector<std::string> found;
  for (const std::string& line : section) {
    const auto at = line.find_first_not_of(" #");
    if (at != std::string::npos && at > 0 && line.compare(at, name.size() + 1, name + ":") == 0)
      found.push_back(line);
  }
  return found;
}

TEST(Inventory, ExampleFileParsesAndShowsEveryKeyOnceWithAComment) {
  const std::string example = read_source_file("hosts.yaml.example");
  ASSERT_FALSE(example.empty());
  auto inv = parse_inventory(example, "hosts.yaml.example");
  ASSERT_TRUE(inv.has_value()) << inv.error().message;
  EXPECT_GE(inv->hosts.size(), 2u);
  const auto sections = yaml_sections(example);
  for (const std::string& key : inventory_keys()) {
    const auto dot = key.find('.');
    if (dot == std::string::npos) {
      EXPECT_TRUE(sections.count(key)) << "hosts.yaml.example has no top-level '" << key << ":'";
      continue;
    }
    const std::string section = key.substr(0, dot), name = key.substr(dot + 1);
    const auto it = sections.find(section);
    ASSERT_NE(it, sections.end()) << "hosts.yaml.example has no section '" << section << "'";
    const auto shown = lines_showing(it->second, name);
    if (section == "hosts" || section == "groups") {
      // Host entries repeat settings by nature; these keys need only appear.
      EXPECT_FALSE(shown.empty()) << "hosts.yaml.example does not show '" << key << "'";
      continue;
    }
    // In defaults, redis and worker: each key exactly once, and said what it does.
    EXPECT_EQ(shown.size(), 1u) << "hosts.yaml.example shows '" << key << "' " << shown.size()
                                << " times";
    if (shown.size() == 1) {
      EXPECT_NE(shown[0].find('#', shown[0].find(name) + name.size()), std::string::npos)
          << "hosts.yaml.example: '" << key << "' has no comment: " << shown[0];
    }
  }
}

TEST(Inventory, ReferencePageDocumentsEveryKeyInItsSection) {
  const std::string doc = read_source_file("docs/hosts-file.md");
  ASSERT_FALSE(doc.empty());
  // Where each part of the file is described.
  const std::map<std::string, std::string> headings{
      {"", "## Top level"},    {"defaults", "## Host settings"}, {"hosts", "## Host settings"},
      {"groups", "## Groups"}, {"redis", "## `redis`"},          {"worker", "## `worker`"},
      {"job", "## `job`"}};
  for (const std::string& key : inventory_keys()) {
    const auto dot = key.find('.');
    const std::string section = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string name = key.substr(dot == std::string::npos ? 0 : dot + 1);
    const auto begin = doc.find(headings.at(section));
    ASSERT_NE(begin, std::string::npos) << headings.at(section);
    const auto end = doc.find("\n## ", begin + 1);
    const std::string part =
        doc.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    EXPECT_NE(part.find("| `" + name + "` |"), std::string::npos)
        << "docs/hosts-file.md does not document '" << key << "' under " << headings.at(section);
  }
}

}  // namespace
}  // namespace crawl::config
