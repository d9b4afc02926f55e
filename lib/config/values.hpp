#pragma once
// Scalar values an operator writes in hosts.yaml: durations and byte sizes with units.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "core/result.hpp"

namespace crawl::config {

// "250ms", "30s", "2m", "1h" or a bare number of seconds ("1.5"). Negative values fail.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// "512", "64KiB", "10MiB", "1GiB", "10MB" (decimal), "4k"/"4K" (= KiB). Negative values fail.
Result<std::uint64_t> parse_size(std::string_view text);

}  // namespace crawl::config
