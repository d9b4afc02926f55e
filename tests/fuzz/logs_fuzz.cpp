// The logs frame parser: never crashes, whatever the chunking; frames' bytes add up to what
// their headers announce; no frame past the limits gets through (worker index, a tail's
// length, a frame's length past its end offset). The first byte chooses the chunk size.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "deploy/logs.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::uint64_t seen = 0;
  const crawl::deploy::FrameLimits limits{.max_worker = 8, .max_tail = 4096};
  crawl::deploy::FrameParser parser(
      [&](const crawl::deploy::FrameHeader& h, std::string_view bytes, bool last) {
        FUZZ_CHECK(h.worker >= 0 && h.worker <= limits.max_worker);
        if (h.kind == 'T' || h.kind == 'D') FUZZ_CHECK(h.length <= h.end.offset);
        if (h.kind == 'T') FUZZ_CHECK(h.length <= limits.max_tail);
        seen += bytes.size();
        FUZZ_CHECK(seen <= h.length || h.length == 0);
        if (last) {
          FUZZ_CHECK(seen == h.length);
          seen = 0;
        }
      },
      limits);
  for (std::size_t at = 0; at < text.size(); at += chunk)
    if (!parser.feed(text.substr(at, chunk))) {
      FUZZ_CHECK(!parser.error().empty());
      break;
    }
  return 0;
}
