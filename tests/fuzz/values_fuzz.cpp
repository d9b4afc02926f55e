// Small values from operators and servers: durations, sizes, Redis URLs, user names and
// addresses, Retry-After, a host's inspection report. Never crash; what is accepted is sane.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/values.hpp"
#include "deploy/plan.hpp"
#include "fuzz.hpp"
#include "policy/politeness.hpp"
#include "queue/redis.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace crawl;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto d = config::parse_duration(text)) FUZZ_CHECK(d->count() >= 0);
  (void)config::parse_size(text);
  if (config::check_user_name(text).empty()) {
    FUZZ_CHECK(!text.empty() && text.front() != '-');
    for (char c : text)
      FUZZ_CHECK(c != '$' && c != '`' && c != ';' && c != ' ' && c != '\'' && c != '"');
  }
  if (config::check_address(text).empty()) {
    FUZZ_CHECK(!text.empty() && text.front() != '-');
    for (char c : text)
      FUZZ_CHECK(c != '$' && c != '`' && c != ';' && c != ' ' && c != '(' && c != '|');
  }
  if (auto url = queue::parse_redis_url(text)) FUZZ_CHECK(!url->display.empty());
  if (auto after = policy::parse_retry_after(text, 1'700'000'000'000))
    FUZZ_CHECK(after->count() >= 0);
  (void)deploy::parse_inspection(text);
  return 0;
}
