#pragma once

#include <string>

#include "core/result.hpp"

namespace crawl {

// The whole file as bytes; the error names the path and the system's reason.
Result<std::string> read_file(const std::string& path);

}  // namespace crawl
