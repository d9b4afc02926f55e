#pragma once
// Asking the operator for a secret on the controlling terminal, echo off.

#include <optional>
#include <string>

#include "core/secret.hpp"

namespace crawl {

// Prints `prompt` on /dev/tty and reads one line with echo off; nullopt without a terminal (a
// script, cron) or at end of input. The line's end is dropped.
std::optional<Secret> read_secret(const std::string& prompt);

}  // namespace crawl
