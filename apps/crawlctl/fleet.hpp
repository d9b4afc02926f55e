#pragma once
// What the fleet commands (deploy, stop) share: options, loading and selecting hosts, keys
// loaded before fan-out, live progress, the final report and its exit code.

#include <atomic>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/inventory.hpp"
#include "fanout/pool.hpp"
#include "fanout/progress.hpp"
#include "fanout/rollout.hpp"
#include "ssh/ssh.hpp"

namespace crawl::ctl {

using fanout::ProgressPrinter;

// Exit codes of the fleet commands (README.md): every host ok, some failed, none succeeded.
inline constexpr int k_exit_some_failed = 1;
inline constexpr int k_exit_none_reached = 3;

struct FleetOptions {
  std::string hosts_file;
  std::string limit;
  int fanout = 64;
  std::string deadline = "10m";
  std::string ssh_config;  // "" = ~/.ssh/config; "none"
  bool json = false;
};

void add_fleet_options(CLI::App* app, FleetOptions& options);

struct Fleet {
  config::Inventory inventory;
  std::vector<config::Host> hosts;  // the selected ones
  fanout::PoolOptions pool;
  std::string command;      // deploy, stop
  std::string record_path;  // where this run's report is kept (fanout/run_record.hpp)
};

// Reads and selects hosts; prints the error and returns nullopt on bad input. In --limit,
// "@failed" is the hosts that did not end ok in the last run of `command` over this hosts file.
std::optional<Fleet> load_fleet(const FleetOptions& options, const char* command);

// Loads every identity file the hosts use, asking each passphrase once ($CRAWL_SSH_PASSPHRASE,
// else the terminal).
void load_keys(const std::vector<config::Host>& hosts, ssh::KeyRing& keys);

// Ctrl-C sets the flag: no new host starts; the run reports what finished.
const std::atomic<bool>* interrupt_flag();

// Loads the hosts' keys, runs `task` on every host over SSH (or locally) with live progress, in
// waves when `rollout` asks for them, prints the report ("<verb> N host(s) ..."), keeps it in
// the fleet's record file and returns the exit code.
int run_on_fleet(const Fleet& fleet, const FleetOptions& options, const fanout::Task& task,
                 std::string_view verb, const fanout::RolloutOptions& rollout = {},
                 const fanout::CanaryCheck& check = {});
// The same, for a task that opens connections of its own (deploy --relay): `make` gets the
// factory the run connects with and the pool's options (to watch hosts end), before any host is
// contacted, and returns the task.
using MakeTask =
    std::function<fanout::Task(const fanout::RemoteFactory& connect, fanout::PoolOptions& pool)>;
int run_on_fleet(const Fleet& fleet, const FleetOptions& options, const MakeTask& make,
                 std::string_view verb, const fanout::RolloutOptions& rollout,
                 const fanout::CanaryCheck& check);

// Prints the per-host table and the summary (or JSON) and returns the exit code.
int report(const std::vector<config::Host>& hosts, const std::vector<fanout::HostReport>& reports,
           bool json, std::string_view verb, fanout::Clock::duration elapsed);

}  // namespace crawl::ctl
