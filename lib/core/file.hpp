#pragma once

#include <cstddef>
#include <string>

#include "core/result.hpp"

namespace crawl {

// The whole file as bytes; the error names the path and the system's reason. A file larger than
// `max_bytes` is refused before it is read (kind invalid).
Result<std::string> read_file(const std::string& path);
Result<std::string> read_file(const std::string& path, std::size_t max_bytes);

// For a file holding a secret: "" when only its owner may read it, else what is wrong, e.g.
// "mode 0644: its group and others may read it (chmod 600 it)". "" too if it cannot be examined
// (reading it reports that).
std::string loose_permissions(const std::string& path);

// "~/x" -> "$HOME/x" on this machine ("~" alone -> $HOME); any other path unchanged.
std::string expand_home(const std::string& path);

}  // namespace crawl
