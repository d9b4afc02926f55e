#pragma once

#include <string>

#include "core/result.hpp"

namespace crawl {

// The whole file as bytes; the error names the path and the system's reason.
Result<std::string> read_file(const std::string& path);

// "~/x" -> "$HOME/x" on this machine ("~" alone -> $HOME); any other path unchanged.
std::string expand_home(const std::string& path);

}  // namespace crawl
