// crawlctl results: a job's records, as JSON Lines or as the original service's URL -> images map.

#include <memory>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "queue/record.hpp"
#include "redis_options.hpp"

namespace crawl::ctl {

namespace {

struct ResultsOptions {
  RedisOptions redis;
  std::string job;
  std::string format = "jsonl";
  std::string outcome;  // "" = all
};

int run_results(const ResultsOptions& o) {
  if (o.format != "jsonl" && o.format != "json") {
    fmt::print(stderr, "crawlctl results: --format must be jsonl or json\n");
    return k_exit_usage;
  }
  auto queue = open_queue(o.redis);
  if (!queue) {
    fmt::print(stderr, "crawlctl results: {}\n", queue.error().message);
    return k_exit_failed;
  }
  if (auto job = queue->job(o.job); !job) {
    fmt::print(stderr, "crawlctl results: {}\n", job.error().message);
    return k_exit_usage;
  }
  nlohmann::ordered_json images = nlohmann::ordered_json::object();
  std::string cursor = "0";
  do {
    auto page = queue->results(o.job, cursor);
    if (!page) {
      fmt::print(stderr, "crawlctl results: {}\n", page.error().message);
      return k_exit_failed;
    }
    for (const std::string& json : *page) {
      auto record = queue::record_from_json(json);
      if (!record) continue;
      if (!o.outcome.empty() && queue::to_string(record->outcome) != o.outcome) continue;
      if (o.format == "jsonl") {
        fmt::print("{}\n", json);
      } else if (record->outcome == queue::Outcome::done) {
        images[record->url] = record->images;
      }
    }
  } while (cursor != "0");
  if (o.format == "json") fmt::print("{}\n", images.dump(2));
  return k_exit_ok;
}

}  // namespace

void add_results_command(CLI::App& app, Action& run) {
  auto o = std::make_shared<ResultsOptions>();
  CLI::App* sub = app.add_subcommand("results", "Print a job's results");
  sub->add_option("job", o->job, "Job id")->required();
  sub->add_option("--format", o->format,
                  "jsonl: one record per URL; json: {url: [images]} for the pages crawled")
      ->capture_default_str();
  sub->add_option("--outcome", o->outcome, "Only done, failed or filtered records (jsonl)");
  add_redis_options(sub, o->redis);
  sub->footer("Examples:\n  crawlctl results 17 > job17.jsonl\n  crawlctl results 17 --format json\n"
              "  crawlctl results 17 --outcome failed | jq -r '.url + \" \" + .reason'");
  sub->callback([o, &run] { run = [o] { return run_results(*o); }; });
}

}  // namespace crawl::ctl
