// Parse-only rates on the files of a generated site: Gumbo alone, what a worker does per page
// (find the encoding, extract, resolve, judge links), and that step on pages of mixed encodings
// against the same pages all in UTF-8. Measured in CPU time of one thread, so the figures hold
// on a busy machine.

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <gumbo.h>

#include "html/encoding.hpp"
#include "policy/scope.hpp"
#include "worker/parse_pool.hpp"

// Text in legacy encodings, as Python's codecs wrote it (CRAWL_ENCODED_SAMPLES).
#include "../tests/support/encoded_pages.inc"

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

  // The same pages holding text of four encodings: one in four in UTF-8 (declared by <meta>), in
  // windows-1252 (declared by <meta>), in Shift_JIS (declared by the Content-Type charset) and in
  // KOI8-R (declared nowhere: detected); against the same pages with the same text all in UTF-8.
  using namespace std::string_view_literals;
  struct Sample {
    std::string_view name, label, title, title_bytes, query, query_bytes, paragraph;
  };
  static constexpr Sample k_samples[] = {CRAWL_ENCODED_SAMPLES};
  const auto sample = [](std::string_view name) {
    for (const Sample& s : k_samples)
      if (s.name == name) return s;
    return k_samples[0];
  };
  const Sample kinds[] = {sample("windows-1252"), sample("windows-1252"), sample("Shift_JIS"),
                          sample("KOI8-R")};
  std::vector<crawl::worker::ParseJob> mixed, utf8;
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const auto& [u, body] = pages[i];
    const Sample& s = kinds[i % 4];
    const std::string legacy(s.paragraph);
    const std::string text = crawl::html::to_utf8(
        legacy, crawl::html::Encoding{s.name, crawl::html::EncodingSource::meta});
    const std::string declared = "<meta charset=\"utf-8\">";
    const std::size_t meta = body.find(declared);
    const std::size_t at = body.find("<body>");
    if (meta == std::string::npos || at == std::string::npos) return 2;
    std::string page = body;
    page.insert(at + 6, "<p>" + text + "</p>");
    utf8.push_back({0, u, page, {}, false, 1, filter, 6000, ""});
    std::string other = body;
    other.insert(at + 6, "<p>" + (i % 4 == 0 ? text : legacy) + "</p>");
    std::string charset;
    if (i % 4 == 1) other.replace(meta, declared.size(), "<meta charset=\"windows-1252\">");
    if (i % 4 >= 2) other.erase(meta, declared.size());
    if (i % 4 == 2) charset = "Shift_JIS";
    mixed.push_back({0, u, other, {}, false, 1, filter, 6000, charset});
  }
  const auto timed = [&](const std::vector<crawl::worker::ParseJob>& jobs) {
    std::size_t found = 0;
    const double begin = cpu_seconds();
    for (int r = 0; r < rounds; ++r)
      for (const auto& one : jobs) found += crawl::worker::parse(one).links.size();
    return std::pair{cpu_seconds() - begin, found};
  };
  const auto [utf8_s, utf8_links] = timed(utf8);
  const auto [mixed_s, mixed_links] = timed(mixed);
  fmt::print(
      "encodings: all_utf8_pages_per_cpu_s={:.0f} mixed_pages_per_cpu_s={:.0f} "
      "mixed_over_utf8_cpu={:.3f} links={}/{}\n",
      n / utf8_s, n / mixed_s, mixed_s / utf8_s, mixed_links, utf8_links);
  return 0;
}
