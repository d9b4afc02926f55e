#include "queue/entry.hpp"

#include <charconv>

#include "url/url.hpp"

namespace crawl::queue {

std::string encode(const Entry& e) {
  return e.job + ' ' + std::to_string(e.depth) + ' ' + std::to_string(e.attempt) + ' ' + e.url;
}

std::optional<Entry> decode(std::string_view text) {
  Entry e;
  auto field = [&text]() -> std::string_view {
    const std::size_t space = text.find(' ');
    if (space == std::string_view::npos) return {};
    const std::string_view f = text.substr(0, space);
    text.remove_prefix(space + 1);
    return f;
  };
  // Digits only, as many as `max`, no leading zero (so the number writes back as it was read).
  auto digits = [](std::string_view f, std::size_t max) {
    return !f.empty() && f.size() <= max && (f.size() == 1 || f[0] != '0') &&
           f.find_first_not_of("0123456789") == std::string_view::npos;
  };
  const std::string_view job = field(), depth = field(), attempt = field();
  if (!digits(job, 18) || job == "0" || !digits(depth, 6) || !digits(attempt, 4))
    return std::nullopt;
  std::from_chars(depth.data(), depth.data() + depth.size(), e.depth);
  std::from_chars(attempt.data(), attempt.data() + attempt.size(), e.attempt);
  const url::Normalized normal = url::normalize(text);
  if (!normal || *normal != text) return std::nullopt;
  e.job = std::string(job);
  e.url = std::string(text);
  return e;
}

std::string fingerprint_bytes(std::uint64_t fp) {
  std::string bytes(8, '\0');
  for (int i = 7; i >= 0; --i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<char>(fp & 0xff);
    fp >>= 8;
  }
  return bytes;
}

}  // namespace crawl::queue
