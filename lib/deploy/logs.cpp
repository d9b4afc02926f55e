#include "deploy/logs.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "core/text.hpp"
#include "deploy/quote.hpp"
#include "deploy/scripts.hpp"

namespace crawl::deploy {

Step logs_step(const config::Host& host, const LogRequest& request) {
  const long poll_ms = std::max<long>(100, request.poll.count());
  std::string s = "d=" + shell_path(host.remote_dir) + "\n";
  s += fmt::format("lines={}\nfollow={}\npoll={}.{:03}\nbeats={}\ngrep={}\n", request.tail_lines,
                   request.follow ? 1 : 0, poll_ms / 1000, poll_ms % 1000,
                   std::max<long>(1, 2000 / poll_ms), shell_quote(request.grep));
  s += sh::logs;
  Step step;
  step.name = "logs";
  step.command = "sh -c " + shell_quote(s);
  for (const auto& [index, cursor] : request.cursors)
    step.input += fmt::format("{} {} {}\n", index, cursor.inode, cursor.offset);
  return step;
}

FrameParser::FrameParser(Sink sink, FrameLimits limits)
    : m_sink(std::move(sink)),
      m_limits(limits),
      m_split([this](std::string_view line) { return header(line); },
              [this](std::string_view data, bool last) {
                m_sink(m_frame, data, last);
                return true;
              }) {}

// "K", "K I", "K I INODE END LEN", "E text"
std::optional<std::uint64_t> FrameParser::header(std::string_view line) {
  m_frame = FrameHeader{};
  m_frame.kind = line.empty() ? '\0' : line[0];
  std::string_view rest = line.substr(std::min<std::size_t>(2, line.size()));
  if (m_frame.kind == 'E') {
    m_frame.text = std::string(rest);
    return 0;
  }
  std::vector<std::string_view> words;
  while (!rest.empty()) {
    const auto sp = rest.find(' ');
    words.push_back(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  std::uint64_t index = 0;
  const bool has_index = !words.empty() && parse_decimal(words[0], index) &&
                         index <= static_cast<std::uint64_t>(m_limits.max_worker);
  m_frame.worker = static_cast<int>(index);
  bool ok = false;
  switch (m_frame.kind) {
    case 'H':
      ok = words.empty();
      break;
    case 'G':
      ok = words.size() == 1 && has_index;
      break;
    case 'T':
    case 'D':
      // A frame's bytes end at its offset, so they are at most that many; a tail is held whole,
      // so it is bounded.
      ok = words.size() == 4 && has_index && parse_decimal(words[1], m_frame.end.inode) &&
           parse_decimal(words[2], m_frame.end.offset) && parse_decimal(words[3], m_frame.length) &&
           m_frame.length <= m_frame.end.offset &&
           (m_frame.kind == 'D' || m_frame.length <= m_limits.max_tail);
      break;
    default:
      break;
  }
  if (!ok) {
    m_error = fmt::format("a malformed frame header '{}'", line);
    return std::nullopt;
  }
  return m_frame.length;
}

bool FrameParser::feed(std::string_view chunk) {
  if (m_split.feed(chunk)) return true;
  if (m_error.empty()) m_error = m_split.error();
  return false;
}

}  // namespace crawl::deploy
