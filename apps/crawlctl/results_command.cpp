// crawlctl results: a job's records, as JSON Lines, as the original service's URL -> images map,
// or summed up.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/output.hpp"
#include "core/text.hpp"
#include "core/units.hpp"
#include "fleet.hpp"
#include "queue/record.hpp"
#include "queue/records.hpp"
#include "queue/results.hpp"
#include "redis_options.hpp"
#include "status/text.hpp"

namespace crawl::ctl {

namespace {

// What --format summary adds up over a job's records.
struct Summary {
  std::uint64_t records = 0, done = 0, failed = 0, filtered = 0;
  std::uint64_t image_refs = 0, bytes = 0, truncated = 0;
  std::set<std::string> images;
  std::map<std::string, std::uint64_t> failed_by, filtered_by;

  void add(const queue::Record& r) {
    ++records;
    switch (r.outcome) {
      case queue::Outcome::done:
        ++done;
        bytes += r.bytes;
        truncated += r.truncated ? 1 : 0;
        image_refs += r.images.size();
        images.insert(r.images.begin(), r.images.end());
        break;
      case queue::Outcome::failed:
        ++failed;
        ++failed_by[r.reason.empty() ? "unknown" : r.reason];
        break;
      case queue::Outcome::filtered:
        ++filtered;
        ++filtered_by[r.reason.empty() ? "unknown" : r.reason];
        break;
    }
  }
};

// "http_404 9, timeout 2", most frequent first.
std::string reasons(const std::map<std::string, std::uint64_t>& by) {
  std::vector<std::pair<std::string, std::uint64_t>> v(by.begin(), by.end());
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [reason, n] : v)
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", escape_control(reason), n);
  return out;
}

void print_summary(const std::string& job, const Summary& s) {
  crawl::print("job {}: {} URLs recorded\n", job, s.records);
  crawl::print("  pages     {}: {} images on them ({} distinct), {} of bodies{}\n", s.done,
               s.image_refs, s.images.size(), human_bytes(static_cast<double>(s.bytes)),
               s.truncated ? fmt::format(", {} cut at max_body", s.truncated) : "");
  crawl::print("  failed    {}{}{}\n", s.failed, s.failed ? ": " : "", reasons(s.failed_by));
  crawl::print("  filtered  {}{}{}\n", s.filtered, s.filtered ? ": " : "", reasons(s.filtered_by));
}

struct ResultsOptions {
  RedisOptions redis;
  std::string job;
  std::string format = "jsonl";
  std::string outcome;  // "" = all
  std::string records_dir;
};

int run_results(const ResultsOptions& o) {
  if (o.format != "jsonl" && o.format != "json" && o.format != "summary") {
    crawl::print(stderr, "crawlctl results: --format must be jsonl, json or summary\n");
    return k_exit_usage;
  }
  auto queue = open_queue(o.redis);
  if (!queue) {
    crawl::print(stderr, "crawlctl results: {}\n", queue.error().message);
    return k_exit_failed;
  }
  if (auto job = queue->jobs().job(o.job); !job) {
    crawl::print(stderr, "crawlctl results: {}\n", job.error().message);
    return k_exit_usage;
  }
  Summary summary;
  const std::optional<queue::Outcome> only = queue::outcome_of(o.outcome);
  if (!o.outcome.empty() && !only) {
    crawl::print(stderr, "crawlctl results: --outcome must be done, failed or filtered\n");
    return k_exit_usage;
  }
  queue::ResultReader reader(o.job, only, o.records_dir);
  queue::ImagesMap images;
  auto jobs = queue->jobs();
  while (!reader.done()) {
    auto page = reader.next(jobs, [&](const std::string& json, const queue::Record& record) {
      if (o.format == "jsonl") {
        // As Redis holds it, unless it holds what a terminal would obey: then written again.
        crawl::print("{}\n",
                     plain_text(json) ? json : json_text(nlohmann::ordered_json::parse(json), -1));
      } else if (o.format == "summary") {
        summary.add(record);
      } else {
        crawl::print("{}", images.entry(record));
      }
    });
    if (!page) {
      crawl::print(stderr, "crawlctl results: {}\n", page.error().message);
      return k_exit_failed;
    }
  }
  if (o.format == "json") crawl::print("{}\n", images.close());
  if (o.format == "summary") print_summary(o.job, summary);
  if (const auto unreadable = reader.unreadable(); unreadable > 0)
    crawl::print(
        stderr,
        "crawlctl results: {} records of job {} could not be read (not valid JSON records)\n",
        unreadable, o.job);
  if (const auto skipped = reader.skipped(); skipped > 0)
    crawl::print(stderr,
                 "crawlctl results: {} entries of job {}'s records stream were not records "
                 "(skipped when drained)\n",
                 skipped, o.job);
  return k_exit_ok;
}

struct DrainOptions {
  RedisOptions redis;
  std::vector<std::string> jobs;
  std::string records_dir;
  bool follow = false;
  std::string interval = "1s";
};

int run_drain(const DrainOptions& o) {
  auto interval = parse_duration(o.interval);
  if (!interval || interval->count() < 10) {
    crawl::print(stderr, "crawlctl drain: --interval: {}\n",
                 interval ? "at least 10ms" : interval.error().message);
    return k_exit_usage;
  }
  const auto* interrupted = interrupt_flag();
  std::optional<queue::Queue> queue;
  std::set<std::string> said;  // errors said once each while following
  int rc = k_exit_ok;
  do {
    if (!queue) {
      auto q = open_queue(o.redis);
      if (!q) {
        if (!o.follow) {
          crawl::print(stderr, "crawlctl drain: {}\n", q.error().message);
          return k_exit_failed;
        }
        if (said.insert(q.error().message).second)
          crawl::print(stderr, "crawlctl drain: {} (retrying)\n", q.error().message);
      } else {
        queue.emplace(std::move(*q));
      }
    }
    if (queue) {
      auto pass = queue->drain_records(o.records_dir, o.jobs);
      if (!pass) {
        if (said.insert(pass.error().message).second)
          crawl::print(stderr, "crawlctl drain: {}\n", pass.error().message);
        queue.reset();
        rc = k_exit_failed;
      } else {
        for (const auto& row : *pass) {
          if (row.error) {
            rc = k_exit_failed;
            if (!o.follow || said.insert(row.error->message).second)
              crawl::print(stderr, "crawlctl drain: {}\n", row.error->message);
          } else if (!o.follow) {
            crawl::print("job {}: {} records drained\n", row.job, row.moved);
          }
        }
      }
    }
    if (!o.follow) break;
    const auto until = std::chrono::steady_clock::now() + *interval;
    while (std::chrono::steady_clock::now() < until && !interrupted->load())
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (!interrupted->load());
  return o.follow ? k_exit_ok : rc;
}

}  // namespace

void add_results_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<ResultsOptions>();
  CLI::App* sub = app.add_subcommand("results", "Print a job's results");
  sub->add_option("job", o->job, "Job id")->required();
  sub->add_option("--format", o->format,
                  "jsonl: one record per URL; json: {url: [images]} for the pages crawled; "
                  "summary: pages, images, failures and filters counted by reason")
      ->capture_default_str();
  sub->add_option("--outcome", o->outcome, "Only done, failed or filtered records");
  add_records_option(sub, o->records_dir);
  add_redis_options(sub, o->redis);
  sub->footer(
      "Examples:\n  crawlctl results 17 > job17.jsonl\n  crawlctl results 17 --format json\n"
      "  crawlctl results 17 --format summary\n"
      "  crawlctl results 17 --outcome failed | jq -r '.url + \" \" + .reason'");
  sub->callback([o, &run] { run = [o] { return run_results(*o); }; });

  auto d = std::make_shared<DrainOptions>();
  CLI::App* drain = app.add_subcommand(
      "drain", "Bring jobs' records out of Redis into their homes on this machine");
  drain->add_option("job", d->jobs, "Job ids (default: every job with records waiting)");
  drain->add_flag("--follow,-f", d->follow, "Keep draining until interrupted");
  drain->add_option("--interval", d->interval, "With --follow: a pass this often")
      ->capture_default_str();
  add_records_option(drain, d->records_dir);
  add_redis_options(drain, d->redis);
  drain->footer(
      "A job's records wait in Redis until a drainer takes them home: results, wait and serve\n"
      "drain as they run; past a job's records_backlog its claims wait. A job's home is on the\n"
      "machine that drained it first (docs/operations.md, \"Results\").\n\n"
      "Examples:\n  crawlctl drain\n  crawlctl drain --follow        # beside a long crawl, "
      "without serve");
  drain->callback([d, &run] { run = [d] { return run_drain(*d); }; });
}

}  // namespace crawl::ctl
