// crawlctl status: a job's counters, or the list of jobs.

#include <memory>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "redis_options.hpp"
#include "table.hpp"

namespace crawl::ctl {

namespace {

struct StatusOptions {
  RedisOptions redis;
  std::string job;
  bool json = false;
};

std::string state_of(const queue::JobInfo& j) {
  if (j.finished()) return "finished";
  return j.stat("in_flight") > 0 ? "in progress" : "queued";
}

nlohmann::ordered_json job_json(const queue::JobInfo& j) {
  nlohmann::ordered_json out{{"id", j.id}, {"name", j.name}, {"state", state_of(j)},
                             {"finished", j.finished()}, {"created_ms", j.created_ms}};
  out["counters"] = j.stats;
  return out;
}

int run_status(const StatusOptions& o) {
  auto queue = open_queue(o.redis);
  if (!queue) {
    fmt::print(stderr, "crawlctl status: {}\n", queue.error().message);
    return k_exit_failed;
  }
  std::vector<std::string> ids{o.job};
  if (o.job.empty()) {
    auto all = queue->job_ids();
    if (!all) {
      fmt::print(stderr, "crawlctl status: {}\n", all.error().message);
      return k_exit_failed;
    }
    ids = *all;
  }
  std::vector<queue::JobInfo> jobs;
  for (const auto& id : ids) {
    auto info = queue->job(id);
    if (!info) {
      fmt::print(stderr, "crawlctl status: {}\n", info.error().message);
      return o.job.empty() ? k_exit_failed : k_exit_usage;
    }
    jobs.push_back(std::move(*info));
  }
  if (o.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& j : jobs) out.push_back(job_json(j));
    fmt::print("{}\n", (o.job.empty() ? out : out[0]).dump(2));
    return k_exit_ok;
  }
  Table table({"JOB", "STATE", "SUBMITTED", "QUEUED", "IN FLIGHT", "DONE", "FAILED", "FILTERED", "NAME"});
  for (const auto& j : jobs)
    table.add({j.id, state_of(j), std::to_string(j.stat("submitted")), std::to_string(j.stat("queued")),
               std::to_string(j.stat("in_flight")), std::to_string(j.stat("done")),
               std::to_string(j.stat("failed")), std::to_string(j.stat("filtered")), j.name});
  table.print(stdout);
  if (!o.job.empty()) {
    // The reasons behind failed and filtered counts.
    for (const auto& [name, value] : jobs[0].stats)
      if (name.find(':') != std::string::npos) fmt::print("  {:<24} {}\n", name, value);
  }
  return k_exit_ok;
}

}  // namespace

void add_status_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<StatusOptions>();
  CLI::App* sub = app.add_subcommand("status", "Show a job's progress, or every job");
  sub->add_option("job", o->job, "Job id (default: every job)");
  sub->add_flag("--json", o->json, "Print JSON for scripts");
  add_redis_options(sub, o->redis);
  sub->footer("Examples:\n  crawlctl status\n  crawlctl status 17 --json");
  sub->callback([o, &run] { run = [o] { return run_status(*o); }; });
}

}  // namespace crawl::ctl
