// The frontier entry and result record codecs: never crash, what decodes round-trips, and a
// record written stays within its bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz.hpp"
#include "queue/entry.hpp"
#include "queue/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crawl::queue;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // An entry read from Redis decodes only in the form we write: back to the same bytes.
  if (auto entry = decode(text)) {
    FUZZ_CHECK(encode(*entry) == text);
    const auto back = decode(encode(*entry));
    FUZZ_CHECK(back && *back == *entry);
  }
  if (auto record = record_from_json(text)) {
    // A record written is read back as written (fields a filtered record omits stay at their
    // defaults from the first writing on).
    const auto once = record_from_json(to_json(*record));
    FUZZ_CHECK(once.has_value());
    const auto twice = record_from_json(to_json(*once));
    FUZZ_CHECK(twice && *twice == *once);
    FUZZ_CHECK(to_json(*record).size() <= k_max_record_bytes ||
               record->url.size() + record->final_url.size() > (64u << 10));
  }
  return 0;
}
