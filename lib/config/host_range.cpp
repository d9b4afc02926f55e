#include "config/host_range.hpp"

#include <cctype>
#include <charconv>

namespace crawl::config {

namespace {

bool is_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool is_letter(std::string_view s) {
  return s.size() == 1 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'));
}

// The values of one bracket's comma-separated list, in order.
Result<std::vector<std::string>> expand_bracket(std::string_view body, std::size_t cap) {
  std::vector<std::string> values;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t comma = body.find(',', start);
    if (comma == std::string_view::npos) comma = body.size();
    std::string_view item = body.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) return fail("empty item in range '[{}]'", body);

    const std::size_t dash = item.find('-');
    std::string_view low = item.substr(0, dash);
    std::string_view high = dash == std::string_view::npos ? low : item.substr(dash + 1);
    if (is_digits(low) && is_digits(high)) {
      if (low.size() > 9 || high.size() > 9) return fail("number too long in range '[{}]'", body);
      unsigned long a = 0, b = 0;
      std::from_chars(low.data(), low.data() + low.size(), a);
      std::from_chars(high.data(), high.data() + high.size(), b);
      if (a > b) return fail("range '[{}]' is empty: {} is above {}", body, low, high);
      if (b - a + 1 > cap - std::min(cap, values.size()))
        return fail("range '[{}]' expands to more than {} names", body, cap);
      const std::size_t width = low.size() > 1 && low[0] == '0' ? low.size() : 0;
      for (unsigned long n = a; n <= b; ++n) {
        std::string digits = std::to_string(n);
        if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
        values.push_back(std::move(digits));
      }
    } else if (is_letter(low) && is_letter(high) &&
               std::islower(static_cast<unsigned char>(low[0])) ==
                   std::islower(static_cast<unsigned char>(high[0]))) {
      if (low[0] > high[0]) return fail("range '[{}]' is empty: {} is above {}", body, low, high);
      for (char c = low[0]; c <= high[0]; ++c) values.emplace_back(1, c);
    } else {
      return fail(
          "bad item '{}' in range '[{}]' (expected numbers like 01-50 or letters of one "
          "case like a-f)",
          item, body);
    }
  }
  return values;
}

}  // namespace

bool has_range(std::string_view pattern) {
  return pattern.find('[') != std::string_view::npos;
}

Result<std::vector<std::string>> expand_range(std::string_view pattern, std::size_t cap) {
  // Split into literal text and brackets, expand each bracket, then take the product.
  std::vector<std::string> names{std::string()};
  std::size_t pos = 0;
  while (pos < pattern.size()) {
    const std::size_t open = pattern.find_first_of("[]", pos);
    if (open == std::string_view::npos) {
      for (auto& name : names) name.append(pattern.substr(pos));
      break;
    }
    if (pattern[open] == ']') return fail("']' without '[' in '{}'", pattern);
    const std::size_t close = pattern.find(']', open);
    if (close == std::string_view::npos) return fail("unclosed '[' in '{}'", pattern);
    const std::string_view literal = pattern.substr(pos, open - pos);
    auto values = expand_bracket(pattern.substr(open + 1, close - open - 1), cap);
    if (!values) return fail("{} in '{}'", values.error().message, pattern);
    if (names.size() * values->size() > cap)
      return fail("'{}' expands to more than {} names", pattern, cap);
    std::vector<std::string> next;
    next.reserve(names.size() * values->size());
    for (const auto& name : names)
      for (const auto& value : *values) {
        std::string joined = name;
        joined.append(literal).append(value);
        next.push_back(std::move(joined));
      }
    names = std::move(next);
    pos = close + 1;
  }
  return names;
}

}  // namespace crawl::config
