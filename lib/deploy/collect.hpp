#pragma once
// `crawlctl collect` on one host, as data: the remote command that sends the closed WARC files
// of the workers' warc_dir (deploy/sh/collect.sh), each from the offset the caller holds of it,
// and the parser of what it sends. Frames, each starting with the byte 0x1e:
//   "\x1eF NAME SIZE SHA256 FROM\n" + (SIZE - FROM) bytes   file NAME from offset FROM to its end;
//                                                            SHA256: of the whole file
//   "\x1eE TEXT\n"                                           the host's complaint

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

struct CollectRequest {
  std::string warc_dir;  // the workers' worker.warc_dir
  std::string job;       // "" = every job's files
  // What the caller holds: by name, the bytes it has of the file (nullopt: all of it).
  std::map<std::string, std::optional<std::uint64_t>> have;
};

// The command and its stdin (what is held).
Step collect_step(const config::Host& host, const CollectRequest& request);

// Whether `name` is a closed WARC file a worker writes (lib/warc: PREFIX-TIME-SERIAL-WRITER
// .warc.gz, prefix job<ID>): one path component, no dot first, nothing a shell would expand.
bool is_warc_name(std::string_view name);

struct FileFrame {
  char kind = 0;  // F or E
  std::string name;
  std::uint64_t size = 0, from = 0;
  std::string sha256;  // lower-case hex
  std::string text;    // E
};

// Reads frames as they arrive, in chunks cut anywhere. `sink` gets each F frame's bytes in
// pieces (`last` with the final one; a file of no bytes to send gets one empty call) and each E
// frame once; it returns false to stop. A malformed header (a name that is no WARC file's, a
// FROM past SIZE, a digest that is no SHA-256) stops the parse with error() set.
class CollectParser {
 public:
  using Sink = std::function<bool(const FileFrame& frame, std::string_view data, bool last)>;
  explicit CollectParser(Sink sink);
  CollectParser(const CollectParser&) = delete;
  CollectParser& operator=(const CollectParser&) = delete;
  bool feed(std::string_view chunk);
  // What stopped the parse, when the parser did (a sink that stops says why itself).
  const std::string& error() const { return m_error; }
  // True between frames: the output did not end inside one.
  bool between_frames() const { return m_split.between_frames(); }
  // The frame being read (its header parsed), when not between frames.
  const FileFrame& frame() const { return m_frame; }

 private:
  std::optional<std::uint64_t> header(std::string_view line);
  Sink m_sink;
  FileFrame m_frame;
  std::string m_error;
  FrameSplitter m_split;
};

}  // namespace crawl::deploy
