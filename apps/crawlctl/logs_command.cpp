// crawlctl logs: the workers' logs from every selected host, each line prefixed with its
// worker ("host/N"). -n: the last lines; -f: follow all of them, reconnecting to a host that
// drops; --outdir: one local file per worker, fetched incrementally (only new bytes).

#include <cstdio>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "commands.hpp"
#include "config/values.hpp"
#include "core/output.hpp"
#include "fanout/logs_task.hpp"
#include "fleet.hpp"

namespace crawl::ctl {

namespace {

using fanout::Clock;

struct LogsOptions {
  FleetOptions fleet;
  int lines = 10;
  bool follow = false;
  std::string grep;
  std::string outdir;
  std::string poll = "500ms";
};

int run_logs(const LogsOptions& o) {
  auto fleet = load_fleet(o.fleet, "logs");
  if (!fleet) return k_exit_usage;
  const auto poll = config::parse_duration(o.poll);
  if (!poll || poll->count() < 100) {
    crawl::print(stderr, "crawlctl logs: --poll: {}\n",
                 poll ? "must be at least 100ms" : poll.error().message);
    return k_exit_usage;
  }
  if (o.lines < 0) {
    crawl::print(stderr, "crawlctl logs: -n must not be negative\n");
    return k_exit_usage;
  }
  auto out = fanout::LogPrinter::create(o.grep, stdout, stderr);
  if (!out) {
    crawl::print(stderr, "crawlctl logs: {}\n", out.error().message);
    return k_exit_usage;
  }
  fanout::LogsTask task;
  task.lines = o.lines;
  task.follow = o.follow;
  task.grep = o.grep;
  task.outdir = o.outdir;
  task.poll = *poll;
  ssh::Context context;
  context.ssh_config = o.fleet.ssh_config;
  load_keys(fleet->hosts, context.keys);
  const auto factory = ssh::remote_factory(context);

  if (o.follow) {
    const auto* stop = interrupt_flag();
    std::vector<std::thread> threads;
    std::atomic<bool> failed = false;
    for (const auto& host : fleet->hosts)
      threads.emplace_back([&, &host = host] {
        if (!fanout::follow_logs(host, task, **out, factory, *stop)) failed = true;
      });
    for (auto& t : threads) t.join();
    return failed ? k_exit_failed : k_exit_ok;
  }

  const auto start = Clock::now();
  const auto deadline = fleet->pool.deadline;
  auto reports = fanout::run(
      fleet->hosts, factory,
      [&](fanout::Remote& remote, const config::Host& host, const auto&) {
        return fanout::fetch_logs(remote, host, task, **out, deadline);
      },
      fleet->pool, nullptr);
  if (!o.outdir.empty() || o.fleet.json)
    return report(fleet->hosts, reports, o.fleet.json, "fetched logs from", Clock::now() - start);
  // Printing lines: only the hosts that failed are worth a word, on stderr.
  std::size_t ok = 0;
  for (const auto& r : reports) {
    if (r.outcome == fanout::Outcome::ok) {
      ++ok;
      continue;
    }
    (*out)->note(fmt::format(
        "crawlctl logs: {}: {}: {}{}", fleet->hosts[r.host].name, fanout::to_string(r.outcome),
        r.failure.step.empty() ? "" : r.failure.step + ": ", r.failure.message));
  }
  if (ok == reports.size()) return k_exit_ok;
  return ok == 0 ? k_exit_none_reached : k_exit_some_failed;
}

}  // namespace

void add_logs_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<LogsOptions>();
  CLI::App* sub =
      app.add_subcommand("logs", "Show, follow or save the workers' logs from every host");
  add_fleet_options(sub, o->fleet);
  sub->add_option("-n,--lines", o->lines, "Last lines per worker")->capture_default_str();
  sub->add_flag("-f,--follow", o->follow, "Keep printing new lines from all hosts until Ctrl-C");
  sub->add_option("--grep", o->grep, "Only lines matching this POSIX extended regex");
  sub->add_option(
      "--outdir", o->outdir,
      "Save each worker's whole log to DIR/HOST/wN.log; a later run fetches only new bytes");
  sub->add_option("--poll", o->poll, "With -f: how often hosts look for new lines")
      ->capture_default_str();
  sub->footer(
      "Lines are prefixed with their worker, HOST/N. Rotated logs (wN.1.log, ...) are read\n"
      "too, so nothing is skipped across a rotation. With -f, a host that drops is reported and\n"
      "reconnected; its lines resume where they stopped.\n"
      "Exit: 0 all hosts answered, 1 some failed, 3 none did, 2 bad input.\n\n"
      "Examples:\n"
      "  crawlctl logs -H hosts.yaml -n 20\n"
      "  crawlctl logs -H hosts.yaml -f --grep 'event=(redis_error|reaped)'\n"
      "  crawlctl logs -H hosts.yaml --limit eu --outdir ./logs");
  sub->callback([o, &run] {
    run = [o] {
      if (!o->outdir.empty() && !o->grep.empty()) {
        crawl::print(stderr,
                     "crawlctl logs: --grep and --outdir do not mix: --outdir saves whole logs\n");
        return k_exit_usage;
      }
      return run_logs(*o);
    };
  });
}

}  // namespace crawl::ctl
