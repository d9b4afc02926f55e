// Sitemaps, plain and gzip'd: never crash, and stay within their bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz.hpp"
#include "sitemap/sitemap.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crawl::sitemap;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const Sitemap s = parse(body);
  FUZZ_CHECK(s.refused.empty() || s.locs.empty());
  FUZZ_CHECK(s.kind != Sitemap::Kind::none || s.locs.empty());
  FUZZ_CHECK(s.locs.size() <= k_max_urls);
  for (const auto& loc : s.locs) FUZZ_CHECK(!loc.empty() && loc.size() <= k_max_loc_bytes);
  (void)looks_like_sitemap(body);
  return 0;
}
