#pragma once
// The per-host report of a fleet run (deploy, stop) as JSON: printed by --json, and kept in a
// state file per hosts file and command, so that `--limit @failed` can pick the hosts that did
// not end ok last time.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "fanout/pool.hpp"

namespace crawl::fanout {

// The hosts' names by how they ended ("ok", "unreachable", ...), in the reports' order.
std::map<std::string, std::vector<std::string>> hosts_by_outcome(
    const std::vector<config::Host>& hosts, const std::vector<HostReport>& reports);

// {"hosts": [{name, outcome, elapsed_ms, attempts, summary | step + message, bytes...}],
//  "outcomes": {outcome: [names]}, "elapsed_ms": N}
nlohmann::ordered_json report_json(const std::vector<config::Host>& hosts,
                                   const std::vector<HostReport>& reports, Clock::duration elapsed);

// Where the last `command` run over `hosts_file` is kept: $XDG_STATE_HOME/crawlctl (else
// ~/.local/state/crawlctl), named after the hosts file's absolute path and the command.
std::string run_record_path(const std::string& hosts_file, std::string_view command);

// Writes the report with the command and the time (atomically: a temporary file renamed).
Result<void> write_run_record(const std::string& path, std::string_view command,
                              const nlohmann::ordered_json& report);

struct RunRecord {
  std::string command;
  std::int64_t at_ms = 0;           // when it ended, by this machine's clock
  std::vector<std::string> failed;  // the hosts that did not end ok, in the report's order
  std::size_t hosts = 0;            // all it covered
};
// Fails naming the file when there is none (no such run yet) or it cannot be read.
Result<RunRecord> read_run_record(const std::string& path);

// The group "@failed" for --limit: the hosts of `inventory` the record lists as failed. Names no
// longer in the inventory go to `gone`.
config::Group failed_group(const config::Inventory& inventory, const RunRecord& record,
                           std::vector<std::string>& gone);

}  // namespace crawl::fanout
