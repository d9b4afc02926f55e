#pragma once
// What the deploy tests share: an sshd fleet, Redis and the test site, a hosts.yaml written per
// test, and crawlctl run against them.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crawl_cluster.hpp"
#include "queue/queue.hpp"
#include "ssh_fleet.hpp"

namespace crawl::testing {

// The site the deploy tests crawl: `pages` pages, bodies capped at 256 KiB.
SiteOptions small_site(int pages = 150);

struct Deployment {
  SshFleet fleet;
  CrawlCluster cluster;
  TempDir dir{"deploy"};
  std::string hosts_file = dir / "hosts.yaml";
  std::vector<std::string> host_extra;  // per host, lines added to its entry

  explicit Deployment(int hosts, SiteOptions site = small_site());
  // Host i logs into account users[i] (see SshFleet).
  Deployment(int hosts, const std::vector<std::string>& users);
  ~Deployment();  // stops the workers

  // Writes hosts.yaml: the fleet's hosts (with their extra lines), `defaults` lines, and the
  // cluster's redis: and worker: sections (then `worker_extra`, which lands in worker:).
  void write_hosts(const std::string& defaults, const std::string& worker_extra = "");
  CommandResult ctl(std::vector<std::string> args);
  // Deploys with --json and returns the report (fails the test on a non-JSON answer).
  nlohmann::json deploy(std::vector<std::string> extra = {}, int* rc = nullptr);
  // What the sessions left running, by program name.
  std::map<std::string, int> running() const;
  std::vector<queue::Fleet::Presence> heartbeats(const std::vector<std::string>& ids);
};

// An sshd fleet and a hosts.yaml naming it, nothing deployed and no Redis: for the commands
// that only read the hosts (logs, collect).
struct HostsOnly {
  SshFleet fleet;
  TempDir dir;
  std::string hosts = dir / "hosts.yaml";
  HostsOnly(int n, std::string_view tag);
  const FleetHost& host(std::size_t i = 0) const { return fleet.hosts()[i]; }
  // crawlctl with -H hosts.yaml and no ssh config.
  CommandResult ctl(std::vector<std::string> args);
};

// crawlctl with the hosts file (for its redis: section) and nothing else.
CommandResult ctl_redis(Deployment& d, std::vector<std::string> args);
// `crawlctl status --json EXTRA...` parsed (an empty object, and a test failure, if it is not
// JSON).
nlohmann::json status_json(Deployment& d, std::vector<std::string> extra = {}, int* rc = nullptr);

// An integer reply of one Redis command on the cluster's Redis (-1 for another reply).
long long redis_integer(Deployment& d, const std::vector<std::string>& command);

// A directory `dir`/`name` holding every program of /usr/bin and /usr/sbin but dtach: a PATH
// without it, so that deploy runs install_command.
std::string path_without_dtach(const std::string& dir, const std::string& name);

const nlohmann::json& host_report(const nlohmann::json& report, const std::string& name);
// "host1/1", "host1/2", ... for every fleet host.
std::vector<std::string> worker_ids(const Deployment& d, int workers);

}  // namespace crawl::testing
