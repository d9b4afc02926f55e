#include "core/redact.hpp"

#include <algorithm>

namespace crawl {

namespace {

// A `sentinel_password=` parameter's value replaced by "***".
std::string redact_parameter(std::string text) {
  static constexpr std::string_view k_key = "sentinel_password=";
  for (std::size_t at = text.find(k_key); at != std::string::npos;
       at = text.find(k_key, at + k_key.size())) {
    if (at > 0 && text[at - 1] != '?' && text[at - 1] != '&') continue;
    const std::size_t begin = at + k_key.size();
    const std::size_t end = std::min(text.find('&', begin), text.size());
    text.replace(begin, end - begin, "***");
  }
  return text;
}

std::string redact_userinfo(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const std::size_t authority = scheme + 3;
  const std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < authority) return std::string(url);
  const std::size_t colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at)
    return std::string(url);  // a user, no password
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

}  // namespace

std::string redact_password(std::string_view url) {
  // The parameter first: an '@' in its value would be taken for the end of the userinfo.
  return redact_userinfo(redact_parameter(std::string(url)));
}

}  // namespace crawl
