// crawlctl status: jobs (counters, pages/s over the last minute, ETA), workers (from their
// heartbeats; dead ones flagged and their leases returned) and, with --hosts, what every host
// says of each worker's process and log. --watch refreshes; --json is for scripts.

#include <algorithm>
#include <optional>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "commands.hpp"
#include "config/values.hpp"
#include "core/output.hpp"
#include "fleet.hpp"
#include "redis_options.hpp"
#include "status/snapshot.hpp"
#include "status/view.hpp"

namespace crawl::ctl {

using status::judge;
using status::k_exit_jobs_failed;
using status::k_exit_workers_missing;
using status::render;
using status::render_lines;
using status::Snapshot;
using status::Verdict;

namespace {

struct StatusOptions {
  RedisOptions redis;
  std::string job;
  bool json = false, watch = false, hosts = false, all = false, forget_dead = false;
  int last = 20;
  int sites = 0;  // --sites N: the job's N busiest sites
  std::string interval = "2s";
  std::string limit, ssh_config;
  std::string deadline = "30s";
  int fanout = 64;
};

int exit_code(const Verdict& v) {
  return (v.workers_missing ? k_exit_workers_missing : 0) |
         (v.jobs_failed ? k_exit_jobs_failed : 0);
}

int run_status(const StatusOptions& o) {
  auto interval = config::parse_duration(o.interval);
  if (!interval || interval->count() < 100) {
    crawl::print(stderr, "crawlctl status: --interval: {}\n",
                 interval ? "must be at least 100ms" : interval.error().message);
    return k_exit_usage;
  }
  if (auto d = config::parse_duration(o.deadline); !d) {
    crawl::print(stderr, "crawlctl status: --deadline: {}\n", d.error().message);
    return k_exit_usage;
  }
  if (o.sites < 0 || (o.sites > 0 && o.job.empty())) {
    crawl::print(stderr, "crawlctl status: --sites: {}\n",
                 o.sites < 0 ? "must be a count" : "needs a job id");
    return k_exit_usage;
  }
  status::HostsProbe hosts;
  ssh::Context context;
  std::optional<Fleet> fleet;
  if (o.hosts) {
    FleetOptions fo;
    fo.hosts_file = o.redis.hosts_file;
    fo.limit = o.limit;
    fo.fanout = o.fanout;
    fleet = load_fleet(fo, "status");
    if (!fleet) return k_exit_usage;
    context.ssh_config = o.ssh_config;
    load_keys(fleet->hosts, context.keys);
    hosts = [&, each = *config::parse_duration(o.deadline)] {
      fanout::PoolOptions pool = fleet->pool;
      pool.deadline = fanout::Clock::now() + each;
      return status::probe_hosts(fleet->hosts, ssh::remote_factory(context), pool);
    };
  }
  status::SnapshotRequest request;
  request.job = o.job;
  request.last = static_cast<std::size_t>(std::max(o.last, 0));
  request.all = o.all;
  request.sites = static_cast<std::size_t>(o.sites);
  request.forget_dead = o.forget_dead;
  const bool tty = isatty(STDOUT_FILENO) == 1;
  const auto* interrupted = o.watch ? interrupt_flag() : nullptr;
  std::optional<queue::Queue> queue;
  queue::PrimaryCheck primary_check;
  std::optional<Snapshot> previous;
  int code = k_exit_ok;
  for (;;) {
    std::string error;
    if (!queue) {
      auto q = open_queue(o.redis);
      if (q)
        queue.emplace(std::move(*q));
      else
        error = q.error().message;
    }
    if (queue && o.watch && primary_moved(*queue, primary_check)) queue.reset();
    if (queue) {
      auto snapshot = status::take_snapshot(*queue, request, hosts);
      if (!snapshot) {
        error = snapshot.error().message;
        // A missing job is bad input; a broken connection is tried again when watching.
        if (snapshot.error().kind == ErrorKind::not_found) {
          crawl::print(stderr, "crawlctl status: {}\n", error);
          return k_exit_usage;
        }
        if (snapshot.error().kind == ErrorKind::connection) queue.reset();
      } else {
        const Verdict verdict = judge(*snapshot, previous ? &*previous : nullptr);
        code = exit_code(verdict);
        if (o.json) {
          // Written out as it goes: 10,000 workers are 4 MB of JSON.
          std::string text;
          JsonWriter out(text, o.watch ? -1 : 2, [](std::string& done) {
            write_shown(stdout, done);
            done.clear();
          });
          status::write_json(out, *snapshot, verdict, o.job);
          text += '\n';
          out.flush();
        } else if (o.watch && !tty) {
          write_shown(stdout, render_lines(*snapshot, verdict));
        } else {
          if (o.watch) {
            write_control(stdout, "\033[H\033[2J");
            crawl::print("crawlctl status, every {}  (Ctrl-C to quit)\n\n", o.interval);
          }
          write_shown(stdout, render(*snapshot, verdict, o.job));
        }
        std::fflush(stdout);
        // Watching one job ends when it does.
        if (!o.job.empty() && (snapshot->jobs[0].finished() || snapshot->jobs[0].cancelled()))
          return code;
        previous = std::move(*snapshot);
      }
    }
    if (!error.empty()) {
      crawl::print(stderr, "crawlctl status: {}\n", error);
      if (!o.watch) return k_exit_failed;
    }
    if (!o.watch) return code;
    const auto until = std::chrono::steady_clock::now() + *interval;
    while (std::chrono::steady_clock::now() < until) {
      if (interrupted->load()) return code;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace

void add_status_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<StatusOptions>();
  CLI::App* sub =
      app.add_subcommand("status", "Show jobs and workers: progress, rates, dead workers");
  sub->add_option("job", o->job, "Job id (default: the last jobs)");
  sub->add_flag("--json", o->json, "Print JSON for scripts");
  sub->add_flag("-w,--watch", o->watch, "Refresh until Ctrl-C (or until the named job ends)");
  sub->add_option("--interval", o->interval, "Time between refreshes with --watch")
      ->capture_default_str();
  sub->add_flag("--hosts", o->hosts,
                "Also ask every host in the hosts file (-H) over SSH which worker processes run");
  sub->add_option("-l,--limit", o->limit, "With --hosts: the hosts to ask (as for deploy)");
  sub->add_option("--fanout", o->fanout, "With --hosts: hosts asked at once")
      ->capture_default_str();
  sub->add_option("--deadline", o->deadline, "With --hosts: each round of asking ends by then")
      ->capture_default_str();
  sub->add_option("--ssh-config", o->ssh_config,
                  "With --hosts: ssh_config file (default ~/.ssh/config; 'none')");
  sub->add_option("--last", o->last, "Without a job id: how many of the latest jobs to show")
      ->capture_default_str();
  sub->add_flag("--all", o->all, "Without a job id: every job");
  sub->add_option("--sites", o->sites,
                  "With a job id: list its N busiest sites (queued, in flight, next allowed "
                  "request, back-off "
                  "and its reason, failures, Crawl-delay)")
      ->expected(0, 1)
      ->default_str("20");
  sub->add_flag("--forget-dead", o->forget_dead,
                "Stop listing the workers that died (their leases are back already)");
  add_redis_options(sub, o->redis);
  sub->footer(
      "Exit: 0 all well; 4 a worker is dead or missing (or work is queued and no worker is\n"
      "alive); 8 a job shown has failed URLs; 12 both; 1 Redis unreachable; 2 bad input.\n\n"
      "Examples:\n"
      "  crawlctl status\n"
      "  crawlctl status 17 --watch\n"
      "  crawlctl status 17 --sites 50\n"
      "  crawlctl status --hosts -H hosts.yaml\n"
      "  crawlctl status 17 --json | jq .counters");
  sub->callback([o, &run] { run = [o] { return run_status(*o); }; });
}

}  // namespace crawl::ctl
