// HTML extraction and link resolution: never crashes, and the caps hold.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz.hpp"
#include "html/html.hpp"
#include "html/outlinks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crawl::html;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const Page page = extract(body);
  FUZZ_CHECK(page.links.size() <= body.size());
  const Outlinks links = outlinks(page, "http://fuzz.example/dir/page.html");
  FUZZ_CHECK(links.follow.size() + links.nofollow + links.rejected <= page.links.size());
  for (const auto& u : links.follow) FUZZ_CHECK(u.starts_with("http"));
  (void)srcset_urls(body);
  return 0;
}
