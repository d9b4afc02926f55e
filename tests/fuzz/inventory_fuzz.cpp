// hosts.yaml: never crashes; what parses is within the caps; each line as a host range expands
// within its cap.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/host_range.hpp"
#include "config/inventory.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crawl::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto inventory = parse_inventory(text, "fuzz.yaml")) {
    FUZZ_CHECK(inventory->hosts.size() <= k_max_hosts);
    for (const auto& host : inventory->hosts) {
      FUZZ_CHECK(!host.name.empty() && !host.address.empty());
      FUZZ_CHECK(host.port >= 1 && host.port <= 65535);
    }
  } else {
    FUZZ_CHECK(!inventory.error().message.empty());
  }
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (auto names = expand_range(text.substr(start, end - start), 1000))
      FUZZ_CHECK(names->size() <= 1000);
    start = end + 1;
  }
  return 0;
}
