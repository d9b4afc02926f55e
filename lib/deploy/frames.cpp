#include "deploy/frames.hpp"

#include <algorithm>

namespace crawl::deploy {

bool FrameSplitter::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    switch (m_state) {
      case State::seek: {
        const auto start = chunk.find('\x1e');
        if (start == std::string_view::npos) return true;
        chunk.remove_prefix(start + 1);
        m_state = State::header;
        m_line.clear();
        break;
      }
      case State::header: {
        const auto nl = chunk.find('\n');
        m_line.append(chunk.substr(0, nl));
        if (m_line.size() > 4096) {
          m_error = "a frame header longer than 4096 bytes";
          return false;
        }
        if (nl == std::string_view::npos) return true;
        chunk.remove_prefix(nl + 1);
        const std::optional<std::uint64_t> length = m_header(m_line);
        if (!length) return false;
        m_left = *length;
        if (m_left == 0) {
          m_state = State::seek;
          if (!m_body({}, true)) return false;
        } else {
          m_state = State::body;
        }
        break;
      }
      case State::body: {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(m_left, chunk.size()));
        m_left -= n;
        const bool last = m_left == 0;
        if (last) m_state = State::seek;
        if (!m_body(chunk.substr(0, n), last)) return false;
        chunk.remove_prefix(n);
        break;
      }
    }
  }
  return true;
}

}  // namespace crawl::deploy
