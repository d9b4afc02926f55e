#pragma once
// `crawlctl logs` on one host, as data: the remote command that sends the workers' logs
// (log/wN.log and its rotations wN.1.log, wN.2.log, ...) in length-prefixed frames, and the
// parser for those frames. The command reads only what the caller does not have yet: for each
// worker, a cursor (the inode of the file last read and the offset reached in it) survives a
// rotation, because a rotation renames the file and keeps its inode.
//
// Frames, each starting with the byte 0x1e:
//   "\x1eT I INODE END LEN\n" + LEN bytes  the last lines of worker I's log (whole lines), which
//                                           ends at offset END of the file with INODE
//   "\x1eD I INODE END LEN\n" + LEN bytes  the next bytes of worker I's log, up to END of INODE
//   "\x1eG I\n"                             part of worker I's log was rotated away unread
//   "\x1eH\n"                               keepalive, every two seconds while following
//   "\x1eE TEXT\n"                          the host's complaint (e.g. nothing deployed)

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/inventory.hpp"
#include "deploy/frames.hpp"
#include "deploy/plan.hpp"

namespace crawl::deploy {

struct LogCursor {
  std::uint64_t inode = 0;
  std::uint64_t offset = 0;
};

struct LogRequest {
  // For a worker without a cursor: its last `tail_lines` lines, or with -1 its whole log, the
  // rotated files included (oldest first).
  int tail_lines = 10;
  std::string grep;     // POSIX extended regex the tail lines must match ("" = all)
  bool follow = false;  // keep sending new bytes until the connection closes
  std::chrono::milliseconds poll{500};
  std::map<int, LogCursor> cursors;  // by worker index
};

// The command and its stdin (the cursors).
Step logs_step(const config::Host& host, const LogRequest& request);

struct FrameHeader {
  char kind = 0;  // T, D, G, H, E
  int worker = 0;
  LogCursor end;  // T and D: where the frame's bytes end
  std::uint64_t length = 0;
  std::string text;  // E
};

// Splits a host's output into frames, whatever the chunking. A frame's bytes are passed on as
// they arrive, in one or more calls; the last call has `last` set (a frame without bytes gets
// one call). Bytes outside frames (a login shell's chatter) are skipped.
// What a host may send, at most: a frame past these is refused at its header, before any of its
// bytes is taken, so a compromised host can make crawlctl hold neither a frame of a gigabyte
// (a tail is held whole to print its last lines) nor files for thousands of workers.
struct FrameLimits {
  int max_worker = config::k_max_workers;  // worker indices 0 .. this
  std::uint64_t max_tail = 16u << 20;      // a T frame's bytes
};

class FrameParser {
 public:
  using Sink = std::function<void(const FrameHeader&, std::string_view data, bool last)>;
  explicit FrameParser(Sink sink, FrameLimits limits = {});
  FrameParser(const FrameParser&) = delete;
  FrameParser& operator=(const FrameParser&) = delete;
  // False on a malformed header; error() says what.
  bool feed(std::string_view chunk);
  const std::string& error() const { return m_error; }

 private:
  std::optional<std::uint64_t> header(std::string_view line);
  Sink m_sink;
  FrameLimits m_limits;
  FrameHeader m_frame;
  std::string m_error;
  FrameSplitter m_split;
};

}  // namespace crawl::deploy
