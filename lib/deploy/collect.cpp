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

bool CollectParser::header_done() {
  const auto w = words(m_header);
  m_frame = FileFrame{};
  if (w.size() >= 1 && w[0] == "E") {
    m_frame.kind = 'E';
    m_frame.text = m_header.size() > 2 ? m_header.substr(2) : "";
    m_state = State::seek;
    return m_sink(m_frame, {}, true);
  }
  if (w.size() != 5 || w[0] != "F") {
    m_error = fmt::format("a frame header that is none: '{}'", m_header.substr(0, 200));
    return false;
  }
  m_frame.kind = 'F';
  m_frame.name = std::string(w[1]);
  m_frame.sha256 = std::string(w[3]);
  if (!is_warc_name(m_frame.name)) {
    m_error = fmt::format("'{}' is not the name of a WARC file a worker writes",
                          m_frame.name.substr(0, 200));
    return false;
  }
  if (!parse_decimal(w[2], m_frame.size) || !parse_decimal(w[4], m_frame.from) ||
      m_frame.from > m_frame.size) {
    m_error = fmt::format("{}: a size or offset that is none: '{}'", m_frame.name,
                          m_header.substr(0, 200));
    return false;
  }
  if (m_frame.sha256.size() != 64 ||
      m_frame.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    m_error = fmt::format("{}: '{}' is no SHA-256", m_frame.name, m_frame.sha256.substr(0, 200));
    return false;
  }
  m_left = m_frame.size - m_frame.from;
  if (m_left == 0) {
    m_state = State::seek;
    return m_sink(m_frame, {}, true);
  }
  m_state = State::body;
  return true;
}

bool CollectParser::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    switch (m_state) {
      case State::seek: {
        const auto start = chunk.find('\x1e');
        if (start == std::string_view::npos) return true;
        chunk.remove_prefix(start + 1);
        m_state = State::header;
        m_header.clear();
        break;
      }
      case State::header: {
        const auto nl = chunk.find('\n');
        m_header.append(chunk.substr(0, nl));
        if (m_header.size() > 4096) {
          m_error = "a frame header longer than 4096 bytes";
          return false;
        }
        if (nl == std::string_view::npos) return true;
        chunk.remove_prefix(nl + 1);
        if (!header_done()) return false;
        break;
      }
      case State::body: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(m_left, chunk.size()));
        m_left -= n;
        const bool last = m_left == 0;
        if (last) m_state = State::seek;
        if (!m_sink(m_frame, chunk.substr(0, n), last)) return false;
        chunk.remove_prefix(n);
        break;
      }
    }
  }
  return true;
}

}  // namespace crawl::deploy
