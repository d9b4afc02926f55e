// robots.txt: never crashes, and its cached form reads back the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz.hpp"
#include "policy/robots.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crawl::policy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Robots robots = parse_robots(text, "crawlworker");
  const auto back = Robots::deserialize(robots.serialize());
  FUZZ_CHECK(back && back->serialize() == robots.serialize());
  for (const char* path : {"/", "/private", "/a/b?c=d", "/robots.txt", "/%E2%98%83"})
    FUZZ_CHECK(back->allowed(path) == robots.allowed(path));
  (void)Robots::deserialize(text);
  FUZZ_CHECK(robots.allowed("/robots.txt"));
  (void)robots_match(text.substr(0, text.size() / 2), text.substr(text.size() / 2));
  return 0;
}
