// Runs a simulated fleet for the deploy benchmark until stdin closes: n sshd hosts on
// 127.0.1.x and redis-server, with the files each deploy tool needs written to OUT:
//   fleet.env        KEY, KNOWN_HOSTS, REDIS_URL, SSHD_PIDS (for server CPU), HOSTS
//   hosts.yaml       crawlctl's inventory        hosts.txt   user@address:port per line
// With --users PREFIX every host logs into its own account PREFIX1..PREFIXn (created here with
// a home under OUT, removed at exit), so every tool gives each host its own files.

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <signal.h>
#include <unistd.h>

#include "process.hpp"
#include "redis_server.hpp"
#include "ssh_fleet.hpp"

using namespace crawl::testing;

namespace {

struct Accounts {
  std::vector<std::string> names;
  TempDir* scratch = nullptr;
  ~Accounts() {
    for (const auto& name : names)
      run_command({{"userdel", "-r", "-f", name}, scratch->path() + "/userdel.log", {}});
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fleet_server: sshd hosts and redis-server on loopback, for the deploy benchmark"};
  int hosts = 10, workers = 4;
  std::string out, users;
  app.add_option("--hosts", hosts, "Simulated hosts (1 to 250)");
  app.add_option("--workers", workers, "Workers per host in hosts.yaml");
  app.add_option("--users", users, "Give host i its own account PREFIXi");
  app.add_option("--out", out, "Directory for the generated files")->required();
  CLI11_PARSE(app, argc, argv);
  signal(SIGPIPE, SIG_IGN);

  TempDir scratch("fleet-server");
  Accounts accounts;
  accounts.scratch = &scratch;
  if (!users.empty())
    for (int i = 1; i <= hosts; ++i) {
      const std::string name = users + std::to_string(i);
      const std::string home = out + "/homes/" + name;
      std::filesystem::create_directories(out + "/homes");
      run_command({{"userdel", "-r", "-f", name}, scratch.path() + "/userdel.log", {}});
      if (run_command({{"useradd", "-M", "-p", "*", "-d", home, "-s", "/bin/bash", name},
                       scratch.path() + "/useradd.log",
                       {}}) != 0) {
        std::fprintf(stderr, "useradd %s failed: %s\n", name.c_str(),
                     read_text(scratch.path() + "/useradd.log").c_str());
        return 1;
      }
      accounts.names.push_back(name);
      std::filesystem::create_directories(home);  // "*": no password, yet not locked (no PAM)
    }
  RedisServer redis;
  SshFleet fleet(hosts, accounts.names);
  std::string pids, list;
  for (std::size_t i = 0; i < fleet.hosts().size(); ++i) {
    const auto& h = fleet.hosts()[i];
    pids += (pids.empty() ? "" : " ") + std::to_string(fleet.pid(i));
    list += h.user + "@" + h.address + ":" + std::to_string(h.port) + "\n";
  }
  write_text(out + "/hosts.txt", list);
  write_text(out + "/hosts.yaml",
             fleet.inventory_yaml("defaults:\n  workers: " + std::to_string(workers) +
                                  "\n  known_hosts: \"" + fleet.known_hosts() +
                                  "\"\nredis:\n  url: " + redis.url() + "\n"));
  write_text(out + "/fleet.env.partial", "KEY=" + fleet.client_key() +
                                             "\nKNOWN_HOSTS=" + fleet.known_hosts() +
                                             "\nREDIS_URL=" + redis.url() + "\nSSHD_PIDS=\"" +
                                             pids + "\"\nHOSTS=" + std::to_string(hosts) + "\n");
  std::filesystem::rename(out + "/fleet.env.partial", out + "/fleet.env");
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}
