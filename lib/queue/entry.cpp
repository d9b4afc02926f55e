#include "queue/entry.hpp"

#include <charconv>

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
  auto number = [](std::string_view f, int& out) {
    auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
    return !f.empty() && ec == std::errc() && end == f.data() + f.size() && out >= 0;
  };
  const std::string_view job = field(), depth = field(), attempt = field();
  if (job.empty() || !number(depth, e.depth) || !number(attempt, e.attempt) || text.empty())
    return std::nullopt;
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
