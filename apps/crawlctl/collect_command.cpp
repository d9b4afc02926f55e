// crawlctl collect: the closed WARC files of the workers of every selected host, brought to
// OUTDIR/HOST/ incrementally (only files not yet held whole; a file cut short goes on where it
// stopped), each verified by size and SHA-256 against the host's, each indexed (NAME.cdxj), and
// OUTDIR/index.cdxj merged from them all.

#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "core/output.hpp"
#include "fanout/collect_task.hpp"
#include "fleet.hpp"

namespace crawl::ctl {

namespace {

using fanout::Clock;

struct CollectOptions {
  FleetOptions fleet;
  std::string outdir;
  std::string job;
};

int run_collect(const CollectOptions& o) {
  auto fleet = load_fleet(o.fleet, "collect");
  if (!fleet) return k_exit_usage;
  if (o.job.find_first_not_of("0123456789") != std::string::npos) {
    crawl::print(stderr, "crawlctl collect: --job: '{}' is not a job id\n", o.job);
    return k_exit_usage;
  }
  fanout::CollectTask task{o.outdir, fleet->inventory.worker.warc_dir, o.job};
  ssh::Context context;
  context.ssh_config = o.fleet.ssh_config;
  load_keys(fleet->hosts, context.keys);
  const auto start = Clock::now();
  const auto deadline = fleet->pool.deadline;
  auto reports = fanout::run(
      fleet->hosts, ssh::remote_factory(context),
      [&](fanout::Remote& remote, const config::Host& host, const auto&) {
        return fanout::collect_warcs(remote, host, task, deadline);
      },
      fleet->pool, nullptr);
  // The whole collection's index, from what every host's run left (a failed host's files
  // collected before its failure included).
  if (auto index = fanout::write_collection_index(o.outdir); !index)
    crawl::print(stderr, "crawlctl collect: {}\n", index.error().message);
  return report(fleet->hosts, reports, o.fleet.json, "collected WARC files from",
                Clock::now() - start);
}

}  // namespace

void add_collect_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<CollectOptions>();
  CLI::App* sub = app.add_subcommand(
      "collect", "Bring the workers' closed WARC files home, verified and indexed");
  add_fleet_options(sub, o->fleet);
  sub->add_option("--outdir", o->outdir, "Save them to DIR/HOST/NAME.warc.gz")->required();
  sub->add_option("--job", o->job, "Only this job's files");
  sub->footer(
      "Only closed files come (a worker closes its file past worker.warc_max_size, after a\n"
      "minute without a record, and when it stops); a later run fetches only files not yet\n"
      "held, and goes on with one cut short. Each is checked against the host's size and\n"
      "SHA-256 before it takes its name, and indexed beside it (NAME.cdxj); DIR/index.cdxj\n"
      "indexes them all, for pywb or any CDXJ reader (docs/warc.md).\n"
      "Exit: 0 all hosts answered, 1 some failed, 3 none did, 2 bad input.\n\n"
      "Examples:\n"
      "  crawlctl collect -H hosts.yaml --outdir ./warc\n"
      "  crawlctl collect -H hosts.yaml --outdir ./warc --job 7 --deadline 2h");
  sub->callback([o, &run] { run = [o] { return run_collect(*o); }; });
}

}  // namespace crawl::ctl
