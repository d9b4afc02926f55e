// crawlctl stop: SIGTERM every worker on the selected hosts (they drain and hand back their
// URLs), wait, then SIGKILL what remains.

#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "config/values.hpp"
#include "core/output.hpp"
#include "fanout/host_tasks.hpp"
#include "fleet.hpp"

namespace crawl::ctl {
namespace {

struct StopOptions {
  FleetOptions fleet;
  std::string grace = "15s";
};

int run_stop(const StopOptions& options) {
  auto fleet = load_fleet(options.fleet, "stop");
  if (!fleet) return k_exit_usage;
  auto grace = config::parse_duration(options.grace);
  if (!grace) {
    crawl::print(stderr, "crawlctl stop: --grace: {}\n", grace.error().message);
    return k_exit_usage;
  }
  const auto deadline = fleet->pool.deadline;
  return run_on_fleet(
      *fleet, options.fleet,
      [&](fanout::Remote& remote, const config::Host& host, const auto& state) {
        return fanout::stop_host(remote, host, *grace, deadline, state);
      },
      "stopped workers on");
}

}  // namespace

void add_stop_command(CLI::App& app, Action& run) {
  auto options = std::make_shared<StopOptions>();
  CLI::App* sub = app.add_subcommand("stop", "Stop the crawlworkers on the selected hosts");
  add_fleet_options(sub, options->fleet);
  sub->add_option("--grace", options->grace,
                  "How long workers may drain after SIGTERM before SIGKILL")
      ->capture_default_str();
  sub->footer(
      "Workers finish or hand back the URLs they hold, so nothing is lost.\n"
      "Exit: 0 all hosts ok, 1 some failed, 3 none succeeded, 2 bad input.\n\n"
      "Examples:\n"
      "  crawlctl stop -H hosts.yaml\n"
      "  crawlctl stop -H hosts.yaml --limit 'crawl[01-10].eu' --grace 30s");
  sub->callback([options, &run] { run = [options] { return run_stop(*options); }; });
}

}  // namespace crawl::ctl
