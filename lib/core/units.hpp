#pragma once
// Durations and byte sizes as an operator writes them, on a command line, in hosts.yaml or in a
// request to `crawlctl serve`.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace crawl {

// "250ms", "30s", "2m", "1h" or a bare number of seconds ("1.5"). Negative values fail.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// "512", "64KiB", "10MiB", "1GiB", "10MB" (decimal), "4k"/"4K" (= KiB). Negative values fail.
Result<std::uint64_t> parse_size(std::string_view text);

// The shortest form parse_duration reads back to the same value: 1s, 250ms, 2m, 1h.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace crawl
