#include "deployment.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace crawl::testing {
namespace {

std::string comm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace

SiteOptions small_site(int pages) {
  SiteOptions o;
  o.pages = pages;
  o.body_cap = 256u << 10;
  return o;
}

Deployment::Deployment(int hosts, SiteOptions site)
    : fleet(hosts), cluster(std::move(site)), host_extra(hosts) {}

Deployment::Deployment(int hosts, const std::vector<std::string>& users)
    : fleet(hosts, users), cluster(small_site()), host_extra(hosts) {}

Deployment::~Deployment() {
  ctl({"stop", "--grace", "5s"});
}

void Deployment::write_hosts(const std::string& defaults, const std::string& worker_extra) {
  std::string yaml = "defaults:\n  known_hosts: \"" + fleet.known_hosts() + "\"\n" +
                     "  connect_timeout: 3s\n  command_timeout: 60s\n" + defaults + "hosts:\n";
  for (std::size_t i = 0; i < fleet.hosts().size(); ++i) {
    const FleetHost& h = fleet.hosts()[i];
    yaml += "  " + h.name + ":\n";
    const std::string& extra = host_extra[i];
    if (extra.find("address:") == std::string::npos)
      yaml += "    address: " + h.address + "\n    port: " + std::to_string(h.port) + "\n";
    yaml += "    user: \"" + h.user + "\"\n";
    if (extra.find("identity_file:") == std::string::npos)
      yaml += "    identity_file: \"" + fleet.client_key() + "\"\n";
    if (extra.find("remote_dir:") == std::string::npos)
      yaml += "    remote_dir: \"" + h.remote_dir + "\"\n";
    yaml += extra;
  }
  yaml += read_text(cluster.config_path()) + worker_extra;
  write_text(hosts_file, yaml);
}

CommandResult Deployment::ctl(std::vector<std::string> args) {
  args.insert(args.end(), {"-H", hosts_file, "--ssh-config", "none"});
  return run_program(CRAWLCTL, args, dir, 180s);
}

nlohmann::json Deployment::deploy(std::vector<std::string> extra, int* rc) {
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

std::map<std::string, int> Deployment::running() const {
  std::map<std::string, int> out;
  for (pid_t pid : fleet.session_processes()) ++out[comm(pid)];
  return out;
}

std::vector<queue::Fleet::Presence> Deployment::heartbeats(const std::vector<std::string>& ids) {
  auto url = queue::parse_redis_url(cluster.redis().url());
  auto redis = queue::Redis::connect(*url, 5s);
  if (!redis) throw std::runtime_error(redis.error().message);
  queue::Queue q(std::move(*redis), queue::Keys{"crawl"});
  auto beats = q.fleet().heartbeats(ids);
  if (!beats) throw std::runtime_error(beats.error().message);
  return *beats;
}

CommandResult ctl_redis(Deployment& d, std::vector<std::string> args) {
  args.insert(args.end(), {"-H", d.hosts_file});
  return run_program(CRAWLCTL, args, d.dir, 120s);
}

nlohmann::json status_json(Deployment& d, std::vector<std::string> extra, int* rc) {
  std::vector<std::string> args{"status", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  CommandResult r = d.ctl(args);
  if (rc) *rc = r.rc;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception&) {
    ADD_FAILURE() << "status printed no JSON (rc " << r.rc << "): " << r.err;
    return nlohmann::json::object();
  }
}

long long redis_integer(Deployment& d, const std::vector<std::string>& command) {
  auto url = queue::parse_redis_url(d.cluster.redis().url());
  auto redis = queue::Redis::connect(*url, 5s);
  if (!redis) throw std::runtime_error(redis.error().message);
  auto r = redis->command(command);
  return r ? r->integer : -1;
}

const nlohmann::json& host_report(const nlohmann::json& report, const std::string& name) {
  for (const auto& h : report["hosts"])
    if (h["name"] == name) return h;
  throw std::runtime_error("no report for " + name);
}

std::vector<std::string> worker_ids(const Deployment& d, int workers) {
  std::vector<std::string> out;
  for (const auto& h : d.fleet.hosts())
    for (int i = 1; i <= workers; ++i) out.push_back(h.name + "/" + std::to_string(i));
  return out;
}

std::string path_without_dtach(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  const std::string bin = dir + "/" + name;
  fs::create_directories(bin);
  for (const char* from : {"/usr/bin", "/usr/sbin"})
    for (const auto& entry : fs::directory_iterator(from)) {
      const std::string file = entry.path().filename();
      std::error_code ec;
      if (file != "dtach") fs::create_symlink(entry.path(), bin + "/" + file, ec);
    }
  return bin;
}

HostsOnly::HostsOnly(int n, std::string_view tag) : fleet(n), dir(tag) {
  write_text(hosts, "defaults:\n  known_hosts: \"" + fleet.known_hosts() +
                        "\"\n  connect_timeout: 3s\n  command_timeout: 30s\n" +
                        fleet.inventory_yaml());
}

CommandResult HostsOnly::ctl(std::vector<std::string> args) {
  args.insert(args.end(), {"-H", hosts, "--ssh-config", "none"});
  return run_program(CRAWLCTL, args, dir, std::chrono::seconds(60));
}

}  // namespace crawl::testing
