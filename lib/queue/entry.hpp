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

// An entry as every script and the worker accept it, or nullopt: a job id of at most 18 digits
// with no leading zero, a depth of at most 6 digits and an attempt of at most 4 (no leading
// zeros), and a URL in the normal form (url::normalize() returns it unchanged), which is what
// every URL we admit is in. So what decodes encodes back to the same bytes. Anything else read
// from Redis was not written by us, and goes to the dead letters (prelude.lua's parse_entry
// checks what a pattern can of the same rule).
std::optional<Entry> decode(std::string_view text);

// The fingerprint as 8 big-endian bytes, the form the Lua scripts take.
std::string fingerprint_bytes(std::uint64_t fingerprint);

}  // namespace crawl::queue
