#pragma once
// Each subcommand registers its options on the root app and, when chosen on the command line,
// leaves in `run` the action that main() calls. The action returns the process exit code.

#include <functional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "core/result.hpp"

namespace crawl::ctl {

using Action = std::function<int()>;

// Exit codes shared by every subcommand (documented in README.md).
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failed = 1;  // the command ran and something failed
inline constexpr int k_exit_usage = 2;   // bad command line or bad input file

void add_hosts_command(CLI::App& app, Action& run);
void add_submit_command(CLI::App& app, Action& run);
void add_results_command(CLI::App& app, Action& run);  // results, drain
void add_status_command(CLI::App& app, Action& run);
void add_deploy_command(CLI::App& app, Action& run);
void add_stop_command(CLI::App& app, Action& run);
void add_job_commands(CLI::App& app, Action& run);  // wait, pause, resume, cancel
void add_logs_command(CLI::App& app, Action& run);
void add_collect_command(CLI::App& app, Action& run);
void add_serve_command(CLI::App& app, Action& run);

// The hosts file named by -H, else $CRAWL_HOSTS, else ./hosts.yaml.
std::string default_hosts_file();

// A hosts file that could not be loaded: parse errors as they are (file:line:column), other
// failures after "crawlctl COMMAND: ".
void print_inventory_error(std::string_view command, const Error& error);

// Warns on stderr, once per path, when a file holding a secret is open to others.
void warn_if_loose(const std::string& path, std::string_view what);

}  // namespace crawl::ctl
