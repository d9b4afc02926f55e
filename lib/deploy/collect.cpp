#include "deploy/collect.hpp"

#include <regex>

#include <fmt/format.h>

#include "core/text.hpp"
#include "deploy/quote.hpp"
#include "deploy/scripts.hpp"

namespace crawl::deploy {

namespace {

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const std::size_t sp = s.find(' ');
    if (sp != 0) out.push_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

}  // namespace

bool is_warc_name(std::string_view name) {
  static const std::regex k_name(
      R"(job[A-Za-z0-9._-]*-[0-9]{17}-[0-9]{5,}-[A-Za-z0-9._-]+\.warc\.gz)");
  return name.size() <= 255 && std::regex_match(name.begin(), name.end(), k_name);
}

Step collect_step(const config::Host& host, const CollectRequest& request) {
  std::string s = "d=" + shell_path(host.remote_dir) + "\n";
  s += "w=" + shell_path(request.warc_dir) + "\n";
  s += "job=" + shell_quote(request.job) + "\n";
  s += sh::collect;
  Step step;
  step.name = "collect";
  step.command = "sh -c " + shell_quote(s);
  for (const auto& [name, bytes] : request.have)
    step.input += bytes ? fmt::format("{} {}\n", name, *bytes) : name + " -\n";
  return step;
}

CollectParser::CollectParser(Sink sink)
    : m_sink(std::move(sink)),
      m_split([this](std::string_view line) { return header(line); },
              [this](std::string_view data, bool last) { return m_sink(m_frame, data, last); }) {}

std::optional<std::uint64_t> CollectParser::header(std::string_view line) {
  const auto w = words(line);
  m_frame = FileFrame{};
  if (!w.empty() && w[0] == "E") {
    m_frame.kind = 'E';
    m_frame.text = std::string(line.substr(std::min<std::size_t>(2, line.size())));
    return 0;
  }
  if (w.size() != 5 || w[0] != "F") {
    m_error = fmt::format("a frame header that is none: '{}'", line.substr(0, 200));
    return std::nullopt;
  }
  m_frame.kind = 'F';
  m_frame.name = std::string(w[1]);
  m_frame.sha256 = std::string(w[3]);
  if (!is_warc_name(m_frame.name)) {
    m_error = fmt::format("'{}' is not the name of a WARC file a worker writes",
                          m_frame.name.substr(0, 200));
    return std::nullopt;
  }
  if (!parse_decimal(w[2], m_frame.size) || !parse_decimal(w[4], m_frame.from) ||
      m_frame.from > m_frame.size) {
    m_error =
        fmt::format("{}: a size or offset that is none: '{}'", m_frame.name, line.substr(0, 200));
    return std::nullopt;
  }
  if (m_frame.sha256.size() != 64 ||
      m_frame.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    m_error = fmt::format("{}: '{}' is no SHA-256", m_frame.name, m_frame.sha256.substr(0, 200));
    return std::nullopt;
  }
  return m_frame.size - m_frame.from;
}

bool CollectParser::feed(std::string_view chunk) {
  if (m_split.feed(chunk)) return true;
  if (m_error.empty()) m_error = m_split.error();
  return false;
}

}  // namespace crawl::deploy
