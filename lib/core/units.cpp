#include "core/units.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace crawl {

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

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace crawl
