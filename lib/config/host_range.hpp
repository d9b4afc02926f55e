#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace crawl::config {

// True when `pattern` holds a bracketed range such as "crawl[01-50].dc1".
bool has_range(std::string_view pattern);

// Expands "crawl[01-03,07].dc1" into crawl01.dc1, crawl02.dc1, crawl03.dc1, crawl07.dc1.
// A bracket holds a comma-separated list of numbers, number ranges "a-b", letters or letter
// ranges; a start bound with a leading zero pads every number to its width. Several brackets
// multiply, the leftmost varying slowest. Fails (message without a location) on an empty or
// malformed range, or when the expansion would exceed `cap` names.
Result<std::vector<std::string>> expand_range(std::string_view pattern, std::size_t cap);

}  // namespace crawl::config
