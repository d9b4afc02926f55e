#include "config/values.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace crawl::config {

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
