// URL parsing and resolution: never crashes, the normal form is a fixed point, the fast path
// agrees with the parser, and what resolves is a normal form. Input: "base\nreference".
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz.hpp"
#include "url/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crawl::url;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Resolver blank("http://fuzz.example/");
  auto check_normal = [&](const std::string& n) {
    FUZZ_CHECK(n.starts_with("http://") || n.starts_with("https://"));
    FUZZ_CHECK(n.size() <= k_max_length);
    const Normalized again = normalize(n);
    FUZZ_CHECK(again && *again == n);  // the normal form is a fixed point
    const Parts p = split(n);
    FUZZ_CHECK(!p.host.empty() && p.path.starts_with("/"));
    FUZZ_CHECK(n.find('#') == std::string::npos);
  };
  if (const Normalized n = normalize(input)) check_normal(*n);
  // What the fast path takes as normal, the parser gives back unchanged.
  if (is_normal(input)) {
    const Normalized full = blank.resolve(input);
    FUZZ_CHECK(full && *full == input);
  }
  const std::size_t newline = input.find('\n');
  if (newline != std::string_view::npos) {
    const Resolver r(input.substr(0, newline));
    if (const Normalized u = r.resolve(input.substr(newline + 1))) check_normal(*u);
  }
  (void)has_userinfo(input);
  (void)normalize_escapes(input);
  return 0;
}
