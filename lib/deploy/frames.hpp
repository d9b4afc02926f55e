#pragma once
// The framing the remote scripts speak (sh/logs.sh, sh/collect.sh): a frame is the byte 0x1e, a
// header line up to '\n' (at most 4096 bytes), then as many bytes as its header says. Bytes
// outside frames (a login shell's chatter) are skipped. Each parser reads its own headers.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace crawl::deploy {

class FrameSplitter {
 public:
  // `header` reads a header line and gives the frame's length, or nullopt to stop the parse.
  // `body` takes the frame's bytes as they arrive (`last` with the final piece; a frame of none
  // gets one empty call) and returns false to stop.
  using Header = std::function<std::optional<std::uint64_t>(std::string_view line)>;
  using Body = std::function<bool(std::string_view data, bool last)>;
  FrameSplitter(Header header, Body body) : m_header(std::move(header)), m_body(std::move(body)) {}

  // False once stopped: by a handler, or by a header line past 4096 bytes (error() says so).
  bool feed(std::string_view chunk);
  const std::string& error() const { return m_error; }
  // True between frames: the output did not end inside one.
  bool between_frames() const { return m_state == State::seek; }

 private:
  enum class State { seek, header, body } m_state = State::seek;
  Header m_header;
  Body m_body;
  std::string m_line;
  std::uint64_t m_left = 0;
  std::string m_error;
};

}  // namespace crawl::deploy
