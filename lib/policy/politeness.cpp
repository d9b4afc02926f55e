#include "policy/politeness.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace crawl::policy {

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::int64_t now_ms) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(std::min<long>(seconds, 86400) * 1000);
  }
  std::tm tm{};
  const std::string text(value);
  const char* parsed = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (parsed == nullptr || *parsed != '\0') return std::nullopt;
  const std::int64_t at_ms = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  return std::chrono::milliseconds(std::clamp<std::int64_t>(at_ms - now_ms, 0, 86400000));
}

std::chrono::milliseconds retry_delay(int attempt, std::chrono::milliseconds base,
                                      std::chrono::milliseconds cap, double jitter,
                                      std::optional<std::chrono::milliseconds> retry_after) {
  const int shift = std::clamp(attempt - 1, 0, 20);
  auto delay = std::min(cap, base * (std::int64_t{1} << shift));
  delay += std::chrono::milliseconds(static_cast<std::int64_t>(delay.count() * 0.25 * jitter));
  if (retry_after && *retry_after > delay) delay = *retry_after;
  return delay;
}

bool retryable_status(long s) {
  return s == 0 || s == 408 || s == 429 || (s >= 500 && s < 600);
}

}  // namespace crawl::policy
