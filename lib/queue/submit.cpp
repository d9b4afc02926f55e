#include "queue/submit.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/core.h>

#include "core/redact.hpp"
#include "core/text.hpp"
#include "policy/scope.hpp"
#include "url/url.hpp"

namespace crawl::queue {

void add_seed(Seeds& seeds, std::string_view line, const std::function<std::string()>& place) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
    line.remove_suffix(1);
  if (line.empty() || line.front() == '#') return;
  // A bad line is echoed with its control bytes escaped (it must not drive the terminal) and
  // any password in it hidden.
  auto reject = [&](std::string_view why) {
    if (++seeds.rejected > Seeds::k_messages) return;
    const std::string shown = redact_password(line);
    seeds.messages.push_back(
        fmt::format("{}: '{}' is not a crawlable URL ({})", place(),
                    escape_control(shown.substr(0, 200)) + (shown.size() > 200 ? "..." : ""), why));
  };
  // A NUL or other control byte inside a line is no part of any URL (libcurl would cut it short).
  if (std::any_of(line.begin(), line.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    reject("control character");
    return;
  }
  std::string_view u = line;
  if (!url::is_normal(line)) {
    // Credentials would go to every page of the site and into the results: not crawled.
    if (url::has_userinfo(line)) {
      reject("credentials in a URL are not supported");
      return;
    }
    auto n = url::normalize(line);
    if (!n) {
      reject(url::to_string(n.error()));
      return;
    }
    u = seeds.normalised.emplace_back(std::move(*n));
  }
  const std::string_view authority = url::split(u).authority;
  if (seeds.authorities.find(authority) == seeds.authorities.end())
    seeds.authorities.emplace(authority);
  seeds.links.push_back({u, {}, url::fingerprint(u)});
}

namespace {

// The lines of `text` (line numbers from `first_line`) as seeds.
Seeds read_lines(std::string_view text, const std::string& name, std::size_t first_line) {
  Seeds seeds;
  seeds.links.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  std::size_t start = 0, n = first_line;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    add_seed(seeds, text.substr(start, end - start),
             [&name, n] { return fmt::format("{}:{}", name, n); });
    start = end + 1;
    ++n;
  }
  return seeds;
}
}  // namespace

void add_seed_text(Seeds& seeds, std::string_view content, const std::string& name) {
  const std::size_t parts =
      content.size() < (1u << 20) ? 1 : std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  std::vector<std::string_view> texts;
  std::vector<std::size_t> first_lines;
  std::size_t start = 0, line = 1;
  for (std::size_t p = 1; p <= parts && start < content.size(); ++p) {
    std::size_t end = p == parts ? content.size() : content.find('\n', content.size() * p / parts);
    end = end == std::string::npos ? content.size() : std::max(end + 1, start);
    texts.push_back(content.substr(start, end - start));
    first_lines.push_back(line);
    line += static_cast<std::size_t>(
        std::count(content.begin() + static_cast<std::ptrdiff_t>(start),
                   content.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
    start = end;
  }
  std::vector<Seeds> read(texts.size());
  std::vector<std::thread> threads;
  for (std::size_t p = 1; p < texts.size(); ++p)
    threads.emplace_back([&, p] { read[p] = read_lines(texts[p], name, first_lines[p]); });
  if (!texts.empty()) read[0] = read_lines(texts[0], name, first_lines[0]);
  for (auto& t : threads) t.join();
  for (auto& r : read) seeds.append(std::move(r));
}

Result<std::string> read_seed_input(const std::string& path) {
  std::string content;
  if (path == "-") {
    std::ostringstream buffer;
    buffer << std::cin.rdbuf();
    return std::move(buffer).str();
  }
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!in) return fail(ErrorKind::not_found, "{}: cannot open", path);
  if (!ec && size > 0) {  // a regular file: read at once (and whatever was added meanwhile)
    content.resize(static_cast<std::size_t>(size));
    in.read(content.data(), static_cast<std::streamsize>(size));
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (in && in.peek() != std::char_traits<char>::eof()) {
      std::ostringstream rest;
      rest << in.rdbuf();
      content += std::move(rest).str();
    }
  } else {  // a pipe or a device: as it comes
    std::ostringstream buffer;
    buffer << in.rdbuf();
    content = std::move(buffer).str();
  }
  return content;
}

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SubmitReport submit(Queue& queue, Seeds& seeds, const SubmitRequest& request) {
  SubmitReport report;
  // The job's URL rules (sort_query, strip_query) apply to its seeds as to every URL it admits:
  // a new job's from the request, an existing job's as Redis holds them.
  policy::JobOptions options = request.options;
  if (!request.job.empty()) {
    auto info = queue.jobs().job(request.job);
    if (!info) {
      report.admitted = fail(info.error());
      return report;
    }
    // A broken job's options cannot be read: its seeds go in as they are, and wait with it.
    if (info->problem.empty()) options = info->options;
  }
  if (options.sort_query || !options.strip_query.empty()) {
    auto filter = policy::LinkFilter::create(options, {});
    if (!filter) {
      report.admitted = fail(filter.error());
      return report;
    }
    const url::Rules& rules = filter->url_rules();
    for (LinkView& link : seeds.links) {
      std::string u = url::apply(rules, link.url);
      if (u == link.url) continue;
      link.url = seeds.normalised.emplace_back(std::move(u));
      link.fingerprint = url::fingerprint(link.url);
    }
  }
  std::sort(seeds.links.begin(), seeds.links.end(),
            [](const LinkView& a, const LinkView& b) { return a.fingerprint < b.fingerprint; });
  const std::vector<std::string> authorities(seeds.authorities.begin(), seeds.authorities.end());
  if (request.job.empty()) {
    auto id = queue.jobs().create(request.options, request.name, authorities, now_ms(),
                                  FirstSeeds::loaded);
    if (!id) {
      report.admitted = fail(id.error());
      return report;
    }
    report.job = *id;
  } else if (auto begun = queue.jobs().begin_submit(request.job, authorities); !begun) {
    report.admitted = fail(begun.error());
    return report;
  } else {
    report.job = request.job;
  }
  auto progress = [&](std::size_t done, const Admitted& so_far) {
    report.acked = done;
    report.acked_admitted = so_far;
    if (request.progress) request.progress(done, so_far);
  };
  report.admitted = request.job.empty()
                        ? queue.jobs().load(report.job, seeds.links, progress)
                        : queue.jobs().enqueue(report.job, 0, seeds.links, progress);
  // The seeds count as submitted once the replicas asked for have them.
  if (report.admitted)
    if (auto confirmed = queue.confirm_writes(); !confirmed)
      report.admitted = fail(confirmed.error());
  if (report.admitted)
    if (auto ended = queue.jobs().end_submit(report.job); !ended)
      report.admitted = fail(ended.error());
  return report;
}

}  // namespace crawl::queue
