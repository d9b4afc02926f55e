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

bool FrameParser::feed(std::string_view chunk) {
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
        // "K", "K I", "K I INODE END LEN", "E text"
        m_frame = FrameHeader{};
        m_frame.kind = m_header.empty() ? '\0' : m_header[0];
        std::vector<std::string_view> words;
        std::string_view rest =
            std::string_view(m_header).substr(std::min<std::size_t>(2, m_header.size()));
        if (m_frame.kind == 'E') {
          m_frame.text = std::string(rest);
        } else {
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
              // A frame's bytes end at its offset, so they are at most that many; a tail is
              // held whole, so it is bounded.
              ok = words.size() == 4 && has_index && parse_decimal(words[1], m_frame.end.inode) &&
                   parse_decimal(words[2], m_frame.end.offset) &&
                   parse_decimal(words[3], m_frame.length) &&
                   m_frame.length <= m_frame.end.offset &&
                   (m_frame.kind == 'D' || m_frame.length <= m_limits.max_tail);
              break;
            default:
              break;
          }
          if (!ok) {
            m_error = fmt::format("a malformed frame header '{}'", m_header);
            return false;
          }
        }
        m_left = m_frame.length;
        if (m_left == 0) {
          m_sink(m_frame, {}, true);
          m_state = State::seek;
        } else {
          m_state = State::body;
        }
        break;
      }
      case State::body: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(m_left, chunk.size()));
        m_left -= n;
        m_sink(m_frame, chunk.substr(0, n), m_left == 0);
        chunk.remove_prefix(n);
        if (m_left == 0) m_state = State::seek;
        break;
      }
    }
  }
  return true;
}

}  // namespace crawl::deploy
