#include "config/values.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace crawl::config {

namespace {

// Splits "10MiB" into 10 and "MiB". The number may have a fraction.
bool split_number(std::string_view text, double& number, std::string_view& unit) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, number);
  if (ec != std::errc() || !std::isfinite(number)) return false;
  unit = std::string_view(ptr, static_cast<std::size_t>(end - ptr));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return true;
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit))
    return fail("'{}' is not a duration (examples: 500ms, 30s, 2m)", text);
  if (number < 0) return fail("duration '{}' is negative", text);
  static constexpr std::array<std::pair<std::string_view, double>, 5> units{
      {{"ms", 1.0}, {"s", 1e3}, {"", 1e3}, {"m", 60e3}, {"h", 3600e3}}};
  for (auto [name, factor] : units)
    if (unit == name) {
      const double ms = number * factor;
      if (ms > 1e12) return fail("duration '{}' is too long", text);
      return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
    }
  return fail("unknown unit '{}' in duration '{}' (use ms, s, m or h)", unit, text);
}

Result<std::uint64_t> parse_size(std::string_view text) {
  double number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit))
    return fail("'{}' is not a size (examples: 65536, 64KiB, 10MiB)", text);
  if (number < 0) return fail("size '{}' is negative", text);
  static constexpr std::array<std::pair<std::string_view, double>, 12> units{{
      {"", 1.0},
      {"B", 1.0},
      {"k", 1024.0},
      {"K", 1024.0},
      {"KiB", 1024.0},
      {"KB", 1e3},
      {"M", 1048576.0},
      {"MiB", 1048576.0},
      {"MB", 1e6},
      {"G", 1073741824.0},
      {"GiB", 1073741824.0},
      {"GB", 1e9},
  }};
  for (auto [name, factor] : units)
    if (unit == name) {
      const double bytes = number * factor;
      if (bytes > 1e18) return fail("size '{}' is too large", text);
      return static_cast<std::uint64_t>(std::llround(bytes));
    }
  return fail("unknown unit '{}' in size '{}' (use B, KiB, MiB, GiB, KB, MB or GB)", unit, text);
}

namespace {

bool ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// The first character outside `ok`, described for a message.
template <class Ok>
std::string first_bad(std::string_view s, Ok&& ok) {
  for (char c : s)
    if (!ok(c)) {
      const auto u = static_cast<unsigned char>(c);
      return u < 0x20 || u >= 0x7f ? fmt::format("byte 0x{:02x}", u) : fmt::format("'{}'", c);
    }
  return {};
}

}  // namespace

std::string check_user_name(std::string_view user) {
  if (user.empty()) return "it is empty";
  if (user.size() > 64) return fmt::format("it is {} characters long (at most 64)", user.size());
  if (user.front() == '-') return "it starts with '-'";
  const std::string bad = first_bad(
      user, [](char c) { return ascii_alnum(c) || c == '.' || c == '_' || c == '-' || c == '@'; });
  if (!bad.empty())
    return fmt::format("{} is not allowed (letters, digits, '.', '_', '-' and '@' are)", bad);
  return {};
}

std::string check_address(std::string_view address) {
  if (address.empty()) return "it is empty";
  if (address.size() > 253)
    return fmt::format("it is {} characters long (at most 253)", address.size());
  if (address.front() == '-') return "it starts with '-'";
  // An IPv6 address may name its zone after '%' (fe80::1%eth0); nothing else may hold '%'.
  std::string_view host = address, zone;
  if (const auto percent = address.find('%'); percent != std::string_view::npos) {
    host = address.substr(0, percent);
    zone = address.substr(percent + 1);
    if (host.find(':') == std::string_view::npos) return "'%' is allowed only before an IPv6 zone";
    if (zone.empty()) return "the IPv6 zone after '%' is empty";
    const std::string bad =
        first_bad(zone, [](char c) { return ascii_alnum(c) || c == '.' || c == '_' || c == '-'; });
    if (!bad.empty()) return fmt::format("{} is not allowed in an IPv6 zone", bad);
  }
  const std::string bad = first_bad(
      host, [](char c) { return ascii_alnum(c) || c == '.' || c == '-' || c == '_' || c == ':'; });
  if (!bad.empty())
    return fmt::format(
        "{} is not allowed (a DNS name, an IPv4 or an IPv6 address: letters, digits, "
        "'.', '-', '_' and ':')",
        bad);
  return {};
}

std::string check_redis_url(std::string_view url) {
  if (url.starts_with("rediss://"))
    return "TLS (rediss://) is not supported; reach Redis over a private network, a VPN or a "
           "tunnel";
  if (!url.starts_with("redis://") && !url.starts_with("unix://") &&
      !url.starts_with("sentinel://"))
    return "it must start with redis://, unix:// or sentinel://";
  return {};
}

std::string check_key_prefix(std::string_view prefix) {
  return prefix.find(' ') == std::string_view::npos ? "" : "it must not contain spaces";
}

std::string check_master_name(std::string_view name) {
  const std::string bad =
      first_bad(name, [](char c) { return ascii_alnum(c) || c == '.' || c == '_' || c == '-'; });
  if (!bad.empty())
    return fmt::format("{} is not allowed (letters, digits, '.', '-' and '_' are)", bad);
  return {};
}

std::string check_host_port(std::string_view text) {
  std::string_view host, port;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return "write it as [address]:port";
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return "it needs a port (host:port)";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return "write an IPv6 address as [address]:port";
  }
  if (const std::string problem = check_address(host); !problem.empty()) return problem;
  int number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number < 1 ||
      number > 65535)
    return fmt::format("'{}' is not a port (1 to 65535)", port);
  return {};
}

}  // namespace crawl::config
