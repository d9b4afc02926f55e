// Parse-only rates on the files of a generated site: Gumbo alone, and what a worker does per
// page (extract, resolve, judge links). Measured in CPU time of one thread, so the figures hold
// on a busy machine.

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <gumbo.h>

#include "policy/scope.hpp"
#include "worker/parse_pool.hpp"

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: parse_bench DIR_OF_HTML_FILES BASE_URL [ROUNDS]\n");
    return 2;
  }
  const std::string base = argv[2];
  const int rounds = argc > 3 ? std::stoi(argv[3]) : 1;
  std::vector<std::pair<std::string, std::string>> pages;  // url, body
  std::size_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    bytes += body.str().size();
    pages.emplace_back(base + "/page/" + entry.path().filename().string(), body.str());
  }
  if (pages.empty()) return 2;

  // Gumbo alone, with the options the worker uses.
  double start = cpu_seconds();
  for (int r = 0; r < rounds; ++r)
    for (const auto& [u, body] : pages) {
      GumboOptions options = kGumboDefaultOptions;
      options.max_errors = 0;
      GumboOutput* out = gumbo_parse_with_options(&options, body.data(), body.size());
      gumbo_destroy_output(&options, out);
    }
  const double gumbo = cpu_seconds() - start;

  // The worker's whole per-page parse step.
  crawl::policy::JobOptions job;
  auto filter = std::make_shared<const crawl::policy::LinkFilter>(
      std::move(*crawl::policy::LinkFilter::create(job, {base.substr(base.find("//") + 2)})));
  std::size_t links = 0;
  start = cpu_seconds();
  for (int r = 0; r < rounds; ++r)
    for (const auto& [u, body] : pages) {
      crawl::worker::ParseJob pj{0, u, body, {}, false, 1, filter};
      links += crawl::worker::parse(pj).links.size();
    }
  const double full = cpu_seconds() - start;
  const double n = static_cast<double>(pages.size()) * rounds;
  fmt::print("pages={} avg_bytes={} rounds={}\n", pages.size(), bytes / pages.size(), rounds);
  fmt::print("gumbo_pages_per_cpu_s={:.0f} gumbo_mb_per_cpu_s={:.1f}\n", n / gumbo,
             static_cast<double>(bytes) * rounds / gumbo / 1e6);
  fmt::print("worker_parse_pages_per_cpu_s={:.0f} links={}\n", n / full, links);
  return 0;
}
