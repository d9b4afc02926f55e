// crawlctl results: a job's records, as JSON Lines, as the original service's URL -> images map,
// or summed up.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "core/output.hpp"
#include "core/text.hpp"
#include "queue/record.hpp"
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
  queue::ResultReader reader(o.job, only);
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
  return k_exit_ok;
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
  add_redis_options(sub, o->redis);
  sub->footer(
      "Examples:\n  crawlctl results 17 > job17.jsonl\n  crawlctl results 17 --format json\n"
      "  crawlctl results 17 --format summary\n"
      "  crawlctl results 17 --outcome failed | jq -r '.url + \" \" + .reason'");
  sub->callback([o, &run] { run = [o] { return run_results(*o); }; });
}

}  // namespace crawl::ctl
