#pragma once
// The fleet as written in hosts.yaml, resolved: every host with its own complete settings
// (defaults, then its group's settings, then its own), plus the Redis and worker settings
// that deploy hands to every worker. The file format is documented in docs/hosts-file.md.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "policy/job.hpp"

namespace crawl::config {

enum class Transport { ssh, local };
enum class HostKeyPolicy { strict, accept_new };

std::string_view to_string(Transport transport);
std::string_view to_string(HostKeyPolicy policy);

struct Host {
  std::string name;
  std::string address;  // what to connect to; the name unless set
  int port = 22;
  std::string user;                  // "" = the controller's user name (or ~/.ssh/config's)
  std::string identity_file;         // "" = the ssh agent and ~/.ssh/config decide
  std::string password_env;          // name of an environment variable holding a password
  std::string password_file;         // or a file holding it; passwords never sit in hosts.yaml
  int workers = 1;                   // crawlworker processes to run there
  std::string remote_dir = "crawl";  // relative paths are under the login's home directory
  Transport transport = Transport::ssh;
  HostKeyPolicy host_key_checking = HostKeyPolicy::accept_new;
  std::string install_command;     // installs missing prerequisites; "" = report them instead
  std::string sudo_password_env;   // for install_command's sudo: a variable holding the password
  std::string sudo_password_file;  // or a file holding it (fed to `sudo -S` on stdin)
  std::string known_hosts;    // "" = ~/.ssh/config's UserKnownHostsFile, else ~/.ssh/known_hosts
  std::string relay_address;  // deploy --relay: where its group's relay reaches it ("" = address)
  int relay_port = 0;         // and on which port (0 = port)
  std::chrono::milliseconds connect_timeout{10'000};   // TCP connect, SSH handshake and auth
  std::chrono::milliseconds command_timeout{120'000};  // each remote command
  std::map<std::string, std::string> labels;
  std::string group;  // "" for a host listed under the top-level `hosts`
  int line = 0;       // where the host (or its range) was written
};

struct Group {
  std::string name;
  std::vector<std::size_t> hosts;  // indices into Inventory::hosts
  int line = 0;
};

struct RedisSettings {
  std::string url;  // "" = not set in the file (commands then use their own default)
  std::string password_env;
  std::string password_file;
  std::string key_prefix = "crawl";
  // Or the primary as Redis Sentinel names it: these Sentinels ("host:port"), asked in turn for
  // `master_name`, with their own password (if they have one) from a file or a variable.
  std::vector<std::string> sentinels;
  std::string master_name;
  std::string sentinel_password_file;
  std::string sentinel_password_env;
  // Writes that cannot be redone (seeds, records) wait until this many replicas have them.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{1000};

  // The URL the file means: `url`, or sentinel://SENTINEL,.../master_name for `sentinels`.
  std::string effective_url() const;
};

struct WorkerSettings {
  int concurrency = 64;   // transfers in flight per worker
  int parse_threads = 0;  // 0 = one per core
  std::string user_agent = "crawlworker/0.1";
  std::string robots_agent = "crawlworker";  // token matched against robots.txt user-agent lines
  std::uint64_t max_body_bytes = 10u << 20;
  std::uint64_t body_memory = 32u << 20;  // bodies kept in memory at once, all transfers and parses
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{
      30'000};  // a whole transfer; each redirect hop is a transfer of its own
  std::uint64_t low_speed_bytes = 1024;              // abort below this many bytes per second ...
  std::chrono::milliseconds low_speed_time{10'000};  // ... sustained for this long
  int max_redirects = 5;
  std::chrono::milliseconds heartbeat_interval{2'000};
  std::chrono::milliseconds heartbeat_ttl{10'000};   // a worker silent this long is dead
  std::uint64_t log_max_bytes = 64u << 20;           // rotate the worker log past this size
  int log_keep = 3;                                  // rotated logs kept
  bool log_debug = false;                            // log_level: debug logs every URL's outcome
  std::chrono::milliseconds stats_interval{60'000};  // an event=stats line this often (0: never)
  // Where jobs submitted with --warc keep their WARC files: relative to the worker's directory
  // (a deployed worker's is its host's remote_dir). Files close past warc_max_bytes.
  std::string warc_dir = "warc";
  std::uint64_t warc_max_bytes = 1'000'000'000;
};

// Options for the jobs `crawlctl submit` creates with this file; its flags win, and what
// neither sets is the polite default (policy/job.hpp).
// The job: section: defaults for the jobs `crawlctl submit` and `serve` create (a flag or a
// request's field wins), for the options policy/job_options.hpp gives a hosts-file key.
struct JobDefaults {
  policy::JobOptions options;           // policy/job.hpp's defaults, with the file's values
  std::vector<std::string_view> given;  // the fields the file sets, each once
  bool has(std::string_view field) const {
    return std::find(given.begin(), given.end(), field) != given.end();
  }
};

struct Inventory {
  std::string source;       // the name used in messages, e.g. "hosts.yaml"
  std::vector<Host> hosts;  // in file order
  std::vector<Group> groups;
  RedisSettings redis;
  WorkerSettings worker;
  JobDefaults job;

  const Host* find_host(std::string_view name) const;
  const Group* find_group(std::string_view name) const;
  // The environment variables the file names as holding passwords (password_env,
  // sudo_password_env, redis.password_env, redis.sentinel_password_env), each once.
  std::vector<std::string> secret_env_names() const;
};

// Every key the file format knows, as "section.key": "hosts.address", "redis.url", ... Host
// settings are listed once under "defaults" (groups and hosts take the same ones).
std::vector<std::string> inventory_keys();

// Expansion of host ranges stops past this many hosts in one file.
inline constexpr std::size_t k_max_hosts = 100'000;
// Worker processes on one host, at most (the `workers` key's bound).
inline constexpr int k_max_workers = 1024;

// A hosts file larger than this is refused before it is read: 100,000 hosts written out one by
// one take about 5 MB, and ranges (crawl[0001-9999]) far less.
inline constexpr std::size_t k_max_file_bytes = 8u << 20;

// Reads (at most k_max_file_bytes) and parses a hosts file. A file that cannot be read (or is too
// big) fails with a message naming it; one that does not parse, with kind invalid and the parse
// errors, each naming file:line:column.
Result<Inventory> load_inventory(const std::string& path);

// Parses and validates hosts.yaml text. On failure the error lists every problem found (up to
// 20), one per line, each as "file:line:column: message" naming the key and, for a typo, the
// nearest valid key. Values are kept verbatim: nothing is expanded or interpreted here.
Result<Inventory> parse_inventory(std::string_view text, std::string_view file_name);

}  // namespace crawl::config
