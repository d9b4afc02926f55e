// What crawlctl collect reads from hosts it does not trust: the collect frames (never a crash,
// whatever the chunking; a frame's name is a WARC file's; its bytes add up to what its header
// announces) and, once a file is home, the WARC file itself as the CDXJ indexer reads it (never
// a crash; every line "KEY TIMESTAMP {...}"). The first byte chooses: its high bit the WARC
// reader, else the frames in chunks of 1 + its low 6 bits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <sys/mman.h>
#include <unistd.h>

#include "deploy/collect.hpp"
#include "fuzz.hpp"
#include "warc/index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 0x80) {
    const int fd = memfd_create("warc", 0);
    if (fd < 0) return 0;
    if (::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())) {
      auto lines = crawl::warc::cdxj_lines("/proc/self/fd/" + std::to_string(fd), "f.warc.gz");
      if (lines)
        for (const std::string& line : *lines) {
          const std::size_t brace = line.find(" {");
          FUZZ_CHECK(brace != std::string::npos && line.ends_with("}"));
        }
    }
    ::close(fd);
    return 0;
  }
  const std::size_t chunk = 1 + (data[0] & 0x3f);
  std::uint64_t seen = 0;
  crawl::deploy::CollectParser parser(
      [&](const crawl::deploy::FileFrame& f, std::string_view bytes, bool last) {
        if (f.kind == 'E') return true;
        FUZZ_CHECK(crawl::deploy::is_warc_name(f.name));
        FUZZ_CHECK(f.from <= f.size && f.sha256.size() == 64);
        seen += bytes.size();
        FUZZ_CHECK(seen <= f.size - f.from);
        if (last) {
          FUZZ_CHECK(seen == f.size - f.from);
          seen = 0;
        }
        return true;
      });
  for (std::size_t at = 0; at < text.size(); at += chunk)
    if (!parser.feed(text.substr(at, chunk))) {
      FUZZ_CHECK(!parser.error().empty());
      break;
    }
  return 0;
}
