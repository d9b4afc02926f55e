#pragma once
// A frontier entry: one URL of one job, as it travels through Redis lists ("17 2 0 http://...").
// Encoding is pure and lives here, apart from the client that moves the bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crawl::queue {

struct Entry {
  std::string job;  // job id: digits
  int depth = 0;    // link hops from a seed
  int attempt = 0;  // failed attempts so far
  std::string url;  // normalised: never holds a space, which the normal form encodes

  bool operator==(const Entry&) const = default;
};

std::string encode(const Entry& entry);
std::optional<Entry> decode(std::string_view text);

// The fingerprint as 8 big-endian bytes, the form the Lua scripts take.
std::string fingerprint_bytes(std::uint64_t fingerprint);

}  // namespace crawl::queue
